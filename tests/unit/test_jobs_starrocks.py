"""StarRocks job operations against recorded server answers (tests/support/starrocks_replay.py; each value below
names its public source, marked [INFERRED] where no verbatim sample exists):
label ledger, per-day partition overwrites, sessions by version, backups, MV refresh, and one whole job run."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from rockway.adapters import Timeouts
from rockway.adapters.job_ops import BackupInfo, BackupRequest, LoadRequest, Slice, Step
from rockway.adapters.starrocks.base import StarRocksAdapter
from rockway.adapters.starrocks.jobs import StarRocksJobOps
from rockway.config import Settings, parse_dsn
from rockway.errors import AsyncJobFailed, DatabaseError
from tests.support.starrocks_replay import (REFRESH_COLUMNS, FakeClock, ReplayConnection, Step as RStep, q, rx)
from tests.support.paths import REPO_ROOT as REPO

LOADS_COLUMNS = ("STATE", "SINK_ROWS", "ERROR_MSG")
# INSERT label reuse, full text [INFERRED composition of the regex recorded in StarRocks
# test/sql/test_insert_empty/R/test_insert_label and the wrapper of fe/…/sql/StatementPlanner.java]
LABEL_USED = (1064, "Getting analyzing error. Detail message: fail to begin transaction. Label "
                    "[rw_stg_20260101_20260102] has already been used..")
LOADS_34 = ("SELECT STATE, SINK_ROWS, ERROR_MSG FROM information_schema.loads WHERE DB_NAME = 'raw' AND "
            "LABEL = 'rw_stg_20260101_20260102' ORDER BY ID DESC LIMIT 1")
INSERT_APPEND = "INSERT INTO `raw`.`stg` WITH LABEL `rw_stg_20260101_20260102` (`a`)\nSELECT 1"
# SHOW BACKUP columns (https://docs.starrocks.io/docs/sql-reference/sql-statements/backup_restore/SHOW_BACKUP/); the
# FINISHED row follows the one pasted in StarRocks issue #9517 (3.x prints [db.tbl]).
BACKUP_COLUMNS = ("JobId", "SnapshotName", "DbName", "State", "BackupObjs", "CreateTime", "SnapshotFinishedTime",
                  "UploadFinishedTime", "FinishedTime", "UnfinishedTasks", "Progress", "TaskErrMsg", "Status", "Timeout")


def backup_row(state: str, name: str = "rw_sales_dw_20260310T183000", status: str = "[OK]", err: str = "") -> tuple:
    finished = "2026-03-10 18:31:23" if state == "FINISHED" else "NULL"
    return ("10213", name, "sales_dw", state, "[sales_dw.fact_sales]", "2026-03-10 18:30:07", "NULL", "NULL", finished,
            "", "[10214: 3/8]" if state == "UPLOADING" else "", err, status, "86400")


class InfoReplay(ReplayConnection):
    """A replay connection that also returns the OK packet's info string (INSERT replies:
    https://docs.starrocks.io/docs/sql-reference/sql-statements/loading_unloading/INSERT/)."""

    def __init__(self, steps: list[RStep], infos: dict[int, str] | None = None) -> None:
        super().__init__(steps)
        self.infos = infos or {}

    def answer(self, sql: str) -> RStep:
        position = self.position
        step = super().answer(sql)
        info = self.infos.get(position)
        self._result = SimpleNamespace(message=info.encode()) if info else None  # type: ignore[assignment]
        return step


def make_ops(steps: list[RStep], version: str = "3.4.2-abc1234", infos: dict[int, str] | None = None
             ) -> tuple[StarRocksJobOps, InfoReplay, FakeClock]:
    conn = InfoReplay(steps, infos)
    clock = FakeClock()
    adapter = StarRocksAdapter(conn, parse_dsn("starrocks://etl@fe:9030/raw"), Timeouts(), version)
    adapter.configure(Settings(async_timeout=60, poll_interval=2, replication_num=1))
    adapter._clock, adapter._sleep = clock.monotonic, clock.sleep
    return StarRocksJobOps(adapter), conn, clock


def append_step() -> Step:
    return Step("sql", INSERT_APPEND, label="rw_stg_20260101_20260102", ledger=True, counts=True, database="raw")


def test_append_runs_when_the_label_is_unknown() -> None:
    ops, conn, _ = make_ops([q(LOADS_34, LOADS_COLUMNS, []), q(INSERT_APPEND)],
                            infos={1: "{'label':'rw_stg_20260101_20260102', 'status':'VISIBLE', 'txnId':'1006'}"})
    result = ops.execute([append_step()])
    conn.assert_done()
    assert result.labels == ["rw_stg_20260101_20260102"] and result.skipped_labels == []


def test_append_is_skipped_when_the_ledger_says_finished() -> None:
    # a retry after an ambiguous failure: the earlier attempt's load finished, so nothing is loaded twice
    ops, conn, _ = make_ops([q(LOADS_34, LOADS_COLUMNS, [("FINISHED", "120", None)])])
    result = ops.execute([append_step()])
    conn.assert_done()
    assert result.skipped_labels == ["rw_stg_20260101_20260102"] and result.rows_written == 120


def test_append_waits_for_a_running_load_then_skips() -> None:
    ops, conn, clock = make_ops([q(LOADS_34, LOADS_COLUMNS, [("LOADING", "0", None)]),
                                 q(LOADS_34, LOADS_COLUMNS, [("LOADING", "0", None)]),
                                 q(LOADS_34, LOADS_COLUMNS, [("FINISHED", "7", "")])])
    result = ops.execute([append_step()])
    conn.assert_done()
    assert result.skipped_labels and clock.sleeps == [2.0, 2.0]


def test_label_already_used_is_resolved_through_the_ledger() -> None:
    # the load began between our look-up and our INSERT (or the look-up saw nothing yet): same label refused
    ops, conn, _ = make_ops([q(LOADS_34, LOADS_COLUMNS, []), q(INSERT_APPEND, error=LABEL_USED),
                             q(LOADS_34, LOADS_COLUMNS, [("FINISHED", "5", None)])])
    result = ops.execute([append_step()])
    conn.assert_done()
    assert result.skipped_labels == ["rw_stg_20260101_20260102"]


def test_cancelled_label_is_loaded_again_with_the_same_label() -> None:
    ops, conn, _ = make_ops([q(LOADS_34, LOADS_COLUMNS, [("CANCELLED", "0", "timeout")]), q(INSERT_APPEND)])
    ops.execute([append_step()])
    conn.assert_done()


def test_label_used_and_still_unknown_is_an_error() -> None:
    ops, conn, _ = make_ops([q(LOADS_34, LOADS_COLUMNS, []), q(INSERT_APPEND, error=LABEL_USED),
                             q(LOADS_34, LOADS_COLUMNS, [])])
    with pytest.raises(DatabaseError, match="has already been used"):
        ops.execute([append_step()])


def test_committed_reply_is_not_rerun_but_waited_for() -> None:
    ops, conn, clock = make_ops(
        [q(LOADS_34, LOADS_COLUMNS, []), q(INSERT_APPEND),
         q(LOADS_34, LOADS_COLUMNS, [("COMMITTED", "3", None)]), q(LOADS_34, LOADS_COLUMNS, [("FINISHED", "3", None)])],
        infos={1: "{'label':'rw_stg_20260101_20260102', 'status':'COMMITTED', 'txnId':'4005', "
                  "'err':'Publish timeout'}"})
    ops.execute([append_step()])
    conn.assert_done()
    assert clock.sleeps == [2.0]


def test_ledger_uses_3_3_column_names() -> None:
    sql = ("SELECT STATE, SINK_ROWS, ERROR_MSG FROM information_schema.loads WHERE DATABASE_NAME = 'raw' AND "
           "LABEL = 'rw_stg_20260101_20260102' ORDER BY JOB_ID DESC LIMIT 1")
    ops, conn, _ = make_ops([q(sql, LOADS_COLUMNS, [("FINISHED", "1", None)])], version="3.3.5-abc1234")
    ops.execute([append_step()])
    conn.assert_done()


def test_sessions_by_version() -> None:
    ops33, _, _ = make_ops([], version="3.3.9-aa")
    ops41, _, _ = make_ops([], version="4.1.0-bb")
    assert ops33.session_sql(7200) == ["SET time_zone = 'UTC'", "SET query_timeout = 7200"]
    assert ops41.session_sql(7200) == ["SET time_zone = 'UTC'", "SET query_timeout = 7200", "SET insert_timeout = 7200"]


def test_replace_window_is_one_partition_overwrite_per_day_with_attempt_labels() -> None:
    ops, _, _ = make_ops([])
    req = LoadRequest(job="fact", strategy="replace_window", target_db="dw", target_table="fact", columns=("d", "v"),
                      slices=(Slice("SELECT x.d, x.v FROM t AS x WHERE x.d = '2026-01-02'", day="'2026-01-02'",
                                    tag="d20260102"),
                              Slice("SELECT x.d, x.v FROM t AS x WHERE x.d = '2026-01-03'", day="'2026-01-03'",
                                    tag="d20260103")),
                      window_column="d", label="rw_fact_20260101_20260103", attempt_tag="0a1b2c3d_a2")
    steps = ops.plan_load(req)
    assert [s.sql.splitlines()[0] for s in steps] == [
        "INSERT OVERWRITE `dw`.`fact` PARTITION (`d` = '2026-01-02') WITH LABEL "
        "`rw_fact_20260101_20260103_d20260102_0a1b2c3d_a2` (`d`, `v`)",
        "INSERT OVERWRITE `dw`.`fact` PARTITION (`d` = '2026-01-03') WITH LABEL "
        "`rw_fact_20260101_20260103_d20260103_0a1b2c3d_a2` (`d`, `v`)"]
    assert not any(s.ledger for s in steps)  # overwrites are idempotent: no ledger, attempt-unique labels


def test_backup_snapshot_waits_for_finished_and_keeps_retention(tmp_path: Path) -> None:
    deleted = tmp_path / "deleted.txt"
    show = "SHOW BACKUP FROM `sales_dw`"
    ops, conn, clock = make_ops([
        q("SHOW REPOSITORIES", ("RepoId", "RepoName", "CreateTime", "IsReadOnly", "Location", "Broker", "ErrMsg"),
          [("1", "gcs_backup", "2026-01-01 00:00:00", "false", "s3a://bucket/wh", None, "NULL")]),
        q('BACKUP SNAPSHOT sales_dw.rw_sales_dw_20260310T183000 TO gcs_backup PROPERTIES ("type" = "full", '
          '"timeout" = "7200")'),
        q(show, BACKUP_COLUMNS, []),
        q(show, BACKUP_COLUMNS, [backup_row("SNAPSHOTING")]),
        q(show, BACKUP_COLUMNS, [backup_row("UPLOADING")]),
        q(show, BACKUP_COLUMNS, [backup_row("FINISHED")]),
        # SHOW SNAPSHOT: Snapshot, Timestamp, Status (https://docs.starrocks.io/docs/administration/management/Backup_and_restore/)
        q("SHOW SNAPSHOT ON gcs_backup", ("Snapshot", "Timestamp", "Status"),
          [("rw_sales_dw_20260308T183000", "2026-03-08-18-30-53-143", "OK"),
           ("rw_sales_dw_20260309T183000", "2026-03-09-18-30-50-001", "OK"),
           ("rw_sales_dw_20260310T183000", "2026-03-10-18-31-02-417", "OK"),
           ("sr_member_backup", "2023-02-07-14-45-53-143", "OK")]),
    ])
    from rockway.jobs.backup import run_backup

    req = BackupRequest(stamp="20260310T183000", databases=("sales_dw",), repository="gcs_backup",
                        location="s3a://bucket/wh", timeout=7200, poll_interval=5,
                        delete_command=(sys.executable, "-c", f"open({str(deleted)!r}, 'a').write('{{path}}\\n')"))
    report = run_backup(ops.a, req, retain=2)
    conn.assert_done()
    assert clock.sleeps == [5, 5, 5]
    assert [b.name for b in report.made] == ["rw_sales_dw_20260310T183000"]
    assert deleted.read_text() == "gs://bucket/wh/__starrocks_repository_gcs_backup/__ss_rw_sales_dw_20260308T183000\n"
    assert report.retention == ["deleted gs://bucket/wh/__starrocks_repository_gcs_backup/__ss_rw_sales_dw_20260308T183000"]


def test_cancelled_backup_fails_with_the_status() -> None:
    show = "SHOW BACKUP FROM `sales_dw`"
    ops, conn, _ = make_ops([
        q("SHOW REPOSITORIES", ("RepoId", "RepoName"), [("1", "gcs_backup")]),
        rx(r"BACKUP SNAPSHOT sales_dw\.rw_sales_dw_20260310T183000 TO gcs_backup .*"),
        q(show, BACKUP_COLUMNS, [backup_row("CANCELLED", status="[COMMON_ERROR, msg: user cancelled]")]),
    ])
    req = BackupRequest(stamp="20260310T183000", databases=("sales_dw",), repository="gcs_backup")
    with pytest.raises(AsyncJobFailed, match=r"CANCELLED: \[COMMON_ERROR, msg: user cancelled\]"):
        ops.backup(req)


def test_missing_repository_names_the_create_statement() -> None:
    ops, _, _ = make_ops([q("SHOW REPOSITORIES", ("RepoId", "RepoName"), [])])
    with pytest.raises(DatabaseError) as info:
        ops.backup(BackupRequest(stamp="20260310T183000", databases=("sales_dw",), repository="gcs_backup"))
    assert 'ON LOCATION "s3a://' in (info.value.hint or "") and "storage.googleapis.com" in (info.value.hint or "")


def test_retention_without_a_delete_command_keeps_and_says_so() -> None:
    ops, _, _ = make_ops([])
    req = BackupRequest(stamp="x", databases=("sales_dw",), repository="gcs_backup", location="s3a://b/p")
    text = ops.delete_backup(req, BackupInfo("rw_sales_dw_1", "sales_dw", "gcs_backup/rw_sales_dw_1"))
    assert "no DROP SNAPSHOT" in text and "gs://b/p/__starrocks_repository_gcs_backup/__ss_rw_sales_dw_1" in text


def test_mv_refresh_is_sync_mode() -> None:
    # REFRESH … WITH SYNC MODE answers one QUERY_ID row once done (StarRocks
    # test/sql/test_transparent_mv/R/test_mv_rewrite_with_iceberg); nothing is polled afterwards
    ops, conn, _ = make_ops([q("REFRESH MATERIALIZED VIEW `dw`.`mv_sales_daily` WITH SYNC MODE", REFRESH_COLUMNS,
                               [("019b0304-097c-7dad-a549-a9283324dc46",)])])
    assert ops.refresh("`dw`.`mv_sales_daily`") is True
    conn.assert_done()


# --- a whole job run on StarRocks ------------------------------------------------------------------
def test_fact_sales_job_run_on_starrocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """run_job for fact_sales: sessions, watermark read, one overwrite per day, watermark upsert, run rows."""
    from rockway.config import load_settings
    from rockway.jobs.api import load_project
    from rockway.jobs.pool import Pool
    from rockway.jobs.runner import JobEnv, run_job

    monkeypatch.setenv("ROCKWAY_ENV", "prod")
    settings = load_settings(REPO, env_name="prod")
    project = load_project(settings)
    wm = "SELECT job_name, source_name, watermark_value, watermark_type, window_start, window_end, rows_loaded, run_id, " \
         "updated_at FROM `sales_etl`.`etl_watermark` WHERE job_name = 'fact_sales' AND source_name = 'warehouse'"
    run_row = r"INSERT INTO `sales_etl`.`etl_job_run` \(`run_id`, .*\) VALUES \('[0-9a-f-]{36}', 'fact_sales', 'morning', .*"
    overwrite = (r"INSERT OVERWRITE `sales_dw`\.`fact_sales` PARTITION \(`billing_date` = '2026-03-{d}'\) WITH LABEL "
                 r"`rw_fact_sales_20260306_20260309_d202603{d}_[0-9a-f]{{8}}_a1` \(`billing_date`, .*WHERE x\.`billing_date` = "
                 r"'2026-03-{d}'")
    steps = [
        q("SET time_zone = 'UTC'"), q("SET query_timeout = 3600"), q("SET insert_timeout = 3600"),
        q(wm, ("job_name", "source_name", "watermark_value", "watermark_type", "window_start", "window_end",
               "rows_loaded", "run_id", "updated_at"),
          [("fact_sales", "warehouse", "2026-03-09", "date", datetime(2026, 3, 6), datetime(2026, 3, 9), 10, "r0",
            datetime(2026, 3, 9, 5, 0))]),
        rx(run_row + r"'running'.*"),
        rx(overwrite.format(d="07")), rx(overwrite.format(d="08")), rx(overwrite.format(d="09")),
        # the window (03-06, 03-09] re-reads the lookback; the verifier is not called (no checks in this run)
        q(wm, ("job_name", "source_name", "watermark_value", "watermark_type", "window_start", "window_end",
               "rows_loaded", "run_id", "updated_at"),
          [("fact_sales", "warehouse", "2026-03-09", "date", None, None, None, None, datetime(2026, 3, 9))]),
        rx(run_row + r"'success'.*"),
    ]
    conn = InfoReplay(steps)
    adapter = StarRocksAdapter(conn, parse_dsn("starrocks://etl@fe:9030/warehouse"), Timeouts(), "3.4.2-abc")
    monkeypatch.setattr(StarRocksAdapter, "clone", lambda self: self)
    monkeypatch.setattr(StarRocksAdapter, "close", lambda self: None)
    spec = project.specs["fact_sales"]
    from dataclasses import replace

    spec = replace(spec, checks=())
    from rockway.adapters.registry import job_ops

    pool = Pool(adapter, 1, on_open=lambda a: job_ops(a).setup_session(project.jobs.statement_timeout))
    env = JobEnv(settings, project.jobs, pool, None, "sales_etl", "morning",
                 as_of=datetime(2026, 3, 10, 5, 0))  # Berlin 06:00 -> yesterday = 2026-03-09
    result = run_job(spec, env)
    conn.assert_done()
    assert result.status == "success"
    # the watermark did not move (already at 2026-03-09), so no etl_watermark write was sent
    assert not any("etl_watermark` (" in s for s in conn.sent)
