"""Shared fixtures: a fresh MariaDB database per test, project folders, and CLI runners."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

DEFAULT_DSN = "mysql://root@127.0.0.1:3306/rockway_test"


def _server_dsn() -> tuple[str, bool]:
    value = os.environ.get("ROCKWAY_TEST_DSN")
    return (value, True) if value else (DEFAULT_DSN, False)


@pytest.fixture(scope="session")
def mariadb_server() -> str:
    """DSN of the test server (without database); fails when ROCKWAY_TEST_DSN is set but unreachable."""
    import pymysql

    from rockway.config import parse_dsn

    dsn, explicit = _server_dsn()
    parsed = parse_dsn(dsn)
    try:
        conn = pymysql.connect(host=parsed.host, port=parsed.port, user=parsed.user, password=parsed.password or "",
                               connect_timeout=5)
        conn.close()
    except pymysql.err.MySQLError as exc:
        if explicit:
            pytest.fail(f"ROCKWAY_TEST_DSN={dsn} is not reachable: {exc}")
        pytest.skip(f"no MariaDB at {dsn} and ROCKWAY_TEST_DSN is not set: {exc}")
    return dsn


def _admin(server_dsn: str):  # type: ignore[no-untyped-def]
    import pymysql

    from rockway.config import parse_dsn

    p = parse_dsn(server_dsn)
    return pymysql.connect(host=p.host, port=p.port, user=p.user, password=p.password or "", autocommit=True)


@pytest.fixture
def db_dsn(mariadb_server: str) -> Iterator[str]:
    """A DSN pointing at a freshly created, empty database, dropped after the test."""
    from rockway.config import parse_dsn

    name = f"rw_{uuid.uuid4().hex[:10]}"
    conn = _admin(mariadb_server)
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}`")
    p = parse_dsn(mariadb_server)
    auth = p.user + (f":{p.password}" if p.password else "")
    try:
        yield f"mysql://{auth}@{p.host}:{p.port}/{name}"
    finally:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        conn.close()


@pytest.fixture
def sql(db_dsn: str):  # type: ignore[no-untyped-def]
    """Run SQL against the test database: sql("SELECT …") -> rows."""
    import pymysql

    from rockway.config import parse_dsn

    p = parse_dsn(db_dsn)
    conn = pymysql.connect(host=p.host, port=p.port, user=p.user, password=p.password or "", database=p.database,
                           autocommit=True)

    def run(statement: str, params: tuple | None = None) -> list[tuple]:
        with conn.cursor() as cur:
            cur.execute(statement, params)
            return list(cur.fetchall()) if cur.description else []

    yield run
    conn.close()


@dataclass
class Project:
    """A project folder with helpers to write scripts."""

    root: Path
    dsn: str

    def write(self, relative: str, text: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def migration(self, name: str, text: str) -> Path:
        return self.write(f"migrations/{name}", text)

    def repeatable(self, name: str, text: str) -> Path:
        return self.write(f"repeatable/{name}", text)


@pytest.fixture
def project(tmp_path: Path, db_dsn: str) -> Project:
    (tmp_path / "migrations").mkdir()
    (tmp_path / "repeatable").mkdir()
    return Project(tmp_path, db_dsn)


@dataclass
class Result:
    code: int
    out: str
    err: str


def run_cli(project: Project | Path, *args: str, env: dict[str, str] | None = None, timeout: float = 120,
            entry: str = "rockway") -> Result:
    """Run the CLI in a subprocess in the project folder (real process, real exit code)."""
    root = project.root if isinstance(project, Project) else project
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("ROCKWAY_", "OTEL_"))}
    if isinstance(project, Project):
        environment["ROCKWAY_DSN"] = project.dsn
    environment.update(env or {})
    module = "rockway.cli.main"
    func = "main" if entry == "rockway" else "migrate_main"
    proc = subprocess.run([sys.executable, "-c", f"import sys; from {module} import {func}; {func}()", *args],
                          cwd=root, env=environment, capture_output=True, text=True, timeout=timeout)
    return Result(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def cli(project: Project):  # type: ignore[no-untyped-def]
    """cli("migrate", "up") -> Result, run in the project folder against its database."""
    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> Result:
        return run_cli(project, *args, env=env, timeout=timeout)
    return run
