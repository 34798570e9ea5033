"""StarRocks' asynchronous materialized views as rockway reads them: probe, list, activate, refresh.

`information_schema.materialized_views` has grown release by release (starrocks-responses.md §3): 22 columns up
to 3.2 (… TABLE_ROWS, MATERIALIZED_VIEW_DEFINITION), EXTRA_MESSAGE and QUERY_REWRITE_STATUS from 3.3, CREATOR
from 3.4, LAST_REFRESH_PROCESS_TIME and LAST_REFRESH_JOB_ID from 4.0 (when ids, times and durations also
changed from VARCHAR to BIGINT/DATETIME/DOUBLE), LAST_REFRESH_TIME after 4.1. So the columns are probed first
and only those that exist are selected; rows are read by column name, never by position. Cells are
normalized: SQL NULL, the literal string 'NULL' and '' become None; bytes are decoded.

Only this module (with the adapter) knows these SQL texts; `rockway.mv` works on the dicts it returns.
"""

from __future__ import annotations

from typing import Any, Sequence

from rockway.adapters.base import Adapter, StatementResult
from rockway.adapters.starrocks.base import StarRocksAdapter
from rockway.adapters.starrocks.sql import quote_ident

__all__ = ["StarRocksMaterializedViews", "materialized_views", "PROBE_SQL", "WANTED_COLUMNS"]

PROBE_SQL = ("SELECT column_name FROM information_schema.columns"
             " WHERE table_schema = 'information_schema' AND table_name = 'materialized_views'")

# What rockway reads, when the server has it (TABLE_SCHEMA, TABLE_NAME and IS_ACTIVE exist in every version).
WANTED_COLUMNS = ("MATERIALIZED_VIEW_ID", "TABLE_SCHEMA", "TABLE_NAME", "REFRESH_TYPE", "IS_ACTIVE",
                  "INACTIVE_REASON", "TASK_NAME", "LAST_REFRESH_START_TIME", "LAST_REFRESH_FINISHED_TIME",
                  "LAST_REFRESH_DURATION", "LAST_REFRESH_STATE", "LAST_REFRESH_ERROR_MESSAGE")
REQUIRED_COLUMNS = ("TABLE_SCHEMA", "TABLE_NAME", "IS_ACTIVE")


def cell(value: Any) -> Any:
    """A catalog cell with SQL NULL, 'NULL' and '' as None and bytes decoded; other values unchanged."""
    if isinstance(value, (bytes, bytearray)):
        value = value.decode("utf-8", "replace")
    if value is None or (isinstance(value, str) and value.strip() in ("", "NULL")):
        return None
    return value


class StarRocksMaterializedViews:
    """The materialized views of one StarRocks connection."""

    def __init__(self, adapter: StarRocksAdapter) -> None:
        self.adapter = adapter
        self._columns: tuple[str, ...] | None = None

    def columns(self) -> tuple[str, ...]:
        """Upper-case column names of information_schema.materialized_views on this server (probed once)."""
        if self._columns is None:
            rows = self.adapter.query(PROBE_SQL)
            self._columns = tuple(str(cell(r[0]) or "").upper() for r in rows if cell(r[0]))
        return self._columns

    def list(self, databases: Sequence[str] = ()) -> list[dict[str, Any]]:
        """One dict per materialized view (keys: upper-case column names), ordered by database and name."""
        present = set(self.columns())
        if present:
            wanted = [c for c in WANTED_COLUMNS if c in present]
            missing = [c for c in REQUIRED_COLUMNS if c not in present]
            if missing:
                raise ValueError("information_schema.materialized_views has no column(s) " + ", ".join(missing))
            select = ", ".join(wanted)
        else:  # a server whose information_schema.columns does not describe itself: read every column
            select = "*"
        sql = f"SELECT {select} FROM information_schema.materialized_views"
        params: tuple[Any, ...] | None = None
        if databases:
            sql += " WHERE TABLE_SCHEMA IN (" + ", ".join(["%s"] * len(databases)) + ")"
            params = tuple(databases)
        sql += " ORDER BY TABLE_SCHEMA, TABLE_NAME"
        result = self.adapter.execute(sql, params)
        names = [c.upper() for c in result.columns]
        return [{k: cell(v) for k, v in zip(names, row)} for row in result.rows]

    def now(self) -> Any:
        """The server's current time, in the session time zone its catalog times are shown in."""
        rows = self.adapter.query("SELECT now()")
        return cell(rows[0][0]) if rows else None

    def last_success(self, task_name: str) -> Any:
        """FINISH_TIME of the newest successful task run of an MV's refresh task (`mv-<id>`), or None."""
        rows = self.adapter.query("SELECT MAX(FINISH_TIME) FROM information_schema.task_runs"
                                  " WHERE TASK_NAME = %s AND STATE = 'SUCCESS'", (task_name,))
        return cell(rows[0][0]) if rows else None

    def activate(self, database: str | None, name: str) -> StatementResult:
        """ALTER MATERIALIZED VIEW db.mv ACTIVE (re-checks the definition against the base tables)."""
        return self.adapter.execute(f"ALTER MATERIALIZED VIEW {self._where(database, name)} ACTIVE")

    def refresh(self, database: str | None, name: str) -> StatementResult:
        """REFRESH MATERIALIZED VIEW db.mv, waited for like a migration statement (wait_for_mv)."""
        return self.adapter.run_statement(f"REFRESH MATERIALIZED VIEW {self._where(database, name)}")

    def _where(self, database: str | None, name: str) -> str:
        return f"{quote_ident(database)}.{quote_ident(name)}" if database else quote_ident(name)


def materialized_views(adapter: Adapter) -> StarRocksMaterializedViews | None:
    """The adapter's materialized views, or None when its engine has none (MySQL/MariaDB): no query is sent."""
    if adapter.capabilities.materialized_views and isinstance(adapter, StarRocksAdapter):
        return StarRocksMaterializedViews(adapter)
    return None
