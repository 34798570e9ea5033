"""What every project `rockway init` writes must do right away, against the real MariaDB (tests/mariadb/test_scaffold.py
runs it with this checkout, tests/project/test_package.py with the wheel installed into a fresh venv)."""

from __future__ import annotations

import os
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from tests.support.cli import Result, run_cli

# Files `rockway init` writes that this repository's root also holds, rendered from rockway/scaffold/templates.
SHARED_WITH_ROOT = ("docker-compose.yml", ".env.example", "deploy/starrocks/fe.conf", "deploy/starrocks/be.conf",
                    "deploy/otel-collector/config.yaml", "macros/warehouse.sql")

# The project's databases are named from --name (rockway/scaffold/templates/rockway.toml.j2).
DATABASE_SUFFIXES = ("rockway", "dw", "etl", "source")


@dataclass(frozen=True)
class Step:
    argv: tuple[str, ...]
    code: int
    out: str
    err: str

    def explain(self) -> str:
        return f"rockway {' '.join(self.argv)} -> exit {self.code}\nstdout:\n{self.out[-3000:]}\nstderr:\n{self.err[-3000:]}"


def unique_name() -> str:
    """A project name no other test run uses: it prefixes every database the project creates."""
    return f"rwinit_{uuid.uuid4().hex[:8]}"


def project_env(server_dsn: str, name: str) -> dict[str, str]:
    """The environment for the project's commands: no ROCKWAY_*/OTEL_* of the caller, the dev DSN pointed at the
    test server (its host, port and user) with the project's own history database."""
    from rockway.config import parse_dsn

    p = parse_dsn(server_dsn)
    auth = p.user + (f":{p.password}" if p.password else "")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROCKWAY_", "OTEL_"))}
    env["ROCKWAY_DSN"] = f"mysql://{auth}@{p.host}:{p.port}/{name}_rockway"
    return env


def drop_databases(server_dsn: str, name: str) -> None:
    import pymysql

    from rockway.config import parse_dsn

    p = parse_dsn(server_dsn)
    conn = pymysql.connect(host=p.host, port=p.port, user=p.user, password=p.password or "", autocommit=True)
    try:
        with conn.cursor() as cur:
            for suffix in DATABASE_SUFFIXES:
                cur.execute(f"DROP DATABASE IF EXISTS `{name}_{suffix}`")
    finally:
        conn.close()


def query(server_dsn: str, sql: str) -> list[tuple]:
    import pymysql

    from rockway.config import parse_dsn

    p = parse_dsn(server_dsn)
    conn = pymysql.connect(host=p.host, port=p.port, user=p.user, password=p.password or "", autocommit=True)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return list(cur.fetchall())
    finally:
        conn.close()


def runner(command: Sequence[str], cwd: Path, env: dict[str, str]) -> Callable[..., Step]:
    """run("migrate", "up") -> Step: `command` (the rockway executable, or python -c …) run in the project."""
    def run(*argv: str, timeout: float = 300) -> Step:
        proc = subprocess.run([*command, *argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
        return Step(tuple(argv), proc.returncode, proc.stdout, proc.stderr)
    return run


# Right after `rockway init`, with no edits, each of these succeeds (issue 17), in this order.
COMMANDS_AFTER_INIT: tuple[tuple[str, ...], ...] = (
    ("migrate", "up", "--env", "dev"),
    ("lint", "--env", "prod"),
    ("job", "validate"),
    ("schedule",),
    ("docs", "check"),   # init filled the generated sections already
    ("docs", "update"),
    ("docs", "check"),
)
WITHOUT_JOBS = {("job", "validate"), ("schedule",)}


def run_after_init(run: Callable[..., Step], *, jobs: bool = True) -> dict[tuple[str, ...], Step]:
    """Run COMMANDS_AFTER_INIT (without the job commands when the project has none); assert each exits 0."""
    done = {}
    for argv in COMMANDS_AFTER_INIT:
        if not jobs and argv in WITHOUT_JOBS:
            continue
        step = run(*argv)
        assert step.code == 0, step.explain()
        done[argv] = step
    assert "up to date" in done[("docs", "check")].out
    return done


def lint_summary(step: Step) -> dict[str, int]:
    """`rockway lint`'s closing line, e.g. scripts=3 statements=12 checked=12 … errors=0, as numbers."""
    line = next(text for text in reversed(step.out.strip().splitlines()) if text.startswith("scripts="))
    return {k: int(v) for k, v in (pair.split("=", 1) for pair in line.split())}


def init(tmp: Path, *args: str) -> Result:
    """`rockway init ARGS` run in tmp."""
    return run_cli(tmp, "init", *args)
