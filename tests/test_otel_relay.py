"""The export relay: what crosses the pipe, what the relay process holds, and what survives a killed run."""

from __future__ import annotations

import fcntl
import io
import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode

from otlp_receiver import OtlpReceiver, SilentServer, isolated_telemetry
from rockway import telemetry
from rockway.cli import otel, otel_wire

TESTS = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture(autouse=True)
def clean_telemetry(monkeypatch):
    with isolated_telemetry(monkeypatch):
        yield


def test_a_span_crosses_the_pipe_unchanged():
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("rockway", "1.2.3")
    with tracer.start_as_current_span("migration V1 a") as parent:
        with tracer.start_as_current_span("INSERT t", kind=SpanKind.CLIENT,
                                          attributes={"db.namespace": "dw", "server.port": 3306,
                                                      "rockway.flags": ("a", "b")}) as child:
            child.add_event("exception", {"exception.type": "X"})
            child.set_status(Status(StatusCode.ERROR, "statement failed"))
    original = next(s for s in memory.get_finished_spans() if s.name == "INSERT t")

    frames = otel_wire.frame([("span", otel_wire.span_tuple(original))])
    ((kind, data),) = next(otel_wire.read_frames(io.BytesIO(frames)))
    copy = otel_wire.readable_span(data, provider.resource)

    assert kind == "span"
    assert (copy.name, copy.kind, copy.start_time, copy.end_time) == (original.name, SpanKind.CLIENT,
                                                                      original.start_time, original.end_time)
    assert copy.context.trace_id == original.context.trace_id and copy.context.span_id == original.context.span_id
    assert copy.parent.span_id == parent.get_span_context().span_id
    assert dict(copy.attributes) == {"db.namespace": "dw", "server.port": 3306, "rockway.flags": ("a", "b")}
    assert [(e.name, dict(e.attributes)) for e in copy.events] == [("exception", {"exception.type": "X"})]
    assert (copy.status.status_code, copy.status.description) == (StatusCode.ERROR, "statement failed")
    assert (copy.instrumentation_scope.name, copy.instrumentation_scope.version) == ("rockway", "1.2.3")


def test_log_record_fields_are_plain_and_formatted():
    record = logging.LogRecord("rockway.jobs", logging.WARNING, __file__, 1, "loaded %d rows into %s", (5, "t"), None)
    record.job = "orders"
    record.tables = ["a", "b"]
    record.connection = object()  # not plain: left out
    fields = otel_wire.record_fields(record)
    again = otel_wire.log_record(fields)
    assert again.getMessage() == "loaded 5 rows into t"
    assert (again.name, again.levelname, again.created) == ("rockway.jobs", "WARNING", record.created)
    assert (again.job, again.tables) == ("orders", ("a", "b"))
    assert "connection" not in fields


def test_the_relay_holds_none_of_the_runs_descriptors(monkeypatch, tmp_path):
    """A lock taken before telemetry starts (cron's flock, the pipeline lock) is never held by the relay."""
    with OtlpReceiver() as receiver, open(tmp_path / "pipeline.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.http_endpoint)
        handle = otel.setup_telemetry("1.0.0", None)
        try:
            targets = set()
            for fd in os.listdir(f"/proc/{handle.relay.proc.pid}/fd"):
                try:
                    targets.add(os.readlink(f"/proc/{handle.relay.proc.pid}/fd/{fd}"))
                except FileNotFoundError:  # the starting interpreter opened and closed it meanwhile
                    pass
        finally:
            handle.shutdown(deadline_s=5)
    assert targets  # the relay was looked at while it ran
    assert str(tmp_path / "pipeline.lock") not in targets


def test_a_run_that_sends_nothing_does_not_wait_for_the_relay(monkeypatch):
    with OtlpReceiver() as receiver:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.http_endpoint)
        handle = otel.setup_telemetry("1.0.0", None)
        assert handle.shutdown(deadline_s=5) is True
        assert handle.relay.proc.returncode == -signal.SIGKILL  # stopped, not waited for
        assert receiver.requests == []


_KILLED_RUN = textwrap.dedent("""
    import os, signal, sys, time
    sys.path.insert(0, {tests!r})
    from rockway.cli.otel import setup_telemetry
    from rockway import telemetry
    handle = setup_telemetry("1.0.0", "ci")
    with telemetry.run_span("migrate up", "run-killed"):
        with telemetry.migration_span("V1 first"):
            telemetry.record_rows_loaded("dw.t", 7, job="j")
        time.sleep(0.5)  # longer than the send interval: the migration span is in the relay now
        print(handle.relay.proc.pid, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
""")


def test_a_killed_run_still_delivers_what_it_had_sent():
    with OtlpReceiver() as receiver:
        env = {**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.http_endpoint, "ROCKWAY_OTEL_SHUTDOWN_TIMEOUT": "5"}
        env = {k: v for k, v in env.items() if k != "OTEL_SDK_DISABLED"}
        proc = subprocess.run([sys.executable, "-c", _KILLED_RUN.format(tests=TESTS)], env=env, capture_output=True,
                              text=True, timeout=60)
        assert proc.returncode == -signal.SIGKILL, proc.stderr
        assert receiver.wait_for(lambda r: any(s["name"] == "migration V1 first" for s in r.spans)
                                 and any(m["name"] == "rockway.rows.loaded" for m in r.metrics), timeout=10), proc.stderr
        # the run span never ended, so it never left
        assert not any(s["name"] == "rockway migrate up" for s in receiver.spans)
        relay_pid = int(proc.stdout.split()[0])
        deadline = time.monotonic() + 10
        while os.path.exists(f"/proc/{relay_pid}") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not os.path.exists(f"/proc/{relay_pid}") or open(f"/proc/{relay_pid}/stat").read().split()[2] == "Z"


def test_measurements_are_forwarded_while_a_relay_is_attached():
    seen: list[tuple[str, float, dict]] = []
    telemetry.forward_measurements(lambda name, value, attrs: seen.append((name, value, dict(attrs))))
    try:
        telemetry.record_rows_loaded("dw.fact_sales", 12, job="fact_sales")
        telemetry.record_freshness("dw.fact_sales", 30.0)
    finally:
        telemetry.forward_measurements(None)
    telemetry.record_rows_loaded("dw.fact_sales", 1)  # no sink, no SDK: a no-op
    assert seen == [("rockway.rows.loaded", 12, {"db.collection.name": "dw.fact_sales", "rockway.job": "fact_sales"}),
                    ("rockway.freshness.lag", 30.0, {"db.collection.name": "dw.fact_sales"})]


def test_the_relays_own_warnings_use_the_runs_log_format(monkeypatch, capfd):
    with SilentServer() as silent:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", f"http://127.0.0.1:{silent.port}/v1/traces")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "30")
        handle = otel.setup_telemetry("1.0.0", None, log_format="json")
        with telemetry.run_span("migrate up", "run-json"):
            pass
        assert handle.shutdown(deadline_s=1.0) is False
    lines = [json.loads(line) for line in capfd.readouterr().err.splitlines() if line.startswith("{")]
    (warning,) = [line for line in lines if "did not finish" in line["message"]]
    assert warning["level"] == "WARNING" and warning["logger"] == "rockway.telemetry"
    assert "within 1.0 s" in warning["message"]


def test_a_message_that_cannot_cross_costs_its_batch_not_the_run(monkeypatch, caplog):
    with OtlpReceiver() as receiver:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.http_endpoint)
        handle = otel.setup_telemetry("1.0.0", None)
        with caplog.at_level(logging.WARNING, logger="rockway.telemetry"):
            handle.relay.send(("metric", "rockway.errors", 1, {"bad": object()}))  # not plain data
            handle.relay.flush()  # the run goes on
        assert "could not be sent to the relay" in caplog.text
        with telemetry.run_span("migrate up", "after-a-bad-batch"):
            pass
        assert handle.shutdown(deadline_s=5) is True
        assert receiver.wait_for(lambda r: any(s["name"] == "rockway migrate up" for s in r.spans), timeout=5)
