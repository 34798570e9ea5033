"""StarRocks adapter: autocommit only, asynchronous DDL waited for, and a DDL-mutex run lock.

What the core needs from StarRocks (README, "StarRocks specifics"):
- never sends BEGIN / START TRANSACTION: the connection is autocommit and StarRocks DDL is never
  transactional;
- `run_statement` waits for the jobs that ALTER TABLE, index DDL and materialized views start
  (`SHOW ALTER TABLE …`, `SHOW ALTER MATERIALIZED VIEW`, `information_schema.task_runs`), and retries
  statements the server rejected because another job holds the table (async_jobs.py);
- the run lock is a table created without IF NOT EXISTS (lock.py).
Statement classification and other pure helpers are in sql.py.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any, Callable, Sequence

from rockway.config import Settings
from rockway.errors import DatabaseError, OutcomeUnknown
from rockway.adapters.base import CatalogObject, Capabilities, LockPrimitive, StatementResult, TableSpec, quote_ident
from rockway.adapters.starrocks.async_jobs import AsyncJobsAdapter
from rockway.adapters.starrocks.lock import DdlMutexLock
from rockway.adapters.starrocks.sql import JobType, column_type, is_begin, show_text, sql_string

_DEFAULTS = Settings()


class StarRocksAdapter(AsyncJobsAdapter):
    """StarRocks over the MySQL protocol (FE query port, default 9030)."""

    engine = "starrocks"
    capabilities = Capabilities(async_ddl=True, labels=True, stream_load=True, advisory_lock=False,
                                transactional_dml=False, table_swap=True, replicas=True, materialized_views=True)

    def __init__(self, conn: Any, dsn: Any, timeouts: Any, server_version: str = "") -> None:
        super().__init__(conn, dsn, timeouts, server_version)
        self.async_timeout: float = _DEFAULTS.async_timeout
        self.poll_interval: float = _DEFAULTS.poll_interval
        self.poll_lateness: float = _DEFAULTS.poll_lateness
        self.replication_num: int | None = _DEFAULTS.replication_num
        self.wait_for_mv: bool = _DEFAULTS.wait_for_mv
        self.lock_lease: float = _DEFAULTS.lock_lease
        # Seams for tests: a monotonic clock, a sleep, and the wall clock used for lock leases.
        self._clock: Callable[[], float] = time.monotonic
        self._sleep: Callable[[float], None] = time.sleep
        self._utcnow: Callable[[], datetime] = lambda: datetime.now(timezone.utc)

    # --- configuration -----------------------------------------------------------------------
    def configure(self, settings: Settings) -> None:
        """Take the StarRocks-specific settings (waiting, polling, replication, MV waits, lock lease)."""
        self.async_timeout = float(settings.async_timeout)
        self.poll_interval = float(settings.poll_interval)
        self.poll_lateness = float(settings.poll_lateness)
        self.replication_num = settings.replication_num
        self.wait_for_mv = bool(settings.wait_for_mv)
        self.lock_lease = float(settings.lock_lease)

    def clone(self) -> "StarRocksAdapter":
        twin = super().clone()
        assert isinstance(twin, StarRocksAdapter)
        for attr in ("async_timeout", "poll_interval", "poll_lateness", "replication_num", "wait_for_mv", "lock_lease",
                     "_clock", "_sleep", "_utcnow"):
            setattr(twin, attr, getattr(self, attr))
        return twin

    # --- plumbing ----------------------------------------------------------------------------
    def execute(self, sql: str, params: Sequence[Any] | None = None) -> StatementResult:
        """Run one statement; BEGIN / START TRANSACTION are refused (rockway runs StarRocks in autocommit)."""
        if is_begin(sql):
            raise DatabaseError(
                "rockway does not open transactions on StarRocks (BEGIN / START TRANSACTION refused)",
                hint="StarRocks DDL is never transactional and explicit transactions (3.5+) accept only DML; "
                     "write each statement so it can run on its own.")
        return super().execute(sql, params)

    def drop_throwaway_database_sql(self, name: str) -> str:
        """`DROP DATABASE [IF EXISTS] <db_name> [FORCE]` (docs.starrocks.io, sql-reference/sql-statements/Database/
        DROP_DATABASE): without FORCE the database stays in the recycle bin, recoverable with RECOVER for a day by
        default and still holding its storage; FORCE deletes it at once, skipping the check for unfinished
        activities. For a rehearsal's databases, which nothing will read again, that is what is wanted."""
        return f"DROP DATABASE IF EXISTS {self.quote_ident(name)} FORCE"

    def alive_backends(self) -> int | None:
        """Rows of SHOW BACKENDS whose `Alive` is true (tests/support/starrocks_replay.py); read by name, since the column
        list differs between releases. A shared-data cluster without backends keeps its compute nodes in SHOW
        COMPUTE NODES. None when the answer has no `Alive` column or the user may not look (SHOW BACKENDS needs
        the OPERATE privilege)."""
        try:
            rows = self._rows("SHOW BACKENDS") or self._rows("SHOW COMPUTE NODES")
        except OutcomeUnknown:
            raise  # the connection broke: not a question of privileges
        except DatabaseError:
            return None
        if rows and "alive" not in rows[0]:
            return None
        return sum(1 for row in rows if show_text(row["alive"]).strip().lower() == "true")

    # --- rockway's own tables ----------------------------------------------------------------
    def _properties(self, properties: dict[str, str] | None) -> dict[str, str]:
        merged: dict[str, str] = {}
        if self.replication_num is not None:
            merged["replication_num"] = str(self.replication_num)
        for key, value in (properties or {}).items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = str(value)
        return merged

    def primary_key_table_sql(self, spec: TableSpec, properties: dict[str, str] | None, *, if_not_exists: bool,
                              buckets: int | None = None) -> str:
        """CREATE TABLE [IF NOT EXISTS] … PRIMARY KEY(…) [COMMENT] DISTRIBUTED BY HASH(…) [BUCKETS n] [PROPERTIES]."""
        if not spec.key:
            raise ValueError(f"table {spec.name}: a PRIMARY KEY table needs key columns")
        by_name = {c.name: c for c in spec.columns}
        missing = [k for k in spec.key if k not in by_name]
        if missing:
            raise ValueError(f"table {spec.name}: key column(s) {', '.join(missing)} are not columns")
        # Primary Key tables: key columns come first, in key order, and are NOT NULL.
        ordered = [by_name[k] for k in spec.key] + [c for c in spec.columns if c.name not in spec.key]
        lines = []
        for col in ordered:
            null = "NOT NULL" if (col.name in spec.key or not col.nullable) else "NULL"
            lines.append(f"  {quote_ident(col.name)} {column_type(col.type)} {null}")
        key = ", ".join(quote_ident(k) for k in spec.key)
        parts = [f"CREATE TABLE {'IF NOT EXISTS ' if if_not_exists else ''}{self.qualified(spec.name)} (\n"
                 + ",\n".join(lines) + "\n)",
                 f"PRIMARY KEY({key})"]
        if spec.comment:
            parts.append(f"COMMENT {sql_string(spec.comment)}")  # after key_desc, or CREATE fails
        parts.append(f"DISTRIBUTED BY HASH({key})" + (f" BUCKETS {buckets}" if buckets else ""))
        props = self._properties(properties)
        if props:
            parts.append("PROPERTIES (\n" + ",\n".join(f"{sql_string(k)} = {sql_string(v)}" for k, v in props.items())
                         + "\n)")
        return "\n".join(parts)

    def create_table_sql(self, spec: TableSpec, *, properties: dict[str, str] | None = None) -> str:
        """CREATE TABLE IF NOT EXISTS … PRIMARY KEY(…) [COMMENT] DISTRIBUTED BY HASH(…) [PROPERTIES].

        replication_num comes from configure() (ROCKWAY_REPLICATION_NUM) and can be overridden in
        `properties`; when neither sets it the property is left out and the FE default applies.
        """
        return self.primary_key_table_sql(spec, properties, if_not_exists=True)

    def upsert_sql(self, table: str, columns: Sequence[str], key: Sequence[str], rows: int = 1) -> str:
        """INSERT INTO t (cols) VALUES (…)[, (…)]: on a Primary Key table a row with an existing key replaces it.

        Pass every column of the table: from 3.3.1 an INSERT with a column list is a partial update, so
        columns left out keep their stored values for existing keys.
        """
        cols = ", ".join(quote_ident(c) for c in columns)
        marks = ", ".join([f"({', '.join(['%s'] * len(columns))})"] * rows)
        return f"INSERT INTO {self.qualified(table)} ({cols}) VALUES {marks}"

    # --- the catalog after a statement whose outcome is unknown -----------------------------
    def catalog_has(self, obj: CatalogObject) -> bool | None:
        """As the base class, with two StarRocks rules.

        A column is judged only once no schema-change job of its table is still unfinished: ADD/DROP COLUMN
        is an asynchronous job whose State stays PENDING / WAITING_TXN / RUNNING (FINISHED_REWRITING in
        shared-data) until FINISHED or CANCELLED (rows recorded in tests/support/starrocks_replay.py).
        Asynchronous materialized views are listed in information_schema.materialized_views.
        """
        db = obj.database or self.database
        if obj.kind == "column":
            jobs = self._jobs(self._alter_source(JobType.COLUMN, db, obj.name))
            if any(job.state not in ("FINISHED", "CANCELLED") for job in jobs):
                return None
        if obj.kind == "materialized view":
            return bool(self.query("SELECT 1 FROM information_schema.materialized_views"
                                   " WHERE table_schema = %s AND table_name = %s", (db, obj.name)))
        return super().catalog_has(obj)

    def lock_primitive(self, name: str, *, lease_seconds: float, properties: dict[str, str] | None = None) -> LockPrimitive:
        return DdlMutexLock(self, name, lease_seconds=lease_seconds or self.lock_lease, properties=properties)
