"""`predicate`: rows in scope that match a condition, at most `max` (default 0) or at least `min`."""

from __future__ import annotations

from typing import Any, Mapping

from rockway.verify.kinds.base import Body, Kind, Measures, fmt, number
from rockway.verify.model import BoundCheck


class Predicate(Kind):
    name = "predicate"
    order = 7
    keys = frozenset({"where", "min", "max"})
    needs_name = True
    expr_key = "where"

    def parse(self, body: Body) -> dict[str, Any]:
        return {"expr": body.text("where")}

    def first_level(self, body: Body, bounds: dict[str, Any]) -> None:
        if "min" not in bounds and "max" not in bounds:
            bounds["max"] = 0.0

    def compile(self, check: BoundCheck, measures: Measures) -> None:
        measures.aggregate("value", f"COUNT(CASE WHEN ({check.expr}) THEN 1 END)")

    def measure(self, check: BoundCheck, values: Mapping[str, Any]) -> tuple[float | None, str]:
        matched = number(values.get("value")) or 0.0
        return matched, f"{fmt(matched)} rows match {check.expr}"


KIND = Predicate()
