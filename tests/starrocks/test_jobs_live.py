"""The sales warehouse's jobs on a real StarRocks (allin1 container; conftest.py): labelled appends, per-day
partition overwrites, Primary Key upserts and SCD2, MV refresh WITH SYNC MODE, the label ledger.

The ERP lives in a database of the same StarRocks and is read as `default_catalog`.`<db>`.`<table>`, the form a
JDBC catalog takes in production (`erp_jdbc`.`erp`.`orders`); the backup step is left out (no repository in
the container)."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.support.docker import require_docker  # noqa: E402

require_docker()

import pymysql  # noqa: E402

from tests.support.cli import run_cli  # noqa: E402
from tests.support.paths import REPO_ROOT  # noqa: E402
from tests.support.warehouse import copy_project  # noqa: E402

pytestmark = pytest.mark.starrocks

ERP_DDL = [
    "CREATE TABLE {db}.orders (order_id VARCHAR(10) NOT NULL, order_type VARCHAR(4), billing_date DATE, cancelled "
    "VARCHAR(1), sales_org VARCHAR(4), distribution_channel VARCHAR(2), division VARCHAR(2), sales_group VARCHAR(3), "
    "customer_id VARCHAR(10), currency VARCHAR(5), updated_at DATETIME) PRIMARY KEY (order_id) "
    "DISTRIBUTED BY HASH (order_id) PROPERTIES (\"replication_num\" = \"1\")",
    "CREATE TABLE {db}.order_items (order_id VARCHAR(10) NOT NULL, item_no INT NOT NULL, material_id VARCHAR(18), "
    "quantity DECIMAL(18,3), unit VARCHAR(3), net_amount DECIMAL(18,2), tax_amount DECIMAL(18,2), updated_at DATETIME) "
    "PRIMARY KEY (order_id, item_no) DISTRIBUTED BY HASH (order_id) PROPERTIES (\"replication_num\" = \"1\")",
    "CREATE TABLE {db}.customers (customer_id VARCHAR(10) NOT NULL, name VARCHAR(160), customer_group VARCHAR(2), "
    "industry VARCHAR(4), country VARCHAR(3), city VARCHAR(160), postal_code VARCHAR(10), updated_at DATETIME) "
    "PRIMARY KEY (customer_id) DISTRIBUTED BY HASH (customer_id) PROPERTIES (\"replication_num\" = \"1\")",
    "CREATE TABLE {db}.materials (material_id VARCHAR(18) NOT NULL, description VARCHAR(120), material_type VARCHAR(4), "
    "material_group VARCHAR(9), product_hierarchy VARCHAR(18), base_unit VARCHAR(3), updated_at DATETIME) "
    "PRIMARY KEY (material_id) DISTRIBUTED BY HASH (material_id) PROPERTIES (\"replication_num\" = \"1\")",
]


class LiveJobs:
    def __init__(self, server: Any, dsn: str, project: Path) -> None:
        self.server, self.dsn, self.project = server, dsn, project
        self.prefix = f"rwj{uuid.uuid4().hex[:6]}"
        shutil.copytree(REPO_ROOT / "jobs", project / "jobs")
        pipelines = project / "jobs" / "pipelines.yaml"
        pipelines.write_text(pipelines.read_text().replace("      - backup: {retain: 7}", ""))
        (project / "jobs" / "jobs.toml").write_text(f"""
[jobs]
concurrency = 2
retry_attempts = 3
retry_initial_delay = 1.0
settle = "0s"
business_time_zone = "UTC"
verifier = "tests.support.jobs_verifier:make_verifier"
[jobs.sources.erp]
kind = "catalog"
catalog = "default_catalog"
database = "{self.db('erp')}"
""")

    def db(self, part: str) -> str:
        return f"{self.prefix}_{part}"

    def env(self) -> dict[str, str]:
        return {"ROCKWAY_ENV": "prod", "ROCKWAY_DSN": self.dsn, "ROCKWAY_REPLICATION_NUM": "1",
                "ROCKWAY_VAR_REPLICATION_NUM": "1", "ROCKWAY_VAR_STARROCKS_VERSION": self.server.version,
                "ROCKWAY_VAR_RAW_DB": self.db("raw"), "ROCKWAY_VAR_DW_DB": self.db("dw"),
                "ROCKWAY_VAR_ETL_DB": self.db("etl"), "ROCKWAY_VAR_SECURE_DB": self.db("secure"),
                "ROCKWAY_VAR_ROLE_PREFIX": f"{self.prefix}_", "ROCKWAY_VAR_RLS_ROLES": f"{self.prefix}_region_at",
                "ROCKWAY_HISTORY_TABLE": f"{self.prefix}_history", "ROCKWAY_ASYNC_TIMEOUT": "600",
                "ROCKWAY_POLL_INTERVAL": "1", "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")])}

    def cli(self, *args: str) -> Any:
        return run_cli(self.project, *args, env=self.env(), timeout=900)

    def sql(self, statement: str, params: Any = None) -> list[tuple]:
        conn = pymysql.connect(host=self.server.host, port=self.server.port, user="root", password="", autocommit=True)
        try:
            with conn.cursor() as cur:
                cur.execute(statement, params)
                return list(cur.fetchall()) if cur.description else []
        finally:
            conn.close()

    def cleanup(self) -> None:
        for part in ("secure", "etl", "dw", "raw", "erp"):
            self.sql(f"DROP DATABASE IF EXISTS `{self.db(part)}` FORCE")
        for role in ("reader", "analyst", "etl_writer", "admin", "region_at"):
            self.sql(f"DROP ROLE IF EXISTS `{self.prefix}_{role}`")


@pytest.fixture
def live(starrocks_server: Any, starrocks_dsn: str, tmp_path: Path) -> Iterator[LiveJobs]:
    lv = LiveJobs(starrocks_server, starrocks_dsn, copy_project(tmp_path / "project"))
    try:
        yield lv
    finally:
        lv.cleanup()


def _ok(result: Any, what: str) -> None:
    assert result.code == 0, f"{what}: {result.code}\n{result.out}\n{result.err}"


def test_jobs_load_history_and_days_on_starrocks(live: LiveJobs) -> None:
    _ok(live.cli("migrate", "up"), "migrate up")
    erp = live.db("erp")
    live.sql(f"CREATE DATABASE {erp}")
    for ddl in ERP_DDL:
        live.sql(ddl.format(db=erp))
    live.sql(f"INSERT INTO {erp}.customers VALUES " + ", ".join(
        f"('C{i:05d}', 'Customer {i}', 'G1', 'RETL', 'AT', 'City {i}', '{1000 + i}', '2026-01-05 08:00:00')"
        for i in range(1, 6)))
    live.sql(f"INSERT INTO {erp}.materials VALUES ('M1', 'Material 1', 'FERT', 'MG1', 'PH1', 'EA', '2026-01-05 08:00:00')")
    rows, items = [], []
    for n in range(1, 31):
        day = date(2026, 3, 1) + timedelta(days=n % 9)
        rows.append(f"('{n:010d}', 'F2', '{day}', NULL, '1000', '10', '00', '101', 'C{1 + n % 5:05d}', 'EUR', "
                    f"'2026-03-0{1 + n % 9} 09:00:00')")
        items.append(f"('{n:010d}', 10, 'M1', 2, 'EA', {n}.50, 1.00, '2026-03-0{1 + n % 9} 09:00:00')")
    live.sql(f"INSERT INTO {erp}.orders VALUES " + ", ".join(rows))
    live.sql(f"INSERT INTO {erp}.order_items VALUES " + ", ".join(items))

    for job, first in (("dim_customer", "2026-01-01"), ("dim_material", "2026-01-01"),
                       ("stg_billing_item", "2026-01-01"), ("fact_sales", "2026-03-01")):
        _ok(live.cli("job", "backfill", job, "--from", first, "--to", "2026-03-09"), f"backfill {job}")
    dw, raw = live.db("dw"), live.db("raw")
    assert live.sql(f"SELECT COUNT(*) FROM {dw}.fact_sales")[0][0] == 30
    # every append and overwrite carried a rockway label, and the ledger shows them FINISHED
    labels = live.sql("SELECT LABEL, STATE FROM information_schema.loads WHERE LABEL LIKE 'rw_%%' AND DB_NAME IN (%s, %s)",
                      (dw, raw))
    assert labels and {s for _, s in labels} == {"FINISHED"}
    assert any(lbl.startswith("rw_stg_billing_item_") for lbl, _ in labels)

    # a customer changes, an item changes: evening (dims) then morning (staging, facts, MV refresh, checks)
    live.sql(f"UPDATE {erp}.customers SET city = 'Graz', updated_at = '2026-03-10 09:00:00' WHERE customer_id = 'C00002'")
    live.sql(f"UPDATE {erp}.order_items SET net_amount = 999.99, updated_at = '2026-03-10 10:00:00' "
             "WHERE order_id = '0000000009'")
    _ok(live.cli("run", "evening", "--as-of", "2026-03-10T20:00:00Z"), "evening")
    morning = live.cli("run", "morning", "--as-of", "2026-03-11T06:00:00Z", "--json")
    _ok(morning, "morning")
    steps = {s["kind"]: s for s in json.loads(morning.out)["steps"]}
    assert "refreshed" in steps["refresh"]["detail"]
    assert live.sql(f"SELECT net_amount FROM {dw}.fact_sales WHERE billing_document = '0000000009'")[0][0] == \
        pytest.approx(999.99)
    history = live.sql(f"SELECT city, is_current FROM {dw}.dim_customer WHERE customer_id = 'C00002' ORDER BY valid_from")
    assert [(c, bool(cur)) for c, cur in history] == [("City 2", False), ("Graz", True)]
    # the same morning again: no duplicates (PK facts, ledger-skipped append)
    _ok(live.cli("run", "morning", "--as-of", "2026-03-11T06:00:00Z"), "morning again")
    assert live.sql(f"SELECT COUNT(*) FROM {dw}.fact_sales")[0][0] == 30
    assert live.sql(f"SELECT COUNT(*) FROM (SELECT vbeln, posnr, changed_at FROM {raw}.stg_billing_item "
                    "GROUP BY vbeln, posnr, changed_at HAVING COUNT(*) > 1) d")[0][0] == 0
    assert datetime.fromisoformat(live.sql(f"SELECT watermark_value FROM {live.db('etl')}.etl_watermark "
                                           "WHERE job_name = 'stg_billing_item'")[0][0]) == datetime(2026, 3, 11, 6)
