"""Recorded `information_schema.materialized_views` answers of StarRocks and a StarRocksAdapter replaying them.

The catalog rows are the recorded `SELECT * FROM information_schema.materialized_views` row of
`user_tags_mv1` (R test_materialized_view/R/test_show_materialized_view L150-163, 4.x, 27 columns) and the same
values in the 22-column shape of ≤3.2 (before EXTRA_MESSAGE, QUERY_REWRITE_STATUS, CREATOR,
LAST_REFRESH_PROCESS_TIME, LAST_REFRESH_JOB_ID; all VARCHAR then, so every cell is a string; the 3.x
definition text is the normalized form of the same StarRocks file before PR #64318). Inactive reasons are recorded ones: "base table schema
changed for columns: k1" (R test_mv_with_schema_change_column_rename), "base-table dropped: ss"
(R test_mv/basic), "base-table swapped: mv1" and "base-mv inactive: mv_on_mv_1" (StarRocks
test/sql/test_materialized_view/R/test_mv_swap). [INFERRED] 4.x cell types follow #60054 (ids BIGINT,
times DATETIME, duration DOUBLE), i.e. what pymysql returns for them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Sequence

from rockway.adapters import Timeouts
from rockway.adapters.starrocks.base import StarRocksAdapter
from rockway.adapters.starrocks.mv import PROBE_SQL, WANTED_COLUMNS
from rockway.config import Settings, parse_dsn
from tests.support.starrocks_replay import ReplayConnection, Step, q

COLUMNS_4X = ("MATERIALIZED_VIEW_ID", "TABLE_SCHEMA", "TABLE_NAME", "REFRESH_TYPE", "IS_ACTIVE", "INACTIVE_REASON",
              "PARTITION_TYPE", "TASK_ID", "TASK_NAME", "LAST_REFRESH_START_TIME", "LAST_REFRESH_FINISHED_TIME",
              "LAST_REFRESH_DURATION", "LAST_REFRESH_STATE", "LAST_REFRESH_FORCE_REFRESH",
              "LAST_REFRESH_START_PARTITION", "LAST_REFRESH_END_PARTITION", "LAST_REFRESH_BASE_REFRESH_PARTITIONS",
              "LAST_REFRESH_MV_REFRESH_PARTITIONS", "LAST_REFRESH_ERROR_CODE", "LAST_REFRESH_ERROR_MESSAGE", "TABLE_ROWS",
              "MATERIALIZED_VIEW_DEFINITION", "EXTRA_MESSAGE", "QUERY_REWRITE_STATUS", "CREATOR",
              "LAST_REFRESH_PROCESS_TIME", "LAST_REFRESH_JOB_ID")
COLUMNS_3X = COLUMNS_4X[:22]

DEFINITION_4X = ("CREATE MATERIALIZED VIEW `user_tags_mv1` (`user_id`, `bitmap_union(to_bitmap(tag_id))`)\n"
                 "DISTRIBUTED BY HASH(`user_id`)\nREFRESH DEFERRED MANUAL\nPROPERTIES (\n"
                 "\"session.insert_timeout\" = \"3600\",\n\"replicated_storage\" = \"true\",\n"
                 "\"mv_rewrite_staleness_second\" = \"3600\",\n\"replication_num\" = \"1\",\n\"storage_medium\" = \"HDD\"\n"
                 ")\nAS select user_id, bitmap_union(to_bitmap(tag_id)) from user_tags group by user_id;")
EXTRA_4X = ('{"queryIds":["019a81bb-475c-74f3-8bd3-846e02380586"],"isManual":true,"isSync":true,"isReplay":false,'
            '"priority":80,"lastTaskRunState":"SUCCESS"}')
# SELECT * … WHERE TABLE_SCHEMA = 'test_show_materialized_view' and table_name = 'user_tags_mv1' (4.x, 27 columns;
# StarRocks test/sql/test_materialized_view/R/test_show_materialized_view L150-163)
ROW_4X = (10598, "test_show_materialized_view", "user_tags_mv1", "MANUAL", "true", None, "UNPARTITIONED", 10606,
          "mv-10598", datetime(2025, 11, 14, 17, 38, 45), datetime(2025, 11, 14, 17, 38, 46), 0.264, "SUCCESS", "true",
          "NULL", "NULL", "{}", "[user_tags_mv1]", 0, "", 0, DEFINITION_4X, EXTRA_4X, "VALID", "'root'@'%'",
          datetime(2025, 11, 14, 17, 38, 46), "019a81bb-475c-7a2e-bf81-65eafb6a9b83")
DEFINITION_3X = ("AS SELECT `user_tags`.`user_id`, bitmap_union(to_bitmap(`user_tags`.`tag_id`)) AS "
                 "`bitmap_union(to_bitmap(tag_id))`\nFROM `test_show_materialized_view`.`user_tags`\n"
                 "GROUP BY `user_tags`.`user_id`;")
# The same values in the ≤3.2 shape: 22 columns, every cell VARCHAR.
ROW_3X = ("10598", "test_show_materialized_view", "user_tags_mv1", "MANUAL", "true", None, "UNPARTITIONED", "10606",
          "mv-10598", "2025-11-14 17:38:45", "2025-11-14 17:38:46", "0.264", "SUCCESS", "true", "NULL", "NULL", "{}",
          "[user_tags_mv1]", "0", "", "0", DEFINITION_3X)
SCHEMA_CHANGED = "base table schema changed for columns: k1"
DROPPED = "base-table dropped: ss"
SWAPPED = "base-table swapped: mv1"
BASE_MV_INACTIVE = "base-mv inactive: mv_on_mv_1"
# ALTER MATERIALIZED VIEW mv_on_mv_2 ACTIVE while its base MV is inactive (R test_mv_swap, 3.x text).
ACTIVATE_BASE_INACTIVE = (1064, "Unexpected exception: Getting analyzing error. Detail message: Can not active "
                                "materialized view [mv_on_mv_2] because analyze materialized view define sql: \n\n"
                                "CREATE MATERIALIZED VIEW `mv_on_mv_2` (`sum_sum_pv + 1`)\nDISTRIBUTED BY RANDOM\n"
                                "REFRESH ASYNC\nPROPERTIES (\n\"replicated_storage\" = \"true\",\n"
                                "\"replication_num\" = \"1\",\n\"storage_medium\" = \"HDD\"\n)\n"
                                "AS SELECT `db_test_mv_swap`.`mv_on_mv_1`.`sum_sum_pv` + 1 AS `sum_sum_pv + 1`\n"
                                "FROM `db_test_mv_swap`.`mv_on_mv_1`;\n\nCause an error: Create/Rebuild materialized "
                                "view from inactive materialized view: mv_on_mv_1.")
ACTIVATE_COLUMN_GONE = (1064, "Unexpected exception: Getting analyzing error. Detail message: Can not active "
                              "materialized view [mv_on_mv_1] because analyze materialized view define sql: \n\n"
                              "CREATE MATERIALIZED VIEW `mv_on_mv_1` (`sum_sum_pv`)\nDISTRIBUTED BY RANDOM\n"
                              "REFRESH ASYNC\nPROPERTIES (\n\"replicated_storage\" = \"true\",\n"
                              "\"replication_num\" = \"1\",\n\"storage_medium\" = \"HDD\"\n)\n"
                              "AS SELECT sum(`db_test_mv_swap`.`mv1`.`sum_pv`) AS `sum_sum_pv`\n"
                              "FROM `db_test_mv_swap`.`mv1`;\n\nCause an error: Column "
                              "'`db_test_mv_swap`.`mv1`.`sum_pv`' cannot be resolved.")

SELECT_ALL_WANTED = ("SELECT " + ", ".join(WANTED_COLUMNS) + " FROM information_schema.materialized_views"
                     " ORDER BY TABLE_SCHEMA, TABLE_NAME")
NOW = "SELECT now()"


def probe(columns: Sequence[str]) -> Step:
    """The probe's answer: one row per column of information_schema.materialized_views."""
    return q(PROBE_SQL, ("COLUMN_NAME",), [(c,) for c in columns])


def project(columns: Sequence[str], row: Sequence[Any], wanted: Sequence[str]) -> tuple:
    by_name = dict(zip(columns, row))
    return tuple(by_name[c] for c in wanted)


def varied(row: Sequence[Any], columns: Sequence[str], **changes: Any) -> tuple:
    by_name = dict(zip(columns, row))
    by_name.update({k.upper(): v for k, v in changes.items()})
    return tuple(by_name[c] for c in columns)


def adapter_for(steps: list[Step]) -> tuple[StarRocksAdapter, ReplayConnection]:
    conn = ReplayConnection(steps)
    adapter = StarRocksAdapter(conn, parse_dsn("starrocks://root@h:9030/test_show_materialized_view"), Timeouts(),
                               "3.3.5-abc1234")
    adapter.configure(Settings(wait_for_mv=False))
    return adapter, conn


# The recorded row under the warehouse's names (sales_dw.mv_sales_daily), as rockway's MV health reads it.
BASE_VIEW_CHANGED = "base-view changed: v_sales_enriched"
ACTIVATE = "ALTER MATERIALIZED VIEW `sales_dw`.`mv_sales_daily` ACTIVE"


def mv_row(name: str = "mv_sales_daily", **changes: Any) -> tuple:
    """The recorded row as sales_dw.<name>, projected on the columns rockway reads."""
    row = varied(ROW_4X, COLUMNS_4X, table_schema="sales_dw", table_name=name, **changes)
    return project(COLUMNS_4X, row, WANTED_COLUMNS)


def listing(*rows: tuple) -> Step:
    return q(SELECT_ALL_WANTED, WANTED_COLUMNS, list(rows))
