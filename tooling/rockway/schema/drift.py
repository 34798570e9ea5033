"""Drift: the live schema against the record the last successful migration left.

At the end of every successful `migrate up` / `migrate rollback` (commands.py `migrate`) the normalised DDL and
its hash of every managed object (scope.py) is written to `rockway_schema_snapshot`, in the history table's
database, created like the history table (the adapter's `create_table_sql`: on StarRocks a Primary Key table
with the configured replication_num). `detect_drift` compares the live schema with it: objects changed, added
or dropped since, i.e. outside the migrations (an ALTER run by hand).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any, Sequence

from rockway.adapters.base import Adapter, Column, TableSpec
from rockway.errors import UsageError
from rockway.schema.live import LiveObject, read_live
from rockway.schema.scope import Scope

SNAPSHOT_TABLE = "rockway_schema_snapshot"
COLUMNS = (
    Column("object_name", "VARCHAR(200)", False),  # db.name
    Column("object_kind", "VARCHAR(20)", False),
    Column("ddl", "TEXT"),
    Column("ddl_hash", "VARCHAR(64)", False),
    Column("run_id", "VARCHAR(64)"),
    Column("recorded_at", "DATETIME", False),
)
COLUMN_NAMES = tuple(c.name for c in COLUMNS)
KEY = ("object_name",)
_BATCH = 50


def snapshot_spec() -> TableSpec:
    return TableSpec(SNAPSHOT_TABLE, COLUMNS, KEY,
                     comment="rockway schema snapshot: normalised DDL of each managed object after the last migration")


@dataclass(frozen=True)
class Recorded:
    """An object as the snapshot table holds it."""

    name: str
    kind: str
    ddl: str
    ddl_hash: str
    run_id: str


@dataclass(frozen=True)
class ObjectDrift:
    """One object that differs from the record: changed, added (not recorded) or dropped (recorded, gone)."""

    name: str
    kind: str
    status: str
    diff: str

    def as_json(self) -> dict[str, str]:
        return {"object": self.name, "kind": self.kind, "status": self.status, "diff": self.diff}


@dataclass
class DriftReport:
    recorded_run_id: str
    objects: list[ObjectDrift] = field(default_factory=list)
    checked: int = 0

    @property
    def drifted(self) -> bool:
        return bool(self.objects)

    def summary(self) -> str:
        if not self.objects:
            return f"no drift: {self.checked} object(s) match the record of run {self.recorded_run_id}"
        parts = [f"{d.status} {d.kind} {d.name}" for d in self.objects]
        return f"schema drift since run {self.recorded_run_id}: " + "; ".join(parts)


def record_snapshot(adapter: Adapter, scope: Scope, run_id: str, *, properties: dict[str, str] | None = None,
                    recorded_at: Any = None) -> int:
    """Write the live schema of the scope as the record; return the number of objects recorded."""
    from rockway.migrate.history import now_utc

    adapter.execute(adapter.create_table_sql(snapshot_spec(), properties=properties))
    live = read_live(adapter, scope)
    at = recorded_at or now_utc().replace(microsecond=0)
    before = {r.name: r.ddl_hash for r in recorded(adapter)}
    # only what changed is written: a release that touches two tables writes two rows, not the whole schema
    changed = [item for item in live if before.get(item.qualified) != item.ddl_hash]
    for start in range(0, len(changed), _BATCH):
        chunk = changed[start:start + _BATCH]
        values = [v for item in chunk for v in (item.qualified, item.kind, item.ddl, item.ddl_hash, run_id, at)]
        adapter.execute(adapter.upsert_sql(SNAPSHOT_TABLE, COLUMN_NAMES, KEY, rows=len(chunk)), values)
    names = {item.qualified for item in live}
    gone = [name for name in before if name not in names]
    for start in range(0, len(gone), _BATCH):
        chunk = gone[start:start + _BATCH]
        adapter.execute(f"DELETE FROM {adapter.qualified(SNAPSHOT_TABLE)} WHERE object_name IN"
                        f" ({', '.join(['%s'] * len(chunk))})", chunk)
    return len(live)


def recorded(adapter: Adapter) -> list[Recorded]:
    """The record, sorted by object name ([] when the table does not exist)."""
    if not adapter.table_exists(SNAPSHOT_TABLE):
        return []
    cols = ", ".join(adapter.quote_ident(c) for c in ("object_name", "object_kind", "ddl", "ddl_hash", "run_id"))
    rows = adapter.query(f"SELECT {cols} FROM {adapter.qualified(SNAPSHOT_TABLE)} ORDER BY object_name")
    return [Recorded(str(r[0]), str(r[1]), str(r[2] or ""), str(r[3]), str(r[4] or "")) for r in rows]


def _diff(name: str, before: str, after: str) -> str:
    lines = difflib.unified_diff((before + "\n").splitlines(keepends=True) if before else [],
                                 (after + "\n").splitlines(keepends=True) if after else [],
                                 fromfile=f"recorded/{name}", tofile=f"live/{name}")
    return "".join(lines)


def compare_with_record(live: Sequence[LiveObject], record: Sequence[Recorded]) -> list[ObjectDrift]:
    """Changed, added and dropped objects, sorted by name."""
    by_name = {r.name: r for r in record}
    out = []
    for item in live:
        was = by_name.pop(item.qualified, None)
        if was is None:
            out.append(ObjectDrift(item.qualified, item.kind, "added", _diff(item.qualified, "", item.ddl)))
        elif was.ddl_hash != item.ddl_hash:
            out.append(ObjectDrift(item.qualified, item.kind, "changed", _diff(item.qualified, was.ddl, item.ddl)))
    out += [ObjectDrift(r.name, r.kind, "dropped", _diff(r.name, r.ddl, "")) for r in by_name.values()]
    return sorted(out, key=lambda d: d.name)


def detect_drift(adapter: Adapter, scope: Scope) -> DriftReport:
    """The live schema against the record; UsageError (exit 2) when nothing was recorded yet."""
    record = recorded(adapter)
    if not record:
        raise UsageError(f"no schema record in {adapter.qualified(SNAPSHOT_TABLE)}: drift cannot be judged",
                         hint="`rockway migrate up` records the schema at its end (also when nothing is pending).")
    live = read_live(adapter, scope)
    runs = sorted({r.run_id for r in record if r.run_id})
    return DriftReport(runs[-1] if len(runs) == 1 else ", ".join(runs), compare_with_record(live, record), len(live))
