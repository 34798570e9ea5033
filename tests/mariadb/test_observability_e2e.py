"""End to end through the real CLI (`rockway migrate up` in a subprocess, MariaDB, a real OTLP receiver).

- the span tree, attributes, logs and metrics a run exports over OTLP/HTTP and OTLP/gRPC, tied to history rows;
- no secret (a password in a migration, in the DSN, echoed by the server) reaches any output or export;
- a refused or hung collector never fails a run and delays exit by a bounded time.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Callable, Iterator

import pymysql
import pytest

import rockway
from tests.support.otlp_receiver import OtlpReceiver, SilentServer, refused_port
from tests.support.cli import Project, Result, run_cli
from rockway.config import parse_dsn

V1 = "CREATE TABLE orders (id INT PRIMARY KEY, note VARCHAR(20) DEFAULT 'none');\n"
V2 = ("CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(40));\n"
      "INSERT INTO customers VALUES (1, 'Alice Example'), (2, 'Bob Example');\n"
      "ALTER TABLE orders ADD COLUMN customer_id INT;\n")
R = "CREATE OR REPLACE VIEW orders_view AS SELECT id, note FROM orders;\n"
STATEMENTS = {  # span name -> (migration, db.operation.name, redacted db.query.text)
    "CREATE TABLE orders": ("V1 orders", "CREATE TABLE",
                            "CREATE TABLE orders (id INT PRIMARY KEY, note VARCHAR(?) DEFAULT ?)"),
    "CREATE TABLE customers": ("V2 customers", "CREATE TABLE",
                               "CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(?))"),
    "INSERT customers": ("V2 customers", "INSERT", "INSERT INTO customers VALUES (?, ?), (?, ?)"),
    "ALTER TABLE orders": ("V2 customers", "ALTER TABLE", "ALTER TABLE orders ADD COLUMN customer_id INT"),
    "CREATE VIEW orders_view": ("R orders view", "CREATE VIEW",
                                "CREATE OR REPLACE VIEW orders_view AS SELECT id, note FROM orders"),
}


def _connect(dsn: str, database: str | None = None) -> pymysql.connections.Connection:
    p = parse_dsn(dsn)
    return pymysql.connect(host=p.host, port=p.port, user=p.user, password=p.password or "", database=database,
                           autocommit=True)


@pytest.fixture
def fresh_db(mariadb_server: str) -> Iterator[Callable[[], str]]:
    """fresh_db() -> DSN of a new empty database (all dropped afterwards)."""
    made: list[str] = []
    admin = _connect(mariadb_server)

    def make() -> str:
        name = f"rw_{uuid.uuid4().hex[:10]}"
        with admin.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{name}`")
        made.append(name)
        p = parse_dsn(mariadb_server)
        return f"mysql://{p.user}{':' + p.password if p.password else ''}@{p.host}:{p.port}/{name}"

    yield make
    with admin.cursor() as cur:
        for name in made:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
    admin.close()


def _project(root: Path, dsn: str) -> Project:
    project = Project(root, dsn)
    project.migration("V1__orders.sql", V1)
    project.migration("V2__customers.sql", V2)
    project.repeatable("R__orders_view.sql", R)
    return project


def _rows(dsn: str, sql: str) -> list[tuple]:
    conn = _connect(dsn, parse_dsn(dsn).database)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return list(cur.fetchall())
    finally:
        conn.close()


def _server_system(dsn: str) -> str:
    (version,) = _rows(dsn, "SELECT VERSION()")[0]
    return "mariadb" if "mariadb" in version.lower() else "mysql"


# --- the span tree of one run ------------------------------------------------------------------
@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_migrate_up_exports_one_trace_tied_to_history_rows(tmp_path, fresh_db, protocol):
    dsn = fresh_db()
    project = _project(tmp_path / "project", dsn)
    log_file = tmp_path / "rockway.jsonl"
    with OtlpReceiver() as receiver:
        env = {
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.grpc_endpoint if protocol == "grpc" else receiver.http_endpoint,
            "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
            "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment.name=ci,deployment.environment=ci",
        }
        if protocol != "grpc":  # HTTP run: JSON lines into a file; gRPC run: JSON lines on stderr
            env["ROCKWAY_LOG_FILE"] = str(log_file)
        r = run_cli(project, "migrate", "up", "--json", "--log-format", "json", env=env)
        assert r.code == 0, r.err
        assert receiver.wait_for(lambda rc: len(rc.spans) >= 9 and len(rc.logs) >= 8 and rc.metrics, timeout=10)
    transport = "grpc" if protocol == "grpc" else "http"
    assert {t for t, _ in receiver.requests} == {transport}

    result = json.loads(r.out)  # stdout holds only the --json result, never log lines
    run_id, trace_id = result["run_id"], result["trace_id"]

    # span tree: rockway migrate up -> migration <label> -> statement spans, all in one trace
    spans = receiver.spans
    assert {s["trace_id"] for s in spans} == {trace_id}
    root = receiver.span_named("rockway migrate up")
    assert root["parent_span_id"] is None and root["kind"] == "INTERNAL"
    assert root["attributes"]["rockway.run_id"] == run_id and root["attributes"]["rockway.command"] == "migrate up"
    migrations = {label: receiver.span_named(f"migration {label}") for label in ("V1 orders", "V2 customers", "R orders view")}
    for span in migrations.values():
        assert span["parent_span_id"] == root["span_id"] and span["status_code"] == "UNSET"
    system = _server_system(dsn)
    database = parse_dsn(dsn).database
    for name, (label, operation, text) in STATEMENTS.items():
        span = receiver.span_named(name)
        assert span["parent_span_id"] == migrations[label]["span_id"], name
        assert span["kind"] == "CLIENT"
        attrs = span["attributes"]
        assert attrs["db.system.name"] == system and attrs["db.namespace"] == database
        assert attrs["db.operation.name"] == operation and attrs["db.query.text"] == text
        assert attrs["server.address"] == "127.0.0.1" and attrs["server.port"] == parse_dsn(dsn).port
    assert len(spans) == 1 + 3 + len(STATEMENTS)
    assert [s["attributes"]["rockway.statement.index"] for s in spans if s["parent_span_id"] ==
            migrations["V2 customers"]["span_id"]] == [1, 2, 3]
    resource = root["resource"]
    assert resource["service.name"] == "rockway" and resource["service.version"] == rockway.__version__
    assert resource["deployment.environment"] == resource["deployment.environment.name"] == "ci"

    # history rows carry the exported run and trace ids
    history = _rows(dsn, "SELECT script, run_id, trace_id, success FROM rockway_schema_history ORDER BY installed_rank")
    assert [(row[1], row[2], row[3]) for row in history] == [(run_id, trace_id, 1)] * 3

    # OTLP log records: correlated with the trace, the migration lines with their migration span
    events = {}
    for record in receiver.logs:
        assert record["trace_id"] == trace_id and record["attributes"]["rockway.run_id"] == run_id
        events.setdefault(record["attributes"].get("event"), []).append(record)
    assert len(events["run_start"]) == len(events["run_end"]) == 1
    assert events["run_end"][0]["span_id"] == root["span_id"]
    assert events["run_end"][0]["attributes"]["rockway.status"] == "ok"
    assert sorted(rec["attributes"]["rockway.migration"] for rec in events["migration_end"]) == sorted(migrations)
    for record in events["migration_end"]:
        assert record["span_id"] == migrations[record["attributes"]["rockway.migration"]]["span_id"]
        assert record["severity_text"] == "INFO" and record["attributes"]["duration_s"] >= 0

    # JSON log lines (file for HTTP, stderr for gRPC) say the same
    text = log_file.read_text() if protocol != "grpc" else r.err
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    assert [line["event"] for line in lines if line.get("event")].count("migration_end") == 3
    for line in lines:
        assert line["run_id"] == run_id and line["trace_id"] == trace_id and len(line["span_id"]) == 16
        assert line["level"] in ("INFO", "WARNING") and line["logger"].startswith("rockway")
    if protocol != "grpc":
        assert not any(line.startswith("{") for line in r.err.splitlines())  # with a log file, stderr stays quiet

    # metrics: one duration per statement, one per migration, exported as deltas at exit
    metrics = {m["name"]: m for m in receiver.metrics}
    statements = metrics["db.client.operation.duration"]
    assert statements["unit"] == "s" and statements["kind"] == "histogram" and statements["temporality"] == "DELTA"
    assert sum(p["count"] for p in statements["points"]) == len(STATEMENTS)
    assert all(p["attributes"]["db.system.name"] == system and p["attributes"]["rockway.status"] == "ok"
               for p in statements["points"])
    by_operation = {}
    for point in statements["points"]:
        op = point["attributes"]["db.operation.name"]
        by_operation[op] = by_operation.get(op, 0) + point["count"]
    assert by_operation == {"CREATE TABLE": 2, "INSERT": 1, "ALTER TABLE": 1, "CREATE VIEW": 1}
    (mig_point,) = metrics["rockway.migration.duration"]["points"]
    assert mig_point["count"] == 3 and mig_point["sum"] > 0 and mig_point["attributes"] == {"rockway.status": "ok"}

    assert "Alice Example" not in repr((receiver.spans, receiver.logs, receiver.metrics)) + r.err + r.out


# --- secrets -------------------------------------------------------------------------------------
PASSWORD = "S3cretPw!"
DSN_PASSWORD = "S3cretDsn"


@pytest.fixture
def dsn_user(mariadb_server: str) -> Iterator[Callable[[str], tuple[str, str]]]:
    """grant(database) -> (DSN with a real password for a new user, name of the user the migration creates)."""
    admin = _connect(mariadb_server)
    suffix = uuid.uuid4().hex[:8]
    user, created = f"rw_dsn_{suffix}", f"rw_etl_{suffix}"
    hosts = ("%", "localhost", "127.0.0.1")

    def grant(database: str) -> tuple[str, str]:
        p = parse_dsn(mariadb_server)
        with admin.cursor() as cur:
            for host in hosts:
                cur.execute(f"CREATE USER '{user}'@'{host}' IDENTIFIED BY '{DSN_PASSWORD}'")
                cur.execute(f"GRANT ALL PRIVILEGES ON `{database}`.* TO '{user}'@'{host}'")
                cur.execute(f"GRANT CREATE USER ON *.* TO '{user}'@'{host}'")
        return f"mysql://{user}:{DSN_PASSWORD}@{p.host}:{p.port}/{database}", created

    yield grant
    with admin.cursor() as cur:
        for host in hosts:
            cur.execute(f"DROP USER IF EXISTS '{user}'@'{host}'")
        cur.execute(f"DROP USER IF EXISTS '{created}'@'%'")
    admin.close()


def test_no_secret_reaches_output_logs_exports_or_history(tmp_path, fresh_db, dsn_user):
    root_dsn = fresh_db()
    database = parse_dsn(root_dsn).database
    dsn, etl_user = dsn_user(database)
    project = Project(tmp_path / "project", dsn)
    project.migration("V1__etl_user.sql", f"CREATE USER '{etl_user}'@'%' IDENTIFIED BY '{PASSWORD}';\n")
    log_file = tmp_path / "rockway.jsonl"
    results: list[Result] = []
    with OtlpReceiver() as receiver:
        env = {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.http_endpoint, "ROCKWAY_LOG_FILE": str(log_file),
               "ROCKWAY_LOG_LEVEL": "INFO"}
        # 1. the user is created for real, with progress output on stderr and text logs at INFO
        results.append(run_cli(project, "migrate", "up", env=env))
        assert results[-1].code == 0, results[-1].err
        # 2. a statement the server rejects, echoing the secret back in its message (a literal in a secret
        #    position: ordinary literals of a failed statement stay readable in messages for people)
        project.migration("V2__broken.sql", f"SELEC PASSWORD('{PASSWORD}');\n")
        results.append(run_cli(project, "migrate", "up", "--log-format", "json", env=env))
        assert results[-1].code == 1, results[-1].err
        # 3. the DSN carries a password the server refuses
        bad = f"mysql://root:{DSN_PASSWORD}@{parse_dsn(dsn).host}:{parse_dsn(dsn).port}/{database}"
        results.append(run_cli(project, "migrate", "info", "--json", env={**env, "ROCKWAY_DSN": bad}))
        assert results[-1].code == 3, results[-1].err
        assert receiver.wait_for(lambda rc: any(s["name"] == "CREATE USER" for s in rc.spans)
                                 and any(s["name"] == "rockway migrate up" and s["status_code"] == "ERROR" for s in rc.spans)
                                 and rc.logs and rc.metrics, timeout=10)

    # the user exists: the secret really went to the server
    assert _rows(root_dsn, f"SELECT COUNT(*) FROM mysql.user WHERE User = '{etl_user}'") == [(1,)]
    # what telemetry says instead
    create = next(s for s in receiver.spans if s["name"] == "CREATE USER")
    assert create["attributes"]["db.query.text"] == "CREATE USER ?@? IDENTIFIED BY ?"
    failed = next(s for s in receiver.spans if s["attributes"].get("rockway.statement.index") and s["status_code"] == "ERROR")
    assert failed["attributes"]["error.type"] == "1064" and failed["events"][0]["attributes"]["exception.message"]
    history = _rows(root_dsn, "SELECT * FROM rockway_schema_history")
    assert len(history) == 2 and any(row for row in history if "1064" in repr(row))

    places = {
        "stdout/stderr": "\n".join(r.out + r.err for r in results),
        "log file": log_file.read_text(),
        "exported spans": repr(receiver.spans),
        "exported logs": repr(receiver.logs),
        "exported metrics": repr(receiver.metrics),
        "history rows": repr(history),
    }
    # progress shows the statement as written, its password masked (redaction.py's secret rules)
    assert f"CREATE USER '{etl_user}'@'%' IDENTIFIED BY '***'" in places["stdout/stderr"]
    assert "run_end" in places["log file"] and places["exported logs"].count("run_start") == 2
    for where, text in places.items():
        for secret in (PASSWORD, DSN_PASSWORD, "S3cret"):
            assert secret not in text, f"{secret!r} found in {where}"


# --- collector down: the run succeeds and exit is bounded ------------------------------------------
def _timed(project: Project, env: dict[str, str]) -> tuple[Result, float]:
    started = time.monotonic()
    r = run_cli(project, "migrate", "up", env=env, timeout=120)
    return r, time.monotonic() - started


@pytest.mark.parametrize("failure, protocol, extra, bound", [
    ("refused", "http/protobuf", {}, 5.0),
    ("silent", "http/protobuf", {}, 5.0),
    ("silent", "http/protobuf", {"OTEL_EXPORTER_OTLP_TIMEOUT": "30", "ROCKWAY_OTEL_SHUTDOWN_TIMEOUT": "2"}, 2.0),
    ("silent", "grpc", {"OTEL_EXPORTER_OTLP_TIMEOUT": "30", "ROCKWAY_OTEL_SHUTDOWN_TIMEOUT": "2"}, 2.0),
])
def test_collector_down_never_fails_the_run_and_delays_exit_by_a_bounded_time(tmp_path, fresh_db, failure, protocol,
                                                                              extra, bound):
    with SilentServer() as silent:
        port = silent.port if failure == "silent" else refused_port()
        baseline_before = _timed(_project(tmp_path / "a", fresh_db()), {})
        dsn = fresh_db()
        env = {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}", "OTEL_EXPORTER_OTLP_PROTOCOL": protocol, **extra}
        r, elapsed = _timed(_project(tmp_path / "b", dsn), env)
        baseline_after = _timed(_project(tmp_path / "c", fresh_db()), {})
        if failure == "silent":
            assert silent.accepted, "the exporter never connected to the hung collector"
    for base, _ in (baseline_before, baseline_after):
        assert base.code == 0, base.err
    assert r.code == 0, r.err
    assert "applied 3 scripts" in r.out
    assert _rows(dsn, "SELECT COUNT(*), SUM(success) FROM rockway_schema_history") == [(3, 3)]
    baseline = max(baseline_before[1], baseline_after[1])  # the slower one: the machine is shared
    overhead = elapsed - baseline
    assert overhead <= bound + 2.0, f"exit delayed {overhead:.2f}s (run {elapsed:.2f}s, baseline {baseline:.2f}s)"
    if "ROCKWAY_OTEL_SHUTDOWN_TIMEOUT" in extra:  # the exporters alone would have waited 30 s
        assert f"telemetry export did not finish within {bound:.1f} s" in r.err
    assert "Traceback" not in r.err
