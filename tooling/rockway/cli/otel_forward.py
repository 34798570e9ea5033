"""The run's side of the export relay: start it, forward spans, log records and measurements, close it in time.

`Relay.start` launches `python -m rockway.cli.otel_relay` and returns at once; everything sent before
the relay is ready waits in the pipe (the relay drains it from its first moment). Sending never
blocks the run for long and never raises: if the relay is gone, a warning is logged once and the
rest is dropped, as an unreachable collector would drop it.
"""

from __future__ import annotations

import logging
import os
import select
import subprocess
import sys
import threading
import time
from typing import Any, Callable, Mapping

from opentelemetry import trace

from . import otel_wire

_log = logging.getLogger("rockway.telemetry")
RELAY_MODULE = "rockway.cli.otel_relay"
EXIT_GRACE_S = 0.3  # beyond the deadline: the relay's own start-up, or a slow last write


class Relay:
    """One relay process and the pipes to it.

    Messages are collected and written in batches (one marshal dump and one write per batch): every
    `SEND_INTERVAL_S` by a background thread, at once when `BATCH` messages wait, and at close. A
    killed run loses at most the last interval's messages; the relay flushes everything it received.
    """

    SEND_INTERVAL_S = 0.1
    BATCH = 512

    def __init__(self, proc: subprocess.Popen[bytes], write_fd: int, answer_fd: int) -> None:
        self.proc, self._fd, self._answer_fd = proc, write_fd, answer_fd
        self._pending: list[tuple[Any, ...]] = []
        self._pending_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._broken = False
        self._sent_any = False
        self._closing = threading.Event()
        self._sender = threading.Thread(target=self._send_periodically, name="rockway-relay-send", daemon=True)
        self._sender.start()
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._forget)

    def _forget(self) -> None:
        """In a forked child (a CSV check worker): neither write to the relay nor keep its pipe open."""
        if not self._broken:
            self._broken = True
            for fd in (self._fd, self._answer_fd):
                try:
                    os.close(fd)
                except OSError:
                    pass

    @classmethod
    def start(cls, service_version: str, environment: str | None, protocols: Mapping[str, str],
              log_format: str | None = None, log_file: str | None = None) -> "Relay":
        """Launch `python -m rockway.cli.otel_relay` exporting protocols ({signal: protocol}) with this process's
        environment (OTEL_* included), writing its own warnings as `configure_logging(log_format, log_file)`
        does; raises OSError if it cannot start.

        Only stdin, stdout and stderr are passed on: a lock file, a database connection or a log file of
        the run stays the run's alone.
        """
        env = dict(os.environ)
        package_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # this rockway
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
        messages_r, messages_w = os.pipe()
        answer_r, answer_w = os.pipe()
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", RELAY_MODULE, service_version, environment or "", _protocol_arg(protocols),
                 log_format or "", log_file or ""],
                stdin=messages_r, stdout=answer_w, env=env, close_fds=True,
            )
        except BaseException:
            for fd in (messages_w, answer_r):
                os.close(fd)
            raise
        finally:
            for fd in (messages_r, answer_w):  # the relay's ends
                os.close(fd)
        return cls(proc, messages_w, answer_r)

    def send(self, message: tuple[Any, ...]) -> None:
        """Queue one message for the relay (written within SEND_INTERVAL_S); after the relay is gone, drop it."""
        if self._broken:
            return
        with self._pending_lock:
            self._pending.append(message)
            full = len(self._pending) >= self.BATCH
        if full:
            self.flush()

    def measurement(self, name: str, value: float, attributes: Mapping[str, Any]) -> None:
        """Forward one measurement (a `telemetry.forward_measurements` sink)."""
        self.send(("metric", name, value, dict(attributes)))

    def flush(self) -> None:
        """Write what is queued to the relay now."""
        with self._write_lock:
            with self._pending_lock:
                batch, self._pending = self._pending, []
            if not batch or self._broken:
                return
            self._sent_any = True
            try:
                data = memoryview(otel_wire.frame(batch))
            except Exception:  # noqa: BLE001 - a value that cannot cross costs its batch, never the run
                _log.warning("%d telemetry messages could not be sent to the relay", len(batch), exc_info=True)
                return
            try:
                while data:
                    data = data[os.write(self._fd, data):]
            except OSError as exc:
                self._broken = True
                _log.warning("telemetry relay is gone (%s); the rest of this run's telemetry is lost", exc)

    def _send_periodically(self) -> None:
        while not self._closing.wait(self.SEND_INTERVAL_S):
            self.flush()

    def close(self, deadline_s: float) -> bool:
        """Ask the relay to flush within deadline_s and wait for its answer (at most deadline_s + a grace).

        True when the relay reports every export finished (or nothing was ever sent). A relay that does
        not answer in time is killed.
        """
        end = time.monotonic() + max(0.0, deadline_s)
        self._closing.set()
        self.flush()
        answer = b""
        if self._sent_any:
            self.send(("close", end, deadline_s))
            self.flush()
        with self._write_lock:
            self._broken = True
            os.close(self._fd)
        if self._sent_any:
            ready, _, _ = select.select([self._answer_fd], [], [], max(0.0, end + EXIT_GRACE_S - time.monotonic()))
            if ready:
                answer = os.read(self._answer_fd, 1)
            if not answer:
                _log.warning("telemetry relay did not answer within %.1f s; some spans, logs or metrics are lost",
                             deadline_s)
        os.close(self._answer_fd)
        if answer:  # the relay exits by itself once it has answered (~3 ms): reaped beside the run's exit
            threading.Thread(target=_reap, args=(self.proc,), name="rockway-relay-reap", daemon=True).start()
        else:  # nothing to export, or too late: do not wait for the relay
            self.proc.kill()
            _reap(self.proc)
        return answer == b"1" or not self._sent_any


def _reap(proc: subprocess.Popen[bytes]) -> None:
    """Wait for proc to exit (killing it after EXIT_GRACE_S)."""
    try:
        proc.wait(timeout=EXIT_GRACE_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _protocol_arg(protocols: Mapping[str, str]) -> str:
    return ",".join(f"{signal}={protocol}" for signal, protocol in protocols.items())


class RelayLogHandler(logging.Handler):
    """Sends log records, made safe for OTLP by `prepare`, with the ids of the span they were written in."""

    def __init__(self, relay: Relay, prepare: Callable[[logging.LogRecord], logging.LogRecord],
                 level: int = logging.NOTSET) -> None:
        super().__init__(level=level)
        self.relay, self.prepare = relay, prepare

    def emit(self, record: logging.LogRecord) -> None:
        try:
            fields = otel_wire.record_fields(self.prepare(record))
            ctx = trace.get_current_span().get_span_context()
            ids = (ctx.trace_id, ctx.span_id, int(ctx.trace_flags)) if ctx.is_valid else (0, 0, 0)
        except Exception:  # noqa: BLE001 - a record that cannot be sent is skipped, as logging does
            self.handleError(record)
            return
        self.relay.send(("log", fields, *ids))
