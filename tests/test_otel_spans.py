"""Spans recorded as plain data (`otel_spans`): what the relay rebuilds from them, ids, sampling, limits, redaction."""

from __future__ import annotations

import io
import logging

import pytest
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanLimits, TracerProvider
from opentelemetry.trace import Link, NonRecordingSpan, SpanContext, SpanKind, Status, StatusCode, TraceFlags

from otlp_receiver import OtlpReceiver, isolated_telemetry
from rockway import telemetry
from rockway.cli import otel, otel_wire
from rockway.cli.otel_spans import ForwardingTracerProvider, supports_sampler


@pytest.fixture(autouse=True)
def clean_telemetry(monkeypatch):
    with isolated_telemetry(monkeypatch):
        yield


def crossed(messages: list[tuple], limits: SpanLimits | None = None) -> dict:
    """The SDK spans the relay makes of the span messages, by name (after a real trip through the wire format)."""
    ((*batch,),) = otel_wire.read_frames(io.BytesIO(otel_wire.frame(messages)))
    assert all(kind == "span" for kind, _ in batch)
    return {s.name: s for s in (otel_wire.readable_span(data, Resource.get_empty(), limits) for _, data in batch)}


def test_forwarded_spans_become_the_sdk_spans_they_describe():
    sent: list[tuple] = []
    tracer = ForwardingTracerProvider(sent.append).get_tracer("rockway", "1.2.3")
    other = SpanContext(0xABC, 0xDEF, True, TraceFlags(1))
    with tracer.start_as_current_span("migration V1 a") as parent:
        with tracer.start_as_current_span("INSERT t", kind=SpanKind.CLIENT, links=[Link(other, {"why": "retry"})],
                                          attributes={"db.namespace": "dw", "server.port": 3306}) as child:
            child.set_attribute("rockway.flags", ["a", "b"])
            child.add_event("exception", {"exception.type": "X"})
            child.set_status(Status(StatusCode.ERROR, "statement failed"))
            child.update_name("INSERT dw.t")
        assert sent and not child.is_recording()
    assert len(sent) == 2  # each span is sent once, when it ends
    spans = crossed(sent)
    insert, migration = spans["INSERT dw.t"], spans["migration V1 a"]
    assert insert.context.trace_id == migration.context.trace_id == parent.get_span_context().trace_id
    assert insert.parent.span_id == migration.context.span_id and migration.parent is None
    assert insert.context.trace_flags.sampled and insert.kind is SpanKind.CLIENT
    assert dict(insert.attributes) == {"db.namespace": "dw", "server.port": 3306, "rockway.flags": ("a", "b")}
    assert [(e.name, dict(e.attributes)) for e in insert.events] == [("exception", {"exception.type": "X"})]
    assert [(lk.context.span_id, dict(lk.attributes)) for lk in insert.links] == [(0xDEF, {"why": "retry"})]
    assert (insert.status.status_code, insert.status.description) == (StatusCode.ERROR, "statement failed")
    assert (insert.instrumentation_scope.name, insert.instrumentation_scope.version) == ("rockway", "1.2.3")
    assert migration.start_time <= insert.start_time <= insert.end_time <= migration.end_time


def test_status_follows_the_sdks_rules():
    sent: list[tuple] = []
    tracer = ForwardingTracerProvider(sent.append).get_tracer("rockway")
    with tracer.start_as_current_span("ok then error") as first:
        first.set_status(StatusCode.OK, "ignored for OK")
        first.set_status(Status(StatusCode.ERROR, "too late"))  # OK is final
    with tracer.start_as_current_span("error") as second:
        second.set_status(StatusCode.ERROR, "boom")
    spans = crossed(sent)
    assert (spans["ok then error"].status.status_code, spans["ok then error"].status.description) == (StatusCode.OK, None)
    assert (spans["error"].status.status_code, spans["error"].status.description) == (StatusCode.ERROR, "boom")


def test_attribute_values_the_sdk_would_refuse_are_dropped_and_the_span_still_crosses(caplog):
    sent: list[tuple] = []
    tracer = ForwardingTracerProvider(sent.append).get_tracer("rockway")
    with caplog.at_level(logging.DEBUG, logger="rockway.telemetry"):
        with tracer.start_as_current_span("s", attributes={"ok": 1, "conn": object()}) as current:
            current.set_attribute("rows", 5)
            current.set_attribute("mapping", {"a": 1})
            current.set_attribute("", "no key")
            current.add_event("e", {"when": 1.5, "obj": object()})
    (span,) = crossed(sent).values()
    assert dict(span.attributes) == {"ok": 1, "rows": 5}
    assert dict(span.events[0].attributes) == {"when": 1.5}
    assert "'conn' dropped" in caplog.text and "'mapping' dropped" in caplog.text


def test_the_relay_applies_the_sdks_span_limits(monkeypatch):
    monkeypatch.setenv("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "2")
    monkeypatch.setenv("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "4")
    monkeypatch.setenv("OTEL_SPAN_EVENT_COUNT_LIMIT", "1")
    sent: list[tuple] = []
    tracer = ForwardingTracerProvider(sent.append).get_tracer("rockway")
    with tracer.start_as_current_span("s", attributes={"b": 2, "c": 3, "a": "abcdefgh"}) as current:
        current.add_event("first")
        current.add_event("second")
    (span,) = crossed(sent, SpanLimits()).values()
    assert dict(span.attributes) == {"c": 3, "a": "abcd"}  # as an SDK span: the oldest goes
    assert span.dropped_attributes == 1
    assert [e.name for e in span.events] == ["first"]


def test_a_child_of_a_parent_that_was_not_sampled_is_not_recorded(monkeypatch):
    sent: list[tuple] = []
    unsampled = NonRecordingSpan(SpanContext(0x1234, 0x5678, True, TraceFlags(0)))
    parent_context = trace.set_span_in_context(unsampled)
    child = ForwardingTracerProvider(sent.append).get_tracer("rockway").start_span("child", context=parent_context)
    assert not child.is_recording()
    assert child.get_span_context().trace_id == 0x1234 and child.get_span_context().span_id != 0x5678
    child.end()
    assert sent == []

    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "always_on")  # samples whatever the parent says
    child = ForwardingTracerProvider(sent.append).get_tracer("rockway").start_span("child", context=parent_context)
    child.end()
    (span,) = crossed(sent).values()
    assert span.context.trace_id == 0x1234 and span.parent.span_id == 0x5678 and span.parent.is_remote


def test_ids_trace_ids_and_the_current_span_are_real():
    trace.set_tracer_provider(ForwardingTracerProvider(None))  # nothing exported: ids only
    with telemetry.span("outer") as outer:
        outer_ids = (telemetry.current_trace_id(), telemetry.current_span_id())
        with telemetry.span("inner") as inner:
            inner_ids = (telemetry.current_trace_id(), telemetry.current_span_id())
    assert outer_ids[0] == inner_ids[0] == format(outer.get_span_context().trace_id, "032x")
    assert outer_ids[1] == format(outer.get_span_context().span_id, "016x") != inner_ids[1]
    assert int(outer_ids[0], 16) != 0 and len(outer_ids[0]) == 32
    assert inner.get_span_context().span_id != outer.get_span_context().span_id
    assert telemetry.current_trace_id() is None  # both ended, nothing current


def test_a_failure_in_a_span_is_recorded_redacted():
    sent: list[tuple] = []
    tracer = ForwardingTracerProvider(sent.append).get_tracer("rockway")
    with pytest.raises(ValueError):
        with tracer.start_as_current_span("CREATE USER"):
            raise ValueError("cannot run: CREATE USER u IDENTIFIED BY 's3cret-pw'")
    with tracer.start_as_current_span("direct") as direct:
        try:
            raise KeyError("'another-secret'")
        except KeyError as exc:
            direct.record_exception(exc)
    spans = crossed(sent)
    failed = spans["CREATE USER"]
    assert failed.status.status_code is StatusCode.ERROR
    assert failed.attributes["error.type"] == "ValueError"
    (event,) = failed.events
    assert event.attributes["exception.message"] == "cannot run: CREATE USER u IDENTIFIED BY ?"
    assert "s3cret" not in repr(sent) and "another-secret" not in repr(sent)
    assert spans["direct"].events[0].attributes["exception.type"] == "KeyError"


def test_a_span_made_current_by_attach_is_the_parent_of_the_next():
    """telemetry._start makes spans current with context.attach, not start_as_current_span."""
    sent: list[tuple] = []
    trace.set_tracer_provider(ForwardingTracerProvider(sent.append))
    with telemetry.statement_span(type("A", (), {"db_system": "mysql", "database": "dw"})(), 1, "SELECT 1") as outer:
        token = otel_context.attach(trace.set_span_in_context(outer))
        otel_context.detach(token)
        with telemetry.span("wait job-1"):
            pass
    spans = crossed(sent)
    assert spans["wait job-1"].parent.span_id == outer.get_span_context().span_id
    assert spans["SELECT"].attributes["db.system.name"] == "mysql"


@pytest.mark.parametrize("sampler, ours", [(None, True), ("parentbased_always_on", True), ("always_on", True),
                                            ("ALWAYS_ON ", True), ("traceidratio", False),
                                            ("parentbased_always_off", False)])
def test_only_the_default_samplers_are_recorded_without_the_sdk(monkeypatch, sampler, ours):
    if sampler is not None:
        monkeypatch.setenv("OTEL_TRACES_SAMPLER", sampler)
    assert supports_sampler() is ours
    provider = otel.run_tracer_provider(None)
    assert isinstance(provider, ForwardingTracerProvider) is ours
    assert isinstance(provider, TracerProvider) is not ours


def test_another_sampler_keeps_the_sdk_tracer_and_still_forwards(monkeypatch):
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "parentbased_traceidratio")
    monkeypatch.setenv("OTEL_TRACES_SAMPLER_ARG", "1.0")
    sent: list[tuple] = []
    tracer = otel.run_tracer_provider(sent.append).get_tracer("rockway", "1.0")
    with tracer.start_as_current_span("root"):
        with tracer.start_as_current_span("child"):
            pass
    spans = crossed(sent)
    assert spans["child"].parent.span_id == spans["root"].context.span_id

    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "always_off")
    sent.clear()
    with otel.run_tracer_provider(sent.append).get_tracer("rockway").start_as_current_span("dropped"):
        pass
    assert sent == []


def test_a_run_with_another_sampler_exports_through_the_relay(monkeypatch):
    with OtlpReceiver() as receiver:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.http_endpoint)
        monkeypatch.setenv("OTEL_TRACES_SAMPLER", "traceidratio")
        monkeypatch.setenv("OTEL_TRACES_SAMPLER_ARG", "1")
        handle = otel.setup_telemetry("1.0.0", "ci")
        assert isinstance(handle.tracer_provider, TracerProvider)
        with telemetry.run_span("migrate up", "run-sdk"):
            with telemetry.migration_span("V1 first"):
                pass
        assert handle.shutdown(deadline_s=5) is True
        assert receiver.wait_for(lambda r: len(r.spans) >= 2, timeout=5)
        names = {s["name"] for s in receiver.spans}
        assert names == {"rockway migrate up", "migration V1 first"}
        run = receiver.span_named("rockway migrate up")
        assert run["attributes"]["rockway.run_id"] == "run-sdk"
        assert receiver.span_named("migration V1 first")["parent_span_id"] == run["span_id"]
