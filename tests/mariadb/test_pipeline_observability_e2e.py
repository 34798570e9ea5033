"""End to end through the real CLI: `rockway run morning` on MariaDB (ERP source database, migrated warehouse),
exporting over OTLP/HTTP to the in-process receiver of tests/support/otlp_receiver.py.

What one pipeline run must export and write, all tied together by one trace id:
- the span tree `rockway run morning` -> `pipeline morning` -> `job <name>` (run in worker threads, still children
  of the pipeline span) and `step <kind>` -> checks, loads and CLIENT statement spans, with business attributes;
- etl_job_run rows and etl_check_result rows carrying the exported trace id;
- OTLP log records and `--log-file` JSON lines from the jobs, correlated with their job spans and run ids;
- metrics whose values match what the jobs wrote (rows loaded, load durations, check results, freshness lag).
"""

from __future__ import annotations

import json
import random
import re
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.support.jobs import Erp, JobsWarehouse, jobs_toml
from tests.support.otlp_receiver import OtlpReceiver

pytestmark = pytest.mark.mariadb
T0 = datetime(2026, 1, 5, 8, 0, 0)
VERIFY = ["fact_sales_unique_items", "dim_customer_one_current_version", "fact_sales_loaded_recently"]
JOB_CHECKS = ["fact_sales_unique_items", "fact_sales_customer_known"]  # jobs/fact_sales.yaml


@pytest.fixture
def jw(mariadb_server: str, tmp_path: Path) -> Iterator[JobsWarehouse]:
    w = JobsWarehouse(mariadb_server, tmp_path)
    try:
        # The real check runner (jobs/checks/sales.yaml, results into etl_check_result) instead of the test verifier;
        # the notifier stays the file notifier of jobs_verifier.py.
        text = jobs_toml(w.erp_db).replace('verifier = "tests.support.jobs_verifier:make_verifier"\n', "")
        assert "\nverifier" not in text
        (w.root / "jobs" / "jobs.toml").write_text(text, encoding="utf-8")
        pipelines = w.root / "jobs" / "pipelines.yaml"
        yaml_text = pipelines.read_text(encoding="utf-8")
        old = "- verify: [fact_sales_unique_items, dim_customer_one_current_version]"
        assert old in yaml_text
        pipelines.write_text(yaml_text.replace(old, f"- verify: [{', '.join(VERIFY)}]"), encoding="utf-8")
        yield w.setup()
    finally:
        w.drop()


def _ok(result: Any, what: str) -> None:
    assert result.code == 0, f"{what} exited {result.code}\nstdout:\n{result.out}\nstderr:\n{result.err}"


def _tree(spans: list[dict[str, Any]]) -> str:
    by_id = {s["span_id"]: s for s in spans}
    children: dict[str | None, list[dict[str, Any]]] = {}
    for s in spans:
        parent = s["parent_span_id"] if s["parent_span_id"] in by_id else None
        children.setdefault(parent, []).append(s)
    lines: list[str] = []

    def walk(parent: str | None, depth: int) -> None:
        for s in children.get(parent, []):
            lines.append("  " * depth + f"{s['name']} [{s['kind']}]")
            walk(s["span_id"], depth + 1)

    walk(None, 0)
    return "\n".join(lines)


def _seed(jw: JobsWarehouse) -> None:
    """Dimensions, staging and facts loaded up to 2026-03-09 (backfills), then 20 new orders billed on 2026-03-10."""
    erp = Erp(jw, random.Random(11))
    customers = erp.customers(12, T0)
    materials = erp.materials(8, T0)
    march = [date(2026, 3, 1) + timedelta(days=i) for i in range(9)]  # 2026-03-01 .. 2026-03-09
    erp.orders(1, 45, march, customers, materials, datetime(2026, 3, 1, 9, 0, 0), spread=timedelta(minutes=170))
    for job, first in (("dim_customer", "2026-01-01"), ("dim_material", "2026-01-01"),
                       ("stg_billing_item", "2026-03-01"), ("fact_sales", "2026-03-01")):
        _ok(jw.cli("job", "backfill", job, "--from", first, "--to", "2026-03-09"), f"backfill {job}")
    # the customers of 2026-03-10, which the morning's facts wait for (the upstream rule, jobs/upstream.py)
    _ok(jw.cli("job", "backfill", "dim_customer", "--from", "2026-03-10", "--to", "2026-03-10"), "backfill dim_customer")
    erp.orders(1000, 20, [date(2026, 3, 10)], customers, materials, datetime(2026, 3, 10, 10, 0, 0),
               spread=timedelta(minutes=1))


def test_morning_pipeline_exports_one_trace_tied_to_runs_checks_logs_and_metrics(jw: JobsWarehouse,
                                                                               tmp_path: Path) -> None:
    _seed(jw)
    etl, dw, raw = jw.db("etl"), jw.db("dw"), jw.db("raw")
    log_file = tmp_path / "rockway.jsonl"
    with OtlpReceiver() as receiver:
        morning = jw.cli("run", "morning", "--as-of", "2026-03-11T06:00:00Z", "--json",
                         OTEL_EXPORTER_OTLP_ENDPOINT=receiver.http_endpoint, OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
                         ROCKWAY_LOG_FILE=str(log_file))
        _ok(morning, "morning")
        assert receiver.wait_for(lambda rc: any(s["name"] == "rockway run morning" for s in rc.spans) and rc.logs
                                 and any(m["name"] == "rockway.rows.loaded" for m in rc.metrics), timeout=10)
    assert {t for t, _ in receiver.requests} == {"http"}
    result = json.loads(morning.out)
    assert result["status"] == "success", result
    run_id = result["run_id"]
    jobs = result["jobs"]
    assert set(jobs) == {"stg_billing_item", "fact_sales"}
    assert all(j["status"] == "success" for j in jobs.values()), jobs

    # --- one trace: the exported spans and every etl_job_run row of this run -----------------------------
    spans = receiver.spans
    tree = _tree(spans)
    trace_ids = {s["trace_id"] for s in spans}
    assert len(trace_ids) == 1, tree
    (trace_id,) = trace_ids
    runs = {r[0]: r for r in jw.query(
        f"SELECT job_name, run_id, status, rows_read, rows_written, window_start, window_end, trace_id "
        f"FROM {etl}.etl_job_run WHERE pipeline = 'morning'")}
    assert set(runs) == {"stg_billing_item", "fact_sales", "step:refresh", "step:sql", "step:verify"}
    assert {r[7] for r in runs.values()} == {trace_id}
    for name, job in jobs.items():
        assert runs[name][1] == job["run_id"] and runs[name][2] == "success"
        assert runs[name][4] == job["rows_written"] and runs[name][3] == job["rows_read"]

    # --- the span tree --------------------------------------------------------------------------------
    by_id = {s["span_id"]: s for s in spans}
    assert len(by_id) == len(spans)
    for s in spans:  # no orphan: every parent link points at an exported span of the same trace
        assert s["parent_span_id"] is None or s["parent_span_id"] in by_id, f"{s['name']} has no parent\n{tree}"

    def one(name: str) -> dict[str, Any]:
        found = [s for s in spans if s["name"] == name]
        assert len(found) == 1, f"{len(found)} spans named {name!r}\n{tree}"
        return found[0]

    def ancestors(span: dict[str, Any]) -> list[str]:
        out = []
        while span["parent_span_id"] is not None:
            span = by_id[span["parent_span_id"]]
            out.append(span["name"])
        return out

    root = one("rockway run morning")
    assert root["parent_span_id"] is None and root["attributes"]["rockway.run_id"] == run_id
    assert root["status_code"] == "UNSET"
    pipeline = one("pipeline morning")
    assert pipeline["parent_span_id"] == root["span_id"]
    attrs = pipeline["attributes"]
    assert attrs["rockway.run_id"] == run_id and attrs["rockway.pipeline"] == "morning"
    assert attrs["rockway.status"] == "success" and pipeline["status_code"] == "UNSET"
    assert attrs["rockway.jobs"] == 2 and attrs["rockway.jobs.failed"] == 0
    assert attrs["rockway.rows.written"] == sum(j["rows_written"] for j in jobs.values())

    job_spans = {name: one(f"job {name}") for name in jobs}
    for name, span in job_spans.items():
        # jobs run in the step's worker threads: their spans are still children of the pipeline span
        assert span["parent_span_id"] == pipeline["span_id"], tree
        a = span["attributes"]
        assert a["rockway.job"] == name and a["rockway.pipeline"] == "morning" and a["rockway.status"] == "success"
        assert a["rockway.run_id"] == jobs[name]["run_id"] and a["rockway.trigger"] == "pipeline morning"
        assert a["rockway.rows.written"] == runs[name][4] and a["rockway.rows.read"] == runs[name][3]
        assert a["rockway.attempts"] == 1 and span["status_code"] == "UNSET"
        assert a["rockway.batch.label"].startswith(f"rw_{name}_")
    fact, stg = job_spans["fact_sales"]["attributes"], job_spans["stg_billing_item"]["attributes"]
    assert fact["db.collection.name"] == f"{dw}.fact_sales" and stg["db.collection.name"] == f"{raw}.stg_billing_item"
    assert (fact["rockway.window.start"], fact["rockway.window.end"]) == ("2026-03-06", "2026-03-10")
    assert runs["fact_sales"][5:7] == (datetime(2026, 3, 6), datetime(2026, 3, 10))
    assert stg["rockway.window.end"].startswith("2026-03-11 06:00:00")
    assert stg["rockway.batch.id"] == stg["rockway.batch.label"]  # stg_billing_item writes its label as batch_id
    assert "rockway.batch.id" not in fact  # fact_sales has no batch column
    assert stg["rockway.rows.written"] == 60  # 20 new orders x 3 items; nothing else changed in the window
    assert fact["rockway.rows.written"] == len(jw.query(
        f"SELECT 1 FROM {dw}.fact_sales WHERE billing_date > '2026-03-06' AND billing_date <= '2026-03-10'"))
    assert jw.query(f"SELECT COUNT(*) FROM {raw}.stg_billing_item WHERE batch_id = %s", (stg["rockway.batch.id"],)) \
        == [(60,)]

    # each job's load, its checks and its statements hang below its span
    load = one("load fact_sales")
    assert load["parent_span_id"] == job_spans["fact_sales"]["span_id"]
    assert load["attributes"]["rockway.rows.written"] == fact["rockway.rows.written"]
    checks = one("verify fact_sales")
    assert checks["parent_span_id"] == job_spans["fact_sales"]["span_id"]
    engine_spans = [s for s in spans if s["name"] == "verify"]
    assert sorted(ancestors(s)[0] for s in engine_spans) == ["step verify", "verify fact_sales"]
    statements = [s for s in spans if s["kind"] == "CLIENT"]
    assert statements and all(s["attributes"]["db.system.name"] == "mariadb" for s in statements)
    assert all(s["attributes"]["rockway.statement.index"] >= 1 for s in statements)

    def statements_below(span: dict[str, Any]) -> list[dict[str, Any]]:
        return [s for s in statements if span["name"] in ancestors(s)]

    fact_writes = {(s["attributes"].get("db.operation.name"), s["attributes"].get("db.collection.name"))
                   for s in statements_below(load)}
    assert {("DELETE", f"{dw}.fact_sales"), ("INSERT", f"{dw}.fact_sales")} <= fact_writes, fact_writes
    stg_writes = [s for s in statements_below(job_spans["stg_billing_item"])
                  if s["attributes"].get("db.operation.name") == "INSERT"
                  and s["attributes"].get("db.collection.name") == f"{raw}.stg_billing_item"]
    assert stg_writes and all("'" not in s["attributes"]["db.query.text"] for s in stg_writes)  # literals redacted
    run_rows = [s for s in statements_below(job_spans["fact_sales"]) if "etl_job_run" in s["name"]]
    assert len(run_rows) == 2  # the `running` and the `success` row
    for span in (job_spans["stg_billing_item"], load, checks):
        indexes = [s["attributes"]["rockway.statement.index"] for s in statements if s["parent_span_id"] == span["span_id"]]
        assert indexes == sorted(indexes) and len(set(indexes)) == len(indexes)

    # the other steps: one span each below the pipeline, with their outcome and statements
    steps = {s["attributes"]["rockway.step"]: s for s in spans if s["name"].startswith("step ")}
    assert set(steps) == {"refresh", "sql", "verify", "notify"}, tree
    for kind, span in steps.items():
        assert span["name"] == f"step {kind}" and span["parent_span_id"] == pipeline["span_id"]
        assert span["attributes"]["rockway.status"] == "success" and span["attributes"]["rockway.pipeline"] == "morning"
    assert steps["verify"]["attributes"]["rockway.step.name"] == ",".join(VERIFY)
    assert [s["attributes"]["db.operation.name"] for s in statements_below(steps["sql"])
            if s["attributes"].get("db.collection.name") == f"{dw}.dim_sales_group"] == ["INSERT"]
    assert statements_below(steps["verify"])
    refresh = {s["attributes"].get("db.operation.name") for s in statements_below(steps["refresh"])}
    assert refresh == {"SET", "INSERT"}, refresh  # MariaDB has no MVs: session settings and the step's run row

    # --- check results: rows and metrics with the same trace -------------------------------------------
    rows = jw.query(f"SELECT check_name, run_id, status, trace_id FROM {etl}.etl_check_result WHERE run_id IN (%s, %s)",
                    (run_id, jobs["fact_sales"]["run_id"]))
    assert {(r[0], r[1]) for r in rows} == {(c, jobs["fact_sales"]["run_id"]) for c in JOB_CHECKS} | \
        {(c, run_id) for c in VERIFY}
    assert {r[3] for r in rows} == {trace_id} and {r[2] for r in rows} == {"pass"}

    # --- logs: OTLP records and --log-file lines, correlated with the job spans ---------------------------
    events: dict[str, list[dict[str, Any]]] = {}
    for record in receiver.logs:
        assert record["trace_id"] == trace_id, record
        events.setdefault(record["attributes"].get("event"), []).append(record)
    assert len(events["run_start"]) == len(events["run_end"]) == 1
    for event in ("job_start", "job_end"):
        assert event in events, f"no {event} log records exported: {sorted(events, key=str)}"
        got = {r["attributes"]["job"]: r for r in events[event]}
        assert set(got) == set(jobs) and len(events[event]) == 2
        for name, record in got.items():
            assert record["span_id"] == job_spans[name]["span_id"]
            assert record["attributes"]["rockway.run_id"] == jobs[name]["run_id"]
            assert record["attributes"]["pipeline"] == "morning"
    ends = {r["attributes"]["job"]: r["attributes"] for r in events["job_end"]}
    assert {n: a["rows_written"] for n, a in ends.items()} == {n: runs[n][4] for n in jobs}
    step_ends = {r["attributes"]["step"]: r for r in events["step_end"]}
    assert set(step_ends) == {"refresh", "sql", "verify"}
    for kind, record in step_ends.items():
        assert record["span_id"] == steps[kind]["span_id"] and record["attributes"]["rockway.run_id"] == run_id

    lines = [json.loads(line) for line in log_file.read_text(encoding="utf-8").splitlines()]
    assert all(line["trace_id"] == trace_id and len(line["span_id"]) == 16 for line in lines)
    file_ends = {line["job"]: line for line in lines if line.get("event") == "job_end"}
    assert set(file_ends) == set(jobs) and sum(line.get("event") == "job_end" for line in lines) == 2
    for name, line in file_ends.items():
        assert line["span_id"] == job_spans[name]["span_id"] and line["run_id"] == jobs[name]["run_id"]
        assert line["logger"] == "rockway.jobs" and line["rows_written"] == runs[name][4]
    # with a log file the JSON job lines go to the file only: stderr carries no JSON line, and shows only
    # warnings and errors as text, so a clean run prints no job_end there (the file holds each one, once)
    assert not [line for line in morning.err.splitlines() if line.lstrip().startswith("{")], morning.err
    assert "job_end" not in morning.err, morning.err

    # --- metrics ----------------------------------------------------------------------------------------
    points: dict[str, list[dict[str, Any]]] = {}
    for metric in receiver.metrics:
        points.setdefault(metric["name"], []).extend(metric["points"])
    loaded: dict[tuple[str, str], float] = {}
    for p in points["rockway.rows.loaded"]:
        key = (p["attributes"]["rockway.job"], p["attributes"]["db.collection.name"])
        loaded[key] = loaded.get(key, 0) + p["value"]
    assert loaded == {("fact_sales", f"{dw}.fact_sales"): runs["fact_sales"][4],
                      ("stg_billing_item", f"{raw}.stg_billing_item"): runs["stg_billing_item"][4]}
    durations = {(p["attributes"]["rockway.job"], p["attributes"]["rockway.status"]): p["count"]
                 for p in points["rockway.load.duration"]}
    assert durations == {("fact_sales", "success"): 1, ("stg_billing_item", "success"): 1}
    checked: dict[tuple[str, str, str], int] = {}
    for p in points["rockway.check.results"]:
        a = p["attributes"]
        key = (a["rockway.check.name"], a["rockway.check.severity"], a["rockway.check.status"])
        checked[key] = checked.get(key, 0) + p["value"]
    assert checked == {("fact_sales_unique_items", "CRITICAL", "pass"): 2,
                       ("fact_sales_customer_known", "CRITICAL", "pass"): 1,
                       ("dim_customer_one_current_version", "CRITICAL", "pass"): 1,
                       ("fact_sales_loaded_recently", "CRITICAL", "pass"): 1}
    (fresh,) = points["rockway.freshness.lag"]
    assert fresh["attributes"] == {"db.collection.name": f"{dw}.fact_sales"} and -2 <= fresh["value"] < 600
    ops = {p["attributes"].get("db.operation.name") for p in points["db.client.operation.duration"]}
    assert {"INSERT", "DELETE", "SELECT"} <= ops
    assert not re.search(r"Customer C0000\d", repr((spans, receiver.logs, receiver.metrics)))  # no row data leaked
