"""`reference`: rows whose column is missing from a target `db.table.column` (referential integrity)."""

from __future__ import annotations

from typing import Any, Mapping

from rockway.errors import InputError
from rockway.verify.kinds.base import Binder, Body, Kind, Measures, Reference, fmt, number, quote_column
from rockway.verify.model import IDENT_RE, BoundCheck, CheckSpec


class ReferenceKind(Kind):
    name = "reference"
    order = 5
    keys = frozenset({"column", "to", "where", "max", "max_missing", "separate"})

    def parse(self, body: Body) -> dict[str, Any]:
        fields: dict[str, Any] = {"column": body.identifier(body.required("column")), "to": body.text("to")}
        if "where" in body:
            fields["to_where"] = body.text("where")
        if "separate" in body:
            fields["separate"] = body.boolean("separate")
        return fields

    def first_level(self, body: Body, bounds: dict[str, Any]) -> None:
        if "max_missing" in body:
            if "max" in body:
                raise body.fail("use `max` or `max_missing`, not both", body.node("max_missing"))
            bounds["max"] = body.number("max_missing", minimum=0)
        bounds.setdefault("max", 0.0)

    def escalated_level(self, body: Body, bounds: dict[str, Any]) -> None:
        if "max_missing" in body:
            bounds["max"] = body.number("max_missing", minimum=0)

    def bind(self, check: CheckSpec, binder: Binder) -> dict[str, Any]:
        target = binder.text(check.to, "to") or ""
        target_table, _, target_column = target.rpartition(".")
        if not target_table or not IDENT_RE.match(target_column):
            raise InputError(check.file, f"check {check.name!r}: `to: {target}` must be `db.table.column`",
                             line=check.line)
        return {"to_table": binder.table(target_table, "reference table"), "to_column": target_column,
                "to_where": binder.text(check.to_where, "where")}

    def compile(self, check: BoundCheck, measures: Measures) -> None:
        column = check.spec.column or ""
        target: Reference = (column, check.to_table or "", check.to_column or "", check.to_where or "")
        separate = check.spec.separate
        join = measures.join(target, separate=separate)
        measures.aggregate("value", f"COUNT(CASE WHEN rw_t.{quote_column(column)} IS NOT NULL AND {join}.rw_k IS NULL"
                                    " THEN 1 END)", join=join, separate=separate)

    def measure(self, check: BoundCheck, values: Mapping[str, Any]) -> tuple[float | None, str]:
        missing = number(values.get("value")) or 0.0
        return missing, f"{fmt(missing)} rows have a {check.spec.column} missing from {check.to_table}.{check.to_column}"


KIND = ReferenceKind()
