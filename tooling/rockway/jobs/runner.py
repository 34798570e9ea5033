"""Run one job for one window: load (retried on transient errors), verify, then move the watermark.

Order of a run (each attempt is idempotent, so a retry after an ambiguous failure is safe):
  1. etl_job_run row `running`; then the upstream rule (jobs/upstream.py): a window that a depends_on job has
     not completed ends the run `failed` here, before anything is loaded;
  2. per attempt, on a connection from the pool: session settings, work tables and the copy from a
     `dsn` source, then the engine's load plan (one transaction on MySQL/MariaDB, labelled statements on
     StarRocks); a transient error (connection lost, timeout, busy table) discards the connection, kills
     the lost session where the engine can, waits with exponential backoff and jitter, and tries again;
  3. the job's checks through the injected Verifier; a CRITICAL failure ends the run `failed` and the
     watermark stays where it was;
  4. the watermark advances to the window's end (never backwards), only when window_done: the load committed
     and no CRITICAL check failed (the same rule makes the run `success`); a backfill chunk that moves it has
     also re-read the job's lookback before it, as the incremental run it stands in for would (backfill_read);
  5. etl_job_run row `success` (or `failed` with the error), and a JSON log line at start and end.

Telemetry: the run is one `job <name>` span (spans.job_span; a child of the `pipeline <name>` span when a
pipeline runs it, in whichever worker thread) with rockway.run_id, rockway.pipeline, db.collection.name (the
target as `db.table`), the window (rockway.window.start/end; rockway.window.read_start when a backfill chunk
also re-reads its lookback), the batch label, rows read/written, attempts and rockway.status (spans.set_outcome).
Its statements are CLIENT spans below it (pool.trace_statements), the copy from a `dsn` source a `copy <job>`
span, the load a `load <job>` span, the checks a `verify <job>` span.
Metrics at the end: rockway.rows.loaded (rows written into the target) and rockway.load.duration by status.
Log lines are written inside the span, so they carry its trace and span ids and the job's run_id.
"""

from __future__ import annotations

import logging
import socket
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable, Mapping

from rockway.observability import attributes, metrics, redaction, spans
from rockway.adapters import connect_dsn
from rockway.adapters.base import Adapter
from rockway.adapters.job_ops import JobOps, connection_id
from rockway.adapters.registry import job_ops
from rockway.clock import utcnow
from rockway.config import Settings, parse_dsn
from rockway.interfaces import VerificationOutcome, Verifier
from rockway.errors import DatabaseUnavailable, RockwayError, UsageError
from rockway.jobs.pool import Pool, statement_numbering
from rockway.jobs.retry import RetryPolicy, retrying
from rockway.jobs.settings import JobsSettings
from rockway.jobs.spec import JobSpec
from rockway.jobs.sqlgen import JobSql
from rockway.jobs.store import JobRun, Store, window_key
from rockway.jobs.upstream import describe as describe_gaps
from rockway.jobs.upstream import upstream_gaps
from rockway.jobs.window import Window, as_datetime, format_value, job_label, shift

log = logging.getLogger("rockway.jobs")
BACKFILL = "backfill"  # etl_job_run.pipeline of a backfill chunk's run (api.backfill)


class JobFailed(RockwayError):
    """A job or pipeline did not succeed (exit 1)."""


@dataclass
class JobResult:
    job: str
    run_id: str
    status: str  # success | failed | skipped
    window: Window | None = None
    rows_read: int | None = None
    rows_written: int | None = None
    attempts: int = 0
    error: str | None = None
    checks: VerificationOutcome = field(default_factory=VerificationOutcome)
    watermark: tuple[Any, Any] | None = None  # (old, new)
    skipped_labels: list[str] = field(default_factory=list)
    loaded: bool = False  # the window's load committed (in the latest attempt)
    read_window: Window | None = None  # what the load read, when more than `window` (backfill_read)


def window_done(result: JobResult) -> bool:
    """The one rule for recording a window done (etl_job_run `success`, the watermark moved): its load committed
    and no CRITICAL check failed. The upstream rule (jobs/upstream.py) refuses a window before its load."""
    return result.loaded and not result.checks.blocks


@dataclass
class JobEnv:
    """What every job of one invocation shares."""

    settings: Settings
    jobs: JobsSettings
    pool: Pool
    verifier: Verifier | None
    etl_db: str
    pipeline: str | None = None
    as_of: datetime | None = None  # reference time of window ends (UTC, naive); default now
    sleep: Callable[[float], None] = time.sleep
    on_event: Callable[[str, str], None] = lambda job, message: None
    specs: Mapping[str, JobSpec] = field(default_factory=dict)  # the project's jobs: depends_on is checked in these


def upper_bound(spec: JobSpec, env: JobEnv, adapter: Adapter, ops: JobOps, sql: JobSql) -> Any:
    """The window's end: now − settle (datetime), yesterday (date), or the source's newest value (upper_bound)."""
    wm = spec.watermark
    assert wm is not None
    if wm.upper_bound:
        text = sql.render_name(wm.upper_bound, "watermark.upper_bound")
        reader = adapter
        if sql.python_path:
            reader = _source_adapter(sql, env)
        try:
            rows = reader.query(text)
        finally:
            if reader is not adapter:
                reader.close()
        from rockway.jobs.window import parse_value

        return parse_value(wm.type, rows[0][0]) if rows and rows[0][0] is not None else None
    as_of = env.as_of or utcnow()
    if wm.type == "date":
        from zoneinfo import ZoneInfo

        local = as_of.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(env.jobs.business_time_zone))
        return local.date() - timedelta(days=1)
    if wm.type == "datetime":
        return as_of - env.jobs.settle
    raise UsageError(f"job {spec.name}: an integer watermark needs watermark.upper_bound")


def next_window(spec: JobSpec, current: Any, hi: Any) -> Window:
    """(watermark − lookback, hi]; the first run starts at watermark.initial."""
    if spec.mode == "full" or spec.watermark is None:
        return Window(spec.watermark.type if spec.watermark else "full")
    wm = spec.watermark
    start = current if current is not None else wm.initial
    if start is None:
        raise UsageError(f"job {spec.name} has no watermark yet",
                         hint=f"Load its history first: rockway job backfill {spec.name} --from YYYY-MM-DD --to YYYY-MM-DD,"
                              " or set watermark.initial in its spec.")
    lo = shift(wm.type, start, wm.lookback) if current is not None else start
    return Window(wm.type, lo, hi)


def backfill_read(spec: JobSpec, chunk: Window, stored: Any) -> Window:
    """What a backfill chunk reads: the chunk, and when it will move the watermark (it starts at or before the
    stored watermark and ends after it: _advance, mode `contiguous`) also the job's lookback before that
    watermark. Rows committed late inside the lookback are read by the next run (jobs/stg_billing_item.yaml:
    "late commits within 2 hours are picked up by the next run"); once the chunk has moved the watermark, the
    next incremental run re-reads only the lookback before the chunk's end, so the chunk is that next run.
    A successful chunk records what it read in etl_job_run (what the upstream rule of jobs/upstream.py counts
    as completed); a failed one records the chunk: re-reading loaded rows leaves no hole before it."""
    wm = spec.watermark
    if wm is None or stored is None or chunk.lo is None or chunk.hi is None or not chunk.lo <= stored < chunk.hi:
        return chunk
    start = shift(wm.type, stored, wm.lookback)
    return Window(chunk.kind, start, chunk.hi) if start < chunk.lo else chunk


def chunk_done(spec: JobSpec, chunk: Window, done: list[tuple[Any, Any, Any]]) -> bool:
    """Whether a backfill skips chunk as done: a successful run recorded it, or a backfill run recorded it with
    the lookback before it (backfill_read reads from the stored watermark − lookback, which lies at most one
    lookback before the chunk). done: (window_start, window_end, pipeline) of the job's successful runs."""
    lo, hi = window_key(chunk.lo, chunk.hi)
    if (lo, hi) in {(start, end) for start, end, _ in done}:
        return True
    wm = spec.watermark
    earliest = window_key(shift(wm.type, chunk.lo, wm.lookback), None)[0] if wm and chunk.lo is not None else None
    if lo is None or earliest is None:
        return False
    return any(pipeline == BACKFILL and end == hi and start is not None and earliest <= start < lo
               for start, end, pipeline in done)


def _source_adapter(sql: JobSql, env: JobEnv) -> Adapter:
    from rockway.adapters import Timeouts

    src = sql.source
    dsn = parse_dsn(src.dsn or "").with_password(src.password)
    s = env.settings
    try:
        return connect_dsn(dsn, Timeouts(s.connect_timeout, s.read_timeout, s.write_timeout))
    except DatabaseUnavailable as exc:
        if exc.hint and "ROCKWAY_PASSWORD" in exc.hint:  # the source's own variable, not the warehouse's
            exc.hint = f"Check the user in the DSN of source {src.name!r} and {src.password_env}."
        raise


def _log(level: int, event: str, **fields: Any) -> None:
    log.log(level, "%s %s", event, fields.get("job", ""), extra={"event": event, **fields})


def run_job(spec: JobSpec, env: JobEnv, *, window: Window | None = None, advance: str = "window",
            trigger: str = "run") -> JobResult:
    """Run spec once. window None: the next incremental window (or everything for a full job).

    advance: `window` moves the watermark to the window's end; `contiguous` (backfill) only when the
    window starts at or before the stored watermark, and then the load also re-reads the lookback before that
    watermark (backfill_read); `never` leaves it alone.
    A window whose upstream jobs (depends_on) have not completed it is not loaded: the run fails, naming them.
    """
    explicit = window is not None  # a backfill chunk: recorded done for good, so its upstream days must be whole
    run_id = spans.new_run_id()
    started = utcnow()
    clock = time.perf_counter()
    policy: RetryPolicy = spec.retry or env.jobs.retry
    result = JobResult(spec.name, run_id, "failed")
    run = JobRun(run_id, spec.name, env.pipeline, started, host=socket.gethostname())
    table: str | None = None
    with spans.job_span(spec.name, run_id=run_id, pipeline=env.pipeline, **{
            "rockway.trigger": trigger, "rockway.job.kind": spec.kind, "rockway.load.strategy": spec.load.strategy,
    }) as span, statement_numbering():
        run.trace_id = spans.current_trace_id()
        holder = {"adapter": env.pool.get()}
        try:
            ops = job_ops(holder["adapter"])
            sql = JobSql(spec, env.settings, env.jobs, ops, run_id=run_id, loaded_at=started)
            table = f"{sql.target_db}.{sql.target_table}"
            span.set_attribute(attributes.DB_COLLECTION_NAME, table)

            def transient(exc: BaseException) -> bool:
                return ops.is_transient(exc)

            def on_retry(attempt: int, exc: BaseException, wait: float) -> None:
                lost = connection_id(holder["adapter"])
                env.pool.discard(holder["adapter"])
                holder["adapter"] = env.pool.get()
                fresh_ops = job_ops(holder["adapter"])
                fresh_ops.recover(lost)
                _log(logging.WARNING, "job_retry", job=spec.name, pipeline=env.pipeline, attempt=attempt,
                     wait_s=round(wait, 3), error=redaction.redact_exception(exc))
                env.on_event(spec.name, f"attempt {attempt} failed ({exc}); retrying in {wait:.1f}s")

            def with_conn(fn: Callable[[Adapter, JobOps, Store], Any]) -> Callable[[int], Any]:
                def call(attempt: int) -> Any:
                    a = holder["adapter"]
                    o = job_ops(a)
                    return fn(a, o, Store(a, o, env.etl_db))
                return call

            if window is None:
                def compute(a: Adapter, o: JobOps, s: Store) -> Window:
                    if spec.mode == "full" or spec.watermark is None:
                        return Window(spec.watermark.type if spec.watermark else "full")
                    row = s.watermark(spec.name, spec.source)
                    return next_window(spec, row.value() if row else None, upper_bound(spec, env, a, o, sql))
                window = retrying(with_conn(compute), policy, transient, on_retry=on_retry, sleep=env.sleep)
            result.window = reading = window
            if explicit and advance == "contiguous" and spec.watermark is not None:
                def stored(a: Adapter, o: JobOps, s: Store) -> Any:
                    row = s.watermark(spec.name, spec.source)
                    return row.value() if row else None
                reading = backfill_read(spec, window, retrying(with_conn(stored), policy, transient,
                                                               on_retry=on_retry, sleep=env.sleep))
                if reading != window:
                    result.read_window = reading
                    span.set_attribute("rockway.window.read_start", format_value(reading.lo))
            run.window_start, run.window_end = as_datetime(window.lo), as_datetime(window.hi)
            _window_attributes(span, spec, window)
            _log(logging.INFO, "job_start", job=spec.name, pipeline=env.pipeline, window=window.describe(),
                 window_start=_text(window.lo), window_end=_text(window.hi), trigger=trigger,
                 **({"read_window": reading.describe()} if reading != window else {}))
            retrying(with_conn(lambda a, o, s: s.record(run)), policy, transient, on_retry=on_retry, sleep=env.sleep)
            gaps = []
            if spec.depends_on and not window.empty:
                loading = window

                def check_upstream(a: Adapter, o: JobOps, s: Store) -> list[Any]:
                    return upstream_gaps(spec, loading, env.specs, s, whole_days=explicit, env_name=env.settings.env)
                gaps = retrying(with_conn(check_upstream), policy, transient, on_retry=on_retry, sleep=env.sleep)
            if window.empty or (window.hi is None and not window.full):
                result.status = "skipped"
                result.error = "nothing to load: the window is empty"
            elif gaps:
                result.status, result.error = "failed", describe_gaps(spec, window, gaps)
                span.set_attribute("rockway.upstream.incomplete", [g.upstream for g in gaps])
                env.on_event(spec.name, result.error)
            else:
                def attempt(n: int) -> None:
                    result.attempts, result.loaded = n, False
                    a = holder["adapter"]
                    o = job_ops(a)
                    job_sql = JobSql(spec, env.settings, env.jobs, o, run_id=run_id, loaded_at=started)
                    _load(job_sql, o, a, env, reading, n, result)
                    result.checks = _verify(spec, env, a, reading, run_id)
                    if window_done(result):
                        _advance(spec, Store(a, o, env.etl_db), window, reading, result, run_id, advance)

                retrying(attempt, policy, transient, on_retry=on_retry, sleep=env.sleep)
                if window_done(result):
                    result.status = "success"
                    run.window_start = as_datetime(reading.lo)  # what it read (backfill_read)
                else:
                    names = ", ".join(c.name for c in result.checks.failed if c.severity.value == "CRITICAL")
                    result.status, result.error = "failed", f"CRITICAL check(s) failed: {names}; watermark not moved"
        except Exception as exc:  # noqa: BLE001 - recorded, then re-raised for the caller to report
            result.status, result.error = "failed", f"{type(exc).__name__}: {getattr(exc, 'message', str(exc))}"
            _finish(run, result, holder, env, policy)
            _outcome(span, result, table, time.perf_counter() - clock)
            raise
        _finish(run, result, holder, env, policy)
        _outcome(span, result, table, time.perf_counter() - clock)
    return result


def _window_attributes(span: Any, spec: JobSpec, window: Window) -> None:
    """The window and the batch label of (job, window) on the job span."""
    span.set_attribute("rockway.window", window.describe())
    for key, value in (("rockway.window.start", _text(window.lo)), ("rockway.window.end", _text(window.hi))):
        if value is not None:
            span.set_attribute(key, value)
    label = job_label(spec.name, window)
    span.set_attribute("rockway.batch.label", label)
    if spec.audit.batch:  # the value written into the target's batch column
        span.set_attribute("rockway.batch.id", label)


def _outcome(span: Any, result: JobResult, table: str | None, seconds: float) -> None:
    """The job span's rows and outcome, and the load metrics (rows loaded, duration by final status)."""
    for key, value in (("rockway.rows.read", result.rows_read), ("rockway.rows.written", result.rows_written),
                       ("rockway.attempts", result.attempts)):
        if value is not None:
            span.set_attribute(key, value)
    if result.skipped_labels:
        span.set_attribute("rockway.load.skipped_labels", list(result.skipped_labels))
    failed = [c.name for c in result.checks.failed]
    if failed:
        span.set_attribute("rockway.checks.failed", failed)
    spans.set_outcome(span, result.status, result.error)
    if result.rows_written is not None and table is not None:
        metrics.record_rows_loaded(table, result.rows_written, job=result.job)
    metrics.record_load(seconds, result.job, result.status, table=table)


def _finish(run: JobRun, result: JobResult, holder: dict[str, Adapter], env: JobEnv, policy: RetryPolicy) -> None:
    run.status, run.ended_at = result.status, utcnow()
    run.rows_read, run.rows_written, run.error_message = result.rows_read, result.rows_written, result.error
    try:
        def write(attempt: int) -> None:
            a = holder["adapter"]
            Store(a, job_ops(a), env.etl_db).record(run)

        def reconnect(attempt: int, exc: BaseException, wait: float) -> None:
            env.pool.discard(holder["adapter"])
            holder["adapter"] = env.pool.get()

        retrying(write, policy, job_ops(holder["adapter"]).is_transient, on_retry=reconnect, sleep=env.sleep)
        env.pool.put(holder["adapter"])
    except Exception as exc:  # noqa: BLE001 - the run's outcome stands; say the record failed
        env.pool.discard(holder["adapter"])
        _log(logging.ERROR, "job_record_failed", job=run.job_name, error=redaction.redact_exception(exc))
    level = logging.INFO if result.status != "failed" else logging.ERROR
    _log(level, "job_end", job=run.job_name, pipeline=env.pipeline, status=result.status, rows_read=result.rows_read,
         rows_written=result.rows_written, attempts=result.attempts, window_start=_text(run.window_start),
         window_end=_text(run.window_end), duration_s=round((run.ended_at - run.started_at).total_seconds(), 3),
         error=result.error)
    if result.status == "failed":
        metrics.count_error("job_failed", **{"rockway.job": run.job_name})


def _load(sql: JobSql, ops: JobOps, adapter: Adapter, env: JobEnv, window: Window, attempt: int,
          result: JobResult) -> None:
    if sql.spec.timeout:  # the pool set the default timeouts when it opened the connection
        ops.setup_session(sql.spec.timeout)
    plan = sql.plan(window, attempt=attempt)
    emit = lambda message: env.on_event(sql.spec.name, message)  # noqa: E731
    rows_read = None
    if plan.copy is not None:
        for statement in plan.copy_ddl:
            adapter.execute(statement)
        with spans.span(f"copy {sql.spec.name}", {
                attributes.DB_COLLECTION_NAME: f"{plan.copy.work_db}.{plan.copy.work_table}",
                "rockway.source": sql.spec.source, "rockway.copy.batch_size": plan.copy.source.batch_size}) as span:
            source = _source_adapter(sql, env)
            try:
                rows_read = ops.copy(source, plan.copy.sql, plan.copy.qualified, [c for c, _ in plan.copy.columns],
                                     batch_size=plan.copy.source.batch_size, label=plan.copy.label, on_event=emit)
            finally:
                source.close()
            span.set_attribute("rockway.rows.read", rows_read)
    with spans.span(f"load {sql.spec.name}", {
            attributes.DB_COLLECTION_NAME: f"{sql.target_db}.{sql.target_table}",
            "rockway.batch.label": plan.request.label, "rockway.load.strategy": plan.request.strategy,
            "rockway.attempt": attempt}) as span:
        loaded = ops.execute(plan.steps, on_event=emit)
        span.set_attribute("rockway.rows.written", loaded.rows_written)
        if loaded.labels:
            span.set_attribute("rockway.load.labels", list(loaded.labels))
    result.rows_written = loaded.rows_written
    result.rows_read = rows_read if rows_read is not None else loaded.rows_written
    result.skipped_labels = loaded.skipped_labels
    result.loaded = True


def _verify(spec: JobSpec, env: JobEnv, adapter: Adapter, window: Window, run_id: str) -> VerificationOutcome:
    if not spec.checks:
        return VerificationOutcome()
    if env.verifier is None:
        raise JobFailed(f"job {spec.name} has checks ({', '.join(spec.checks)}) but no verifier is configured",
                        hint="Install rockway.verify or set [jobs] verifier = \"module:factory\" in jobs/jobs.toml.")
    scope = {"job": spec.name, "target": spec.target, **check_scope(window),
             "watermark_column": spec.watermark.column if spec.watermark else None}
    with spans.span(f"verify {spec.name}", {"rockway.checks": list(spec.checks)}):
        return env.verifier.verify(adapter, checks=list(spec.checks), scope=scope, run_id=run_id, pipeline=env.pipeline)


def _advance(spec: JobSpec, store: Store, window: Window, reading: Window, result: JobResult, run_id: str,
             mode: str) -> None:
    if spec.watermark is None or window.hi is None or mode == "never":
        return
    current = store.watermark(spec.name, spec.source)
    old = current.value() if current else None
    if mode == "contiguous" and old is not None and (window.lo is None or window.lo > old):
        result.watermark = (old, old)  # a gap before this chunk: moving the watermark would skip it
        return
    result.watermark = store.advance(spec.name, spec.source, spec.watermark.type, window.hi, lo=reading.lo,
                                     hi=window.hi, rows=result.rows_written, run_id=run_id, current=current)


def check_scope(window: Window) -> dict[str, Any]:
    """Scope variables of a window for checks: window_lo/window_hi are the (lo, hi] bounds; window_start/
    window_end are half-open [start, end): the days first..last+1 of a date window, else lo and hi."""
    out: dict[str, Any] = {"window_lo": _text(window.lo), "window_hi": _text(window.hi)}
    if window.kind == "date" and window.lo is not None and window.hi is not None:
        out.update(window_start=(window.lo + timedelta(days=1)).isoformat(),
                   window_end=(window.hi + timedelta(days=1)).isoformat())
    else:
        out.update(window_start=_text(window.lo), window_end=_text(window.hi))
    return out


def _text(value: Any) -> str | None:
    return None if value is None else format_value(value)
