"""A throwaway StarRocks for `rockway rehearse --start-starrocks`: starrocks/allin1-ubuntu under testcontainers.

The image is the release line the project runs (docker-compose.yml: 3.5), pinned to the tag the
`starrocks`-marked test suite uses (tests/starrocks/conftest.py starts it through this module). Readiness
(README, StarRocks specifics: "A throwaway StarRocks"): the allin1 image logs READY_LINE once the BE is registered,
and even then the BE can report Alive=true with AvailCapacity `1.000 B` until it has reported its disks (loads then
fail with "backends without enough disk space"), so SHOW BACKENDS is polled until a backend is alive with capacity.
testcontainers is an optional extra (`pip install 'rockway[rehearse]'`), imported only here and only when used.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from rockway.config import parse_dsn
from rockway.errors import DatabaseUnavailable, RockwayError, UsageError

DEFAULT_IMAGE = "starrocks/allin1-ubuntu:3.5.3"
READY_LINE = "Enjoy the journey to StarRocks blazing-fast lake-house engine!"
STARTUP_TIMEOUT = 600.0  # s, for READY_LINE (the image pull not included); CI machines are slow
BACKEND_TIMEOUT = 300.0  # s, for SHOW BACKENDS to look healthy after READY_LINE
QUERY_PORT, FE_HTTP_PORT, BE_HTTP_PORT = 9030, 8030, 8040
INSTALL_HINT = "pip install 'rockway[rehearse]'"


@dataclass(frozen=True)
class StarRocksServer:
    host: str
    port: int  # MySQL protocol (FE query port), as mapped on this host
    http_port: int  # FE HTTP (Stream Load)
    image: str

    def dsn(self, database: str) -> str:
        return f"starrocks://root@{self.host}:{self.port}/{database}?http_port={self.http_port}"


def require_testcontainers() -> Any:
    """The DockerContainer class, or UsageError (exit 2) naming the extra to install."""
    try:
        from testcontainers.core.container import DockerContainer
    except ImportError as exc:
        raise UsageError(f"--start-starrocks needs testcontainers, which is not installed ({exc})",
                         hint=f"Install it with `{INSTALL_HINT}`, or pass --dsn/--env for a server started by CI.") from None
    return DockerContainer


def backends_ready(rows: list[dict[str, Any]]) -> tuple[bool, str]:
    """Judge SHOW BACKENDS: ready when a backend is alive with a real AvailCapacity."""
    if not rows:
        return False, "no backend registered yet"
    for row in rows:
        alive = str(row.get("Alive", "")).lower() == "true"
        capacity = str(row.get("AvailCapacity", "")).strip()
        if alive and capacity and capacity != "1.000 B":
            return True, f"backend {row.get('IP')} alive, {capacity} available"
    return False, f"backends not ready: {[(r.get('Alive'), r.get('AvailCapacity')) for r in rows]}"


def _probe(host: str, port: int) -> tuple[bool, str]:
    from rockway.adapters import Timeouts, connect_dsn  # only once a server runs: `rockway --help` lists this command

    try:
        adapter = connect_dsn(parse_dsn(f"starrocks://root@{host}:{port}"), Timeouts(5.0, 30.0, 30.0))
    except RockwayError as exc:
        return False, f"FE not accepting connections: {exc.message}"
    try:
        return backends_ready(adapter.query_dicts("SHOW BACKENDS"))
    except RockwayError as exc:
        return False, f"SHOW BACKENDS failed: {exc.message}"
    finally:
        adapter.close()


def wait_backends(host: str, port: int, timeout: float = BACKEND_TIMEOUT,
                  probe: Callable[[str, int], tuple[bool, str]] = _probe, interval: float = 3.0) -> str:
    """Poll until a backend is ready; its description, or DatabaseUnavailable (exit 3) after timeout."""
    deadline = time.monotonic() + timeout
    status = "not checked"
    while True:
        ready, status = probe(host, port)
        if ready:
            return status
        if time.monotonic() >= deadline:
            raise DatabaseUnavailable(f"StarRocks at {host}:{port} not ready after {timeout:g} s: {status}")
        time.sleep(interval)


@contextmanager
def started_starrocks(image: str = DEFAULT_IMAGE, *, progress: Callable[[str], None] = lambda _: None,
                      startup_timeout: float = STARTUP_TIMEOUT,
                      backend_timeout: float = BACKEND_TIMEOUT) -> Iterator[StarRocksServer]:
    """Start the container, wait until FE and BE are ready, yield the server; remove the container afterwards,
    also on failure and Ctrl-C."""
    docker_container = require_testcontainers()
    from testcontainers.core.waiting_utils import wait_for_logs

    container = docker_container(image).with_exposed_ports(QUERY_PORT, FE_HTTP_PORT, BE_HTTP_PORT)
    progress(f"starting {image}")
    try:
        container.start()
    except Exception as exc:  # noqa: BLE001 - docker's errors: no engine, no image, no permission
        raise DatabaseUnavailable(f"could not start {image}: {type(exc).__name__}: {exc}",
                                  hint="Is a Docker engine running and reachable (DOCKER_HOST)?") from None
    try:
        progress("waiting for the FE and the BE")
        try:
            wait_for_logs(container, lambda text: READY_LINE in text, timeout=startup_timeout)
        except Exception as exc:  # noqa: BLE001 - testcontainers raises TimeoutError / its own errors
            raise DatabaseUnavailable(f"{image} did not log that it is ready within {startup_timeout:g} s: {exc}") from None
        host = container.get_container_host_ip()
        port = int(container.get_exposed_port(QUERY_PORT))
        http_port = int(container.get_exposed_port(FE_HTTP_PORT))
        progress(wait_backends(host, port, backend_timeout))
        yield StarRocksServer(host, port, http_port, image)
    finally:
        progress(f"removing the {image} container")
        container.stop()
