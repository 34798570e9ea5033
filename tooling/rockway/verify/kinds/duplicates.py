"""`duplicates`: rows that repeat a key (one column or several), at most `max` (default 0)."""

from __future__ import annotations

from typing import Any, Mapping

from yaml.nodes import ScalarNode

from rockway.verify.kinds.base import Body, Kind, Measures, fmt, number, quote_column
from rockway.verify.model import BoundCheck


class Duplicates(Kind):
    name = "duplicates"
    order = 4
    keys = frozenset({"column", "columns", "max"})

    def parse(self, body: Body) -> dict[str, Any]:
        if ("column" in body) == ("columns" in body):
            raise body.fail("duplicates needs `columns:` (a list) or `column:`")
        if "column" in body:
            return {"columns": (body.identifier(body.node("column")),)}
        node = body.node("columns")
        items = [node] if isinstance(node, ScalarNode) else body.reader.sequence(node, "columns")
        columns = tuple(body.identifier(n) for n in items)
        if not columns:
            raise body.fail("columns must not be empty", node)
        return {"columns": columns}

    def first_level(self, body: Body, bounds: dict[str, Any]) -> None:
        bounds.setdefault("max", 0.0)

    def compile(self, check: BoundCheck, measures: Measures) -> None:
        # COUNT(col) and COUNT(CASE WHEN … THEN 1 END) rather than SUM(CASE … ELSE 0 END): the same result on
        # every engine, an integer counter instead of a DECIMAL sum, and 0 (not NULL) on no rows
        cols = [quote_column(c) for c in check.spec.columns]
        if len(cols) == 1:
            measures.aggregate("nonnull", f"COUNT({cols[0]})")
            measures.aggregate("distinct", f"COUNT(DISTINCT {cols[0]})")
            return
        all_set = " AND ".join(f"{c} IS NOT NULL" for c in cols)
        measures.aggregate("nonnull", f"COUNT(CASE WHEN {all_set} THEN 1 END)")
        measures.aggregate("distinct", f"COUNT(DISTINCT {', '.join(cols)})")

    def measure(self, check: BoundCheck, values: Mapping[str, Any]) -> tuple[float | None, str]:
        nonnull, distinct = number(values.get("nonnull")) or 0.0, number(values.get("distinct")) or 0.0
        return nonnull - distinct, f"{fmt(nonnull - distinct)} rows repeat a key ({fmt(distinct)} distinct keys)"


KIND = Duplicates()
