"""What the benchmark scripts share: a MariaDB server handle, a clean environment, the warehouse jobs config."""

from __future__ import annotations

import contextlib
import os
import sys
import uuid
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


# The `rockway` CLI of this interpreter, whatever console scripts are on PATH.
CLI = [sys.executable, "-c", "from rockway.cli.main import main; main()"]


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
