"""The Adapter seam: everything engine-specific hides behind it."""

from __future__ import annotations

import abc
import os
import socket
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Sequence

from rockway.config import Settings

ProgressCallback = Callable[[str], None]


def ignore_progress(_message: str) -> None:
    """The ProgressCallback for callers that do not listen."""
    return None


def quote_ident(name: str) -> str:
    """Quote an identifier with backticks (both engines)."""
    return "`" + name.replace("`", "``") + "`"


def quote_string(text: str) -> str:
    """A single-quoted string literal, backslashes doubled: StarRocks and MariaDB read it alike, and pymysql escapes
    parameters the same way."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


@dataclass(frozen=True)
class Capabilities:
    """What an engine can do; the core branches on these, never on the engine name."""

    async_ddl: bool = False  # ALTER/rollup/MV jobs finish after the statement returns
    labels: bool = False  # loads carry idempotency labels
    stream_load: bool = False
    advisory_lock: bool = False  # GET_LOCK-style session locks
    transactional_dml: bool = True  # BEGIN/COMMIT around DML is safe
    table_swap: bool = False  # ALTER TABLE a SWAP WITH b
    replicas: bool = False  # tables keep replication_num copies, each on a different backend
    materialized_views: bool = False  # asynchronous MVs with a state (active/inactive) in the catalog (starrocks/mv.py)


@dataclass(frozen=True)
class Column:
    """A column of one of rockway's own tables, in portable terms."""

    name: str
    type: str  # INT, BIGINT, BOOLEAN, DATETIME, VARCHAR(n), TEXT
    nullable: bool = True


@dataclass(frozen=True)
class TableSpec:
    """A table rockway creates for itself (history, lock, watermarks …)."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    comment: str = ""


@dataclass(frozen=True)
class LockOwner:
    """Who holds a run lock."""

    host: str
    pid: int
    run_id: str
    acquired_at: str = ""  # ISO time, UTC
    expires_at: str = ""  # ISO time, UTC; empty for session locks

    @classmethod
    def here(cls, run_id: str) -> "LockOwner":
        return cls(host=socket.gethostname(), pid=os.getpid(), run_id=run_id)

    def describe(self) -> str:
        tail = f", lease until {self.expires_at}" if self.expires_at else ""
        since = f" since {self.acquired_at}" if self.acquired_at else ""
        return f"host {self.host}, pid {self.pid}, run {self.run_id}{since}{tail}"


@dataclass(frozen=True)
class CatalogObject:
    """Something information_schema lists: a database, a table, a view, a materialized view or a column."""

    kind: str  # database | table | view | materialized view | column
    database: str | None  # None: the connection's database
    name: str  # the database's own name when kind is database
    column: str | None = None  # for kind column: the column of table `name`

    def describe(self, default_database: str | None = None) -> str:
        db = self.database or default_database
        if self.kind == "database":
            return f"database {self.name}"
        where = f"{db}.{self.name}" if db else self.name
        return f"column {where}.{self.column}" if self.kind == "column" else f"{self.kind} {where}"


@dataclass
class StatementResult:
    """Outcome of one executed statement."""

    rowcount: int = 0
    columns: tuple[str, ...] = ()
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    async_jobs: tuple[str, ...] = ()  # e.g. ("alter:12345",) on StarRocks
    info: str = ""


class LockPrimitive(abc.ABC):
    """An engine's mutual-exclusion primitive for one lock name."""

    needs_renewal: ClassVar[bool] = False

    @abc.abstractmethod
    def try_acquire(self, owner: LockOwner, wait_seconds: float) -> bool:
        """Take the lock within wait_seconds; True on success."""

    @abc.abstractmethod
    def holder(self) -> LockOwner | None:
        """The current holder, or None when free."""

    def renew(self, owner: LockOwner) -> None:
        """Extend the lease (no-op for session locks)."""

    @abc.abstractmethod
    def release(self, owner: LockOwner) -> None:
        """Release a lock this owner holds."""

    @abc.abstractmethod
    def force_release(self) -> LockOwner | None:
        """Remove the lock whoever holds it (operator command); return who held it."""


class Adapter(abc.ABC):
    """One open connection to one engine, with the engine's dialect and behaviours."""

    engine: ClassVar[str] = ""
    capabilities: ClassVar[Capabilities] = Capabilities()
    hash_comments: ClassVar[bool] = False  # lexer flag: `#` starts a comment in this engine's SQL

    def __init__(self) -> None:
        self.database: str | None = None
        self.server_version: str = ""
        self.user: str = ""
        self.host: str = ""
        self.port: int = 0

    def configure(self, settings: Settings) -> None:
        """Take the engine's own settings (waits, replication …); engines without any have nothing to take."""

    # --- identity ----------------------------------------------------------------------------
    @property
    def db_system(self) -> str:
        """OpenTelemetry db.system.name."""
        return self.engine

    # --- plumbing ----------------------------------------------------------------------------
    @abc.abstractmethod
    def execute(self, sql: str, params: Sequence[Any] | None = None) -> StatementResult:
        """Run one statement (autocommit) and return its result."""

    def query(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run a query and return its rows."""
        return self.execute(sql, params).rows

    def query_dicts(self, sql: str, params: Sequence[Any] | None = None) -> list[dict[str, Any]]:
        """Run a query and return rows as dicts keyed by column label."""
        result = self.execute(sql, params)
        return [dict(zip(result.columns, row)) for row in result.rows]

    @abc.abstractmethod
    def literal_sql(self, sql: str, params: Sequence[Any] | None = None) -> str:
        """The statement with parameters inlined, for dry runs (never for execution)."""

    @abc.abstractmethod
    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        """Run one parameterised INSERT for many rows; return the row count."""

    @abc.abstractmethod
    def close(self) -> None:
        """Close the connection."""

    @abc.abstractmethod
    def clone(self) -> "Adapter":
        """A second connection with the same settings (for lock renewal, parallel jobs)."""

    @abc.abstractmethod
    def is_connection_lost(self, exc: BaseException) -> bool:
        """True when exc means the connection broke (a sent statement's outcome is unknown)."""

    def ping(self) -> None:
        """Check the connection is alive."""
        self.execute("SELECT 1")

    def catalog_has(self, obj: CatalogObject) -> bool | None:
        """Whether the catalog lists obj now; None when the catalog cannot tell yet (or this engine cannot look).

        Tables and views share one namespace, so either kind is looked up among both.
        """
        db = obj.database or self.database
        params: tuple[str | None, ...]
        if obj.kind == "database":
            sql, params = "SELECT 1 FROM information_schema.schemata WHERE schema_name = %s", (obj.name,)
        elif obj.kind in ("table", "view"):
            sql, params = "SELECT 1 FROM information_schema.tables WHERE table_schema = %s AND table_name = %s", (db, obj.name)
        elif obj.kind == "column":
            sql = ("SELECT 1 FROM information_schema.columns WHERE table_schema = %s AND table_name = %s"
                   " AND LOWER(column_name) = LOWER(%s)")
            params = (db, obj.name, obj.column)
        else:
            return None
        return bool(self.query(sql, params))

    def cancel_running(self, timeout: float = 5.0) -> bool:
        """Stop the statement this connection is running (after Ctrl-C), within `timeout` seconds.

        True when the server was told to stop it. Engines without a way to do so answer False.
        """
        return False

    # --- naming ------------------------------------------------------------------------------
    @staticmethod
    def quote_ident(name: str) -> str:
        """Quote an identifier with backticks."""
        return quote_ident(name)

    def qualified(self, table: str, database: str | None = None) -> str:
        """`db`.`table` (database defaults to the connection's)."""
        db = database or self.database
        return f"{self.quote_ident(db)}.{self.quote_ident(table)}" if db else self.quote_ident(table)

    # --- throwaway databases ------------------------------------------------------------------
    def drop_throwaway_database_sql(self, name: str) -> str:
        """The statement that drops a database nothing will need again (a rehearsal's), for good: engines that keep
        dropped databases recoverable for a while skip that here."""
        return f"DROP DATABASE IF EXISTS {self.quote_ident(name)}"

    # --- rockway's own tables ----------------------------------------------------------------
    @abc.abstractmethod
    def create_table_sql(self, spec: TableSpec, *, properties: dict[str, str] | None = None) -> str:
        """CREATE TABLE IF NOT EXISTS for one of rockway's tables, in this engine's dialect."""

    def table_exists(self, table: str, database: str | None = None) -> bool:
        rows = self.query(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = %s AND table_name = %s",
            (database or self.database, table),
        )
        return bool(rows)

    def table_columns(self, table: str, database: str | None = None) -> list[str]:
        rows = self.query(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s"
            " ORDER BY ordinal_position",
            (database or self.database, table),
        )
        return [str(r[0]).lower() for r in rows]

    @abc.abstractmethod
    def upsert_sql(self, table: str, columns: Sequence[str], key: Sequence[str], rows: int = 1) -> str:
        """A parameterised statement that inserts `rows` rows, each replacing the row with the same key (one statement)."""

    # --- migrations --------------------------------------------------------------------------
    def alive_backends(self) -> int | None:
        """Backends that can hold table replicas right now (engines with `replicas`); None when unknown."""
        return None

    def run_statement(self, sql: str, *, wait: bool = True, on_progress: ProgressCallback | None = None) -> StatementResult:
        """Execute one migration statement; engines with async DDL wait for the job here."""
        return self.execute(sql)

    @abc.abstractmethod
    def lock_primitive(self, name: str, *, lease_seconds: float, properties: dict[str, str] | None = None) -> LockPrimitive:
        """The engine's run-lock primitive for `name`."""
