"""Drift on the real MariaDB: `migrate up` records the schema, `rockway drift` catches what changed by hand, and
the evening pipeline's drift step reports it to the notifier like a failed check."""

from __future__ import annotations

import hashlib
import json
import random
from datetime import datetime

import pytest

from tests.support.jobs import Erp, JobsWarehouse
from tests.support.cli import Project

pytestmark = pytest.mark.mariadb
SNAPSHOT = "rockway_schema_snapshot"


def _ok(result, what: str) -> None:  # type: ignore[no-untyped-def]
    assert result.code == 0, f"{what} exited {result.code}\nstdout:\n{result.out}\nstderr:\n{result.err}"


def test_migrate_up_records_the_schema_and_drift_names_what_changed_by_hand(jw: JobsWarehouse) -> None:
    meta, dw = jw.wh.meta_db, jw.db("dw")
    clean = jw.cli("drift", "--json")
    _ok(clean, "drift right after migrate up")
    assert json.loads(clean.out) == {"drift": False, "recorded_run_id": json.loads(clean.out)["recorded_run_id"],
                                     "checked": 19, "objects": []}
    rows = jw.query(f"SELECT object_name, object_kind, ddl, ddl_hash, run_id FROM {meta}.{SNAPSHOT}")
    assert len(rows) == 19 and all(hashlib.sha256(r[2].encode()).hexdigest() == r[3] for r in rows)
    last_run = jw.query(f"SELECT run_id FROM {meta}.rockway_schema_history ORDER BY installed_rank DESC LIMIT 1")[0][0]
    assert {r[4] for r in rows} == {last_run}
    assert (f"{dw}.v_customer_current", "view") in {(r[0], r[1]) for r in rows}

    jw.query(f"ALTER TABLE {dw}.dim_material ADD COLUMN note VARCHAR(20) NULL")
    jw.query(f"CREATE TABLE {dw}.hand_made (k INT PRIMARY KEY)")
    jw.query(f"DROP VIEW {dw}.v_customer_current")
    drift = jw.cli("drift")
    assert drift.code == 1, drift.err + drift.out
    assert f"changed: table {dw}.dim_material\n" in drift.out
    assert "+  `note` varchar(20) DEFAULT NULL," in drift.out
    assert f"added: table {dw}.hand_made\n" in drift.out and f"dropped: view {dw}.v_customer_current\n" in drift.out
    assert f"schema drift since run {last_run}" in drift.err

    as_json = jw.cli("drift", "--json")
    assert as_json.code == 1
    assert [(o["object"], o["status"]) for o in json.loads(as_json.out)["objects"]] == [
        (f"{dw}.dim_material", "changed"), (f"{dw}.hand_made", "added"), (f"{dw}.v_customer_current", "dropped")]

    # a migration keeps what it did not change as recorded: the drift stays until it is accepted
    _ok(jw.cli("migrate", "up"), "migrate up with nothing pending")
    assert jw.cli("drift").code == 1
    _ok(jw.cli("drift", "--accept"), "drift --accept")
    _ok(jw.cli("drift"), "drift after the new record")


def _evening_steps(result) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    return {s["kind"]: s for s in json.loads(result.out)["steps"]}


def test_the_evening_pipeline_notifies_drift_at_its_configured_severity(jw: JobsWarehouse) -> None:
    erp = Erp(jw, random.Random(3))
    t0 = datetime(2026, 1, 5, 8, 0, 0)
    erp.customers(5, t0)
    erp.materials(5, t0)
    for job in ("dim_customer", "dim_material"):
        _ok(jw.cli("job", "backfill", job, "--from", "2026-01-01", "--to", "2026-03-09"), f"backfill {job}")

    quiet = jw.cli("run", "evening", "--as-of", "2026-03-10T20:00:00Z", "--json")
    _ok(quiet, "evening without drift")  # the loads' work tables are not drift
    assert _evening_steps(quiet)["drift"]["status"] == "success"
    assert jw.notifications()[-1]["failed_checks"] == []

    dw = jw.db("dw")
    jw.query(f"ALTER TABLE {dw}.dim_customer ADD COLUMN hand_note VARCHAR(20) NULL")
    warned = jw.cli("run", "evening", "--as-of", "2026-03-11T20:00:00Z", "--json")
    _ok(warned, "evening with drift at severity warning")
    drift = _evening_steps(warned)["drift"]
    assert drift["status"] == "success" and f"changed table {dw}.dim_customer" in drift["detail"]
    assert jw.notifications()[-1] == {**jw.notifications()[-1], "status": "success", "failed_checks": ["schema_drift"]}

    pipelines = jw.root / "jobs" / "pipelines.yaml"
    pipelines.write_text(pipelines.read_text(encoding="utf-8").replace("drift: {severity: warning}",
                                                                       "drift: {severity: critical}"), encoding="utf-8")
    failed = jw.cli("run", "evening", "--as-of", "2026-03-12T20:00:00Z", "--json")
    assert failed.code == 1, failed.err + failed.out
    steps = _evening_steps(failed)
    assert steps["drift"]["status"] == "failed" and steps["notify"]["status"] == "success"
    last = jw.notifications()[-1]
    assert last["status"] == "failed" and last["failed_checks"] == ["schema_drift"]
    assert f"changed table {dw}.dim_customer" in last["error"]


def test_a_drift_step_with_an_unknown_severity_is_bad_input(jw: JobsWarehouse) -> None:
    pipelines = jw.root / "jobs" / "pipelines.yaml"
    pipelines.write_text(pipelines.read_text(encoding="utf-8").replace("drift: {severity: warning}",
                                                                       "drift: {severity: loud}"), encoding="utf-8")
    result = jw.cli("job", "validate", "--offline")
    assert result.code == 2, result.err + result.out
    assert "pipelines.yaml" in result.err + result.out and "severity must be one of warning, critical" in result.err + result.out


def test_a_failed_recording_warns_and_the_migration_still_succeeds(project: Project, cli, sql) -> None:  # type: ignore[no-untyped-def]
    sql(f"CREATE TABLE {SNAPSHOT} (unrelated INT)")  # a table of that name rockway cannot write
    project.migration("V1__t.sql", "CREATE TABLE t (id INT PRIMARY KEY);\n")
    result = cli("migrate", "up")
    _ok(result, "migrate up")
    assert "warning: the schema snapshot was not recorded" in result.err
    assert sql("SELECT success FROM rockway_schema_history WHERE version = '1'") == [(1,)]


def test_drift_without_a_record_exits_2_and_a_dry_run_records_nothing(project: Project, cli, sql) -> None:  # type: ignore[no-untyped-def]
    project.migration("V1__t.sql", "CREATE TABLE t (id INT PRIMARY KEY);\n")
    _ok(cli("migrate", "up", "--dry-run"), "dry run")
    assert sql("SHOW TABLES LIKE %s", (SNAPSHOT,)) == []
    _ok(cli("migrate", "up"), "migrate up")
    sql(f"DROP TABLE {SNAPSHOT}")
    result = cli("drift")
    assert result.code == 2 and "no schema record" in result.err and "migrate up" in result.err


def test_clean_drops_the_snapshot_table_too(project: Project, cli, sql) -> None:  # type: ignore[no-untyped-def]
    project.migration("V1__t.sql", "CREATE TABLE t (id INT PRIMARY KEY);\n")
    _ok(cli("migrate", "up"), "migrate up")
    assert sql("SHOW TABLES LIKE %s", (SNAPSHOT,)) == [(SNAPSHOT,)]
    _ok(cli("migrate", "clean", "--yes", env={"ROCKWAY_CLEAN_ENABLED": "true"}), "clean")
    left = {r[0] for r in sql("SHOW TABLES")}
    assert SNAPSHOT not in left and "t" not in left and "rockway_schema_history" not in left


def test_rollback_records_the_schema_it_leaves(project: Project, cli, sql) -> None:  # type: ignore[no-untyped-def]
    project.migration("V1__t.sql", "CREATE TABLE t (id INT PRIMARY KEY);\n")
    project.migration("V2__u.sql", "CREATE TABLE u (id INT PRIMARY KEY);\n")
    project.migration("U2__u.sql", "DROP TABLE u;\n")
    _ok(cli("migrate", "up"), "migrate up")
    names = lambda: {r[0].split(".")[1] for r in sql(f"SELECT object_name FROM {SNAPSHOT}")}  # noqa: E731
    assert names() == {"t", "u"}
    _ok(cli("migrate", "rollback"), "rollback")
    assert names() == {"t"}
    _ok(cli("drift"), "drift after rollback")


def test_a_release_rewrites_only_the_records_of_objects_it_changed(project: Project, cli, sql) -> None:  # type: ignore[no-untyped-def]
    """The record keeps, per object, the run that last changed it: an untouched table's row is not written again."""
    project.migration("V1__t.sql", "CREATE TABLE t (id INT PRIMARY KEY);\n")
    project.migration("V2__u.sql", "CREATE TABLE u (id INT PRIMARY KEY);\n")
    _ok(cli("migrate", "up"), "first up")
    first = dict(sql(f"SELECT object_name, run_id FROM {SNAPSHOT}"))
    project.migration("V3__u_more.sql", "ALTER TABLE u ADD COLUMN v INT;\n")
    _ok(cli("migrate", "up"), "second up")
    second = dict(sql(f"SELECT object_name, run_id FROM {SNAPSHOT}"))
    t, u = (next(name for name in first if name.endswith(f".{short}")) for short in ("t", "u"))
    assert second[t] == first[t]  # unchanged: not rewritten
    assert second[u] != first[u]  # changed by V3: recorded by the second run
    _ok(cli("drift"), "drift after the release")
