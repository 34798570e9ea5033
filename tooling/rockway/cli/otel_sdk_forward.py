"""Span forwarding for a run that keeps the SDK's own tracer: one whose OTEL_TRACES_SAMPLER is not the default.

Runs with the default sampler record their spans with `otel_spans` and import none of this. With any other
sampler the SDK's TracerProvider decides, and this processor sends each span it ended and sampled to the
export relay, as `otel_wire.span_tuple`.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor

from . import otel_wire

_log = logging.getLogger("rockway.telemetry")


class RelaySpanProcessor(SpanProcessor):
    """Sends every ended, sampled span to the relay."""

    def __init__(self, send: Callable[[tuple[Any, ...]], None]) -> None:
        self.send = send

    def on_end(self, span: ReadableSpan) -> None:
        if span.context is None or not span.context.trace_flags.sampled:
            return
        try:
            data = otel_wire.span_tuple(span)
        except Exception:  # noqa: BLE001 - telemetry never fails the run
            _log.debug("span %r cannot be forwarded", span.name, exc_info=True)
            return
        self.send(("span", data))

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True  # nothing is held here
