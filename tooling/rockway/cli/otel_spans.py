"""Spans recorded as plain data: the OpenTelemetry trace API without the SDK's span machinery in the run.

A run whose spans are exported by the export relay (`otel_relay`), or not exported at all, needs from
its own tracer only real ids (for history rows and log lines), the current-span context and, at the
end of each span, its data. `ForwardingTracerProvider` implements the API's provider, tracer and span
for that: an ended span becomes one tuple in `otel_wire`'s span format, sent to the relay, which builds
the SDK span there (with the SDK's attribute, event and link limits: `otel_wire.readable_span`) and
exports it. Without a relay, ended spans are dropped. The run imports no SDK trace module and each
span costs a fraction of an SDK span (bench/RESULTS.md).

It stands for the SDK's default sampler only: `parentbased_always_on` (OTEL_TRACES_SAMPLER unset) or
`always_on`. `supports_sampler()` says whether the environment asks for one of those; for any other
sampler the CLI installs the SDK's TracerProvider instead.

Ids are random 128-bit trace ids and 64-bit span ids (as the SDK's RandomIdGenerator makes them);
a child of a sampled parent is recorded in the parent's trace, a child of a non-sampled parent is not
recorded (parentbased_always_on). Attribute values must be plain (str, bool, int, float or a sequence
of them); anything else is dropped, as the SDK drops it. Exceptions are recorded redacted, as
`telemetry.record_error` records them.
"""

from __future__ import annotations

import logging
import os
import random
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Mapping, Sequence

from opentelemetry import trace
from opentelemetry.trace import (
    INVALID_SPAN_ID,
    INVALID_TRACE_ID,
    Link,
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
)

_log = logging.getLogger("rockway.telemetry")
SAMPLERS = ("parentbased_always_on", "always_on")
_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_PLAIN = (str, bool, int, float)

Send = Callable[[tuple[Any, ...]], None]  # the relay's `send`: one message


def _sampler() -> str:
    """The sampler OTEL_TRACES_SAMPLER names (the SDK's default when unset)."""
    return os.environ.get("OTEL_TRACES_SAMPLER", "").strip().lower() or SAMPLERS[0]


def supports_sampler() -> bool:
    """True when OTEL_TRACES_SAMPLER is unset or names a sampler these spans implement (`SAMPLERS`)."""
    return _sampler() in SAMPLERS


def _plain(value: Any) -> Any:
    """value if it is a valid attribute value (a sequence as a tuple), else None."""
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, (list, tuple)) and all(isinstance(v, _PLAIN) or v is None for v in value):
        return tuple(value)
    return None


def _attributes(attributes: Mapping[str, Any] | None) -> dict[str, Any]:
    if not attributes:
        return {}
    out = {}
    for key, value in attributes.items():
        value = _plain(value)
        if value is None or not isinstance(key, str) or not key:
            _log.debug("span attribute %r dropped: not a valid attribute", key)
            continue
        out[key] = value
    return out


def _new_id(bits: int, invalid: int) -> int:
    value = random.getrandbits(bits)
    while value == invalid:
        value = random.getrandbits(bits)
    return value


class ForwardedSpan(trace.Span):
    """A recording span; `end` sends its data to the relay (message `("span", <otel_wire span tuple>)`)."""

    __slots__ = ("_name", "_context", "_parent", "_kind", "_start", "_attributes", "_events", "_links", "_status",
                 "_description", "_scope", "_send", "_ended")

    def __init__(self, name: str, context: SpanContext, parent: SpanContext | None, kind: SpanKind,
                 attributes: dict[str, Any], links: list[tuple[Any, ...]], start_time: int,
                 scope: tuple[str, str | None], send: Send | None) -> None:
        self._name, self._context, self._parent, self._kind = name, context, parent, kind
        self._attributes, self._links, self._start = attributes, links, start_time
        self._events: list[tuple[str, dict[str, Any], int]] = []
        self._status, self._description = StatusCode.UNSET, None
        self._scope, self._send, self._ended = scope, send, False

    def get_span_context(self) -> SpanContext:
        return self._context

    def is_recording(self) -> bool:
        return not self._ended

    def set_attribute(self, key: str, value: Any) -> None:
        if self._ended:
            return
        plain = _plain(value)
        if plain is None or not isinstance(key, str) or not key:
            _log.debug("span attribute %r dropped: not a valid attribute", key)
            return
        self._attributes[key] = plain

    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        if not self._ended:
            self._attributes.update(_attributes(attributes))

    def add_event(self, name: str, attributes: Mapping[str, Any] | None = None, timestamp: int | None = None) -> None:
        if not self._ended:
            self._events.append((name, _attributes(attributes), timestamp or time.time_ns()))

    def add_link(self, context: SpanContext, attributes: Mapping[str, Any] | None = None) -> None:
        if not self._ended and context.is_valid:
            self._links.append((context.trace_id, context.span_id, int(context.trace_flags), _attributes(attributes)))

    def update_name(self, name: str) -> None:
        if not self._ended:
            self._name = name

    def set_status(self, status: Status | StatusCode, description: str | None = None) -> None:
        """As the SDK: OK is final; a description is kept for ERROR only."""
        if self._ended or self._status is StatusCode.OK:
            return
        if isinstance(status, Status):
            status, description = status.status_code, status.description
        self._status = status
        self._description = description if status is StatusCode.ERROR else None

    def record_exception(self, exception: BaseException, attributes: Mapping[str, Any] | None = None,
                         timestamp: int | None = None, escaped: bool = False) -> None:
        """An `exception` event with the type and the redacted message only (never the raw text)."""
        from rockway.telemetry import exception_event

        self.add_event("exception", {**exception_event(exception), **(attributes or {})}, timestamp)

    def end(self, end_time: int | None = None) -> None:
        if self._ended:
            return
        self._ended = True
        if self._send is None:
            return
        ctx, parent = self._context, self._parent
        self._send(("span", (
            self._name, ctx.trace_id, ctx.span_id, int(ctx.trace_flags),
            parent.span_id if parent is not None else None, parent.is_remote if parent is not None else False,
            self._kind.value, self._start, end_time or time.time_ns(), self._attributes, tuple(self._events),
            tuple(self._links), self._status.value, self._description, *self._scope,
        )))


class ForwardingTracer(trace.Tracer):
    """Starts `ForwardedSpan`s (see the module docstring for sampling and ids)."""

    def __init__(self, scope: tuple[str, str | None], send: Send | None, always_on: bool) -> None:
        self._scope, self._send, self._always_on = scope, send, always_on

    def start_span(self, name: str, context: Any = None, kind: SpanKind = SpanKind.INTERNAL,
                   attributes: Mapping[str, Any] | None = None, links: Sequence[Link] | None = None,
                   start_time: int | None = None, record_exception: bool = True,
                   set_status_on_exception: bool = True) -> trace.Span:
        parent = trace.get_current_span(context).get_span_context()
        span_id = _new_id(64, INVALID_SPAN_ID)
        if not parent.is_valid:
            parent, trace_id, flags = None, _new_id(128, INVALID_TRACE_ID), _SAMPLED
        elif parent.trace_flags.sampled or self._always_on:
            trace_id, flags = parent.trace_id, _SAMPLED
        else:
            return NonRecordingSpan(SpanContext(parent.trace_id, span_id, False, parent.trace_flags, parent.trace_state))
        link_data = [(link.context.trace_id, link.context.span_id, int(link.context.trace_flags),
                      _attributes(link.attributes)) for link in links or () if link.context.is_valid]
        return ForwardedSpan(name, SpanContext(trace_id, span_id, False, flags), parent, kind, _attributes(attributes),
                             link_data, start_time or time.time_ns(), self._scope, self._send)

    @contextmanager  # type: ignore[override]
    def start_as_current_span(self, name: str, context: Any = None, kind: SpanKind = SpanKind.INTERNAL,
                              attributes: Mapping[str, Any] | None = None, links: Sequence[Link] | None = None,
                              start_time: int | None = None, record_exception: bool = True,
                              set_status_on_exception: bool = True, end_on_exit: bool = True) -> Iterator[trace.Span]:
        """As the API's, except that a failure is recorded redacted (`telemetry.record_error`)."""
        current = self.start_span(name, context, kind, attributes, links, start_time)
        try:
            with trace.use_span(current, record_exception=False, set_status_on_exception=False):
                yield current
        except Exception as exc:
            if current.is_recording() and (record_exception or set_status_on_exception):
                from rockway.telemetry import record_error

                record_error(current, exc)
            raise
        finally:
            if end_on_exit:
                current.end()


class ForwardingTracerProvider(trace.TracerProvider):
    """Tracers whose ended spans are sent with send (`otel_forward.Relay.send`), or dropped (None)."""

    def __init__(self, send: Send | None) -> None:
        self._send = send
        self._always_on = _sampler() == "always_on"

    def get_tracer(self, instrumenting_module_name: str, instrumenting_library_version: str | None = None,
                   schema_url: str | None = None, attributes: Any = None) -> trace.Tracer:
        return ForwardingTracer((instrumenting_module_name, instrumenting_library_version), self._send,
                                self._always_on)
