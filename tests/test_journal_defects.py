"""The statement journal on a real MariaDB: rows never dropped, Ctrl-C, and unknown outcomes resolved from the catalog."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rw_helpers import Project


def history(sql, table: str = "rockway_schema_history") -> list[dict]:  # type: ignore[no-untyped-def]
    cols = [r[0] for r in sql(f"SHOW COLUMNS FROM {table}")]
    return [dict(zip(cols, r)) for r in sql(f"SELECT * FROM {table} ORDER BY installed_rank")]


def tables(sql) -> set[str]:  # type: ignore[no-untyped-def]
    return {r[0] for r in sql("SHOW TABLES")}


# --- a script that renders to no statement -------------------------------------------------------

def test_script_rendering_to_no_statement_keeps_the_previous_success_row(project: Project, cli, sql):
    project.migration("V1__two_tables.sql", "CREATE TABLE a (id INT);\nCREATE TABLE b (id INT);\n")
    project.migration("V2__dev_only.sql", "{% if false %}CREATE TABLE x (id INT);{% endif %}\n")
    project.migration("V3__one_table.sql", "CREATE TABLE c (id INT);\n")
    r = cli("migrate", "up")
    assert r.code == 0, r.err
    rows = history(sql)
    assert [(row["version"], row["status"], row["statements_applied"], row["statements_total"], row["pending_statement"])
            for row in rows] == [("1", "success", 2, 2, None), ("2", "success", 0, 0, None), ("3", "success", 1, 1, None)]
    again = cli("migrate", "up")
    assert again.code == 0, again.err
    assert "up to date" in again.out


def test_consecutive_empty_scripts_after_a_script_keep_every_row(project: Project, cli, sql):
    """Several finished rows in a row with no journal write between them: none is lost, even at the end of the run."""
    project.migration("V1__one.sql", "CREATE TABLE a (id INT);\n")
    project.migration("V2__empty.sql", "{% if false %}CREATE TABLE x (id INT);{% endif %}\n")
    project.migration("V3__empty_too.sql", "{% if env == 'never' %}CREATE TABLE y (id INT);{% endif %}\n")
    r = cli("migrate", "up")
    assert r.code == 0, r.err
    assert [(row["version"], row["status"], row["pending_statement"]) for row in history(sql)] == [
        ("1", "success", None), ("2", "success", None), ("3", "success", None)]
    assert cli("migrate", "up").code == 0


def _executor(db_dsn: str, tmp_path: Path, scripts: dict[str, str]):  # type: ignore[no-untyped-def]
    """An Executor over the real database and a HistoryStore, plus the plan for the given scripts."""
    from rockway.migrate import planner
    from rockway.migrate.project import Project as RwProject
    from rockway.adapters import connect
    from rockway.config import load_settings
    from rockway.migrate.executor import Executor, RunContext
    from rockway.migrate.history import HistoryStore

    (tmp_path / "migrations").mkdir(exist_ok=True)
    for name, text in scripts.items():
        (tmp_path / "migrations" / name).write_text(text, encoding="utf-8")
    settings = load_settings(tmp_path, overrides={"dsn": db_dsn})
    adapter = connect(settings)
    store = HistoryStore(adapter, settings.history_table)
    store.ensure()
    project = RwProject(settings, adapter.engine, adapter.database)
    plan = planner.plan_up(project.scripts, store.rows())
    executor = Executor(adapter, store, project, RunContext("run-1", "tester", "host", "0"), settings=settings)
    return executor, plan, store, adapter


def test_executor_writes_every_finished_row_whatever_the_sequence(db_dsn: str, tmp_path: Path):
    scripts = {"V1__a.sql": "CREATE TABLE a (id INT);\nCREATE TABLE a2 (id INT);\n",
               "V2__empty.sql": "{% if false %}CREATE TABLE x (id INT);{% endif %}\n",
               "V3__empty.sql": "{% if false %}CREATE TABLE y (id INT);{% endif %}\n",
               "V4__b.sql": "CREATE TABLE b (id INT);\n",
               "V5__empty.sql": "{% if false %}CREATE TABLE z (id INT);{% endif %}\n"}
    executor, plan, store, adapter = _executor(db_dsn, tmp_path, scripts)
    try:
        executor.run(plan.steps, [])
        rows = store.rows()
    finally:
        adapter.close()
    assert [(str(r.version), r.status.value, r.statements_applied, r.pending_statement) for r in rows] == [
        ("1", "success", 2, None), ("2", "success", 0, None), ("3", "success", 0, None), ("4", "success", 1, None),
        ("5", "success", 0, None)]


# --- messages at statement 1 --------------------------------------------------------------------

def test_failure_at_statement_one_names_no_empty_range(project: Project, cli, sql):
    project.migration("V1__bad_first.sql", "ALTER TABLE nope ADD COLUMN x INT;\nCREATE TABLE t (id INT);\n")
    r = cli("migrate", "up")
    assert r.code == 1
    assert "failed at statement 1 of 2" in r.err
    assert "1..0" not in r.err and "no statement of it was applied" in r.err
    again = cli("migrate", "up")
    assert again.code == 1 and "1..0" not in again.err


def test_failure_at_statement_two_names_one_statement_not_a_range(project: Project, cli):
    project.migration("V1__bad_second.sql", "CREATE TABLE t (id INT);\nALTER TABLE nope ADD COLUMN x INT;\n")
    r = cli("migrate", "up")
    assert r.code == 1
    assert "1..1" not in r.err
    assert "statement 1 was applied and stays applied" in r.err and "statement 1 must stay unchanged" in r.err


def test_interrupted_at_statement_one_names_no_empty_range(project: Project, cli, sql):
    # IF NOT EXISTS: a statement the catalog cannot judge, so the message names both ways forward
    project.migration("V1__t.sql", "CREATE TABLE IF NOT EXISTS t (id INT);\nCREATE TABLE u (id INT);\n")
    assert cli("migrate", "up").code == 0
    # the journal as a process killed while statement 1 ran leaves it
    sql("UPDATE rockway_schema_history SET status='running', success=0, statements_applied=0, statement_hashes='[]',"
        " pending_statement=1")
    r = cli("migrate", "up")
    assert r.code == 1
    assert "was interrupted while statement 1 of 2" in r.err
    assert "1..0" not in r.err and "No statement of it is recorded as applied." in r.err


# --- Ctrl-C during a statement ------------------------------------------------------------------

def _running_sleeps(sql, database: str) -> list[tuple]:  # type: ignore[no-untyped-def]
    """The migration's `DO SLEEP(…)` on the server (not a journal write that quotes it, nor this query)."""
    return sql("SELECT id, info FROM information_schema.processlist WHERE db = %s AND info LIKE %s"
               " AND command = 'Query' AND id <> CONNECTION_ID()", (database, "DO SLEEP(%"))


def test_ctrl_c_kills_the_running_statement_and_journals_its_outcome_as_unknown(project: Project, sql):
    import os
    import signal
    import subprocess
    import sys
    import time

    from rockway.config import parse_dsn

    database = parse_dsn(project.dsn).database
    project.migration("V1__slow.sql", "CREATE TABLE a (id INT);\nDO SLEEP(30);\nCREATE TABLE b (id INT);\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROCKWAY_", "OTEL_"))}
    env["ROCKWAY_DSN"] = project.dsn
    proc = subprocess.Popen([sys.executable, "-c", "from rockway.cli.main import main; main()", "migrate", "up"],
                            cwd=project.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while not _running_sleeps(sql, database):  # statement 2 is on the server
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        sent = time.monotonic()
        _out, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert time.monotonic() - sent < 10
    assert "statement 2" in err and "whether it took effect is unknown" in err and "--resume" in err
    assert "(cancelled on the server with KILL QUERY)" in err
    gone = time.monotonic() + 3
    while _running_sleeps(sql, database) and time.monotonic() < gone:  # KILL QUERY is asynchronous
        time.sleep(0.05)
    assert _running_sleeps(sql, database) == []
    (row,) = history(sql)
    assert (row["status"], row["statements_applied"], row["pending_statement"]) == ("running", 1, 2)
    assert "whether it took effect is unknown" in row["error"]
    assert "b" not in tables(sql)
    # the recovery the message names converges: statement 2 did not take effect, so resume re-runs it
    project.migration("V1__slow.sql", "CREATE TABLE a (id INT);\nDO SLEEP(0);\nCREATE TABLE b (id INT);\n")
    from rw_helpers import run_cli

    r = run_cli(project, "migrate", "up", "--resume")
    assert r.code == 0, r.err
    assert {"a", "b"} <= tables(sql) and history(sql)[0]["status"] == "success"


# --- unknown outcomes judged from the catalog ---------------------------------------------------

AFTER = "CREATE TABLE after_k (id INT)"
# (name, statement 1, statement 2 = the one whose outcome is unknown, undo of statement 2, object named in the message)
CASES = [
    ("create_table", "CREATE TABLE base (id INT)", "CREATE TABLE x (id INT)", "DROP TABLE x", "table {db}.x"),
    ("drop_table", "CREATE TABLE x (id INT)", "DROP TABLE x", "CREATE TABLE x (id INT)", "table {db}.x"),
    ("add_column", "CREATE TABLE x (id INT)", "ALTER TABLE x ADD COLUMN c INT", "ALTER TABLE x DROP COLUMN c",
     "column {db}.x.c"),
    ("drop_column", "CREATE TABLE x (id INT, c INT)", "ALTER TABLE x DROP COLUMN c", "ALTER TABLE x ADD COLUMN c INT",
     "column {db}.x.c"),
    ("create_view", "CREATE TABLE base (id INT)", "CREATE VIEW v AS SELECT id FROM base", "DROP VIEW v", "view {db}.v"),
    ("rename_table", "CREATE TABLE x (id INT)", "RENAME TABLE x TO y", "RENAME TABLE y TO x", "table {db}.y"),
]


def _catalog(sql, database: str) -> dict:  # type: ignore[no-untyped-def]
    """Schema and journal, for comparing a recovered database with a clean run."""
    columns = sql("SELECT table_name, column_name, ordinal_position FROM information_schema.columns"
                  " WHERE table_schema = %s AND table_name <> 'rockway_lock_owner' ORDER BY 1, 3", (database,))
    views = sql("SELECT table_name FROM information_schema.views WHERE table_schema = %s ORDER BY 1", (database,))
    journal = sql("SELECT version, status, success, statements_applied, statements_total, pending_statement,"
                  " statement_hashes, checksum FROM rockway_schema_history ORDER BY installed_rank")
    return {"columns": columns, "views": views, "journal": journal}


def _interrupted_at_statement_2(project: Project, cli, sql, stmt1: str, stmt2: str, undo2: str, took_effect: bool):  # type: ignore[no-untyped-def]
    """Run the script cleanly, then put database and journal where a run killed during statement 2 leaves them."""
    from rockway.config import parse_dsn

    database = parse_dsn(project.dsn).database
    project.migration("V1__change.sql", f"{stmt1};\n{stmt2};\n{AFTER};\n")
    assert cli("migrate", "up").code == 0
    clean = _catalog(sql, database)
    sql("DROP TABLE after_k")
    if not took_effect:
        sql(undo2)
    (hashes,) = sql("SELECT statement_hashes FROM rockway_schema_history")[0]
    sql("UPDATE rockway_schema_history SET status = 'running', success = 0, statements_applied = 1,"
        " statement_hashes = %s, pending_statement = 2", (json.dumps(json.loads(hashes)[:1]),))
    return database, clean


@pytest.mark.parametrize("took_effect", [True, False], ids=["took_effect", "did_not"])
@pytest.mark.parametrize("name,stmt1,stmt2,undo2,obj", CASES, ids=[c[0] for c in CASES])
def test_unknown_outcome_is_judged_from_the_catalog_and_auto_resolve_converges(
        project: Project, cli, sql, name, stmt1, stmt2, undo2, obj, took_effect):
    database, clean = _interrupted_at_statement_2(project, cli, sql, stmt1, stmt2, undo2, took_effect)
    r = cli("migrate", "up")
    assert r.code == 1
    where = obj.format(db=database)
    present = took_effect if name not in ("drop_table", "drop_column") else not took_effect
    if took_effect:
        expected = (f"{'exists' if present else 'does not exist'}: statement 2 took effect"
                    " → `migrate repair --statement-done 1`, then `migrate up`")
    else:
        expected = f"{'exists' if present else 'does not exist'}: statement 2 did not take effect → `migrate up --resume`"
    assert where in r.err and expected in r.err, r.err
    assert "--auto-resolve" in r.err
    assert "after_k" not in {t for (t,) in sql("SHOW TABLES")}  # nothing ran
    r = cli("migrate", "up", "--auto-resolve")
    assert r.code == 0, r.err
    assert ("is recorded as applied" if took_effect else "runs again") in r.err
    assert _catalog(sql, database) == clean


@pytest.mark.parametrize("took_effect", [True, False], ids=["took_effect", "did_not"])
def test_the_named_command_converges_to_the_clean_run(project: Project, cli, sql, took_effect):
    database, clean = _interrupted_at_statement_2(project, cli, sql, "CREATE TABLE x (id INT)",
                                                  "ALTER TABLE x ADD COLUMN c INT", "ALTER TABLE x DROP COLUMN c",
                                                  took_effect)
    if took_effect:
        assert cli("migrate", "repair", "--statement-done", "1").code == 0
        r = cli("migrate", "up")
    else:
        r = cli("migrate", "up", "--resume")
    assert r.code == 0, r.err
    assert _catalog(sql, database) == clean


def test_a_statement_the_catalog_cannot_judge_keeps_the_two_way_message(project: Project, cli, sql):
    _interrupted_at_statement_2(project, cli, sql, "CREATE TABLE x (id INT)", "INSERT INTO x VALUES (1)",
                                "DELETE FROM x", True)
    r = cli("migrate", "up")
    assert r.code == 1
    assert "whether it took effect is unknown" in r.err and "--statement-done 1" in r.err and "--resume" in r.err
    r = cli("migrate", "up", "--auto-resolve")
    assert r.code == 1 and "whether it took effect is unknown" in r.err
    assert sql("SELECT pending_statement FROM rockway_schema_history") == [(2,)]


def test_objects_that_disagree_are_not_judged(project: Project, cli, sql):
    """RENAME with both names present (someone re-created the old table): neither case holds."""
    _interrupted_at_statement_2(project, cli, sql, "CREATE TABLE x (id INT)", "RENAME TABLE x TO y",
                                "RENAME TABLE y TO x", True)
    sql("CREATE TABLE x (id INT)")
    r = cli("migrate", "up", "--auto-resolve")
    assert r.code == 1 and "whether it took effect is unknown" in r.err
    assert sql("SELECT pending_statement FROM rockway_schema_history") == [(2,)]


def test_auto_resolve_with_dry_run_changes_nothing(project: Project, cli, sql):
    _interrupted_at_statement_2(project, cli, sql, "CREATE TABLE x (id INT)", "ALTER TABLE x ADD COLUMN c INT",
                                "ALTER TABLE x DROP COLUMN c", True)
    r = cli("migrate", "up", "--auto-resolve", "--dry-run")
    assert r.code == 0, r.err
    shown = r.out.split("-- history bookkeeping")[0]
    assert "from statement 3" in shown and "CREATE TABLE after_k" in shown and "ADD COLUMN" not in shown
    assert sql("SELECT status, pending_statement FROM rockway_schema_history") == [("running", 2)]
    assert "after_k" not in {t for (t,) in sql("SHOW TABLES")}


# --- the pure classification (outcome.py) -------------------------------------------------------

def _expect(sql: str) -> list[tuple]:
    from rockway.migrate.outcome import classify_statement

    check = classify_statement(sql)
    assert check is not None, sql
    return [(e.obj.kind, e.obj.database, e.obj.name, e.obj.column, e.exists_when_done) for e in check.expectations]


@pytest.mark.parametrize("sql,expected", [
    ("CREATE TABLE x (id INT)", [("table", None, "x", None, True)]),
    ("-- why\nCREATE TABLE `sales_dw`.`x` (id INT) ENGINE=OLAP DUPLICATE KEY(id);", [("table", "sales_dw", "x", None, True)]),
    ("CREATE TABLE x LIKE y", [("table", None, "x", None, True)]),
    ("DROP TABLE x", [("table", None, "x", None, False)]),
    ("DROP TABLE sales_dw.x FORCE", [("table", "sales_dw", "x", None, False)]),
    ("CREATE VIEW v AS SELECT 1", [("view", None, "v", None, True)]),
    ("DROP VIEW v", [("view", None, "v", None, False)]),
    ("CREATE DATABASE d", [("database", None, "d", None, True)]),
    ("DROP SCHEMA d", [("database", None, "d", None, False)]),
    ("ALTER TABLE t ADD COLUMN c VARCHAR(10) DEFAULT 'a, b' COMMENT 'x'", [("column", None, "t", "c", True)]),
    ("ALTER TABLE db.t DROP COLUMN `c`", [("column", "db", "t", "c", False)]),
    ("RENAME TABLE a TO b", [("table", None, "a", None, False), ("table", None, "b", None, True)]),
    ("ALTER TABLE db.a RENAME b", [("table", "db", "a", None, False), ("table", "db", "b", None, True)]),
    ("ALTER TABLE a RENAME TO other.b", [("table", None, "a", None, False), ("table", "other", "b", None, True)]),
    ("CREATE MATERIALIZED VIEW mv REFRESH ASYNC AS SELECT k FROM t",
     [("materialized view", None, "mv", None, True)]),
])
def test_catalog_checkable_statements_and_their_traces(sql: str, expected: list[tuple]):
    assert _expect(sql) == expected


@pytest.mark.parametrize("sql", [
    "CREATE TABLE IF NOT EXISTS x (id INT)",  # the table may have been there before
    "CREATE OR REPLACE VIEW v AS SELECT 1",
    "DROP TABLE IF EXISTS x",
    "DROP TABLE a, b",
    "CREATE TABLE x AS SELECT * FROM y",  # exists before all its rows are in
    "CREATE TABLE x (id INT) SELECT 1 AS id",
    "ALTER TABLE t ADD COLUMN c INT, ADD COLUMN d INT",
    "ALTER TABLE t ADD COLUMN (c INT, d INT)",
    "ALTER TABLE t ADD COLUMN IF NOT EXISTS c INT",
    "ALTER TABLE t DROP COLUMN c FROM rollup_1",
    "ALTER TABLE t RENAME COLUMN a TO b",
    "RENAME TABLE a TO b, c TO d",
    "CREATE MATERIALIZED VIEW mv AS SELECT k, SUM(v) FROM t GROUP BY k",  # synchronous: a rollup index
    "DROP MATERIALIZED VIEW mv",
    "INSERT INTO t VALUES (1)",
    "CREATE TEMPORARY TABLE x (id INT)",
])
def test_statements_the_catalog_cannot_judge(sql: str):
    from rockway.migrate.outcome import classify_statement

    assert classify_statement(sql) is None


def test_judge_needs_every_object_to_agree():
    from rockway.migrate.outcome import classify_statement, judge

    check = classify_statement("RENAME TABLE a TO b")
    assert check is not None
    state = {"a": False, "b": True}
    verdict = judge(check, lambda obj: state[obj.name], "db")
    assert verdict is not None and verdict.took_effect
    assert verdict.evidence == "table db.a does not exist and table db.b exists"
    state = {"a": True, "b": False}
    verdict = judge(check, lambda obj: state[obj.name], "db")
    assert verdict is not None and not verdict.took_effect
    assert judge(check, lambda obj: True, "db") is None
    assert judge(check, lambda obj: None, "db") is None  # the catalog cannot tell yet


# --- StarRocks: a column is judged only once its schema-change job has ended --------------------

def _starrocks(steps):  # type: ignore[no-untyped-def]
    from rockway.adapters import Timeouts
    from rockway.adapters.starrocks.base import StarRocksAdapter
    from rockway.config import parse_dsn
    from starrocks_replay import ReplayConnection

    conn = ReplayConnection(steps)
    return StarRocksAdapter(conn, parse_dsn("starrocks://root@h:9030/db"), Timeouts(), "3.3.5-abc1234"), conn


SHOW_COLUMN_JOB = "SHOW ALTER TABLE COLUMN FROM `db` WHERE TableName = 'ta_event_119' ORDER BY JobId DESC LIMIT 1"
COLUMN_LOOKUP = ("SELECT 1 FROM information_schema.columns WHERE table_schema = 'db' AND table_name = 'ta_event_119'"
                 " AND LOWER(column_name) = LOWER('c2')")


@pytest.mark.parametrize("state_row", ["COLUMN_RUNNING", "COLUMN_WAITING_TXN", "COLUMN_FINISHED_REWRITING"])
def test_starrocks_column_is_not_judged_while_its_schema_change_job_runs(state_row: str):
    """starrocks-responses.md §2: the job rows of issue #46534 / #40750; the catalog is not asked."""
    import starrocks_replay as recorded
    from rockway.adapters.base import CatalogObject
    from starrocks_replay import COLUMN_JOB_COLUMNS, q

    adapter, conn = _starrocks([q(SHOW_COLUMN_JOB, COLUMN_JOB_COLUMNS, [getattr(recorded, state_row)])])
    assert adapter.catalog_has(CatalogObject("column", None, "ta_event_119", "c2")) is None
    conn.assert_done()


@pytest.mark.parametrize("state_row,present", [("COLUMN_FINISHED", True), ("COLUMN_CANCELLED", False)])
def test_starrocks_column_is_judged_once_the_job_ended(state_row: str, present: bool):
    import starrocks_replay as recorded
    from rockway.adapters.base import CatalogObject
    from starrocks_replay import COLUMN_JOB_COLUMNS, q

    adapter, conn = _starrocks([q(SHOW_COLUMN_JOB, COLUMN_JOB_COLUMNS, [getattr(recorded, state_row)]),
                                q(COLUMN_LOOKUP, ("1",), [(1,)] if present else [])])
    assert adapter.catalog_has(CatalogObject("column", None, "ta_event_119", "c2")) is present
    conn.assert_done()


def test_starrocks_async_materialized_view_is_looked_up_among_materialized_views():
    from rockway.adapters.base import CatalogObject
    from starrocks_replay import q

    adapter, conn = _starrocks([q("SELECT 1 FROM information_schema.materialized_views WHERE table_schema = 'db'"
                                  " AND table_name = 'mv1'", ("1",), [(1,)])])
    assert adapter.catalog_has(CatalogObject("materialized view", None, "mv1")) is True
    conn.assert_done()


# --- invariant: the deferred finished row is never dropped, whatever the sequence ----------------

class _RecordingHistory:
    """The part of HistoryStore the executor uses, keeping rows in memory and every write's ranks in order."""

    dry_run = False

    def __init__(self) -> None:
        self.rows: dict[int, object] = {}

    def write(self, row, *more) -> None:  # type: ignore[no-untyped-def]
        for r in (row, *more):
            self.rows[r.installed_rank] = r


class _QuietAdapter:
    """Answers every statement at once (the executor's view of a server that never fails)."""

    db_system, database, host, port = "mysql", "db", "h", 0

    def run_statement(self, sql, *, wait=True, on_progress=None):  # type: ignore[no-untyped-def]
        from rockway.adapters.base import StatementResult

        return StatementResult()

    def cancel_running(self, timeout: float = 5.0) -> bool:
        return False


def test_every_script_of_a_run_ends_with_a_success_row_whatever_its_statement_counts():
    from hypothesis import given, strategies as st

    from rockway.migrate import planner
    from rockway.migrate.executor import Executor, RunContext
    from rockway.model import Kind, RowStatus, Script, Statement, Version

    @given(st.lists(st.integers(min_value=0, max_value=3), min_size=1, max_size=8))
    def run(counts: list[int]) -> None:
        scripts = [Script(Kind.VERSIONED, Version.parse(str(i + 1)), f"s{i + 1}", Path(f"V{i + 1}__s.sql"),
                          f"migrations/V{i + 1}__s{i + 1}.sql", f"c{i}", "") for i in range(len(counts))]
        by_name = {s.name: n for s, n in zip(scripts, counts)}

        class Source:
            def statements(self, script: Script) -> list[Statement]:
                return [Statement(k, f"CREATE TABLE t{k} (id INT)", k) for k in range(1, by_name[script.name] + 1)]

        history = _RecordingHistory()
        plan = planner.plan_up(scripts, [])
        Executor(_QuietAdapter(), history, Source(), RunContext("r", "u", "h", "0")).run(plan.steps, [])  # type: ignore[arg-type]
        rows = [history.rows[rank] for rank in sorted(history.rows)]
        assert [(r.status, r.statements_applied, r.statements_total, r.pending_statement) for r in rows] == [
            (RowStatus.SUCCESS, n, n, None) for n in counts]

    run()
