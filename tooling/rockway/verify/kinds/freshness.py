"""`freshness`: the age of the newest row (database now minus MAX(column)) at most `max_age`."""

from __future__ import annotations

import math
from typing import Any, Mapping

from rockway.observability import metrics
from rockway.verify.kinds.base import Body, Kind, Measures, as_datetime, quote_column
from rockway.verify.model import BoundCheck


class Freshness(Kind):
    name = "freshness"
    order = 2
    keys = frozenset({"column", "max_age", "now"})
    unit = " s"

    def parse(self, body: Body) -> dict[str, Any]:
        fields: dict[str, Any] = {"column": body.identifier(body.required("column"))}
        body.duration("max_age")  # checked before any bound, so a bad duration is the error reported
        if "now" in body:
            fields["now"] = body.text("now")
        return fields

    def first_level(self, body: Body, bounds: dict[str, Any]) -> None:
        bounds["max"] = body.duration("max_age")

    def escalated_level(self, body: Body, bounds: dict[str, Any]) -> None:
        if "max_age" in body:
            bounds["max"] = body.duration("max_age")

    def compile(self, check: BoundCheck, measures: Measures) -> None:
        measures.aggregate("max", f"MAX({quote_column(check.spec.column or '')})")
        measures.aggregate("now", check.now)

    def measure(self, check: BoundCheck, values: Mapping[str, Any]) -> tuple[float | None, str]:
        newest, now = as_datetime(values.get("max")), as_datetime(values.get("now"))
        if newest is None:
            return None, f"no rows: MAX({check.spec.column}) is NULL"
        if now is None:
            return None, f"{check.now} returned NULL"
        return ((now - newest).total_seconds(),
                f"newest {check.spec.column} {newest.isoformat(sep=' ')}, database now {now.isoformat(sep=' ')}")

    def observe(self, table: str, value: float | None) -> None:
        if value is not None and math.isfinite(value):
            metrics.record_freshness(table, value)  # the newest row's age, in seconds


KIND = Freshness()
