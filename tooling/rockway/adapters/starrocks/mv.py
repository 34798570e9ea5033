"""StarRocks' asynchronous materialized views: the statements that deploy one, and the catalog rockway reads.

Deployment (`deploy_statements`, behind the template global `mv.materialized_view`, rockway/macros/mv.py).
StarRocks cannot change an MV's query (ALTER MATERIALIZED VIEW has no AS …), so a repeatable script that owns an
MV renders, every time it runs:

    1. CREATE MATERIALIZED VIEW IF NOT EXISTS mv … REFRESH DEFERRED MANUAL AS <query>
         first deployment only: a placeholder with the same shape that is never refreshed; a no-op later
    2. DROP MATERIALIZED VIEW IF EXISTS mv__new          leftovers of an interrupted run
    3. CREATE MATERIALIZED VIEW mv__new … REFRESH <scheme> AS <query>
         the new definition; refresh moment IMMEDIATE, so rockway waits for its first refresh (wait_for_mv)
    4. ALTER MATERIALIZED VIEW mv SWAP WITH mv__new      atomic: readers see old or new data, never none
    5. DROP MATERIALIZED VIEW IF EXISTS mv__new          the old definition (or the placeholder)

Any step can be re-run after a failure. Swapping makes MVs built on top of `mv` inactive ("base-table swapped"),
and grants are bound to objects, so grant MVs per database (ON ALL MATERIALIZED VIEWS IN DATABASE), not per MV;
`migrate up` reports the MVs a run made inactive and how to fix each (rockway/mv/health.py), and
`rockway mv activate` re-activates them.

Catalog. `information_schema.materialized_views` has grown release by release: 22 columns up to 3.2
(… TABLE_ROWS, MATERIALIZED_VIEW_DEFINITION), EXTRA_MESSAGE and QUERY_REWRITE_STATUS from 3.3, CREATOR from 3.4,
LAST_REFRESH_PROCESS_TIME and LAST_REFRESH_JOB_ID from 4.0 (when ids, times and durations also changed from
VARCHAR to BIGINT/DATETIME/DOUBLE), LAST_REFRESH_TIME after 4.1 (tests/unit/test_mv_status.py replays each). So the
columns are probed first and only those that exist are selected; rows are read by column name, never by position.
Cells are normalized: SQL NULL, the literal string 'NULL' and '' become None; bytes are decoded.

Only this module (with the adapter) knows these SQL texts; rockway/mv/ works on the dicts it returns.
"""

from __future__ import annotations

import re
from typing import Any, Mapping, Sequence

from rockway.adapters.base import Adapter, StatementResult, quote_ident, quote_string
from rockway.adapters.starrocks.base import StarRocksAdapter

__all__ = ["StarRocksMaterializedViews", "materialized_views", "deploy_statements", "PROBE_SQL", "WANTED_COLUMNS",
           "NEW_SUFFIX"]

NEW_SUFFIX = "__new"
_COLUMN = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")
_REFRESH = re.compile(
    r"^(?:(?:IMMEDIATE|DEFERRED)\s+)?(?:MANUAL|ASYNC(?:\s+START\s*\(\s*'[^']*'\s*\))?"
    r"(?:\s+EVERY\s*\(\s*INTERVAL\s+\d+\s+(?:DAY|HOUR|MINUTE|SECOND)\s*\))?)$", re.I)

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
        return self.adapter.execute(f"ALTER MATERIALIZED VIEW {_where(database, name)} ACTIVE")

    def refresh(self, database: str | None, name: str) -> StatementResult:
        """REFRESH MATERIALIZED VIEW db.mv, waited for like a migration statement (wait_for_mv)."""
        return self.adapter.run_statement(f"REFRESH MATERIALIZED VIEW {_where(database, name)}")


def materialized_views(adapter: Adapter) -> StarRocksMaterializedViews | None:
    """The adapter's materialized views, or None when its engine has none (MySQL/MariaDB): no query is sent."""
    if adapter.capabilities.materialized_views and isinstance(adapter, StarRocksAdapter):
        return StarRocksMaterializedViews(adapter)
    return None


# --- deployment -----------------------------------------------------------------------------------------


def _where(database: str | None, name: str) -> str:
    return f"{quote_ident(database)}.{quote_ident(name)}" if database else quote_ident(name)


def _columns_list(columns: str | Sequence[str] | None, what: str) -> str:
    items = [c.strip() for c in columns.split(",")] if isinstance(columns, str) else list(columns or ())
    for c in items:
        if not _COLUMN.match(c):
            raise ValueError(f"{what} column {c!r} is not a plain name")
    return ", ".join(quote_ident(c) for c in items)


def deploy_statements(database: str | None, name: str, query: str, *, refresh: str = "MANUAL",
                      partition_by: str | None = None, distributed_by: str | Sequence[str] | None = None,
                      order_by: str | Sequence[str] | None = None, properties: Mapping[str, Any] | None = None,
                      comment: str = "", replication_num: Any = None) -> list[str]:
    """The five statements that create or redefine MV `database.name` (see the module docstring), without ';'."""
    scheme = " ".join(str(refresh).split())
    if not _REFRESH.match(scheme):
        raise ValueError(f"materialized view {f'{database}.{name}' if database else name}: refresh {refresh!r} is not "
                         "MANUAL, ASYNC or ASYNC [START ('…')] EVERY (INTERVAL n DAY|HOUR|MINUTE|SECOND)")
    scheme = re.sub(r"^(?:IMMEDIATE|DEFERRED)\s+", "", scheme, flags=re.I)
    if len(name) + len(NEW_SUFFIX) > 64:
        raise ValueError(f"materialized view name {name!r} is too long for its {NEW_SUFFIX} twin (64 characters)")
    props: dict[str, str] = {}
    if replication_num is not None:
        props["replication_num"] = str(replication_num)
    props.update({str(k): str(v) for k, v in (properties or {}).items()})

    def create(target: str, refresh_clause: str, if_not_exists: bool) -> str:
        lines = [f"CREATE MATERIALIZED VIEW {'IF NOT EXISTS ' if if_not_exists else ''}{_where(database, target)}"]
        if comment:
            lines.append(f"COMMENT {quote_string(str(comment))}")
        if distributed_by:
            lines.append(f"DISTRIBUTED BY HASH ({_columns_list(distributed_by, 'distribution')})")
        lines.append(f"REFRESH {refresh_clause}")
        if partition_by:
            lines.append(f"PARTITION BY {partition_by}")
        if order_by:
            lines.append(f"ORDER BY ({_columns_list(order_by, 'order')})")
        if props:
            lines.append("PROPERTIES (" + ", ".join(f'"{k}" = "{v}"' for k, v in props.items()) + ")")
        lines.append(f"AS\n{query}")
        return "\n".join(lines)

    new = name + NEW_SUFFIX
    return [
        create(name, "DEFERRED MANUAL", True),
        f"DROP MATERIALIZED VIEW IF EXISTS {_where(database, new)}",
        create(new, scheme, False),
        f"ALTER MATERIALIZED VIEW {_where(database, name)} SWAP WITH {quote_ident(new)}",
        f"DROP MATERIALIZED VIEW IF EXISTS {_where(database, new)}",
    ]
