"""Verification on a real MariaDB: every check type passes and fails on crafted data, one scan per table
(proved with the server's general log), anomalies against crafted history, results rows and reports.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import textwrap
from pathlib import Path
from typing import Any, Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.util._once import Once

from rockway.adapters import connect_dsn
from rockway.config import parse_dsn
from rockway.interfaces import Severity, VerificationOutcome
from rockway.templating import Renderer
from rockway.verify import CheckRunner, VerifySettings
from tests.support.cli import Project, run_cli
from tests.support.paths import REPO_ROOT as REPO

DAY = "2026-11-25"


def create_results_tables(sql: Any, database: str) -> None:
    """etl_check_result and etl_metric_history exactly as the warehouse migrations V12/V13 define them."""
    renderer = Renderer(REPO, {"etl_db": database}, engine="mysql")
    for name in ("V12__etl_check_result.sql", "V13__etl_metric_history.sql"):
        text = renderer.render_text((REPO / "migrations" / name).read_text(encoding="utf-8"), name)
        sql(text.strip().rstrip(";"))


@pytest.fixture
def db(db_dsn: str, sql: Any) -> str:
    name = parse_dsn(db_dsn).database or ""
    create_results_tables(sql, name)
    return name


@pytest.fixture
def adapter(db_dsn: str) -> Iterator[Any]:
    a = connect_dsn(parse_dsn(db_dsn))
    yield a
    a.close()


def make_runner(project: Project, db: str, **settings: Any) -> CheckRunner:
    vs = VerifySettings(reports_dir=str(project.root / "reports"), **settings)
    return CheckRunner(project.root, {"db": db, "etl_db": db}, engine="mysql", settings=vs)


def run_file(project: Project, db: str, adapter: Any, text: str, scope: dict[str, Any] | None = None,
             run_id: str = "run-1", **kw: Any) -> Any:
    project.write("jobs/checks/t.yaml", textwrap.dedent(text))
    runner = make_runner(project, db)
    return runner.run(adapter, runner.entries(["jobs/checks/t.yaml"]), scope or {"day": DAY}, run_id, **kw)


def by_name(run: Any) -> dict[str, Any]:
    return {r.name: r for r in run.results}


ORDERS = """
CREATE TABLE orders (id INT PRIMARY KEY, order_id INT NOT NULL, line INT NOT NULL, customer_id INT NULL,
                     amount DECIMAL(10,2) NULL, loaded_at DATETIME NULL, day DATE NOT NULL)
"""


@pytest.fixture
def orders(sql: Any, db: str) -> Any:
    """Ten clean rows on DAY, one bad row on the day before (outside the scope), customers, a source table."""
    sql(ORDERS)
    sql("CREATE TABLE customers (id INT NOT NULL, current TINYINT NOT NULL)")
    sql("INSERT INTO customers SELECT seq, 1 FROM seq_1_to_10")
    sql("INSERT INTO customers VALUES (999, 0)")  # a closed version: not a current customer
    sql("CREATE TABLE src (id INT, day DATE)")
    sql(f"INSERT INTO src SELECT seq, '{DAY}' FROM seq_1_to_10")
    sql(f"INSERT INTO orders SELECT seq, seq, 1, seq, 10.00, NOW(), '{DAY}' FROM seq_1_to_10")
    sql("INSERT INTO orders VALUES (100, 1, 1, NULL, -50, NOW() - INTERVAL 9 DAY, '2026-11-24')")
    return sql


ALL_TYPES = """\
version: 1
defaults: {severity: CRITICAL}
tables:
  - table: "{{ db }}.orders"
    where: "day = '{{ day }}'"
    scope: daily
    checks:
      - row_count: {min: 1, max: 12}
      - name: rows_match_source
        row_count: {equals_sql: "SELECT COUNT(*) FROM {{ db }}.src WHERE day = '{{ day }}'"}
      - freshness: {column: loaded_at, max_age: 1h}
      - reference: {column: customer_id, to: "{{ db }}.customers.id", where: "current = 1"}
      - null_pct: {column: customer_id, max: 5}
      - duplicates: {columns: [order_id, line]}
      - name: negative_amount
        predicate: {where: "amount < 0"}
      - name: revenue
        metric: {expr: "SUM(amount)", min: 1, max: 1000}
      - name: big_orders
        sql: {query: "SELECT COUNT(*) FROM {{ table }} WHERE {{ scope_where }} AND amount > 500", max: 0}
"""


def test_every_check_type_passes_on_clean_data_and_fails_on_broken_data(project: Project, db: str, orders: Any,
                                                                          adapter: Any) -> None:
    clean = by_name(run_file(project, db, adapter, ALL_TYPES))
    assert {n: r.status for n, r in clean.items()} == {n: "pass" for n in clean}, {n: r.message for n, r in clean.items()}
    assert len(clean) == 9
    # the bad row of the day before is outside the scope, also for the custom SQL's {{ scope_where }}
    assert clean["orders.null_pct.customer_id"].value == 0 and clean["negative_amount"].value == 0
    assert clean["orders.row_count"].value == 10 and clean["revenue"].value == 100
    assert clean["rows_match_source"].bounds == "= 10 ± 0 (source count)"

    orders("UPDATE orders SET loaded_at = NOW() - INTERVAL 2 HOUR")
    orders(f"INSERT INTO orders VALUES (11, 1, 1, 1, 5, NOW() - INTERVAL 3 HOUR, '{DAY}')")  # repeats key (1, 1)
    orders(f"INSERT INTO orders VALUES (12, 12, 1, NULL, 5, NOW() - INTERVAL 3 HOUR, '{DAY}')")  # NULL customer
    orders(f"INSERT INTO orders VALUES (13, 13, 1, 999, 5, NOW() - INTERVAL 3 HOUR, '{DAY}')")  # not a current customer
    orders(f"INSERT INTO orders VALUES (14, 14, 1, 2, -3, NOW() - INTERVAL 3 HOUR, '{DAY}')")  # negative amount
    orders(f"INSERT INTO orders VALUES (15, 15, 1, 3, 900, NOW() - INTERVAL 3 HOUR, '{DAY}')")  # a big order
    broken = by_name(run_file(project, db, adapter, ALL_TYPES, run_id="run-2"))
    assert {n: r.status for n, r in broken.items()} == {n: "fail" for n in broken}
    assert broken["orders.row_count"].value == 15 and broken["orders.row_count"].bounds == "[1, 12]"
    assert broken["rows_match_source"].value == 15
    assert 7150 <= (broken["orders.freshness.loaded_at"].value or 0) <= 7300
    assert broken["orders.reference.customer_id"].value == 1  # 999 is closed; the NULL is not a missing key
    assert broken["orders.null_pct.customer_id"].value == pytest.approx(100 / 15)
    assert broken["orders.duplicates.order_id_line"].value == 1
    assert broken["negative_amount"].value == 1
    assert broken["revenue"].value == 1012
    assert broken["big_orders"].value == 1
    assert all(r.severity is Severity.CRITICAL for r in broken.values())


def test_severities_and_second_thresholds_on_real_rows(project: Project, db: str, sql: Any, adapter: Any) -> None:
    sql("CREATE TABLE t (id INT PRIMARY KEY, c INT NULL)")
    sql("INSERT INTO t SELECT seq, IF(seq <= 3, NULL, seq) FROM seq_1_to_100")  # 3% NULL
    text = """\
    version: 1
    tables:
      - table: "{{ db }}.t"
        checks:
          - null_pct: {column: c, max: 20}
            severity: CRITICAL
            escalate: {WARNING: {max: 5}}
          - name: info_only
            predicate: {where: "c IS NULL", max: 0}
            severity: INFO
    """
    runs = {}
    for nulls in (3, 10, 25):
        sql(f"UPDATE t SET c = IF(id <= {nulls}, NULL, id)")
        runs[nulls] = by_name(run_file(project, db, adapter, text, run_id=f"r{nulls}"))
    nul = "t.null_pct.c"
    assert (runs[3][nul].status, runs[3][nul].severity) == ("pass", Severity.CRITICAL)
    assert (runs[10][nul].status, runs[10][nul].severity) == ("fail", Severity.WARNING)
    assert (runs[25][nul].status, runs[25][nul].severity) == ("fail", Severity.CRITICAL)
    assert runs[25][nul].bounds == "CRITICAL: <= 20%; WARNING: <= 5%"
    assert runs[3]["info_only"].severity is Severity.INFO and runs[3]["info_only"].status == "fail"
    outcome = VerificationOutcome(tuple(r.summary() for r in runs[10].values()))
    assert outcome.worst_failed is Severity.WARNING and not outcome.blocks
    outcome = VerificationOutcome(tuple(r.summary() for r in runs[25].values()))
    assert outcome.worst_failed is Severity.CRITICAL and outcome.blocks


EIGHT_CHECKS = """\
version: 1
tables:
  - table: "{{ db }}.orders"
    where: "day = '{{ day }}'"
    checks:
      - row_count: {min: 1}
      - freshness: {column: loaded_at, max_age: 1h}
      - null_pct: {column: customer_id, max: 5}
      - null_pct: {column: amount, max: 5}
      - duplicates: {columns: [order_id, line]}
      - name: negative_amount
        predicate: {where: "amount < 0"}
      - name: revenue
        metric: {expr: "SUM(amount)", min: 0}
      - reference: {column: customer_id, to: "{{ db }}.customers.id", where: "current = 1"}
"""


@pytest.fixture
def general_log(sql: Any) -> Iterator[Any]:
    """The server's general query log, written to mysql.general_log while the test runs (settings restored)."""
    before = sql("SELECT @@GLOBAL.general_log, @@GLOBAL.log_output")[0]
    try:
        sql("SET GLOBAL log_output = 'TABLE'")
        sql("SET GLOBAL general_log = 1")
    except Exception as exc:  # noqa: BLE001 - no privilege: say so rather than pretend
        pytest.skip(f"cannot enable the general log: {exc}")

    def statements(thread_id: int) -> list[str]:
        rows = sql("SELECT argument FROM mysql.general_log WHERE thread_id = %s AND command_type = 'Query'"
                   " ORDER BY event_time", (thread_id,))
        return [r[0].decode() if isinstance(r[0], bytes) else str(r[0]) for r in rows]

    try:
        yield statements
    finally:
        sql("SET GLOBAL general_log = %s", (before[0],))
        sql("SET GLOBAL log_output = %s", (before[1],))


def test_eight_aggregate_checks_read_the_table_once(project: Project, db: str, orders: Any, db_dsn: str,
                                                     general_log: Any) -> None:
    fresh = connect_dsn(parse_dsn(db_dsn))  # a connection whose every statement is ours
    try:
        thread = fresh.connection_id
        run = run_file(project, db, fresh, EIGHT_CHECKS, record=False, reports=False)
    finally:
        fresh.close()
    assert [r.status for r in run.results] == ["pass"] * 8
    logged = general_log(thread)
    reads = [s for s in logged if f"`{db}`.`orders`" in s]
    assert len(reads) == 1, logged
    assert reads[0] == run.plan.queries[0].sql
    assert len(run.plan.queries) == 1 and run.executed == ("q1",)
    assert reads[0].count("COUNT(*)") == 1  # row_count and both null_pct checks share it


def test_one_query_per_table_and_scope_with_recording(project: Project, db: str, orders: Any, db_dsn: str,
                                                      general_log: Any) -> None:
    text = EIGHT_CHECKS + """\
  - table: "{{ db }}.customers"
    checks:
      - duplicates: {column: id}
      - row_count: {min: 1}
"""
    fresh = connect_dsn(parse_dsn(db_dsn))
    try:
        thread = fresh.connection_id
        run = run_file(project, db, fresh, text)
    finally:
        fresh.close()
    logged = general_log(thread)
    assert sum(f"`{db}`.`orders`" in s for s in logged) == 1
    assert sum(s.startswith("SELECT") and f"FROM `{db}`.`customers` AS rw_t" in s for s in logged) == 1
    inserts = [s for s in logged if s.startswith("INSERT")]
    assert len(inserts) == 2 and "etl_check_result" in inserts[0] and "etl_metric_history" in inserts[1]
    assert run.recorded


def _history(sql: Any, db: str, name: str, points: list[tuple[int, float, bool]], scope: str = "all",
             table: str | None = None) -> None:
    """Metric history of check `name`: (days ago, value, flagged) — flagged points have a failed check row."""
    table = table or f"{db}.t"
    for days, value, flagged in points:
        run = f"h{days}"
        sql("INSERT INTO etl_metric_history VALUES (UTC_TIMESTAMP() - INTERVAL %s DAY, %s, %s, %s, %s, %s, NULL)",
            (days, name, table, scope, value, run))
        sql("INSERT INTO etl_check_result VALUES (UTC_TIMESTAMP() - INTERVAL %s DAY, %s, %s, %s, %s, 'WARNING', %s,"
            " %s, '', '', NULL)", (days, name, run, table, "all", "fail" if flagged else "pass", value))


def _rows(sql: Any, n: int) -> None:
    sql("DROP TABLE IF EXISTS t")
    sql("CREATE TABLE t (id INT PRIMARY KEY)")
    if n:
        sql(f"INSERT INTO t SELECT seq FROM seq_1_to_{n}")


ANOMALY = """\
version: 1
tables:
  - table: "{{ db }}.t"
    checks:
      - name: volume
        row_count: {anomaly: {method: robust_z, threshold: 3.5, direction: DIR, window: 14, min_history: 7}}
"""


def test_anomaly_excludes_flagged_points_from_the_baseline(project: Project, db: str, sql: Any, adapter: Any) -> None:
    normal = [(d, v, False) for d, v in zip(range(9, 16), (100, 102, 98, 101, 99, 103, 97))]
    flagged = [(d, 30, True) for d in range(1, 9)]  # eight newer days at 30, each flagged when measured
    _history(sql, db, "volume", normal + flagged)
    _rows(sql, 30)
    first = by_name(run_file(project, db, adapter, ANOMALY.replace("DIR", "both"), run_id="today"))["volume"]
    assert first.status == "fail" and first.value == 30, first.message
    assert "median 100" in first.message and "7 points" in first.message
    # the failed point just written is flagged too: a re-run does not accept 30 as the new normal
    again = by_name(run_file(project, db, adapter, ANOMALY.replace("DIR", "both"), run_id="rerun"))["volume"]
    assert again.status == "fail"
    # without the flags the eight 30s dominate the window and 30 looks normal: the exclusion is what catches it
    sql("DELETE FROM etl_check_result")
    unflagged = by_name(run_file(project, db, adapter, ANOMALY.replace("DIR", "both"), run_id="noflags"))["volume"]
    assert unflagged.status == "pass", unflagged.message


def test_anomaly_waits_for_min_history(project: Project, db: str, sql: Any, adapter: Any) -> None:
    _history(sql, db, "volume", [(d, 100, False) for d in range(1, 7)] + [(7, 100, True)])
    _rows(sql, 500)
    result = by_name(run_file(project, db, adapter, ANOMALY.replace("DIR", "both"), run_id="a"))["volume"]
    assert result.status == "skipped" and "6 of 7" in result.message
    assert result.summary().status == "pass" and result.summary().message.startswith("skipped:")
    _history(sql, db, "volume", [(8, 101, False)])
    result = by_name(run_file(project, db, adapter, ANOMALY.replace("DIR", "both"), run_id="b", record=False))["volume"]
    # seven unflagged points now, plus run a's 500 (recorded while not judged, so not flagged)
    assert result.status == "fail" and "median 100" in result.message and "8 points" in result.message


@pytest.mark.parametrize("direction, value, status", [
    ("drop", 40, "fail"), ("drop", 250, "pass"), ("spike", 40, "pass"), ("spike", 250, "fail"), ("both", 250, "fail"),
    ("both", 101, "pass"),
])
def test_anomaly_direction(project: Project, db: str, sql: Any, adapter: Any, direction: str, value: int,
                           status: str) -> None:
    _history(sql, db, "volume", [(d, v, False) for d, v in zip(range(1, 11), (100, 102, 98, 101, 99, 103, 97, 100, 96, 104))])
    _rows(sql, value)
    result = by_name(run_file(project, db, adapter, ANOMALY.replace("DIR", direction)))["volume"]
    assert result.status == status, result.message


def test_anomaly_history_is_per_scope_label_and_pct_change_on_a_sum(project: Project, db: str, sql: Any,
                                                                     adapter: Any) -> None:
    sql("CREATE TABLE s (day DATE, amount DECIMAL(10,2))")
    sql("INSERT INTO s SELECT '2026-11-25', 10 FROM seq_1_to_40")  # SUM = 400
    table = f"{db}.s"
    _history(sql, db, "revenue", [(d, 1000, False) for d in range(1, 8)], scope="daily", table=table)
    _history(sql, db, "revenue", [(d, 400, False) for d in range(1, 8)], scope="other", table=table)
    text = """\
    version: 1
    tables:
      - table: "{{ db }}.s"
        where: "day = '{{ day }}'"
        scope: daily
        checks:
          - name: revenue
            metric: {expr: "SUM(amount)", anomaly: {method: pct_change, max_drop_pct: 50, max_spike_pct: 100}}
    """
    result = by_name(run_file(project, db, adapter, text))["revenue"]
    assert result.status == "fail" and result.value == 400 and "change -60%" in result.message
    assert result.bounds == "[500, 2000] pct_change"


def test_results_rows_carry_run_and_trace_ids_and_reports_are_an_audit_trail(project: Project, db: str, orders: Any,
                                                                               sql: Any, adapter: Any) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace._TRACER_PROVIDER_SET_ONCE = Once()
    trace._TRACER_PROVIDER = None
    trace.set_tracer_provider(provider)
    try:
        with trace.get_tracer("test").start_as_current_span("pipeline morning") as parent:
            expected_trace = format(parent.get_span_context().trace_id, "032x")
            run = run_file(project, db, adapter, ALL_TYPES, run_id="audit-run", pipeline="morning")
    finally:
        trace._TRACER_PROVIDER_SET_ONCE = Once()
        trace._TRACER_PROVIDER = None
    assert run.trace_id == expected_trace
    names = [s.name for s in exporter.get_finished_spans()]
    assert "verify" in names and "verify aggregate " + f"{db}.orders" in names and "verify record" in names

    rows = sql("SELECT check_name, run_id, trace_id, table_name, check_scope, severity, status, observed_value, expected"
               " FROM etl_check_result WHERE run_id = 'audit-run' ORDER BY check_name")
    assert len(rows) == 9
    assert {(r[1], r[2], r[3], r[4], r[5], r[6]) for r in rows} == {
        ("audit-run", expected_trace, f"{db}.orders", f"day = '{DAY}'", "CRITICAL", "pass")}
    assert dict((r[0], r[7]) for r in rows)["revenue"] == 100.0
    metrics = sql("SELECT metric_name, metric_scope, metric_value, trace_id FROM etl_metric_history"
                  " WHERE run_id = 'audit-run'")
    assert len(metrics) == 9 and {m[1] for m in metrics} == {"daily"} and {m[3] for m in metrics} == {expected_trace}

    json_path, csv_path = run.reports
    assert json_path.parent == project.root / "reports" and json_path.name.endswith("_audit-run.json")
    doc = json.loads(json_path.read_text())
    assert (doc["run_id"], doc["trace_id"], doc["pipeline"]) == ("audit-run", expected_trace, "morning")
    assert doc["checked_at"].endswith("Z") and doc["summary"]["pass"] == 9 and doc["recorded"] is True
    for statement in doc["statements"]:
        assert statement["sql_hash"] == hashlib.sha256(statement["sql"].encode()).hexdigest()
    hashes = {s["sql_hash"] for s in doc["statements"]}
    assert all(set(r["sql_hash"]) <= hashes and r["sql_hash"] for r in doc["results"])
    with csv_path.open(newline="") as handle:
        table = list(csv.DictReader(handle))
    assert len(table) == 9 and {r["run_id"] for r in table} == {"audit-run"}
    assert {r["trace_id"] for r in table} == {expected_trace} and {r["checked_at"] for r in table} == {doc["checked_at"]}


def test_failed_statement_becomes_error_results_not_an_exception(project: Project, db: str, orders: Any,
                                                                  adapter: Any) -> None:
    text = ALL_TYPES.replace("SUM(amount)", "SUM(no_such_column)")
    run = run_file(project, db, adapter, text)
    statuses = {r.name: r.status for r in run.results}
    assert statuses["revenue"] == "error" and "no_such_column" in by_name(run)["revenue"].message
    # the folded statement failed, so every in-scan check of it is an error; the separate statements still ran
    assert statuses["big_orders"] == "pass" and statuses["orders.row_count"] == "error"
    assert run.outcome.blocks


def test_verifier_contract_runs_checks_by_file_and_name(project: Project, db: str, orders: Any, adapter: Any) -> None:
    project.write("jobs/checks/t.yaml", ALL_TYPES)
    runner = make_runner(project, db)
    outcome = runner.verify(adapter, checks=["jobs/checks/t.yaml#revenue", "negative_amount"], scope={"day": DAY},
                            run_id="contract", pipeline="morning")
    assert [(r.name, r.status) for r in outcome.results] == [("revenue", "pass"), ("negative_amount", "pass")]
    assert not outcome.blocks


# --- the CLI -------------------------------------------------------------------------------------------------
def _cli(project: Project, db: str, *args: str, env: dict[str, str] | None = None) -> Any:
    return run_cli(project, "verify", *args, env={"ROCKWAY_VAR_DB": db, "ROCKWAY_VAR_ETL_DB": db, **(env or {})})


def test_cli_exit_codes_follow_the_worst_failed_severity(project: Project, db: str, orders: Any) -> None:
    project.write("jobs/checks/t.yaml", ALL_TYPES.replace("{severity: CRITICAL}", "{severity: WARNING}"))
    ok = _cli(project, db, "--scope", f"day={DAY}")
    assert ok.code == 0 and "9 checks: 9 pass" in ok.out, ok.err + ok.out
    orders(f"INSERT INTO orders VALUES (14, 14, 1, 2, -3, NOW(), '{DAY}')")
    warned = _cli(project, db, "--scope", f"day={DAY}")
    assert warned.code == 0 and "FAIL" in warned.out and "worst failed: WARNING" in warned.out
    strict = _cli(project, db, "--scope", f"day={DAY}", "--fail-on", "warning", "--json", "--no-record")
    assert strict.code == 1
    doc = json.loads(strict.out)
    assert doc["exit_code"] == 1 and doc["summary"]["fail"] == 2 and doc["recorded"] is False
    failed = [r for r in doc["results"] if r["status"] == "fail"]
    assert [(r["check_name"], r["severity"], r["observed_value"]) for r in failed] == [
        ("rows_match_source", "WARNING", 11.0), ("negative_amount", "WARNING", 1.0)]

    project.write("jobs/checks/t.yaml", ALL_TYPES)  # the same failure at CRITICAL
    critical = _cli(project, db, "--scope", f"day={DAY}")
    assert critical.code == 1 and "worst failed: CRITICAL" in critical.out
    only_table = _cli(project, db, "customers", "--scope", f"day={DAY}")
    assert only_table.code == 2 and "no checks selected" in only_table.err


def test_cli_errors_and_input_errors(project: Project, db: str, orders: Any) -> None:
    project.write("jobs/checks/t.yaml", ALL_TYPES.replace("SUM(amount)", "SUM(nope)"))
    broken = _cli(project, db, "--scope", f"day={DAY}", "--json")
    assert broken.code == 1
    assert {r["check_name"]: r["status"] for r in json.loads(broken.out)["results"]}["revenue"] == "error"
    project.write("jobs/checks/t.yaml", ALL_TYPES.replace("severity: CRITICAL", "severity: URGENT"))
    bad = _cli(project, db, "--scope", f"day={DAY}")
    assert bad.code == 2 and "jobs/checks/t.yaml:2: unknown severity 'URGENT'" in bad.err
    project.write("jobs/checks/t.yaml", ALL_TYPES)
    missing = _cli(project, db)
    assert missing.code == 2 and "jobs/checks/t.yaml:5: table" in missing.err and "where: undefined variable 'day'" in missing.err


def test_cli_explain_prints_the_compiled_sql_without_a_database(project: Project, db: str) -> None:
    project.write("jobs/checks/t.yaml", ALL_TYPES)
    out = _cli(project, db, "--explain", "--scope", f"day={DAY}", env={"ROCKWAY_DSN": "mysql://nobody@127.0.0.1:1/x"})
    assert out.code == 0, out.err
    assert out.out.startswith("-- 9 checks, 3 statements (1 aggregate scans)")
    assert f"FROM `{db}`.`orders` AS rw_t" in out.out and f"WHERE day = '{DAY}';" in out.out
    as_json = json.loads(_cli(project, db, "--explain", "--json", "--scope", f"day={DAY}",
                              env={"ROCKWAY_DSN": "mysql://nobody@127.0.0.1:1/x"}).out)
    assert [q["kind"] for q in as_json] == ["aggregate", "scalar", "scalar"]
    assert as_json[0]["sql_hash"] == hashlib.sha256(as_json[0]["sql"].encode()).hexdigest()


def test_cli_records_with_the_trace_id_it_prints(project: Project, db: str, orders: Any, sql: Any) -> None:
    project.write("jobs/checks/t.yaml", ALL_TYPES)
    result = _cli(project, db, "--scope", f"day={DAY}", "--json", "--run-id", "cli-run", "--reports-dir", "out")
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    rows = sql("SELECT DISTINCT run_id, trace_id FROM etl_check_result")
    assert rows == [("cli-run", doc["trace_id"])] and doc["trace_id"] and len(doc["trace_id"]) == 32
    assert sorted(Path(p).suffix for p in doc["reports"]) == [".csv", ".json"]
    assert all((project.root / p).is_file() or Path(p).is_file() for p in doc["reports"])
    assert os.path.dirname(doc["reports"][0]).endswith("out")


def test_cli_notify_routes_a_critical_failure_to_the_configured_webhook(project: Project, db: str, orders: Any) -> None:
    from tests.support.webhook_receiver import Receiver

    project.write("jobs/checks/t.yaml", ALL_TYPES)
    # rockway.config does not accept a [verify] section in rockway.toml yet: the same tables go in verify.toml
    project.write("verify.toml", '[verify.notify]\ntries = 2\nbackoff = 0\n[verify.notify.routes]\nCRITICAL = ["ops"]\n'
                                 '[verify.notify.channels.ops]\ntype = "webhook"\nurl_env = "OPS_HOOK_URL"\n')
    orders(f"INSERT INTO orders VALUES (14, 14, 1, 2, -3, NOW(), '{DAY}')")
    receiver = Receiver([500])
    try:
        result = _cli(project, db, "--scope", f"day={DAY}", "--notify", "--json", "--run-id", "n-1",
                      env={"OPS_HOOK_URL": receiver.url("/hook/s3cret"),
                           "ROCKWAY_TRACE_URL_TEMPLATE": "https://signoz.example/trace/{trace_id}"})
    finally:
        receiver.close()
    assert result.code == 1, result.err
    doc = json.loads(result.out)
    assert doc["notifications"] == [{"channel": "ops", "type": "webhook", "status": "sent", "attempts": 2, "events": 1,
                                     "error": ""}]
    (first, second) = receiver.requests
    assert first == second and first["path"] == "/hook/s3cret"
    payload = first["json"]
    assert (payload["pipeline"], payload["run_id"], payload["worst_severity"]) == ("verify", "n-1", "CRITICAL")
    assert payload["trace_url"] == f"https://signoz.example/trace/{doc['trace_id']}"
    assert [c["name"] for c in payload["failed_checks"]] == ["negative_amount", "rows_match_source"]


def test_two_verifications_of_one_run_keep_both_reports(project: Project, db: str, orders: Any, adapter: Any) -> None:
    first = run_file(project, db, adapter, ALL_TYPES, run_id="same")
    second = run_file(project, db, adapter, ALL_TYPES, run_id="same")
    paths = set(first.reports) | set(second.reports)
    assert len(paths) == 4 and all(p.is_file() for p in paths)
