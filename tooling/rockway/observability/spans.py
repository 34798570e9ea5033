"""Run ids, spans and lifecycle log lines over the OpenTelemetry API (the SDK, when any, is set up by the CLI).

Nothing here exports anything by itself: without a configured SDK every call is a cheap no-op.
SQL never reaches telemetry verbatim: `db.query.text` is the redacted text (observability/sql_summary.py),
exception messages are redacted, and exceptions are recorded without their raw text.

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
same story with the same trace id. Statements write none.
"""

from __future__ import annotations

import contextvars
import logging
import re
import time
import uuid
from contextlib import contextmanager
from contextvars import Token
from typing import Any, Iterator, Mapping

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from rockway import __version__
from rockway.observability import metrics
from rockway.observability.attributes import (
    ASYNC_JOB,
    COMMAND,
    DB_COLLECTION_NAME,
    DB_NAMESPACE,
    DB_OPERATION_NAME,
    DB_QUERY_TEXT,
    DB_RESPONSE_STATUS_CODE,
    DB_SYSTEM_NAME,
    ERROR_TYPE,
    INSTRUMENTATION_NAME,
    JOB,
    MIGRATION,
    PIPELINE,
    RUN_ID,
    SERVER_ADDRESS,
    SERVER_PORT,
    STATEMENT_INDEX,
    STATUS,
)
from rockway.observability.redaction import error_type, exception_event, redact_exception, redact_message
from rockway.observability.sql_summary import SqlSummary, describe_sql

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


def record_error(span: Span, exc: BaseException) -> str:
    """Mark span failed with a redacted exception event; return the error.type used."""
    kind = error_type(exc)
    if kind.isdigit():  # a database error number (a class name never is all digits)
        span.set_attribute(DB_RESPONSE_STATUS_CODE, kind)
    span.set_attribute(ERROR_TYPE, kind)
    event = exception_event(exc)
    span.add_event("exception", event)
    span.set_status(Status(StatusCode.ERROR, event["exception.message"][:500]))
    return kind


# --- spans -------------------------------------------------------------------------------------
_tracer_cache: tuple[object, trace.Tracer] | None = None


def _tracer(provider: trace.TracerProvider | None = None) -> trace.Tracer:
    """rockway's tracer from the current global provider, or from `provider` when the caller has just read it
    (re-fetched if the provider changed)."""
    global _tracer_cache
    if provider is None:
        provider = trace.get_tracer_provider()  # with none set, a lookup in os.environ (~0.6 µs) every time
    cached = _tracer_cache
    if cached is None or cached[0] is not provider:
        cached = (provider, provider.get_tracer(INSTRUMENTATION_NAME, __version__))
        _tracer_cache = cached
    return cached[1]


def _clean(attrs: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in attrs.items() if v is not None}


def _start(name: str, kind: SpanKind, attributes: dict[str, Any],
           tracer: trace.Tracer | None = None) -> tuple[Span, Token[Context]]:
    """Start a span (with `tracer`, else rockway's) and make it current; end it with `_finish`.

    The same as `start_as_current_span` without its two generator context managers (~6 µs less per span,
    measured; it matters once per statement). Exceptions are recorded by the callers, redacted.
    """
    current = (_tracer() if tracer is None else tracer).start_span(name, kind=kind, attributes=attributes,
                                                                   record_exception=False,
                                                                   set_status_on_exception=False)
    return current, otel_context.attach(trace.set_span_in_context(current))


def _finish(current: Span, token: Token[Context]) -> None:
    otel_context.detach(token)
    current.end()


@contextmanager
def span(name: str, attributes: Mapping[str, Any] | None = None, *, kind: SpanKind = SpanKind.INTERNAL,
         **attrs: Any) -> Iterator[Span]:
    """A span around the block; an escaping exception marks it failed (redacted) and propagates.

    Attributes whose names are not Python identifiers (`db.collection.name`) go in `attributes`."""
    current, token = _start(name, kind, _clean({**(attributes or {}), **attrs}))
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
    level with error.type and a redacted error.message; the exception propagates unchanged. A line's fields are
    built only when the logger would write it (this runs once per migration script).
    """
    if _log.isEnabledFor(logging.INFO):
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
        level = logging.ERROR if failure is not None else logging.INFO
        if _log.isEnabledFor(level):
            seconds = time.perf_counter() - start
            status, more = _outcome(failure)
            _log.log(level, "%s finished: %s %s in %.3f s", what, label, status, seconds,
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
        metrics.record_migration(time.perf_counter() - start, status)


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


def _statement_details_unread(provider: trace.TracerProvider, tracer: trace.Tracer) -> bool:
    """True when nothing can read a statement span's attributes or its duration metric, so `statement_span` need
    not describe the statement (redacting it was the largest part of rockway's own work per migration:
    bench/RESULTS.md). Spans: the API's providers before one is set, or a NoOpTracer (the CLI's ids-only tracer
    is one) record nothing. Metrics: see `metrics.measurements_unread`. `provider` is the global tracer provider,
    `tracer` rockway's tracer from it.
    """
    if not isinstance(provider, (trace.ProxyTracerProvider, trace.NoOpTracerProvider)) \
            and not isinstance(tracer, trace.NoOpTracer):
        return False
    return metrics.measurements_unread()


@contextmanager
def statement_span(adapter_like: Any, index: int, sql: str) -> Iterator[Span]:
    """CLIENT span for one statement with db.* attributes and redacted query text.

    adapter_like needs `db_system`, `database`, `host`, `port` (missing ones are left out).
    Records db.client.operation.duration and, on failure, rockway.errors.
    """
    provider = trace.get_tracer_provider()  # read once per statement (see _tracer)
    tracer = _tracer(provider)
    summary = _UNREAD_SUMMARY if _statement_details_unread(provider, tracer) else describe_sql(sql)
    system = getattr(adapter_like, "db_system", None) or "other_sql"
    namespace: str | None = getattr(adapter_like, "database", None) or None
    port = getattr(adapter_like, "port", None)
    attrs = {
        DB_SYSTEM_NAME: system,
        DB_NAMESPACE: namespace,
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
    current, token = _start(name, SpanKind.CLIENT, _clean(attrs), tracer)
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
            metrics.record_statement(
                time.perf_counter() - start, system, "error" if error else "ok", operation=summary.operation,
                error_type=error, namespace=namespace, collection=summary.collection,
                response_code=error if error and error.isdigit() else None,
            )
        if error:
            metrics.count_error(error, **{DB_SYSTEM_NAME: system})


@contextmanager
def async_wait_span(job: str, table: str | None = None, **attrs: Any) -> Iterator[Span]:
    """Span `wait <job>` while an asynchronous server job (ALTER, MV refresh, backup) finishes."""
    with span(f"wait {job}", **{ASYNC_JOB: job, DB_COLLECTION_NAME: table, **attrs}) as current:
        yield current


# --- span names (dashboards, alerts and their tests read these) --------------------------------
# `{command}` is one of RUN_COMMANDS or a jobs command (`run <pipeline>`, `job …`).
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


def span_name_pattern() -> re.Pattern[str]:
    """A regex matching every span name rockway emits except statement spans (those are found by kind CLIENT)."""
    commands = "|".join(re.escape(c) for c in RUN_COMMANDS)
    return re.compile(rf"^(?:rockway (?:{commands}|{_JOB_COMMANDS})|(?:migration|wait|pipeline|job) \S.*)$")
