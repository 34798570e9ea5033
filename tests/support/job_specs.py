"""A one-job project (jobs/orders_copy.yaml over an `erp` source) for the job-spec tests."""

from __future__ import annotations

from pathlib import Path

BASE_SPEC = """\
job: orders_copy
kind: fact
source: erp
mode: incremental
extract: orders_copy.sql
columns:
  order_id: VARCHAR(10)
  amount: DECIMAL(18,2)
  changed_at: DATETIME
target: "{{ dw_db }}.orders_copy"
load:
  strategy: upsert
  key: [order_id]
watermark:
  column: changed_at
  type: datetime
  lookback: 1h
"""
BASE_SQL = ("SELECT o.order_id, o.amount, o.updated_at AS changed_at FROM {{ source('erp', 'orders') }} AS o "
            "WHERE {{ window.where('o.updated_at') }}\n")


def mini_project(root: Path, db: str = "rw_mini") -> Path:
    (root / "rockway.toml").write_text(f'[rockway.vars]\ndw_db = "{db}"\netl_db = "{db}"\n', encoding="utf-8")
    jobs = root / "jobs"
    jobs.mkdir(exist_ok=True)
    (jobs / "jobs.toml").write_text('[jobs.sources.erp]\nkind = "catalog"\ncatalog = "erp_jdbc"\ndatabase = "erp"\n',
                                    encoding="utf-8")
    (jobs / "orders_copy.yaml").write_text(BASE_SPEC, encoding="utf-8")
    (jobs / "orders_copy.sql").write_text(BASE_SQL, encoding="utf-8")
    return root
