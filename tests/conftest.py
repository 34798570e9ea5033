"""The whole suite's fixtures and markers: the MariaDB server and a fresh database per test, project folders, CLI
runners, and the Hypothesis profiles.

Where a test lives says what it needs: tests/unit (no server; its conftest.py refuses the server fixtures),
tests/mariadb (the server of ROCKWAY_TEST_DSN), tests/project (this repository's own files; some also need the
server), tests/starrocks (Docker). Every test that uses the server, wherever it lives, carries the `mariadb` marker,
so `python3 -m pytest -m "not mariadb"` runs everything that needs none."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Iterator

import pytest

DEFAULT_DSN = "mysql://root@127.0.0.1:3306/rockway_test"

# Simulation suites (tests/*/test_sim_*.py) draw generated scenarios with Hypothesis. CI runs the bounded "ci"
# profile; a long soak run: HYPOTHESIS_PROFILE=soak python3 -m pytest tests/*/test_sim_*.py (README, Development).
from hypothesis import HealthCheck, Verbosity, settings as hypothesis_settings  # noqa: E402

hypothesis_settings.register_profile(
    "ci", max_examples=40, deadline=None, print_blob=True, derandomize=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture])
hypothesis_settings.register_profile(
    "soak", max_examples=2000, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture])
hypothesis_settings.register_profile("debug", parent=hypothesis_settings.get_profile("ci"), max_examples=10,
                                     verbosity=Verbosity.verbose)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

from tests.support.cli import Project, Result, run_cli  # noqa: E402,F401 - re-exported for fixtures


SERVER_FIXTURE = "mariadb_server"  # every database fixture below is built on it


def pytest_itemcollected(item: pytest.Item) -> None:
    if SERVER_FIXTURE in getattr(item, "fixturenames", ()):
        item.add_marker(pytest.mark.mariadb)


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


@pytest.fixture
def project(tmp_path: Path, db_dsn: str) -> Project:
    (tmp_path / "migrations").mkdir()
    (tmp_path / "repeatable").mkdir()
    return Project(tmp_path, db_dsn)


@pytest.fixture
def cli(project: Project):  # type: ignore[no-untyped-def]
    """cli("migrate", "up") -> Result, run in the project folder against its database."""
    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> Result:
        return run_cli(project, *args, env=env, timeout=timeout)
    return run


@pytest.fixture
def jw(mariadb_server: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    """The sales warehouse's jobs on throwaway MariaDB databases (tests/support/jobs.py), set up and dropped."""
    from tests.support.jobs import JobsWarehouse

    w = JobsWarehouse(mariadb_server, tmp_path)
    try:
        yield w.setup()
    finally:
        w.drop()
