"""Telemetry: SQL redaction, span trees exported over OTLP/HTTP and OTLP/gRPC, log correlation, bounded exit."""

from __future__ import annotations

import io
import json
import logging
import os
import socket
import sys
import time
from dataclasses import dataclass

import pytest
from opentelemetry import trace

from tests.support.otlp_receiver import OtlpReceiver, SilentServer, refused_port, isolated_telemetry, reset_otel_globals
from tests.support.paths import REPO_ROOT
from rockway.observability import logs, metrics, spans, sql_summary
from rockway.observability import sdk as otel
from rockway.errors import DatabaseError
from rockway.observability.redaction import redact_message
from rockway.observability.sql_summary import collection_name, operation_name, redact_sql
from rockway.observability.spans import (
    current_span_id,
    current_trace_id,
    migration_span,
    new_run_id,
    run_span,
    statement_span,
)

SECRETS = ("s3cr3t", "hunter2", "AKIA-KEY", "4111111111111111", "topsecret")


@dataclass
class FakeAdapter:
    db_system: str = "starrocks"
    database: str = "dw"
    host: str = "fe.example.internal"
    port: int = 9030




@pytest.fixture(autouse=True)
def clean_telemetry(monkeypatch):
    with isolated_telemetry(monkeypatch):
        yield


@pytest.fixture
def receiver():
    with OtlpReceiver() as r:
        yield r


# --- redaction ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "sql, expected",
    [
        ("CREATE USER 'etl'@'%' IDENTIFIED BY 's3cr3t'", "CREATE USER ?@? IDENTIFIED BY ?"),
        ("ALTER USER etl IDENTIFIED BY \"hunter2\"", "ALTER USER etl IDENTIFIED BY ?"),
        ("SET PASSWORD FOR 'etl' = PASSWORD('s3cr3t')", "SET PASSWORD FOR ? = PASSWORD(?)"),
        (
            'CREATE EXTERNAL CATALOG hive_c PROPERTIES ("type"="hive", "password"="s3cr3t")',
            "CREATE EXTERNAL CATALOG hive_c PROPERTIES (?=?, ?=?)",
        ),
        (
            "INSERT INTO `Sales`.orders (id, note, amount)\n"
            "  VALUES (1, 'card 4111111111111111', 12.50),\n (2, \"topsecret\", -3e2)",
            "INSERT INTO `Sales`.orders (id, note, amount) VALUES (?, ?, ?), (?, ?, -?)",
        ),
        ("SELECT id FROM dw.orders WHERE status IN ('new', 'paid', 's3cr3t') AND id IN (1, 2, 3)",
         "SELECT id FROM dw.orders WHERE status IN (?) AND id IN (?)"),
        ("SELECT a -- password is s3cr3t\nFROM t /* hunter2 */ WHERE b = 1 # AKIA-KEY\n AND c = 2",
         "SELECT a FROM t WHERE b = ? AND c = ?"),
        ("SELECT /*+ SET_VAR(query_timeout = 4111111111111111) */ a FROM t", "SELECT a FROM t"),
        ("SELECT x'ABCD', b'0101', N's3cr3t', 0x1F, TRUE, NULL FROM t WHERE f IS TRUE",
         "SELECT ?, ?, ?, ?, ?, NULL FROM t WHERE f IS TRUE"),
        ("LOAD LABEL db.l1 (DATA INFILE('s3://b/k') INTO TABLE t) WITH BROKER PROPERTIES('aws.s3.secret_key'='AKIA-KEY')",
         "LOAD LABEL db.l1 (DATA INFILE(?) INTO TABLE t) WITH BROKER PROPERTIES(?=?)"),
        ("ALTER TABLE `My Db`.`Orders` ADD COLUMN note VARCHAR(20) DEFAULT 'hunter2'",
         "ALTER TABLE `My Db`.`Orders` ADD COLUMN note VARCHAR(?) DEFAULT ?"),
        ("INSERT INTO t VALUES ('s3cr3t", "INSERT ?"),
        ("CREATE USER u IDENTIFIED BY 'hunter2", "CREATE USER ?"),
        ("", ""),
    ],
)
def test_redact_sql(sql, expected):
    redacted = redact_sql(sql)
    assert redacted == expected
    for secret in SECRETS:
        assert secret not in redacted


def test_redact_sql_cuts_huge_statements():
    sql = "INSERT INTO t VALUES " + ", ".join(f"({i}, 'row {i}')" for i in range(5000))
    redacted = redact_sql(sql)
    assert len(redacted) <= sql_summary.MAX_QUERY_TEXT_LENGTH + 2
    assert redacted.startswith("INSERT INTO t VALUES (?, ?), (?, ?)")
    assert "row" not in redacted


@pytest.mark.parametrize(
    "sql, operation, collection",
    [
        ("CREATE TABLE IF NOT EXISTS dw.orders (id INT)", "CREATE TABLE", "dw.orders"),
        ("create table `Odd Name` (id int)", "CREATE TABLE", "Odd Name"),
        ("ALTER TABLE orders ADD COLUMN c INT", "ALTER TABLE", "orders"),
        ("INSERT INTO dw.orders SELECT * FROM s", "INSERT", "dw.orders"),
        ("INSERT OVERWRITE dw.orders PARTITION (p1) SELECT 1", "INSERT", "dw.orders"),
        ("DELETE FROM dw.orders WHERE id = 1", "DELETE", "dw.orders"),
        ("UPDATE dw.orders SET a = 1", "UPDATE", "dw.orders"),
        ("DROP TABLE IF EXISTS t1", "DROP TABLE", "t1"),
        ("TRUNCATE TABLE t1", "TRUNCATE TABLE", "t1"),
        ("-- header\n/* c */ SELECT 1", "SELECT", None),
        ("WITH a AS (SELECT 1) SELECT * FROM a", "SELECT", None),
        ("CREATE MATERIALIZED VIEW mv1 REFRESH ASYNC AS SELECT 1", "CREATE MATERIALIZED VIEW", "mv1"),
        ("CREATE OR REPLACE VIEW v1 AS SELECT 1", "CREATE VIEW", "v1"),
        ("REFRESH MATERIALIZED VIEW dw.mv1", "REFRESH MATERIALIZED VIEW", "dw.mv1"),
        ("GRANT SELECT ON TABLE dw.t TO USER 'u'@'%'", "GRANT", None),
        ("SET PASSWORD FOR 'u' = PASSWORD('x')", "SET PASSWORD", None),
        ("CREATE EXTERNAL CATALOG c PROPERTIES (\"a\"=\"b\")", "CREATE EXTERNAL CATALOG", None),
        ("CREATE DATABASE IF NOT EXISTS dw", "CREATE DATABASE", None),
        ("SHOW ALTER TABLE COLUMN FROM dw", "SHOW ALTER TABLE COLUMN", None),
    ],
)
def test_operation_and_collection(sql, operation, collection):
    assert operation_name(sql) == operation
    assert collection_name(sql) == collection


@pytest.mark.parametrize(
    "message, expected",
    [
        ("(1064) You have an error in your SQL syntax; check the manual near ''s3cr3t'' at line 1' at line 1",
         "(1064) You have an error in your SQL syntax; check the manual near ? at line 1"),
        ("(1062) Duplicate entry 'hunter2' for key 'PRIMARY'", "(1062) Duplicate entry ? for key ?"),
        ('Unexpected input "topsecret", the most similar input is {<EOF>}',
         "Unexpected input ?, the most similar input is {<EOF>}"),
        ("value 'AKIA-KEY is cut", "value ?"),
    ],
)
def test_redact_message(message, expected):
    assert redact_message(message) == expected


def test_importing_telemetry_does_not_import_sqlglot_or_the_sdk():
    import subprocess
    import sys

    code = (
        "import sys, rockway.observability.spans, rockway.observability.metrics\n"
        "print(sorted(m for m in sys.modules if m.startswith(('sqlglot', 'opentelemetry.sdk', 'opentelemetry.exporter'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# --- spans without an SDK ----------------------------------------------------------------------
def test_helpers_are_noops_without_sdk_and_exceptions_propagate():
    run_id = new_run_id()
    with run_span("migrate up", run_id) as root:
        assert not root.is_recording()
        assert current_trace_id() is None
        assert spans.current_run_id() == run_id
        with pytest.raises(DatabaseError):
            with statement_span(FakeAdapter(), 1, "SELECT 1"):
                raise DatabaseError("boom", errno=1064)
    assert spans.current_run_id() is None


# --- a statement is described (redacted, named) only when something can read it ----------------
CREATE_ORDERS = "CREATE TABLE dw.orders (id INT, note VARCHAR(20) DEFAULT 's3cr3t')"


def _described(monkeypatch) -> list[str]:
    """The statements statement_span describes from now on."""
    seen: list[str] = []
    real = sql_summary.describe_sql
    monkeypatch.setattr(spans, "describe_sql", lambda sql: (seen.append(sql), real(sql))[1])
    return seen


def test_statements_are_not_described_when_nothing_reads_spans_or_metrics(monkeypatch):
    seen = _described(monkeypatch)
    with statement_span(FakeAdapter(), 1, CREATE_ORDERS) as bare:  # no provider set: the API's no-op
        assert not bare.is_recording()
    handle = otel.setup_telemetry("1.0.0", None)  # the CLI without an endpoint: ids-only spans, no meter provider
    with run_span("migrate up", "run-1"):
        with pytest.raises(DatabaseError), statement_span(FakeAdapter(), 1, CREATE_ORDERS):
            assert current_span_id() is not None  # the span still has its ids, for history rows and log lines
            raise DatabaseError("boom", errno=1064)
    assert handle.shutdown(deadline_s=0.1) is True
    assert seen == []


def test_statements_are_described_for_a_measurement_sink(monkeypatch):
    seen = _described(monkeypatch)
    points: list[tuple[str, dict]] = []
    metrics.forward_measurements(lambda name, value, attributes: points.append((name, dict(attributes))))
    with statement_span(FakeAdapter(), 1, CREATE_ORDERS):
        pass
    assert seen == [CREATE_ORDERS]
    (name, attributes), = points
    assert name == "db.client.operation.duration"
    assert (attributes["db.operation.name"], attributes["db.collection.name"]) == ("CREATE TABLE", "dw.orders")


def test_statements_are_described_for_an_sdk_tracer_or_meter(monkeypatch):
    from opentelemetry import metrics
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    seen = _described(monkeypatch)
    trace.set_tracer_provider(otel.IdsOnlyTracerProvider())  # spans unread, but a meter provider reads the metric
    reader = InMemoryMetricReader()
    metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
    with statement_span(FakeAdapter(), 1, CREATE_ORDERS):
        pass
    assert seen == [CREATE_ORDERS]
    (point,) = [p for rm in reader.get_metrics_data().resource_metrics for sm in rm.scope_metrics for m in sm.metrics
                if m.name == "db.client.operation.duration" for p in m.data.data_points]
    assert point.attributes["db.collection.name"] == "dw.orders"

    reset_otel_globals()  # now an SDK tracer and no meter provider
    seen.clear()
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    with statement_span(FakeAdapter(), 1, CREATE_ORDERS):
        pass
    assert seen == [CREATE_ORDERS]
    (span,) = exporter.get_finished_spans()
    assert span.name == "CREATE TABLE dw.orders"
    assert span.attributes["db.query.text"] == "CREATE TABLE dw.orders (id INT, note VARCHAR(?) DEFAULT ?)"


# --- export over OTLP ---------------------------------------------------------------------------
def _emit_run(json_stream: io.StringIO) -> dict[str, str | None]:
    """One run: migration with a good and a failing statement, logs inside; return ids seen."""
    logs.configure_json_logging(json_stream, logging.INFO)
    log = logging.getLogger("rockway.executor")
    ids: dict[str, str | None] = {}
    run_id = new_run_id()
    ids["run_id"] = run_id
    with pytest.raises(DatabaseError), run_span("migrate up", run_id, **{"rockway.environment": "test"}):
        ids["run_trace"] = current_trace_id()
        ids["run_span"] = current_span_id()
        with migration_span("V1.2 add orders", **{"rockway.script": "migrations/V1_2__add_orders.sql"}):
            with statement_span(FakeAdapter(), 1, "CREATE TABLE IF NOT EXISTS dw.orders (id BIGINT, note VARCHAR(20))"):
                log.info("statement %d applied", 1)
                ids["stmt1_span"] = current_span_id()
            with statement_span(FakeAdapter(), 2, "INSERT INTO dw.orders VALUES (1, 's3cr3t')"):
                ids["stmt2_span"] = current_span_id()
                log.warning("statement %d failed", 2)
                raise DatabaseError("(1064) You have an error in your SQL syntax near 's3cr3t' at line 1", errno=1064)
    return ids


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_span_tree_logs_and_metrics_reach_the_collector(monkeypatch, receiver, protocol):
    endpoint = receiver.grpc_endpoint if protocol == "grpc" else receiver.http_endpoint
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
    handle = otel.setup_telemetry("9.9.9", "staging")
    assert handle.exporting == {"traces": protocol, "metrics": protocol, "logs": protocol}

    stream = io.StringIO()
    ids = _emit_run(stream)
    started = time.monotonic()
    assert handle.shutdown(deadline_s=10.0) is True
    assert time.monotonic() - started < 5.0

    assert receiver.wait_for(lambda r: len(r.spans) >= 4 and r.logs and r.metrics, timeout=5)
    transport = "grpc" if protocol == "grpc" else "http"
    assert {t for t, _ in receiver.requests} == {transport}

    run = receiver.span_named("rockway migrate up")
    mig = receiver.span_named("migration V1.2 add orders")
    create = receiver.span_named("CREATE TABLE dw.orders")
    insert = receiver.span_named("INSERT dw.orders")

    # one trace, parent/child links run -> migration -> statements
    assert run["trace_id"] == ids["run_trace"] and len(run["trace_id"]) == 32
    assert {s["trace_id"] for s in (run, mig, create, insert)} == {run["trace_id"]}
    assert run["parent_span_id"] is None
    assert mig["parent_span_id"] == run["span_id"]
    assert create["parent_span_id"] == mig["span_id"] and insert["parent_span_id"] == mig["span_id"]
    assert run["attributes"]["rockway.run_id"] == ids["run_id"]
    assert run["attributes"]["rockway.command"] == "migrate up"
    assert run["attributes"]["rockway.environment"] == "test"
    assert mig["attributes"]["rockway.script"] == "migrations/V1_2__add_orders.sql"
    assert run["scope"] == "rockway"

    assert create["kind"] == "CLIENT"
    assert create["status_code"] == "UNSET"
    assert create["attributes"] == {
        "db.system.name": "starrocks",
        "db.namespace": "dw",
        "db.operation.name": "CREATE TABLE",
        "db.collection.name": "dw.orders",
        "db.query.text": "CREATE TABLE IF NOT EXISTS dw.orders (id BIGINT, note VARCHAR(?))",
        "server.address": "fe.example.internal",
        "server.port": 9030,
        "rockway.statement.index": 1,
    }
    assert insert["attributes"]["db.query.text"] == "INSERT INTO dw.orders VALUES (?, ?)"
    assert insert["attributes"]["error.type"] == "1064"
    assert insert["attributes"]["db.response.status_code"] == "1064"
    assert insert["status_code"] == "ERROR"
    (event,) = insert["events"]
    assert event["name"] == "exception"
    assert event["attributes"]["exception.type"] == "rockway.errors.DatabaseError"
    assert event["attributes"]["exception.message"] == "(1064) You have an error in your SQL syntax near ? at line 1"
    # the error propagated through migration and run spans, redacted there too
    assert mig["status_code"] == "ERROR" and run["status_code"] == "ERROR"
    assert run["attributes"]["error.type"] == "1064"

    resource = run["resource"]
    assert resource["service.name"] == "rockway"
    assert resource["service.version"] == "9.9.9"
    assert resource["deployment.environment"] == "staging"
    assert resource["deployment.environment.name"] == "staging"

    # OTLP logs carry the ids of the span they were written in
    by_body = {rec["body"]: rec for rec in receiver.logs}
    applied, failed = by_body["statement 1 applied"], by_body["statement 2 failed"]
    assert (applied["trace_id"], applied["span_id"]) == (run["trace_id"], create["span_id"])
    assert (failed["trace_id"], failed["span_id"]) == (run["trace_id"], insert["span_id"])
    assert failed["severity_text"] == "WARN"
    assert failed["resource"]["service.name"] == "rockway"

    # JSON lines carry run id and the same ids
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    by_message = {line["message"]: line for line in lines}
    j = by_message["statement 2 failed"]
    assert j["run_id"] == ids["run_id"]
    assert (j["trace_id"], j["span_id"]) == (run["trace_id"], insert["span_id"])
    assert j["level"] == "WARNING" and j["logger"] == "rockway.executor"
    assert j["timestamp"].endswith("Z")

    # metrics arrive at shutdown
    metrics = {m["name"]: m for m in receiver.metrics}
    duration = metrics["db.client.operation.duration"]
    assert duration["unit"] == "s" and duration["kind"] == "histogram"
    statuses = {p["attributes"]["rockway.status"]: p for p in duration["points"]}
    assert statuses["ok"]["count"] == 1 and statuses["error"]["count"] == 1
    assert statuses["error"]["attributes"]["error.type"] == "1064"
    assert statuses["ok"]["attributes"]["db.system.name"] == "starrocks"
    (err_point,) = metrics["rockway.errors"]["points"]
    assert err_point["attributes"]["error.type"] == "1064" and err_point["value"] == 1
    (mig_point,) = metrics["rockway.migration.duration"]["points"]
    assert mig_point["attributes"] == {"rockway.status": "error"}

    # nothing exported contains a literal from the SQL or the server message
    everything = repr((receiver.spans, receiver.logs, receiver.metrics))
    for secret in SECRETS:
        assert secret not in everything


def test_signal_specific_endpoint_exports_only_that_signal(monkeypatch, receiver):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", receiver.http_endpoint + "/v1/traces")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "nightly-etl")
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=prod-eu,team=data")
    handle = otel.setup_telemetry("1.0.0", "prod")
    assert handle.exporting == {"traces": "http/protobuf"}
    assert handle.meter_provider is None and handle.logger_provider is None
    with run_span("job run", new_run_id()):
        pass
    assert handle.shutdown(deadline_s=10.0)
    assert receiver.wait_for(lambda r: r.spans, timeout=5)
    resource = receiver.span_named("rockway job run")["resource"]
    assert resource["service.name"] == "nightly-etl"  # OTEL_SERVICE_NAME wins
    assert resource["deployment.environment"] == "prod-eu"  # OTEL_RESOURCE_ATTRIBUTES wins
    assert resource["deployment.environment.name"] == "prod"
    assert resource["team"] == "data"
    assert not receiver.metrics and not receiver.logs


def test_no_endpoint_means_no_network_but_real_trace_ids(monkeypatch, receiver):
    attempts: list[object] = []
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def connect(self, address):
        attempts.append(address)
        return real_connect(self, address)

    def connect_ex(self, address):
        attempts.append(address)
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")  # a protocol alone is not an endpoint

    handle = otel.setup_telemetry("1.0.0", None)
    assert handle.enabled and handle.exporting == {}
    stream = io.StringIO()
    logs.configure_json_logging(stream)
    with run_span("migrate up", "run-1"):
        trace_id = current_trace_id()
        with statement_span(FakeAdapter(), 1, "SELECT 1"):
            logging.getLogger("rockway.x").info("inside")
    assert handle.shutdown(deadline_s=2.0) is True

    assert trace_id is not None and len(trace_id) == 32 and int(trace_id, 16) != 0
    lines = {entry["message"]: entry for entry in map(json.loads, stream.getvalue().splitlines())}
    line = lines["inside"]
    assert line["run_id"] == "run-1" and line["trace_id"] == trace_id and len(line["span_id"]) == 16
    # run_span writes its own start/end lines, correlated with the same trace
    start, end = lines["run started: migrate up"], lines[next(m for m in lines if m.startswith("run finished"))]
    assert (start["event"], end["event"], end["rockway.status"]) == ("run_start", "run_end", "ok")
    assert start["trace_id"] == end["trace_id"] == trace_id
    assert attempts == []
    time.sleep(0.2)
    assert receiver.requests == [] and receiver.spans == []


def test_sdk_disabled_installs_nothing(monkeypatch):
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{refused_port()}")
    handle = otel.setup_telemetry("1.0.0", "dev")
    assert not handle.enabled
    with run_span("migrate up", "r"):
        assert current_trace_id() is None
    assert handle.shutdown(deadline_s=0.1) is True


def test_setup_failure_disables_telemetry(monkeypatch, receiver, caplog):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.http_endpoint)

    def broken(service_version, environment):
        raise RuntimeError("resource cannot be built")

    monkeypatch.setattr(otel, "build_resource", broken)
    with caplog.at_level(logging.WARNING, logger="rockway.telemetry"):
        handle = otel.setup_telemetry("1.0.0", None)
    assert not handle.enabled
    assert "telemetry disabled" in caplog.text
    assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)  # no global was set
    with run_span("migrate up", "r"):
        assert current_trace_id() is None  # nothing half-installed
    assert handle.shutdown(deadline_s=0.1) is True


def test_an_exporter_that_cannot_be_built_drops_its_signal_and_the_run_goes_on(monkeypatch, receiver, caplog):
    from rockway.observability import exporters

    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.http_endpoint)
    real_build = exporters.build_exporter

    def traces_broken(signal, protocol):
        if signal == "traces":
            raise ValueError("'s3cr3t' is not a valid Compression")
        return real_build(signal, protocol)

    monkeypatch.setattr(exporters, "build_exporter", traces_broken)
    handle = otel.setup_telemetry("1.0.0", None)
    assert handle.enabled and set(handle.exporting) == {"traces", "metrics", "logs"}
    with caplog.at_level(logging.WARNING, logger="rockway.telemetry"):
        with run_span("migrate up", new_run_id()):
            with statement_span(FakeAdapter(), 1, "SELECT 1"):
                logging.getLogger("rockway.executor").warning("inside")
        started = time.monotonic()
        assert handle.shutdown(deadline_s=5.0) is True
    assert time.monotonic() - started < 2.0
    assert receiver.wait_for(lambda r: r.logs and r.metrics, timeout=5)
    assert receiver.spans == []
    (warning,) = [r.getMessage() for r in caplog.records if "cannot be built" in r.getMessage()]
    assert warning == ("telemetry: the OTLP traces exporter cannot be built (ValueError: ? is not a valid Compression);"
                       " traces are not exported")


_DEFERRED = r"""
import sys, threading
from rockway.observability import exporters, spans
from rockway.observability import sdk as otel
HEAVY = ("opentelemetry.exporter.otlp", "opentelemetry.proto", "google.protobuf", "urllib3", "requests", "grpc")
handle = otel.setup_telemetry("1.0.0", None)
at_setup = sorted({{".".join(m.split(".")[:3]) for m in sys.modules if m.startswith(HEAVY)}})
built_in_main_thread = set()
real = exporters.build_exporter
def build(signal, protocol):
    built_in_main_thread.add(threading.current_thread() is threading.main_thread())
    return real(signal, protocol)
exporters.build_exporter = build
with spans.run_span("migrate up", "r"):
    with spans.statement_span(type("A", (), {{"db_system": "mysql"}})(), 1, "SELECT 1"):
        pass
handle.shutdown(deadline_s=10)
print(at_setup, sorted(built_in_main_thread))
"""


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_exporters_are_built_when_first_used_not_at_setup(receiver, protocol):
    """Set-up imports no exporter, protobuf encoder or HTTP/gRPC client; each exporter is built by its processor's
    thread when it first exports, and every signal still arrives."""
    import subprocess

    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env["OTEL_EXPORTER_OTLP_PROTOCOL"] = protocol
    env["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.grpc_endpoint if protocol == "grpc" else receiver.http_endpoint
    proc = subprocess.run([sys.executable, "-c", _DEFERRED.format()], capture_output=True, text=True, timeout=60,
                          env=env, cwd=REPO_ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["[]", "[False]"]
    assert receiver.wait_for(lambda r: len(r.spans) == 2 and r.metrics and r.logs, timeout=5)


def test_a_deferred_metric_exporter_states_what_the_otlp_exporter_states(monkeypatch):
    """The metric reader reads temporality and histogram aggregation from its exporter when built: the stand-in
    must give it exactly what the OTLP metric exporter would, or metrics change kind."""
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

    from rockway.observability import exporters

    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    for protocol in ("http/protobuf", "grpc"):
        deferred = exporters.deferred_exporter("metrics", protocol)
        assert isinstance(deferred, exporters.DeferredExporter) and deferred.built is None
        real = exporters.build_exporter("metrics", protocol)
        readers = [PeriodicExportingMetricReader(e, export_interval_millis=10**9) for e in (deferred, real)]
        temporality = [r._instrument_class_temporality for r in readers]
        aggregation = [{k: type(v) for k, v in r._instrument_class_aggregation.items()} for r in readers]
        assert temporality[0] == temporality[1] and aggregation[0] == aggregation[1]
        for reader in readers:
            reader.shutdown()
    # a temporality or aggregation setting: the exporter itself is built at once
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION", "base2_exponential_bucket_histogram")
    assert not isinstance(exporters.deferred_exporter("metrics", "http/protobuf"), exporters.DeferredExporter)


_IMPORTS = r"""
import sys
from tests.support.otlp_receiver import OtlpReceiver
from rockway.observability import sdk as otel
from rockway.observability import spans
with OtlpReceiver() as receiver:
    import os
    if {exported!r}:
        os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.http_endpoint
    handle = otel.setup_telemetry("1.0.0", None)
    with spans.run_span("migrate up", "r"):
        trace_id = spans.current_trace_id()
    handle.shutdown(deadline_s=5)
    loaded = {{m.split(".")[2] for m in sys.modules if m.startswith(("opentelemetry.sdk.", "opentelemetry.exporter."))}}
    print(trace_id, sorted(loaded))
"""


@pytest.mark.parametrize("exported", [False, True])
def test_the_sdk_is_imported_only_when_something_is_exported(exported):
    import subprocess

    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    code = _IMPORTS.format(exported=exported)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env,
                          cwd=REPO_ROOT)  # `python -c` imports from its cwd: tests.support
    assert proc.returncode == 0, proc.stderr
    trace_id, modules = proc.stdout.split(maxsplit=1)
    assert len(trace_id) == 32 and int(trace_id, 16) != 0
    if exported:
        assert "trace" in modules and "otlp" in modules
    else:
        assert modules.strip() == "[]"


def test_spans_of_a_run_that_exports_no_traces_have_real_distinct_ids(monkeypatch):
    handle = otel.setup_telemetry("1.0.0", None)
    assert isinstance(trace.get_tracer_provider(), otel.IdsOnlyTracerProvider)
    with spans.span("outer") as outer:
        outer_ids = (current_trace_id(), current_span_id())
        with statement_span(FakeAdapter(), 1, "SELECT 1") as inner:
            inner_ids = (current_trace_id(), current_span_id())
    with spans.span("another run"):
        other_trace = current_trace_id()
    assert not outer.is_recording() and not inner.is_recording()
    assert outer_ids[0] == inner_ids[0] == format(outer.get_span_context().trace_id, "032x")
    assert outer_ids[1] == format(outer.get_span_context().span_id, "016x") != inner_ids[1]
    assert other_trace not in (None, outer_ids[0])
    assert current_trace_id() is None  # both ended, nothing current
    assert handle.shutdown(deadline_s=0.1) is True


@pytest.mark.parametrize("sampler, arg, exported", [
    (None, None, True), ("parentbased_always_on", None, True), ("traceidratio", "1.0", True),
    ("always_off", None, False), ("traceidratio", "0", False), ("parentbased_always_off", None, False),
])
def test_the_sampler_comes_from_the_environment(monkeypatch, receiver, sampler, arg, exported):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.http_endpoint)
    for name, value in (("OTEL_TRACES_SAMPLER", sampler), ("OTEL_TRACES_SAMPLER_ARG", arg)):
        if value is not None:
            monkeypatch.setenv(name, value)
    handle = otel.setup_telemetry("1.0.0", "ci")
    with run_span("migrate up", "run-sampled"):
        with migration_span("V1 first"):
            trace_id = current_trace_id()
        logging.getLogger("rockway").warning("inside the run")
    assert handle.shutdown(deadline_s=5) is True
    assert receiver.wait_for(lambda r: r.logs, timeout=5)  # logs and metrics do not depend on the sampler
    assert trace_id is not None  # ids for history rows either way
    if exported:
        assert receiver.wait_for(lambda r: len(r.spans) >= 2, timeout=5)
        run = receiver.span_named("rockway migrate up")
        assert run["trace_id"] == trace_id
        assert receiver.span_named("migration V1 first")["parent_span_id"] == run["span_id"]
    else:
        time.sleep(0.3)
        assert receiver.spans == []


def test_json_logging_outside_spans_and_with_exceptions():
    stream = io.StringIO()
    handler = logs.configure_json_logging(stream, logging.DEBUG)
    log = logging.getLogger("rockway.jobs")
    with spans.bind_run_id("r-42"):
        log.debug("watermark %s", "advanced", extra={"job": "orders"})
        try:
            raise DatabaseError("(1062) Duplicate entry 'hunter2' for key 'PRIMARY'", errno=1062)
        except DatabaseError:
            log.exception("load failed")
    log.info("after")
    first, second, third = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["message"] == "watermark advanced" and first["job"] == "orders" and first["run_id"] == "r-42"
    assert first["trace_id"] is None and first["span_id"] is None
    assert second["error.type"] == "1062"
    assert second["error.message"] == "(1062) Duplicate entry ? for key ?"
    assert "hunter2" not in stream.getvalue()
    assert third["run_id"] is None
    logging.getLogger("rockway").removeHandler(handler)


# --- collector down: exit stays bounded --------------------------------------------------------
@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
@pytest.mark.parametrize("failure", ["refused", "silent"])
def test_shutdown_is_bounded_when_the_collector_is_down(monkeypatch, protocol, failure):
    with SilentServer() as silent:
        port = silent.port if failure == "silent" else refused_port()
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{port}")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
        handle = otel.setup_telemetry("1.0.0", "ci")
        assert handle.exporting["traces"] == protocol
        span_started = time.monotonic()
        with run_span("migrate up", new_run_id()):
            for i in range(20):
                with statement_span(FakeAdapter(), i + 1, f"INSERT INTO t VALUES ({i})"):
                    logging.getLogger("rockway.executor").info("statement %d", i)
            trace_id = current_trace_id()
        assert time.monotonic() - span_started < 1.0  # exporting happens in the background
        assert trace_id is not None

        deadline = 1.0
        started = time.monotonic()
        finished = handle.shutdown(deadline_s=deadline)
        elapsed = time.monotonic() - started
        assert elapsed <= deadline + 1.0, f"shutdown took {elapsed:.2f}s"
        if failure == "silent":
            assert finished is False  # a 3 s exporter timeout cannot finish within 1 s
            assert silent.accepted, "the exporter should have connected to the silent collector"
        assert handle.shutdown(deadline_s=deadline) is True  # second call is a no-op


def test_default_export_timeout_lets_a_hung_collector_flush_within_five_seconds(monkeypatch):
    with SilentServer() as silent:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{silent.port}")
        handle = otel.setup_telemetry("1.0.0", None)
        with run_span("migrate up", new_run_id()):
            logging.getLogger("rockway").warning("one log record")
        started = time.monotonic()
        finished = handle.shutdown(deadline_s=8.0)
        elapsed = time.monotonic() - started
    # every export gives up after the 3 s default timeout (the SDK default would be 10 s)
    assert finished is True, f"flush still running after {elapsed:.2f}s"
    assert 2.5 <= elapsed <= 5.0


_CHILD = r"""
import logging, os, time
from tests.support.otlp_receiver import SilentServer
from rockway.observability.sdk import setup_telemetry
from rockway.observability.spans import new_run_id, run_span
silent = SilentServer().__enter__()
os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = f"http://127.0.0.1:{{silent.port}}"
os.environ["OTEL_EXPORTER_OTLP_PROTOCOL"] = {protocol!r}
handle = setup_telemetry("1.0.0", "ci")
with run_span("migrate up", new_run_id()):
    logging.getLogger("rockway").warning("collector is hung")
print(time.monotonic(), flush=True)
handle.shutdown(deadline_s=1.0)
"""


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_process_exits_within_the_deadline_when_the_collector_hangs(protocol):
    import subprocess
    import sys

    code = _CHILD.format(protocol=protocol)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          cwd=REPO_ROOT)  # `python -c` imports from its cwd: tests.support
    exited = time.monotonic()  # CLOCK_MONOTONIC is shared by all processes on the host
    assert proc.returncode == 0, proc.stderr
    before_shutdown = float(proc.stdout.split()[0])
    assert exited - before_shutdown <= 2.0, f"exit took {exited - before_shutdown:.2f}s after the spans ended"


@pytest.mark.parametrize("exported", [True, False])
def test_the_cli_freezes_the_heap_once_the_sdk_is_set_up(monkeypatch, receiver, exported):
    """The SDK's providers live until exit: the CLI freezes them out of the collector's scans (cli/state.py).
    Without an exporter nothing is set up and nothing is frozen (an embedding process keeps its collector)."""
    import gc

    from rockway.cli.state import CliState

    if exported:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.http_endpoint)
    else:
        monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    gc.unfreeze()
    state = CliState()
    try:
        state.start_telemetry("dev")
        assert bool(state.telemetry.exporting) is exported
        assert (gc.get_freeze_count() > 0) is exported
    finally:
        state.shutdown()
        gc.unfreeze()
