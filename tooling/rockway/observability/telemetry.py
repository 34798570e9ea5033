"""Spans, metrics, lifecycle log lines and SQL redaction over the OpenTelemetry API (the SDK is set up by the CLI).

Nothing here exports anything by itself: without a configured SDK every call is a cheap no-op.
SQL never reaches telemetry verbatim: `db.query.text` is `redact_sql(sql)`, exception messages
pass through `redact_message`, and exceptions are recorded without their raw text.

Spans (names are listed in `SPAN_NAMES`; dashboards and alerts may only use those):
    run_span(command, run_id)       `rockway <command>`, root of one CLI run (`rockway migrate up`)
    migration_span(label)           `migration <label>` around one script (`migration V1.2 add orders`)
    statement_span(adapter, i, sql) CLIENT span `<db.operation.name> <db.collection.name>` per statement
    async_wait_span(job)            `wait <job>` while StarRocks finishes an ALTER / MV refresh / backup
    pipeline_span(name)             `pipeline <name>` around one pipeline run (`pipeline morning`)
    job_span(name)                  `job <name>` around one job run (`job fact_sales`)
    set_outcome(span, status)       sets `rockway.status` (success|failed|partial|skipped); failed → span ERROR

`run_span` and `migration_span` also write one log line when they start and one when they end
(logger `rockway`, fields `event`, `rockway.status`, `duration_s`), so logs and traces tell the
same story with the same trace id.

Metrics (instruments are created lazily on first use; registry: `EMITTED_METRICS`):
    db.client.operation.duration  histogram, s   per statement (semconv name; recorded by statement_span)
    rockway.migration.duration    histogram, s   per migration script (recorded by migration_span)
    rockway.errors                counter        errors by error.type (statement failures, count_error)
    rockway.rows.loaded           counter, rows  record_rows_loaded(table, rows, job=None)
    rockway.load.duration         histogram, s   record_load(duration_s, job, status, table=None)
    rockway.check.results         counter        record_check(severity, status, check=None, table=None)
    rockway.freshness.lag         gauge, s       record_freshness(table, lag_s)
    rockway.mv.staleness          gauge, s       record_mv_staleness(mv, staleness_s)
    rockway.mv.inactive           gauge, {mv}    record_mv_inactive(mv, inactive)  1 inactive, 0 active
`forward_measurements(sink)` hands every measurement to sink instead of the meter provider (tests read them so).

Attribute values: status is one of success|failed|partial|skipped for jobs and pipelines, ok|error
for statements and migrations; check status is pass|fail|error; severity CRITICAL|WARNING|INFO.
Tables are given as written (`dw.fact_sales`) in `db.collection.name`.
"""

from __future__ import annotations

import contextvars
import logging
import re
import time
import traceback
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from rockway import __version__
from rockway.observability.redaction import (  # re-exported: callers use telemetry.redact_sql and friends
    MAX_QUERY_TEXT_LENGTH,
    SqlSummary,
    _error_code,
    _type_name,
    collection_name,
    describe_sql,
    error_type,
    operation_name,
    redact_exception,
    redact_message,
    redact_secrets,
    redact_sql,
)

__all__ = [  # the re-exported redaction helpers, next to everything defined here
    "MAX_QUERY_TEXT_LENGTH", "SqlSummary", "collection_name", "describe_sql", "error_type", "operation_name",
    "redact_exception", "redact_message", "redact_secrets", "redact_sql",
]

INSTRUMENTATION_NAME = "rockway"

# Attribute names (OpenTelemetry semantic conventions, stable database names).
DB_SYSTEM_NAME = "db.system.name"
DB_NAMESPACE = "db.namespace"
DB_OPERATION_NAME = "db.operation.name"
DB_COLLECTION_NAME = "db.collection.name"
DB_QUERY_TEXT = "db.query.text"
DB_RESPONSE_STATUS_CODE = "db.response.status_code"
SERVER_ADDRESS = "server.address"
SERVER_PORT = "server.port"
ERROR_TYPE = "error.type"
RUN_ID = "rockway.run_id"
COMMAND = "rockway.command"
STATEMENT_INDEX = "rockway.statement.index"
MIGRATION = "rockway.migration"
ASYNC_JOB = "rockway.async_job.id"
STATUS = "rockway.status"
JOB = "rockway.job"
PIPELINE = "rockway.pipeline"
CHECK_NAME = "rockway.check.name"
CHECK_SEVERITY = "rockway.check.severity"
CHECK_STATUS = "rockway.check.status"

LOGGER_NAME = "rockway"  # lifecycle log lines; the CLI attaches its JSON/text/OTLP handlers here
_log = logging.getLogger(LOGGER_NAME)

_RUN_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("rockway_run_id", default=None)


# --- ids ---------------------------------------------------------------------------------------
def new_run_id() -> str:
    """A fresh run id (UUID4, canonical text form)."""
    return str(uuid.uuid4())


def current_run_id() -> str | None:
    """The run id bound by `run_span` or `bind_run_id`, if any."""
    return _RUN_ID.get()


@contextmanager
def bind_run_id(run_id: str | None) -> Iterator[None]:
    """Make `run_id` the current run id (for log records) inside the block."""
    token = _RUN_ID.set(run_id)
    try:
        yield
    finally:
        _RUN_ID.reset(token)


def current_trace_id() -> str | None:
    """The current trace id as 32 lowercase hex digits, or None outside a (real) span."""
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else None


def current_span_id() -> str | None:
    """The current span id as 16 lowercase hex digits, or None outside a (real) span."""
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.span_id, "016x") if ctx.is_valid else None


def exception_event(exc: BaseException) -> dict[str, str]:
    """The attributes of an `exception` span event for exc: type, redacted message, frame locations only."""
    message = redact_exception(exc)
    # Frame locations only: source lines can hold literals too.
    stack = traceback.StackSummary.extract(traceback.walk_tb(exc.__traceback__), lookup_lines=False)
    frames = "".join(f'  File "{f.filename}", line {f.lineno}, in {f.name}\n' for f in stack)
    return {
        "exception.type": _type_name(exc),
        "exception.message": message,
        "exception.stacktrace": f"Traceback (most recent call last):\n{frames}{_type_name(exc)}: {message}",
    }


def record_error(span: Span, exc: BaseException) -> str:
    """Mark span failed with a redacted exception event; return the error.type used."""
    kind = error_type(exc)
    code = _error_code(exc)
    if code is not None:
        span.set_attribute(DB_RESPONSE_STATUS_CODE, str(code))
    span.set_attribute(ERROR_TYPE, kind)
    event = exception_event(exc)
    span.add_event("exception", event)
    span.set_status(Status(StatusCode.ERROR, event["exception.message"][:500]))
    return kind


# --- spans -------------------------------------------------------------------------------------
_tracer_cache: tuple[object, trace.Tracer] | None = None


def _tracer() -> trace.Tracer:
    """rockway's tracer from the current global provider (re-fetched if the provider changed)."""
    global _tracer_cache
    provider = trace.get_tracer_provider()
    cached = _tracer_cache
    if cached is None or cached[0] is not provider:
        cached = (provider, provider.get_tracer(INSTRUMENTATION_NAME, __version__))
        _tracer_cache = cached
    return cached[1]


def _clean(attrs: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in attrs.items() if v is not None}


def _start(name: str, kind: SpanKind, attributes: dict[str, Any]) -> tuple[Span, object]:
    """Start a span and make it current; end it with `_finish`.

    The same as `start_as_current_span` without its two generator context managers (~6 µs less per span,
    measured; it matters once per statement). Exceptions are recorded by the callers, redacted.
    """
    current = _tracer().start_span(name, kind=kind, attributes=attributes, record_exception=False,
                                   set_status_on_exception=False)
    return current, otel_context.attach(trace.set_span_in_context(current))


def _finish(current: Span, token: object) -> None:
    otel_context.detach(token)
    current.end()


@contextmanager
def span(name: str, *, kind: SpanKind = SpanKind.INTERNAL, **attrs: Any) -> Iterator[Span]:
    """A span around the block; an escaping exception marks it failed (redacted) and propagates."""
    current, token = _start(name, kind, _clean(attrs))
    try:
        yield current
    except GeneratorExit:
        raise
    except BaseException as exc:
        record_error(current, exc)
        raise
    finally:
        _finish(current, token)


def _outcome(exc: BaseException | None) -> tuple[str, dict[str, Any]]:
    """(status, extra log fields) for a block that ended with exc (None: it succeeded)."""
    if exc is None:
        return "ok", {}
    return "error", {ERROR_TYPE: error_type(exc), "error.message": redact_exception(exc)[:500]}


@contextmanager
def _lifecycle(what: str, label: str, event: str, fields: dict[str, Any]) -> Iterator[None]:
    """Log `<what> started: <label>` and `<what> finished: <label> <status> in <s> s` around the block.

    Called inside the block's span, so both lines carry its trace and span ids. Failures end at ERROR
    level with error.type and a redacted error.message; the exception propagates unchanged.
    """
    _log.info("%s started: %s", what, label, extra={"event": f"{event}_start", **fields})
    start = time.perf_counter()
    failure: BaseException | None = None
    try:
        yield
    except GeneratorExit:
        raise
    except BaseException as exc:
        failure = exc
        raise
    finally:
        seconds = time.perf_counter() - start
        status, more = _outcome(failure)
        _log.log(logging.ERROR if failure is not None else logging.INFO, "%s finished: %s %s in %.3f s",
                 what, label, status, seconds,
                 extra={"event": f"{event}_end", **fields, STATUS: status, "duration_s": round(seconds, 6), **more})


@contextmanager
def run_span(command: str, run_id: str, **attrs: Any) -> Iterator[Span]:
    """Root span `rockway <command>` of one run; binds run_id for log records and logs run start/end."""
    with bind_run_id(run_id), span(f"rockway {command}", **{COMMAND: command, RUN_ID: run_id, **attrs}) as current:
        with _lifecycle("run", command, "run", {COMMAND: command, RUN_ID: run_id}):
            yield current


@contextmanager
def migration_span(script_label: str, **attrs: Any) -> Iterator[Span]:
    """Span `migration <label>` around one script; records rockway.migration.duration and logs start/end."""
    start = time.perf_counter()
    status = "error"
    try:
        with span(f"migration {script_label}", **{MIGRATION: script_label, **attrs}) as current:
            with _lifecycle("migration", script_label, "migration", {MIGRATION: script_label}):
                yield current
            status = "ok"
    finally:
        record_migration(time.perf_counter() - start, status)


FAILED_STATUSES = frozenset({"failed", "error", "fail"})


def set_outcome(target: Span, status: str, error: str | None = None) -> None:
    """Record a job/pipeline outcome on target: `rockway.status`, and ERROR status when it failed.

    Use it when a failure is reported by value rather than by exception (a pipeline whose job failed
    still returns normally); alerts select on `rockway.status` and on the span's error flag.
    """
    target.set_attribute(STATUS, status)
    if status in FAILED_STATUSES:
        message = redact_message(error)[:500] if error else status
        target.set_status(Status(StatusCode.ERROR, message))


@contextmanager
def pipeline_span(name: str, *, run_id: str | None = None, **attrs: Any) -> Iterator[Span]:
    """Span `pipeline <name>` around one pipeline run (attribute rockway.pipeline); call set_outcome at the end."""
    with bind_run_id(run_id or current_run_id()), span(
        f"pipeline {name}", **{PIPELINE: name, RUN_ID: run_id or current_run_id(), **attrs}
    ) as current:
        yield current


@contextmanager
def job_span(name: str, *, run_id: str | None = None, pipeline: str | None = None, **attrs: Any) -> Iterator[Span]:
    """Span `job <name>` around one job run (attributes rockway.job, rockway.pipeline); call set_outcome at the end."""
    with bind_run_id(run_id or current_run_id()), span(
        f"job {name}", **{JOB: name, PIPELINE: pipeline, RUN_ID: run_id or current_run_id(), **attrs}
    ) as current:
        yield current


_UNREAD_SUMMARY = SqlSummary("", None, "")


def _statement_details_unread() -> bool:
    """True when nothing can read a statement span's attributes or its duration metric, so `statement_span` need
    not describe the statement (redacting it was the largest part of rockway's own work per migration:
    bench/RESULTS.md). Spans: the API's providers before one is set, or a NoOpTracer (the CLI's ids-only tracer
    is one) record nothing. Metrics: no forwarding sink, and the meter provider is the metrics API's own (its
    no-op, or its stand-in before a provider is set); an SDK or any other provider counts as a reader.
    """
    if _sink is not None:
        return False
    if not isinstance(trace.get_tracer_provider(), (trace.ProxyTracerProvider, trace.NoOpTracerProvider)) \
            and not isinstance(_tracer(), trace.NoOpTracer):
        return False
    from opentelemetry import metrics  # the metrics API is imported on first use only

    return type(metrics.get_meter_provider()).__module__.startswith("opentelemetry.metrics")


@contextmanager
def statement_span(adapter_like: Any, index: int, sql: str) -> Iterator[Span]:
    """CLIENT span for one statement with db.* attributes and redacted query text.

    adapter_like needs `db_system`, `database`, `host`, `port` (missing ones are left out).
    Records db.client.operation.duration and, on failure, rockway.errors.
    """
    summary = _UNREAD_SUMMARY if _statement_details_unread() else describe_sql(sql)
    system = getattr(adapter_like, "db_system", None) or "other_sql"
    port = getattr(adapter_like, "port", None)
    attrs = {
        DB_SYSTEM_NAME: system,
        DB_NAMESPACE: getattr(adapter_like, "database", None) or None,
        DB_OPERATION_NAME: summary.operation or None,
        DB_COLLECTION_NAME: summary.collection,
        DB_QUERY_TEXT: summary.text,
        SERVER_ADDRESS: getattr(adapter_like, "host", None) or None,
        SERVER_PORT: port if isinstance(port, int) and port > 0 else None,
        STATEMENT_INDEX: index,
    }
    name = " ".join(p for p in (summary.operation, summary.collection) if p) or system
    start = time.perf_counter()
    error: str | None = None
    current, token = _start(name, SpanKind.CLIENT, _clean(attrs))
    try:
        yield current
    except GeneratorExit:
        raise
    except BaseException as exc:
        error = record_error(current, exc)
        raise
    finally:
        _finish(current, token)
        if summary is not _UNREAD_SUMMARY:  # else no meter provider would keep the point
            record_statement(
                time.perf_counter() - start, system, "error" if error else "ok", operation=summary.operation,
                error_type=error, namespace=attrs[DB_NAMESPACE], collection=summary.collection,
                response_code=error if error and error.isdigit() else None,
            )
        if error:
            count_error(error, **{DB_SYSTEM_NAME: system})


@contextmanager
def async_wait_span(job: str, table: str | None = None, **attrs: Any) -> Iterator[Span]:
    """Span `wait <job>` while an asynchronous server job (ALTER, MV refresh, backup) finishes."""
    with span(f"wait {job}", **{ASYNC_JOB: job, DB_COLLECTION_NAME: table, **attrs}) as current:
        yield current


# --- registries (dashboards, alerts and their tests read these) ----------------------------------
@dataclass(frozen=True)
class MetricSpec:
    """One metric rockway emits."""

    name: str
    kind: str  # counter | histogram | gauge
    unit: str
    description: str
    attributes: tuple[str, ...]


_DURATION_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0)
_LAG_BUCKETS = (60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0, 21600.0, 43200.0, 86400.0, 172800.0, 604800.0)

EMITTED_METRICS: Mapping[str, MetricSpec] = {
    m.name: m
    for m in (
        MetricSpec("db.client.operation.duration", "histogram", "s", "Duration of database statements",
                   (DB_SYSTEM_NAME, DB_NAMESPACE, DB_OPERATION_NAME, DB_COLLECTION_NAME, ERROR_TYPE,
                    DB_RESPONSE_STATUS_CODE, STATUS)),
        MetricSpec("rockway.migration.duration", "histogram", "s", "Duration of migration scripts", (STATUS,)),
        MetricSpec("rockway.errors", "counter", "{error}", "Errors by error.type", (ERROR_TYPE, DB_SYSTEM_NAME, JOB)),
        MetricSpec("rockway.rows.loaded", "counter", "{row}", "Rows written into a table by a load",
                   (DB_COLLECTION_NAME, JOB)),
        MetricSpec("rockway.load.duration", "histogram", "s", "Duration of one job's load, by final status",
                   (JOB, STATUS, DB_COLLECTION_NAME)),
        MetricSpec("rockway.check.results", "counter", "{check}", "Data-quality check outcomes",
                   (CHECK_SEVERITY, CHECK_STATUS, CHECK_NAME, DB_COLLECTION_NAME)),
        MetricSpec("rockway.freshness.lag", "gauge", "s", "Age of the newest data in a table when measured",
                   (DB_COLLECTION_NAME,)),
        MetricSpec("rockway.mv.staleness", "gauge", "s", "Time since a materialized view was last refreshed",
                   (DB_COLLECTION_NAME,)),
        MetricSpec("rockway.mv.inactive", "gauge", "{mv}", "1 while a materialized view is inactive (no refresh, no"
                   " query rewrite), 0 when active; set by every reading of the MV catalog", (DB_COLLECTION_NAME,)),
    )
}

# Span name templates. `{command}` is one of RUN_COMMANDS or a jobs command (`run <pipeline>`, `job …`).
SPAN_NAMES: Mapping[str, str] = {
    "rockway {command}": "root span of one CLI run, e.g. `rockway migrate up`, `rockway run morning`",
    "migration {label}": "one migration script, e.g. `migration V1.2 add orders`, `migration R orders view`",
    "{db.operation.name} {db.collection.name}": "one SQL statement (kind CLIENT), e.g. `CREATE TABLE dw.orders`",
    "wait {job}": "waiting for an asynchronous StarRocks job (ALTER, MV refresh, backup)",
    "pipeline {name}": "one pipeline run, e.g. `pipeline morning` (attribute rockway.status)",
    "job {name}": "one job run, e.g. `job fact_sales` (attributes rockway.job, rockway.status)",
}
RUN_COMMANDS = ("migrate up", "migrate rollback", "migrate repair", "migrate baseline", "migrate clean")
_JOB_COMMANDS = r"(?:run|job [a-z-]+|verify|refdata [a-z-]+|mv [a-z-]+)(?: \S+)?"

# Span and metric attributes rockway sets (besides the standard resource attributes).
ATTRIBUTES = frozenset(
    {
        DB_SYSTEM_NAME, DB_NAMESPACE, DB_OPERATION_NAME, DB_COLLECTION_NAME, DB_QUERY_TEXT, DB_RESPONSE_STATUS_CODE,
        SERVER_ADDRESS, SERVER_PORT, ERROR_TYPE, RUN_ID, COMMAND, STATEMENT_INDEX, MIGRATION, ASYNC_JOB, STATUS,
        JOB, PIPELINE, CHECK_NAME, CHECK_SEVERITY, CHECK_STATUS, "rockway.script", "rockway.action",
        "rockway.statements.total", "rockway.statements.start_at", "rockway.dry_run",
        "rockway.mv.health", "rockway.mv.checked", "rockway.mv.unhealthy", "rockway.mv.activated", "rockway.mv.findings",
    }
)


def span_name_pattern() -> re.Pattern[str]:
    """A regex matching every span name rockway emits except statement spans (those are found by kind CLIENT)."""
    commands = "|".join(re.escape(c) for c in RUN_COMMANDS)
    return re.compile(rf"^(?:rockway (?:{commands}|{_JOB_COMMANDS})|(?:migration|wait|pipeline|job) \S.*)$")


# --- metrics -----------------------------------------------------------------------------------
_instrument_cache: tuple[object, dict[str, Any]] | None = None
_BUCKETS = {"rockway.freshness.lag": _LAG_BUCKETS}


def _create(meter: Any, spec: MetricSpec) -> Any:
    if spec.kind == "counter":
        return meter.create_counter(spec.name, unit=spec.unit, description=spec.description)
    if spec.kind == "gauge":
        return meter.create_gauge(spec.name, unit=spec.unit, description=spec.description)
    return meter.create_histogram(spec.name, unit=spec.unit, description=spec.description,
                                  explicit_bucket_boundaries_advisory=_BUCKETS.get(spec.name, _DURATION_BUCKETS))


MeasurementSink = Callable[[str, float, Mapping[str, Any]], None]
_sink: MeasurementSink | None = None


def forward_measurements(sink: MeasurementSink | None) -> None:
    """Hand every measurement to sink(metric name, value, attributes) instead of the meter provider (None: stop)."""
    global _sink
    _sink = sink


class _Forwarding:
    """Stands in for an instrument while measurements are forwarded."""

    __slots__ = ("name", "sink")

    def __init__(self, name: str, sink: MeasurementSink) -> None:
        self.name, self.sink = name, sink

    def add(self, value: float, attributes: Mapping[str, Any] | None = None) -> None:
        self.sink(self.name, value, attributes or {})

    record = set = add


def _instrument(name: str) -> Any:
    """The instrument `name` from the current global meter provider, created on first use."""
    global _instrument_cache
    if _sink is not None:
        return _Forwarding(name, _sink)
    from opentelemetry import metrics  # the metrics API is imported on first use only

    provider = metrics.get_meter_provider()
    cached = _instrument_cache
    if cached is None or cached[0] is not provider:
        cached = (provider, {})
        _instrument_cache = cached
    instruments = cached[1]
    instrument = instruments.get(name)
    if instrument is None:
        instrument = instruments[name] = _create(provider.get_meter(INSTRUMENTATION_NAME, __version__),
                                                 EMITTED_METRICS[name])
    return instrument


def _text(value: Any) -> str:
    """An enum's value or the text of value (Severity.CRITICAL -> "CRITICAL")."""
    return str(getattr(value, "value", value))


def record_statement(
    duration_s: float, engine: str, status: str, *, operation: str | None = None, error_type: str | None = None,
    namespace: str | None = None, collection: str | None = None, response_code: str | None = None,
) -> None:
    """Record one statement's duration (db.client.operation.duration)."""
    attrs = _clean({DB_SYSTEM_NAME: engine, STATUS: status, DB_OPERATION_NAME: operation or None,
                    DB_NAMESPACE: namespace or None, DB_COLLECTION_NAME: collection or None, ERROR_TYPE: error_type,
                    DB_RESPONSE_STATUS_CODE: response_code})
    _instrument("db.client.operation.duration").record(duration_s, attrs)


def record_migration(duration_s: float, status: str) -> None:
    """Record one migration script's duration (rockway.migration.duration)."""
    _instrument("rockway.migration.duration").record(duration_s, {STATUS: status})


def count_error(error_type: str, **attrs: Any) -> None:
    """Count one error by error.type (rockway.errors), with extra attributes as given."""
    _instrument("rockway.errors").add(1, _clean({ERROR_TYPE: error_type, **attrs}))


def record_rows_loaded(table: str, rows: int, job: str | None = None) -> None:
    """Count rows written into table by a load (rockway.rows.loaded); negative or unknown counts are ignored."""
    if rows is None or rows < 0:
        return
    _instrument("rockway.rows.loaded").add(int(rows), _clean({DB_COLLECTION_NAME: table, JOB: job}))


def record_load(duration_s: float, job: str, status: str, table: str | None = None) -> None:
    """Record one job load's duration with its final status (rockway.load.duration)."""
    _instrument("rockway.load.duration").record(duration_s, _clean({JOB: job, STATUS: _text(status),
                                                                     DB_COLLECTION_NAME: table}))


def record_check(severity: Any, status: str, check: str | None = None, *, table: str | None = None) -> None:
    """Count one check outcome (rockway.check.results) by severity (CRITICAL|WARNING|INFO) and status (pass|fail|error)."""
    _instrument("rockway.check.results").add(1, _clean({CHECK_SEVERITY: _text(severity).upper(),
                                                         CHECK_STATUS: _text(status), CHECK_NAME: check,
                                                         DB_COLLECTION_NAME: table}))


def record_freshness(table: str, lag_s: float) -> None:
    """Record how old the newest data in table is, in seconds (rockway.freshness.lag)."""
    _instrument("rockway.freshness.lag").set(float(lag_s), {DB_COLLECTION_NAME: table})


def record_mv_staleness(mv: str, staleness_s: float) -> None:
    """Record how long ago materialized view mv was last refreshed, in seconds (rockway.mv.staleness)."""
    _instrument("rockway.mv.staleness").set(float(staleness_s), {DB_COLLECTION_NAME: mv})


def record_mv_inactive(mv: str, inactive: bool) -> None:
    """Record whether materialized view mv is inactive: 1 or 0 (rockway.mv.inactive)."""
    _instrument("rockway.mv.inactive").set(1.0 if inactive else 0.0, {DB_COLLECTION_NAME: mv})
