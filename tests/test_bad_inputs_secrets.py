"""Bad DSNs never show their password: each error names the setting it came from, says what is wrong (or to
percent-encode the password), exits 2 (3 when the server is unreachable or refuses the login) and writes nothing.
"""

from __future__ import annotations

import logging
import re

import pytest
from hypothesis import given, strategies as st

from rw_helpers import Project, run_cli
from rockway.config import load_settings, parse_dsn
from rockway.observability.redaction import redact_dsn
from rockway.errors import ConfigError

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


# --- the invariant, over generated passwords -------------------------------------------------------------
_PIECE = st.text("QXZJK0123456789", min_size=5, max_size=8)
_SPECIAL = st.sampled_from([":", "@", "#", "/", "?", "[", "]", "#@", "/@", ":/", "?#"])


@st.composite
def _passwords(draw) -> str:  # type: ignore[no-untyped-def]
    pieces = draw(st.lists(_PIECE, min_size=1, max_size=4))
    seps = draw(st.lists(_SPECIAL, min_size=len(pieces) - 1, max_size=len(pieces) - 1))
    out = draw(st.sampled_from(["Zq", "1"])) + pieces[0]  # "1…": the URL parser takes it for a port
    for sep, piece in zip(seps, pieces[1:]):
        out += sep + piece
    return out


_TEMPLATES = [
    "mysql://etl:{pw}@db.internal:3306/warehouse",
    "starrocks://etl:{pw}@fe.internal:9030/warehouse?http_port=8030",
    "mariadb://etl:{pw}@[::1:3306/warehouse",
    # the password typed where the port goes: there a password with `@` reads as a host, so none is drawn
    "mysql://etl:{pw}@db.internal:{pw}/warehouse",
    "mysql://etl:{pw}/warehouse",
]


def _dsn(template: str, password: str) -> tuple[str, str]:
    """(DSN, the password in it); where the password takes the port's place it has no `@` and is no number."""
    if template.count("{pw}") > 1 or "{pw}@" not in template:
        password = "Zq" + password.replace("@", "#")
    return template.replace("{pw}", password), password


@given(password=_passwords(), template=st.sampled_from(_TEMPLATES),
       origin=st.sampled_from(["ROCKWAY_DSN", "--dsn", "rockway.toml"]))
def test_no_dsn_error_shows_any_part_of_the_password(tmp_path_factory, password: str, template: str,
                                                     origin: str) -> None:
    dsn, password = _dsn(template, password)
    root = tmp_path_factory.mktemp("dsn")
    environ: dict[str, str] = {}
    overrides: dict[str, str] = {}
    if origin == "ROCKWAY_DSN":
        environ["ROCKWAY_DSN"] = dsn
    elif origin == "--dsn":
        overrides["dsn"] = dsn
    else:
        (root / "rockway.toml").write_text(f"[rockway]\ndsn = {dsn!r}\n".replace("'", '"'), encoding="utf-8")
    try:
        settings = load_settings(root, environ=environ, overrides=overrides)
    except ConfigError as exc:
        shown = f"{exc.message}\n{exc.hint or ''}"
        assert exc.exit_code == 2
        assert shown.startswith(origin if origin != "rockway.toml" else str(root / "rockway.toml")), shown
        pieces = [p for p in re.split(r"[:@#/?\[\]]", password) if len(p) >= 5]
        for piece in pieces:
            assert piece not in shown, (dsn, shown)
        return
    # it parsed: then the password came out whole, and the settings never show it
    parsed = parse_dsn(settings.dsn or "")
    assert password in (parsed.password, parsed.user)
    assert password not in repr(settings.describe()) and password not in str(parsed)


@given(password=_passwords())
def test_redact_dsn_masks_the_whole_password(password: str) -> None:
    for template in _TEMPLATES:
        dsn, secret = _dsn(template, password)
        shown = redact_dsn(dsn)
        assert not any(p in shown for p in re.split(r"[:@#/?\[\]]", secret) if len(p) >= 5), shown


# --- other URLs that may carry credentials ------------------------------------------------------------------
def test_bad_signoz_url_never_shows_its_password() -> None:
    from rockway.observability.signoz.push import SigNozClient

    with pytest.raises(ConfigError) as caught:
        SigNozClient(f"ftp://admin:{PASSWORD}@signoz:8080", "api-key")
    assert caught.value.exit_code == 2
    assert caught.value.message.startswith("SIGNOZ_URL 'ftp://admin:***@signoz:8080'")
    assert PASSWORD not in str(caught.value)


@pytest.mark.parametrize("url", [f"hooks.example.com/services/T0/{PASSWORD}", f"https://hook:{PASSWORD}@127.0.0.1:1/x"])
def test_bad_webhook_url_never_shows_its_token(url: str, caplog: pytest.LogCaptureFixture) -> None:
    from rockway.interfaces import CheckSummary, RunSummary, Severity, VerificationOutcome
    from rockway.verify.notify import NotifyConfig, RockwayNotifier

    checks = VerificationOutcome((CheckSummary("rows", "dw.t", Severity.CRITICAL, "fail", 0.0, ">= 1"),))
    summary = RunSummary(pipeline="p", status="success", run_id="r", trace_id=None, rows={}, jobs={}, checks=checks)
    config = NotifyConfig.from_mapping({"routes": {"CRITICAL": ["webhook"]}, "tries": 1, "backoff": 0, "timeout": 1})
    notifier = RockwayNotifier(config, environ={"ROCKWAY_WEBHOOK_URL": url})
    with caplog.at_level(logging.DEBUG, logger="rockway"):
        notifier.notify(summary)  # never raises
    assert [o.status for o in notifier.outcomes] == ["failed"]
    assert PASSWORD not in repr(notifier.outcomes) + "\n".join(r.getMessage() for r in caplog.records)
