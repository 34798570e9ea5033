"""Pipeline and job telemetry without a database: span parents across worker threads, pipeline and step
outcomes, statement spans of pooled connections, job log lines through the shared `rockway` handlers, and the
MV staleness gauge. (tests/test_pipeline_observability_e2e.py runs the same through the CLI on MariaDB.)"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from types import SimpleNamespace
from typing import Any, Iterator

import pytest
from tests.support.otlp_receiver import reset_otel_globals
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from rockway.observability import spans
from rockway.adapters.base import StatementResult
from rockway.jobs import api, pipeline
from rockway.jobs.pipeline_spec import PipelineSpec, PipelineStep
from rockway.jobs.pool import statement_numbering, trace_statements
from rockway.jobs.runner import JobResult




@pytest.fixture
def otel() -> Iterator[SimpleNamespace]:
    """In-memory span exporter and metric reader on fresh global providers."""
    reset_otel_globals()
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    trace.set_tracer_provider(provider)
    reader = InMemoryMetricReader()
    metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
    yield SimpleNamespace(spans=spans, reader=reader)
    reset_otel_globals()


def _points(reader: InMemoryMetricReader, name: str) -> list[Any]:
    data = reader.get_metrics_data()
    return [p for rm in (data.resource_metrics if data else []) for sm in rm.scope_metrics for m in sm.metrics
            if m.name == name for p in m.data.data_points]


# --- pipelines with stand-in jobs ------------------------------------------------------------------
class _Lock:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __enter__(self) -> "_Lock":
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def check(self) -> None:
        pass


def _env(concurrency: int = 2) -> Any:
    return SimpleNamespace(jobs=SimpleNamespace(concurrency=concurrency), pipeline="evening",
                           settings=SimpleNamespace(lock_timeout=1.0, lock_lease=60.0))


def _spec(name: str, *depends_on: str) -> Any:
    return SimpleNamespace(name=name, kind="dimension", depends_on=depends_on)


@pytest.fixture
def stand_ins(monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    """run_pipeline without a database: no run locks, no etl_job_run rows; run_job is `fake.job`."""
    fake = SimpleNamespace(threads={}, statuses={}, barrier=None)

    def run_job(spec: Any, env: Any, *, trigger: str) -> JobResult:
        run_id = spans.new_run_id()
        with spans.job_span(spec.name, run_id=run_id, pipeline=env.pipeline) as span:
            fake.threads[spec.name] = threading.current_thread().name
            if fake.barrier is not None:
                fake.barrier.wait(timeout=5)  # both jobs are running at the same time, in two worker threads
            status = fake.statuses.get(spec.name, "success")
            spans.set_outcome(span, status)
        return JobResult(spec.name, run_id, status, rows_written=10)

    monkeypatch.setattr(pipeline, "run_lock", _Lock)
    monkeypatch.setattr(pipeline, "job_lock", lambda *args, **kwargs: contextlib.nullcontext())
    monkeypatch.setattr(pipeline, "run_job", run_job)
    monkeypatch.setattr(pipeline, "_record", lambda env, run: None)
    return fake


def _run(steps: list[PipelineStep], specs: dict[str, Any], notifier: Any = None, concurrency: int = 2) -> Any:
    spec = PipelineSpec("evening", tuple(steps))
    with spans.run_span("run evening", "run-1"):
        return pipeline.run_pipeline(spec, specs, _env(concurrency), control=None, notifier=notifier,
                                     render=lambda text, what: text, backup_databases=[])


class _Notifier:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.summaries: list[Any] = []

    def notify(self, summary: Any) -> None:
        self.summaries.append(summary)
        if self.fail:
            raise RuntimeError("webhook said 500 for 'hunter2'")


def test_concurrent_jobs_are_children_of_the_pipeline_span_in_one_trace(otel, stand_ins) -> None:
    stand_ins.barrier = threading.Barrier(2)
    notifier = _Notifier()
    result = _run([PipelineStep("jobs", ["dim_customer", "dim_material"]), PipelineStep("notify", {})],
                  {"dim_customer": _spec("dim_customer"), "dim_material": _spec("dim_material")}, notifier)
    assert result.status == "success"
    threads = set(stand_ins.threads.values())
    assert len(threads) == 2 and threading.current_thread().name not in threads
    assert all(name.startswith("rockway-job") for name in threads)

    spans = {s.name: s for s in otel.spans.get_finished_spans()}
    root, pipe = spans["rockway run evening"], spans["pipeline evening"]
    assert pipe.parent.span_id == root.context.span_id
    assert {s.context.trace_id for s in spans.values()} == {root.context.trace_id}
    for job in ("dim_customer", "dim_material"):
        assert spans[f"job {job}"].parent.span_id == pipe.context.span_id  # across the worker threads
        assert spans[f"job {job}"].attributes["rockway.run_id"] != "run-1"
    assert "step jobs" not in spans  # the job spans stand for the jobs step
    notify = spans["step notify"]
    assert notify.parent.span_id == pipe.context.span_id
    assert notify.attributes["rockway.step"] == "notify" and notify.attributes["rockway.status"] == "success"
    assert pipe.attributes["rockway.run_id"] == "run-1" and pipe.attributes["rockway.pipeline"] == "evening"
    assert pipe.attributes["rockway.status"] == "success" and pipe.status.status_code.name == "UNSET"
    assert pipe.attributes["rockway.rows.written"] == 20 and pipe.attributes["rockway.jobs"] == 2
    assert notifier.summaries[0].trace_id == format(root.context.trace_id, "032x")


def test_a_failed_job_fails_the_pipeline_and_skips_its_dependants_with_their_own_spans(otel, stand_ins) -> None:
    stand_ins.statuses["dim_customer"] = "failed"
    specs = {"dim_customer": _spec("dim_customer"), "fact_sales": _spec("fact_sales", "dim_customer")}
    result = _run([PipelineStep("jobs", ["dim_customer", "fact_sales"]), PipelineStep("sql", "sql/x.sql"),
                   PipelineStep("notify", {})], specs, _Notifier())
    assert result.status == "failed"
    assert [(s.kind, s.status) for s in result.steps] == [("jobs", "failed"), ("sql", "skipped"), ("notify", "success")]
    spans = {s.name: s for s in otel.spans.get_finished_spans()}
    pipe = spans["pipeline evening"]
    assert pipe.attributes["rockway.status"] == "failed" and pipe.status.status_code.name == "ERROR"
    assert "step jobs dim_customer,fact_sales failed" in pipe.status.description
    assert pipe.attributes["rockway.jobs.failed"] == 1
    skipped = spans["job fact_sales"]
    assert skipped.parent.span_id == pipe.context.span_id and skipped.attributes["rockway.status"] == "skipped"
    assert skipped.attributes["rockway.skip_reason"] == "dependency dim_customer failed"
    assert skipped.status.status_code.name == "UNSET"
    sql = spans["step sql"]
    assert sql.parent.span_id == pipe.context.span_id and sql.attributes["rockway.status"] == "skipped"
    assert spans["job dim_customer"].status.status_code.name == "ERROR"
    loads = {(p.attributes["rockway.job"], p.attributes["rockway.status"]): p.count
             for p in _points(otel.reader, "rockway.load.duration")}
    assert loads == {("fact_sales", "skipped"): 1}  # run_job is a stand-in here; the skip is recorded by the pipeline


def test_a_failed_notification_makes_the_run_partial(otel, stand_ins) -> None:
    result = _run([PipelineStep("jobs", ["dim_customer"]), PipelineStep("notify", {})],
                  {"dim_customer": _spec("dim_customer")}, _Notifier(fail=True))
    assert result.status == "success"  # the exit code does not change: the data is loaded
    assert [(s.kind, s.status) for s in result.steps] == [("jobs", "success"), ("notify", "failed")]
    spans = {s.name: s for s in otel.spans.get_finished_spans()}
    pipe, notify = spans["pipeline evening"], spans["step notify"]
    assert pipe.attributes["rockway.status"] == "partial" and pipe.status.status_code.name == "UNSET"
    assert notify.attributes["rockway.status"] == "failed" and notify.status.status_code.name == "ERROR"
    assert "hunter2" not in notify.status.description and "RuntimeError" in notify.status.description  # redacted
    (error,) = _points(otel.reader, "rockway.errors")
    assert dict(error.attributes) == {"error.type": "notify_failed", "rockway.pipeline": "evening"}


def test_a_pipeline_that_cannot_take_its_lock_ends_failed(otel, stand_ins, monkeypatch) -> None:
    class Busy(_Lock):
        def __enter__(self) -> "_Lock":
            raise TimeoutError("pipeline evening is running elsewhere")

    monkeypatch.setattr(pipeline, "run_lock", Busy)
    with pytest.raises(TimeoutError):
        _run([PipelineStep("jobs", ["dim_customer"])], {"dim_customer": _spec("dim_customer")})
    pipe = {s.name: s for s in otel.spans.get_finished_spans()}["pipeline evening"]
    assert pipe.attributes["rockway.status"] == "failed" and pipe.status.status_code.name == "ERROR"


# --- statement spans of pooled connections --------------------------------------------------------
class _Connection:
    db_system, database, host, port = "mariadb", "sales_dw", "127.0.0.1", 3306

    def __init__(self) -> None:
        self.sent: list[str] = []

    def execute(self, sql: str, params: Any = None) -> StatementResult:
        self.sent.append(sql)
        return StatementResult(rowcount=1)

    def executemany(self, sql: str, rows: Any) -> int:
        self.sent.append(sql)
        return len(rows)

    def query(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        return self.execute(sql, params).rows


def test_pooled_connections_trace_every_statement_numbered_per_block(otel) -> None:
    conn = _Connection()
    assert trace_statements(trace_statements(conn)) is conn  # wrapping twice changes nothing
    with spans.span("job fact_sales") as job:
        with statement_numbering():
            conn.execute("DELETE FROM sales_dw.fact_sales WHERE billing_date > '2026-03-06'")
            conn.executemany("INSERT INTO sales_etl.rw_src (a, b) VALUES (%s, %s)", [(1, 2), (3, 4)])
            with statement_numbering():
                conn.query("SELECT COUNT(*) FROM sales_dw.fact_sales")
            conn.execute("COMMIT")
    assert len(conn.sent) == 4
    client_spans = [s for s in otel.spans.get_finished_spans() if s.kind.name == "CLIENT"]
    assert [(s.name, s.attributes["rockway.statement.index"]) for s in client_spans] == [
        ("DELETE sales_dw.fact_sales", 1), ("INSERT sales_etl.rw_src", 2), ("SELECT", 1),
        ("COMMIT", 3)]
    assert all(s.parent.span_id == job.get_span_context().span_id for s in client_spans)
    assert client_spans[0].attributes["db.query.text"] == "DELETE FROM sales_dw.fact_sales WHERE billing_date > ?"
    assert client_spans[1].attributes["db.operation.batch.size"] == 2
    durations = _points(otel.reader, "db.client.operation.duration")
    assert sum(p.count for p in durations) == 4


# --- job log lines through the shared `rockway` handlers ----------------------------------------
@pytest.fixture
def cli_logging(tmp_path) -> Iterator[SimpleNamespace]:
    """The CLI's logger set-up (setup_job_logging, configure_logging), undone afterwards."""
    from rockway.observability import logs as cli_logs
    from rockway.cli.job_setup import setup_job_logging

    jobs, shared = logging.getLogger("rockway.jobs"), logging.getLogger("rockway")
    saved = [(lg, list(lg.handlers), lg.level, lg.propagate) for lg in (jobs, shared)]
    made: list[logging.Handler] = []

    def configure(log_format: str | None, log_file: bool = False) -> None:
        # the CLI's order: loading Settings configures the `rockway` handlers, then a job command adds its own
        made.extend(cli_logs.configure_logging(log_format, str(tmp_path / "rockway.jsonl") if log_file else None))
        setup_job_logging()

    yield SimpleNamespace(configure=configure, file=tmp_path / "rockway.jsonl")
    cli_logs.close_logging(made)
    for lg, handlers, level, propagate in saved:
        for h in lg.handlers:
            if h not in handlers:
                h.close()
        lg.handlers[:] = handlers
        lg.setLevel(level)
        lg.propagate = propagate


def _job_lines() -> None:
    log = logging.getLogger("rockway.jobs")
    with spans.span("job fact_sales"), spans.bind_run_id("job-run-1"):
        log.info("job_end fact_sales", extra={"event": "job_end", "job": "fact_sales", "rows_written": 42})
        log.warning("job_retry fact_sales", extra={"event": "job_retry", "job": "fact_sales", "attempt": 1})


@pytest.mark.parametrize("log_format, log_file, stderr_json, stderr_text", [
    ("json", False, 2, 0),   # the `rockway` JSON handler writes them; the jobs' own handler stays quiet
    ("json", True, 0, 0),    # with a log file the JSON lines go into the file only; stderr stays quiet
    ("text", True, 0, 1),    # JSON into the file only; stderr: the warning once, as text for people
    (None, False, 2, 1),
])
def test_job_lines_reach_the_shared_handlers_once(otel, cli_logging, capsys, log_format, log_file, stderr_json,
                                                  stderr_text) -> None:
    cli_logging.configure(log_format, log_file)
    capsys.readouterr()
    jobs = logging.getLogger("rockway.jobs")
    with api.shared_logging():
        _job_lines()
    assert jobs.propagate is log_file and not any(h.filters for h in jobs.handlers)  # the CLI's set-up is back
    err = capsys.readouterr().err.splitlines()
    lines = [json.loads(line) for line in err if line.startswith("{")]
    assert [line["event"] for line in lines] == ["job_end", "job_retry"][:stderr_json]
    assert len(err) - len(lines) == stderr_text
    for line in lines:
        assert line["run_id"] == "job-run-1" and len(line["trace_id"]) == 32 and len(line["span_id"]) == 16
    if log_file:
        written = [json.loads(line) for line in cli_logging.file.read_text(encoding="utf-8").splitlines()]
        assert [(w["event"], w["run_id"], w["logger"]) for w in written] == [
            ("job_end", "job-run-1", "rockway.jobs"), ("job_retry", "job-run-1", "rockway.jobs")]
        assert written[0]["rows_written"] == 42 and len(written[0]["trace_id"]) == 32


def test_job_lines_reach_an_otlp_handler_on_the_rockway_logger(otel, cli_logging) -> None:
    cli_logging.configure("text")
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Collect(level=logging.INFO)
    logging.getLogger("rockway").addHandler(handler)
    try:
        _job_lines()  # outside the block: the CLI's set-up keeps them away from `rockway`
        assert records == []
        with api.shared_logging():
            _job_lines()
    finally:
        logging.getLogger("rockway").removeHandler(handler)
    assert [r.event for r in records] == ["job_end", "job_retry"]  # type: ignore[attr-defined]


# --- MV status records staleness -------------------------------------------------------------------
def test_mv_status_records_each_views_staleness(otel) -> None:
    from rockway.adapters.starrocks.mv import WANTED_COLUMNS
    from rockway.mv.status import collect_status
    from tests.support.starrocks_replay import q
    from tests.support.mv_catalog import COLUMNS_4X, NOW, ROW_4X, SELECT_ALL_WANTED, adapter_for, probe, project

    adapter, conn = adapter_for([probe(COLUMNS_4X), q(SELECT_ALL_WANTED, WANTED_COLUMNS,
                                                      [project(COLUMNS_4X, ROW_4X, WANTED_COLUMNS)]),
                                 q(NOW, ("now()",), [("2025-11-14 19:38:46",)])])
    report = collect_status(adapter)
    conn.assert_done()
    assert report.views[0].staleness_seconds == 7200.0
    (point,) = _points(otel.reader, "rockway.mv.staleness")
    assert point.value == 7200.0
    assert dict(point.attributes) == {"db.collection.name": "test_show_materialized_view.user_tags_mv1"}

