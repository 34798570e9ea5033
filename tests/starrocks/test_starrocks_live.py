"""The StarRocks adapter against a real StarRocks (allin1 container; see conftest.py)."""

from __future__ import annotations

import uuid

import pytest

from tests.support.docker import STARROCKS_IMAGE as IMAGE, require_docker  # noqa: E402

require_docker()

from rockway.adapters import Column, LockOwner, TableSpec  # noqa: E402
from rockway.adapters.starrocks.base import StarRocksAdapter  # noqa: E402

pytestmark = pytest.mark.starrocks


def _name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def test_detects_starrocks(starrocks_adapter: StarRocksAdapter) -> None:
    assert isinstance(starrocks_adapter, StarRocksAdapter)
    assert starrocks_adapter.server_version.split(".")[:2] == IMAGE.rsplit(":", 1)[1].split(".")[:2]
    assert starrocks_adapter.replication_num == 1


def test_create_table_sql_runs_and_upsert_replaces(starrocks_adapter: StarRocksAdapter) -> None:
    a = starrocks_adapter
    name = _name("wm")
    spec = TableSpec(name, (Column("value", "TEXT"), Column("updated_at", "DATETIME"), Column("ok", "BOOLEAN"),
                            Column("job", "VARCHAR(64)", False), Column("n", "BIGINT")), ("job",), comment='watermarks "x"')
    a.execute(a.create_table_sql(spec))
    a.execute(a.create_table_sql(spec))  # IF NOT EXISTS: a second run is a no-op
    assert a.table_exists(name)
    assert a.table_columns(name) == ["job", "value", "updated_at", "ok", "n"]
    upsert = a.upsert_sql(name, ("job", "value", "updated_at", "ok", "n"), ("job",))
    a.execute(upsert, ("j1", "a", "2025-01-01 00:00:00", True, 1))
    a.execute(upsert, ("j1", "b", "2025-01-02 00:00:00", False, 2))
    assert a.query(f"SELECT job, value, n FROM {a.qualified(name)}") == [("j1", "b", 2)]
    comment = a.query("SELECT TABLE_COMMENT FROM information_schema.tables WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s",
                      (a.database, name))
    assert comment == [('watermarks "x"',)]


def test_alter_add_column_waits_for_the_job(starrocks_adapter: StarRocksAdapter) -> None:
    a = starrocks_adapter
    name = _name("t")
    # fast_schema_evolution off so ADD COLUMN runs as a real schema-change job.
    a.execute(f"CREATE TABLE {a.qualified(name)} (k INT NOT NULL, v INT) DUPLICATE KEY(k) DISTRIBUTED BY HASH(k) "
              'PROPERTIES ("replication_num" = "1", "fast_schema_evolution" = "false")')
    a.execute(f"INSERT INTO {a.qualified(name)} VALUES (1, 10), (2, 20)")
    progress: list[str] = []
    result = a.run_statement(f"ALTER TABLE {name} ADD COLUMN c2 INT DEFAULT \"7\"", on_progress=progress.append)
    assert len(result.async_jobs) == 1 and result.async_jobs[0].startswith("column:")
    state = a.query(f"SHOW ALTER TABLE COLUMN WHERE TableName = '{name}' ORDER BY JobId DESC LIMIT 1")
    assert state and "FINISHED" in state[0]
    # the next ALTER is accepted right away (the first one is done, not merely submitted)
    a.run_statement(f"ALTER TABLE {name} MODIFY COLUMN c2 BIGINT DEFAULT \"7\"")
    assert a.query(f"SELECT k, c2 FROM {a.qualified(name)} ORDER BY k") == [(1, 7), (2, 7)]


def test_alter_with_fast_schema_evolution_returns(starrocks_adapter: StarRocksAdapter) -> None:
    a = starrocks_adapter
    name = _name("f")
    a.execute(f"CREATE TABLE {a.qualified(name)} (k INT NOT NULL, v INT) DUPLICATE KEY(k) DISTRIBUTED BY HASH(k) "
              'PROPERTIES ("replication_num" = "1", "fast_schema_evolution" = "true")')
    a.run_statement(f"ALTER TABLE {name} ADD COLUMN c3 VARCHAR(10)")
    assert "c3" in a.table_columns(name)


def test_lock_acquire_conflict_release(starrocks_adapter: StarRocksAdapter) -> None:
    a = starrocks_adapter
    other = a.clone()
    try:
        name = _name("lock")
        mine, theirs = a.lock_primitive(name, lease_seconds=60), other.lock_primitive(name, lease_seconds=60)
        me, them = LockOwner("h1", 1, "run-a"), LockOwner("h2", 2, "run-b")
        assert mine.try_acquire(me, wait_seconds=0)
        assert not theirs.try_acquire(them, wait_seconds=1)
        holder = theirs.holder()
        assert holder is not None and holder.run_id == "run-a" and holder.expires_at
        mine.renew(me)
        theirs.release(them)  # not theirs: must stay
        assert mine.holder() is not None
        mine.release(me)
        assert mine.holder() is None
        assert theirs.try_acquire(them, wait_seconds=0)
        assert theirs.force_release() is not None
    finally:
        other.close()


def test_refresh_async_mv_waits(starrocks_adapter: StarRocksAdapter) -> None:
    a = starrocks_adapter
    base, mv = _name("base"), _name("mv")
    a.execute(f"CREATE TABLE {a.qualified(base)} (k INT NOT NULL, v INT) DUPLICATE KEY(k) DISTRIBUTED BY HASH(k) "
              'PROPERTIES ("replication_num" = "1")')
    a.execute(f"INSERT INTO {a.qualified(base)} VALUES (1, 10), (1, 5), (2, 20)")
    a.run_statement(f"CREATE MATERIALIZED VIEW {mv} DISTRIBUTED BY HASH(k) REFRESH DEFERRED MANUAL "
                    f'PROPERTIES ("replication_num" = "1") AS SELECT k, sum(v) AS s FROM {base} GROUP BY k')
    result = a.run_statement(f"REFRESH MATERIALIZED VIEW {mv}")
    assert result.async_jobs and result.async_jobs[0].startswith("task_run:")
    assert a.query(f"SELECT k, s FROM {a.qualified(mv)} ORDER BY k") == [(1, 15), (2, 20)]


def test_create_immediate_mv_waits_for_first_refresh(starrocks_adapter: StarRocksAdapter) -> None:
    a = starrocks_adapter
    base, mv = _name("base"), _name("mv")
    a.execute(f"CREATE TABLE {a.qualified(base)} (k INT NOT NULL, v INT) DUPLICATE KEY(k) DISTRIBUTED BY HASH(k) "
              'PROPERTIES ("replication_num" = "1")')
    a.execute(f"INSERT INTO {a.qualified(base)} VALUES (3, 1)")
    result = a.run_statement(f"CREATE MATERIALIZED VIEW {mv} DISTRIBUTED BY HASH(k) REFRESH MANUAL "
                             f'PROPERTIES ("replication_num" = "1") AS SELECT k, count(*) AS c FROM {base} GROUP BY k')
    assert result.async_jobs and result.async_jobs[0].startswith("task_run:")
    assert a.query(f"SELECT k, c FROM {a.qualified(mv)}") == [(3, 1)]
