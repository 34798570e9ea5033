"""StarRocks SHOW CREATE output normalised for schema files and drift, on recorded server answers.

The recorded outputs are StarRocks' own SQL-tester results and unit tests (branch-4.1), as quoted in the
project's recorded-responses reference, section 9 ("SHOW CREATE TABLE / VIEW / MATERIALIZED VIEW"):
- PRIMARY KEY table: test/sql/test_alter_table/R/test_alter_column_comment L7-19;
- DUPLICATE KEY range-partitioned table: test/sql/test_optimize_table/R/test_optimize_table L31-46;
- views: test/sql/test_view/R/test_show_create_view L8-22 (4.1), and
  fe/fe-core/src/test/java/com/starrocks/analysis/ShowCreateViewStmtTest.java L180 before and after
  `SECURITY NONE` was printed (PR #56333, 3.5);
- materialized view: test/sql/test_materialized_view/R/test_show_materialized_view L26-36.
Cells keep the server's trailing blanks (`) ENGINE=OLAP `, `BUCKETS 10 `).
"""

from __future__ import annotations

from typing import Callable

from rockway.adapters.starrocks.introspection import StarRocksIntrospection, normalize_starrocks_ddl
from rockway.adapters.introspection import SchemaObject
from rockway.adapters.registry import introspection
from rockway.adapters.connection import Timeouts
from rockway.adapters.starrocks.base import StarRocksAdapter
from rockway.config import parse_dsn

from tests.support.starrocks_replay import COLUMN_JOB_COLUMNS, ReplayConnection, Step, column_job, q
from rockway.schema.drift import compare_with_record, Recorded
from rockway.schema.live import LiveObject, ddl_hash

PK_TABLE = """CREATE TABLE `t` (
  `k` int(11) NOT NULL COMMENT "",
  `v` int(11) NULL COMMENT ""
) ENGINE=OLAP 
PRIMARY KEY(`k`)
DISTRIBUTED BY HASH(`k`)
PROPERTIES (
"compression" = "LZ4",
"enable_persistent_index" = "true",
"fast_schema_evolution" = "true",
"replicated_storage" = "true",
"replication_num" = "3"
);"""

RANGE_TABLE = """CREATE TABLE `t` (
  `k` int(11) NULL COMMENT "",
  `k1` date NULL COMMENT ""
) ENGINE=OLAP 
DUPLICATE KEY(`k`, `k1`)
PARTITION BY RANGE(`k1`)
(PARTITION p202006 VALUES [("0000-01-01"), ("2020-07-01")),
PARTITION p202007 VALUES [("2020-07-01"), ("2020-08-01")),
PARTITION p202008 VALUES [("2020-08-01"), ("2020-09-01")))
DISTRIBUTED BY HASH(`k`) BUCKETS 10 
PROPERTIES (
"compression" = "LZ4",
"fast_schema_evolution" = "true",
"replicated_storage" = "true",
"replication_num" = "3"
);"""

MV = """CREATE MATERIALIZED VIEW `user_tags_mv1` (`user_id`, `bitmap_union(to_bitmap(tag_id))`)
DISTRIBUTED BY HASH(`user_id`)
REFRESH DEFERRED MANUAL
PROPERTIES (
"replicated_storage" = "true",
"replication_num" = "1",
"storage_medium" = "HDD"
)
AS select user_id, bitmap_union(to_bitmap(tag_id)) from user_tags group by user_id;"""

VIEW_4_1 = """CREATE VIEW `test_view` (`c1`, `c2`) SECURITY NONE AS select 
c1, -- this is a comment
c2 -- this is a comment
from t1;"""
VIEW_3_5 = ("CREATE VIEW `test_view_4` (`c1`, `c2`) SECURITY NONE AS SELECT `test`.`tbl1`.`k1` AS `c1`, "
            "`test`.`tbl1`.`k2` AS `c2`\nFROM `test`.`tbl1`;")
VIEW_BEFORE_3_5 = ("CREATE VIEW `test_view_4` (`c1`, `c2`) AS SELECT `test`.`tbl1`.`k1` AS `c1`, "
                   "`test`.`tbl1`.`k2` AS `c2`\nFROM `test`.`tbl1`;")


def test_primary_key_table_keeps_replication_num_and_drops_the_defaults_the_server_added() -> None:
    assert normalize_starrocks_ddl("table", PK_TABLE) == """CREATE TABLE `t` (
  `k` int(11) NOT NULL COMMENT "",
  `v` int(11) NULL COMMENT ""
) ENGINE=OLAP
PRIMARY KEY(`k`)
DISTRIBUTED BY HASH(`k`)
PROPERTIES (
"replication_num" = "3"
)"""


def test_a_property_set_to_another_value_than_the_default_stays() -> None:
    zstd = PK_TABLE.replace('"compression" = "LZ4"', '"compression" = "ZSTD"')
    assert '"compression" = "ZSTD",\n"replication_num" = "3"\n)' in normalize_starrocks_ddl("table", zstd)


def test_range_partitions_and_trailing_blanks() -> None:
    text = normalize_starrocks_ddl("table", RANGE_TABLE)
    assert "DISTRIBUTED BY HASH(`k`) BUCKETS 10\nPROPERTIES (\n\"replication_num\" = \"3\"\n)" in text
    assert ") ENGINE=OLAP\n" in text and not any(line != line.rstrip() for line in text.splitlines())
    assert "PARTITION p202008 VALUES" in text  # fixed partitions are schema and stay


def test_dynamic_partitions_collapse_to_the_empty_list() -> None:
    dynamic = RANGE_TABLE.replace('"compression" = "LZ4",', '"compression" = "LZ4",\n"dynamic_partition.enable" = "true",'
                                  '\n"dynamic_partition.time_unit" = "MONTH",')
    text = normalize_starrocks_ddl("table", dynamic)
    assert "PARTITION BY RANGE(`k1`)\n()\nDISTRIBUTED BY HASH(`k`) BUCKETS 10\n" in text
    assert "p202006" not in text
    # tomorrow's partition list does not change the normalised text
    later = dynamic.replace("PARTITION p202008 VALUES [(\"2020-08-01\"), (\"2020-09-01\")))",
                            "PARTITION p202008 VALUES [(\"2020-08-01\"), (\"2020-09-01\")),\n"
                            "PARTITION p202009 VALUES [(\"2020-09-01\"), (\"2020-10-01\")))")
    assert normalize_starrocks_ddl("table", later) == text


def test_materialized_view_properties_are_sorted_and_defaults_dropped() -> None:
    assert normalize_starrocks_ddl("materialized view", MV) == """CREATE MATERIALIZED VIEW `user_tags_mv1` (`user_id`, `bitmap_union(to_bitmap(tag_id))`)
DISTRIBUTED BY HASH(`user_id`)
REFRESH DEFERRED MANUAL
PROPERTIES (
"replication_num" = "1"
)
AS select user_id, bitmap_union(to_bitmap(tag_id)) from user_tags group by user_id"""
    unsorted = MV.replace('"replicated_storage" = "true",\n"replication_num" = "1",',
                          '"replication_num" = "1",\n"partition_refresh_number" = "1",')
    assert '"partition_refresh_number" = "1",\n"replication_num" = "1"\n)' in normalize_starrocks_ddl(
        "materialized view", unsorted)


def test_security_none_is_the_default_and_is_dropped_across_versions() -> None:
    assert normalize_starrocks_ddl("view", VIEW_3_5) == normalize_starrocks_ddl("view", VIEW_BEFORE_3_5)
    assert normalize_starrocks_ddl("view", VIEW_4_1) == ("CREATE VIEW `test_view` (`c1`, `c2`) AS select\n"
                                                         "c1, -- this is a comment\nc2 -- this is a comment\nfrom t1")
    invoker = VIEW_3_5.replace("SECURITY NONE", "SECURITY INVOKER")
    assert "SECURITY INVOKER AS SELECT" in normalize_starrocks_ddl("view", invoker)


def _adapter(conn: ReplayConnection) -> StarRocksAdapter:
    return StarRocksAdapter(conn, parse_dsn("starrocks://root@h:9030/warehouse"), Timeouts(), "3.5.3-abc1234")


def test_objects_and_ddl_are_read_by_name_from_the_catalog_and_show_create() -> None:
    conn = ReplayConnection([
        q("SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.materialized_views WHERE TABLE_SCHEMA IN ('dw')",
          ("TABLE_SCHEMA", "TABLE_NAME"), [("dw", "user_tags_mv1")]),
        q("SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE, TABLE_COMMENT FROM information_schema.tables"
          " WHERE TABLE_SCHEMA IN ('dw')", ("TABLE_SCHEMA", "TABLE_NAME", "TABLE_TYPE", "TABLE_COMMENT"),
          [("dw", "t", "BASE TABLE", "facts"), ("dw", "test_view", "VIEW", ""), ("dw", "user_tags_mv1", "VIEW", "")]),
        # a table answers `Table, Create Table`; an MV answers `Materialized View, Create Materialized View`
        # (StarRocks test/sql/test_materialized_view/R/test_show_materialized_view, SHOW CREATE TABLE of an MV)
        q("SHOW CREATE TABLE `dw`.`t`", ("Table", "Create Table"), [("t", PK_TABLE)]),
        q("SHOW CREATE VIEW `dw`.`test_view`", ("View", "Create View", "character_set_client", "collation_connection"),
          [("test_view", VIEW_4_1, "utf8", "utf8_general_ci")]),
        q("SHOW CREATE MATERIALIZED VIEW `dw`.`user_tags_mv1`", ("Materialized View", "Create Materialized View"),
          [("user_tags_mv1", MV)]),
    ])
    reader = introspection(_adapter(conn))
    assert isinstance(reader, StarRocksIntrospection)
    objects = reader.objects(["dw"])
    assert objects == [SchemaObject("dw", "t", "table", "facts"), SchemaObject("dw", "test_view", "view"),
                       SchemaObject("dw", "user_tags_mv1", "materialized view")]
    ddl = [reader.ddl(o) for o in objects]
    conn.assert_done()
    assert ddl[0].endswith('PROPERTIES (\n"replication_num" = "3"\n)')
    assert ddl[1].startswith("CREATE VIEW `test_view` (`c1`, `c2`) AS select")
    assert ddl[2].startswith("CREATE MATERIALIZED VIEW `user_tags_mv1`")


def test_drift_between_versions_is_not_reported_for_server_defaults() -> None:
    """A record taken on 3.4 (no SECURITY NONE, fewer defaults) matches the same schema read on 3.5."""
    old_table = PK_TABLE.replace('"fast_schema_evolution" = "true",\n', "")
    obj = SchemaObject("dw", "t", "table")
    view = SchemaObject("dw", "test_view_4", "view")
    record = [Recorded("dw.t", "table", normalize_starrocks_ddl("table", old_table),
                       ddl_hash(normalize_starrocks_ddl("table", old_table)), "r1"),
              Recorded("dw.test_view_4", "view", normalize_starrocks_ddl("view", VIEW_BEFORE_3_5),
                       ddl_hash(normalize_starrocks_ddl("view", VIEW_BEFORE_3_5)), "r1")]
    live = [LiveObject(obj, normalize_starrocks_ddl("table", PK_TABLE)),
            LiveObject(view, normalize_starrocks_ddl("view", VIEW_3_5))]
    assert compare_with_record(live, record) == []
    changed = [LiveObject(obj, normalize_starrocks_ddl("table", PK_TABLE.replace('"3"', '"1"'))), live[1]]
    drift = compare_with_record(changed, record)
    assert [(d.name, d.status) for d in drift] == [("dw.t", "changed")]
    assert '-"replication_num" = "3"\n+"replication_num" = "1"\n' in drift[0].diff


def test_the_snapshot_table_is_a_primary_key_table_like_the_history_table() -> None:
    from rockway.schema.drift import snapshot_spec

    adapter = _adapter(ReplayConnection([]))
    adapter.replication_num = 1
    assert adapter.create_table_sql(snapshot_spec()) == (
        "CREATE TABLE IF NOT EXISTS `warehouse`.`rockway_schema_snapshot` (\n"
        "  `object_name` VARCHAR(200) NOT NULL,\n"
        "  `object_kind` VARCHAR(20) NOT NULL,\n"
        "  `ddl` STRING NULL,\n"
        "  `ddl_hash` VARCHAR(64) NOT NULL,\n"
        "  `run_id` VARCHAR(64) NULL,\n"
        "  `recorded_at` DATETIME NOT NULL,\n"
        "  `catalog_hash` VARCHAR(64) NULL\n"
        ")\n"
        "PRIMARY KEY(`object_name`)\n"
        "COMMENT \"rockway schema snapshot: normalised DDL of each managed object after the last migration\"\n"
        "DISTRIBUTED BY HASH(`object_name`)\n"
        "PROPERTIES (\n\"replication_num\" = \"1\"\n)")


def _catalog_steps() -> list[Step]:
    """The catalog answers a fingerprint reads for database `dw` (columns of the docs.starrocks.io information_schema
    pages, values [INFERRED]; SHOW ALTER TABLE COLUMN rows shaped as starrocks_replay's column_job)."""
    where = " WHERE TABLE_SCHEMA IN ('dw')"
    return [
        q("SELECT TABLE_SCHEMA, TABLE_NAME, t.* FROM information_schema.tables t" + where,
          ("TABLE_SCHEMA", "TABLE_NAME", "TABLE_TYPE", "TABLE_ROWS", "CREATE_TIME", "TABLE_COMMENT"),
          [("dw", name, "BASE TABLE", "7", "2026-03-01 10:00:00", "") for name in ("t", "u", "rockway_job_lock")]),
        q("SELECT TABLE_SCHEMA, TABLE_NAME, c.* FROM information_schema.columns c" + where,
          ("TABLE_SCHEMA", "TABLE_NAME", "COLUMN_NAME", "ORDINAL_POSITION", "COLUMN_TYPE", "IS_NULLABLE"),
          [("dw", "t", "k", "1", "bigint", "NO"), ("dw", "u", "k", "1", "int", "NO")]),
        q("SELECT TABLE_SCHEMA, TABLE_NAME, tc.* FROM information_schema.tables_config tc" + where,
          ("TABLE_SCHEMA", "TABLE_NAME", "TABLE_MODEL", "PRIMARY_KEY", "DISTRIBUTE_BUCKET", "PROPERTIES"),
          [("dw", "t", "PRI_KEYS", "k", "1", '{"replication_num":"3"}'),
           ("dw", "u", "DUP_KEYS", "", "1", '{"replication_num":"3"}')]),
        q("SELECT TABLE_SCHEMA, TABLE_NAME, v.* FROM information_schema.views v" + where,
          ("TABLE_SCHEMA", "TABLE_NAME", "VIEW_DEFINITION"), []),
        q("SELECT TABLE_SCHEMA, TABLE_NAME, mv.* FROM information_schema.materialized_views mv" + where,
          ("TABLE_SCHEMA", "TABLE_NAME", "MATERIALIZED_VIEW_DEFINITION"), []),
        q("SELECT DB_NAME, TABLE_NAME, p.* FROM information_schema.partitions_meta p WHERE DB_NAME IN ('dw')",
          ("DB_NAME", "TABLE_NAME", "PARTITION_NAME", "VISIBLE_VERSION"),
          [("dw", "t", "t", "12"), ("dw", "u", "u", "3")]),
        q("SHOW ALTER TABLE COLUMN FROM `dw`", COLUMN_JOB_COLUMNS, [column_job("262013", "FINISHED", table="t")]),
    ]


def test_recording_on_starrocks_reads_the_ddl_of_changed_objects_only() -> None:
    """The snapshot is written with statements a Primary Key table accepts: INSERT of every column (an existing key
    is replaced) and DELETE with a WHERE on the key for objects gone since the last record. Only objects whose
    catalog fingerprint differs from the recorded one are read with SHOW CREATE: here `t`, not `u`."""
    from datetime import datetime

    from rockway.schema.drift import record_snapshot, snapshot_spec
    from rockway.schema.scope import Scope

    objects = [SchemaObject("dw", "t", "table"), SchemaObject("dw", "u", "table")]
    prints = StarRocksIntrospection(_adapter(ReplayConnection(_catalog_steps()))).fingerprints(objects)
    conn = ReplayConnection([])
    adapter = _adapter(conn)
    normalised = normalize_starrocks_ddl("table", PK_TABLE)
    recorded_at = datetime(2026, 2, 1, 9, 0, 0)
    record_columns = ("object_name", "object_kind", "ddl", "ddl_hash", "run_id", "recorded_at", "catalog_hash")
    conn.steps = [
        q(adapter.create_table_sql(snapshot_spec())),
        # the record as it stands: `t` with an older DDL, `u` as it is now, `gone` dropped since
        q("SELECT * FROM `warehouse`.`rockway_schema_snapshot` ORDER BY object_name", record_columns,
          [("dw.gone", "table", "CREATE TABLE `gone` (\n)", "x", "run-1", recorded_at, "y"),
           ("dw.t", "table", "CREATE TABLE `t` (\n)", "older", "run-1", recorded_at, "older"),
           ("dw.u", "table", "CREATE TABLE `u` (\n)", "u-hash", "run-1", recorded_at, prints["dw.u"])]),
        q("SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.materialized_views WHERE TABLE_SCHEMA IN ('dw')",
          ("TABLE_SCHEMA", "TABLE_NAME"), []),
        q("SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE, TABLE_COMMENT FROM information_schema.tables"
          " WHERE TABLE_SCHEMA IN ('dw')", ("TABLE_SCHEMA", "TABLE_NAME", "TABLE_TYPE", "TABLE_COMMENT"),
          [("dw", "t", "BASE TABLE", ""), ("dw", "u", "BASE TABLE", ""), ("dw", "rockway_job_lock", "BASE TABLE", "")]),
        *_catalog_steps(),
        q("SHOW CREATE TABLE `dw`.`t`", ("Table", "Create Table"), [("t", PK_TABLE)]),
        q(adapter.literal_sql(
            "INSERT INTO `warehouse`.`rockway_schema_snapshot` (`object_name`, `object_kind`, `ddl`, `ddl_hash`,"
            " `run_id`, `recorded_at`, `catalog_hash`) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            ["dw.t", "table", normalised, ddl_hash(normalised), "run-2", datetime(2026, 3, 1, 12, 0, 0),
             prints["dw.t"]])),
        q("DELETE FROM `warehouse`.`rockway_schema_snapshot` WHERE object_name IN ('dw.gone')"),
    ]
    scope = Scope(("dw",), ("rockway_schema_history", "rockway_*", "rw_*"))
    assert record_snapshot(adapter, scope, "run-2", recorded_at=datetime(2026, 3, 1, 12, 0, 0)) == 2
    conn.assert_done()


def test_a_fingerprint_ignores_counters_and_follows_schema_changes_jobs_and_partitions() -> None:
    objects = [SchemaObject("dw", "t", "table"), SchemaObject("dw", "u", "table")]

    def prints(edit: Callable[[list[Step]], None] = lambda steps: None) -> dict[str, str]:
        steps = _catalog_steps()
        edit(steps)
        return StarRocksIntrospection(_adapter(ReplayConnection(steps))).fingerprints(objects)

    def cell(step: int, row: int, column: int, value: str) -> Callable[[list[Step]], None]:
        def edit(steps: list[Step]) -> None:
            values = list(steps[step].rows[row])
            values[column] = value
            steps[step].rows[row] = tuple(values)
        return edit

    base = prints()
    assert prints(cell(0, 0, 3, "9000")) == base  # TABLE_ROWS: a load, not a schema change
    assert prints(cell(5, 0, 3, "13")) == base  # a partition's VISIBLE_VERSION
    assert prints(cell(1, 0, 4, "largeint"))["dw.t"] != base["dw.t"]  # a column's type
    assert prints(cell(2, 1, 5, '{"replication_num":"1"}'))["dw.u"] != base["dw.u"]  # a property
    assert prints(cell(5, 1, 2, "p20260302"))["dw.u"] != base["dw.u"]  # a partition added or renamed
    changed = prints(cell(6, 0, 0, "262020"))  # a newer schema-change job: an index the catalog does not list
    assert changed["dw.t"] != base["dw.t"] and changed["dw.u"] == base["dw.u"]
    # with dynamic partitioning the server changes the partitions every day: they are not part of it
    dynamic = cell(2, 1, 5, '{"dynamic_partition.enable":"true"}')
    assert prints(dynamic) == prints(lambda steps: (dynamic(steps), cell(5, 1, 2, "p20260302")(steps)))


def test_without_partitions_meta_every_ddl_is_read() -> None:
    steps = _catalog_steps()
    steps[5] = q(steps[5].expect, error=(1064, "Unknown table 'information_schema.partitions_meta'"))
    steps = steps[:6]
    adapter = _adapter(ReplayConnection(steps))
    assert StarRocksIntrospection(adapter).fingerprints([SchemaObject("dw", "t", "table")]) == {}
