"""HistoryStore through the real StarRocks adapter over the in-memory model (tests/support/sim_engine.py)."""

from __future__ import annotations

from datetime import datetime

import pytest

from rockway.errors import ConfigError
from rockway.migrate.history import COLUMN_NAMES, KEY, HistoryStore, evolve
from rockway.model import AppliedRow, RowStatus, RowType, Version

from tests.support.sim_engine import StarRocksModel, model_adapter

TABLE = "rockway_schema_history"


def store(model: StarRocksModel, **kwargs) -> HistoryStore:  # type: ignore[no-untyped-def]
    return HistoryStore(model_adapter(model, None), TABLE, **kwargs)


def row(rank: int, **changes) -> AppliedRow:  # type: ignore[no-untyped-def]
    base = AppliedRow(installed_rank=rank, version=Version.parse(str(rank)), description=f"step {rank}", type=RowType.SQL,
                      script=f"migrations/V{rank}__step.sql", checksum="ab" * 32, installed_by="deployer",
                      installed_on=datetime(2026, 1, 2, 3, 4, 5), execution_time=12, success=False,
                      status=RowStatus.RUNNING, statements_total=3, statements_applied=1,
                      statement_hashes=("0123456789abcdef",), pending_statement=2, error=None, error_statement=None,
                      statement_sql="line 4: ALTER TABLE a ADD COLUMN c INT", async_jobs=("column:262013",),
                      run_id="run-1", trace_id="f" * 32, git_sha="c0ffee", host="ci-1", tool_version="1.0")
    return evolve(base, **changes)


def test_rows_of_a_missing_table_are_empty_and_nothing_is_created() -> None:
    model = StarRocksModel()
    assert store(model).rows() == []
    assert TABLE not in model.meta


def test_ensure_creates_a_primary_key_table_without_a_transaction_and_only_once() -> None:
    model = StarRocksModel()
    history = store(model)
    history.ensure()
    history.ensure()
    creates = [t for t in model.log if t.startswith("CREATE TABLE")]
    assert len(creates) == 1 and creates[0].startswith(f"CREATE TABLE IF NOT EXISTS `simdb`.`{TABLE}`")
    assert "PRIMARY KEY(`installed_rank`)" in creates[0]
    assert model.meta[TABLE].columns == list(COLUMN_NAMES)
    assert not any(t.upper().startswith(("BEGIN", "START TRANSACTION")) for t in model.log)


def test_a_row_reads_back_as_written() -> None:
    model = StarRocksModel()
    history = store(model)
    history.ensure()
    written = row(1)
    history.write(written)
    assert store(model).rows() == [written]


def test_writing_a_row_again_replaces_it_by_installed_rank() -> None:
    model = StarRocksModel()
    history = store(model)
    history.ensure()
    history.write(row(1))
    done = row(1, status=RowStatus.SUCCESS, success=True, statements_applied=3, pending_statement=None)
    history.write(done)
    assert history.rows() == [done]


def test_several_rows_go_out_in_one_statement() -> None:
    model = StarRocksModel()
    history = store(model)
    history.ensure()
    model.log.clear()
    history.write(row(1), row(2), row(3))
    assert len([t for t in model.log if t.startswith("INSERT")]) == 1
    assert [r.installed_rank for r in history.rows()] == [1, 2, 3]


def test_evolve_changes_only_the_named_fields_and_refuses_unknown_names() -> None:
    before = row(1)
    after = evolve(before, status=RowStatus.SUCCESS, pending_statement=None)
    assert (after.status, after.pending_statement, after.statement_sql) == (RowStatus.SUCCESS, None, before.statement_sql)
    with pytest.raises(TypeError, match="unknown AppliedRow fields: {'statement'}"):
        evolve(before, statement="x", status=RowStatus.FAILED)


def test_each_write_uses_the_upsert_for_its_number_of_rows_whatever_came_before() -> None:
    model = StarRocksModel()
    history = store(model)
    history.ensure()
    sent: list[str] = []
    execute = history.adapter.execute
    history.adapter.execute = lambda sql, params=None: (sent.append(sql), execute(sql, params))[1]  # type: ignore[method-assign]
    batches = [[1], [1, 2], [3, 4, 5], [2, 3], [6], [4, 6]]
    for ranks in batches:
        history.write(*(row(r, execution_time=len(sent)) for r in ranks))
    assert sent == [history.adapter.upsert_sql(TABLE, COLUMN_NAMES, KEY, rows=len(ranks)) for ranks in batches]
    assert [(r.installed_rank, r.execution_time) for r in history.rows()] == [(1, 1), (2, 3), (3, 3), (4, 5), (5, 2),
                                                                                 (6, 5)]


def test_delete_removes_one_row() -> None:
    model = StarRocksModel()
    history = store(model)
    history.ensure()
    history.write(row(1), row(2))
    history.delete(1)
    assert [r.installed_rank for r in history.rows()] == [2]


def test_dry_run_shows_sql_and_writes_nothing() -> None:
    model = StarRocksModel()
    shown: list[str] = []
    history = store(model, sink=shown.append)
    history.ensure()
    history.write(row(1))
    history.delete(1)
    assert TABLE not in model.meta
    assert shown[0].startswith("CREATE TABLE IF NOT EXISTS") and shown[1].startswith("INSERT INTO")
    assert "'migrations/V1__step.sql'" in shown[1] and shown[2].endswith("WHERE installed_rank = 1")


def test_a_foreign_table_under_the_history_name_is_refused_by_name() -> None:
    model = StarRocksModel()
    adapter = model_adapter(model, None)
    adapter.execute(f"CREATE TABLE `simdb`.`{TABLE}` (\n  `installed_rank` INT NOT NULL,\n  `version` VARCHAR(50) NULL\n)"
                    "\nPRIMARY KEY(`installed_rank`)\nDISTRIBUTED BY HASH(`installed_rank`)")
    with pytest.raises(ConfigError, match=f"{TABLE}.*lacks rockway history columns: description"):
        store(model).ensure()
