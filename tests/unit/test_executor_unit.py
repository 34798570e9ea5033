"""The executor's journal protocol, through the real StarRocks adapter over the in-memory model (tests/support/sim_engine.py).

Each statement is journaled in its history row before it runs (pending_statement) and after
(statements_applied, statement_hashes); a finished row is held back and goes out with the next
journal write (or at the end of the run); failures are recorded; a resumed row's applied prefix must
hash the same as the script's statements now. The model logs every statement it receives, so the
tests read the order of journal writes and statements directly.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rockway.errors import MigrationFailed
from rockway.migrate.executor import Executor, RunContext, statement_hash
from rockway.migrate.history import HistoryStore, evolve, row_from_db
from rockway.model import Action, Kind, RowStatus, Script, Statement, Step, Version

from tests.support.sim_engine import FaultPlan, StarRocksModel, model_adapter

CREATE = ("CREATE TABLE {t} (id INT NOT NULL, v INT) DUPLICATE KEY(id) DISTRIBUTED BY HASH(id) BUCKETS 1"
          ' PROPERTIES ("replication_num" = "1")')


class Source:
    """Rendered statements per script name."""

    def __init__(self) -> None:
        self.by_name: dict[str, list[Statement]] = {}

    def statements(self, script: Script) -> list[Statement]:
        return self.by_name[script.name]


def script(source: Source, version: str, *sql: str) -> Script:
    name = f"migrations/V{version}__s.sql"
    source.by_name[name] = [Statement(i + 1, s, i + 2) for i, s in enumerate(sql)]
    return Script(Kind.VERSIONED, Version.parse(version), "s", Path(name), name, f"sum-{version}-{len(sql)}", "")


@pytest.fixture
def env():  # type: ignore[no-untyped-def]
    model = StarRocksModel()
    adapter = model_adapter(model, None)
    history = HistoryStore(adapter, "rockway_schema_history")
    history.ensure()
    source = Source()
    executor = Executor(adapter, history, source, RunContext("run-1", "tester", "host", "0"))
    return model, history, source, executor


def journal(model: StarRocksModel) -> list[str]:
    """The statements sent after setup: `W` for a history write, migration statements up to their column list."""
    out = []
    for text in model.log:
        if text.startswith("INSERT INTO `simdb`.`rockway_schema_history`"):
            out.append("W")
        elif not text.startswith(("SELECT", "SHOW", "CREATE TABLE IF NOT EXISTS")):
            out.append(text.split(" (")[0])
    return out


def rows(model: StarRocksModel) -> dict[int, object]:
    meta = model.meta["rockway_schema_history"]
    return {rank: row_from_db({k.lower(): v for k, v in r.items()}) for rank, r in meta.rows.items()}


def test_each_statement_is_journaled_before_and_after_and_the_finished_row_waits_for_the_next_write(env) -> None:
    model, history, source, executor = env
    a = script(source, "1", CREATE.format(t="a"), "ALTER TABLE a ADD COLUMN c INT")
    b = script(source, "2", CREATE.format(t="b"))
    snapshots: list[dict] = []
    real_write = history.write

    def spy(row, *more):  # type: ignore[no-untyped-def]
        snapshots.append({r.installed_rank: (r.status.value, r.statements_applied, r.pending_statement)
                          for r in (row, *more)})
        real_write(row, *more)

    history.write = spy  # type: ignore[method-assign]
    executor.run([Step(Action.APPLY, a), Step(Action.APPLY, b)], [])
    assert journal(model) == ["W", "CREATE TABLE a", "W", "ALTER TABLE a ADD COLUMN c INT", "W", "CREATE TABLE b", "W"]
    assert snapshots == [
        {1: ("running", 0, 1)},  # before statement 1
        {1: ("running", 1, 2)},  # after 1, before 2
        {1: ("success", 2, None), 2: ("running", 0, 1)},  # V1's success rides on V2's first write
        {2: ("success", 1, None)},  # flushed at the end of the run
    ]
    done = rows(model)
    assert done[1].statement_hashes == (statement_hash(CREATE.format(t="a")), statement_hash("ALTER TABLE a ADD COLUMN c INT"))
    assert done[1].async_jobs == ("column:262013",)  # the COLUMN job the adapter waited for (StarRocks issue #46534)


def test_a_script_that_renders_to_nothing_keeps_the_previous_scripts_success_row(env) -> None:
    model, history, source, executor = env
    a = script(source, "1", CREATE.format(t="a"))
    empty = script(source, "2")
    c = script(source, "3", CREATE.format(t="c"))
    executor.run([Step(Action.APPLY, a), Step(Action.APPLY, empty), Step(Action.APPLY, c)], [])
    final = rows(model)
    assert [(r.status, r.statements_applied, r.pending_statement) for r in final.values()] == [
        (RowStatus.SUCCESS, 1, None), (RowStatus.SUCCESS, 0, None), (RowStatus.SUCCESS, 1, None)]


def test_an_empty_last_script_is_flushed_with_the_previous_one(env) -> None:
    model, history, source, executor = env
    a = script(source, "1", CREATE.format(t="a"))
    empty = script(source, "2")
    executor.run([Step(Action.APPLY, a), Step(Action.APPLY, empty)], [])
    assert {r.status for r in rows(model).values()} == {RowStatus.SUCCESS}


def test_a_failed_statement_is_recorded_with_the_applied_prefix_and_the_run_stops(env) -> None:
    model, history, source, executor = env
    a = script(source, "1", CREATE.format(t="a"), "ALTER TABLE missing ADD COLUMN c INT", CREATE.format(t="z"))
    b = script(source, "2", CREATE.format(t="b"))
    with pytest.raises(MigrationFailed) as err:
        executor.run([Step(Action.APPLY, a), Step(Action.APPLY, b)], [])
    row = rows(model)[1]
    assert (row.status, row.statements_applied, row.error_statement, row.pending_statement) == (RowStatus.FAILED, 1, 2, None)
    # 5502 Unknown table (StarRocks test/sql/test_materialized_view_refresh/R/test_mv_refresh_with_union3)
    assert "Unknown table 'missing'" in (row.error or "")
    assert "failed at statement 2 of 3" in err.value.message
    assert set(model.tables) == {"a"}  # statement 3 and V2 never ran
    assert 2 not in rows(model)


def test_a_dropped_connection_leaves_the_statement_pending_and_names_both_recoveries(env) -> None:
    model, history, source, executor = env
    a = script(source, "1", CREATE.format(t="a"), CREATE.format(t="b"))
    # the statements sent: W, CREATE a, W, CREATE b <- the connection is lost after CREATE b took effect
    executor.adapter._conn.plan = FaultPlan(at={4: "drop_after"})
    with pytest.raises(MigrationFailed) as err:
        executor.run([Step(Action.APPLY, a)], [])
    assert "whether it took effect is unknown" in (err.value.hint or "")
    assert "--statement-done 1" in (err.value.hint or "") and "migrate up --resume" in (err.value.hint or "")
    row = rows(model)[1]
    assert (row.status, row.statements_applied, row.pending_statement) == (RowStatus.RUNNING, 1, 2)
    assert "b" in model.tables  # it did take effect: the journal stays on the safe side


def test_resume_continues_after_the_applied_prefix_without_re_running_it(env) -> None:
    model, history, source, executor = env
    a = script(source, "1", CREATE.format(t="a"), "ALTER TABLE missing ADD COLUMN c INT")
    with pytest.raises(MigrationFailed):
        executor.run([Step(Action.APPLY, a)], [])
    failed = rows(model)[1]
    fixed = script(source, "1", CREATE.format(t="a"), "ALTER TABLE a ADD COLUMN c INT")
    model.log.clear()
    executor.run([Step(Action.CONTINUE, fixed, failed, 2)], list(rows(model).values()))
    assert not any(t.startswith("CREATE TABLE a") for t in model.log)
    assert rows(model)[1].status is RowStatus.SUCCESS and model.violations == []


def test_resume_refuses_when_an_applied_statement_changed_since(env) -> None:
    model, history, source, executor = env
    a = script(source, "1", CREATE.format(t="a"), "ALTER TABLE missing ADD COLUMN c INT")
    with pytest.raises(MigrationFailed):
        executor.run([Step(Action.APPLY, a)], [])
    failed = rows(model)[1]
    edited = script(source, "1", CREATE.format(t="a2"), "ALTER TABLE a ADD COLUMN c INT")
    model.log.clear()
    with pytest.raises(MigrationFailed, match="statement 1 .* was applied and has changed since"):
        executor.run([Step(Action.CONTINUE, edited, failed, 2)], list(rows(model).values()))
    assert not any(t.startswith(("CREATE TABLE a2", "ALTER TABLE a ADD")) for t in model.log)  # nothing ran


def test_resume_refuses_when_the_script_lost_applied_statements(env) -> None:
    model, history, source, executor = env
    a = script(source, "1", CREATE.format(t="a"), CREATE.format(t="b"), "ALTER TABLE missing ADD COLUMN c INT")
    with pytest.raises(MigrationFailed):
        executor.run([Step(Action.APPLY, a)], [])
    failed = rows(model)[1]
    shorter = script(source, "1", CREATE.format(t="a"))
    with pytest.raises(MigrationFailed, match="now has only 1 statements but 2 were applied"):
        executor.run([Step(Action.CONTINUE, shorter, failed, 3)], list(rows(model).values()))


def test_a_row_resumed_past_its_last_statement_is_marked_done(env) -> None:
    model, history, source, executor = env
    a = script(source, "1", CREATE.format(t="a"))
    pending = evolve(row_from_db({"installed_rank": 1, "version": "1", "description": "s", "type": "SQL",
                                  "script": a.name, "checksum": a.checksum, "installed_by": "x",
                                  "installed_on": None, "execution_time": 0, "success": False, "status": "running",
                                  "statements_total": 1, "statements_applied": 1,
                                  "statement_hashes": f'["{statement_hash(CREATE.format(t="a"))}"]'}))
    history.write(pending)
    model.log.clear()
    executor.run([Step(Action.CONTINUE, a, pending, 2)], [pending])
    assert rows(model)[1].status is RowStatus.SUCCESS
    assert not any(t.startswith("CREATE TABLE a") for t in model.log)


def test_when_the_failure_cannot_be_journaled_the_statement_stays_pending(env) -> None:
    model, history, source, executor = env
    a = script(source, "1", CREATE.format(t="a"), "DROP TABLE missing")
    # the statements sent: W, CREATE a, W, DROP (refused: 5502 unknown table), W failed <- connection lost before it
    executor.adapter._conn.plan = FaultPlan(at={5: "drop_before"})
    with pytest.raises(MigrationFailed, match="failed at statement 2 of 2"):
        executor.run([Step(Action.APPLY, a)], [])
    row = rows(model)[1]
    # the next run reads this as "outcome unknown" and checks before re-running: never a silent re-run
    assert (row.status, row.statements_applied, row.pending_statement) == (RowStatus.RUNNING, 1, 2)
