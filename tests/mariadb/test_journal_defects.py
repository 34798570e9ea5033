"""The statement journal on a real MariaDB: rows never dropped, Ctrl-C, and unknown outcomes resolved from the catalog
(the classification and the invariants without a server: tests/unit/test_journal_defects.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import Project
from tests.support.database import history, tables


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
    from tests.support.cli import run_cli

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
