"""The statement journal without a server: which statements the catalog can judge (migrate/outcome.py), a
StarRocks column judged only once its schema-change job ended (recorded answers), and the invariant that a
deferred finished row is never dropped (the journal on a real MariaDB: tests/mariadb/test_journal_defects.py)."""

from __future__ import annotations

from pathlib import Path

import pytest


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
    # one clause: the commas of a STRUCT type are not clause separators (sqlsplit.comma_spans)
    ("ALTER TABLE t ADD COLUMN s STRUCT<a INT, b INT> AFTER c", [("column", None, "t", "s", True)]),
    ("CREATE TABLE `sales dw` . `x y` (id INT)", [("table", "sales dw", "x y", None, True)]),
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
    "CREATE EXTERNAL TABLE x (id INT) ENGINE=mysql",
    "CREATE ALGORITHM=MERGE VIEW v AS SELECT 1",
    "CREATE ROLE analyst",
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
    from tests.support.starrocks_replay import ReplayConnection

    conn = ReplayConnection(steps)
    return StarRocksAdapter(conn, parse_dsn("starrocks://root@h:9030/db"), Timeouts(), "3.3.5-abc1234"), conn


SHOW_COLUMN_JOB = "SHOW ALTER TABLE COLUMN FROM `db` WHERE TableName = 'ta_event_119' ORDER BY JobId DESC LIMIT 1"
COLUMN_LOOKUP = ("SELECT 1 FROM information_schema.columns WHERE table_schema = 'db' AND table_name = 'ta_event_119'"
                 " AND LOWER(column_name) = LOWER('c2')")


@pytest.mark.parametrize("state_row", ["COLUMN_RUNNING", "COLUMN_WAITING_TXN", "COLUMN_FINISHED_REWRITING"])
def test_starrocks_column_is_not_judged_while_its_schema_change_job_runs(state_row: str):
    """The job rows of StarRocks issues #46534 / #40750 (tests/support/starrocks_replay.py); the catalog is not asked."""
    from tests.support import starrocks_replay as recorded
    from rockway.adapters.base import CatalogObject
    from tests.support.starrocks_replay import COLUMN_JOB_COLUMNS, q

    adapter, conn = _starrocks([q(SHOW_COLUMN_JOB, COLUMN_JOB_COLUMNS, [getattr(recorded, state_row)])])
    assert adapter.catalog_has(CatalogObject("column", None, "ta_event_119", "c2")) is None
    conn.assert_done()


@pytest.mark.parametrize("state_row,present", [("COLUMN_FINISHED", True), ("COLUMN_CANCELLED", False)])
def test_starrocks_column_is_judged_once_the_job_ended(state_row: str, present: bool):
    from tests.support import starrocks_replay as recorded
    from rockway.adapters.base import CatalogObject
    from tests.support.starrocks_replay import COLUMN_JOB_COLUMNS, q

    adapter, conn = _starrocks([q(SHOW_COLUMN_JOB, COLUMN_JOB_COLUMNS, [getattr(recorded, state_row)]),
                                q(COLUMN_LOOKUP, ("1",), [(1,)] if present else [])])
    assert adapter.catalog_has(CatalogObject("column", None, "ta_event_119", "c2")) is present
    conn.assert_done()


def test_starrocks_async_materialized_view_is_looked_up_among_materialized_views():
    from rockway.adapters.base import CatalogObject
    from tests.support.starrocks_replay import q

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
