"""A migration re-records only what it changes (schema/drift.py RunChanges): drift made by hand stays reported
across `migrate up` runs, with or without pending scripts, until it is reverted, migrated or accepted with
`rockway drift --accept`. On the real MariaDB, through the CLI and, for generated sequences, the API."""

from __future__ import annotations

import json
import tempfile
import uuid
from pathlib import Path

import pymysql
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from rockway.config import load_settings, parse_dsn
from rockway.migrate import api as commands
from rockway.schema import api as schema_api
from tests.support.cli import Project

pytestmark = pytest.mark.mariadb


def _drifted(cli) -> dict[str, str]:  # type: ignore[no-untyped-def]
    result = cli("drift", "--json")
    assert result.code in (0, 1), result.err
    return {o["object"].split(".")[1]: o["status"] for o in json.loads(result.out)["objects"]}


def _ok(result) -> None:  # type: ignore[no-untyped-def]
    assert result.code == 0, f"exit {result.code}\nstdout:\n{result.out}\nstderr:\n{result.err}"


def test_runs_keep_drift_they_did_not_touch_and_accept_records_it(project: Project, cli, sql) -> None:  # type: ignore[no-untyped-def]
    project.migration("V1__t.sql", "CREATE TABLE t (id INT PRIMARY KEY);\nCREATE TABLE u (id INT PRIMARY KEY);\n")
    project.migration("V2__gone.sql", "CREATE TABLE gone (id INT PRIMARY KEY);\n")
    _ok(cli("migrate", "up"))
    assert _drifted(cli) == {}

    sql("ALTER TABLE t ADD COLUMN by_hand INT")
    sql("CREATE TABLE hand_made (k INT)")
    _ok(cli("migrate", "up"))  # nothing pending: a deploy that ran anyway
    assert _drifted(cli) == {"t": "changed", "hand_made": "added"}

    project.migration("V3__u.sql", "ALTER TABLE u ADD COLUMN v INT;\n")
    project.migration("V4__drop.sql", "DROP TABLE gone;\n")
    release = cli("migrate", "up")  # a release changing u and dropping gone: t and hand_made stay drift
    _ok(release)
    assert "warning" not in release.err
    assert _drifted(cli) == {"t": "changed", "hand_made": "added"}
    release_run = sql("SELECT run_id FROM rockway_schema_history ORDER BY installed_rank DESC LIMIT 1")[0][0]
    assert f"schema drift since run {release_run} (the latest of 2 that wrote it)" in cli("drift").err

    sql("ALTER TABLE u ADD COLUMN also_by_hand INT")
    project.migration("V5__u_again.sql", "ALTER TABLE u ADD COLUMN w INT;\n")
    changed_u = cli("migrate", "up")  # a run that changes u records u as it leaves it, the change by hand with it
    _ok(changed_u)
    assert "had changed outside the migrations before this run" in changed_u.err and ".u " in changed_u.err
    assert _drifted(cli) == {"t": "changed", "hand_made": "added"}

    accepted = cli("drift", "--accept")
    _ok(accepted)
    assert "accepted changed: table" in accepted.out and "2 drifted object(s) accepted" in accepted.out
    assert _drifted(cli) == {}


def test_a_resumed_run_records_what_its_failed_part_created(project: Project, cli, sql) -> None:  # type: ignore[no-untyped-def]
    project.migration("V1__t.sql", "CREATE TABLE t (id INT PRIMARY KEY);\n")
    _ok(cli("migrate", "up"))
    sql("ALTER TABLE t ADD COLUMN by_hand INT")
    project.migration("V2__w.sql", "CREATE TABLE w (id INT PRIMARY KEY);\nALTER TABLE nosuch ADD COLUMN x INT;\n")
    assert cli("migrate", "up").code == 1  # w created, then the failure
    project.migration("V2__w.sql", "CREATE TABLE w (id INT PRIMARY KEY);\nALTER TABLE w ADD COLUMN x INT;\n")
    _ok(cli("migrate", "up", "--resume"))
    assert _drifted(cli) == {"t": "changed"}  # w is the migrations' own, t's change by hand stays reported


def test_accept_without_a_record_records_the_schema(project: Project, cli, sql) -> None:  # type: ignore[no-untyped-def]
    sql("CREATE TABLE before_rockway (id INT PRIMARY KEY)")
    result = cli("drift", "--accept", "--json")
    _ok(result)
    assert json.loads(result.out) == {"accepted": []}
    assert _drifted(cli) == {}


# ---------------------------------------------------------------------------------------- generated sequences

TABLES = ("t0", "t1", "t2")
OPS = st.lists(st.one_of(st.tuples(st.just("hand"), st.sampled_from(TABLES)),
                         st.tuples(st.just("create"), st.sampled_from(("x0", "x1"))),
                         st.tuples(st.just("migrate"), st.sampled_from(TABLES)),
                         st.tuples(st.just("noop"), st.none()),
                         st.tuples(st.just("accept"), st.none())), min_size=1, max_size=7)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS)
def test_drift_names_exactly_the_changes_made_by_hand_since_the_last_run_that_touched_them(
        mariadb_server: str, ops: list[tuple[str, str | None]]) -> None:
    """The model: a change by hand to an object makes it drift until a migration changes that object or the drift
    is accepted; a migration of other objects, or a run of nothing, leaves it drifting."""
    server = parse_dsn(mariadb_server)
    name = f"rw_{uuid.uuid4().hex[:10]}"
    conn = pymysql.connect(host=server.host, port=server.port, user=server.user, password=server.password or "",
                           autocommit=True)
    root = Path(tempfile.mkdtemp(prefix="rw_drift_"))
    project = Project(root, f"mysql://{server.user}@{server.host}:{server.port}/{name}")
    (root / "migrations").mkdir()
    (root / "repeatable").mkdir()
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{name}`")
        settings_ = load_settings(root, overrides={"dsn": project.dsn}, environ={})
        project.migration("V1__tables.sql", "".join(f"CREATE TABLE {t} (id INT PRIMARY KEY);\n" for t in TABLES))
        commands.migrate(settings_)
        drifting: dict[str, str] = {}
        created: set[str] = set()
        for step, (op, table) in enumerate(ops, start=2):
            if op == "hand":
                with conn.cursor() as cur:
                    cur.execute(f"ALTER TABLE `{name}`.{table} ADD COLUMN hand_{step} INT")
                drifting[str(table)] = "changed"
            elif op == "create" and table not in created:
                with conn.cursor() as cur:
                    cur.execute(f"CREATE TABLE `{name}`.{table} (k INT)")
                created.add(str(table))
                drifting[str(table)] = "added"
            elif op == "migrate":
                project.migration(f"V{step}__m.sql", f"ALTER TABLE {table} ADD COLUMN m_{step} INT;\n")
                commands.migrate(settings_)
                drifting.pop(str(table), None)
            elif op == "noop":
                commands.migrate(settings_)
            elif op == "accept":
                schema_api.accept(settings_)
                drifting.clear()
            report = schema_api.drift(settings_)
            assert {o.name.split(".")[1]: o.status for o in report.objects} == drifting, (op, table)
    finally:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        conn.close()
