"""Job validation against the live target table on MariaDB (the offline checks: tests/unit/test_jobs_spec.py)."""

from __future__ import annotations

from tests.support.cli import Project, run_cli
from tests.support.job_specs import BASE_SPEC, mini_project
from tests.support.text_files import line_of


def test_live_unknown_column_against_the_target_table(project: Project, sql) -> None:  # type: ignore[no-untyped-def]
    db = project.dsn.rsplit("/", 1)[1]
    mini_project(project.root, db)
    sql("CREATE TABLE orders_copy (order_id VARCHAR(10) PRIMARY KEY, amount DECIMAL(18,2))")
    for table in ("etl_watermark", "etl_job_run"):
        sql(f"CREATE TABLE {table} (x INT)")
    spec = project.root / "jobs" / "orders_copy.yaml"
    spec.write_text(BASE_SPEC.replace("  key: [order_id]", "  key: [order_id]\n  columns: [order_id, amount, changed_at]"),
                    encoding="utf-8")
    result = run_cli(project, "job", "validate")
    assert result.code == 2, result.out + result.err
    assert (f"jobs/orders_copy.yaml:{line_of(spec, 'columns: [order_id')}: load.columns[2]: unknown column 'changed_at': "
            f"{db}.orders_copy has no such column (live)") in result.err
    sql("ALTER TABLE orders_copy ADD COLUMN changed_at DATETIME")
    ok = run_cli(project, "job", "validate")
    assert ok.code == 0, ok.err
