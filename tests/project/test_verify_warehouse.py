"""The warehouse's own checks (jobs/checks/sales.yaml) rendered with rockway.toml and run on the applied
warehouse in MariaDB: valid SQL against the real schema, one scan per table and scope, CRITICAL blocks.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Iterator

import pytest

from rockway.config import load_settings
from rockway.verify import CheckRunner
from tests.support.cli import run_cli
from tests.support.paths import REPO_ROOT
from tests.support.warehouse import Warehouse, admin_connection, copy_project

SCOPE = ("--scope", "window_start=2026-11-25", "--scope", "window_end=2026-11-26")


def test_example_checks_render_with_the_repository_variables() -> None:
    settings = load_settings(REPO_ROOT, env_name="prod", environ={})
    runner = CheckRunner.from_settings(settings)
    plan = runner.compile(runner.entries(pipeline="morning"), {"window_start": "2026-11-25", "window_end": "2026-11-26"})
    names = {c.name for c in plan.checks}
    assert len(names) == len(plan.checks) == 18
    kinds = {c.kind for c in plan.checks}
    assert kinds == {"row_count", "freshness", "null_pct", "duplicates", "reference", "metric", "predicate", "sql"}
    scans = [q for q in plan.queries if q.kind == "aggregate"]
    assert [q.table for q in scans] == ["sales_dw.fact_sales", "sales_dw.dim_customer", "sales_dw.dim_material_mapper"]
    assert "LEFT JOIN (SELECT DISTINCT `customer_id` AS rw_k FROM `sales_dw`.`dim_customer` WHERE is_current = TRUE)" \
        in scans[0].sql
    assert "`sales_etl`.`etl_metric_history`" in plan.queries[-1].sql
    assert any("sales_raw.stg_billing_item" in q.sql for q in plan.queries if q.kind == "scalar")


@pytest.fixture
def warehouse(mariadb_server: str, tmp_path: Path) -> Iterator[tuple[Warehouse, Path]]:
    wh = Warehouse(mariadb_server)
    wh.create_meta()
    project = copy_project(tmp_path / "project")
    shutil.copytree(REPO_ROOT / "jobs", project / "jobs")
    try:
        r = run_cli(project, "migrate", "up", env=wh.env())
        assert r.code == 0, r.err + r.out
        yield wh, project
    finally:
        wh.drop()


def _load(wh: Warehouse) -> Any:
    conn = admin_connection(wh.server_dsn)
    dw, raw = wh.db("dw"), wh.db("raw")

    def run(statement: str, params: tuple[Any, ...] = ()) -> None:
        with conn.cursor() as cur:
            cur.execute(statement.replace("{dw}", dw).replace("{raw}", raw), params or None)

    run("INSERT INTO {dw}.dim_customer (customer_sk, customer_id, customer_name, attr_hash, valid_from, valid_to,"
        " is_current) VALUES (1, 'C1', 'Acme', 'h1', '2025-01-01', '9999-12-31 23:59:59', TRUE),"
        " (2, 'C2', 'Bolt', 'h2', '2025-01-01', '9999-12-31 23:59:59', TRUE),"
        " (3, 'C3', 'Gone', 'h3', '2025-01-01', '2025-06-01 00:00:00', FALSE)")
    run("INSERT INTO {dw}.dim_date VALUES (20261125, '2026-11-25', 2026, 4, 11, 'November', 25, 3, 'Wednesday', 48,"
        " FALSE, 2027, 8)")
    run("INSERT INTO {dw}.dim_material_mapper (material_number, material_description, material_type, material_group,"
        " material_group_name, product_hierarchy, brand, base_unit, is_active, valid_from, updated_at) VALUES"
        " ('M1', 'Nuts 200g', 'FERT', 'SNK-NUTS', 'Nuts', '0002', 'Crunchy', 'CS', TRUE, '2021-12-12',"
        " UTC_TIMESTAMP() - INTERVAL 3 DAY)")
    for item, customer, amount in ((10, "C1", 100), (20, "C1", 20), (10, "C2", 50), (20, "C2", 30)):
        document = f"90000000{item // 10:02d}" if customer == "C1" else f"91000000{item // 10:02d}"
        run("INSERT INTO {dw}.fact_sales (billing_date, billing_document, billing_item, sales_org, distribution_channel,"
            " division, customer_id, customer_sk, material_number, net_amount, is_cancelled, loaded_at)"
            " VALUES ('2026-11-25', %s, %s, '1000', '10', '00', %s, 1, 'M1', %s, FALSE, UTC_TIMESTAMP())",
            (document, item, customer, amount))
        for extracted in ("2026-11-25 22:00:00", "2026-11-26 02:00:00"):  # two extractions of every item
            run("INSERT INTO {raw}.stg_billing_item (extracted_at, vbeln, posnr, fkdat) VALUES (%s, %s, %s, '2026-11-25')",
                (extracted, document, item))
    return run


def test_warehouse_checks_run_on_the_applied_schema(warehouse: tuple[Warehouse, Path]) -> None:
    wh, project = warehouse
    load = _load(wh)
    result = run_cli(project, "verify", "--pipeline", "morning", *SCOPE, "--json", "--run-id", "wh-1", env=wh.env())
    assert result.code == 0, result.err + result.out
    doc = json.loads(result.out)
    status = {r["check_name"]: r["status"] for r in doc["results"]}
    assert "error" not in status.values(), [r for r in doc["results"] if r["status"] == "error"]
    assert status["fact_sales_rows"] == status["fact_sales_customer_known"] == status["fact_sales_unique_items"] == "pass"
    assert status["fact_sales_rows_vs_staging"] == "pass"  # 4 distinct items staged twice
    assert status["fact_sales_daily_rows_anomaly"] == "skipped"  # no history yet
    assert status["dim_customer_one_current_version"] == "pass" and status["dim_material_mapper_rows"] == "pass"
    assert [s["kind"] for s in doc["statements"]].count("aggregate") == 3
    conn = admin_connection(wh.server_dsn, wh.db("etl"))
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT COUNT(*), COUNT(DISTINCT trace_id) FROM etl_check_result WHERE run_id = 'wh-1'")
            assert cur.fetchone() == (18, 1)
            cur.execute("SELECT COUNT(*) FROM etl_metric_history WHERE run_id = 'wh-1' AND metric_scope = 'loaded_window'")
            assert cur.fetchone()[0] == 10
    finally:
        conn.close()

    # a sale to a customer without a current version: the CRITICAL reference check blocks
    load("INSERT INTO {dw}.fact_sales (billing_date, billing_document, billing_item, sales_org, distribution_channel,"
         " division, customer_id, material_number, net_amount, is_cancelled, loaded_at)"
         " VALUES ('2026-11-25', '9200000001', 10, '1000', '10', '00', 'C3', 'M1', 5, FALSE, UTC_TIMESTAMP())")
    blocked = run_cli(project, "verify", "--pipeline", "morning", *SCOPE, "--run-id", "wh-2", env=wh.env())
    assert blocked.code == 1, blocked.err + blocked.out
    assert "worst failed: CRITICAL" in blocked.out
    doc = json.loads(run_cli(project, "verify", "--checks", "jobs/checks/sales.yaml#fact_sales_customer_known", *SCOPE,
                             "--json", "--no-record", env=wh.env()).out)
    (only,) = doc["results"]
    assert (only["status"], only["severity"], only["observed_value"]) == ("fail", "CRITICAL", 1.0)
