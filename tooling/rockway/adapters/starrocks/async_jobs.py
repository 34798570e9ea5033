"""How a StarRocks connection runs a migration statement: send it, re-send it while the table is busy, and wait for
the asynchronous work it starts (ALTER jobs in SHOW ALTER TABLE / SHOW ALTER MATERIALIZED VIEW, materialized-view
task runs in information_schema.task_runs). Every wait follows one schedule (adapters/poll_schedule.py).

StarRocksAdapter (base.py) is this class with its settings, rockway's own tables and the run lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

from rockway.errors import AsyncJobFailed, DatabaseError, OutcomeUnknown
from rockway.observability import spans
from rockway.adapters.base import ProgressCallback, StatementResult, ignore_progress, quote_ident, quote_string
from rockway.adapters.poll_schedule import PollPlan, PollSchedule, Progress, parse_progress
from rockway.adapters.pymysql_base import PyMySQLAdapter
from rockway.adapters.starrocks.sql import Classified, JobType, Kind, classify, is_table_busy, show_text

# information_schema.task_runs STATE values that are not final. Final: SUCCESS, FAILED,
# MERGED (folded into a newer run of the same task, 3.1.12+) and SKIPPED (nothing to refresh, 4.0+).
_RUN_BUSY = {"PENDING", "RUNNING"}


def _job_progress(jobs: Sequence["_Job"]) -> Progress | None:
    """The Progress (`done/total`) of unfinished ALTER jobs added up; None unless every one shows it (it is printed
    only while a job is RUNNING, as the rows recorded in tests/support/starrocks_replay.py show)."""
    parsed = [parse_progress(j.progress) for j in jobs]
    if not parsed or any(p is None for p in parsed):
        return None
    return Progress(sum(p.done for p in parsed if p), sum(p.total for p in parsed if p))


def _run_progress(run: dict[str, Any] | None) -> Progress | None:
    """A RUNNING task run's PROGRESS (`50%`); None before it runs (a PENDING run's 0% says nothing about its rate)."""
    if run is None or show_text(run.get("state")).upper() != "RUNNING":
        return None
    return parse_progress(show_text(run.get("progress")))


def _run_id(run: dict[str, Any] | None) -> str:
    return show_text(run.get("query_id")) if run else ""


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


class AsyncJobsAdapter(PyMySQLAdapter):
    """A StarRocks connection's `run_statement`: the waits and retries of asynchronous DDL."""

    # Set by StarRocksAdapter (its settings and the clocks tests replace).
    async_timeout: float
    poll_interval: float
    poll_lateness: float
    wait_for_mv: bool
    _clock: Callable[[], float]
    _sleep: Callable[[float], None]

    def _rows(self, sql: str, params: Sequence[Any] | None = None) -> list[dict[str, Any]]:
        """Rows as dicts keyed by lower-cased column label (SHOW output is read by name, never by position)."""
        result = self.execute(sql, params)
        names = [c.lower() for c in result.columns]
        return [dict(zip(names, row)) for row in result.rows]

    def _poll_plan(self) -> PollPlan:
        """The waits of one wait loop (poll_schedule.py): poll_interval is the shortest wait and the first one,
        poll_lateness how late a finish may be noticed."""
        return PollSchedule.for_interval(self.poll_interval, self.poll_lateness).start(self._clock())

    def _db_clause(self, database: str | None) -> str:
        return f" FROM {quote_ident(database)}" if database else ""

    def _where(self, database: str | None, name: str) -> str:
        return self.qualified(name, database)

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
        report = on_progress or ignore_progress
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
            with spans.async_wait_span("mv_create", where):
                result.async_jobs = self._follow_new_mv(stmt, wait and self.wait_for_mv, report)
        elif stmt.kind is Kind.REFRESH_MV and not stmt.sync_mode:
            with spans.async_wait_span("mv_refresh", where):
                result.async_jobs = self._follow_refresh(stmt, result, wait and self.wait_for_mv, report)
        return result

    def _send(self, sql: str, where: str, report: ProgressCallback,
              snapshot: Callable[[], list[_Job]] | None = None) -> tuple[StatementResult, int]:
        """Execute sql, re-sending it while the server says the table is busy; return (result, baseline).

        `snapshot` lists the table's jobs before each attempt: the newest JobId is the baseline, and the Progress of
        the newest unfinished one (the job holding the table) guides the wait before the next attempt. After a rejection
        the statement is sent again only once that job has left the list of unfinished ones: until then each look
        is the SHOW alone (a table held by a job of another kind, or by a backup, is retried on every look)."""
        deadline = self._clock() + self.async_timeout
        plan = self._poll_plan()
        attempt = 0
        rejected: DatabaseError | None = None  # the last rejection: its first line and errno go into a timeout
        while True:
            jobs = snapshot() if snapshot else []
            baseline = max((j.job_id for j in jobs), default=0)
            holder = max((j for j in jobs if j.state not in ("FINISHED", "CANCELLED")), default=None,
                         key=lambda j: j.job_id)
            if attempt and holder is not None:
                # rejected before and the job holding the table still runs: re-sending could only be rejected again
                # (FINISHED_REWRITING, shared-data, counts as running: at worst the statement waits for its last step)
                if self._clock() >= deadline:
                    raise self._busy_timeout(where, rejected)
                wait = plan.next_wait(self._clock(), _job_progress([holder]), job=holder.job_id, deadline=deadline)
                report(f"{where} is busy ({holder.state.lower()} job {holder.job_id}), next look in {wait:g}s")
                self._sleep(wait)
                continue
            try:
                return self.execute(sql), baseline
            except OutcomeUnknown:
                raise
            except DatabaseError as exc:
                if not is_table_busy(exc.message):
                    raise
                attempt += 1
                rejected = exc
                first_line = exc.message.splitlines()[0] if exc.message else ""
                if self._clock() >= deadline:
                    raise self._busy_timeout(where, exc) from exc
                wait = plan.next_wait(self._clock(), _job_progress([holder] if holder else []),
                                      job=holder.job_id if holder else None, deadline=deadline)
                report(f"{where} is busy, retry {attempt} in {wait:g}s: {first_line}")
                self._sleep(wait)

    def _busy_timeout(self, where: str, rejected: DatabaseError | None) -> AsyncJobFailed:
        first_line = rejected.message.splitlines()[0] if rejected is not None and rejected.message else ""
        return AsyncJobFailed(
            f"{where} stayed busy for {self.async_timeout:g}s; the statement was not applied: {first_line}",
            errno=rejected.errno if rejected is not None else None,
            hint="Another job holds the table. See it with SHOW ALTER TABLE COLUMN / ROLLUP / OPTIMIZE "
                 "(and SHOW BACKUP / SHOW RESTORE); run the migration again when it has finished, or raise "
                 "async_timeout (ROCKWAY_ASYNC_TIMEOUT).")

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
            show = f"SHOW ALTER TABLE {kind}{frm} WHERE TableName = {quote_string(table)} ORDER BY JobId DESC LIMIT 1;"
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
        with spans.async_wait_span(source.label, source.where):
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
                 f"{quote_string(task)} ORDER BY CREATE_TIME DESC LIMIT 1;" if task else
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
                                      f"{quote_string(show_text(run.get('query_id')))}; then REFRESH MATERIALIZED VIEW {where} "
                                      "WITH SYNC MODE to retry.")
        return state

    def _wait_task(self, task: str, where: str, what: str, report: ProgressCallback, deadline: float,
                   plan: PollPlan) -> str:
        """Wait until the newest run of `task` is final; return its QUERY_ID. `plan` is the wait's schedule so far (a
        refresh's later runs are the same wait: their polls keep growing with the time waited since it began)."""
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
        query_id = self._wait_task(task, where, "first refresh", report, deadline, plan)
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
            self._wait_task(task, where, "refresh", report, deadline, plan)
        return jobs
