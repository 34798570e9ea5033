"""Replay recorded StarRocks answers: a fake pymysql connection that follows a script.

Each step names the SQL the adapter must send next (exactly, or as a regex) and what the server
answered: a result set (column labels + rows) or an error `(errno, message)`, raised as the pymysql
exception class pymysql itself would pick for that errno. Every statement is checked in order, BEGIN /
START TRANSACTION fail the test, and `assert_done()` checks nothing expected was left unsent.

Each recorded value below names its public source: `test/sql/<dir>/R/<file>` (StarRocks' SQL-tester results)
and `fe/…` (FE source) in the StarRocks repository (https://github.com/StarRocks/starrocks), a docs.starrocks.io
page, or a StarRocks issue or pull request where a user or maintainer pasted the server's output. Rows marked
[INFERRED] follow the documented row shape where no verbatim sample exists.
As in the server's MySQL protocol answers, SHOW output cells are strings (SHOW result sets are
all VARCHAR), unset times/progress are the literal string "NULL", and SQL NULL is None.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Sequence

import pymysql
from pymysql.converters import escape_item

# --- recorded answers --------------------------------------------------------------------------

# `select @@version_comment` -> 3.1.5-5d8438a (StarRocks issue #37407); current_version() is the same string
# (https://docs.starrocks.io/docs/sql-reference/sql-functions/utility-functions/current_version/).
VERSION_3_1_5 = "3.1.5-5d8438a"
# MySQL/MariaDB have no current_version(): ER_SP_DOES_NOT_EXIST.
MYSQL_NO_CURRENT_VERSION = (1305, "FUNCTION test.current_version does not exist")

# SHOW ALTER TABLE column lists (note FinishTime vs FinishedTime): fe/fe-core/src/main/java/com/starrocks/common/proc/
# SchemaChangeProcDir.java, RollupProcDir.java, OptimizeProcDir.java.
COLUMN_JOB_COLUMNS = ("JobId", "TableName", "CreateTime", "FinishTime", "IndexName", "IndexId", "OriginIndexId",
                      "SchemaVersion", "TransactionId", "State", "Msg", "Progress", "Timeout")
ROLLUP_JOB_COLUMNS = ("JobId", "TableName", "CreateTime", "FinishedTime", "BaseIndexName", "RollupIndexName",
                      "RollupId", "TransactionId", "State", "Msg", "Progress", "Timeout")
OPTIMIZE_JOB_COLUMNS = ("JobId", "TableName", "CreateTime", "FinishTime", "Operation", "TransactionId", "State", "Msg",
                        "Progress", "Timeout")

# rows of StarRocks issue #46534 (`show alter table column order by jobid desc limit 10`).
COLUMN_RUNNING = ("262013", "ta_event_119", "2024-06-03 14:13:15", "NULL", "ta_event_119", "262014", "255687", "0:0",
                  "753018", "RUNNING", "", "18/48", "86400")
COLUMN_CANCELLED = ("259010", "ta_event_119", "2024-06-03 12:04:51", "2024-06-03 14:12:18", "ta_event_119", "259011",
                    "255687", "0:0", "750014", "CANCELLED", "user cancelled", "NULL", "86400")
# StarRocks issue #40750 (3.2.2 shared-data): FINISHED_REWRITING, empty Msg, Progress NULL.
COLUMN_FINISHED_REWRITING = ("262013", "ta_event_119", "2024-06-03 14:13:15", "NULL", "ta_event_119", "262014",
                             "255687", "0:0", "753018", "FINISHED_REWRITING", "", "NULL", "86400")
# [INFERRED] FINISHED row: same job, FinishTime set, Progress NULL once no longer RUNNING (SchemaChangeJobV2.getInfo).
COLUMN_FINISHED = ("262013", "ta_event_119", "2024-06-03 14:13:15", "2024-06-03 14:31:40", "ta_event_119", "262014",
                   "255687", "0:0", "753018", "FINISHED", "", "NULL", "86400")
# WAITING_TXN appears in the thread of issue #46534 [INFERRED cell values].
COLUMN_WAITING_TXN = ("262013", "ta_event_119", "2024-06-03 14:13:15", "NULL", "ta_event_119", "262014", "255687",
                      "0:0", "753018", "WAITING_TXN", "", "NULL", "86400")


def column_job(job_id: str, state: str, progress: str = "NULL", msg: str = "", table: str = "ta_event_119") -> tuple:
    """A COLUMN job row shaped like the recorded ones, for a later job of the same table."""
    finish = "NULL" if state not in ("FINISHED", "CANCELLED") else "2024-06-03 15:02:11"
    return (job_id, table, "2024-06-03 15:00:05", finish, table, str(int(job_id) + 1), "255687", "0:0", "753101", state,
            msg, progress, "86400")


# SHOW ALTER MATERIALIZED VIEW\G (https://docs.starrocks.io/docs/sql-reference/sql-statements/materialized_view/
# SHOW_ALTER_MATERIALIZED_VIEW/); ROLLUP returns the same columns.
MV_JOB_1_FINISHED = ("475991", "lineorder", "2022-08-24 19:46:53", "2022-08-24 19:47:15", "lineorder", "lo_mv_sync_1",
                     "475992", "33067", "FINISHED", "", "NULL", "86400")
MV_JOB_2_FINISHED = ("477337", "lineorder", "2022-08-24 19:47:25", "2022-08-24 19:47:45", "lineorder", "lo_mv_sync_2",
                     "477338", "33068", "FINISHED", "", "NULL", "86400")
# [INFERRED] the second job while it runs.
MV_JOB_2_RUNNING = ("477337", "lineorder", "2022-08-24 19:47:25", "NULL", "lineorder", "lo_mv_sync_2", "477338",
                    "33068", "RUNNING", "", "NULL", "86400")

# REFRESH MATERIALIZED VIEW answers one row, column QUERY_ID (test/sql/test_random_distribution/R/test_random_distribution,
# async, recorded 2023).
REFRESH_COLUMNS = ("QUERY_ID",)
REFRESH_QUERY_ID = "8f3247bb-dff2-11ed-b085-00163e05ba4a"
# a SYNC MODE refresh of an inactive MV fails with this error
# (test/sql/test_materialized_view/R/test_mv_with_multi_partition_columns_optimize).
REFRESH_INACTIVE_ERROR = (1064, "execute task mv-10019 failed: Materialized view: mv1/10019 is not active due to "
                                "base-table optimized:t1.")
# information_schema.materialized_views row values of user_tags_mv1 (test/sql/test_materialized_view/R/
# test_show_materialized_view; the inactive reason: test/sql/test_mv/R/test_mv_with_schema_change_column_rename).
MV_INFO_COLUMNS = ("MATERIALIZED_VIEW_ID", "TASK_NAME", "IS_ACTIVE", "INACTIVE_REASON")
MV_INFO_ACTIVE = ("10598", "mv-10598", "true", None)
MV_INFO_INACTIVE = ("10598", "mv-10598", "false", "base table schema changed for columns: k1")
# task_runs: QUERY_ID / TASK_NAME `mv-<id>` / STATE / ERROR_MESSAGE / PROGRESS
# (https://docs.starrocks.io/docs/sql-reference/sql-statements/materialized_view/CREATE_MATERIALIZED_VIEW/).
TASK_RUN_COLUMNS = ("QUERY_ID", "TASK_NAME", "STATE", "ERROR_MESSAGE", "PROGRESS")
MV_QUERY_ID = "019a81bb-475c-74f3-8bd3-846e02380586"

# SHOW BACKENDS column list of 4.1 (fe/fe-core/src/main/java/com/starrocks/common/proc/BackendsProcDir.java); `Alive` is
# `true` or `false`.
BACKENDS_COLUMNS = ("BackendId", "IP", "HeartbeatPort", "BePort", "HttpPort", "BrpcPort", "LastStartTime",
                    "LastHeartbeat", "Alive", "SystemDecommissioned", "ClusterDecommissioned", "TabletNum",
                    "DataUsedCapacity", "AvailCapacity", "TotalCapacity", "UsedPct", "MaxDiskUsedPct", "ErrMsg", "Version",
                    "Status", "DataTotalCapacity", "DataUsedPct", "CpuCores", "MemLimit", "NumRunningQueries",
                    "MemUsedPct", "CpuUsedPct", "DataCacheMetrics", "Location", "StatusCode")


def backend_row(backend_id: int, alive: bool, host: str = "starrocks-be-0") -> tuple:
    """[INFERRED] one SHOW BACKENDS row; value formats from the documented (older) example rows of
    https://docs.starrocks.io/docs/sql-reference/sql-statements/cluster-management/nodes_processes/SHOW_BACKENDS/."""
    return (str(backend_id), host, "9050", "9060", "8040", "8060", "2026-01-20 12:59:02", "2026-01-21 13:24:20",
            "true" if alive else "false", "false", "false", "177", "1.456 GB", "420.061 GB", "491.057 GB", "14.46 %",
            "14.46 %", "" if alive else "java.net.ConnectException: Connection refused", "4.1.0-8ba5c3a",
            '{"lastSuccessReportTabletsTime":"2026-01-21 13:24:04"}', "421.517 GB", "0.35 %", "8", "20.000 GB", "0",
            "3.12 %", "0.8 %", "N/A", "", "OK" if alive else "DISCONNECTED")


# error texts: table exists (test/sql/test_column_rename/R/test_column_rename2).
TABLE_EXISTS_1050 = (1050, "Getting analyzing error. Detail message: Table 'rockway_lock' already exists.")
# ≤3.2 reported the same condition as 1064 (StarRocks PR #42086 moved it to 1050 for 3.3).
TABLE_EXISTS_1064 = (1064, "Getting analyzing error. Detail message: Table 'rockway_lock' already exists.")
# schema change in progress, 4.x wording (fe/fe-core/src/main/java/com/starrocks/common/InvalidOlapTableStateException.java
# + FeConstants.DOCUMENT_SHOW_ALTER).
BUSY_SCHEMA_CHANGE_4X = (1064, "A schema change operation is in progress on the table ta_event_119. Please wait until "
                               "the current operation completes. To check the status of the operation, see "
                               "https://docs.starrocks.io/docs/sql-reference/sql-statements/table_bucket_part_index/SHOW_ALTER")
# 3.1–3.5 wording (StarRocks PR #24806): table name in double quotes, ".\nTo check …".
BUSY_SCHEMA_CHANGE_3X = (1064, 'A schema change operation is in progress on the table "ta_event_119". Please wait until '
                               "the current operation completes.\nTo check the status of the operation, see "
                               "https://docs.starrocks.io/docs/sql-reference/sql-statements/table_bucket_part_index/SHOW_ALTER")
# ≤3.0 wording (AlterJobMgr before PR #24806).
BUSY_NOT_NORMAL = (1064, "Table[ta_event_119]'s state is not NORMAL. Do not allow doing ALTER ops")
BUSY_ROLLUP = (1064, "A materialized view or rollup index is being created on the table lineorder. Please wait until "
                     "the current operation completes.")
BUSY_BACKUP = (1064, "A backup operation is in progress on the table ta_event_119. Please wait until the current "
                     "operation completes.")
BUSY_RESTORE = (1064, "A snapshot restore operation is in progress on the table ta_event_119. Please wait until the "
                      "current operation completes.")
BUSY_ALTERED = (1064, "The table ta_event_119 is being altered or having a materialized view built on it. Please wait "
                      "until the current operation completes.")
# unrelated errors that must not be retried (test/sql/test_alter_table/R/test_alter_table_abnormal,
# test/sql/test_materialized_view_refresh/R/test_mv_refresh_with_union3).
UNKNOWN_COLUMN = (1064, "Column does not exists: v100")
UNKNOWN_TABLE = (5502, "Getting analyzing error. Detail message: Unknown table 't1'.")


# --- the fake connection ---------------------------------------------------------------------------

@dataclass
class Step:
    """One expected statement and the server's answer."""

    expect: str
    regex: bool = False
    columns: tuple[str, ...] = ()
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    error: tuple[int, str] | None = None

    def matches(self, sql: str) -> bool:
        return bool(re.fullmatch(self.expect, sql, re.S)) if self.regex else sql == self.expect


def q(expect: str, columns: Sequence[str] = (), rows: Sequence[tuple[Any, ...]] = (), *,
      error: tuple[int, str] | None = None) -> Step:
    """Expect exactly this SQL (after pymysql-style parameter interpolation)."""
    return Step(expect, False, tuple(columns), list(rows), error)


def rx(pattern: str, columns: Sequence[str] = (), rows: Sequence[tuple[Any, ...]] = (), *,
       error: tuple[int, str] | None = None) -> Step:
    """Expect SQL matching this regex (full match, DOTALL)."""
    return Step(pattern, True, tuple(columns), list(rows), error)


def pymysql_error(errno: int, message: str) -> pymysql.err.MySQLError:
    """The exception pymysql raises for a server error packet with this errno."""
    cls = pymysql.err.error_map.get(errno) or (pymysql.err.InternalError if errno < 1000 else pymysql.err.OperationalError)
    return cls(errno, message)


_BEGIN = re.compile(r"\s*(?:BEGIN|START\s+TRANSACTION)\b", re.I)


class ReplayConnection:
    """Stands in for a pymysql Connection; answers from the script, in order."""

    def __init__(self, steps: Sequence[Step]) -> None:
        self.steps = list(steps)
        self.position = 0
        self.sent: list[str] = []
        self._result = None
        self.closed = False

    def cursor(self) -> "ReplayCursor":
        return ReplayCursor(self)

    def begin(self) -> None:
        raise AssertionError("BEGIN must never be sent to StarRocks")

    def thread_id(self) -> int:
        return 42

    def close(self) -> None:
        self.closed = True

    def answer(self, sql: str) -> Step:
        self.sent.append(sql)
        if _BEGIN.match(sql):
            raise AssertionError(f"BEGIN/START TRANSACTION sent to StarRocks: {sql!r}")
        if self.position >= len(self.steps):
            raise AssertionError(f"unexpected statement #{len(self.sent)} after the script ended:\n{sql}")
        step = self.steps[self.position]
        if not step.matches(sql):
            raise AssertionError(f"statement #{len(self.sent)} differs from the script.\nexpected"
                                 f"{' (regex)' if step.regex else ''}:\n{step.expect}\ngot:\n{sql}")
        self.position += 1
        if step.error is not None:
            raise pymysql_error(*step.error)
        return step

    def assert_done(self) -> None:
        left = self.steps[self.position:]
        assert not left, f"{len(left)} expected statement(s) never sent; next: {left[0].expect!r}"


class ReplayCursor:
    """The cursor surface the adapters use: execute, fetch*, description, rowcount, mogrify."""

    def __init__(self, conn: ReplayConnection) -> None:
        self.conn = conn
        self.description: tuple[tuple[Any, ...], ...] | None = None
        self.rowcount = -1
        self._rows: list[tuple[Any, ...]] = []

    def __enter__(self) -> "ReplayCursor":
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def mogrify(self, sql: str, args: Sequence[Any] | None = None) -> str:
        if args is None:
            return sql
        return sql % tuple(escape_item(a, "utf8mb4") for a in args)

    def execute(self, sql: str, args: Sequence[Any] | None = None) -> int:
        step = self.conn.answer(self.mogrify(sql, args))
        if step.columns:
            self.description = tuple((name, 253, None, None, None, None, True) for name in step.columns)
            self._rows = list(step.rows)
            self.rowcount = len(self._rows)
        else:
            self.description = None
            self._rows = []
            self.rowcount = 0
        return self.rowcount

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        return sum(self.execute(sql, row) for row in rows)

    def fetchall(self) -> list[tuple[Any, ...]]:
        rows, self._rows = self._rows, []
        return rows

    def fetchone(self) -> tuple[Any, ...] | None:
        return self._rows.pop(0) if self._rows else None


class FakeClock:
    """A monotonic clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
