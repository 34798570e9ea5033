"""The MariaDB backup as a user whose password is option file syntax: the evening backup's `mariadb-dump` logs in
with a password full of `#` comments, quotes, backslashes, `;`, spaces, `$` and `=` (the option file itself, read
back by `my_print_defaults`: tests/unit/test_backup_options.py).
"""

from __future__ import annotations

import logging
import shutil
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest
from hypothesis import example, given, settings, strategies as st

from rockway.adapters import Timeouts, connect_dsn
from rockway.adapters.job_ops import BackupRequest
from rockway.adapters.registry import job_ops
from rockway.config import parse_dsn
from rockway.errors import DatabaseError
from tests.support.warehouse import admin_connection

SYNTAX = "#\"'\\;$= \t"  # what an unquoted option file value would cut, strip or reinterpret
# Long enough, and holding option file syntax, that finding one in a log line means it leaked.
PASSWORDS = st.text(alphabet=st.sampled_from(SYNTAX + "abcXYZ019@!%&*()[]{}:,.?/~`^|<>-_+"), min_size=10,
                    max_size=40).filter(lambda p: any(c in SYNTAX for c in p))


# --- the real backup, as a user whose password is option file syntax ---------------------------------------


class BackupUser:
    def __init__(self, server_dsn: str) -> None:
        self.server_dsn = server_dsn
        self.name = f"rwbk_{uuid.uuid4().hex[:8]}"
        self.database = f"{self.name}_db"
        with admin_connection(server_dsn) as conn, conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{self.database}`")
            cur.execute(f"CREATE TABLE `{self.database}`.t (id INT PRIMARY KEY, note VARCHAR(20))")
            cur.execute(f"INSERT INTO `{self.database}`.t VALUES (1, 'one'), (2, 'two')")
            cur.execute(f"CREATE USER '{self.name}'@'%' IDENTIFIED BY 'initial'")
            cur.execute(f"GRANT ALL PRIVILEGES ON `{self.database}`.* TO '{self.name}'@'%'")

    def set_password(self, password: str) -> None:
        with admin_connection(self.server_dsn) as conn, conn.cursor() as cur:
            cur.execute(f"ALTER USER '{self.name}'@'%%' IDENTIFIED BY %s", (password,))

    def adapter(self, password: str) -> Any:
        server = parse_dsn(self.server_dsn)
        dsn = parse_dsn(f"mysql://{self.name}@{server.host}:{server.port}/{self.database}").with_password(password)
        return connect_dsn(dsn, Timeouts(connect=10, read=60, write=60))

    def drop(self) -> None:
        with admin_connection(self.server_dsn) as conn, conn.cursor() as cur:
            cur.execute(f"DROP USER IF EXISTS '{self.name}'@'%'")
            cur.execute(f"DROP DATABASE IF EXISTS `{self.database}`")


@pytest.fixture
def backup_user(mariadb_server: str) -> Iterator[BackupUser]:
    if shutil.which("mariadb-dump") is None and shutil.which("mysqldump") is None:
        pytest.fail("mariadb-dump is missing: scripts/ensure-mariadb.sh installs the MariaDB client tools")
    user = BackupUser(mariadb_server)
    try:
        yield user
    finally:
        user.drop()


def run_backup_as(user: BackupUser, password: str, folder: Path, caplog: pytest.LogCaptureFixture,
                  dump_command: str = "mariadb-dump") -> tuple[list[Any], list[str]]:
    user.set_password(password)
    events: list[str] = []
    adapter = user.adapter(password)
    try:
        req = BackupRequest(stamp=uuid.uuid4().hex[:12], databases=(user.database,), folder=folder,
                            dump_command=dump_command, timeout=60)
        with caplog.at_level(logging.DEBUG):
            try:
                made = job_ops(adapter).backup(req, events.append)
            except DatabaseError as exc:
                assert password not in str(exc) + str(exc.hint or "")
                raise
    finally:
        adapter.close()
    return made, events


@settings(max_examples=12)
@given(password=PASSWORDS)
@example(password="pass#word1")
@example(password="#\"'\\; $=\t+x")
@example(password="trailing space ")
@example(password="back\\slash\\")
def test_backup_succeeds_with_any_password(backup_user: BackupUser, tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                           password: str) -> None:
    folder = tmp_path / uuid.uuid4().hex[:8]
    caplog.clear()
    made, events = run_backup_as(backup_user, password, folder, caplog)
    assert [b.database for b in made] == [backup_user.database]
    dump = Path(made[0].location)
    text = dump.read_text(encoding="utf-8")
    assert "Dump completed" in text and "(2,'two')" in text
    said = "\n".join(events) + "\n".join(r.getMessage() for r in caplog.records)
    assert password not in said


def test_dump_client_gets_a_private_option_file_that_is_removed_after(backup_user: BackupUser, tmp_path: Path,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    real = shutil.which("mariadb-dump") or shutil.which("mysqldump")
    seen = tmp_path / "seen.txt"
    wrapper = tmp_path / "dump-wrapper.sh"
    wrapper.write_text("#!/bin/sh\n"
                       'for a in "$@"; do case "$a" in --defaults-extra-file=*) f="${a#*=}";; esac; done\n'
                       f'echo "$f $(stat -c %a "$f")" > "{seen}"\n'
                       f'exec "{real}" "$@"\n', encoding="utf-8")
    wrapper.chmod(0o700)
    made, _ = run_backup_as(backup_user, "p#w'd \"x\"", tmp_path / "dumps", caplog, dump_command=str(wrapper))
    assert len(made) == 1
    path, mode = seen.read_text().split()
    assert mode == "600"
    assert not Path(path).exists()  # deleted once the dumps are done
