"""A real StarRocks for the `starrocks`-marked suite: starrocks/allin1-ubuntu started with testcontainers.

Readiness (starrocks-facts.md §11): the allin1 image prints
"Enjoy the journey to StarRocks blazing-fast lake-house engine!" after the BE is registered; even then
the BE can report Alive=true with AvailCapacity `1.000 B` until its first heartbeat, and loads fail with
"backends without enough disk space", so SHOW BACKENDS is polled until both look healthy.

Fixtures:
- `starrocks_server` (session): host, MySQL port (9030) and FE HTTP port (8030) as mapped on this host;
- `starrocks_dsn` (session): `starrocks://root@host:port/rockway_it?http_port=…`, database created;
- `starrocks_adapter`: a fresh StarRocksAdapter on that DSN per test (closed afterwards).
Skipped, with the reason shown, when Docker or testcontainers is not usable here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Iterator

import pytest

import rw_helpers

IMAGE = rw_helpers.STARROCKS_IMAGE  # ROCKWAY_STARROCKS_IMAGE overrides
READY_LINE = "Enjoy the journey to StarRocks blazing-fast lake-house engine!"
STARTUP_TIMEOUT = 600  # s, for the log line (image pull not included); CI machines are slow
BACKEND_TIMEOUT = 300  # s, for SHOW BACKENDS to look healthy after the log line
DATABASE = "rockway_it"






@dataclass(frozen=True)
class StarRocksServer:
    host: str
    port: int
    http_port: int
    version: str


def _backends_ready(host: str, port: int) -> tuple[bool, str]:
    import pymysql

    try:
        conn = pymysql.connect(host=host, port=port, user="root", password="", connect_timeout=5, autocommit=True)
    except pymysql.err.MySQLError as exc:
        return False, f"FE not accepting connections: {exc}"
    try:
        with conn.cursor(pymysql.cursors.DictCursor) as cur:
            cur.execute("SHOW BACKENDS")
            rows = cur.fetchall()
    except pymysql.err.MySQLError as exc:
        return False, f"SHOW BACKENDS failed: {exc}"
    finally:
        conn.close()
    if not rows:
        return False, "no backend registered yet"
    for row in rows:
        alive = str(row.get("Alive", "")).lower() == "true"
        capacity = str(row.get("AvailCapacity", "")).strip()
        if alive and capacity and capacity != "1.000 B":
            return True, f"backend {row.get('IP')} alive, {capacity} available"
    return False, f"backends not ready: {[(r.get('Alive'), r.get('AvailCapacity')) for r in rows]}"


def _wait_backends(host: str, port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    status = "not checked"
    while time.monotonic() < deadline:
        ready, status = _backends_ready(host, port)
        if ready:
            return
        time.sleep(3)
    raise RuntimeError(f"StarRocks at {host}:{port} not ready after {timeout:g}s: {status}")


@pytest.fixture(scope="session")
def starrocks_server() -> Iterator[StarRocksServer]:
    """Start one allin1 container for the session and wait until it can take DDL and loads."""
    problem = rw_helpers.docker_problem()
    if problem:
        pytest.skip(f"StarRocks suite needs a Docker engine: {problem}")
    import pymysql
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.waiting_utils import wait_for_logs

    container = DockerContainer(IMAGE).with_exposed_ports(9030, 8030, 8040)
    container.start()
    try:
        wait_for_logs(container, lambda text: READY_LINE in text, timeout=STARTUP_TIMEOUT)
        host = container.get_container_host_ip()
        port = int(container.get_exposed_port(9030))
        http_port = int(container.get_exposed_port(8030))
        _wait_backends(host, port, BACKEND_TIMEOUT)
        conn = pymysql.connect(host=host, port=port, user="root", password="", autocommit=True)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT current_version()")
                version = str(cur.fetchone()[0])
        finally:
            conn.close()
        yield StarRocksServer(host, port, http_port, version)
    finally:
        container.stop()


@pytest.fixture(scope="session")
def starrocks_dsn(starrocks_server: StarRocksServer) -> str:
    """DSN of a database created for this session on the StarRocks container."""
    import pymysql

    conn = pymysql.connect(host=starrocks_server.host, port=starrocks_server.port, user="root", password="",
                           autocommit=True)
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE IF NOT EXISTS `{DATABASE}`")
    finally:
        conn.close()
    return (f"starrocks://root@{starrocks_server.host}:{starrocks_server.port}/{DATABASE}"
            f"?http_port={starrocks_server.http_port}")


@pytest.fixture
def starrocks_adapter(starrocks_dsn: str) -> Iterator["object"]:
    """A StarRocksAdapter on the session database, configured for a one-BE cluster."""
    from rockway.adapters import connect_dsn
    from rockway.config import Settings, parse_dsn

    adapter = connect_dsn(parse_dsn(starrocks_dsn),
                          settings=Settings(async_timeout=600, poll_interval=1, replication_num=1, wait_for_mv=True))
    try:
        yield adapter
    finally:
        adapter.close()
