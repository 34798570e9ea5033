"""StarRocks adapter against recorded server answers (see starrocks_replay.py for their sources)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Callable, Iterator

import pytest

import rockway.adapters as adapters
from rockway.adapters import Column, LockOwner, TableSpec, Timeouts, detect_engine
from rockway.adapters.starrocks.base import StarRocksAdapter
from rockway.adapters.starrocks.lock import DdlMutexLock, LockLost
from rockway.adapters.starrocks.sql import (JobType, Kind, classify, column_type, is_already_exists, is_table_busy, mask,
                                            strip_leading_comments)
from rockway.config import Settings, parse_dsn
from rockway.errors import AsyncJobFailed, ConfigError, DatabaseError
from tests.support.starrocks_replay import (BUSY_ALTERED, BUSY_BACKUP, BUSY_NOT_NORMAL, BUSY_RESTORE, BUSY_ROLLUP,
                              BUSY_SCHEMA_CHANGE_3X, BUSY_SCHEMA_CHANGE_4X, COLUMN_CANCELLED, COLUMN_FINISHED,
                              COLUMN_FINISHED_REWRITING, COLUMN_JOB_COLUMNS, COLUMN_RUNNING, COLUMN_WAITING_TXN,
                              MV_INFO_ACTIVE, MV_INFO_COLUMNS, MV_INFO_INACTIVE, MV_JOB_1_FINISHED, MV_JOB_2_FINISHED,
                              MV_JOB_2_RUNNING, MV_QUERY_ID, MYSQL_NO_CURRENT_VERSION, OPTIMIZE_JOB_COLUMNS,
                              REFRESH_COLUMNS, REFRESH_INACTIVE_ERROR, REFRESH_QUERY_ID, ROLLUP_JOB_COLUMNS,
                              TABLE_EXISTS_1050, TABLE_EXISTS_1064, TASK_RUN_COLUMNS, UNKNOWN_COLUMN, UNKNOWN_TABLE,
                              VERSION_3_1_5, FakeClock, ReplayConnection, Step, column_job, q, rx)

T0 = datetime(2025, 1, 1, 0, 0, 0, tzinfo=timezone.utc)
SHOW_COLUMN = "SHOW ALTER TABLE COLUMN FROM `db` WHERE TableName = 'ta_event_119' ORDER BY JobId DESC LIMIT 1"
ALTER_ADD = "ALTER TABLE ta_event_119 ADD COLUMN c2 INT"


class Harness:
    """An adapter wired to a replay connection and a fake clock."""

    def __init__(self, steps: list[Step], *, async_timeout: float = 30, poll_interval: float = 1,
                 wait_for_mv: bool = True, replication_num: int | None = 1) -> None:
        self.conn = ReplayConnection(steps)
        self.clock = FakeClock()
        self.adapter = StarRocksAdapter(self.conn, parse_dsn("starrocks://root@h:9030/db"), Timeouts(), "3.3.5-abc1234")
        self.adapter.configure(Settings(async_timeout=async_timeout, poll_interval=poll_interval,
                                        wait_for_mv=wait_for_mv, replication_num=replication_num))
        self.adapter._clock = self.clock.monotonic
        self.adapter._sleep = self.clock.sleep
        self.adapter._utcnow = lambda: T0 + timedelta(seconds=self.clock.now)
        self.progress: list[str] = []

    def run(self, sql: str, **kw: object):  # type: ignore[no-untyped-def]
        return self.adapter.run_statement(sql, on_progress=self.progress.append, **kw)  # type: ignore[arg-type]


@pytest.fixture
def harness() -> Iterator[Callable[..., Harness]]:
    """Make a Harness; at teardown every scripted statement must have been sent, and no BEGIN."""
    made: list[Harness] = []

    def make(steps: list[Step], **kw: object) -> Harness:
        h = Harness(steps, **kw)  # type: ignore[arg-type]
        made.append(h)
        return h

    yield make
    for h in made:
        h.conn.assert_done()
        assert not any(s.lstrip().upper().startswith(("BEGIN", "START TRANSACTION")) for s in h.conn.sent)


def show_column(*rows: tuple) -> Step:
    return q(SHOW_COLUMN, COLUMN_JOB_COLUMNS, list(rows))


# --- engine detection ----------------------------------------------------------------------------

def test_detect_engine_starrocks_from_current_version() -> None:
    conn = ReplayConnection([q("SELECT current_version()", ("current_version()",), [(VERSION_3_1_5,)])])
    assert detect_engine(conn) == ("starrocks", "3.1.5-5d8438a")
    conn.assert_done()


def test_detect_engine_mysql_when_current_version_is_missing() -> None:
    conn = ReplayConnection([q("SELECT current_version()", error=MYSQL_NO_CURRENT_VERSION),
                             q("SELECT VERSION()", ("VERSION()",), [("10.11.6-MariaDB-0+deb12u1",)])])
    assert detect_engine(conn) == ("mysql", "10.11.6-MariaDB-0+deb12u1")
    conn.assert_done()


def test_connect_dsn_builds_configured_starrocks_adapter(monkeypatch: pytest.MonkeyPatch) -> None:
    conn = ReplayConnection([q("SELECT current_version()", ("current_version()",), [(VERSION_3_1_5,)])])
    monkeypatch.setattr(adapters, "open_connection", lambda dsn, timeouts: conn)
    adapter = adapters.connect_dsn(parse_dsn("starrocks://root@h:9030/db"),
                                   settings=Settings(async_timeout=77, poll_interval=0.5, replication_num=3,
                                                     wait_for_mv=False, lock_lease=120))
    assert isinstance(adapter, StarRocksAdapter)
    assert adapter.server_version == VERSION_3_1_5
    assert (adapter.async_timeout, adapter.poll_interval, adapter.replication_num, adapter.wait_for_mv,
            adapter.lock_lease) == (77, 0.5, 3, False, 120)
    assert adapter.capabilities.async_ddl and not adapter.capabilities.transactional_dml
    assert not adapter.capabilities.advisory_lock and adapter.capabilities.table_swap


def test_connect_dsn_rejects_starrocks_scheme_on_mysql(monkeypatch: pytest.MonkeyPatch) -> None:
    conn = ReplayConnection([q("SELECT current_version()", error=MYSQL_NO_CURRENT_VERSION),
                             q("SELECT VERSION()", ("VERSION()",), [("8.0.36",)])])
    monkeypatch.setattr(adapters, "open_connection", lambda dsn, timeouts: conn)
    with pytest.raises(ConfigError, match="use mysql://"):
        adapters.connect_dsn(parse_dsn("starrocks://root@h:9030/db"))
    assert conn.closed


def test_defaults_without_settings() -> None:
    adapter = StarRocksAdapter(ReplayConnection([]), parse_dsn("starrocks://root@h:9030/db"), Timeouts(), "3.3.5-abc1234")
    assert (adapter.async_timeout, adapter.poll_interval, adapter.replication_num, adapter.wait_for_mv,
            adapter.lock_lease) == (3600.0, 1.0, None, True, 900.0)  # poll_interval: the poll schedule's floor
    assert adapter.engine == "starrocks"


def test_begin_is_refused_before_reaching_the_server(harness: Callable[..., Harness]) -> None:
    h = harness([])
    for statement in ("BEGIN", "  start transaction", "/* x */ BEGIN WITH LABEL l1"):
        with pytest.raises(DatabaseError, match="does not open transactions"):
            h.adapter.execute(statement)
    assert h.conn.sent == []


# --- rockway's own tables --------------------------------------------------------------------------

HISTORY = TableSpec(
    "rockway_schema_history",
    (Column("installed_on", "DATETIME", False), Column("description", "VARCHAR(200)"), Column("script", "TEXT"),
     Column("installed_rank", "INT", False), Column("success", "BOOLEAN"), Column("checksum", "BIGINT"),
     Column("run_at", "TIMESTAMP")),
    ("installed_rank",), comment='rockway "schema" history')


def test_create_table_sql_exact_text(harness: Callable[..., Harness]) -> None:
    h = harness([], replication_num=1)
    assert h.adapter.create_table_sql(HISTORY, properties={"enable_persistent_index": "true"}) == (
        "CREATE TABLE IF NOT EXISTS `db`.`rockway_schema_history` (\n"
        "  `installed_rank` INT NOT NULL,\n"
        "  `installed_on` DATETIME NOT NULL,\n"
        "  `description` VARCHAR(200) NULL,\n"
        "  `script` STRING NULL,\n"
        "  `success` BOOLEAN NULL,\n"
        "  `checksum` BIGINT NULL,\n"
        "  `run_at` DATETIME NULL\n"
        ")\n"
        "PRIMARY KEY(`installed_rank`)\n"
        'COMMENT "rockway \\"schema\\" history"\n'
        "DISTRIBUTED BY HASH(`installed_rank`)\n"
        "PROPERTIES (\n"
        '"replication_num" = "1",\n'
        '"enable_persistent_index" = "true"\n'
        ")")


def test_create_table_sql_key_columns_first_in_key_order_and_no_properties(harness: Callable[..., Harness]) -> None:
    h = harness([], replication_num=None)
    spec = TableSpec("wm", (Column("value", "TEXT"), Column("source", "VARCHAR(64)"), Column("job", "VARCHAR(64)")),
                     ("job", "source"))
    assert h.adapter.create_table_sql(spec) == (
        "CREATE TABLE IF NOT EXISTS `db`.`wm` (\n"
        "  `job` VARCHAR(64) NOT NULL,\n"
        "  `source` VARCHAR(64) NOT NULL,\n"
        "  `value` STRING NULL\n"
        ")\n"
        "PRIMARY KEY(`job`, `source`)\n"
        "DISTRIBUTED BY HASH(`job`, `source`)")


def test_create_table_sql_properties_override_replication(harness: Callable[..., Harness]) -> None:
    h = harness([], replication_num=3)
    sql = h.adapter.create_table_sql(HISTORY, properties={"replication_num": "1"})
    assert '"replication_num" = "1"' in sql and '"3"' not in sql
    assert "TIMESTAMP" not in sql
    # COMMENT must follow the key description (CREATE TABLE fails otherwise).
    assert sql.index("PRIMARY KEY(") < sql.index("COMMENT ") < sql.index("DISTRIBUTED BY")


@pytest.mark.parametrize("portable, expected", [("TEXT", "STRING"), ("boolean", "BOOLEAN"), ("DATETIME", "DATETIME"),
                                                ("TIMESTAMP", "DATETIME"), ("DATETIME(6)", "DATETIME"),
                                                ("varchar(64)", "VARCHAR(64)"), ("INT", "INT"), ("BIGINT", "BIGINT")])
def test_column_type_map(portable: str, expected: str) -> None:
    assert column_type(portable) == expected


def test_upsert_sql_is_a_plain_full_row_insert(harness: Callable[..., Harness]) -> None:
    h = harness([])
    assert h.adapter.upsert_sql("wm", ("job", "source", "value"), ("job", "source")) == (
        "INSERT INTO `db`.`wm` (`job`, `source`, `value`) VALUES (%s, %s, %s)")


def test_upsert_executes_with_interpolated_values(harness: Callable[..., Harness]) -> None:
    h = harness([q("INSERT INTO `db`.`wm` (`job`, `source`, `value`) VALUES ('j', 's', 'it\\'s')")])
    h.adapter.execute(h.adapter.upsert_sql("wm", ("job", "source", "value"), ("job",)), ("j", "s", "it's"))


# --- statement classification ----------------------------------------------------------------------

@pytest.mark.parametrize("sql, kind, job, db, table", [
    ("ALTER TABLE t ADD COLUMN c INT", Kind.ALTER_ASYNC, JobType.COLUMN, None, "t"),
    ("alter table `d`.`t` drop column c", Kind.ALTER_ASYNC, JobType.COLUMN, "d", "t"),
    ("ALTER TABLE d.t MODIFY COLUMN c BIGINT", Kind.ALTER_ASYNC, JobType.COLUMN, "d", "t"),
    ("ALTER TABLE t ADD COLUMN (a INT, b INT)", Kind.ALTER_ASYNC, JobType.COLUMN, None, "t"),
    ("ALTER TABLE t ORDER BY (k3,k1,k2,v2,v1)", Kind.ALTER_ASYNC, JobType.COLUMN, None, "t"),
    ("ALTER TABLE orders ORDER BY dt, revenue", Kind.ALTER_ASYNC, JobType.COLUMN, None, "orders"),
    ("ALTER TABLE t ADD INDEX i (c) USING BITMAP COMMENT 'x, y'", Kind.ALTER_ASYNC, JobType.COLUMN, None, "t"),
    ("ALTER TABLE t DROP INDEX i", Kind.ALTER_ASYNC, JobType.COLUMN, None, "t"),
    ('ALTER TABLE t SET ("bloom_filter_columns"="k1,k2")', Kind.ALTER_ASYNC, JobType.COLUMN, None, "t"),
    ("ALTER TABLE t ADD ROLLUP r1(a, b), r2(c) FROM r0", Kind.ALTER_ASYNC, JobType.ROLLUP, None, "t"),
    ("ALTER TABLE t DROP ROLLUP r1", Kind.ALTER_ASYNC, JobType.ROLLUP, None, "t"),
    ("ALTER TABLE t DISTRIBUTED BY HASH(user_id) BUCKETS 10", Kind.ALTER_ASYNC, JobType.OPTIMIZE, None, "t"),
    ("ALTER TABLE t PARTITIONS (p1, p2) DISTRIBUTED BY HASH(k) BUCKETS 15", Kind.ALTER_ASYNC, JobType.OPTIMIZE, None, "t"),
    ("CREATE INDEX i ON d.t (c) USING BITMAP", Kind.ALTER_ASYNC, JobType.COLUMN, "d", "t"),
    ("DROP INDEX i ON `t`", Kind.ALTER_ASYNC, JobType.COLUMN, None, "t"),
    ("ALTER TABLE t RENAME t2", Kind.ALTER_SYNC, None, None, "t"),
    ("ALTER TABLE t RENAME COLUMN a TO b", Kind.ALTER_SYNC, None, None, "t"),
    ('ALTER TABLE t COMMENT = "add column, drop index"', Kind.ALTER_SYNC, None, None, "t"),
    ('ALTER TABLE t ADD PARTITION p4 VALUES LESS THAN ("2020-04-30") DISTRIBUTED BY HASH(k1)', Kind.ALTER_SYNC, None, None, "t"),
    ("ALTER TABLE t DROP PARTITION IF EXISTS p1 FORCE", Kind.ALTER_SYNC, None, None, "t"),
    ('ALTER TABLE t MODIFY PARTITION (*) SET("storage_medium"="HDD")', Kind.ALTER_SYNC, None, None, "t"),
    ("ALTER TABLE t SWAP WITH t_new", Kind.ALTER_SYNC, None, None, "t"),
    ("ALTER TABLE t COMPACT", Kind.ALTER_SYNC, None, None, "t"),
    ("-- add a column\n/* why */ ALTER TABLE t ADD COLUMN c INT;", Kind.ALTER_ASYNC, JobType.COLUMN, None, "t"),
    ("INSERT INTO t VALUES (1)", Kind.OTHER, None, None, None),
    ("CREATE TABLE t (k INT) PRIMARY KEY(k) DISTRIBUTED BY HASH(k)", Kind.OTHER, None, None, None),
])
def test_classify(sql: str, kind: Kind, job: JobType | None, db: str | None, table: str | None) -> None:
    c = classify(sql)
    assert c.kind is kind
    assert c.job_type is job
    if table is None:
        assert c.table is None
    else:
        assert c.table is not None and (c.table.database, c.table.name) == (db, table)


def test_classify_materialized_views() -> None:
    sync = classify("CREATE MATERIALIZED VIEW lo_mv_sync_2 COMMENT \"REFRESH me\" AS SELECT lo_orderdate, "
                    "sum(lo_revenue) FROM `ssb`.lineorder GROUP BY lo_orderdate")
    assert sync.kind is Kind.CREATE_SYNC_MV
    assert sync.base_table is not None and (sync.base_table.database, sync.base_table.name) == ("ssb", "lineorder")
    deferred = classify("CREATE MATERIALIZED VIEW IF NOT EXISTS d.mv DISTRIBUTED BY HASH(k) REFRESH DEFERRED MANUAL "
                        "AS SELECT k FROM a JOIN b USING (k)")
    assert deferred.kind is Kind.CREATE_ASYNC_MV and deferred.deferred
    assert deferred.table is not None and (deferred.table.database, deferred.table.name) == ("d", "mv")
    immediate = classify("CREATE MATERIALIZED VIEW mv REFRESH ASYNC START('2023-09-12 16:30:25') EVERY (INTERVAL 5 "
                         "MINUTE) AS SELECT k FROM a")
    assert immediate.kind is Kind.CREATE_ASYNC_MV and not immediate.deferred
    assert classify("REFRESH MATERIALIZED VIEW mv1 WITH SYNC MODE").sync_mode
    refresh = classify("refresh materialized view d.mv1 PARTITION START ('2020-02-01') END ('2020-03-01') FORCE")
    assert refresh.kind is Kind.REFRESH_MV and not refresh.sync_mode
    assert classify("ALTER MATERIALIZED VIEW mv1 REFRESH ASYNC").kind is Kind.OTHER


def test_mask_and_comment_stripping() -> None:
    assert strip_leading_comments("-- a\n# b\n/*+ SET_VAR(x=1) */  SELECT 1") == "SELECT 1"
    text = "a 'x, (y' `b,c` (1, (2)) -- z, q\n, d"
    masked = mask(text)
    assert len(masked) == len(text)
    assert masked.count(",") == 1 and masked.index(",") == text.rindex(",")


@pytest.mark.parametrize("error", [BUSY_SCHEMA_CHANGE_4X, BUSY_SCHEMA_CHANGE_3X, BUSY_NOT_NORMAL, BUSY_ROLLUP,
                                   BUSY_BACKUP, BUSY_RESTORE, BUSY_ALTERED,
                                   (1064, "The table t is currently in state WAITING_STABLE"),
                                   (1064, "Table[t] is doing insert overwrite job, please start schema change after "
                                          "insert overwrite finished")])
def test_busy_texts_are_recognised(error: tuple[int, str]) -> None:
    assert is_table_busy(error[1])


@pytest.mark.parametrize("error", [UNKNOWN_COLUMN, UNKNOWN_TABLE, TABLE_EXISTS_1050,
                                   (1064, "Can not alter table when there are temp partitions in table")])
def test_other_errors_are_not_busy(error: tuple[int, str]) -> None:
    assert not is_table_busy(error[1])


def test_already_exists_both_codes() -> None:
    assert is_already_exists(*TABLE_EXISTS_1050)
    assert is_already_exists(*TABLE_EXISTS_1064)
    assert is_already_exists(1050, "Table 'rockway_lock' already exists")
    assert not is_already_exists(*UNKNOWN_TABLE)


# --- ALTER TABLE jobs ------------------------------------------------------------------------------

def test_alter_add_column_waits_running_to_finished(harness: Callable[..., Harness]) -> None:
    h = harness([show_column(COLUMN_CANCELLED),  # the newest job before: 259010
                 q(ALTER_ADD),
                 show_column(COLUMN_WAITING_TXN),
                 show_column(COLUMN_RUNNING),
                 show_column(COLUMN_FINISHED)])
    result = h.run(ALTER_ADD)
    assert result.async_jobs == ("column:262013",)
    assert h.clock.sleeps == [1, 1]
    assert "column job 262013 on `db`.`ta_event_119`: RUNNING 18/48" in h.progress
    assert any("WAITING_TXN" in p for p in h.progress)
    assert h.progress[-1].endswith("FINISHED")


def test_alter_finished_rewriting_is_not_final(harness: Callable[..., Harness]) -> None:
    h = harness([show_column(), q(ALTER_ADD), show_column(COLUMN_FINISHED_REWRITING), show_column(COLUMN_FINISHED)])
    assert h.run(ALTER_ADD).async_jobs == ("column:262013",)
    assert h.clock.sleeps == [1]


def test_alter_cancelled_raises_with_msg(harness: Callable[..., Harness]) -> None:
    h = harness([show_column(), q(ALTER_ADD), show_column(COLUMN_CANCELLED)])
    with pytest.raises(AsyncJobFailed, match="user cancelled") as info:
        h.run(ALTER_ADD)
    assert "column job 259010" in str(info.value) and "CANCELLED" in str(info.value)


def test_alter_without_new_job_is_fast_schema_evolution(harness: Callable[..., Harness]) -> None:
    h = harness([show_column(COLUMN_FINISHED), q(ALTER_ADD), show_column(COLUMN_FINISHED)])
    result = h.run(ALTER_ADD)
    assert result.async_jobs == ()
    assert h.clock.sleeps == []
    assert any("without an alter job" in p for p in h.progress)


def test_alter_on_qualified_table_uses_its_database(harness: Callable[..., Harness]) -> None:
    sql = "ALTER TABLE `ods`.`ta_event_119` MODIFY COLUMN c2 BIGINT"
    show = "SHOW ALTER TABLE COLUMN FROM `ods` WHERE TableName = 'ta_event_119' ORDER BY JobId DESC LIMIT 1"
    h = harness([q(show, COLUMN_JOB_COLUMNS, []), q(sql), q(show, COLUMN_JOB_COLUMNS, [COLUMN_FINISHED])])
    assert h.run(sql).async_jobs == ("column:262013",)


def test_alter_busy_is_retried_then_succeeds(harness: Callable[..., Harness]) -> None:
    # While another job holds the table the ALTER is rejected; the baseline is re-read before every attempt so
    # that job is not mistaken for ours. No unfinished job of this kind in the list (the holder is of another
    # kind): every look re-sends the statement.
    h = harness([show_column(COLUMN_CANCELLED),
                 q(ALTER_ADD, error=BUSY_SCHEMA_CHANGE_4X),
                 show_column(COLUMN_CANCELLED),
                 q(ALTER_ADD, error=BUSY_NOT_NORMAL),
                 show_column(COLUMN_FINISHED),
                 q(ALTER_ADD),
                 show_column(column_job("262020", "RUNNING", "3/48")),
                 show_column(column_job("262020", "FINISHED"))])
    result = h.run(ALTER_ADD)
    assert result.async_jobs == ("column:262020",)
    retries = [p for p in h.progress if "is busy, retry" in p]
    assert len(retries) == 2 and "A schema change operation is in progress" in retries[0]
    assert h.clock.sleeps == [1, 1, 1]


def test_while_the_holding_job_runs_only_its_show_is_sent(harness: Callable[..., Harness]) -> None:
    # Rejected while job 262013 runs: the ALTER goes again only once SHOW ALTER TABLE COLUMN lists that job
    # FINISHED (one statement per look instead of two; bench/RESULTS.md "Async-job polling").
    h = harness([show_column(COLUMN_CANCELLED),
                 q(ALTER_ADD, error=BUSY_SCHEMA_CHANGE_4X),
                 show_column(COLUMN_RUNNING),
                 show_column(COLUMN_RUNNING),
                 show_column(COLUMN_FINISHED),
                 q(ALTER_ADD),
                 show_column(column_job("262020", "FINISHED"))])
    assert h.run(ALTER_ADD).async_jobs == ("column:262020",)
    assert sum(1 for sql in h.conn.sent if sql.startswith("ALTER")) == 2  # the script is the exact order
    assert len([p for p in h.progress if "is busy (running job" in p]) == 2
    assert h.clock.sleeps == [1, 1, 1]


def test_busy_then_applied_in_place_does_not_claim_the_other_job(harness: Callable[..., Harness]) -> None:
    h = harness([show_column(COLUMN_CANCELLED), q(ALTER_ADD, error=BUSY_SCHEMA_CHANGE_3X),
                 show_column(COLUMN_FINISHED), q(ALTER_ADD), show_column(COLUMN_FINISHED)])
    assert h.run(ALTER_ADD).async_jobs == ()


def test_busy_until_timeout_raises(harness: Callable[..., Harness]) -> None:
    # the first rejection's errno and text are kept while the holding job's SHOW is all that is sent
    steps: list[Step] = [show_column(COLUMN_RUNNING), q(ALTER_ADD, error=BUSY_SCHEMA_CHANGE_4X)]
    steps += [show_column(COLUMN_RUNNING)] * 3
    h = harness(steps, async_timeout=3)
    with pytest.raises(AsyncJobFailed, match="stayed busy") as info:
        h.run(ALTER_ADD)
    assert info.value.errno == 1064
    assert h.clock.sleeps == [1, 1, 1]


def test_other_errors_are_not_retried(harness: Callable[..., Harness]) -> None:
    sql = "ALTER TABLE ta_event_119 DROP COLUMN v1, DROP COLUMN v100"
    h = harness([show_column(), q(sql, error=UNKNOWN_COLUMN)])
    with pytest.raises(DatabaseError, match="Column does not exists: v100") as info:
        h.run(sql)
    assert not isinstance(info.value, AsyncJobFailed) and info.value.errno == 1064
    assert h.clock.sleeps == []


def test_alter_timeout_names_show_and_cancel(harness: Callable[..., Harness]) -> None:
    h = harness([show_column(), q(ALTER_ADD)] + [show_column(COLUMN_RUNNING)] * 4, async_timeout=3)
    with pytest.raises(AsyncJobFailed) as info:
        h.run(ALTER_ADD)
    text = str(info.value)
    assert "still RUNNING (18/48) after 3s" in text
    assert SHOW_COLUMN in text
    assert "CANCEL ALTER TABLE COLUMN FROM `db`.`ta_event_119`;" in text
    assert h.clock.sleeps == [1, 1, 1]


def test_alter_no_wait_reports_job_without_polling(harness: Callable[..., Harness]) -> None:
    h = harness([show_column(), q(ALTER_ADD), show_column(COLUMN_RUNNING)])
    assert h.run(ALTER_ADD, wait=False).async_jobs == ("column:262013",)
    assert h.clock.sleeps == []


def test_create_index_waits_as_column_job(harness: Callable[..., Harness]) -> None:
    sql = "CREATE INDEX idx_c2 ON ta_event_119 (c2) USING BITMAP"
    h = harness([show_column(COLUMN_CANCELLED), q(sql), show_column(COLUMN_RUNNING), show_column(COLUMN_FINISHED)])
    assert h.run(sql).async_jobs == ("column:262013",)


def test_optimize_job(harness: Callable[..., Harness]) -> None:
    sql = "ALTER TABLE details DISTRIBUTED BY HASH(user_id) BUCKETS 10"
    show = "SHOW ALTER TABLE OPTIMIZE FROM `db` WHERE TableName = 'details' ORDER BY JobId DESC LIMIT 1"
    running = ("10210", "details", "2024-01-10 10:00:00", "NULL", "ALTER TABLE details DISTRIBUTED BY HASH(user_id) "
               "BUCKETS 10", "2001", "RUNNING", "", "NULL", "3600")
    finished = running[:3] + ("2024-01-10 10:02:00",) + running[4:6] + ("FINISHED", "", "NULL", "3600")
    h = harness([q(show, OPTIMIZE_JOB_COLUMNS, []), q(sql), q(show, OPTIMIZE_JOB_COLUMNS, [running]),
                 q(show, OPTIMIZE_JOB_COLUMNS, [finished])])
    assert h.run(sql).async_jobs == ("optimize:10210",)


def test_sync_alter_is_just_executed(harness: Callable[..., Harness]) -> None:
    sql = "ALTER TABLE ta_event_119 SWAP WITH ta_event_119_new"
    h = harness([q(sql)])
    assert h.run(sql).async_jobs == ()


# --- rollups and synchronous MVs -------------------------------------------------------------------

OTHER_TABLE_ROLLUP = ("480001", "customer", "2022-08-24 20:00:00", "NULL", "customer", "c_r1", "480002", "33070",
                      "RUNNING", "", "NULL", "86400")


def test_add_rollup_filters_rows_by_table(harness: Callable[..., Harness]) -> None:
    sql = "ALTER TABLE lineorder ADD ROLLUP lo_mv_sync_2(lo_orderdate, lo_revenue)"
    show = "SHOW ALTER TABLE ROLLUP FROM `db`"
    h = harness([q(show, ROLLUP_JOB_COLUMNS, [MV_JOB_1_FINISHED]),
                 q(sql, error=BUSY_ROLLUP),
                 q(show, ROLLUP_JOB_COLUMNS, [MV_JOB_1_FINISHED]),
                 q(sql),
                 q(show, ROLLUP_JOB_COLUMNS, [MV_JOB_1_FINISHED, MV_JOB_2_RUNNING, OTHER_TABLE_ROLLUP]),
                 q(show, ROLLUP_JOB_COLUMNS, [MV_JOB_1_FINISHED, MV_JOB_2_FINISHED, OTHER_TABLE_ROLLUP])])
    assert h.run(sql).async_jobs == ("rollup:477337",)
    assert not any("480001" in p for p in h.progress)


def test_create_sync_mv_waits_for_rollup_job(harness: Callable[..., Harness]) -> None:
    sql = ("CREATE MATERIALIZED VIEW lo_mv_sync_2 AS SELECT lo_orderdate, sum(lo_revenue) AS rev FROM lineorder "
           "GROUP BY lo_orderdate")
    show = "SHOW ALTER MATERIALIZED VIEW FROM `db`"
    h = harness([q(show, ROLLUP_JOB_COLUMNS, [MV_JOB_1_FINISHED]),
                 q(sql),
                 q(show, ROLLUP_JOB_COLUMNS, [MV_JOB_1_FINISHED, MV_JOB_2_RUNNING]),
                 q(show, ROLLUP_JOB_COLUMNS, [MV_JOB_1_FINISHED, MV_JOB_2_FINISHED])])
    assert h.run(sql).async_jobs == ("rollup:477337",)
    assert "rollup job 477337 on materialized view `db`.`lo_mv_sync_2`: RUNNING" in h.progress


def test_create_sync_mv_cancelled(harness: Callable[..., Harness]) -> None:
    sql = "CREATE MATERIALIZED VIEW lo_mv_sync_2 AS SELECT lo_orderdate FROM lineorder"
    show = "SHOW ALTER MATERIALIZED VIEW FROM `db`"
    cancelled = MV_JOB_2_RUNNING[:8] + ("CANCELLED", "user cancelled", "NULL", "86400")
    h = harness([q(show, ROLLUP_JOB_COLUMNS, []), q(sql), q(show, ROLLUP_JOB_COLUMNS, [cancelled])])
    with pytest.raises(AsyncJobFailed, match="user cancelled"):
        h.run(sql)


# --- asynchronous MVs ------------------------------------------------------------------------------

MV_INFO_SQL = ("SELECT MATERIALIZED_VIEW_ID, TASK_NAME, IS_ACTIVE, INACTIVE_REASON FROM "
               "information_schema.materialized_views WHERE TABLE_SCHEMA = 'db' AND TABLE_NAME = '{}'")
LATEST_RUN_SQL = ("SELECT QUERY_ID, TASK_NAME, STATE, ERROR_MESSAGE, PROGRESS FROM information_schema.task_runs "
                  "WHERE TASK_NAME = '{}' ORDER BY CREATE_TIME DESC LIMIT 1")
RUN_BY_ID_SQL = ("SELECT QUERY_ID, TASK_NAME, STATE, ERROR_MESSAGE, PROGRESS FROM information_schema.task_runs "
                 "WHERE QUERY_ID = '{}'")
CREATE_ASYNC_MV = ("CREATE MATERIALIZED VIEW user_tags_mv1 DISTRIBUTED BY HASH(user_id) REFRESH ASYNC AS "
                   "SELECT user_id, bitmap_union(to_bitmap(tag_id)) FROM user_tags GROUP BY user_id")


def test_create_async_mv_waits_for_first_refresh(harness: Callable[..., Harness]) -> None:
    latest = LATEST_RUN_SQL.format("mv-10598")
    h = harness([q(CREATE_ASYNC_MV),
                 q(MV_INFO_SQL.format("user_tags_mv1"), MV_INFO_COLUMNS, [MV_INFO_ACTIVE]),
                 q(latest, TASK_RUN_COLUMNS, []),
                 q(latest, TASK_RUN_COLUMNS, [(MV_QUERY_ID, "mv-10598", "RUNNING", None, "0%")]),
                 q(latest, TASK_RUN_COLUMNS, [(MV_QUERY_ID, "mv-10598", "SUCCESS", None, "100%")])])
    assert h.run(CREATE_ASYNC_MV).async_jobs == (f"task_run:{MV_QUERY_ID}",)
    assert h.clock.sleeps == [1, 1]
    assert "first refresh of `db`.`user_tags_mv1`: RUNNING 0%" in h.progress


def test_create_async_mv_first_refresh_failed(harness: Callable[..., Harness]) -> None:
    latest = LATEST_RUN_SQL.format("mv-10598")
    h = harness([q(CREATE_ASYNC_MV),
                 q(MV_INFO_SQL.format("user_tags_mv1"), MV_INFO_COLUMNS, [MV_INFO_ACTIVE]),
                 q(latest, TASK_RUN_COLUMNS, [(MV_QUERY_ID, "mv-10598", "FAILED", "Memory of process exceed limit",
                                               "0%")])])
    with pytest.raises(AsyncJobFailed, match="FAILED .*Memory of process exceed limit"):
        h.run(CREATE_ASYNC_MV)


def test_create_async_mv_inactive_raises(harness: Callable[..., Harness]) -> None:
    h = harness([q(CREATE_ASYNC_MV), q(MV_INFO_SQL.format("user_tags_mv1"), MV_INFO_COLUMNS, [MV_INFO_INACTIVE])])
    with pytest.raises(AsyncJobFailed, match="inactive: base table schema changed for columns: k1"):
        h.run(CREATE_ASYNC_MV)


def test_create_deferred_mv_does_not_wait(harness: Callable[..., Harness]) -> None:
    sql = ("CREATE MATERIALIZED VIEW user_tags_mv1 DISTRIBUTED BY HASH(user_id) REFRESH DEFERRED MANUAL AS "
           "SELECT user_id FROM user_tags")
    h = harness([q(sql)])
    assert h.run(sql).async_jobs == ()


def test_create_async_mv_without_wait_for_mv_reports_task(harness: Callable[..., Harness]) -> None:
    h = harness([q(CREATE_ASYNC_MV), q(MV_INFO_SQL.format("user_tags_mv1"), MV_INFO_COLUMNS, [MV_INFO_ACTIVE])],
                wait_for_mv=False)
    assert h.run(CREATE_ASYNC_MV).async_jobs == ("task:mv-10598",)


def test_refresh_follows_query_id_then_task(harness: Callable[..., Harness]) -> None:
    sql = "REFRESH MATERIALIZED VIEW tva"
    by_id = RUN_BY_ID_SQL.format(REFRESH_QUERY_ID)
    h = harness([q(sql, REFRESH_COLUMNS, [(REFRESH_QUERY_ID,)]),
                 q(by_id, TASK_RUN_COLUMNS, [(REFRESH_QUERY_ID, "mv-10019", "PENDING", None, "0%")]),
                 q(by_id, TASK_RUN_COLUMNS, [(REFRESH_QUERY_ID, "mv-10019", "RUNNING", None, "50%")]),
                 q(by_id, TASK_RUN_COLUMNS, [(REFRESH_QUERY_ID, "mv-10019", "SUCCESS", None, "100%")]),
                 # a partitioned refresh continues in a further task run of the same task
                 q(LATEST_RUN_SQL.format("mv-10019"), TASK_RUN_COLUMNS,
                   [("8f3247bb-dff2-11ed-b085-00163e05ba4b", "mv-10019", "RUNNING", None, "60%")]),
                 q(LATEST_RUN_SQL.format("mv-10019"), TASK_RUN_COLUMNS,
                   [("8f3247bb-dff2-11ed-b085-00163e05ba4b", "mv-10019", "SUCCESS", None, "100%")])])
    result = h.run(sql)
    assert result.async_jobs == (f"task_run:{REFRESH_QUERY_ID}",)
    assert result.rows == [(REFRESH_QUERY_ID,)]
    assert h.clock.sleeps == [1, 1, 1]


def test_refresh_failed_run_raises(harness: Callable[..., Harness]) -> None:
    sql = "REFRESH MATERIALIZED VIEW tva"
    h = harness([q(sql, REFRESH_COLUMNS, [(REFRESH_QUERY_ID,)]),
                 q(RUN_BY_ID_SQL.format(REFRESH_QUERY_ID), TASK_RUN_COLUMNS,
                   [(REFRESH_QUERY_ID, "mv-10019", "FAILED", "Materialized view: tva/10019 is not active", "0%")])])
    with pytest.raises(AsyncJobFailed, match="is not active"):
        h.run(sql)


def test_refresh_with_sync_mode_is_not_polled_and_errors_pass_through(harness: Callable[..., Harness]) -> None:
    ok = "REFRESH MATERIALIZED VIEW mv1 WITH SYNC MODE"
    h = harness([q(ok, REFRESH_COLUMNS, [("019b0304-097c-7dad-a549-a9283324dc46",)]),
                 q(ok, error=REFRESH_INACTIVE_ERROR)])
    assert h.run(ok).async_jobs == ()
    with pytest.raises(DatabaseError, match="is not active due to base-table optimized") as info:
        h.run(ok)
    assert info.value.errno == 1064


def test_refresh_without_wait_for_mv_returns_query_id(harness: Callable[..., Harness]) -> None:
    sql = "REFRESH MATERIALIZED VIEW tva"
    h = harness([q(sql, REFRESH_COLUMNS, [(REFRESH_QUERY_ID,)])], wait_for_mv=False)
    assert h.run(sql).async_jobs == (f"task_run:{REFRESH_QUERY_ID}",)


def test_refresh_timeout_names_cancel(harness: Callable[..., Harness]) -> None:
    sql = "REFRESH MATERIALIZED VIEW tva"
    by_id = RUN_BY_ID_SQL.format(REFRESH_QUERY_ID)
    running = [(REFRESH_QUERY_ID, "mv-10019", "RUNNING", None, "50%")]
    h = harness([q(sql, REFRESH_COLUMNS, [(REFRESH_QUERY_ID,)])] + [q(by_id, TASK_RUN_COLUMNS, running)] * 3,
                async_timeout=2)
    with pytest.raises(AsyncJobFailed, match="did not finish within 2s") as info:
        h.run(sql)
    assert "CANCEL REFRESH MATERIALIZED VIEW `db`.`tva`;" in str(info.value)


# --- run lock ---------------------------------------------------------------------------------------

COMMENT_SQL = ("SELECT TABLE_COMMENT FROM information_schema.tables WHERE TABLE_SCHEMA = 'db' "
               "AND TABLE_NAME = 'rockway_lock'")
CREATE_LOCK = r"CREATE TABLE `db`\.`rockway_lock` \(\n  `id` INT NOT NULL\n\)\nPRIMARY KEY\(`id`\)\nCOMMENT \".*\"\n" \
              r"DISTRIBUTED BY HASH\(`id`\) BUCKETS 1\nPROPERTIES \(\n\"replication_num\" = \"1\"\n\)"
DROP_LOCK = "DROP TABLE IF EXISTS `db`.`rockway_lock` FORCE"
ME = LockOwner("h1", 101, "run-a")


def owner_comment(run_id: str, expires: datetime, host: str = "h2", pid: int = 202) -> str:
    return ('{"acquired_at":"2024-12-31T23:00:00+00:00","expires_at":"%s","host":"%s","pid":%d,"run_id":"%s"}'
            % (expires.isoformat(timespec="seconds"), host, pid, run_id))


def lock(h: Harness) -> DdlMutexLock:
    primitive = h.adapter.lock_primitive("rockway_lock", lease_seconds=900)
    assert isinstance(primitive, DdlMutexLock) and primitive.needs_renewal
    return primitive


def test_lock_acquire_creates_table_with_owner_comment(harness: Callable[..., Harness]) -> None:
    expected = ("CREATE TABLE `db`.`rockway_lock` (\n"
                "  `id` INT NOT NULL\n"
                ")\n"
                "PRIMARY KEY(`id`)\n"
                'COMMENT "{\\"acquired_at\\":\\"2025-01-01T00:00:00+00:00\\",\\"expires_at\\":\\"2025-01-01T00:15:00+00:00\\",'
                '\\"host\\":\\"h1\\",\\"pid\\":101,\\"run_id\\":\\"run-a\\"}"\n'
                "DISTRIBUTED BY HASH(`id`) BUCKETS 1\n"
                "PROPERTIES (\n"
                '"replication_num" = "1"\n'
                ")")
    h = harness([q(expected)])
    assert lock(h).try_acquire(ME, wait_seconds=10)
    assert "IF NOT EXISTS" not in h.conn.sent[0]


@pytest.mark.parametrize("exists_error", [TABLE_EXISTS_1050, TABLE_EXISTS_1064])
def test_lock_held_polls_then_gives_up(harness: Callable[..., Harness], exists_error: tuple[int, str]) -> None:
    held = owner_comment("run-b", T0 + timedelta(minutes=10))
    h = harness([rx(CREATE_LOCK, error=exists_error), q(COMMENT_SQL, ("TABLE_COMMENT",), [(held,)])] * 3)
    assert not lock(h).try_acquire(ME, wait_seconds=1.5)
    assert h.clock.sleeps == [1.0, 0.5]
    assert DROP_LOCK not in h.conn.sent


def test_lock_acquired_after_holder_releases(harness: Callable[..., Harness]) -> None:
    held = owner_comment("run-b", T0 + timedelta(minutes=10))
    h = harness([rx(CREATE_LOCK, error=TABLE_EXISTS_1050), q(COMMENT_SQL, ("TABLE_COMMENT",), [(held,)]),
                 rx(CREATE_LOCK)])
    assert lock(h).try_acquire(ME, wait_seconds=5)
    assert h.clock.sleeps == [1.0]


def test_lock_expired_lease_is_taken_over(harness: Callable[..., Harness]) -> None:
    stale = owner_comment("run-b", T0 - timedelta(seconds=1))
    h = harness([rx(CREATE_LOCK, error=TABLE_EXISTS_1050),
                 q(COMMENT_SQL, ("TABLE_COMMENT",), [(stale,)]),
                 q(COMMENT_SQL, ("TABLE_COMMENT",), [(stale,)]),  # re-read right before the drop
                 q(DROP_LOCK),
                 rx(CREATE_LOCK)])
    assert lock(h).try_acquire(ME, wait_seconds=0)


def test_lock_expired_but_taken_over_by_someone_else_is_not_dropped(harness: Callable[..., Harness]) -> None:
    stale = owner_comment("run-b", T0 - timedelta(seconds=1))
    fresh = owner_comment("run-c", T0 + timedelta(minutes=15))
    h = harness([rx(CREATE_LOCK, error=TABLE_EXISTS_1050),
                 q(COMMENT_SQL, ("TABLE_COMMENT",), [(stale,)]),
                 q(COMMENT_SQL, ("TABLE_COMMENT",), [(fresh,)])])
    assert not lock(h).try_acquire(ME, wait_seconds=0)
    assert DROP_LOCK not in h.conn.sent


def test_lock_takeover_race_lost(harness: Callable[..., Harness]) -> None:
    stale = owner_comment("run-b", T0 - timedelta(seconds=1))
    h = harness([rx(CREATE_LOCK, error=TABLE_EXISTS_1050),
                 q(COMMENT_SQL, ("TABLE_COMMENT",), [(stale,)]),
                 q(COMMENT_SQL, ("TABLE_COMMENT",), [(stale,)]),
                 q(DROP_LOCK),
                 rx(CREATE_LOCK, error=TABLE_EXISTS_1050)])
    assert not lock(h).try_acquire(ME, wait_seconds=0)


def test_lock_other_create_errors_propagate(harness: Callable[..., Harness]) -> None:
    h = harness([rx(CREATE_LOCK, error=(5501, "Getting analyzing error. Detail message: Unknown database 'db'."))])
    with pytest.raises(DatabaseError, match="Unknown database"):
        lock(h).try_acquire(ME, wait_seconds=0)


def test_lock_holder_and_free(harness: Callable[..., Harness]) -> None:
    held = owner_comment("run-b", T0 + timedelta(minutes=10))
    h = harness([q(COMMENT_SQL, ("TABLE_COMMENT",), [(held,)]), q(COMMENT_SQL, ("TABLE_COMMENT",), []),
                 q(COMMENT_SQL, ("TABLE_COMMENT",), [("OLAP",)])])
    primitive = lock(h)
    holder = primitive.holder()
    assert holder is not None and (holder.host, holder.pid, holder.run_id) == ("h2", 202, "run-b")
    assert holder.expires_at == "2025-01-01T00:10:00+00:00"
    assert primitive.holder() is None
    unknown = primitive.holder()
    assert unknown is not None and unknown.host == "unknown" and "OLAP" in unknown.run_id


def test_lock_renew_moves_expiry(harness: Callable[..., Harness]) -> None:
    mine = owner_comment("run-a", T0 + timedelta(minutes=1), host="h1", pid=101)
    renewed = ('ALTER TABLE `db`.`rockway_lock` COMMENT = "{\\"acquired_at\\":\\"2024-12-31T23:00:00+00:00\\",'
               '\\"expires_at\\":\\"2025-01-01T00:15:00+00:00\\",\\"host\\":\\"h1\\",\\"pid\\":101,\\"run_id\\":\\"run-a\\"}"')
    h = harness([q(COMMENT_SQL, ("TABLE_COMMENT",), [(mine,)]), q(renewed)])
    lock(h).renew(ME)


def test_lock_renew_fences_when_taken_over(harness: Callable[..., Harness]) -> None:
    other = owner_comment("run-b", T0 + timedelta(minutes=15))
    h = harness([q(COMMENT_SQL, ("TABLE_COMMENT",), [(other,)]), q(COMMENT_SQL, ("TABLE_COMMENT",), [])])
    primitive = lock(h)
    with pytest.raises(LockLost, match="now host h2, pid 202, run run-b"):
        primitive.renew(ME)
    with pytest.raises(LockLost, match="lock table is gone"):
        primitive.renew(ME)
    assert not any(s.startswith("ALTER") for s in h.conn.sent)


def test_lock_release_only_own(harness: Callable[..., Harness]) -> None:
    mine = owner_comment("run-a", T0 + timedelta(minutes=10), host="h1", pid=101)
    other = owner_comment("run-b", T0 + timedelta(minutes=10))
    h = harness([q(COMMENT_SQL, ("TABLE_COMMENT",), [(other,)]),
                 q(COMMENT_SQL, ("TABLE_COMMENT",), [(mine,)]), q(DROP_LOCK)])
    primitive = lock(h)
    primitive.release(ME)  # someone else's: left alone
    primitive.release(ME)
    assert h.conn.sent.count(DROP_LOCK) == 1


def test_lock_force_release_returns_previous_holder(harness: Callable[..., Harness]) -> None:
    other = owner_comment("run-b", T0 + timedelta(minutes=10))
    h = harness([q(COMMENT_SQL, ("TABLE_COMMENT",), [(other,)]), q(DROP_LOCK), q(COMMENT_SQL, ("TABLE_COMMENT",), [])])
    primitive = lock(h)
    held = primitive.force_release()
    assert held is not None and held.run_id == "run-b"
    assert primitive.force_release() is None


def test_lock_name_must_be_an_identifier(harness: Callable[..., Harness]) -> None:
    h = harness([])
    with pytest.raises(ConfigError):
        h.adapter.lock_primitive("bad name`", lease_seconds=60)
