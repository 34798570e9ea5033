"""OpenTelemetry SDK setup for the CLI: providers, OTLP exporters, bounded shutdown, JSON logs.

The only module that touches the SDK. Rules:
- A TracerProvider is always installed (unless OTEL_SDK_DISABLED=true), so trace ids are real and
  can be written into history rows even when nothing is exported.
- OTLP exporters exist only for signals that have an endpoint (OTEL_EXPORTER_OTLP_ENDPOINT or
  OTEL_EXPORTER_OTLP_{TRACES,METRICS,LOGS}_ENDPOINT); without one there is no network traffic.
  OTEL_{TRACES,METRICS,LOGS}_EXPORTER=none turns a signal off.
- OTEL_EXPORTER_OTLP[_<SIGNAL>]_PROTOCOL picks `http/protobuf` (default) or `grpc`.
- Exporters time out after 3 s unless OTEL_EXPORTER_OTLP[_<SIGNAL>]_TIMEOUT says otherwise.
- `TelemetryHandle.shutdown(deadline_s)` flushes in daemon threads and returns by the deadline,
  so an unreachable or hung collector delays exit by at most that long.
- Any failure during setup disables telemetry; it never fails the run.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

from rockway.logs import JsonFormatter

DEFAULT_SERVICE_NAME = "rockway"
DEFAULT_EXPORT_TIMEOUT_S = 3.0
DEFAULT_SHUTDOWN_DEADLINE_S = 5.0
PROTOCOLS = ("http/protobuf", "grpc")
LOGGER_NAME = "rockway"

_log = logging.getLogger("rockway.telemetry")


def _env(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def _truthy(name: str) -> bool:
    return (_env(name) or "").lower() == "true"


def signal_protocol(signal: str) -> str | None:
    """The OTLP protocol to export `signal` (traces|metrics|logs) with, or None when not exported."""
    upper = signal.upper()
    if (_env(f"OTEL_{upper}_EXPORTER") or "").lower() == "none":
        return None
    if not (_env("OTEL_EXPORTER_OTLP_ENDPOINT") or _env(f"OTEL_EXPORTER_OTLP_{upper}_ENDPOINT")):
        return None
    protocol = (_env(f"OTEL_EXPORTER_OTLP_{upper}_PROTOCOL") or _env("OTEL_EXPORTER_OTLP_PROTOCOL") or PROTOCOLS[0]).lower()
    if protocol not in PROTOCOLS:
        _log.warning("OTLP protocol %r is not supported; exporting %s with http/protobuf", protocol, signal)
        protocol = PROTOCOLS[0]
    return protocol


def _timeout(signal: str) -> float | None:
    """3 s unless the environment sets an OTLP timeout (then the exporter reads it itself)."""
    if _env(f"OTEL_EXPORTER_OTLP_{signal.upper()}_TIMEOUT") or _env("OTEL_EXPORTER_OTLP_TIMEOUT"):
        return None
    return DEFAULT_EXPORT_TIMEOUT_S


def _exporter(signal: str, protocol: str) -> Any:
    """An OTLP exporter for signal; exporter modules are imported only when used."""
    timeout = _timeout(signal)
    if protocol == "grpc":
        if signal == "traces":
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as cls
        elif signal == "metrics":
            from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as cls
        else:
            from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as cls
    else:
        if signal == "traces":
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as cls
        elif signal == "metrics":
            from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as cls
        else:
            from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as cls
    return cls(timeout=timeout)


def build_resource(service_version: str, environment: str | None) -> Any:
    """Resource with rockway's defaults; OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES take precedence."""
    from opentelemetry.sdk.resources import OTELResourceDetector, Resource

    ours: dict[str, str] = {"service.name": DEFAULT_SERVICE_NAME, "service.version": service_version}
    if environment:
        ours["deployment.environment.name"] = environment
        ours["deployment.environment"] = environment
    from_env = OTELResourceDetector().detect().attributes
    return Resource.create({k: v for k, v in ours.items() if k not in from_env})


@dataclass
class TelemetryHandle:
    """The providers rockway installed; `shutdown` once at exit (an atexit hook does it otherwise)."""

    tracer_provider: Any = None
    meter_provider: Any = None
    logger_provider: Any = None
    log_handler: logging.Handler | None = None
    exporting: dict[str, str] = field(default_factory=dict)  # signal -> protocol
    _closed: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _logger_level: int | None = None

    @property
    def enabled(self) -> bool:
        """True when an SDK tracer provider is installed."""
        return self.tracer_provider is not None

    def shutdown(self, deadline_s: float = DEFAULT_SHUTDOWN_DEADLINE_S) -> bool:
        """Flush and shut down all providers, returning within deadline_s; True if all finished in time."""
        with self._lock:
            if self._closed:
                return True
            self._closed = True
        atexit.unregister(self.shutdown)
        if self.log_handler is not None:
            logger = logging.getLogger(LOGGER_NAME)
            logger.removeHandler(self.log_handler)
            if self._logger_level is not None:
                logger.setLevel(self._logger_level)
        workers = []
        for name, provider, flush in (
            ("traces", self.tracer_provider, True),
            ("logs", self.logger_provider, True),
            ("metrics", self.meter_provider, False),  # shutdown() collects and exports a last time
        ):
            if provider is None:
                continue
            worker = threading.Thread(
                target=_close_provider, args=(name, provider, flush), name=f"rockway-otel-shutdown-{name}", daemon=True
            )
            worker.start()
            workers.append(worker)
        end = time.monotonic() + max(0.0, deadline_s)
        for worker in workers:
            worker.join(max(0.0, end - time.monotonic()))
        finished = not any(w.is_alive() for w in workers)
        if not finished:
            _log.warning("telemetry export did not finish within %.1f s; some spans, logs or metrics are lost", deadline_s)
        return finished


def _close_provider(name: str, provider: Any, flush: bool) -> None:
    try:
        if flush:
            provider.force_flush()
    except Exception:  # exporters report their own failures; never let them escape
        _log.debug("flushing %s failed", name, exc_info=True)
    try:
        provider.shutdown()
    except Exception:
        _log.debug("shutting down %s failed", name, exc_info=True)


def setup_telemetry(
    service_version: str, environment: str | None, *, log_level: int = logging.INFO
) -> TelemetryHandle:
    """Install the SDK providers (and OTLP exporters when configured); never raises."""
    if _truthy("OTEL_SDK_DISABLED"):
        return TelemetryHandle(_closed=True)
    handle = TelemetryHandle()
    try:
        _install(handle, service_version, environment, log_level)
    except Exception:
        _log.warning("telemetry disabled: setup failed", exc_info=True)
        handle.shutdown(deadline_s=0.5)
        return TelemetryHandle(_closed=True)
    atexit.register(handle.shutdown)
    return handle


def _install(handle: TelemetryHandle, service_version: str, environment: str | None, log_level: int) -> None:
    """Build every provider first, then publish them, so a failure leaves no global state behind."""
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = build_resource(service_version, environment)
    protocols = {s: p for s in ("traces", "metrics", "logs") if (p := signal_protocol(s))}

    handle.tracer_provider = TracerProvider(resource=resource, shutdown_on_exit=False)
    if "traces" in protocols:
        handle.tracer_provider.add_span_processor(BatchSpanProcessor(_exporter("traces", protocols["traces"])))

    if "metrics" in protocols:
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

        reader = PeriodicExportingMetricReader(_exporter("metrics", protocols["metrics"]))
        handle.meter_provider = MeterProvider(resource=resource, metric_readers=[reader], shutdown_on_exit=False)

    if "logs" in protocols:
        from opentelemetry.instrumentation.logging.handler import LoggingHandler
        from opentelemetry.sdk._logs import LoggerProvider
        from opentelemetry.sdk._logs.export import BatchLogRecordProcessor

        handle.logger_provider = LoggerProvider(resource=resource, shutdown_on_exit=False)
        handle.logger_provider.add_log_record_processor(BatchLogRecordProcessor(_exporter("logs", protocols["logs"])))
        handle.log_handler = LoggingHandler(level=log_level, logger_provider=handle.logger_provider)

    trace.set_tracer_provider(handle.tracer_provider)
    if handle.meter_provider is not None:
        from opentelemetry import metrics

        metrics.set_meter_provider(handle.meter_provider)
    if handle.log_handler is not None:
        logger = logging.getLogger(LOGGER_NAME)
        if logger.level == logging.NOTSET or logger.level > log_level:
            handle._logger_level = logger.level
            logger.setLevel(log_level)
        logger.addHandler(handle.log_handler)
    handle.exporting = protocols


def configure_json_logging(stream: TextIO | None = None, level: int = logging.INFO) -> logging.Handler:
    """Write `rockway.*` log records to stream (default stderr) as JSON lines; return the handler."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.setLevel(level)
    logger = logging.getLogger(LOGGER_NAME)
    logger.addHandler(handler)
    if logger.level == logging.NOTSET or logger.level > level:
        logger.setLevel(level)
    return handler
