"""`null_pct`: the percentage of rows in scope whose column is NULL."""

from __future__ import annotations

from typing import Any, Mapping

from rockway.verify.kinds.base import Body, Kind, Measures, fmt, number, quote_column
from rockway.verify.model import BoundCheck


class NullPct(Kind):
    name = "null_pct"
    order = 3
    keys = frozenset({"column", "min", "max"})
    unit = "%"

    def parse(self, body: Body) -> dict[str, Any]:
        return {"column": body.identifier(body.required("column"))}

    def compile(self, check: BoundCheck, measures: Measures) -> None:
        measures.aggregate("nonnull", f"COUNT({quote_column(check.spec.column or '')})")
        measures.aggregate("rows", "COUNT(*)")

    def measure(self, check: BoundCheck, values: Mapping[str, Any]) -> tuple[float | None, str]:
        rows = number(values.get("rows")) or 0.0
        nulls = rows - (number(values.get("nonnull")) or 0.0)
        if rows == 0:
            return 0.0, "no rows in scope"
        return nulls / rows * 100.0, f"{fmt(nulls)} of {fmt(rows)} rows NULL"


KIND = NullPct()
