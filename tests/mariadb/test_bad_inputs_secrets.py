"""Bad DSNs never show their password: each error names the setting it came from, says what is wrong (or to
percent-encode the password), exits 2 (3 when the server is unreachable or refuses the login) and writes nothing.
The invariant over generated passwords, and other URLs with credentials: tests/unit/test_bad_inputs_secrets.py.
"""

from __future__ import annotations

import re

import pytest

from tests.support.cli import Project, run_cli
from rockway.config import parse_dsn

PASSWORD = "Zs3cretQX"  # distinctive: appears in no message of its own accord


def _refused_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again: nothing listens there


def _assert_refused(project: Project, sql, r, *, setting: str, code: int = 2, secret: str = PASSWORD) -> None:  # type: ignore[no-untyped-def]
    assert r.code == code, (r.code, r.err)
    assert setting in r.err, r.err
    assert secret not in r.out + r.err
    for piece in re.split(r"[:@#/?\[\]]", secret):
        if len(piece) >= 4:
            assert piece not in r.out + r.err, piece
    assert sql("SHOW TABLES") == []  # nothing written: not even the history table
    log = project.root / "rockway.log"
    assert not log.exists() or secret not in log.read_text()


# --- one bad DSN per place a DSN comes from -------------------------------------------------------------
@pytest.mark.parametrize("dsn, said", [
    ("mysql://etl:Zs3c#retQX@127.0.0.1:3306/db", "percent-encode"),  # '#' starts the URL's fragment
    ("mysql://etl:Zs3c/retQX@127.0.0.1:3306/db", "percent-encode"),  # '/' starts the path
    ("mysql://etl:Zs3c?retQX@127.0.0.1:3306/db", "percent-encode"),  # '?' starts the query
    ("mysql://etl:Zs3c[retQX@127.0.0.1:3306/db", "percent-encode"),  # '[' starts an IPv6 host
    # a password that starts like a port: the URL parser reads `etl:1234` as host and port, the rest elsewhere
    ("mysql://etl:1234#Zs3cretQX@127.0.0.1:3306/db", "percent-encode"),  # the rest is a fragment, dropped
    ("mysql://etl:1234/Zs3cretQX@127.0.0.1:3306/db", "percent-encode"),  # the rest reads as the database
    ("mysql://etl:1234?Zs3cretQX@127.0.0.1:3306/db", "percent-encode"),  # the rest reads as an option
    (f"mysql://etl:x@127.0.0.1:{PASSWORD}/db", "port is not a number"),  # the password typed where the port goes
    (f"mysql://root:{PASSWORD}/db", "port is not a number"),  # no @: the password reads as the port
    (f"mysql://etl:{PASSWORD}@127.0.0.1:99999/db", "port is not in 0-65535"),
    (f"ftp://etl:{PASSWORD}@127.0.0.1/db", "scheme 'ftp' is not supported"),
    (f"etl:{PASSWORD}@127.0.0.1:3306/db", "is not supported; use starrocks:// or mysql://"),  # no scheme
    (f"mysql://etl:{PASSWORD}@/db", "has no host"),
    (f"mysql://etl:{PASSWORD}@127.0.0.1:3306/db?password={PASSWORD}", "option 'password' is not supported"),
])
def test_bad_rockway_dsn_never_shows_the_password(project: Project, sql, dsn: str, said: str) -> None:
    secret = dsn.split("etl:")[-1].split("@")[0] if re.search(r"etl:(Zs3c|1234)", dsn) else PASSWORD
    r = run_cli(project, "migrate", "up", "--log-file", "rockway.log", env={"ROCKWAY_DSN": dsn})
    _assert_refused(project, sql, r, setting="ROCKWAY_DSN", secret=secret)
    assert said.lower() in r.err.lower()


def test_bad_dsn_flag_is_named_and_never_falls_back(project: Project, sql) -> None:
    # ROCKWAY_DSN (the project's database) is valid: a bad --dsn must stop the run, not fall back to it
    r = run_cli(project, "migrate", "up", "--dsn", "mysql://etl:Zs3c#retQX@127.0.0.1:3306/db")
    _assert_refused(project, sql, r, setting="--dsn", secret="Zs3c#retQX")
    assert "%23" in r.err  # says how to write the '#'


@pytest.mark.parametrize("section", ["[env.dev]", "[rockway]"])
def test_bad_dsn_in_rockway_toml_is_named(project: Project, sql, section: str) -> None:
    project.write("rockway.toml", f'{section}\ndsn = "mysql://etl:Zs3c/retQX@127.0.0.1:3306/db"\n'
                  + ("" if section == "[rockway]" else "\n"))
    r = run_cli(project, "migrate", "up", "--env", "dev") if section == "[env.dev]" else run_cli(project, "migrate", "up")
    _assert_refused(project, sql, r, setting=f"rockway.toml {section}", secret="Zs3c/retQX")


def _jobs_project(project: Project, source: str) -> None:
    project.write("jobs/jobs.toml", f'[jobs]\n[jobs.sources.erp]\nkind = "dsn"\ndatabase = "erp"\n{source}')


def test_bad_source_dsn_variable_is_named(project: Project, sql) -> None:
    _jobs_project(project, "")
    r = run_cli(project, "job", "list", env={"ROCKWAY_SOURCE_ERP_DSN": "mysql://etl:Zs3c#retQX@erp:3306/erp"})
    _assert_refused(project, sql, r, setting="ROCKWAY_SOURCE_ERP_DSN", secret="Zs3c#retQX")


def test_bad_source_dsn_in_jobs_toml_is_named(project: Project, sql) -> None:
    _jobs_project(project, 'dsn = "mysql://etl:Zs3c?retQX@erp:3306/erp"\n')
    r = run_cli(project, "job", "list")
    _assert_refused(project, sql, r, setting="[jobs.sources.erp] dsn", secret="Zs3c?retQX")


def test_unreachable_server_never_shows_the_password(project: Project, sql) -> None:
    r = run_cli(project, "migrate", "up", "--dsn", f"mysql://etl:{PASSWORD}@127.0.0.1:{_refused_port()}/db",
                env={"ROCKWAY_CONNECT_TIMEOUT": "3"})
    _assert_refused(project, sql, r, setting="mysql://etl@127.0.0.1", code=3)


def test_refused_login_never_shows_the_password(project: Project, sql) -> None:
    p = parse_dsn(project.dsn)
    r = run_cli(project, "migrate", "up", "--dsn", f"mysql://rw_nobody:{PASSWORD}@{p.host}:{p.port}/{p.database}")
    _assert_refused(project, sql, r, setting="access denied", code=3)
