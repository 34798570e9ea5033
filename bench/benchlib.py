"""What the benchmark scripts share: a MariaDB server handle, a clean environment, the warehouse jobs config."""

from __future__ import annotations

import contextlib
import ctypes
import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pymysql

from rockway.config import Dsn, parse_dsn


class Server:
    """A MySQL/MariaDB server given as a DSN without database: connections, throwaway databases, URLs."""

    def __init__(self, dsn: str) -> None:
        self.dsn: Dsn = parse_dsn(dsn)

    def connect(self, database: str | None = None) -> pymysql.connections.Connection:
        d = self.dsn
        return pymysql.connect(host=d.host, port=d.port, user=d.user, password=d.password or "", database=database,
                               autocommit=True)

    def url(self, database: str) -> str:
        d = self.dsn
        auth = d.user + (f":{d.password}" if d.password else "")
        return f"mysql://{auth}@{d.host}:{d.port}/{database}"

    def create(self) -> str:
        name = f"rw_bench_{uuid.uuid4().hex[:10]}"
        with self.connect() as conn, conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{name}`")
        return name

    def drop(self, name: str) -> None:
        with self.connect() as conn, conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")

    @contextlib.contextmanager
    def fresh_database(self) -> Iterator[str]:
        """A throwaway database for the block, dropped after it."""
        name = self.create()
        try:
            yield name
        finally:
            self.drop(name)

    def scalar(self, sql: str, params: tuple[object, ...] | None = None) -> object:
        with self.connect() as conn, conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchone()[0]

    def version(self) -> str:
        return str(self.scalar("SELECT VERSION()"))

    def settle(self, timeout_s: float = 30.0) -> bool:
        """Write InnoDB's dirty pages out before a timed run, so that no run pays for the flushing of the one before
        it (with `innodb_io_capacity` = 200 the 500 tables of one bench_migrate variant leave ~6,000 dirty pages,
        ~30 s of background writes). Lowers `innodb_max_dirty_pages_pct` to 0 until the pages are written, then
        puts the server's value back. False when it could not (no SUPER privilege, not InnoDB, timeout)."""
        with self.connect() as conn, conn.cursor() as cur:
            try:
                cur.execute("SELECT @@GLOBAL.innodb_max_dirty_pages_pct")
                before = cur.fetchone()[0]
                cur.execute("SET GLOBAL innodb_max_dirty_pages_pct = 0")
            except pymysql.MySQLError:
                return False
            try:
                end = time.monotonic() + timeout_s
                while time.monotonic() < end:
                    cur.execute("SHOW GLOBAL STATUS LIKE 'Innodb_buffer_pool_pages_dirty'")
                    row = cur.fetchone()
                    if row is None or int(row[1]) == 0:
                        return row is not None
                    time.sleep(0.05)
                return False
            finally:
                cur.execute("SET GLOBAL innodb_max_dirty_pages_pct = %s", (before,))


# The `rockway` CLI of this interpreter, whatever console scripts are on PATH.
CLI = [sys.executable, "-c", "from rockway.cli.main import main; main()"]


@dataclass(frozen=True)
class Measured:
    """One finished process: what it printed and what it cost."""

    wall: float  # seconds from start until the process itself exited (what its caller waits for)
    cpu: float  # user + system seconds of the process and of every process it started, the ones outliving it too
    returncode: int
    stdout: str
    stderr: str


_PR_SET_CHILD_SUBREAPER = 36
_subreaper = False


def _become_subreaper() -> None:
    """Have processes orphaned by our children (a process a CLI started that exits just after it) re-parented to this
    process instead of init, so that `run_measured` can collect their CPU time. Linux; elsewhere they go uncounted."""
    global _subreaper
    if not _subreaper and sys.platform.startswith("linux"):
        _subreaper = ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0


def run_measured(cmd: list[str], cwd: Path | str, env: dict[str, str], orphan_wait_s: float = 5.0) -> Measured:
    """Run cmd to its end; wall time until it exits, CPU time of it and all its descendants.

    A descendant still running when cmd exits (re-parented here, see `_become_subreaper`) is waited for, up to
    orphan_wait_s, after the wall time is taken.
    """
    _become_subreaper()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        cpu = usage.ru_utime + usage.ru_stime
        end = time.monotonic() + orphan_wait_s
        while _subreaper:
            try:
                pid, _, orphan = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid:
                cpu += orphan.ru_utime + orphan.ru_stime
            elif time.monotonic() > end:
                break
            else:
                time.sleep(0.002)
        out.seek(0), err.seek(0)
        return Measured(wall, cpu, proc.returncode, out.read(), err.read())


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without ROCKWAY_* and OTEL_* variables, plus extra."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROCKWAY_", "OTEL_"))}
    env.update(extra)
    return env


def write_jobs_toml(project: Path, erp_database: str) -> None:
    """jobs/jobs.toml for benchmark runs: no settle time, UTC, the ERP read as a catalog on the same server."""
    (project / "jobs" / "jobs.toml").write_text(f"""
[jobs]
settle = "0s"
business_time_zone = "UTC"
statement_timeout = 3600
[jobs.sources.erp]
kind = "catalog"
database = "{erp_database}"
""", encoding="utf-8")
