"""In-process OTLP receiver for tests: OTLP/HTTP (protobuf, gzip aware) and OTLP/gRPC on 127.0.0.1.

Decoded telemetry lands in plain Python structures:
- spans: dicts with name, kind ("CLIENT", "INTERNAL" …), attributes, trace_id, span_id, parent_span_id,
  status_code, status_message, events, resource, scope
- logs: dicts with body, severity_text, severity_number, attributes, trace_id, span_id, resource
- metrics: dicts with name, unit, kind, temporality (DELTA/CUMULATIVE for sums and histograms), points (each:
  attributes plus value or count/sum), resource
Also: `refused_port()` and `SilentServer` for "collector down" tests.
"""

from __future__ import annotations

import contextlib
import gzip
import socket
import threading
import time
import zlib
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

import grpc
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.metrics.v1 import metrics_pb2
from opentelemetry.proto.trace.v1 import trace_pb2


def any_value(value: Any) -> Any:
    """A Python value from an OTLP AnyValue."""
    which = value.WhichOneof("value")
    if which is None:
        return None
    if which == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if which == "kvlist_value":
        return attributes(value.kvlist_value.values)
    return getattr(value, which)


def attributes(kvs: Any) -> dict[str, Any]:
    """A dict from repeated KeyValue."""
    return {kv.key: any_value(kv.value) for kv in kvs}


def _hex(raw: bytes) -> str | None:
    return raw.hex() if raw and any(raw) else None


def decode_traces(req: Any) -> list[dict[str, Any]]:
    out = []
    for rs in req.resource_spans:
        resource = attributes(rs.resource.attributes)
        for ss in rs.scope_spans:
            for s in ss.spans:
                out.append(
                    {
                        "name": s.name,
                        "kind": trace_pb2.Span.SpanKind.Name(s.kind).removeprefix("SPAN_KIND_"),
                        "attributes": attributes(s.attributes),
                        "trace_id": _hex(s.trace_id),
                        "span_id": _hex(s.span_id),
                        "parent_span_id": _hex(s.parent_span_id),
                        "status_code": trace_pb2.Status.StatusCode.Name(s.status.code).removeprefix("STATUS_CODE_"),
                        "status_message": s.status.message,
                        "events": [{"name": e.name, "attributes": attributes(e.attributes)} for e in s.events],
                        "resource": resource,
                        "scope": ss.scope.name,
                        "scope_version": ss.scope.version,
                    }
                )
    return out


def decode_logs(req: Any) -> list[dict[str, Any]]:
    out = []
    for rl in req.resource_logs:
        resource = attributes(rl.resource.attributes)
        for sl in rl.scope_logs:
            for r in sl.log_records:
                out.append(
                    {
                        "body": any_value(r.body),
                        "severity_text": r.severity_text,
                        "severity_number": r.severity_number,
                        "attributes": attributes(r.attributes),
                        "trace_id": _hex(r.trace_id),
                        "span_id": _hex(r.span_id),
                        "resource": resource,
                        "scope": sl.scope.name,
                    }
                )
    return out


def decode_metrics(req: Any) -> list[dict[str, Any]]:
    out = []
    for rm in req.resource_metrics:
        resource = attributes(rm.resource.attributes)
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                kind = m.WhichOneof("data")
                points = []
                for p in getattr(m, kind).data_points:
                    point: dict[str, Any] = {"attributes": attributes(p.attributes)}
                    if kind == "histogram":
                        point.update(count=p.count, sum=p.sum)
                    elif kind in ("sum", "gauge"):
                        point["value"] = getattr(p, p.WhichOneof("value"))
                    points.append(point)
                data = getattr(m, kind)
                temporality = (
                    metrics_pb2.AggregationTemporality.Name(data.aggregation_temporality).removeprefix("AGGREGATION_TEMPORALITY_")
                    if kind in ("sum", "histogram", "exponential_histogram") else None
                )
                out.append(
                    {"name": m.name, "unit": m.unit, "kind": kind, "points": points, "resource": resource,
                     "scope": sm.scope.name, "temporality": temporality}
                )
    return out


class OtlpReceiver:
    """Collects OTLP exports sent over HTTP and gRPC; use as a context manager."""

    def __init__(self) -> None:
        self.spans: list[dict[str, Any]] = []
        self.logs: list[dict[str, Any]] = []
        self.metrics: list[dict[str, Any]] = []
        self.requests: list[tuple[str, str]] = []  # (transport, path or method)
        self._cond = threading.Condition()
        self._http: ThreadingHTTPServer | None = None
        self._grpc: grpc.Server | None = None
        self.http_port = 0
        self.grpc_port = 0

    # --- collection ---------------------------------------------------------------------------
    def _add(self, transport: str, what: str, signal: str, items: list[dict[str, Any]]) -> None:
        with self._cond:
            self.requests.append((transport, what))
            getattr(self, signal).extend(items)
            self._cond.notify_all()

    def wait_for(self, predicate: Callable[["OtlpReceiver"], bool], timeout: float = 10.0) -> bool:
        """Wait until predicate(self) holds; return whether it did."""
        end = time.monotonic() + timeout
        with self._cond:
            while not predicate(self):
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    def span_named(self, name: str) -> dict[str, Any]:
        matches = [s for s in self.spans if s["name"] == name]
        assert len(matches) == 1, f"expected one span {name!r}, got {[s['name'] for s in self.spans]}"
        return matches[0]

    # --- servers ------------------------------------------------------------------------------
    @property
    def http_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def grpc_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.grpc_port}"

    def start(self) -> "OtlpReceiver":
        receiver = self
        routes = {
            "/v1/traces": (
                trace_service_pb2.ExportTraceServiceRequest, trace_service_pb2.ExportTraceServiceResponse,
                "spans", decode_traces,
            ),
            "/v1/logs": (
                logs_service_pb2.ExportLogsServiceRequest, logs_service_pb2.ExportLogsServiceResponse,
                "logs", decode_logs,
            ),
            "/v1/metrics": (
                metrics_service_pb2.ExportMetricsServiceRequest, metrics_service_pb2.ExportMetricsServiceResponse,
                "metrics", decode_metrics,
            ),
        }

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server API)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                encoding = (self.headers.get("Content-Encoding") or "").lower()
                if encoding == "gzip":
                    body = gzip.decompress(body)
                elif encoding == "deflate":
                    body = zlib.decompress(body)
                route = routes.get(self.path)
                if route is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                request_cls, response_cls, signal, decode = route
                receiver._add("http", self.path, signal, decode(request_cls.FromString(body)))
                payload = response_cls().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._http.daemon_threads = True
        self.http_port = self._http.server_address[1]
        threading.Thread(target=self._http.serve_forever, name="otlp-http", daemon=True).start()

        class Traces(trace_service_pb2_grpc.TraceServiceServicer):
            def Export(self, request: Any, context: Any) -> Any:  # noqa: N802 (gRPC API)
                receiver._add("grpc", "TraceService/Export", "spans", decode_traces(request))
                return trace_service_pb2.ExportTraceServiceResponse()

        class Logs(logs_service_pb2_grpc.LogsServiceServicer):
            def Export(self, request: Any, context: Any) -> Any:  # noqa: N802
                receiver._add("grpc", "LogsService/Export", "logs", decode_logs(request))
                return logs_service_pb2.ExportLogsServiceResponse()

        class Metrics(metrics_service_pb2_grpc.MetricsServiceServicer):
            def Export(self, request: Any, context: Any) -> Any:  # noqa: N802
                receiver._add("grpc", "MetricsService/Export", "metrics", decode_metrics(request))
                return metrics_service_pb2.ExportMetricsServiceResponse()

        self._grpc = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Traces(), self._grpc)
        logs_service_pb2_grpc.add_LogsServiceServicer_to_server(Logs(), self._grpc)
        metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(Metrics(), self._grpc)
        self.grpc_port = self._grpc.add_insecure_port("127.0.0.1:0")
        self._grpc.start()
        return self

    def stop(self) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None
        if self._grpc is not None:
            self._grpc.stop(grace=None)
            self._grpc = None

    def __enter__(self) -> "OtlpReceiver":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def refused_port() -> int:
    """A local port nothing listens on (bound, then closed)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class SilentServer:
    """Accepts TCP connections on 127.0.0.1 and never answers (a hung collector)."""

    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self.port = self._sock.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="silent-server", daemon=True)

    def _accept(self) -> None:
        self._sock.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except (socket.timeout, OSError):
                continue
            self.accepted.append(conn)

    def __enter__(self) -> "SilentServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(2)
        for conn in self.accepted:
            conn.close()
        self._sock.close()


def reset_otel_globals() -> None:
    """Forget OpenTelemetry's global providers so each test can install its own (they are set once per process)."""
    from opentelemetry import trace
    from opentelemetry.metrics import _internal as metrics_internal
    from opentelemetry.util._once import Once

    trace._TRACER_PROVIDER_SET_ONCE = Once()
    trace._TRACER_PROVIDER = None
    metrics_internal._METER_PROVIDER_SET_ONCE = Once()
    metrics_internal._METER_PROVIDER = None
    metrics_internal._PROXY_METER_PROVIDER = metrics_internal._ProxyMeterProvider()
    from rockway.observability import metrics

    metrics.forward_measurements(None)


@contextlib.contextmanager
def isolated_telemetry(monkeypatch, prefixes: tuple[str, ...] = ("OTEL_",)):  # type: ignore[no-untyped-def]
    """Run a test with no OTEL_* (or other prefixed) variables, fresh global providers and the `rockway` logger restored."""
    import logging
    import os

    for name in list(os.environ):
        if name.startswith(prefixes):
            monkeypatch.delenv(name)
    logger = logging.getLogger("rockway")
    handlers, level = list(logger.handlers), logger.level
    reset_otel_globals()
    try:
        yield
    finally:
        logger.handlers[:] = handlers
        logger.setLevel(level)
        reset_otel_globals()
