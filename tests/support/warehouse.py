"""The sales warehouse of this repository applied to a throwaway set of MariaDB databases and roles.

One prefix names everything a test creates: the four databases (`<prefix>_raw`, `_dw`, `_etl`, `_secure`)
through ROCKWAY_VAR_* overrides of rockway.toml's variables, the roles (`<prefix>_reader` …) through
ROCKWAY_VAR_ROLE_PREFIX, and rockway's history database `<prefix>_meta` through ROCKWAY_DSN. `drop()`
removes all of it, users included, so a failed test leaves nothing behind.
"""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from tests.support.paths import REPO_ROOT

PROJECT_PARTS = ("rockway.toml", "migrations", "repeatable", "macros", "templates", "reference-data")
TABLES = {
    "raw": {"stg_billing_item"},
    "dw": {"dim_date", "dim_customer", "dim_material", "dim_sales_group", "dim_material_mapper",
           "dim_sales_group_code", "fact_sales", "rls_entitlement"},
    "etl": {"etl_watermark", "etl_job_run", "etl_check_result", "etl_metric_history"},
    "secure": set(),
}
VIEWS = {
    "raw": set(),
    "dw": {"v_customer_current", "v_sales_enriched", "mv_sales_daily", "mv_material_group_monthly"},
    "etl": set(),
    "secure": {"v_sales", "v_sales_daily"},
}
ROLES = ("reader", "analyst", "etl_writer", "admin")


def admin_connection(server_dsn: str, database: str | None = None) -> Any:
    """An autocommit pymysql connection as the test server's admin user."""
    import pymysql

    from rockway.config import parse_dsn

    p = parse_dsn(server_dsn)
    return pymysql.connect(host=p.host, port=p.port, user=p.user, password=p.password or "", database=database,
                           autocommit=True)


def copy_project(target: Path) -> Path:
    """Copy the warehouse project (config, scripts, macros, reference data) of this repository to target."""
    target.mkdir(parents=True, exist_ok=True)
    for part in PROJECT_PARTS:
        src = REPO_ROOT / part
        if src.is_dir():
            shutil.copytree(src, target / part)
        elif src.is_file():
            shutil.copy2(src, target / part)
    return target


def copy_project_with_jobs(target: Path) -> Path:
    """copy_project plus jobs/, cron.d/ and the README: everything the job, verify and docs commands read."""
    root = copy_project(target)
    for part in ("jobs", "cron.d"):
        shutil.copytree(REPO_ROOT / part, root / part)
    shutil.copy2(REPO_ROOT / "README.md", root / "README.md")
    return root


@dataclass
class Warehouse:
    """Names and environment of one throwaway warehouse on the test server."""

    server_dsn: str
    prefix: str = field(default_factory=lambda: f"rww{uuid.uuid4().hex[:8]}")
    extra_roles: list[str] = field(default_factory=list)  # roles a test created (dropped by drop())
    users: list[str] = field(default_factory=list)  # user names a test created, host '%'

    def db(self, part: str) -> str:
        return f"{self.prefix}_{part}"

    def role(self, name: str) -> str:
        return f"{self.prefix}_{name}"

    @property
    def meta_db(self) -> str:
        return self.db("meta")

    @property
    def dsn(self) -> str:
        from rockway.config import parse_dsn

        p = parse_dsn(self.server_dsn)
        auth = p.user + (f":{p.password}" if p.password else "")
        return f"mysql://{auth}@{p.host}:{p.port}/{self.meta_db}"

    def env(self, rls_roles: list[str] | None = None) -> dict[str, str]:
        """ROCKWAY_* variables that point the dev environment at this warehouse."""
        env = {"ROCKWAY_DSN": self.dsn, "ROCKWAY_ENV": "dev", "ROCKWAY_LOCK_TIMEOUT": "30",
               "ROCKWAY_VAR_RAW_DB": self.db("raw"), "ROCKWAY_VAR_DW_DB": self.db("dw"),
               "ROCKWAY_VAR_ETL_DB": self.db("etl"), "ROCKWAY_VAR_SECURE_DB": self.db("secure"),
               "ROCKWAY_VAR_ROLE_PREFIX": f"{self.prefix}_"}
        env["ROCKWAY_VAR_RLS_ROLES"] = ",".join(rls_roles if rls_roles is not None else [self.role("region_at")])
        return env

    def create_meta(self) -> None:
        conn = admin_connection(self.server_dsn)
        try:
            with conn.cursor() as cur:
                cur.execute(f"CREATE DATABASE IF NOT EXISTS `{self.meta_db}`")
        finally:
            conn.close()

    def drop(self) -> None:
        """Drop the databases, roles and users of this warehouse (whatever of them exists)."""
        conn = admin_connection(self.server_dsn)
        try:
            with conn.cursor() as cur:
                for part in ("secure", "etl", "dw", "raw", "meta"):
                    cur.execute(f"DROP DATABASE IF EXISTS `{self.db(part)}`")
                for name in [self.role(r) for r in ROLES] + self.extra_roles:
                    cur.execute(f"DROP ROLE IF EXISTS `{name}`")
                for user in self.users:
                    cur.execute(f"DROP USER IF EXISTS `{user}`@'%'")
        finally:
            conn.close()

    def objects(self, part: str, kind: str) -> set[str]:
        """Names of base tables ('BASE TABLE') or views ('VIEW') in one of the warehouse's databases."""
        conn = admin_connection(self.server_dsn)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s AND table_type = %s",
                            (self.db(part), kind))
                return {r[0] for r in cur.fetchall()}
        finally:
            conn.close()

    def roles(self) -> set[str]:
        conn = admin_connection(self.server_dsn)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT User FROM mysql.user WHERE is_role = 'Y' AND User LIKE %s", (self.prefix + "\\_%",))
                return {r[0] for r in cur.fetchall()}
        finally:
            conn.close()
