"""The catalog fingerprint on the real MariaDB: it changes with every kind of DDL change, not with loads, and the
schema record written after a migration reads the DDL (SHOW CREATE) only of the objects whose fingerprint moved.
"""

from __future__ import annotations

from typing import Any, Iterator

import pytest

from rockway.adapters import connect_dsn
from rockway.adapters.base import Adapter
from rockway.adapters.introspection import SchemaObject
from rockway.adapters.registry import introspection
from rockway.config import parse_dsn
from rockway.schema.drift import SNAPSHOT_TABLE, detect_drift, record_snapshot, recorded
from rockway.schema.scope import Scope

pytestmark = pytest.mark.mariadb

# Each ALTER changes what SHOW CREATE prints; the fingerprint must change with it (an unchanged fingerprint would
# leave the record with the old DDL and `rockway drift` reporting the migration's own change).
DDL_CHANGES = [
    "ALTER TABLE t ADD COLUMN c2 INT",  # instant in InnoDB: no table rebuild
    "ALTER TABLE t ALTER COLUMN c2 SET DEFAULT 5",  # metadata only
    "ALTER TABLE t MODIFY c2 INT DEFAULT 5 COMMENT 'x'",
    "ALTER TABLE t RENAME COLUMN c2 TO c3",
    "ALTER TABLE t MODIFY c3 BIGINT DEFAULT 5 COMMENT 'x'",
    "ALTER TABLE t COMMENT 'hello'",
    "ALTER TABLE t ADD INDEX ix (v)",
    "ALTER TABLE t RENAME INDEX ix TO iy",
    "ALTER TABLE t ALTER INDEX iy IGNORED",
    "ALTER TABLE t DROP INDEX iy, ADD INDEX iy (v(5)) COMMENT 'prefix'",
    "ALTER TABLE t ADD CONSTRAINT fk1 FOREIGN KEY (pid) REFERENCES p (id)",
    "ALTER TABLE t DROP FOREIGN KEY fk1",
    "ALTER TABLE t ADD CONSTRAINT fk1 FOREIGN KEY (pid) REFERENCES p (k) ON DELETE CASCADE",
    "ALTER TABLE t ADD CONSTRAINT ck CHECK (c3 > 0)",
    "ALTER TABLE t DROP CONSTRAINT ck, ADD CONSTRAINT ck CHECK (c3 > 1)",
    "ALTER TABLE t ROW_FORMAT=COMPACT",
    "ALTER TABLE t DEFAULT CHARSET=latin1",
    "ALTER TABLE t STATS_PERSISTENT=1",
    "ALTER TABLE t ADD COLUMN g INT AS (c3 + 1) VIRTUAL",
    "ALTER TABLE t MODIFY g INT AS (c3 + 2) VIRTUAL",
    "ALTER TABLE q ADD PARTITION (PARTITION p1 VALUES LESS THAN (20))",
    "CREATE OR REPLACE VIEW v AS SELECT id, v FROM t",
    "CREATE OR REPLACE VIEW v AS SELECT id, v FROM t WITH CHECK OPTION",
]
# Loads and maintenance: no schema change, so the DDL need not be read again.
NO_DDL_CHANGES = ["INSERT INTO t (v) VALUES ('a'), ('b'), ('c')", "ANALYZE TABLE t", "TRUNCATE TABLE t"]


@pytest.fixture
def adapter(db_dsn: str, sql: Any) -> Iterator[Adapter]:
    sql("CREATE TABLE p (id INT PRIMARY KEY, k INT UNIQUE)")
    sql("CREATE TABLE t (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, v VARCHAR(20), pid INT)")
    sql("CREATE TABLE q (id INT PRIMARY KEY) PARTITION BY RANGE (id) (PARTITION p0 VALUES LESS THAN (10))")
    sql("CREATE VIEW v AS SELECT id FROM t")
    a = connect_dsn(parse_dsn(db_dsn))
    yield a
    a.close()


def _state(adapter: Adapter) -> tuple[dict[str, str], dict[str, str]]:
    """(fingerprint, normalised DDL) of every object of the database."""
    reader = introspection(adapter)
    objects = reader.objects([adapter.database or ""])
    return reader.fingerprints(objects), {obj.qualified: reader.ddl(obj) for obj in objects}


def test_the_fingerprint_changes_with_every_ddl_change_and_not_with_loads(adapter: Adapter, sql: Any) -> None:
    prints, ddl = _state(adapter)
    assert len(prints) == 4
    for statement in NO_DDL_CHANGES:
        sql(statement)
        assert _state(adapter) == (prints, ddl), statement
    for statement in DDL_CHANGES:
        sql(statement)
        now_prints, now_ddl = _state(adapter)
        changed = {name for name in ddl if now_ddl[name] != ddl[name]}
        assert changed, f"{statement} changed no DDL"
        assert changed <= {name for name in prints if now_prints[name] != prints[name]}, statement
        prints, ddl = now_prints, now_ddl


class Counting:
    """The adapter, counting the SHOW CREATE statements sent through it."""

    def __init__(self, adapter: Adapter) -> None:
        self.adapter, self.shown = adapter, 0
        self._execute = adapter.execute
        adapter.execute = self.execute  # type: ignore[method-assign]  # the seam: every statement passes here

    def execute(self, sql: str, params: Any = None) -> Any:
        self.shown += sql.startswith("SHOW CREATE")
        return self._execute(sql, params)


def test_recording_reads_the_ddl_of_changed_objects_only(adapter: Adapter, sql: Any) -> None:
    scope = Scope((adapter.database or "",), ("rockway_*",))
    counting = Counting(adapter)

    def record(run_id: str) -> tuple[int, int]:
        counting.shown = 0
        return record_snapshot(adapter, scope, run_id), counting.shown

    assert record("run-1") == (4, 4)  # a new record: every DDL, no fingerprint (nothing could have been skipped)
    assert record("run-2") == (4, 4) and all(r.catalog_hash for r in recorded(adapter))  # now with fingerprints
    sql("INSERT INTO t (v) VALUES ('a')")
    assert record("run-3") == (4, 0)
    sql("ALTER TABLE t ADD COLUMN c2 INT")
    sql("CREATE TABLE u (id INT PRIMARY KEY)")
    assert record("run-4") == (5, 2)
    runs = {r.name.split(".")[1]: r.run_id for r in recorded(adapter)}
    assert runs == {"p": "run-1", "q": "run-1", "t": "run-4", "u": "run-4", "v": "run-1"}
    assert not detect_drift(adapter, scope).drifted


def test_a_record_of_an_earlier_release_gets_the_fingerprint_column(adapter: Adapter, sql: Any) -> None:
    sql(f"CREATE TABLE {SNAPSHOT_TABLE} (object_name VARCHAR(200) NOT NULL PRIMARY KEY,"
        " object_kind VARCHAR(20) NOT NULL, ddl TEXT, ddl_hash VARCHAR(64) NOT NULL, run_id VARCHAR(64),"
        " recorded_at DATETIME NOT NULL)")
    sql(f"INSERT INTO {SNAPSHOT_TABLE} VALUES ('gone.x', 'table', '', 'x', 'run-0', '2026-01-01 00:00:00')")
    scope = Scope((adapter.database or "",), ("rockway_*",))
    record_snapshot(adapter, scope, "run-1")
    assert [r.name for r in recorded(adapter)] == [f"{adapter.database}.{n}" for n in ("p", "q", "t", "v")]
    assert all(r.catalog_hash for r in recorded(adapter))
    assert introspection(adapter).fingerprints([SchemaObject(adapter.database or "", "t", "table")])
    assert not detect_drift(adapter, scope).drifted
