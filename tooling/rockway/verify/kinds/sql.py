"""`sql`: a custom query whose first column is the value; it runs as a statement of its own."""

from __future__ import annotations

from typing import Any

from rockway.verify.kinds.base import Body, Kind, Measures
from rockway.verify.model import BoundCheck


class CustomSql(Kind):
    name = "sql"
    order = 8
    keys = frozenset({"query", "min", "max", "anomaly"})
    needs_name = True
    expr_key = "query"
    statement_keys = {"value": "query"}

    def parse(self, body: Body) -> dict[str, Any]:
        return {"expr": body.text("query")}

    def compile(self, check: BoundCheck, measures: Measures) -> None:
        measures.statement("value", check.expr or "")


KIND = CustomSql()
