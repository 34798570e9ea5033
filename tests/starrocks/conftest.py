"""A real StarRocks for the `starrocks`-marked suite: starrocks/allin1-ubuntu started with testcontainers.

Readiness lives in rockway/rehearse/container.py, shared with `rockway rehearse --start-starrocks`: the allin1
image's ready log line (logged by docker/dockerfiles/allin1/services/director/run.sh in the StarRocks repository),
then SHOW BACKENDS until a backend is alive with real capacity (until it has reported its disks the FE counts 1 byte,
`1.000 B`: fe/fe-core/src/main/java/com/starrocks/system/Backend.java, getAvailableCapacityB; loads then fail).

Fixtures:
- `starrocks_server` (session): host, MySQL port (9030) and FE HTTP port (8030) as mapped on this host;
- `starrocks_dsn` (session): `starrocks://root@host:port/rockway_it?http_port=…`, database created;
- `starrocks_adapter`: a fresh StarRocksAdapter on that DSN per test (closed afterwards).
Skipped, with the reason shown, when Docker or testcontainers is not usable here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import pytest

from tests.support.docker import STARROCKS_IMAGE, docker_problem

IMAGE = STARROCKS_IMAGE  # ROCKWAY_STARROCKS_IMAGE overrides
STARTUP_TIMEOUT = 600  # s, for the log line (image pull not included); CI machines are slow
BACKEND_TIMEOUT = 300  # s, for SHOW BACKENDS to look healthy after the log line
DATABASE = "rockway_it"


@dataclass(frozen=True)
class StarRocksServer:
    host: str
    port: int
    http_port: int
    version: str


@pytest.fixture(scope="session")
def starrocks_server() -> Iterator[StarRocksServer]:
    """Start one allin1 container for the session and wait until it can take DDL and loads (the readiness of
    `rockway rehearse --start-starrocks`: rockway/rehearse/container.py, one home for both)."""
    problem = docker_problem()
    if problem:
        pytest.skip(f"StarRocks suite needs a Docker engine: {problem}")
    import pymysql

    from rockway.rehearse.container import started_starrocks

    with started_starrocks(IMAGE, startup_timeout=STARTUP_TIMEOUT, backend_timeout=BACKEND_TIMEOUT) as server:
        conn = pymysql.connect(host=server.host, port=server.port, user="root", password="", autocommit=True)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT current_version()")
                version = str(cur.fetchone()[0])
        finally:
            conn.close()
        yield StarRocksServer(server.host, server.port, server.http_port, version)


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
