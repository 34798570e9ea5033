"""`metric`: any aggregate SQL expression over the table scope (`SUM(net_amount)`), bounded or as an anomaly."""

from __future__ import annotations

from typing import Any

from rockway.verify.kinds.base import Body, Kind, Measures
from rockway.verify.model import BoundCheck


class Metric(Kind):
    name = "metric"
    order = 6
    keys = frozenset({"expr", "min", "max", "anomaly"})
    needs_name = True
    expr_key = "expr"

    def parse(self, body: Body) -> dict[str, Any]:
        return {"expr": body.text("expr")}

    def compile(self, check: BoundCheck, measures: Measures) -> None:
        measures.aggregate("value", check.expr or "")


KIND = Metric()
