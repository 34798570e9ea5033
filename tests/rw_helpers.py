"""Helpers shared by test modules (import from here, not from conftest)."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


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
