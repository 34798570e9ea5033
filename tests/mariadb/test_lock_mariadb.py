"""The run lock on MariaDB: a second run gives up with exit 4 naming the holder; lock status reports it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from tests.support.cli import run_cli


def _start_slow_run(project, seconds: int = 6) -> subprocess.Popen:  # type: ignore[no-untyped-def]
    project.migration("V1__slow.sql", f"CREATE TABLE t (x INT);\nSELECT SLEEP({seconds});\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROCKWAY_", "OTEL_"))}
    env["ROCKWAY_DSN"] = project.dsn
    return subprocess.Popen([sys.executable, "-c", "from rockway.cli.main import main; main()", "migrate", "up", "-q"],
                            cwd=project.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_until_table(sql, name: str, timeout: float = 20) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sql(f"SHOW TABLES LIKE '{name}'"):
            return
        time.sleep(0.1)
    raise AssertionError(f"{name} never appeared")


def test_second_run_exits_4_naming_the_holder(project, sql):
    holder = _start_slow_run(project)
    try:
        _wait_until_table(sql, "t")
        t0 = time.monotonic()
        r = run_cli(project, "migrate", "up", "--lock-timeout", "1")
        waited = time.monotonic() - t0
        assert r.code == 4, r.err
        assert f"pid {holder.pid}" in r.err and "run " in r.err and "host " in r.err
        assert waited < 15
        status = run_cli(project, "lock", "status", "--json")
        assert status.code == 4
        data = json.loads(status.out)
        assert data["held"] is True and data["holder"]["pid"] == holder.pid
    finally:
        assert holder.wait(timeout=60) == 0, holder.stderr.read() if holder.stderr else ""
    free = run_cli(project, "lock", "status")
    assert free.code == 0 and "free" in free.out


def test_waiting_run_proceeds_when_the_lock_frees(project, sql):
    holder = _start_slow_run(project, seconds=2)
    try:
        _wait_until_table(sql, "t")
        project.migration("V2__after.sql", "CREATE TABLE after_lock (x INT);\n")
        r = run_cli(project, "migrate", "up", "--lock-timeout", "30")
        assert r.code == 0, r.err
        assert "waiting for the run lock" in r.err
    finally:
        holder.wait(timeout=60)
    assert sql("SHOW TABLES LIKE 'after_lock'")
