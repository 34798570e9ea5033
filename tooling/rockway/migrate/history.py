"""The schema history table: Flyway's columns plus the statement journal, over an Adapter."""

from __future__ import annotations

import json
from dataclasses import fields, replace
from datetime import datetime
from typing import Any, Callable

from rockway.adapters.base import Adapter, Column, TableSpec
from rockway.clock import utcnow
from rockway.config import Settings
from rockway.errors import ConfigError
from rockway.model import AppliedRow, RowStatus, RowType, Version

COLUMNS: tuple[Column, ...] = (
    Column("installed_rank", "INT", False),
    Column("version", "VARCHAR(50)"),
    Column("description", "VARCHAR(200)", False),
    Column("type", "VARCHAR(20)", False),
    Column("script", "VARCHAR(1000)", False),
    Column("checksum", "VARCHAR(64)"),
    Column("installed_by", "VARCHAR(100)", False),
    Column("installed_on", "DATETIME", False),
    Column("execution_time", "INT", False),
    Column("success", "BOOLEAN", False),
    Column("status", "VARCHAR(20)", False),
    Column("statements_total", "INT"),
    Column("statements_applied", "INT"),
    Column("statement_hashes", "TEXT"),
    Column("pending_statement", "INT"),
    Column("error", "TEXT"),
    Column("error_statement", "INT"),
    Column("statement_sql", "VARCHAR(1000)"),
    Column("async_jobs", "TEXT"),
    Column("run_id", "VARCHAR(64)"),
    Column("trace_id", "VARCHAR(32)"),
    Column("git_sha", "VARCHAR(64)"),
    Column("host", "VARCHAR(255)"),
    Column("tool_version", "VARCHAR(32)"),
)
COLUMN_NAMES = tuple(c.name for c in COLUMNS)
KEY = ("installed_rank",)

SqlSink = Callable[[str], None]


def table_properties(settings: Settings) -> dict[str, str]:
    """Properties of the tables rockway keeps for itself (history, run lock, schema snapshot)."""
    return {"replication_num": str(settings.replication_num)} if settings.replication_num else {}


def history_spec(table: str) -> TableSpec:
    """The history table's portable definition."""
    return TableSpec(table, COLUMNS, KEY, comment="rockway schema history: one row per applied, undone or baselined script")


def _json_list(items: tuple[str, ...]) -> str:
    """items as a JSON array, as `json.dumps(list(items))` writes it; an empty one (most rows' async_jobs, a new
    row's statement_hashes) without the encoder, two thirds of the calls per one-statement migration."""
    return json.dumps(list(items)) if items else "[]"


def _row_values(row: AppliedRow) -> list[Any]:
    on = row.installed_on or utcnow()
    return [
        row.installed_rank, str(row.version) if row.version is not None else None, row.description[:200], row.type.value,
        row.script[-1000:], row.checksum, row.installed_by[:100], on.replace(microsecond=0), int(row.execution_time),
        bool(row.success), row.status.value, row.statements_total, row.statements_applied,
        _json_list(row.statement_hashes), row.pending_statement, row.error, row.error_statement,
        (row.statement_sql or None) and row.statement_sql[:1000],
        _json_list(row.async_jobs), row.run_id, row.trace_id, row.git_sha, row.host, row.tool_version,
    ]


def _load_list(value: Any) -> tuple[str, ...]:
    if not value:
        return ()
    try:
        data = json.loads(value)
    except (TypeError, ValueError):
        return ()
    return tuple(str(x) for x in data) if isinstance(data, list) else ()


def row_from_db(values: dict[str, Any]) -> AppliedRow:
    """Build an AppliedRow from a history table row (column names lower-cased)."""
    version = values.get("version")
    status = values.get("status") or (RowStatus.SUCCESS.value if values.get("success") else RowStatus.FAILED.value)
    on = values.get("installed_on")
    if isinstance(on, str):
        on = datetime.fromisoformat(on)
    return AppliedRow(
        installed_rank=int(values["installed_rank"]),
        version=Version.parse(str(version)) if version not in (None, "") else None,
        description=str(values.get("description") or ""),
        type=RowType(str(values.get("type") or "SQL")),
        script=str(values.get("script") or ""),
        checksum=values.get("checksum"),
        installed_by=str(values.get("installed_by") or ""),
        installed_on=on,
        execution_time=int(values.get("execution_time") or 0),
        success=bool(values.get("success")),
        status=RowStatus(status),
        statements_total=int(values.get("statements_total") or 0),
        statements_applied=int(values.get("statements_applied") or 0),
        statement_hashes=_load_list(values.get("statement_hashes")),
        pending_statement=values.get("pending_statement"),
        error=values.get("error"),
        error_statement=values.get("error_statement"),
        statement_sql=values.get("statement_sql"),
        async_jobs=_load_list(values.get("async_jobs")),
        run_id=values.get("run_id"),
        trace_id=values.get("trace_id"),
        git_sha=values.get("git_sha"),
        host=values.get("host"),
        tool_version=values.get("tool_version"),
    )


class HistoryStore:
    """Reads and writes the history table; in dry-run mode writes go to `sink` as SQL text instead."""

    def __init__(self, adapter: Adapter, table: str, *, properties: dict[str, str] | None = None,
                 sink: SqlSink | None = None) -> None:
        self.adapter = adapter
        self.table = table
        self.properties = properties or {}
        self.sink = sink
        self._exists: bool | None = None
        self._upserts = {1: adapter.upsert_sql(table, COLUMN_NAMES, KEY)}  # by row count: the same text every write

    @property
    def dry_run(self) -> bool:
        return self.sink is not None

    def exists(self) -> bool:
        if self._exists is None:
            self._exists = self.adapter.table_exists(self.table)
        return self._exists

    def ensure(self) -> None:
        """Create the table if it does not exist (in dry-run: show the DDL)."""
        if self.exists():
            missing = [c for c in COLUMN_NAMES if c not in self.adapter.table_columns(self.table)]
            if missing:
                raise ConfigError(f"table {self.table!r} exists but lacks rockway history columns: {', '.join(missing)}",
                                  hint="Use another history_table, or migrate it (it may be a Flyway table).")
            return
        ddl = self.adapter.create_table_sql(history_spec(self.table), properties=self.properties)
        if self.sink is not None:
            self.sink(ddl)
            return
        self.adapter.execute(ddl)
        self._exists = True

    def rows(self) -> list[AppliedRow]:
        """All rows ordered by installed_rank (empty if the table does not exist yet)."""
        if not self.exists():
            return []
        cols = ", ".join(self.adapter.quote_ident(c) for c in COLUMN_NAMES)
        result = self.adapter.execute(f"SELECT {cols} FROM {self.adapter.qualified(self.table)} ORDER BY installed_rank")
        return [row_from_db(dict(zip(COLUMN_NAMES, r))) for r in result.rows]

    def next_rank(self, rows: list[AppliedRow] | None = None) -> int:
        rows = self.rows() if rows is None else rows
        return max((r.installed_rank for r in rows), default=0) + 1

    def write(self, row: AppliedRow, *more: AppliedRow) -> None:
        """Insert or replace rows by installed_rank, all in one statement (one round trip, applied together)."""
        rows = (row, *more)
        sql = self._upserts.get(len(rows))
        if sql is None:
            sql = self._upserts[len(rows)] = self.adapter.upsert_sql(self.table, COLUMN_NAMES, KEY, rows=len(rows))
        values = [v for r in rows for v in _row_values(r)]
        if self.sink is not None:
            self.sink(self.adapter.literal_sql(sql, values))
            return
        self.adapter.execute(sql, values)

    def delete(self, rank: int) -> None:
        sql = f"DELETE FROM {self.adapter.qualified(self.table)} WHERE installed_rank = %s"
        if self.sink is not None:
            self.sink(self.adapter.literal_sql(sql, [rank]))
            return
        self.adapter.execute(sql, [rank])

    def drop(self) -> None:
        self.adapter.execute(f"DROP TABLE IF EXISTS {self.adapter.qualified(self.table)}")
        self._exists = False


_ROW_FIELDS = frozenset(f.name for f in fields(AppliedRow))


def evolve(row: AppliedRow, **changes: Any) -> AppliedRow:
    """A copy of row with changes (validated field names)."""
    if not _ROW_FIELDS.issuperset(changes):
        raise TypeError(f"unknown AppliedRow fields: {changes.keys() - _ROW_FIELDS}")
    return replace(row, **changes)
