"""The OTLP exporters of an exported run: which exporter each signal gets, and building it when first needed.

Imported by observability/sdk.py only when a signal has an endpoint. The SDK's processors (BatchSpanProcessor,
BatchLogRecordProcessor, PeriodicExportingMetricReader) are given a `DeferredExporter`, which builds the SDK's own
OTLP exporter (`build_exporter`) the first time the processor exports, in the processor's thread: about a second
into the run for spans and log records, at exit for metrics (and for everything when the run is shorter). Until
then neither the exporters nor what they import (the protobuf encoders, urllib3 or gRPC) are loaded: that import
was 60% of the instructions exporting added to set-up, and by then the run's thread is mostly waiting on the
database (bench/RESULTS.md, "Tracing overhead").

An exporter that cannot be built (a bad OTEL_EXPORTER_OTLP_* setting) drops its signal's data with one warning;
the run goes on.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import os
import threading
from typing import Any

from rockway.observability.logs import env_setting
from rockway.observability.redaction import error_type, redact_exception

DEFAULT_EXPORT_TIMEOUT_S = 3.0

_log = logging.getLogger("rockway.telemetry")

_EXPORTERS = {  # (protocol, signal) -> (module, class); a module is imported only when its exporter is built
    ("grpc", "traces"): ("opentelemetry.exporter.otlp.proto.grpc.trace_exporter", "OTLPSpanExporter"),
    ("grpc", "metrics"): ("opentelemetry.exporter.otlp.proto.grpc.metric_exporter", "OTLPMetricExporter"),
    ("grpc", "logs"): ("opentelemetry.exporter.otlp.proto.grpc._log_exporter", "OTLPLogExporter"),
    ("http/protobuf", "traces"): ("opentelemetry.exporter.otlp.proto.http.trace_exporter", "OTLPSpanExporter"),
    ("http/protobuf", "metrics"): ("opentelemetry.exporter.otlp.proto.http.metric_exporter", "OTLPMetricExporter"),
    ("http/protobuf", "logs"): ("opentelemetry.exporter.otlp.proto.http._log_exporter", "OTLPLogExporter"),
}
# What requests would read from the environment for a plain-HTTP request (proxies, netrc) or the exporter for
# its requests session (credential providers); with any of them set, the exporter keeps its requests transport.
_REQUESTS_SETTINGS = ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY", "NETRC",
                      "OTEL_PYTHON_EXPORTER_OTLP_HTTP_CREDENTIAL_PROVIDER")
# Settings the OTLP metric exporter reads to choose its temporality and histogram aggregation; with either set,
# the metric exporter is built at set-up, so the reader gets exactly what the exporter chose.
_METRIC_PREFERENCE_SETTINGS = ("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
                               "OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION")


def _timeout(signal: str) -> float | None:
    """3 s unless the environment sets an OTLP timeout (then the exporter reads it itself)."""
    if env_setting(f"OTEL_EXPORTER_OTLP_{signal.upper()}_TIMEOUT") or env_setting("OTEL_EXPORTER_OTLP_TIMEOUT"):
        return None
    return DEFAULT_EXPORT_TIMEOUT_S


def delta_temporality() -> dict[type, Any] | None:
    """Delta for counters and histograms, unless the environment states a temporality preference."""
    if env_setting("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE"):
        return None
    from opentelemetry.sdk.metrics import Counter, Histogram, ObservableCounter
    from opentelemetry.sdk.metrics.export import AggregationTemporality

    return {kind: AggregationTemporality.DELTA for kind in (Counter, Histogram, ObservableCounter)}


def build_exporter(signal: str, protocol: str) -> Any:
    """The SDK's OTLP exporter for signal (traces|metrics|logs) over protocol; its module is imported here."""
    module, name = _EXPORTERS[protocol, signal]
    cls = getattr(importlib.import_module(module), name)
    kwargs: dict[str, Any] = {"timeout": _timeout(signal)}
    if signal == "metrics":
        kwargs["preferred_temporality"] = delta_temporality()
    transport = _urllib3_transport(signal) if protocol == "http/protobuf" else None
    if transport is not None:
        try:
            return cls(**kwargs, _transport=transport)
        except TypeError:  # an exporter without that parameter: its default transport
            pass
    return cls(**kwargs)


def _urllib3_transport(signal: str) -> Any:
    """The HTTP exporters' own urllib3 transport when it sends exactly what their default (requests) would:
    a plain-HTTP endpoint, no proxy, .netrc or credential-provider settings; else None."""
    upper = signal.upper()
    endpoint = env_setting(f"OTEL_EXPORTER_OTLP_{upper}_ENDPOINT") or env_setting("OTEL_EXPORTER_OTLP_ENDPOINT") or ""
    if not endpoint.lower().startswith("http://"):
        return None
    if any(env_setting(name) for name in (*_REQUESTS_SETTINGS, f"OTEL_PYTHON_EXPORTER_OTLP_HTTP_{upper}_CREDENTIAL_PROVIDER")) \
            or any(os.path.exists(os.path.expanduser(f"~/{name}")) for name in (".netrc", "_netrc")):
        return None
    try:
        from opentelemetry.exporter.http.transport._urllib3 import Urllib3HTTPTransport
    except ImportError:
        return None
    return Urllib3HTTPTransport(verify=True)


class DeferredExporter:
    """Stands in for one signal's OTLP exporter until its processor first exports, then passes every call on.

    The SDK's processors call only `export`, `force_flush` and `shutdown` on their exporter; the metric reader also
    reads `_preferred_temporality` and `_preferred_aggregation` once, when it is built (what the SDK's
    MetricExporter base class stores), so a metric stand-in carries the preferences the OTLP metric exporter states.
    """

    def __init__(self, signal: str, protocol: str, failure: Any, *, preferred_temporality: dict[type, Any] | None = None,
                 preferred_aggregation: dict[type, Any] | None = None) -> None:
        self.signal, self.protocol = signal, protocol
        self._failure = failure  # what export returns when the exporter cannot be built
        self._preferred_temporality = preferred_temporality
        self._preferred_aggregation = preferred_aggregation
        self._exporter: Any = None
        self._unbuildable = False
        self._lock = threading.Lock()

    @property
    def built(self) -> Any:
        """The OTLP exporter once built, else None."""
        return self._exporter

    def _build(self) -> Any:
        with self._lock:
            if self._exporter is None and not self._unbuildable:
                try:
                    self._exporter = build_exporter(self.signal, self.protocol)
                except Exception as exc:  # a bad setting must not fail the run: the signal is dropped
                    self._unbuildable = True
                    _log.warning("telemetry: the OTLP %s exporter cannot be built (%s: %s); %s are not exported",
                                 self.signal, error_type(exc), redact_exception(exc), self.signal)
            return self._exporter

    def export(self, batch: Any, **kwargs: Any) -> Any:
        exporter = self._build()
        return self._failure if exporter is None else exporter.export(batch, **kwargs)

    def force_flush(self, timeout_millis: float = 30_000) -> bool:
        exporter = self._exporter
        return True if exporter is None else bool(exporter.force_flush(timeout_millis=timeout_millis))

    def shutdown(self, timeout_millis: float | None = None, **kwargs: Any) -> None:
        """Shut the exporter down if it was built; a timeout is passed on as the SDK's processors pass it (only to
        an exporter whose shutdown takes one)."""
        exporter = self._exporter
        if exporter is None:
            return
        if timeout_millis is not None and "timeout_millis" in inspect.getfullargspec(exporter.shutdown).args:
            kwargs["timeout_millis"] = timeout_millis
        exporter.shutdown(**kwargs)


def deferred_exporter(signal: str, protocol: str) -> Any:
    """What signal's processor is given: a `DeferredExporter`, or for metrics with a temporality or histogram
    aggregation setting in the environment, the OTLP metric exporter itself (built now)."""
    if signal == "traces":
        from opentelemetry.sdk.trace.export import SpanExportResult

        return DeferredExporter(signal, protocol, SpanExportResult.FAILURE)
    if signal == "logs":
        from opentelemetry.sdk._logs.export import LogRecordExportResult

        return DeferredExporter(signal, protocol, LogRecordExportResult.FAILURE)
    if any(env_setting(name) for name in _METRIC_PREFERENCE_SETTINGS):
        return build_exporter(signal, protocol)
    from opentelemetry.sdk.metrics import Histogram
    from opentelemetry.sdk.metrics.export import MetricExportResult
    from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation

    # What the OTLP metric exporter states without those settings (its OTLPMetricExporterMixin): cumulative for
    # every kind but rockway's delta ones (the reader's default), explicit-bucket histograms.
    return DeferredExporter(signal, protocol, MetricExportResult.FAILURE, preferred_temporality=delta_temporality(),
                            preferred_aggregation={Histogram: ExplicitBucketHistogramAggregation()})
