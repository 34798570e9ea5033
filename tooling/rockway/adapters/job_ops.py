"""Engine operations of the job runner: load statements, label ledger, work tables, MV refresh, backups.

The jobs package (rockway.jobs) is engine-neutral. Everything that differs between StarRocks and
MySQL/MariaDB is behind `JobOps`, which each engine's dialect supplies (adapters/registry.py: `job_ops(adapter)`
for a live connection, `offline_ops(engine)` to render SQL without one).

- `mysql/jobs.py` MySQLJobOps: a window load is one transaction (delete the window, insert it); upserts are
  `INSERT … SELECT … ON DUPLICATE KEY UPDATE`; sources read by Python are streamed with an unbuffered
  cursor; backups are `mariadb-dump` files.
- `starrocks/jobs.py` StarRocksJobOps: every load carries a label derived from (job, window); appends keep
  one stable label and consult `information_schema.loads` before and after an ambiguous failure (the
  label ledger); fact windows are `INSERT OVERWRITE … PARTITION (col = 'day')`, one statement per day;
  dimensions are Primary Key upserts; backups are `BACKUP SNAPSHOT` to a repository.
"""

from __future__ import annotations

import abc
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, ClassVar, Sequence

from rockway.errors import DatabaseError, DatabaseUnavailable, OutcomeUnknown
from rockway.adapters.base import Adapter, ProgressCallback, ignore_progress, quote_ident, quote_string


_TYPE_RE = re.compile(r"^(VARCHAR|CHAR)\(\d{1,5}\)$|^DECIMAL\(\d{1,2},\s*\d{1,2}\)$|"
                      r"^(TINYINT|SMALLINT|INT|BIGINT|BOOLEAN|DATE|DATETIME|DOUBLE|FLOAT|TEXT)$")
MAX_DATETIME = "9999-12-31 23:59:59"


def valid_portable_type(text: str) -> bool:
    """True for the column types a job spec may declare (VARCHAR(n), DECIMAL(p,s), INT, DATETIME …)."""
    return bool(_TYPE_RE.match(" ".join(text.upper().split())))


@dataclass(frozen=True)
class Step:
    """One unit of a load plan, in the order it runs.

    kind: `sql` (a statement on the target), `begin`/`commit` (transaction bounds, MySQL only),
    `copy` (rows read by Python from the source into a work table; `sql` is the source query).
    """

    kind: str
    sql: str
    label: str | None = None  # StarRocks load label carried by the statement
    ledger: bool = False  # not idempotent: look the label up before running it and after an ambiguous failure
    counts: bool = False  # its affected rows are the rows written to the target
    database: str | None = None  # the database whose label namespace `label` lives in
    note: str = ""  # shown by `rockway job render`


@dataclass(frozen=True)
class Slice:
    """One load statement's rows: a SELECT producing the request's columns, and the window part it covers."""

    select: str
    lo: str | None = None  # SQL literal, exclusive lower bound of the window column (None: open)
    hi: str | None = None  # SQL literal, inclusive upper bound (None: open)
    day: str | None = None  # SQL literal of one day: StarRocks writes it with PARTITION (col = day)
    tag: str = ""  # label part naming the slice, e.g. d20260101


@dataclass(frozen=True)
class ChangeSet:
    """Type 2 dimensions: the de-duplicated change set, materialised in a work table before it is applied."""

    database: str
    table: str  # unqualified work table name
    columns: tuple[tuple[str, str], ...]  # (name, portable type), key columns first
    key: tuple[str, ...]
    select: str  # SELECT producing `columns`


@dataclass(frozen=True)
class LoadRequest:
    """Everything an engine needs to write one window of one job."""

    job: str
    strategy: str  # append | replace_window | replace | upsert | scd2
    target_db: str
    target_table: str
    columns: tuple[str, ...]  # target columns, in the order every slice's SELECT produces them
    slices: tuple[Slice, ...]
    window_column: str | None = None  # replace_window: the (partition) column the window is cut on
    key: tuple[str, ...] = ()  # upsert / scd2: the target's primary key
    batch_column: str | None = None  # append: holds the label; MySQL deletes the batch before re-inserting it
    label: str = ""  # stable label of (job, window)
    attempt_tag: str = ""  # `<run>_a<n>`: makes labels of idempotent statements unique per attempt
    change: ChangeSet | None = None  # scd2

    @property
    def target(self) -> str:
        return f"`{self.target_db}`.`{self.target_table}`"


@dataclass
class LoadResult:
    """What executing a plan did."""

    rows_written: int = 0
    labels: list[str] = field(default_factory=list)
    skipped_labels: list[str] = field(default_factory=list)  # already FINISHED (label ledger)


@dataclass(frozen=True)
class BackupRequest:
    """One backup of the warehouse databases."""

    stamp: str  # yyyymmddThhmmss, UTC
    databases: tuple[str, ...]
    folder: Path | None = None  # MySQL: dump files go here
    repository: str | None = None  # StarRocks: repository name
    location: str | None = None  # StarRocks: the repository's LOCATION (for retention)
    dump_command: str = "mariadb-dump"
    delete_command: tuple[str, ...] = ()  # StarRocks retention: argv with {path}, e.g. gcloud storage rm -r {path}
    timeout: float = 7200.0
    poll_interval: float = 10.0

    def name(self, database: str) -> str:
        """Snapshot / dump name of one database: rw_<db>_<stamp> (sorts by time)."""
        return f"rw_{database}_{self.stamp}"


@dataclass(frozen=True)
class BackupInfo:
    """One backup that exists."""

    name: str
    database: str
    location: str  # file path, or `repository/snapshot`
    detail: str = ""


class Dialect(abc.ABC):
    """Expression spellings that differ between engines (used inside engine-neutral SELECTs)."""

    @abc.abstractmethod
    def text(self, expr: str) -> str:
        """expr as a string."""

    @abc.abstractmethod
    def bigint(self, expr: str) -> str:
        """expr (a decimal string) as a signed 64-bit integer."""

    def datetime_text(self, expr: str) -> str:
        """A DATETIME as text with microseconds (same format on both engines)."""
        return f"DATE_FORMAT({expr}, '%Y-%m-%d %H:%i:%s.%f')"

    def sha256(self, expr: str) -> str:
        return f"SHA2({expr}, 256)"

    def hash_key(self, exprs: Sequence[str]) -> str:
        """A deterministic positive 60-bit integer from text expressions (surrogate keys)."""
        joined = "CONCAT_WS('#|#', " + ", ".join(exprs) + ")"
        return self.bigint(f"CONV(SUBSTR({self.sha256(joined)}, 1, 15), 16, 10)")

    @staticmethod
    def string(value: str) -> str:
        """A single-quoted literal (backslashes doubled), read alike by StarRocks and MariaDB."""
        return quote_string(value)

    def datetime(self, value: datetime) -> str:
        text = value.isoformat(" ", "microseconds") if value.microsecond else value.isoformat(" ", "seconds")
        return self.datetime_from_text(text)

    def datetime_from_text(self, text: str) -> str:
        return f"CAST({self.string(text)} AS DATETIME)"

    def date(self, value: date) -> str:
        return f"CAST({self.string(value.isoformat())} AS DATE)"

    def bound(self, value: Any) -> str:
        """A window bound as a literal that pushes down to external catalogs (plain string or number)."""
        if isinstance(value, datetime):
            return self.string(value.isoformat(" ", "microseconds") if value.microsecond else value.isoformat(" ", "seconds"))
        if isinstance(value, date):
            return self.string(value.isoformat())
        if isinstance(value, int):
            return str(value)
        return self.string(str(value))


class JobOps(abc.ABC):
    """One engine's load, ledger, refresh and backup operations over an (optional) adapter."""

    engine: ClassVar[str] = ""
    overwrite_per_day: ClassVar[bool] = False  # replace_window is one statement per day partition
    hash_comments: ClassVar[bool] = False  # `#` starts a comment in this engine's SQL
    sqlglot_dialect: ClassVar[str] = "mysql"  # for reading a SELECT's output columns
    dialect: Dialect

    def __init__(self, adapter: Adapter | None) -> None:
        self.adapter = adapter

    @property
    def a(self) -> Adapter:
        if self.adapter is None:
            raise RuntimeError("these job operations render SQL only (no connection)")
        return self.adapter

    @staticmethod
    def q(name: str) -> str:
        return quote_ident(name)

    def qualified(self, database: str | None, table: str) -> str:
        return f"{self.q(database)}.{self.q(table)}" if database else self.q(table)

    def external_table(self, catalog: str | None, database: str, table: str) -> str:
        """A source table read through the target engine (`source()` of a catalog source)."""
        return self.qualified(database, table)

    # --- sessions -----------------------------------------------------------------------------
    @abc.abstractmethod
    def session_sql(self, statement_timeout: float) -> list[str]:
        """SET statements every job connection runs first (UTC, timeouts)."""

    def setup_session(self, statement_timeout: float) -> None:
        for sql in self.session_sql(statement_timeout):
            self.a.execute(sql)

    # --- planning (pure) ----------------------------------------------------------------------
    @abc.abstractmethod
    def work_table_sql(self, qualified: str, columns: Sequence[tuple[str, str]], key: Sequence[str] = ()) -> list[str]:
        """Statements that (re)create an empty work table with these (name, portable type) columns."""

    @abc.abstractmethod
    def plan_load(self, req: LoadRequest) -> list[Step]:
        """The statements that write one window, in order."""

    def change_set_steps(self, req: LoadRequest, change: ChangeSet) -> list[Step]:
        """Type 2 dimensions: (re)create the change set's work table empty, then fill it (fill_change_set)."""
        table = self.qualified(change.database, change.table)
        steps = [Step("sql", sql, note="change-set work table")
                 for sql in self.work_table_sql(table, change.columns, change.key)]
        return steps + self.fill_change_set(req, change, table, ", ".join(self.q(c) for c, _ in change.columns))

    @abc.abstractmethod
    def fill_change_set(self, req: LoadRequest, change: ChangeSet, table: str, columns: str) -> list[Step]:
        """The statements that write the change set into its new work table `table` (`columns`: its column list)."""

    @abc.abstractmethod
    def upsert_values_sql(self, qualified: str, columns: Sequence[str], key: Sequence[str]) -> str:
        """A parameterised one-row statement replacing the row with the same key (rockway's own tables)."""

    @abc.abstractmethod
    def copy_sql(self, qualified: str, columns: Sequence[str]) -> str:
        """How copied rows are written into the work table (shown by render)."""

    def copy_note(self, label: str, batch_size: int) -> str:
        """Render's comment before copy_sql."""
        return f"-- on the warehouse, per batch of {batch_size} rows:"

    def refresh_sql(self, qualified_mv: str) -> str | None:
        """The statement that refreshes a materialized view, or None when the engine has none."""
        return None

    # --- execution ----------------------------------------------------------------------------
    @abc.abstractmethod
    def execute(self, steps: Sequence[Step], on_event: ProgressCallback = ignore_progress) -> LoadResult:
        """Run a plan's target statements (copy steps are run by `copy`)."""

    @abc.abstractmethod
    def copy(self, source: Adapter, sql: str, work_table: str, columns: Sequence[str], *, batch_size: int,
             label: str, on_event: ProgressCallback = ignore_progress) -> int:
        """Stream the source query's rows into the work table; return the rows read."""

    def refresh(self, qualified_mv: str) -> bool:
        """Refresh a materialized view and wait for it; False when the engine has nothing to refresh."""
        sql = self.refresh_sql(qualified_mv)
        if sql is None:
            return False
        self.a.run_statement(sql)
        return True

    def recover(self, lost_connection_id: int | None) -> None:
        """After a lost connection, release what the dead session may still hold (best effort)."""

    def is_transient(self, exc: BaseException) -> bool:
        """True for errors worth retrying: connection lost, timeouts, busy tables."""
        if isinstance(exc, OutcomeUnknown):
            return True
        if isinstance(exc, DatabaseUnavailable):
            text = exc.message.lower()
            return not ("access denied" in text or "does not exist" in text)
        if isinstance(exc, DatabaseError):
            return self._transient_error(exc)
        return isinstance(exc, (ConnectionError, TimeoutError))

    @abc.abstractmethod
    def _transient_error(self, exc: DatabaseError) -> bool:
        """Engine-specific transient server errors."""

    # --- backups ------------------------------------------------------------------------------
    @abc.abstractmethod
    def backup(self, req: BackupRequest, on_event: ProgressCallback = ignore_progress) -> list[BackupInfo]:
        """Back up each database; wait until done; raise on failure."""

    @abc.abstractmethod
    def list_backups(self, req: BackupRequest, database: str) -> list[BackupInfo]:
        """Backups rockway made of database, oldest first."""

    @abc.abstractmethod
    def delete_backup(self, req: BackupRequest, info: BackupInfo) -> str:
        """Delete one backup (retention); return what was done."""


def connection_id(adapter: Adapter) -> int | None:
    """The server's id of this connection, when the adapter knows it."""
    try:
        return int(getattr(adapter, "connection_id"))
    except Exception:  # noqa: BLE001 - a dead connection or an adapter without ids
        return None
