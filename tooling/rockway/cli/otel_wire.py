"""The messages between a CLI run and its export relay (`otel_relay`): framing, spans and log records as plain data.

A frame is a 4-byte little-endian length and a `marshal` dump of a list of messages (tuples): data only
(no objects are rebuilt on reading), and both ends are the same interpreter (the relay is started with
`sys.executable`), which is what marshal's format needs. Messages:

    ("span", <span tuple>)                       one ended span (`span_tuple` or `otel_spans.ForwardedSpan`;
                                                 `readable_span` makes the SDK span of it)
    ("log", <record fields>, trace_id, span_id, trace_flags)
                                                 one log record written inside that span (0s: none)
    ("metric", name, value, attributes)          one measurement (`telemetry.apply_measurement`)
    ("close", end, deadline_s)                   flush everything by `end` (time.monotonic(), the same
                                                 clock in both processes), then answer and exit

Only plain values cross: strings, numbers, booleans, None and tuples of them. Log records cross
already redacted (no exception objects, no tracebacks).
"""

from __future__ import annotations

import logging
import marshal
import struct
from typing import Any, BinaryIO, Iterator

from rockway.logs import STANDARD_ATTRS

_LENGTH = struct.Struct("<I")
_SCALARS = (str, int, float, bool, type(None))
_RECORD_FIELDS = ("name", "levelno", "levelname", "created", "msecs", "relativeCreated", "thread", "threadName",
                  "process", "processName")


def frame(messages: list[tuple[Any, ...]]) -> bytes:
    """A batch of messages as bytes for the pipe."""
    payload = marshal.dumps(messages)  # ValueError for anything but plain data
    return _LENGTH.pack(len(payload)) + payload


def read_frames(stream: BinaryIO) -> Iterator[list[tuple[Any, ...]]]:
    """Batches of messages from stream until it ends (a cut-off last frame is dropped)."""
    while True:
        head = stream.read(_LENGTH.size)
        if len(head) < _LENGTH.size:
            return
        (size,) = _LENGTH.unpack(head)
        payload = stream.read(size)
        if len(payload) < size:
            return
        yield marshal.loads(payload)


# --- spans -------------------------------------------------------------------------------------
def span_tuple(span: Any) -> tuple[Any, ...]:
    """An ended SDK span (ReadableSpan) as plain data."""
    ctx, parent, status, scope = span.context, span.parent, span.status, span.instrumentation_scope
    return (
        span.name, ctx.trace_id, ctx.span_id, int(ctx.trace_flags),
        parent.span_id if parent is not None else None, bool(parent.is_remote) if parent is not None else False,
        span.kind.value, span.start_time, span.end_time, dict(span.attributes or {}),
        tuple((e.name, dict(e.attributes or {}), e.timestamp) for e in span.events),
        tuple((link.context.trace_id, link.context.span_id, int(link.context.trace_flags), dict(link.attributes or {}))
              for link in span.links),
        status.status_code.value, status.description,
        scope.name if scope else "", scope.version if scope else None,
    )


def readable_span(data: tuple[Any, ...], resource: Any, limits: Any = None) -> Any:
    """The SDK span (ReadableSpan) that `span_tuple` (or `otel_spans.ForwardedSpan`) made data of, with the relay's
    resource and the SDK's attribute, event and link limits (`SpanLimits`, from OTEL_SPAN_* / OTEL_ATTRIBUTE_*;
    default: the environment's)."""
    from opentelemetry.attributes import BoundedAttributes
    from opentelemetry.sdk.trace import Event, ReadableSpan, SpanLimits
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope
    from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags

    (name, trace_id, span_id, flags, parent_id, parent_remote, kind, start, end, attributes, events, links,
     status_code, description, scope_name, scope_version) = data
    limits = limits if limits is not None else SpanLimits()

    def bounded(values: dict[str, Any], count: int | None) -> BoundedAttributes:
        return BoundedAttributes(count, values, immutable=True, max_value_len=limits.max_attribute_length)

    parent = SpanContext(trace_id, parent_id, parent_remote, TraceFlags(flags)) if parent_id is not None else None
    return ReadableSpan(
        name=name,
        context=SpanContext(trace_id, span_id, False, TraceFlags(flags)),
        parent=parent,
        resource=resource,
        attributes=BoundedAttributes(limits.max_span_attributes, attributes, immutable=True,
                                     max_value_len=limits.max_span_attribute_length),
        events=tuple(Event(n, bounded(a, limits.max_event_attributes), t) for n, a, t in events[:limits.max_events]),
        links=tuple(Link(SpanContext(t, s, True, TraceFlags(f)), bounded(a, limits.max_link_attributes))
                    for t, s, f, a in links[:limits.max_links]),
        kind=SpanKind(kind),
        status=Status(StatusCode(status_code), description),
        start_time=start,
        end_time=end,
        instrumentation_scope=InstrumentationScope(scope_name, scope_version),
    )


# --- log records -------------------------------------------------------------------------------
def _plain(value: Any) -> bool:
    if isinstance(value, _SCALARS):
        return True
    return isinstance(value, (tuple, list)) and all(isinstance(v, _SCALARS) for v in value)


def record_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The parts of a log record an OTLP log record is made of: message, level, time, logger, extras.

    The message is formatted here (msg % args); extras that are not plain values are left out.
    """
    fields = {key: getattr(record, key) for key in _RECORD_FIELDS}
    fields["msg"] = record.getMessage()
    for key, value in vars(record).items():
        if key not in STANDARD_ATTRS and _plain(value):
            fields[key] = tuple(value) if isinstance(value, list) else value
    return fields


def log_record(fields: dict[str, Any]) -> logging.LogRecord:
    """A log record made from `record_fields`."""
    return logging.makeLogRecord(fields)
