"""`row_count`: the rows in scope, within bounds, equal to a source count (`equals_sql`) or judged as an anomaly."""

from __future__ import annotations

from typing import Any

from rockway.verify.kinds.base import Body, Kind, Measures
from rockway.verify.model import BoundCheck


class RowCount(Kind):
    name = "row_count"
    order = 1
    keys = frozenset({"min", "max", "equals_sql", "tolerance", "tolerance_pct", "anomaly"})
    statement_keys = {"source": "equals_sql"}

    def parse(self, body: Body) -> dict[str, Any]:
        return {"source_sql": body.text("equals_sql")} if "equals_sql" in body else {}

    def compile(self, check: BoundCheck, measures: Measures) -> None:
        if check.source_sql:
            measures.statement("source", check.source_sql)
        measures.aggregate("value", "COUNT(*)")


KIND = RowCount()
