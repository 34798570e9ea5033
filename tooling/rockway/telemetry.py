"""Spans, metrics and SQL redaction over the OpenTelemetry API (the SDK is set up by the CLI).

Nothing here exports anything by itself: without a configured SDK every call is a cheap no-op.
SQL never reaches telemetry verbatim: `db.query.text` is `redact_sql(sql)`, exception messages
pass through `redact_message`, and exceptions are recorded without their raw text.
"""

from __future__ import annotations

import functools

import contextvars
import re
import time
import traceback
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from rockway import __version__

INSTRUMENTATION_NAME = "rockway"
MAX_QUERY_TEXT_LENGTH = 8192  # redacted text longer than this is cut (multi-row VALUES can be huge)

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


# --- SQL description and redaction --------------------------------------------------------------
_LITERAL_TOKENS = frozenset(
    {
        "STRING", "NUMBER", "NATIONAL_STRING", "NATIONAL_RAW_STRING", "HEX_STRING", "BIT_STRING",
        "BYTE_STRING", "RAW_STRING", "HEREDOC_STRING", "UNICODE_STRING",
    }
)
_BOOLEAN_TOKENS = frozenset({"TRUE", "FALSE"})
_NAME_TOKENS = frozenset({"VAR", "IDENTIFIER"})
_WORD_RE = re.compile(r"[A-Za-z_]+")
_SPACE_RE = re.compile(r"\s+")

# Verbs followed by an object phrase (`CREATE MATERIALIZED VIEW`); other verbs stand alone.
_COMPOUND_VERBS = frozenset(
    {
        "CREATE", "ALTER", "DROP", "TRUNCATE", "REFRESH", "CANCEL", "ANALYZE", "SHOW", "BACKUP", "RESTORE",
        "RECOVER", "SUBMIT", "PAUSE", "RESUME", "STOP", "SET", "ADMIN", "INSTALL", "UNINSTALL",
    }
)
_OBJECT_PHRASES: tuple[tuple[str, ...], ...] = tuple(
    sorted(
        (
            tuple(p.split())
            for p in (
                "TABLE", "VIEW", "MATERIALIZED VIEW", "DATABASE", "SCHEMA", "USER", "ROLE", "CATALOG",
                "EXTERNAL CATALOG", "EXTERNAL TABLE", "EXTERNAL RESOURCE", "RESOURCE", "RESOURCE GROUP",
                "FUNCTION", "GLOBAL FUNCTION", "INDEX", "ROUTINE LOAD", "REPOSITORY", "PIPE", "STORAGE VOLUME",
                "FILE", "TASK", "SNAPSHOT", "DICTIONARY", "WAREHOUSE", "PARTITION", "TEMPORARY PARTITION",
                "ALTER TABLE", "ALTER TABLE COLUMN", "ALTER TABLE ROLLUP", "ALTER TABLE OPTIMIZE",
                "ALTER MATERIALIZED VIEW", "CREATE TABLE", "CREATE VIEW", "CREATE MATERIALIZED VIEW",
                "CREATE DATABASE", "TABLES", "DATABASES", "PARTITIONS", "LOAD", "BACKUP", "RESTORE",
                "ROLES", "USERS", "CATALOGS", "GRANTS", "VARIABLES", "PROCESSLIST", "DATA", "COLUMNS",
                "MATERIALIZED VIEWS", "BACKENDS", "FRONTENDS", "STATS", "PASSWORD", "DEFAULT ROLE",
            )
        ),
        key=len,
        reverse=True,
    )
)
_MODIFIERS: tuple[tuple[str, ...], ...] = (("OR", "REPLACE"), ("TEMPORARY",), ("TEMP",), ("FULL",))
_ALIASES = {"WITH": "SELECT", "DESC": "DESCRIBE"}
# Operations whose object is a table-like collection worth naming in db.collection.name.
_COLLECTION_VERBS = frozenset({"CREATE", "ALTER", "DROP", "TRUNCATE", "REFRESH", "ANALYZE", "RECOVER"})
_COLLECTION_OBJECTS = frozenset({("TABLE",), ("VIEW",), ("MATERIALIZED", "VIEW"), ("EXTERNAL", "TABLE")})
_DML_VERBS = frozenset({"INSERT", "UPDATE", "DELETE", "UPSERT"})
_SKIP_BEFORE_NAME = frozenset({"IF", "NOT", "EXISTS", "INTO", "OVERWRITE", "FROM"})


def _leading_words(sql: str, limit: int = 8) -> list[str]:
    """Upper-cased leading bare words of sql, skipping whitespace, comments and opening parens."""
    words: list[str] = []
    i, n = 0, len(sql)
    while i < n and len(words) < limit:
        c = sql[i]
        if c.isspace() or (c == "(" and not words):
            i += 1
        elif sql.startswith("--", i) or c == "#":
            j = sql.find("\n", i)
            i = n if j < 0 else j + 1
        elif sql.startswith("/*", i):
            j = sql.find("*/", i + 2)
            i = n if j < 0 else j + 2
        else:
            m = _WORD_RE.match(sql, i)
            if not m:
                break
            words.append(m.group().upper())
            i = m.end()
    return words


def _operation(words: list[str]) -> tuple[str, int, tuple[str, ...]]:
    """(operation name, words consumed, object phrase) for the leading words of a statement."""
    if not words:
        return "", 0, ()
    verb = _ALIASES.get(words[0], words[0])
    if verb not in _COMPOUND_VERBS:
        return verb, 1, ()
    pos = 1
    for modifier in _MODIFIERS:
        if tuple(words[pos : pos + len(modifier)]) == modifier:
            pos += len(modifier)
    for phrase in _OBJECT_PHRASES:
        if tuple(words[pos : pos + len(phrase)]) == phrase:
            return " ".join((verb, *phrase)), pos + len(phrase), phrase
    return verb, 1, ()


def operation_name(sql: str) -> str:
    """The statement's operation, e.g. `CREATE TABLE`, `INSERT`, `REFRESH MATERIALIZED VIEW` ('' if none)."""
    return _operation(_leading_words(sql))[0]


@dataclass(frozen=True)
class SqlSummary:
    """What telemetry may say about one statement."""

    operation: str  # db.operation.name ('' when unknown)
    collection: str | None  # db.collection.name
    text: str  # db.query.text: literals replaced by `?`, comments dropped, whitespace collapsed


def _tokenize(sql: str) -> list[Any]:
    from sqlglot.dialects.starrocks import StarRocks  # imported lazily: sqlglot is slow to import

    return StarRocks().tokenize(sql)


def _collection(tokens: list[Any], words: list[str]) -> str | None:
    operation, consumed, phrase = _operation(words)
    verb = operation.split(" ", 1)[0]
    if not (verb in _DML_VERBS or (verb in _COLLECTION_VERBS and phrase in _COLLECTION_OBJECTS)):
        return None
    i, seen = 0, 0
    while i < len(tokens) and seen < consumed:  # step over the tokens that spelled the operation
        seen += len(tokens[i].text.split()) or 1
        i += 1
    while i < len(tokens) and tokens[i].text.upper() in _SKIP_BEFORE_NAME:
        i += 1
    parts: list[str] = []
    while i < len(tokens):
        tok = tokens[i]
        if tok.token_type.name not in _NAME_TOKENS and not _WORD_RE.fullmatch(tok.text):
            break
        parts.append(tok.text)
        if i + 1 < len(tokens) and tokens[i + 1].token_type.name == "DOT":
            i += 2
            continue
        break
    return ".".join(parts) if parts else None


def _rebuild(sql: str, tokens: list[Any]) -> str:
    out: list[str] = []
    prev_end = -1
    n = len(tokens)
    i = 0
    pending_gap = False
    while i < n:
        tok = tokens[i]
        kind = tok.token_type.name
        if kind == "HASH":  # MySQL-style `#` line comment: drop the rest of the line
            eol = sql.find("\n", tok.start)
            eol = len(sql) if eol < 0 else eol
            while i < n and tokens[i].start < eol:
                i += 1
            pending_gap, prev_end = True, eol
            continue
        if kind == "HINT":  # `/*+ ... */` optimizer hints are comments for telemetry purposes
            pending_gap, prev_end = True, tok.end
            i += 1
            continue
        gap = pending_gap or (prev_end >= 0 and tok.start > prev_end + 1)
        if out and gap:
            out.append(" ")
        pending_gap = False
        if kind == "IN" and i + 2 < n and tokens[i + 1].token_type.name == "L_PAREN":
            j = i + 2  # collapse `IN (1, 2, 3)` to `IN (?)`
            while j < n and (tokens[j].token_type.name in _LITERAL_TOKENS or tokens[j].token_type.name == "COMMA"):
                j += 1
            if j > i + 2 and j < n and tokens[j].token_type.name == "R_PAREN":
                out.append(_SPACE_RE.sub(" ", sql[tok.start : tok.end + 1]) + " (?)")
                prev_end = tokens[j].end
                i = j + 1
                continue
        if kind in _LITERAL_TOKENS:
            out.append("?")
        elif kind in _BOOLEAN_TOKENS and not (i and tokens[i - 1].token_type.name in ("IS", "NOT")):
            out.append("?")
        else:
            out.append(_SPACE_RE.sub(" ", sql[tok.start : tok.end + 1]))
        prev_end = tok.end
        i += 1
    text = "".join(out)
    if len(text) > MAX_QUERY_TEXT_LENGTH:
        text = text[:MAX_QUERY_TEXT_LENGTH] + " …"
    return text


@functools.lru_cache(maxsize=1024)
def describe_sql(sql: str) -> SqlSummary:
    """Operation, target collection and redacted text of one statement, from one tokenizer pass (cached)."""
    words = _leading_words(sql)
    operation = _operation(words)[0]
    try:
        tokens = _tokenize(sql)
    except Exception:  # unterminated quote, unknown character … : say only what the statement does
        return SqlSummary(operation, None, f"{operation} ?" if operation else "?")
    return SqlSummary(operation, _collection(tokens, words), _rebuild(sql, tokens))


def redact_sql(sql: str) -> str:
    """sql with every literal replaced by `?`, comments dropped and whitespace collapsed.

    Identifiers keep their spelling. StarRocks treats double-quoted text as a string, so it is
    redacted too. If the tokenizer rejects the text, only the operation name and ` ?` remain.
    """
    return describe_sql(sql).text


def collection_name(sql: str) -> str | None:
    """The target table of CREATE/ALTER/DROP/TRUNCATE/REFRESH/INSERT/UPDATE/DELETE, when easy to find."""
    try:
        tokens = _tokenize(sql)
    except Exception:
        return None
    return _collection(tokens, _leading_words(sql))


_NEAR_RE = re.compile(r"(near\s+)(['\"]).*\2(\s+at\s+line)", re.IGNORECASE | re.DOTALL)
_QUOTED_RE = re.compile(r"'(?:[^'\\]|\\.|'')*'|\"(?:[^\"\\]|\\.|\"\")*\"", re.DOTALL)


def redact_message(text: str) -> str:
    """A server or exception message with quoted values replaced by `?` (servers echo literals)."""
    text = _NEAR_RE.sub(r"\1?\3", text)
    text = _QUOTED_RE.sub("?", text)
    stray = re.search(r"['\"]", text)
    if stray:  # an unbalanced quote: everything after it might be a literal
        text = text[: stray.start()] + "?"
    return text


def _error_code(exc: BaseException) -> int | None:
    """A database error number, when exc carries one (rockway DatabaseError, PyMySQL errors)."""
    if isinstance(exc, OSError):
        return None
    code = getattr(exc, "errno", None)
    if isinstance(code, int) and not isinstance(code, bool):
        return code
    args = getattr(exc, "args", ())
    if len(args) >= 2 and isinstance(args[0], int) and not isinstance(args[0], bool) and isinstance(args[1], str):
        return args[0]
    return None


def _exception_message(exc: BaseException) -> str:
    message = getattr(exc, "message", None)
    if isinstance(message, str):
        return message
    args = getattr(exc, "args", ())
    if len(args) == 2 and isinstance(args[0], int) and isinstance(args[1], str):
        return f"({args[0]}) {args[1]}"
    try:
        return str(exc)
    except Exception:
        return ""


def redact_exception(exc: BaseException) -> str:
    """The exception's message with quoted values replaced by `?`."""
    return redact_message(_exception_message(exc))


def _type_name(exc: BaseException) -> str:
    cls = type(exc)
    return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"


def error_type(exc: BaseException) -> str:
    """The `error.type` of exc: the database error number if any, else the exception class."""
    code = _error_code(exc)
    return str(code) if code is not None else _type_name(exc)


def record_error(span: Span, exc: BaseException) -> str:
    """Mark span failed with a redacted exception event; return the error.type used."""
    kind = error_type(exc)
    message = redact_exception(exc)
    code = _error_code(exc)
    if code is not None:
        span.set_attribute(DB_RESPONSE_STATUS_CODE, str(code))
    span.set_attribute(ERROR_TYPE, kind)
    # Frame locations only: source lines can hold literals too.
    stack = traceback.StackSummary.extract(traceback.walk_tb(exc.__traceback__), lookup_lines=False)
    frames = "".join(f'  File "{f.filename}", line {f.lineno}, in {f.name}\n' for f in stack)
    span.add_event(
        "exception",
        {
            "exception.type": _type_name(exc),
            "exception.message": message,
            "exception.stacktrace": f"Traceback (most recent call last):\n{frames}{_type_name(exc)}: {message}",
        },
    )
    span.set_status(Status(StatusCode.ERROR, message[:500]))
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


@contextmanager
def span(name: str, *, kind: SpanKind = SpanKind.INTERNAL, **attrs: Any) -> Iterator[Span]:
    """A span around the block; an escaping exception marks it failed (redacted) and propagates."""
    with _tracer().start_as_current_span(
        name, kind=kind, attributes=_clean(attrs), record_exception=False, set_status_on_exception=False
    ) as current:
        try:
            yield current
        except GeneratorExit:
            raise
        except BaseException as exc:
            record_error(current, exc)
            raise


@contextmanager
def run_span(command: str, run_id: str, **attrs: Any) -> Iterator[Span]:
    """Root span `rockway <command>` of one run; binds run_id for log records."""
    with bind_run_id(run_id), span(f"rockway {command}", **{COMMAND: command, RUN_ID: run_id, **attrs}) as current:
        yield current


@contextmanager
def migration_span(script_label: str, **attrs: Any) -> Iterator[Span]:
    """Span `migration <label>` around one script; records rockway.migration.duration."""
    start = time.perf_counter()
    status = "error"
    try:
        with span(f"migration {script_label}", **{MIGRATION: script_label, **attrs}) as current:
            yield current
            status = "ok"
    finally:
        record_migration(time.perf_counter() - start, status)


@contextmanager
def statement_span(adapter_like: Any, index: int, sql: str) -> Iterator[Span]:
    """CLIENT span for one statement with db.* attributes and redacted query text.

    adapter_like needs `db_system`, `database`, `host`, `port` (missing ones are left out).
    Records db.client.operation.duration and, on failure, rockway.errors.
    """
    summary = describe_sql(sql)
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
    try:
        with _tracer().start_as_current_span(
            name, kind=SpanKind.CLIENT, attributes=_clean(attrs), record_exception=False, set_status_on_exception=False
        ) as current:
            try:
                yield current
            except GeneratorExit:
                raise
            except BaseException as exc:
                error = record_error(current, exc)
                raise
    finally:
        record_statement(
            time.perf_counter() - start, system, "error" if error else "ok", operation=summary.operation, error_type=error
        )
        if error:
            count_error(error, **{DB_SYSTEM_NAME: system})


@contextmanager
def async_wait_span(job: str, table: str | None = None, **attrs: Any) -> Iterator[Span]:
    """Span `wait <job>` while an asynchronous server job (ALTER, MV refresh, backup) finishes."""
    with span(f"wait {job}", **{ASYNC_JOB: job, DB_COLLECTION_NAME: table, **attrs}) as current:
        yield current


# --- metrics -----------------------------------------------------------------------------------
_DURATION_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0)
_instrument_cache: tuple[object, dict[str, Any]] | None = None


def _instruments() -> dict[str, Any]:
    """Instruments from the current global meter provider, created on first use."""
    global _instrument_cache
    from opentelemetry import metrics  # the metrics API is imported on first use only

    provider = metrics.get_meter_provider()
    cached = _instrument_cache
    if cached is None or cached[0] is not provider:
        meter = provider.get_meter(INSTRUMENTATION_NAME, __version__)
        cached = (
            provider,
            {
                "statement": meter.create_histogram(
                    "db.client.operation.duration", unit="s", description="Duration of database statements",
                    explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
                ),
                "migration": meter.create_histogram(
                    "rockway.migration.duration", unit="s", description="Duration of migration scripts",
                    explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
                ),
                "errors": meter.create_counter("rockway.errors", unit="{error}", description="Errors by error.type"),
            },
        )
        _instrument_cache = cached
    return cached[1]


def record_statement(
    duration_s: float, engine: str, status: str, *, operation: str | None = None, error_type: str | None = None
) -> None:
    """Record one statement's duration (db.client.operation.duration)."""
    attrs = _clean({DB_SYSTEM_NAME: engine, STATUS: status, DB_OPERATION_NAME: operation or None, ERROR_TYPE: error_type})
    _instruments()["statement"].record(duration_s, attrs)


def record_migration(duration_s: float, status: str) -> None:
    """Record one migration script's duration (rockway.migration.duration)."""
    _instruments()["migration"].record(duration_s, {STATUS: status})


def count_error(error_type: str, **attrs: Any) -> None:
    """Count one error by error.type (rockway.errors), with extra attributes as given."""
    _instruments()["errors"].add(1, _clean({ERROR_TYPE: error_type, **attrs}))
