"""Docker for the StarRocks suite (tests/starrocks): the image it starts and whether a Docker engine is usable."""

from __future__ import annotations

import os

# The StarRocks image of the testcontainers suite: the release line of docker-compose.yml (STARROCKS_VERSION);
# the warehouse's prod rendering assumes starrocks_version 3.5.0 (CREATE VIEW … SECURITY NONE needs 3.4.1).
def _default_image() -> str:
    from rockway.rehearse.container import DEFAULT_IMAGE  # one pin for the suite and `rehearse --start-starrocks`

    return DEFAULT_IMAGE


STARROCKS_IMAGE = os.environ.get("ROCKWAY_STARROCKS_IMAGE") or _default_image()


def docker_problem() -> str | None:
    """Why the Docker-backed StarRocks suite cannot run here, or None when it can."""
    try:
        import docker
        import testcontainers.core.container  # noqa: F401
    except Exception as exc:  # noqa: BLE001 - any import failure means "not usable"
        return f"testcontainers/docker not importable ({type(exc).__name__}: {exc})"
    try:
        client = docker.from_env()
        client.ping()
        client.close()
    except Exception as exc:  # noqa: BLE001
        return f"no Docker engine reachable ({type(exc).__name__}: {exc})"
    return None


def require_docker() -> None:
    """Skip the calling test module, with the reason printed, when no Docker engine can run StarRocks."""
    import pytest

    problem = docker_problem()
    if problem:
        pytest.skip(f"StarRocks suite needs a Docker engine: {problem}", allow_module_level=True)
