"""The local ERP rehearsal: a seeded ERP source database, its read-only user, and the first historical load.

`rockway dev seed` (cli/dev_cmds.py) runs `migrate up`, then these steps, so that `rockway run evening` and
`rockway run morning` work on a fresh machine:

1. seed_erp: the `erp` source's database (the one its DSN names) with the tables of jobs/sources/erp_schema.sql
   and deterministic sample data: 28 billing days ending "yesterday" in [jobs] business_time_zone, customers
   and materials changed on the first of them; the materials and sales groups come from reference-data/, so
   the warehouse's mappings know them. Rows are written only into empty tables.
2. the source DSN's user (`etl_reader` in jobs/jobs.toml) with SELECT on that database and nothing else; its
   password is ROCKWAY_SOURCE_ERP_PASSWORD (none when unset: a local server only).
3. initialise_watermarks: a backfill of every incremental job that has no watermark yet, over the sample days
   before yesterday, in dependency order; the pipelines then load yesterday as on any other morning.

Each step leaves what exists alone, so a second run changes nothing. The ERP must live on the warehouse's
server: the seed creates it with the warehouse's credentials.
"""

from __future__ import annotations

import csv
import os
import random
import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable

from rockway import sqlsplit
from rockway.adapters import Timeouts, connect_dsn, settings_dsn
from rockway.clock import utcnow
from rockway.config import Settings, parse_dsn, validate_identifier
from rockway.interfaces import Verifier
from rockway.errors import ConfigError, InputError
from rockway.jobs.settings import load_jobs_settings
from rockway.jobs.window import previous_business_day

SOURCE = "erp"
SCHEMA_FILE = Path("sources") / "erp_schema.sql"  # under the jobs folder
DAYS = 28
SEED = 20260101  # the sample data depends only on this and on the day it ends
TABLES = ("customers", "materials", "orders", "order_items")
_USER = re.compile(r"^[A-Za-z0-9_]{1,32}$")


@dataclass
class SeedReport:
    database: str
    user: str
    first_day: date
    last_day: date  # "yesterday": loaded by the first morning run, not by the seed

    @property
    def loaded_days(self) -> tuple[date, date]:
        """The days the seed's historical load covers: every sample day before yesterday."""
        return self.first_day, self.last_day - timedelta(days=1)
    created: list[str] = field(default_factory=list)  # what this run created or wrote, one line each

    def describe(self) -> str:
        done = "; ".join(self.created) if self.created else "nothing to do (already seeded)"
        return f"ERP {self.database} (read by {self.user}), sample days {self.first_day}..{self.last_day}: {done}"


def sample_days(as_of: datetime | None, business_time_zone: str) -> tuple[date, date]:
    """The first and the last sample billing day: DAYS days ending yesterday in the business time zone."""
    yesterday, _today = previous_business_day(as_of or utcnow(), business_time_zone)
    return yesterday - timedelta(days=DAYS - 1), yesterday


def _reference(project_dir: Path, name: str) -> list[dict[str, str]]:
    path = project_dir / "reference-data" / name
    if not path.is_file():
        raise InputError(str(path), "the rehearsal takes its materials and sales groups from this file",
                         hint="Run `rockway dev seed` in the project folder (-C).")
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def sample_rows(project_dir: Path, first: date, last: date) -> dict[str, list[tuple[Any, ...]]]:
    """Deterministic ERP rows for the billing days first..last (UTC times), in TABLES' column order."""
    rng = random.Random(SEED)
    start = datetime(first.year, first.month, first.day, 6, 0, 0)
    mapper = [r for r in _reference(project_dir, "dim_material_mapper.csv") if r.get("is_active") == "true"][:10]
    groups = [r for r in _reference(project_dir, "dim_sales_group_code.csv")
              if r.get("is_active") == "true" and not r.get("valid_to")][:6]
    if not mapper or not groups:
        raise InputError(str(project_dir / "reference-data"), "no active material or sales group to sample from")
    cities = [("DE", "Munich", "80331"), ("DE", "Stuttgart", "70173"), ("AT", "Vienna", "1010"),
              ("CH", "Zurich", "8001"), ("DE", "Hamburg", "20095"), ("AT", "Graz", "8010")]
    customers = []
    for n in range(1, 13):
        country, city, postal = cities[n % len(cities)]
        customers.append((f"00001{n:05d}", f"Sample Customer {n:02d}", f"0{n % 3 + 1}", "RETL", country, city,
                          postal, start))
    materials = [(r["material_number"], r["material_description"][:120], r["material_type"], r["material_group"],
                  r["product_hierarchy"], r["base_unit"], start) for r in mapper]
    orders, items = [], []
    number = 0
    day = first
    while day <= last:
        for k in range(rng.randint(3, 6)):
            number += 1
            order_id = f"90{number:08d}"
            group = rng.choice(groups)
            changed = datetime(day.year, day.month, day.day, 8, 0, 0) + timedelta(minutes=7 * k)
            orders.append((order_id, "F2", day, None, group["sales_org"], group["distribution_channel"],
                           group["division"], group["sales_group_code"], rng.choice(customers)[0], "EUR", changed))
            for item_no in range(10, 10 * rng.randint(1, 3) + 1, 10):
                quantity = Decimal(rng.randint(1, 50))
                net = (quantity * Decimal(rng.randint(150, 4000)) / 100).quantize(Decimal("0.01"))
                items.append((order_id, item_no, rng.choice(materials)[0], quantity, "CS", net,
                              (net * Decimal("0.19")).quantize(Decimal("0.01")), changed))
        day += timedelta(days=1)
    return {"customers": customers, "materials": materials, "orders": orders, "order_items": items}


_COLUMNS = {
    "customers": ("customer_id", "name", "customer_group", "industry", "country", "city", "postal_code", "updated_at"),
    "materials": ("material_id", "description", "material_type", "material_group", "product_hierarchy", "base_unit",
                  "updated_at"),
    "orders": ("order_id", "order_type", "billing_date", "cancelled", "sales_org", "distribution_channel", "division",
               "sales_group", "customer_id", "currency", "updated_at"),
    "order_items": ("order_id", "item_no", "material_id", "quantity", "unit", "net_amount", "tax_amount", "updated_at"),
}


def erp_dsn(settings: Settings) -> tuple[Any, Any]:
    """(the ERP source's DSN, the warehouse's DSN), checked for a rehearsal on one server."""
    jobs = load_jobs_settings(settings)
    src = jobs.sources.get(SOURCE)
    env = f"[env.{settings.env}.jobs.sources.{SOURCE}]" if settings.env else f"[jobs.sources.{SOURCE}]"
    if src is None or src.kind != "dsn" or not src.dsn:
        raise ConfigError(f"jobs/jobs.toml {env}: the local rehearsal needs the ERP read by rockway (kind = \"dsn\")",
                          hint="Use the dev environment (rockway.toml [rockway] env = \"dev\"), or set "
                               "ROCKWAY_SOURCE_ERP_DSN=mysql://etl_reader@127.0.0.1:3306/erp.")
    source = parse_dsn(src.dsn).with_password(src.password)
    where = f"jobs/jobs.toml {env} dsn" + (" (ROCKWAY_SOURCE_ERP_DSN)" if os.environ.get("ROCKWAY_SOURCE_ERP_DSN") else "")
    warehouse = settings_dsn(settings)
    if source.scheme != "mysql" or (source.host, source.port) != (warehouse.host, warehouse.port):
        raise ConfigError(f"{where}: the ERP ({source.host}:{source.port}) must be a mysql:// DSN on the "
                          f"warehouse's server ({warehouse.host}:{warehouse.port}) for the rehearsal",
                          hint="The seed creates the ERP database and its user with the warehouse's credentials.")
    database = validate_identifier(src.database or "", f"{where}: the ERP database")
    if not _USER.match(source.user or ""):
        raise ConfigError(f"{where}: user {source.user!r} must be letters, digits and _ (at most 32)")
    return replace(source, database=database), warehouse


def seed_erp(settings: Settings, *, as_of: datetime | None = None,
             on_event: Callable[[str], None] = lambda m: None) -> SeedReport:
    """Create the ERP database, its tables and its read-only user, and write the sample rows into empty tables."""
    source, warehouse = erp_dsn(settings)
    jobs = load_jobs_settings(settings)
    first, last = sample_days(as_of, jobs.business_time_zone)
    schema_path = jobs.jobs_dir / SCHEMA_FILE
    if not schema_path.is_file():
        raise InputError(str(schema_path), "the ERP's tables are created from this file; it is missing")
    report = SeedReport(source.database, source.user, first, last)
    timeouts = Timeouts(settings.connect_timeout, settings.read_timeout, settings.write_timeout)
    admin = connect_dsn(replace(warehouse, database=None), timeouts)
    try:
        db = admin.quote_ident(source.database)
        if not admin.query("SELECT 1 FROM information_schema.schemata WHERE schema_name = %s", (source.database,)):
            admin.execute(f"CREATE DATABASE {db} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
            report.created.append(f"database {source.database}")
        admin.execute(f"USE {db}")
        existing = {r[0] for r in admin.query("SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                                              (source.database,))}
        for statement in sqlsplit.split(schema_path.read_text(encoding="utf-8")):
            admin.execute(statement.sql)  # CREATE TABLE IF NOT EXISTS
        made = [t for t in TABLES if t not in existing]
        if made:
            report.created.append(f"tables {', '.join(made)}")
        if all(not admin.query(f"SELECT 1 FROM {db}.{admin.quote_ident(t)} LIMIT 1") for t in TABLES):
            rows = sample_rows(settings.project_dir, first, last)
            for table in TABLES:
                cols = _COLUMNS[table]
                admin.executemany(f"INSERT INTO {db}.{admin.quote_ident(table)} ({', '.join(cols)}) "
                                  f"VALUES ({', '.join(['%s'] * len(cols))})", rows[table])
            report.created.append("sample rows: " + ", ".join(f"{len(rows[t])} {t}" for t in TABLES))
        else:  # seeded before, maybe on another day: its days are the ones the ERP holds
            low, high = admin.query(f"SELECT MIN(billing_date), MAX(billing_date) FROM {db}.orders")[0]
            if low is not None:
                report.first_day, report.last_day = low, high
        _reader(admin, source, report)
    finally:
        admin.close()
    on_event(report.describe())
    return report


def _reader(admin: Any, source: Any, report: SeedReport) -> None:
    """The source DSN's user with SELECT on the ERP database only (created once, then left alone)."""
    if admin.query("SELECT 1 FROM mysql.user WHERE user = %s AND host = '%%'", (source.user,)):
        return
    admin.execute("CREATE USER %s@'%%' IDENTIFIED BY %s", (source.user, source.password or ""))
    admin.execute(f"GRANT SELECT ON {admin.quote_ident(source.database)}.* TO %s@'%%'", (source.user,))
    report.created.append(f"user {source.user} (SELECT on {source.database}.*)")


def load_order(specs: dict[str, Any]) -> list[str]:
    """Job names with every job after the jobs it depends on; staging, then dimensions, then facts."""
    rank = {"staging": 0, "dimension": 1, "fact": 2}
    pending = sorted(specs, key=lambda n: (rank.get(specs[n].kind, 3), n))
    out: list[str] = []
    while pending:
        ready = next((n for n in pending if all(d in out or d not in specs for d in specs[n].depends_on)), pending[0])
        out.append(ready)
        pending.remove(ready)
    return out


def initialise_watermarks(settings: Settings, first: date, last: date, *, verifier: Verifier | None,
                          on_event: Callable[[str], None] = lambda m: None) -> list[str]:
    """Backfill first..last for every incremental job without a watermark; the others are left alone."""
    from rockway.jobs.api import backfill, load_project, watermarks

    project = load_project(settings)
    have = {row.job_name for row in watermarks(settings)}
    done: list[str] = []
    for name in load_order(project.specs):
        spec = project.specs[name]
        if spec.mode != "incremental" or spec.watermark is None or spec.watermark.type not in ("date", "datetime"):
            continue
        if name in have:
            continue
        result = backfill(settings, name, first, last, verifier=verifier)
        line = f"{name}: backfilled {first}..{last} ({len(result.chunks)} chunk(s))"
        on_event(line)
        done.append(line)
    return done

