"""Drift: the live schema against the record the last successful migration left.

At the end of every successful `migrate up` / `migrate rollback` (migrate/api.py `migrate`) the normalised DDL and
its hash of every managed object (scope.py) is written to `rockway_schema_snapshot`, in the history table's
database, created like the history table (the adapter's `create_table_sql`: on StarRocks a Primary Key table
with the configured replication_num). `detect_drift` compares the live schema with it: objects changed, added
or dropped since, i.e. outside the migrations (an ALTER run by hand).

Each row also holds the object's catalog fingerprint (the engine's `Introspection.fingerprints`: a hash of its
information_schema rows, read for all objects in a few queries). Recording reads the DDL (one SHOW CREATE each) only
of the objects whose fingerprint differs from the recorded one, or that have none, so a release that changes two
tables costs a few catalog queries and two SHOW CREATE whatever the size of the schema (tests/mariadb/test_schema_fingerprint.py).
`detect_drift` reads every DDL: it never relies on the fingerprint.

A run re-records only what it changed (`RunChanges`): the objects its scripts' statements create, alter or drop
(scope.py `ddl_target`), those it created or dropped, and those whose fingerprint moved between just before its first
step and its end. An object changed by hand and left alone by the run keeps its record, so a deploy's `migrate up`
does not hide drift; `rockway drift --accept` records the live schema as it is on purpose. A run of nothing, or the
first record of a database, records every object.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from rockway.adapters.base import Adapter, Column, TableSpec
from rockway.adapters.registry import introspection
from rockway.clock import utcnow
from rockway.errors import DatabaseError, OutcomeUnknown, UsageError
from rockway.schema.live import LiveObject, managed_objects, read_ddl, read_live
from rockway.schema.scope import Scope

SNAPSHOT_TABLE = "rockway_schema_snapshot"
COLUMNS = (
    Column("object_name", "VARCHAR(200)", False),  # db.name
    Column("object_kind", "VARCHAR(20)", False),
    Column("ddl", "TEXT"),
    Column("ddl_hash", "VARCHAR(64)", False),
    Column("run_id", "VARCHAR(64)"),
    Column("recorded_at", "DATETIME", False),
    Column("catalog_hash", "VARCHAR(64)"),  # the catalog fingerprint the DDL was read at (module docstring)
)
COLUMN_NAMES = tuple(c.name for c in COLUMNS)
KEY = ("object_name",)
_BATCH = 50  # names per DELETE
# Rows per INSERT: as many as fit in about a megabyte of DDL (below every server's default packet limit), since each
# statement is a commit (an fsync on MySQL/MariaDB, a load transaction on StarRocks).
_INSERT_ROWS, _INSERT_BYTES = 500, 1_000_000


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
    recorded_at: Any = None
    catalog_hash: str | None = None


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
    recorded_run_id: str  # the run that wrote the record last
    objects: list[ObjectDrift] = field(default_factory=list)
    checked: int = 0
    runs: int = 1  # the runs whose rows the record holds (each object keeps the run that last changed it)

    @property
    def drifted(self) -> bool:
        return bool(self.objects)

    def summary(self) -> str:
        of = f"run {self.recorded_run_id}" + (f" (the latest of {self.runs} that wrote it)" if self.runs > 1 else "")
        if not self.objects:
            return f"no drift: {self.checked} object(s) match the record of {of}"
        parts = [f"{d.status} {d.kind} {d.name}" for d in self.objects]
        return f"schema drift since {of}: " + "; ".join(parts)


@dataclass(frozen=True)
class RunChanges:
    """What a migration run may have changed (module docstring): the managed objects live just before its first
    step, each with its catalog fingerprint (None: not known), and the objects its statements name (`db.name`)."""

    before: Mapping[str, str | None]
    targets: frozenset[str]

    def touched(self, name: str, fingerprint: str | None) -> bool:
        """Whether the run may have changed the live object `name`, whose fingerprint is now `fingerprint`."""
        if name not in self.before or name in self.targets:
            return True  # created by the run, or named by one of its statements
        was = self.before[name]
        return was is not None and fingerprint is not None and was != fingerprint

    def dropped(self, name: str) -> bool:
        """Whether the run may have dropped the recorded object `name`, no longer live."""
        return name in self.before or name in self.targets


def before_run(adapter: Adapter, scope: Scope, targets: frozenset[str]) -> tuple[RunChanges, list[str]] | None:
    """Read just before a run's first step: what it may change (RunChanges, its statements naming `targets`) and
    those targets whose live DDL already differs from their record (changed by hand; one SHOW CREATE each). None
    when no record exists yet: the run's record then takes every object anyway."""
    if not recorded_yet(adapter):
        return None
    reader = introspection(adapter)
    objects = managed_objects(reader, scope)
    prints = reader.fingerprints(objects)
    hashes = _recorded_hashes(adapter, sorted(targets))
    drifted = sorted(item.qualified for item in read_ddl(reader, [obj for obj in objects if obj.qualified in hashes])
                     if item.ddl_hash != hashes[item.qualified])
    return RunChanges({obj.qualified: prints.get(obj.qualified) for obj in objects}, targets), drifted


def _recorded_hashes(adapter: Adapter, names: Sequence[str]) -> dict[str, str]:
    """The recorded DDL hash of those of `names` the record holds (their DDL text is not read)."""
    out: dict[str, str] = {}
    for start in range(0, len(names), _BATCH):
        chunk = names[start:start + _BATCH]
        result = adapter.execute(f"SELECT object_name, ddl_hash FROM {adapter.qualified(SNAPSHOT_TABLE)} WHERE"
                                 f" object_name IN ({', '.join(['%s'] * len(chunk))})", list(chunk))
        out.update((str(name), str(digest)) for name, digest in result.rows)
    return out


def recorded_yet(adapter: Adapter) -> bool:
    """Whether a record exists (the snapshot table holds a row)."""
    if not adapter.table_exists(SNAPSHOT_TABLE):
        return False
    return bool(adapter.execute(f"SELECT 1 FROM {adapter.qualified(SNAPSHOT_TABLE)} LIMIT 1").rows)


def record_snapshot(adapter: Adapter, scope: Scope, run_id: str, *, properties: dict[str, str] | None = None,
                    recorded_at: Any = None, run: RunChanges | None = None) -> int:
    """Write the live schema of the scope as the record; return the number of objects recorded. With `run`, only
    the objects that run may have changed are written (module docstring); the others keep their record."""
    adapter.execute(adapter.create_table_sql(snapshot_spec(), properties=properties))
    record, columns = _read_record(adapter)
    before = {r.name: r for r in record}
    fingerprinted = "catalog_hash" in columns or _add_catalog_column(adapter)
    reader = introspection(adapter)
    objects = managed_objects(reader, scope)
    live = {obj.qualified for obj in objects}
    # Read before the DDL: a change in between leaves a fingerprint that differs next time, never a stale record.
    # With nothing recorded yet (a new database, as in every rehearsal) no DDL could be skipped: the catalog is not
    # read and the next run records the fingerprints.
    prints = reader.fingerprints(objects) if (fingerprinted or run is not None) and before else {}
    gone = [name for name in before if name not in live]
    if run is not None and before:
        objects = [obj for obj in objects if run.touched(obj.qualified, prints.get(obj.qualified))]
        gone = [name for name in gone if run.dropped(name)]
    if not fingerprinted:
        prints = {}
    stale = [obj for obj in objects if obj.qualified not in prints
             or getattr(before.get(obj.qualified), "catalog_hash", None) != prints[obj.qualified]]
    at = recorded_at or utcnow().replace(microsecond=0)
    rows: list[tuple[Any, ...]] = []
    for item in read_ddl(reader, stale):
        was, fingerprint = before.get(item.qualified), prints.get(item.qualified)
        if was is None or was.ddl_hash != item.ddl_hash:
            rows.append((item.qualified, item.kind, item.ddl, item.ddl_hash, run_id, at, fingerprint))
        elif was.catalog_hash != fingerprint:  # the same DDL: the row keeps the run that last changed it
            rows.append((was.name, was.kind, was.ddl, was.ddl_hash, was.run_id or None, was.recorded_at, fingerprint))
    # only what changed is written: a release that touches two tables writes two rows, not the whole schema
    names = COLUMN_NAMES if fingerprinted else COLUMN_NAMES[:-1]
    for chunk in _insert_chunks(rows):
        values = [v for row in chunk for v in row[:len(names)]]
        adapter.execute(adapter.upsert_sql(SNAPSHOT_TABLE, names, KEY, rows=len(chunk)), values)
    for start in range(0, len(gone), _BATCH):
        names_chunk = gone[start:start + _BATCH]
        adapter.execute(f"DELETE FROM {adapter.qualified(SNAPSHOT_TABLE)} WHERE object_name IN"
                        f" ({', '.join(['%s'] * len(names_chunk))})", names_chunk)
    return len(objects)


def _insert_chunks(rows: list[tuple[Any, ...]]) -> list[list[tuple[Any, ...]]]:
    chunks: list[list[tuple[Any, ...]]] = []
    size = 0
    for row in rows:
        if not chunks or len(chunks[-1]) >= _INSERT_ROWS or size + len(row[2]) > _INSERT_BYTES:
            chunks.append([])
            size = 0
        chunks[-1].append(row)
        size += len(row[2])  # the DDL: the rest of a row is a few dozen bytes
    return chunks


def recorded(adapter: Adapter) -> list[Recorded]:
    """The record, sorted by object name ([] when the table does not exist)."""
    if not adapter.table_exists(SNAPSHOT_TABLE):
        return []
    return _read_record(adapter)[0]


def _read_record(adapter: Adapter) -> tuple[list[Recorded], set[str]]:
    """The record and the snapshot table's columns (a table written before the catalog fingerprint lacks it)."""
    result = adapter.execute(f"SELECT * FROM {adapter.qualified(SNAPSHOT_TABLE)} ORDER BY object_name")
    columns = {str(c).lower() for c in result.columns}
    out = []
    for values in result.rows:
        row = {str(c).lower(): v for c, v in zip(result.columns, values)}
        out.append(Recorded(str(row["object_name"]), str(row["object_kind"]), str(row["ddl"] or ""),
                            str(row["ddl_hash"]), str(row["run_id"] or ""), row["recorded_at"],
                            row.get("catalog_hash")))
    return out, columns


def _add_catalog_column(adapter: Adapter) -> bool:
    """Give a snapshot table of an earlier release the fingerprint column; False when the server refuses."""
    try:
        adapter.run_statement(f"ALTER TABLE {adapter.qualified(SNAPSHOT_TABLE)} ADD COLUMN"
                              f" {adapter.quote_ident('catalog_hash')} VARCHAR(64) NULL")
    except OutcomeUnknown:
        raise
    except DatabaseError:
        return False  # every DDL is then read, as before the fingerprint
    return True


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
                         hint="`rockway migrate up` records the schema at its end (also when nothing is pending), "
                              "`rockway drift --accept` records it as it is.")
    live = read_live(adapter, scope)
    latest = max(record, key=lambda r: (str(r.recorded_at or ""), r.run_id))
    runs = len({r.run_id for r in record if r.run_id}) or 1
    return DriftReport(latest.run_id, compare_with_record(live, record), len(live), runs)
