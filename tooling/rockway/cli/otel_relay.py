"""The export relay: a child process that exports one CLI run's telemetry over OTLP.

Why a second process: importing and starting the OTLP exporters, encoding spans and sending them
cost a run about 0.13-0.5 s of CPU on its critical path, on top of the statements (bench/RESULTS.md).
The run starts the relay when it sets up telemetry and goes on; the relay imports the SDK and the
exporters on another core meanwhile, then receives every ended span, log record and measurement over
its stdin (`otel_wire`) and exports them with exactly the providers and exporters `otel.install_providers`
describes (same OTEL_* environment, same batching, timeouts and resource).

At the end the run sends "close" with a deadline; the relay flushes within it, writes one byte to its
stdout ("1": everything was exported; "0": not all of it) and exits. If the run dies, killed or not,
its end of the pipe closes and the relay flushes what it holds within ROCKWAY_OTEL_SHUTDOWN_TIMEOUT.
The relay ignores SIGINT and SIGTERM for that reason (a Ctrl-C reaches the whole process group).

    python -m rockway.cli.otel_relay <service version> <deployment environment or ""> <signal=protocol,...>
                                     [<log format or ""> [<log file or "">]]
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import sys
import threading
import time
from typing import Any, BinaryIO

_log = logging.getLogger("rockway.telemetry")
NICENESS = 10  # background work: the run and a local database come first; still progresses on a busy host


def _drain(stream: BinaryIO, inbox: "queue.SimpleQueue[Any]") -> None:
    """Read batches into inbox as fast as they come (the run never waits on a full pipe); None at the end."""
    from rockway.cli.otel_wire import read_frames

    try:
        for batch in read_frames(stream):
            inbox.put(batch)
    finally:
        inbox.put(None)


class Replayer:
    """Feeds received messages into the providers of a TelemetryHandle."""

    def __init__(self, handle: Any) -> None:
        from opentelemetry import context, trace
        from opentelemetry.sdk.trace import SpanLimits

        from rockway import telemetry
        from rockway.cli import otel_wire

        self.handle, self._context, self._trace, self._telemetry, self._wire = handle, context, trace, telemetry, otel_wire
        self._resource, self._limits = handle.tracer_provider.resource, SpanLimits()  # limits read from OTEL_* once

    def replay(self, message: tuple[Any, ...]) -> None:
        kind = message[0]
        if kind == "span" and self.handle.span_processor is not None:
            self.handle.span_processor.on_end(self._wire.readable_span(message[1], self._resource, self._limits))
        elif kind == "log" and self.handle.log_handler is not None:
            self._log(*message[1:])
        elif kind == "metric" and self.handle.meter_provider is not None:
            self._telemetry.apply_measurement(*message[1:])

    def _log(self, fields: dict[str, Any], trace_id: int, span_id: int, flags: int) -> None:
        record = self._wire.log_record(fields)
        if not trace_id:
            self.handle.log_handler.handle(record)
            return
        trace = self._trace
        span_context = trace.SpanContext(trace_id, span_id, False, trace.TraceFlags(flags))
        token = self._context.attach(trace.set_span_in_context(trace.NonRecordingSpan(span_context)))
        try:
            self.handle.log_handler.handle(record)
        finally:
            self._context.detach(token)


def run(version: str, environment: str | None, protocols: dict[str, str], stream: BinaryIO, answer_fd: int) -> bool:
    """Relay until "close" or the end of stream; write the answer byte to answer_fd; True if all was exported."""
    inbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
    threading.Thread(target=_drain, args=(stream, inbox), name="rockway-relay-read", daemon=True).start()

    from rockway.cli import otel

    handle = otel.TelemetryHandle()
    replayer = None
    try:
        otel.install_providers(handle, version, environment, logging.NOTSET, protocols)
        replayer = Replayer(handle)
    except Exception:  # noqa: BLE001 - report, keep draining, answer "not exported"
        _log.warning("telemetry export disabled: the relay could not set up its exporters", exc_info=True)
    end, named = None, None
    while end is None and (batch := inbox.get()) is not None:
        for message in batch:
            if message[0] == "close":
                _, end, named = message
                break
            if replayer is not None:
                try:
                    replayer.replay(message)
                except Exception:  # noqa: BLE001 - one bad message never stops the relay
                    _log.debug("could not replay a %s message", message[0], exc_info=True)
    deadline = otel.shutdown_deadline() if end is None else max(0.0, end - time.monotonic())
    finished = replayer is not None and handle.shutdown(deadline_s=deadline, named_s=named)
    os.write(answer_fd, b"1" if finished else b"0")
    return finished


def main(argv: list[str]) -> None:
    """Entry point of `python -m rockway.cli.otel_relay`; never returns."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        os.nice(NICENESS)
    except OSError:
        pass
    answer_fd = os.dup(1)
    os.dup2(2, 1)  # anything printed by accident goes to stderr, never into the answer
    version, environment, signals, log_format, log_file = (argv + [""] * 5)[:5]
    protocols = dict(pair.split("=", 1) for pair in signals.split(",") if "=" in pair)
    try:
        from rockway.cli.otel import configure_logging

        configure_logging(log_format or None, log_file or None)  # the run's format for the relay's own warnings
        run(version or "0", environment or None, protocols, sys.stdin.buffer, answer_fd)
    finally:
        sys.stderr.flush()
        os._exit(0)  # exporter threads that missed the deadline are abandoned, as the run would abandon them


if __name__ == "__main__":
    main(sys.argv[1:])
