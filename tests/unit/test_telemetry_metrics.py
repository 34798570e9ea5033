"""Telemetry metrics and logs: the recording functions, their registry, delta export, and the CLI log handlers."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from dataclasses import dataclass

import pytest
from opentelemetry import metrics as otel_metrics
from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.semconv._incubating.attributes import db_attributes
from opentelemetry.semconv._incubating.metrics import db_metrics
from opentelemetry.semconv.attributes import error_attributes, server_attributes

from tests.support.otlp_receiver import OtlpReceiver, isolated_telemetry, reset_otel_globals
from rockway.observability import attributes, logs, metrics, spans
from rockway.observability import sdk as otel
from rockway.interfaces import Severity
from rockway.errors import DatabaseError




@pytest.fixture(autouse=True)
def clean_telemetry(monkeypatch):
    with isolated_telemetry(monkeypatch, ("OTEL_", "ROCKWAY_LOG", "ROCKWAY_OTEL")):
        yield


@pytest.fixture
def reader():
    """An in-memory metric reader on a fresh global MeterProvider."""
    memory = InMemoryMetricReader()
    otel_metrics.set_meter_provider(MeterProvider(metric_readers=[memory]))
    return memory


def _points(reader: InMemoryMetricReader) -> dict[str, tuple[object, list[object]]]:
    """metric name -> (metric, data points) from one collection."""
    out = {}
    for rm in reader.get_metrics_data().resource_metrics:
        for sm in rm.scope_metrics:
            assert sm.scope.name == "rockway"
            for m in sm.metrics:
                out[m.name] = (m, list(m.data.data_points))
    return out


# --- names follow the conventions ----------------------------------------------------------------
def test_statement_metric_and_attributes_use_semantic_convention_names():
    assert "db.client.operation.duration" == db_metrics.DB_CLIENT_OPERATION_DURATION
    assert metrics.EMITTED_METRICS[db_metrics.DB_CLIENT_OPERATION_DURATION].unit == "s"
    assert attributes.DB_SYSTEM_NAME == db_attributes.DB_SYSTEM_NAME
    assert attributes.DB_NAMESPACE == db_attributes.DB_NAMESPACE
    assert attributes.DB_OPERATION_NAME == db_attributes.DB_OPERATION_NAME
    assert attributes.DB_COLLECTION_NAME == db_attributes.DB_COLLECTION_NAME
    assert attributes.DB_QUERY_TEXT == db_attributes.DB_QUERY_TEXT
    assert attributes.DB_RESPONSE_STATUS_CODE == db_attributes.DB_RESPONSE_STATUS_CODE
    assert attributes.ERROR_TYPE == error_attributes.ERROR_TYPE
    assert attributes.SERVER_ADDRESS == server_attributes.SERVER_ADDRESS
    # rockway's own metrics live under rockway.*, with UCUM units
    for spec in metrics.EMITTED_METRICS.values():
        assert spec.name == "db.client.operation.duration" or spec.name.startswith("rockway.")
        assert spec.kind in ("counter", "histogram", "gauge")
        assert spec.unit == "s" or spec.unit.startswith("{")
        assert set(spec.attributes) <= attributes.ATTRIBUTES


# --- recording functions -----------------------------------------------------------------------
def test_recording_functions_emit_the_registered_instruments(reader):
    metrics.record_rows_loaded("dw.fact_sales", 1200, job="fact_sales")
    metrics.record_rows_loaded("dw.fact_sales", 300, job="fact_sales")
    metrics.record_rows_loaded("dw.dim_customer", 7)
    metrics.record_rows_loaded("dw.dim_customer", -1)  # unknown counts are ignored, not subtracted
    metrics.record_load(12.5, "fact_sales", "success", table="dw.fact_sales")
    metrics.record_load(3.0, "fact_sales", "failed")
    metrics.record_check(Severity.CRITICAL, "fail", "fact_sales_unique_items", table="dw.fact_sales")
    metrics.record_check("warning", "pass")
    metrics.record_check("CRITICAL", "fail", "fact_sales_unique_items", table="dw.fact_sales")
    metrics.record_freshness("dw.fact_sales", 3600)
    metrics.record_freshness("dw.fact_sales", 5400.5)  # a gauge keeps the last value
    metrics.record_mv_staleness("dw.mv_sales_daily", 120)
    metrics.count_error("job_failed", **{attributes.JOB: "fact_sales"})

    got = _points(reader)
    assert set(got) == {"rockway.rows.loaded", "rockway.load.duration", "rockway.check.results",
                        "rockway.freshness.lag", "rockway.mv.staleness", "rockway.errors"}
    for name, (metric, _) in got.items():
        spec = metrics.EMITTED_METRICS[name]
        assert metric.unit == spec.unit and metric.description == spec.description

    rows = {tuple(sorted(p.attributes.items())): p.value for p in got["rockway.rows.loaded"][1]}
    assert rows == {
        (("db.collection.name", "dw.fact_sales"), ("rockway.job", "fact_sales")): 1500,
        (("db.collection.name", "dw.dim_customer"),): 7,
    }
    loads = {p.attributes["rockway.status"]: p for p in got["rockway.load.duration"][1]}
    assert loads["success"].sum == 12.5 and loads["success"].count == 1
    assert dict(loads["success"].attributes) == {"rockway.job": "fact_sales", "rockway.status": "success",
                                                 "db.collection.name": "dw.fact_sales"}
    assert loads["failed"].count == 1 and "db.collection.name" not in loads["failed"].attributes
    checks = {tuple(sorted(p.attributes.items())): p.value for p in got["rockway.check.results"][1]}
    assert checks == {
        (("db.collection.name", "dw.fact_sales"), ("rockway.check.name", "fact_sales_unique_items"),
         ("rockway.check.severity", "CRITICAL"), ("rockway.check.status", "fail")): 2,
        (("rockway.check.severity", "WARNING"), ("rockway.check.status", "pass")): 1,
    }
    (fresh,) = got["rockway.freshness.lag"][1]
    assert fresh.value == 5400.5 and dict(fresh.attributes) == {"db.collection.name": "dw.fact_sales"}
    (mv,) = got["rockway.mv.staleness"][1]
    assert mv.value == 120 and dict(mv.attributes) == {"db.collection.name": "dw.mv_sales_daily"}
    (err,) = got["rockway.errors"][1]
    assert err.value == 1 and dict(err.attributes) == {"error.type": "job_failed", "rockway.job": "fact_sales"}


def test_statement_metric_carries_namespace_collection_and_error(reader):
    @dataclass
    class Adapter:
        db_system = "starrocks"
        database = "dw"
        host = "fe"
        port = 9030

    with spans.statement_span(Adapter(), 1, "INSERT INTO dw.orders VALUES (1, 'x')"):
        pass
    with pytest.raises(DatabaseError):
        with spans.statement_span(Adapter(), 2, "DELETE FROM dw.orders WHERE id = 3"):
            raise DatabaseError("(1064) boom", errno=1064)
    (metric, points) = _points(reader)["db.client.operation.duration"]
    by_status = {p.attributes["rockway.status"]: dict(p.attributes) for p in points}
    assert by_status["ok"] == {"db.system.name": "starrocks", "rockway.status": "ok", "db.operation.name": "INSERT",
                               "db.namespace": "dw", "db.collection.name": "dw.orders"}
    assert by_status["error"]["error.type"] == "1064" and by_status["error"]["db.response.status_code"] == "1064"
    assert by_status["error"]["db.operation.name"] == "DELETE"


def test_recording_without_an_sdk_is_a_silent_noop():
    code = ("import rockway.observability.metrics as t\n"
            "t.record_rows_loaded('t', 5, job='j'); t.record_load(1.0, 'j', 'success'); t.record_check('INFO', 'pass')\n"
            "t.record_freshness('t', 1.0); t.record_mv_staleness('mv', 2.0)\n"
            "import sys; print(sorted(m for m in sys.modules if m.startswith('opentelemetry.sdk')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]" and out.stderr == ""


def test_instruments_are_created_lazily_and_per_provider(reader):
    first = metrics._instrument("rockway.rows.loaded")
    assert metrics._instrument("rockway.rows.loaded") is first
    assert set(metrics._instrument_cache[1]) == {"rockway.rows.loaded"}  # only what was used
    reset_otel_globals()
    other = InMemoryMetricReader()
    otel_metrics.set_meter_provider(MeterProvider(metric_readers=[other]))
    metrics.record_rows_loaded("t", 3)  # a new provider gets new instruments
    assert _points(other)["rockway.rows.loaded"][1][0].value == 3


# --- span registry -----------------------------------------------------------------------------
@pytest.mark.parametrize("name, known", [
    ("rockway migrate up", True), ("rockway migrate rollback", True), ("rockway run morning", True),
    ("rockway job run fact_sales", True), ("migration V1.2 add orders", True), ("pipeline morning", True),
    ("job fact_sales", True), ("wait 12345", True),
    ("rockway migrate upp", False), ("migrations V1", False), ("pipeline", False), ("jobs fact_sales", False),
    ("CREATE TABLE dw.orders", False),  # statement spans are found by kind and attributes, not by name
])
def test_span_name_pattern(name, known):
    assert bool(spans.span_name_pattern().match(name)) is known


def test_pipeline_and_job_spans_record_outcomes(monkeypatch):
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    with spans.pipeline_span("morning", run_id="r-1") as pipe:
        assert spans.current_run_id() == "r-1"
        with spans.job_span("fact_sales", pipeline="morning") as job:
            spans.set_outcome(job, "failed", "Duplicate entry 'hunter2' for key 'PRIMARY'")
        spans.set_outcome(pipe, "partial")
    finished = {s.name: s for s in exporter.get_finished_spans()}
    job_span, pipe_span = finished["job fact_sales"], finished["pipeline morning"]
    assert job_span.attributes["rockway.job"] == "fact_sales" and job_span.attributes["rockway.pipeline"] == "morning"
    assert job_span.attributes["rockway.run_id"] == "r-1" and job_span.attributes["rockway.status"] == "failed"
    assert job_span.status.status_code.name == "ERROR" and "hunter2" not in job_span.status.description
    assert pipe_span.attributes["rockway.status"] == "partial" and pipe_span.status.status_code.name == "UNSET"
    assert job_span.parent.span_id == pipe_span.context.span_id
    assert all(spans.span_name_pattern().match(name) for name in finished)


# --- export: delta temporality for short-lived runs ---------------------------------------------
def test_metrics_are_exported_with_delta_temporality(monkeypatch):
    with OtlpReceiver() as receiver:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.http_endpoint)
        handle = otel.setup_telemetry("1.0.0", "ci")
        metrics.record_rows_loaded("dw.t", 10, job="j")
        metrics.record_load(1.5, "j", "success")
        metrics.record_freshness("dw.t", 60)
        assert handle.shutdown(deadline_s=10)
        assert receiver.wait_for(lambda r: len({m["name"] for m in r.metrics}) >= 3)
    got = {m["name"]: m for m in receiver.metrics}
    assert got["rockway.rows.loaded"]["temporality"] == "DELTA" and got["rockway.rows.loaded"]["kind"] == "sum"
    assert got["rockway.load.duration"]["temporality"] == "DELTA"
    assert got["rockway.freshness.lag"]["kind"] == "gauge"
    assert got["rockway.rows.loaded"]["points"][0]["value"] == 10


def test_temporality_preference_from_the_environment_wins(monkeypatch):
    with OtlpReceiver() as receiver:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.http_endpoint)
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "cumulative")
        handle = otel.setup_telemetry("1.0.0", None)
        metrics.record_rows_loaded("dw.t", 1)
        assert handle.shutdown(deadline_s=10)
        assert receiver.wait_for(lambda r: r.metrics)
    assert receiver.metrics[0]["temporality"] == "CUMULATIVE"


# --- shutdown deadline configuration --------------------------------------------------------------
@pytest.mark.parametrize("value, expected", [(None, 5.0), ("2.5", 2.5), ("0", 0.0), ("soon", 5.0), ("-1", 5.0)])
def test_shutdown_deadline_from_environment(monkeypatch, value, expected):
    if value is not None:
        monkeypatch.setenv("ROCKWAY_OTEL_SHUTDOWN_TIMEOUT", value)
    assert otel.shutdown_deadline() == expected


# --- CLI log handlers ----------------------------------------------------------------------------
def _emit_sample(run_id: str = "run-7") -> None:
    with spans.run_span("migrate up", run_id):
        logging.getLogger("rockway.executor").warning("slow statement")
        try:
            raise DatabaseError("(1062) Duplicate entry 'hunter2' for key 'PRIMARY'", errno=1062)
        except DatabaseError:
            logging.getLogger("rockway.jobs.x").exception("load failed")


def test_text_logs_show_warnings_for_people_without_lifecycle_lines():
    stream = io.StringIO()
    logs.configure_logging("text", stream=stream)
    _emit_sample()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2, lines
    assert " WARNING rockway.executor: slow statement (run run-7)" in lines[0]
    assert " ERROR rockway.jobs.x: load failed [1062: (1062) Duplicate entry ? for key ?] (run run-7)" in lines[1]
    assert "hunter2" not in stream.getvalue() and "Traceback" not in stream.getvalue()


def test_json_logs_from_info_with_ids_and_lifecycle_lines():
    stream = io.StringIO()
    logs.configure_logging("json", stream=stream)
    _emit_sample()
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["message"] for line in lines][:3] == ["run started: migrate up", "slow statement", "load failed"]
    end = lines[-1]
    assert end["event"] == "run_end" and end["rockway.status"] == "ok" and end["run_id"] == "run-7"
    assert all(set(line) >= {"timestamp", "level", "message", "run_id", "trace_id", "span_id"} for line in lines)
    assert "hunter2" not in stream.getvalue()


def test_log_file_gets_json_and_stderr_stays_quiet_with_json_format(tmp_path, monkeypatch):
    stream = io.StringIO()
    path = tmp_path / "rockway.jsonl"
    monkeypatch.setenv("ROCKWAY_LOG_FILE", str(path))
    monkeypatch.setenv("ROCKWAY_LOG_FORMAT", "json")
    handlers = logs.configure_logging(stream=stream)
    _emit_sample()
    logs.close_logging(handlers)
    assert stream.getvalue() == ""
    events = [json.loads(line).get("event") for line in path.read_text().splitlines()]
    assert events[0] == "run_start" and events[-1] == "run_end"


def test_log_level_override_and_bad_values(tmp_path, monkeypatch, caplog):
    stream = io.StringIO()
    monkeypatch.setenv("ROCKWAY_LOG_LEVEL", "info")
    logs.configure_logging("text", stream=stream)
    _emit_sample()
    assert "run started: migrate up" in stream.getvalue()  # explicit INFO shows lifecycle lines in text too
    logging.getLogger("rockway").handlers.clear()

    with caplog.at_level(logging.WARNING, logger="rockway.telemetry"):
        handlers = logs.configure_logging("yaml", str(tmp_path / "no" / "such" / "dir.log"), stream=io.StringIO())
    assert "not one of text, json" in caplog.text and "cannot write the log file" in caplog.text
    assert len(handlers) == 1 and isinstance(handlers[0], logging.StreamHandler)


def test_otlp_log_records_carry_run_id_and_no_raw_exception_text(monkeypatch):
    with OtlpReceiver() as receiver:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.http_endpoint)
        handle = otel.setup_telemetry("1.0.0", None)
        _emit_sample("run-otlp")
        assert handle.shutdown(deadline_s=10)
        assert receiver.wait_for(lambda r: len(r.logs) >= 4)
    by_body = {r["body"]: r for r in receiver.logs}
    failed = by_body["load failed"]
    assert failed["attributes"]["rockway.run_id"] == "run-otlp"
    assert failed["attributes"]["error.type"] == "1062"
    assert failed["attributes"]["exception.message"] == "(1062) Duplicate entry ? for key ?"
    assert "exception.stacktrace" not in failed["attributes"]
    assert by_body["run started: migrate up"]["attributes"]["event"] == "run_start"
    assert "hunter2" not in repr(receiver.logs)


def test_spans_leave_during_the_run_not_only_at_exit(monkeypatch):
    """A long run exports as it goes (every 0.5 s), so a killed process loses little and exit has little to flush."""
    with OtlpReceiver() as receiver:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", receiver.http_endpoint + "/v1/traces")
        handle = otel.setup_telemetry("1.0.0", None)
        with spans.run_span("migrate up", "r-live"):
            with spans.migration_span("V1 first"):
                pass
            # still inside the run: the finished migration span must reach the collector on its own
            assert receiver.wait_for(lambda r: any(s["name"] == "migration V1 first" for s in r.spans), timeout=3)
            assert not any(s["name"] == "rockway migrate up" for s in receiver.spans)
        assert handle.shutdown(deadline_s=5)
