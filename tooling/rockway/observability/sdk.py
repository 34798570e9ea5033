"""OpenTelemetry set-up for the CLI: the SDK's providers and OTLP exporters, bounded shutdown, JSON logs.

With observability/exporters.py (which OTLP exporter each signal gets), the only module that touches the SDK. Rules:
- OTLP exporters exist only for signals that have an endpoint (OTEL_EXPORTER_OTLP_ENDPOINT or
  OTEL_EXPORTER_OTLP_{TRACES,METRICS,LOGS}_ENDPOINT); without one there is no network traffic and the
  SDK is not imported. OTEL_{TRACES,METRICS,LOGS}_EXPORTER=none turns a signal off.
- With a traces endpoint the run's spans are the SDK's: a TracerProvider (its sampler from
  OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG, read by the SDK) with a BatchSpanProcessor in front of
  the OTLP span exporter. Log records go through a BatchLogRecordProcessor, metrics through a
  PeriodicExportingMetricReader that exports once more at shutdown.
- Without a traces endpoint (unless OTEL_SDK_DISABLED=true) spans still have real random trace and
  span ids, so history rows and log lines can name them, but they record nothing
  (`IdsOnlyTracerProvider`: the API's NonRecordingSpan with fresh ids).
- OTEL_EXPORTER_OTLP[_<SIGNAL>]_PROTOCOL picks `http/protobuf` (default) or `grpc`. A plain-HTTP endpoint
  without proxy, .netrc or credential-provider settings is sent to with the exporter's urllib3 transport:
  importing requests (its default) costs more than the rest of the exporter (bench/RESULTS.md).
- The OTLP exporters are built when their processor first exports, in its thread (exporters.py): set-up imports
  the SDK's providers and processors, not the exporters, their protobuf encoders or their HTTP/gRPC clients.
- Exporters time out after 3 s unless OTEL_EXPORTER_OTLP[_<SIGNAL>]_TIMEOUT says otherwise.
- `TelemetryHandle.shutdown(deadline_s)` force-flushes and shuts the providers down, each in a daemon
  thread, and returns by the deadline (ROCKWAY_OTEL_SHUTDOWN_TIMEOUT seconds, default 5): an
  unreachable or hung collector delays exit by at most that long (the SDK's force_flush does not honour
  its own timeout, so the deadline is kept here).
- Spans are exported every second (OTEL_BSP_SCHEDULE_DELAY overrides; the SDK default is 5 s), so a
  long run's spans leave while it waits on the database and a run killed outright loses at most its last
  second; every 0.1 s, 1 s or 5 s cost the same CPU and exit flush within noise (bench/RESULTS.md).
- Metrics carry no exemplars unless OTEL_METRICS_EXEMPLAR_FILTER asks for them (they cost time per
  statement; the statement spans hold the same durations with trace ids).
- Counters and histograms are exported with delta temporality (each short-lived run reports what it
  did; SigNoz sums the deltas) unless OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE is set.
- OTLP log records carry `rockway.run_id` next to the trace and span ids of the span they were
  written in; an attached exception is exported only as type and redacted message. They reach the
  SDK's logger provider through `OtlpLogHandler`, not the instrumentation package's handler, whose
  imports (packaging, wrapt) cost a tenth of the set-up.
- Any failure during setup disables telemetry; an exporter that cannot be built drops its signal with a
  warning (exporters.py). Neither fails the run.
"""

from __future__ import annotations

import atexit
import logging
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace

from rockway.observability.attributes import RUN_ID
from rockway.observability.logs import STANDARD_ATTRS, env_setting
from rockway.observability.redaction import error_type, redact_exception, redact_secrets
from rockway.observability.spans import LOGGER_NAME, current_run_id

DEFAULT_SERVICE_NAME = "rockway"
DEFAULT_SHUTDOWN_DEADLINE_S = 5.0
DEFAULT_SPAN_EXPORT_DELAY_MS = 1000  # SDK default 5000; see the module docstring
SHUTDOWN_TIMEOUT_ENV = "ROCKWAY_OTEL_SHUTDOWN_TIMEOUT"
PROTOCOLS = ("http/protobuf", "grpc")
SIGNALS = ("traces", "metrics", "logs")

_log = logging.getLogger("rockway.telemetry")


def _truthy(name: str) -> bool:
    return (env_setting(name) or "").lower() == "true"


def shutdown_deadline() -> float:
    """Seconds exit may wait for telemetry: ROCKWAY_OTEL_SHUTDOWN_TIMEOUT, else 5."""
    raw = env_setting(SHUTDOWN_TIMEOUT_ENV)
    if raw is None:
        return DEFAULT_SHUTDOWN_DEADLINE_S
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0:  # also rejects nan
        _log.warning("%s=%r is not a number of seconds; using %.0f", SHUTDOWN_TIMEOUT_ENV, raw, DEFAULT_SHUTDOWN_DEADLINE_S)
        return DEFAULT_SHUTDOWN_DEADLINE_S
    return value


def signal_protocol(signal: str) -> str | None:
    """The OTLP protocol to export `signal` (traces|metrics|logs) with, or None when not exported."""
    upper = signal.upper()
    if (env_setting(f"OTEL_{upper}_EXPORTER") or "").lower() == "none":
        return None
    if not (env_setting("OTEL_EXPORTER_OTLP_ENDPOINT") or env_setting(f"OTEL_EXPORTER_OTLP_{upper}_ENDPOINT")):
        return None
    protocol = (env_setting(f"OTEL_EXPORTER_OTLP_{upper}_PROTOCOL") or env_setting("OTEL_EXPORTER_OTLP_PROTOCOL") or PROTOCOLS[0]).lower()
    if protocol not in PROTOCOLS:
        _log.warning("OTLP protocol %r is not supported; exporting %s with http/protobuf", protocol, signal)
        protocol = PROTOCOLS[0]
    return protocol


def _exemplar_filter() -> Any:
    """No exemplars unless OTEL_METRICS_EXEMPLAR_FILTER asks for them.

    The SDK default (trace_based) offers an exemplar for every statement measured inside a span
    (about 10 µs each, measured); statement spans already carry the same durations with their trace ids.
    """
    if env_setting("OTEL_METRICS_EXEMPLAR_FILTER"):
        return None  # the SDK reads the variable itself
    from opentelemetry.sdk.metrics import AlwaysOffExemplarFilter

    return AlwaysOffExemplarFilter()


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
        """True when a tracer provider is installed."""
        return self.tracer_provider is not None

    def shutdown(self, deadline_s: float | None = None) -> bool:
        """Flush and shut down all providers, returning within deadline_s (default: `shutdown_deadline()`).

        True if everything finished in time.
        """
        if deadline_s is None:
            deadline_s = shutdown_deadline()
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
        timeout_ms = int(max(0.0, deadline_s) * 1000)
        workers = []
        for name, provider in (("traces", self.tracer_provider), ("logs", self.logger_provider),
                               ("metrics", self.meter_provider)):
            if provider is None or isinstance(provider, IdsOnlyTracerProvider):
                continue
            worker = threading.Thread(target=_close_provider, args=(name, provider, timeout_ms),
                                      name=f"rockway-otel-shutdown-{name}", daemon=True)
            worker.start()
            workers.append(worker)
        end = time.monotonic() + max(0.0, deadline_s)
        for worker in workers:
            worker.join(max(0.0, end - time.monotonic()))
        finished = not any(w.is_alive() for w in workers)
        if not finished:
            _log.warning("telemetry export did not finish within %.1f s; some spans, logs or metrics are lost",
                         deadline_s)
        return finished


def _close_provider(name: str, provider: Any, timeout_ms: int) -> None:
    """force_flush then shutdown one SDK provider (the meter provider's shutdown collects and exports a last time)."""
    try:
        if name != "metrics":
            provider.force_flush(timeout_millis=timeout_ms)
    except Exception:  # exporters report their own failures; never let them escape
        _log.debug("flushing %s failed", name, exc_info=True)
    try:
        if name == "metrics":
            provider.shutdown(timeout_millis=timeout_ms)
        else:
            provider.shutdown()
    except Exception:
        _log.debug("shutting down %s failed", name, exc_info=True)


def setup_telemetry(service_version: str, environment: str | None, *, log_level: int = logging.INFO) -> TelemetryHandle:
    """Install the providers (the SDK's, with OTLP exporters, for the signals that are exported); never raises."""
    if _truthy("OTEL_SDK_DISABLED"):
        return TelemetryHandle(_closed=True)
    handle = TelemetryHandle()
    try:
        install_providers(handle, service_version, environment, log_level, exported_signals())
        _attach_log_handler(handle, log_level)
    except Exception:
        _log.warning("telemetry disabled: setup failed", exc_info=True)
        handle.shutdown(deadline_s=0.5)
        return TelemetryHandle(_closed=True)
    atexit.register(handle.shutdown)
    return handle


def exported_signals() -> dict[str, str]:
    """{signal: protocol} for every signal with an OTLP endpoint (empty: nothing leaves the process)."""
    return {s: p for s in SIGNALS if (p := signal_protocol(s))}


class IdsOnlyTracer(trace.NoOpTracer):
    """Starts spans that carry fresh random ids (the parent's trace id, if any) and record nothing.

    For runs that export no traces: the ids still go into history rows and log lines, without importing
    the SDK. The spans are the API's own NonRecordingSpan; ids are drawn as the SDK's RandomIdGenerator
    draws them. A NoOpTracer, so rockway.observability.spans knows its spans' attributes are never read.
    """

    def start_span(self, name: str, context: Any = None, *args: Any, **kwargs: Any) -> trace.Span:
        parent = trace.get_current_span(context).get_span_context()
        trace_id = parent.trace_id if parent.is_valid else _random_id(128)
        return trace.NonRecordingSpan(trace.SpanContext(trace_id, _random_id(64), is_remote=False))

    def start_as_current_span(self, name: str, context: Any = None, *args: Any, end_on_exit: bool = True,
                              **kwargs: Any) -> Any:
        return trace.use_span(self.start_span(name, context), end_on_exit=end_on_exit)


def _random_id(bits: int) -> int:
    while not (value := random.getrandbits(bits)):
        pass
    return value


class IdsOnlyTracerProvider(trace.TracerProvider):
    """A tracer provider whose tracer is an `IdsOnlyTracer`."""

    def __init__(self) -> None:
        self._tracer = IdsOnlyTracer()

    def get_tracer(self, *args: Any, **kwargs: Any) -> IdsOnlyTracer:
        return self._tracer


def install_providers(handle: TelemetryHandle, service_version: str, environment: str | None, log_level: int,
                      protocols: dict[str, str]) -> None:
    """Build every provider (SDK providers with exporters for the signals in protocols, an `IdsOnlyTracerProvider`
    when traces are not exported) first, then publish them, so a failure leaves no global state behind. The OTLP
    log handler is built (`handle.log_handler`), not attached."""
    resource = build_resource(service_version, environment) if protocols else None
    if protocols:
        from rockway.observability.exporters import deferred_exporter

    if "traces" in protocols:
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        handle.tracer_provider = TracerProvider(resource=resource, shutdown_on_exit=False)
        delay = None if env_setting("OTEL_BSP_SCHEDULE_DELAY") else DEFAULT_SPAN_EXPORT_DELAY_MS  # None: the SDK reads it
        handle.tracer_provider.add_span_processor(
            BatchSpanProcessor(deferred_exporter("traces", protocols["traces"]), schedule_delay_millis=delay))
    else:
        handle.tracer_provider = IdsOnlyTracerProvider()

    if "metrics" in protocols:
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

        reader = PeriodicExportingMetricReader(deferred_exporter("metrics", protocols["metrics"]))
        handle.meter_provider = MeterProvider(resource=resource, metric_readers=[reader], shutdown_on_exit=False,
                                              exemplar_filter=_exemplar_filter())

    if "logs" in protocols:
        from opentelemetry.sdk._logs import LoggerProvider
        from opentelemetry.sdk._logs.export import BatchLogRecordProcessor

        handle.logger_provider = LoggerProvider(resource=resource, shutdown_on_exit=False)
        handle.logger_provider.add_log_record_processor(
            BatchLogRecordProcessor(deferred_exporter("logs", protocols["logs"])))
        handle.log_handler = OtlpLogHandler(log_level, handle.logger_provider)

    trace.set_tracer_provider(handle.tracer_provider)
    if handle.meter_provider is not None:
        from opentelemetry import metrics

        metrics.set_meter_provider(handle.meter_provider)
    handle.exporting = protocols


def _attach_log_handler(handle: TelemetryHandle, log_level: int) -> None:
    """Send the `rockway` logger's records from log_level to the handle's OTLP log handler."""
    if handle.log_handler is None:
        return
    logger = logging.getLogger(LOGGER_NAME)
    if logger.level == logging.NOTSET or logger.level > log_level:
        handle._logger_level = logger.level
        logger.setLevel(log_level)
    logger.addHandler(handle.log_handler)


def otlp_safe_record(record: logging.LogRecord) -> logging.LogRecord:
    """record with `rockway.run_id` added and an attached exception reduced to safe attributes.

    The stock OTLP handler copies `str(exc)` and a full traceback (with source lines) into the record's
    attributes; either can hold a literal from SQL or a server message. Here an attached exception
    becomes `exception.type`, `error.type` and a redacted `exception.message` only; values in secret
    positions of the message and of text attributes are masked as in the log file (observability/logs.py).
    """
    extra: dict[str, Any] = {}
    message = record.getMessage()
    masked = redact_secrets(message)
    if masked != message:
        extra.update(msg=masked, args=None)
    for key, value in record.__dict__.items():
        if key not in STANDARD_ATTRS and isinstance(value, str):
            masked = redact_secrets(value)
            if masked != value:
                extra[key] = masked
    run_id = getattr(record, "run_id", None) or current_run_id()
    if run_id and RUN_ID not in record.__dict__:
        extra[RUN_ID] = run_id
    if record.exc_info:
        exc = record.exc_info[1]
        extra.update(exc_info=None, exc_text=None)
        if exc is not None:
            extra.update({"exception.type": type(exc).__name__, "error.type": error_type(exc),
                          "exception.message": redact_exception(exc)})
    return logging.makeLogRecord({**record.__dict__, **extra}) if extra else record


_SEVERITY_TEXT = {"WARNING": "WARN", "CRITICAL": "FATAL"}  # Python level names that OTLP spells otherwise


class OtlpLogHandler(logging.Handler):
    """Hands log records, made safe by `otlp_safe_record`, to an SDK logger provider (one OTLP log record each).

    Does for these records what opentelemetry-instrumentation-logging's handler does (body, severity,
    `extra=` fields as attributes, the current span's context) without importing that package.
    """

    def __init__(self, level: int, logger_provider: Any) -> None:
        super().__init__(level=level)
        from opentelemetry._logs import LogRecord
        from opentelemetry.sdk._logs._internal import std_to_otel

        self._provider = logger_provider
        self._record = LogRecord
        self._severity = std_to_otel
        self._loggers: dict[str, Any] = {}

    def emit(self, record: logging.LogRecord) -> None:
        safe = otlp_safe_record(record)
        logger = self._loggers.get(safe.name)
        if logger is None:
            logger = self._loggers[safe.name] = self._provider.get_logger(safe.name)
        logger.emit(self._record(
            timestamp=int(safe.created * 1e9), observed_timestamp=time.time_ns(), context=otel_context.get_current(),
            severity_text=_SEVERITY_TEXT.get(safe.levelname, safe.levelname), severity_number=self._severity(safe.levelno),
            body=safe.getMessage(), attributes={k: v for k, v in vars(safe).items() if k not in STANDARD_ATTRS},
        ))
