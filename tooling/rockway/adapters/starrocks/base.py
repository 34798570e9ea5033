"""StarRocks adapter: autocommit only, asynchronous DDL waited for, and a DDL-mutex run lock.

Everything StarRocks-specific the core needs lives here (design.md "Engines"):
- never sends BEGIN / START TRANSACTION: the connection is autocommit and StarRocks DDL is never
  transactional (starrocks-facts.md §3);
- `run_statement` waits for the jobs that ALTER TABLE, index DDL and materialized views start
  (`SHOW ALTER TABLE …`, `SHOW ALTER MATERIALIZED VIEW`, `information_schema.task_runs`), and retries
  statements the server rejected because another job holds the table (facts §2, §4);
- the run lock is a table created without IF NOT EXISTS (facts §3, design (b)).
Statement classification is in `starrocks_sql.py` (pure functions).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Sequence

from rockway.config import Settings, validate_identifier
from rockway.errors import AsyncJobFailed, DatabaseError, OutcomeUnknown
from rockway.observability import telemetry
from rockway.adapters.base import (CatalogObject, Capabilities, Column, LockOwner, LockPrimitive, ProgressCallback, StatementResult,
                   TableSpec)
from rockway.adapters.poll_schedule import PollPlan, PollSchedule, Progress, parse_progress
from rockway.adapters.pymysql_base import PyMySQLAdapter
from rockway.adapters.starrocks.sql import (Classified, JobType, Kind, classify, is_already_exists, is_begin, is_table_busy,
                            quote_ident, sql_quote, sql_string)

_DEFAULTS = Settings()

# Portable column types (base.Column) -> StarRocks types. There is no TIMESTAMP column type and
# DATETIME(p) is rejected by the parser (facts §1 "Date/time"); STRING is VARCHAR(65533).
_TYPES = {"TEXT": "STRING", "LONGTEXT": "STRING", "MEDIUMTEXT": "STRING", "BOOLEAN": "BOOLEAN", "BOOL": "BOOLEAN",
          "DATETIME": "DATETIME", "TIMESTAMP": "DATETIME", "INT": "INT", "INTEGER": "INT", "BIGINT": "BIGINT"}

# information_schema.task_runs STATE values that are not final (facts §4). Final: SUCCESS, FAILED,
# MERGED (folded into a newer run of the same task, 3.1.12+) and SKIPPED (nothing to refresh, 4.0+).
_RUN_BUSY = {"PENDING", "RUNNING"}


def column_type(portable: str) -> str:
    """Map a portable column type to its StarRocks spelling."""
    text = " ".join(portable.strip().upper().split())
    if text.startswith(("DATETIME(", "TIMESTAMP(")):
        return "DATETIME"
    return _TYPES.get(text, text)


def _ignore(_message: str) -> None:
    return None


def _job_progress(jobs: Sequence["_Job"]) -> Progress | None:
    """The Progress (`done/total`) of unfinished ALTER jobs added up; None unless every one shows it (it is printed
    only while a job is RUNNING, starrocks-responses.md §2)."""
    parsed = [parse_progress(j.progress) for j in jobs]
    if not parsed or any(p is None for p in parsed):
        return None
    return Progress(sum(p.done for p in parsed if p), sum(p.total for p in parsed if p))


def _run_progress(run: dict[str, Any] | None) -> Progress | None:
    """A RUNNING task run's PROGRESS (`50%`, starrocks-responses.md §3); None before it runs (a PENDING run's
    0% says nothing about its rate)."""
    if run is None or show_text(run.get("state")).upper() != "RUNNING":
        return None
    return parse_progress(show_text(run.get("progress")))


def _run_id(run: dict[str, Any] | None) -> str:
    return show_text(run.get("query_id")) if run else ""


def show_text(value: Any) -> str:
    """A SHOW cell as text: SQL NULL and the text NULL become ''.

    SHOW ALTER prints an unset FinishTime and a Progress outside RUNNING as the text `NULL`
    (../shared/docs/starrocks-responses.md §2, rows from StarRocks issues #46534 and #40750).
    """
    if value is None:
        return ""
    if isinstance(value, (bytes, bytearray)):
        value = value.decode("utf-8", "replace")
    text = str(value)
    return "" if text == "NULL" else text


@dataclass(frozen=True)
class _Job:
    """One row of SHOW ALTER TABLE … / SHOW ALTER MATERIALIZED VIEW, read by column name."""

    job_id: int
    state: str
    msg: str
    progress: str


@dataclass(frozen=True)
class _JobSource:
    """Where an ALTER-style job is listed and how to tell the user to inspect or cancel it."""

    label: str  # column | rollup | optimize
    sql: str
    params: tuple[Any, ...] | None
    match: Callable[[dict[str, str]], bool]
    where: str  # `db`.`t` for messages
    show_hint: str
    cancel_hint: str


class StarRocksAdapter(PyMySQLAdapter):
    """StarRocks over the MySQL protocol (FE query port, default 9030)."""

    engine = "starrocks"
    capabilities = Capabilities(async_ddl=True, labels=True, stream_load=True, advisory_lock=False,
                                transactional_dml=False, table_swap=True, replicas=True, materialized_views=True)

    def __init__(self, conn: Any, dsn: Any, timeouts: Any, server_version: str = "") -> None:
        super().__init__(conn, dsn, timeouts, server_version)
        self.async_timeout: float = _DEFAULTS.async_timeout
        self.poll_interval: float = _DEFAULTS.poll_interval
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
        self.replication_num = settings.replication_num
        self.wait_for_mv = bool(settings.wait_for_mv)
        self.lock_lease = float(settings.lock_lease)

    def clone(self) -> "StarRocksAdapter":
        twin = super().clone()
        assert isinstance(twin, StarRocksAdapter)
        for attr in ("async_timeout", "poll_interval", "replication_num", "wait_for_mv", "lock_lease",
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

    def _rows(self, sql: str, params: Sequence[Any] | None = None) -> list[dict[str, Any]]:
        """Rows as dicts keyed by lower-cased column label (SHOW output is read by name, never by position)."""
        result = self.execute(sql, params)
        names = [c.lower() for c in result.columns]
        return [dict(zip(names, row)) for row in result.rows]

    def drop_throwaway_database_sql(self, name: str) -> str:
        """`DROP DATABASE [IF EXISTS] <db_name> [FORCE]` (docs.starrocks.io, sql-reference/sql-statements/Database/
        DROP_DATABASE): without FORCE the database stays in the recycle bin, recoverable with RECOVER for a day by
        default and still holding its storage; FORCE deletes it at once, skipping the check for unfinished
        activities. For a rehearsal's databases, which nothing will read again, that is what is wanted."""
        return f"DROP DATABASE IF EXISTS {self.quote_ident(name)} FORCE"

    def alive_backends(self) -> int | None:
        """Rows of SHOW BACKENDS whose `Alive` is true (starrocks-responses.md §5); read by name, since the column
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

    def _poll_plan(self) -> PollPlan:
        """The waits of one wait loop (poll_schedule.py): poll_interval is the shortest wait and the first one."""
        return PollSchedule.for_interval(self.poll_interval).start(self._clock())

    def _db_clause(self, database: str | None) -> str:
        return f" FROM {quote_ident(database)}" if database else ""

    def _where(self, database: str | None, name: str) -> str:
        return self.qualified(name, database)

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

    def _table_ddl(self, spec: TableSpec, properties: dict[str, str] | None, *, if_not_exists: bool,
                   buckets: int | None = None) -> str:
        if not spec.key:
            raise ValueError(f"table {spec.name}: a PRIMARY KEY table needs key columns")
        by_name = {c.name: c for c in spec.columns}
        missing = [k for k in spec.key if k not in by_name]
        if missing:
            raise ValueError(f"table {spec.name}: key column(s) {', '.join(missing)} are not columns")
        # Primary Key tables: key columns come first, in key order, and are NOT NULL (facts §1).
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
        return self._table_ddl(spec, properties, if_not_exists=True)

    def upsert_sql(self, table: str, columns: Sequence[str], key: Sequence[str], rows: int = 1) -> str:
        """INSERT INTO t (cols) VALUES (…)[, (…)]: on a Primary Key table a row with an existing key replaces it.

        Pass every column of the table: from 3.3.1 an INSERT with a column list is a partial update, so
        columns left out keep their stored values for existing keys (facts §1).
        """
        cols = ", ".join(quote_ident(c) for c in columns)
        marks = ", ".join([f"({', '.join(['%s'] * len(columns))})"] * rows)
        return f"INSERT INTO {self.qualified(table)} ({cols}) VALUES {marks}"

    # --- migrations --------------------------------------------------------------------------
    def run_statement(self, sql: str, *, wait: bool = True, on_progress: ProgressCallback | None = None) -> StatementResult:
        """Execute one migration statement and wait for the work it starts.

        - ALTER TABLE with column / index / ORDER BY / SET(…) clauses, CREATE INDEX, DROP INDEX:
          COLUMN job; ADD/DROP ROLLUP: ROLLUP job; DISTRIBUTED BY / PARTITIONS (…) DISTRIBUTED BY:
          OPTIMIZE job. Before sending, the newest JobId of that kind for the table is noted; after,
          the adapter polls for a newer job until FINISHED (CANCELLED raises AsyncJobFailed with the
          job's Msg; FINISHED_REWRITING is not final). No newer job means the change was applied in
          place (fast schema evolution, comment-only MODIFY COLUMN, most SET properties).
        - ALTER TABLE rename / comment / partition / swap / compact: synchronous, just executed.
        - CREATE MATERIALIZED VIEW without REFRESH and DISTRIBUTED BY (a synchronous MV): waits for its
          rollup job in SHOW ALTER MATERIALIZED VIEW.
        - CREATE MATERIALIZED VIEW with REFRESH or DISTRIBUTED BY (an asynchronous MV): unless it is
          REFRESH DEFERRED, StarRocks starts a first refresh right after creation (refresh moment
          IMMEDIATE is the default for every scheme, MANUAL included). With wait_for_mv the adapter
          waits for that task run (`mv-<id>` in information_schema.task_runs) to succeed, so later
          migrations read a populated MV. DEFERRED MVs are not waited for: nothing runs.
        - REFRESH MATERIALIZED VIEW without WITH SYNC MODE: the server answers QUERY_ID at once; with
          wait_for_mv the adapter follows that task run, then the newest run of the same task (a
          partitioned refresh continues in further runs), until it is final. WITH SYNC MODE returns
          when done, so nothing is polled.

        A statement rejected because another job holds the table (schema change, rollup, MV build,
        backup, restore, insert overwrite) is sent again until async_timeout: it was rejected, so
        re-sending is safe. Retries and polls follow one schedule (poll_schedule.py): poll_interval is
        the shortest wait, waits grow with the time waited and aim at the finish the job's Progress
        predicts. Each phase (retrying, waiting) is bounded by async_timeout. With wait=False jobs are
        identified but not waited for.
        Job ids come back in StatementResult.async_jobs: `column:<JobId>`, `rollup:<JobId>`,
        `optimize:<JobId>`, `task:<task name>` (CREATE async MV not waited for), `task_run:<QUERY_ID>`.
        """
        stmt = classify(sql)
        report = on_progress or _ignore
        if stmt.kind is Kind.ALTER_ASYNC:
            assert stmt.table is not None and stmt.job_type is not None
            source = self._alter_source(stmt.job_type, stmt.table.database or self.database, stmt.table.name)
            return self._run_with_jobs(sql, source, wait, report)
        if stmt.kind is Kind.CREATE_SYNC_MV:
            assert stmt.table is not None
            source = self._sync_mv_source(stmt)
            return self._run_with_jobs(sql, source, wait, report)
        where = self._where(stmt.table.database or self.database, stmt.table.name) if stmt.table else "the table"
        result, _ = self._send(sql, where, report)
        if stmt.kind is Kind.CREATE_ASYNC_MV and not stmt.deferred:
            with telemetry.async_wait_span("mv_create", where):
                result.async_jobs = self._follow_new_mv(stmt, wait and self.wait_for_mv, report)
        elif stmt.kind is Kind.REFRESH_MV and not stmt.sync_mode:
            with telemetry.async_wait_span("mv_refresh", where):
                result.async_jobs = self._follow_refresh(stmt, result, wait and self.wait_for_mv, report)
        return result

    def _send(self, sql: str, where: str, report: ProgressCallback,
              snapshot: Callable[[], list[_Job]] | None = None) -> tuple[StatementResult, int]:
        """Execute sql, re-sending it while the server says the table is busy; return (result, baseline).

        `snapshot` lists the table's jobs before each attempt: the newest JobId is the baseline, and the Progress of
        the newest unfinished one (the job holding the table) guides the wait before the next attempt."""
        deadline = self._clock() + self.async_timeout
        plan = self._poll_plan()
        attempt = 0
        while True:
            jobs = snapshot() if snapshot else []
            baseline = max((j.job_id for j in jobs), default=0)
            try:
                return self.execute(sql), baseline
            except OutcomeUnknown:
                raise
            except DatabaseError as exc:
                if not is_table_busy(exc.message):
                    raise
                attempt += 1
                first_line = exc.message.splitlines()[0] if exc.message else ""
                if self._clock() >= deadline:
                    raise AsyncJobFailed(
                        f"{where} stayed busy for {self.async_timeout:g}s; the statement was not applied: {first_line}",
                        errno=exc.errno,
                        hint="Another job holds the table. See it with SHOW ALTER TABLE COLUMN / ROLLUP / OPTIMIZE "
                             "(and SHOW BACKUP / SHOW RESTORE); run the migration again when it has finished, or raise "
                             "async_timeout (ROCKWAY_ASYNC_TIMEOUT).") from exc
                holder = max((j for j in jobs if j.state not in ("FINISHED", "CANCELLED")), default=None,
                             key=lambda j: j.job_id)
                wait = plan.next_wait(self._clock(), _job_progress([holder] if holder else []),
                                      job=holder.job_id if holder else None, deadline=deadline)
                report(f"{where} is busy, retry {attempt} in {wait:g}s: {first_line}")
                self._sleep(wait)

    # ALTER-style jobs (SHOW ALTER TABLE … / SHOW ALTER MATERIALIZED VIEW) -------------------
    def _alter_source(self, job_type: JobType, database: str | None, table: str) -> _JobSource:
        where = self._where(database, table)
        kind = job_type.value
        frm = self._db_clause(database)
        if job_type is JobType.ROLLUP:
            # SHOW ALTER TABLE ROLLUP is documented without WHERE/ORDER BY/LIMIT (3.x applies them to
            # COLUMN/OPTIMIZE only), so rows are filtered here.
            sql, params = f"SHOW ALTER TABLE ROLLUP{frm}", None
            show = f"SHOW ALTER TABLE ROLLUP{frm};"
        else:
            sql = f"SHOW ALTER TABLE {kind}{frm} WHERE TableName = %s ORDER BY JobId DESC LIMIT 1"
            params = (table,)
            show = f"SHOW ALTER TABLE {kind}{frm} WHERE TableName = {sql_quote(table)} ORDER BY JobId DESC LIMIT 1;"
        return _JobSource(kind.lower(), sql, params, lambda row: row.get("tablename") == table, where, show,
                          f"CANCEL ALTER TABLE {kind} FROM {where};")

    def _sync_mv_source(self, stmt: Classified) -> _JobSource:
        assert stmt.table is not None
        database = stmt.table.database or self.database
        mv = stmt.table.name
        base = stmt.base_table.name if stmt.base_table else None
        frm = self._db_clause(database)

        def match(row: dict[str, str]) -> bool:
            return row.get("rollupindexname") == mv and (base is None or row.get("tablename") == base)

        cancel = (f"CANCEL ALTER TABLE ROLLUP FROM {self._where(database, base)} (<JobId>);" if base
                  else f"DROP MATERIALIZED VIEW {self._where(database, mv)};")
        return _JobSource("rollup", f"SHOW ALTER MATERIALIZED VIEW{frm}", None, match,
                          f"materialized view {self._where(database, mv)}", f"SHOW ALTER MATERIALIZED VIEW{frm};", cancel)

    def _jobs(self, source: _JobSource) -> list[_Job]:
        jobs = []
        for raw in self._rows(source.sql, source.params):
            row = {k: show_text(v) for k, v in raw.items()}
            if not source.match(row):
                continue
            try:
                job_id = int(row.get("jobid", ""))
            except ValueError:
                continue
            jobs.append(_Job(job_id, row.get("state", "").upper(), row.get("msg", ""), row.get("progress", "")))
        return jobs

    def _run_with_jobs(self, sql: str, source: _JobSource, wait: bool, report: ProgressCallback) -> StatementResult:
        result, baseline = self._send(sql, source.where, report, lambda: self._jobs(source))
        with telemetry.async_wait_span(source.label, source.where):
            ids = self._wait_jobs(source, baseline, wait, report)
        result.async_jobs = tuple(f"{source.label}:{i}" for i in ids)
        return result

    def _wait_jobs(self, source: _JobSource, baseline: int, wait: bool, report: ProgressCallback) -> list[int]:
        deadline = self._clock() + self.async_timeout
        plan = self._poll_plan()
        seen: list[int] | None = None
        while True:
            jobs = sorted((j for j in self._jobs(source) if j.job_id > baseline), key=lambda j: j.job_id)
            if not jobs:
                if seen is None:
                    report(f"{source.where}: applied without an alter job (fast schema evolution or metadata-only change)")
                return seen or []
            seen = [j.job_id for j in jobs]
            for job in jobs:
                if job.state == "CANCELLED":
                    raise AsyncJobFailed(
                        f"{source.label} job {job.job_id} on {source.where} was CANCELLED: {job.msg or 'no message'}",
                        hint=f"The change did not take effect. Inspect with {source.show_hint} fix the cause and run the "
                             "migration again.")
            pending = [j for j in jobs if j.state != "FINISHED"]
            if not pending:
                report(f"{source.label} job {', '.join(map(str, seen))} on {source.where}: FINISHED")
                return seen
            for job in pending:
                report(f"{source.label} job {job.job_id} on {source.where}: {job.state}"
                       + (f" {job.progress}" if job.progress else ""))
            if not wait:
                return seen
            if self._clock() >= deadline:
                job = pending[0]
                raise AsyncJobFailed(
                    f"{source.label} job {job.job_id} on {source.where} is still {job.state}"
                    + (f" ({job.progress})" if job.progress else "")
                    + f" after {self.async_timeout:g}s; it keeps running on the server",
                    hint=f"Watch it: {source.show_hint} Stop it: {source.cancel_hint} Or raise async_timeout "
                         "(ROCKWAY_ASYNC_TIMEOUT) and run the migration again once it has finished.")
            self._sleep(plan.next_wait(self._clock(), _job_progress(pending), job=tuple(j.job_id for j in pending),
                                       deadline=deadline))

    # Asynchronous materialized views (information_schema.materialized_views / task_runs) ----
    def _mv_info(self, database: str | None, mv: str) -> dict[str, Any] | None:
        rows = self._rows(
            "SELECT MATERIALIZED_VIEW_ID, TASK_NAME, IS_ACTIVE, INACTIVE_REASON FROM information_schema.materialized_views"
            " WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s", (database, mv))
        return rows[0] if rows else None

    def _task_name(self, database: str | None, mv: str, where: str) -> str | None:
        info = self._mv_info(database, mv)
        if info is None:
            return None
        if show_text(info.get("is_active")).lower() == "false":
            raise AsyncJobFailed(f"materialized view {where} is inactive: {show_text(info.get('inactive_reason')) or 'no reason given'}",
                                 hint=f"Fix the cause, then ALTER MATERIALIZED VIEW {where} ACTIVE;")
        name = show_text(info.get("task_name"))
        return name or f"mv-{show_text(info.get('materialized_view_id'))}"

    _RUN_COLUMNS = "QUERY_ID, TASK_NAME, STATE, ERROR_MESSAGE, PROGRESS"

    def _run_by_query_id(self, query_id: str) -> dict[str, Any] | None:
        rows = self._rows(f"SELECT {self._RUN_COLUMNS} FROM information_schema.task_runs WHERE QUERY_ID = %s", (query_id,))
        return rows[0] if rows else None

    def _latest_run(self, task_name: str) -> dict[str, Any] | None:
        rows = self._rows(f"SELECT {self._RUN_COLUMNS} FROM information_schema.task_runs WHERE TASK_NAME = %s"
                          " ORDER BY CREATE_TIME DESC LIMIT 1", (task_name,))
        return rows[0] if rows else None

    def _mv_timeout(self, where: str, what: str, task: str | None) -> AsyncJobFailed:
        watch = (f"SELECT STATE, PROGRESS, ERROR_MESSAGE FROM information_schema.task_runs WHERE TASK_NAME = "
                 f"{sql_quote(task)} ORDER BY CREATE_TIME DESC LIMIT 1;" if task else
                 "SELECT * FROM information_schema.task_runs ORDER BY CREATE_TIME DESC LIMIT 10;")
        return AsyncJobFailed(f"{what} of materialized view {where} did not finish within {self.async_timeout:g}s; "
                              "it keeps running on the server",
                              hint=f"Watch it: {watch} Stop it: CANCEL REFRESH MATERIALIZED VIEW {where}; "
                                   "Or raise async_timeout (ROCKWAY_ASYNC_TIMEOUT) or set wait_for_mv = false.")

    def _check_run(self, run: dict[str, Any], where: str, what: str) -> str:
        state = show_text(run.get("state")).upper()
        if state == "FAILED":
            raise AsyncJobFailed(f"{what} of materialized view {where} FAILED (task run {show_text(run.get('query_id'))}): "
                                 f"{show_text(run.get('error_message')) or 'no message'}",
                                 hint=f"Inspect: SELECT * FROM information_schema.task_runs WHERE QUERY_ID = "
                                      f"{sql_quote(show_text(run.get('query_id')))}; then REFRESH MATERIALIZED VIEW {where} "
                                      "WITH SYNC MODE to retry.")
        return state

    def _wait_task(self, task: str, where: str, what: str, report: ProgressCallback, deadline: float) -> str:
        """Wait until the newest run of `task` is final; return its QUERY_ID."""
        plan = self._poll_plan()
        while True:
            run = self._latest_run(task)
            if run is not None:
                state = self._check_run(run, where, what)
                if state not in _RUN_BUSY:
                    report(f"{what} of {where}: {state}")
                    return show_text(run.get("query_id"))
                report(f"{what} of {where}: {state}" + (f" {show_text(run.get('progress'))}" if show_text(run.get("progress")) else ""))
            else:
                report(f"{what} of {where}: waiting for task {task} to start")
            if self._clock() >= deadline:
                raise self._mv_timeout(where, what, task)
            self._sleep(plan.next_wait(self._clock(), _run_progress(run), job=_run_id(run), deadline=deadline))

    def _follow_new_mv(self, stmt: Classified, wait: bool, report: ProgressCallback) -> tuple[str, ...]:
        assert stmt.table is not None
        database = stmt.table.database or self.database
        where = self._where(database, stmt.table.name)
        deadline = self._clock() + self.async_timeout
        task = self._task_name(database, stmt.table.name, where)
        if not wait:
            return (f"task:{task}",) if task else ()
        plan = self._poll_plan()
        while task is None:  # the MV is registered before CREATE answers; tolerate a lagging view anyway
            if self._clock() >= deadline:
                raise self._mv_timeout(where, "first refresh", None)
            self._sleep(plan.next_wait(self._clock(), deadline=deadline))
            task = self._task_name(database, stmt.table.name, where)
        query_id = self._wait_task(task, where, "first refresh", report, deadline)
        return (f"task_run:{query_id}",) if query_id else (f"task:{task}",)

    def _follow_refresh(self, stmt: Classified, result: StatementResult, wait: bool,
                        report: ProgressCallback) -> tuple[str, ...]:
        assert stmt.table is not None
        database = stmt.table.database or self.database
        where = self._where(database, stmt.table.name)
        query_id = ""
        names = [c.lower() for c in result.columns]
        if result.rows and "query_id" in names:
            query_id = show_text(result.rows[0][names.index("query_id")])
        jobs = (f"task_run:{query_id}",) if query_id else ()
        if not wait:
            return jobs
        deadline = self._clock() + self.async_timeout
        plan = self._poll_plan()
        task: str | None = None
        while query_id:
            run = self._run_by_query_id(query_id)
            if run is not None:
                state = self._check_run(run, where, "refresh")
                if state not in _RUN_BUSY:
                    task = show_text(run.get("task_name")) or None
                    break
                report(f"refresh of {where}: {state}" + (f" {show_text(run.get('progress'))}" if show_text(run.get("progress")) else ""))
            else:
                report(f"refresh of {where}: waiting for task run {query_id} to be listed")
            if self._clock() >= deadline:
                raise self._mv_timeout(where, "refresh", None)
            self._sleep(plan.next_wait(self._clock(), _run_progress(run), job=query_id, deadline=deadline))
        task = task or self._task_name(database, stmt.table.name, where)
        if task:
            # A refresh of many partitions continues in further task runs (partition_refresh_number).
            self._wait_task(task, where, "refresh", report, deadline)
        return jobs

    # --- run lock ----------------------------------------------------------------------------
    # --- the catalog after a statement whose outcome is unknown -----------------------------
    def catalog_has(self, obj: CatalogObject) -> bool | None:
        """As the base class, with two StarRocks rules.

        A column is judged only once no schema-change job of its table is still unfinished: ADD/DROP COLUMN
        is an asynchronous job whose State stays PENDING / WAITING_TXN / RUNNING (FINISHED_REWRITING in
        shared-data) until FINISHED or CANCELLED (starrocks-responses.md §2, starrocks-facts.md §2).
        Asynchronous materialized views are listed in information_schema.materialized_views (starrocks-facts.md §4).
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


class LockLost(DatabaseError):
    """The lease ran out and another run took the lock over (fencing on renew)."""


class DdlMutexLock(LockPrimitive):
    """A run lock made of one table: CREATE TABLE without IF NOT EXISTS succeeds for exactly one caller.

    The table's COMMENT holds the owner as JSON (host, pid, run_id, acquired_at, expires_at); a
    contender that finds the table reads it from information_schema.tables.TABLE_COMMENT. A lease
    that has run out is taken over: the contender re-reads the comment right before
    `DROP TABLE … FORCE` and drops only if it is still the expired one it saw, then tries CREATE once
    more. renew() moves expires_at forward with `ALTER TABLE … COMMENT = "…"` (3.1+) after checking the
    comment still names this run; release() drops the table only when the comment names this run.

    Remaining race (documented, not closed): two contenders that both saw the same expired comment
    can interleave as A re-reads, B re-reads, A drops, A creates, B drops (A's new table), B creates —
    both then believe they hold the lock. StarRocks has no compare-and-swap on DDL to prevent it. It
    needs a lease to expire (the holder stopped renewing) and two waiters within a few milliseconds;
    the loser finds out at its next renew(), which raises LockLost (fencing), so renew well inside the
    lease. Expiry compares the holder's expires_at with this host's UTC clock: keep clocks in sync.
    """

    needs_renewal = True

    def __init__(self, adapter: StarRocksAdapter, name: str, *, lease_seconds: float,
                 properties: dict[str, str] | None = None) -> None:
        self.adapter = adapter
        self.name = validate_identifier(name, "lock table name")
        self.lease_seconds = float(lease_seconds)
        self.properties = properties

    @property
    def where(self) -> str:
        return self.adapter.qualified(self.name)

    def _stamp(self, owner: LockOwner, acquired_at: str | None = None) -> LockOwner:
        now = self.adapter._utcnow()
        return LockOwner(owner.host, owner.pid, owner.run_id,
                         acquired_at=acquired_at or owner.acquired_at or now.isoformat(timespec="seconds"),
                         expires_at=(now + timedelta(seconds=self.lease_seconds)).isoformat(timespec="seconds"))

    @staticmethod
    def _encode(owner: LockOwner) -> str:
        return json.dumps({"host": owner.host, "pid": owner.pid, "run_id": owner.run_id,
                           "acquired_at": owner.acquired_at, "expires_at": owner.expires_at},
                          separators=(",", ":"), sort_keys=True)

    @staticmethod
    def _decode(comment: str) -> LockOwner:
        try:
            data = json.loads(comment)
            return LockOwner(host=str(data["host"]), pid=int(data["pid"]), run_id=str(data["run_id"]),
                             acquired_at=str(data.get("acquired_at", "")), expires_at=str(data.get("expires_at", "")))
        except (ValueError, TypeError, KeyError):
            return LockOwner(host="unknown", pid=0, run_id=f"unreadable lock comment {comment!r}")

    def create_sql(self, owner: LockOwner) -> str:
        """The acquiring statement: CREATE TABLE (no IF NOT EXISTS) with the owner in its COMMENT."""
        spec = TableSpec(self.name, (Column("id", "INT", nullable=False),), ("id",), comment=self._encode(owner))
        return self.adapter._table_ddl(spec, self.properties, if_not_exists=False, buckets=1)

    def _comment(self) -> str | None:
        rows = self.adapter.query(
            "SELECT TABLE_COMMENT FROM information_schema.tables WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s",
            (self.adapter.database, self.name))
        return show_text(rows[0][0]) if rows else None

    def _expired(self, holder: LockOwner) -> bool:
        if not holder.expires_at:
            return False
        try:
            until = datetime.fromisoformat(holder.expires_at)
        except ValueError:
            return False
        if until.tzinfo is None:
            until = until.replace(tzinfo=timezone.utc)
        return until <= self.adapter._utcnow()

    def _create(self, owner: LockOwner) -> bool:
        try:
            self.adapter.execute(self.create_sql(self._stamp(owner)))
            return True
        except OutcomeUnknown:
            raise
        except DatabaseError as exc:
            if is_already_exists(exc.errno, exc.message):
                return False
            raise

    def try_acquire(self, owner: LockOwner, wait_seconds: float) -> bool:
        """Create the lock table within wait_seconds (polling about once a second); take over an expired lease."""
        clock, sleep = self.adapter._clock, self.adapter._sleep
        deadline = clock() + max(0.0, wait_seconds)
        while True:
            if self._create(owner):
                return True
            comment = self._comment()
            if comment is None:
                if self._create(owner):  # released between our CREATE and the read
                    return True
            else:
                holder = self._decode(comment)
                if self._expired(holder) and self._comment() == comment:
                    self.adapter.execute(f"DROP TABLE IF EXISTS {self.where} FORCE")
                    if self._create(owner):
                        return True
            remaining = deadline - clock()
            if remaining <= 0:
                return False
            sleep(min(1.0, remaining))

    def holder(self) -> LockOwner | None:
        comment = self._comment()
        return None if comment is None else self._decode(comment)

    def renew(self, owner: LockOwner) -> None:
        """Extend the lease, after checking the lock is still ours (fencing)."""
        comment = self._comment()
        held = None if comment is None else self._decode(comment)
        if held is None or held.run_id != owner.run_id:
            who = "nobody (the lock table is gone)" if held is None else held.describe()
            raise LockLost(f"run lock {self.where} is no longer held by run {owner.run_id}: now {who}",
                           hint="The lease ran out before it was renewed. Stop this run; check what the other "
                                "run changed before going on.")
        fresh = self._stamp(owner, acquired_at=held.acquired_at)
        self.adapter.execute(f"ALTER TABLE {self.where} COMMENT = {sql_string(self._encode(fresh))}")

    def release(self, owner: LockOwner) -> None:
        """Drop the lock table if it names this run; leave someone else's lock alone."""
        held = self.holder()
        if held is not None and held.run_id == owner.run_id:
            self.adapter.execute(f"DROP TABLE IF EXISTS {self.where} FORCE")

    def force_release(self) -> LockOwner | None:
        """Drop the lock table whoever holds it; return who held it."""
        held = self.holder()
        if held is not None:
            self.adapter.execute(f"DROP TABLE IF EXISTS {self.where} FORCE")
        return held
