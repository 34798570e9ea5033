"""The sales warehouse of this repository plus a throwaway ERP database on the test MariaDB, for job tests.

`JobsWarehouse` copies the project (rockway.toml, migrations, repeatables, macros, reference data, jobs/,
cron.d/) to a temporary folder, applies the migrations with `rockway migrate up` into prefixed databases,
creates `<prefix>_erp` from jobs/sources/erp_schema.sql and writes a test jobs/jobs.toml: the ERP is read
by rockway (kind dsn), retries are fast, the Verifier/Notifier are the real SQL/file ones of jobs_verifier.py.
`Erp` writes source rows; `source_facts`/`target_facts` read both sides for comparison.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Sequence
from zoneinfo import ZoneInfo

from tests.support.cli import Result, run_cli
from tests.support.paths import REPO_ROOT
from tests.support.warehouse import Warehouse, admin_connection, copy_project


FACT_COLUMNS = ("billing_date", "billing_document", "billing_item", "billing_type", "sales_org", "distribution_channel",
                "division", "sales_group_code", "customer_id", "material_number", "quantity", "sales_unit",
                "net_amount", "tax_amount", "document_currency", "is_cancelled")
SOURCE_EXPRESSIONS = ("o.billing_date", "o.order_id", "i.item_no", "o.order_type", "o.sales_org", "o.distribution_channel",
                      "o.division", "o.sales_group", "o.customer_id", "i.material_id", "i.quantity", "i.unit",
                      "i.net_amount", "i.tax_amount", "o.currency", "CASE WHEN o.cancelled = 'X' THEN 1 ELSE 0 END")
SOURCE_FACT_SQL = ("SELECT " + ", ".join(f"{e} AS c{i}" for i, e in enumerate(SOURCE_EXPRESSIONS))
                   + " FROM {erp}.orders AS o JOIN {erp}.order_items AS i ON i.order_id = o.order_id"
                   " WHERE o.billing_date <= %s")
CHECKSUM = "SELECT COUNT(*), COALESCE(SUM(CRC32(CONCAT_WS('|', {cols}))), 0) FROM ({rows}) AS r"


def jobs_toml(erp_db: str, *, concurrency: int = 2, attempts: int = 6, extra: str = "") -> str:
    return f"""
[jobs]
concurrency = {concurrency}
retry_attempts = {attempts}
retry_initial_delay = 0.05
retry_max_delay = 0.4
statement_timeout = 120
settle = "0s"
business_time_zone = "UTC"
etl_database = "{{{{ etl_db }}}}"
work_database = "{{{{ etl_db }}}}"
verifier = "tests.support.jobs_verifier:make_verifier"
notifier = "tests.support.jobs_verifier:make_notifier"

[jobs.sources.erp]
kind = "dsn"
database = "{erp_db}"
batch_size = 500

[jobs.backup]
databases = ["{{{{ dw_db }}}}"]
retain = 2
folder = "backups"
{extra}
"""


class JobsWarehouse:
    """A migrated copy of the sales warehouse and an ERP database, named from one prefix."""

    def __init__(self, server_dsn: str, tmp_path: Path) -> None:
        self.server_dsn = server_dsn
        self.wh = Warehouse(server_dsn)
        self.root = copy_project(tmp_path / "project")
        for part in ("jobs", "cron.d"):
            shutil.copytree(REPO_ROOT / part, self.root / part)
        self.erp_db = self.wh.db("erp")
        self.verify_log = tmp_path / "verify.jsonl"
        self.notify_file = tmp_path / "notify.jsonl"
        self.extra_env: dict[str, str] = {}
        self.write_jobs_toml()

    def write_jobs_toml(self, **kw: Any) -> None:
        (self.root / "jobs" / "jobs.toml").write_text(jobs_toml(self.erp_db, **kw), encoding="utf-8")

    def source_dsn(self, port: int | None = None) -> str:
        from rockway.config import parse_dsn

        p = parse_dsn(self.server_dsn)
        auth = p.user + (f":{p.password}" if p.password else "")
        return f"mysql://{auth}@{p.host}:{port or p.port}/{self.erp_db}"

    def env(self, **more: str) -> dict[str, str]:
        # PYTHONPATH: a rockway subprocess loads jobs.toml's verifier/notifier, tests.support.jobs_verifier, by name
        env = self.wh.env()
        env.update(ROCKWAY_SOURCE_ERP_DSN=self.source_dsn(), ROCKWAY_TEST_VERIFY_LOG=str(self.verify_log),
                   ROCKWAY_TEST_NOTIFY_FILE=str(self.notify_file), ROCKWAY_LOCK_TIMEOUT="5",
                   PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH", "")])))
        env.update(self.extra_env)
        env.update(more)
        return env

    def apply_env(self, monkeypatch: Any) -> None:
        """Make this process see env() (for in-process runs through rockway.jobs.api)."""
        for key in [k for k in os.environ if k.startswith(("ROCKWAY_", "OTEL_"))]:
            monkeypatch.delenv(key, raising=False)
        for key, value in self.env().items():
            if key != "PYTHONPATH":
                monkeypatch.setenv(key, value)

    def settings(self, **overrides: Any) -> Any:
        from rockway.config import load_settings

        return load_settings(self.root, overrides=overrides)

    def cli(self, *args: str, timeout: float = 300, **env: str) -> Result:
        return run_cli(self.root, *args, env=self.env(**env), timeout=timeout)

    def setup(self) -> "JobsWarehouse":
        self.wh.create_meta()
        result = self.cli("migrate", "up")
        assert result.code == 0, result.err + result.out
        conn = admin_connection(self.server_dsn)
        try:
            with conn.cursor() as cur:
                cur.execute(f"CREATE DATABASE `{self.erp_db}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
                cur.execute(f"USE `{self.erp_db}`")
                from rockway import sqlsplit

                schema = (REPO_ROOT / "jobs" / "sources" / "erp_schema.sql").read_text(encoding="utf-8")
                for statement in sqlsplit.split(schema):
                    cur.execute(statement.sql)
        finally:
            conn.close()
        return self

    def drop(self) -> None:
        self.wh.drop()
        conn = admin_connection(self.server_dsn)
        try:
            with conn.cursor() as cur:
                cur.execute(f"DROP DATABASE IF EXISTS `{self.erp_db}`")
        finally:
            conn.close()

    def query(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        conn = admin_connection(self.server_dsn)
        try:
            with conn.cursor() as cur:
                cur.execute(sql, params)
                return list(cur.fetchall())
        finally:
            conn.close()

    def db(self, part: str) -> str:
        return self.erp_db if part == "erp" else self.wh.db(part)

    # --- comparisons ------------------------------------------------------------------------
    def source_facts(self, upto: date) -> set[tuple[Any, ...]]:
        return {_norm(r) for r in self.query(SOURCE_FACT_SQL.format(erp=self.erp_db), (upto,))}

    def target_facts(self) -> list[tuple[Any, ...]]:
        return [_norm(r) for r in self.query(f"SELECT {', '.join(FACT_COLUMNS)} FROM {self.db('dw')}.fact_sales")]

    def checksums(self, upto: date) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        """(count, CRC sum) of the source rows and of fact_sales, computed by the server on the same columns."""
        cols = ", ".join(f"r.c{i}" for i in range(len(FACT_COLUMNS)))
        dst = f"SELECT {', '.join(f'{c} AS c{i}' for i, c in enumerate(FACT_COLUMNS))} FROM {self.db('dw')}.fact_sales"
        src = self.query(CHECKSUM.format(cols=cols, rows=SOURCE_FACT_SQL.format(erp=self.erp_db)), (upto,))[0]
        tgt = self.query(CHECKSUM.format(cols=cols, rows=dst))[0]
        return tuple(src), tuple(tgt)

    def watermark(self, job: str) -> str | None:
        rows = self.query(f"SELECT watermark_value FROM {self.db('etl')}.etl_watermark WHERE job_name = %s", (job,))
        return rows[0][0] if rows else None

    def notifications(self) -> list[dict[str, Any]]:
        if not self.notify_file.exists():
            return []
        return [json.loads(line) for line in self.notify_file.read_text(encoding="utf-8").splitlines()]

    def verifications(self) -> list[dict[str, Any]]:
        if not self.verify_log.exists():
            return []
        return [json.loads(line) for line in self.verify_log.read_text(encoding="utf-8").splitlines()]


def _norm(row: Sequence[Any]) -> tuple[Any, ...]:
    out = []
    for v in row:
        if isinstance(v, Decimal):
            v = v.normalize()
        elif isinstance(v, bool):
            v = int(v)
        out.append(v)
    return tuple(out)


@dataclass
class Erp:
    """Writes ERP source rows (UTC times) on the test server."""

    jw: JobsWarehouse
    rng: random.Random

    def run(self, sql: str, params: Sequence[Any] | None = None, many: bool = False) -> None:
        conn = admin_connection(self.jw.server_dsn, self.jw.erp_db)
        try:
            with conn.cursor() as cur:
                (cur.executemany if many else cur.execute)(sql, params)
        finally:
            conn.close()

    def customers(self, count: int, updated_at: datetime) -> list[str]:
        ids = [f"C{i:05d}" for i in range(1, count + 1)]
        self.run("INSERT INTO customers VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                 [(c, f"Customer {c}", f"G{i % 3}", "RETL", "AT", f"City {i % 7}", f"{1000 + i}",
                   updated_at + timedelta(minutes=i)) for i, c in enumerate(ids)], many=True)
        return ids

    def materials(self, count: int, updated_at: datetime) -> list[str]:
        ids = [f"M{i:08d}" for i in range(1, count + 1)]
        self.run("INSERT INTO materials VALUES (%s, %s, %s, %s, %s, %s, %s)",
                 [(m, f"Material {m}", "FERT", f"MG{i % 4}", f"PH{i % 5}", "EA", updated_at + timedelta(minutes=i))
                  for i, m in enumerate(ids)], many=True)
        return ids

    def orders(self, first: int, count: int, billing_days: Sequence[date], customers: Sequence[str],
               materials: Sequence[str], updated_at: datetime, *, items: int = 3, spread: timedelta = timedelta(0)) -> list[str]:
        """Orders first..first+count-1; order n is billed on billing_days[n % len] and changed at updated_at + n*spread."""
        orders, lines = [], []
        for n in range(first, first + count):
            oid = f"{n:010d}"
            changed = updated_at + spread * (n - first)
            day = billing_days[n % len(billing_days)]
            orders.append((oid, "F2", day, None, "1000", "10", "00", f"{100 + n % 3}", self.rng.choice(customers), "EUR",
                           changed))
            for item in range(1, items + 1):
                lines.append((oid, item * 10, self.rng.choice(materials), Decimal(self.rng.randint(1, 50)), "EA",
                              Decimal(self.rng.randint(100, 99999)) / 100, Decimal(self.rng.randint(0, 9999)) / 100,
                              changed))
        self.run("INSERT INTO orders VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", orders, many=True)
        self.run("INSERT INTO order_items VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", lines, many=True)
        return [o[0] for o in orders]


def yesterdays(zone: str) -> set[str]:
    """Yesterday in zone, as window_start (both sides of a midnight that may pass during the test)."""
    now = datetime.now(timezone.utc)
    return {((now + timedelta(seconds=s)).astimezone(ZoneInfo(zone)).date() - timedelta(days=1)).isoformat()
            for s in (-120, 0, 120)}
