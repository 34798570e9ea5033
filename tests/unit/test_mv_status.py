"""`rockway mv status` / `mv activate` against recorded StarRocks answers: the rows, their shapes per version and
their StarRocks sources are described in tests/support/mv_catalog.py."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

import rockway.mv.status as mv_module
from rockway.adapters import Timeouts
from rockway.adapters.starrocks.mv import WANTED_COLUMNS, materialized_views
from rockway.config import parse_dsn
from rockway.durations import format_duration, positive_duration
from rockway.mv.status import activate_inactive, collect_status, declared_limits, evaluate
from tests.support.mv_catalog import (ACTIVATE_BASE_INACTIVE, ACTIVATE_COLUMN_GONE, BASE_MV_INACTIVE, COLUMNS_3X,
                                      COLUMNS_4X, DROPPED, NOW, ROW_3X, ROW_4X, SCHEMA_CHANGED, SELECT_ALL_WANTED, SWAPPED,
                                      adapter_for, probe, project, varied)
from tests.support.starrocks_replay import ReplayConnection, Step, q


@pytest.mark.parametrize("columns,row", [(COLUMNS_3X, ROW_3X), (COLUMNS_4X, ROW_4X)], ids=["3.x-22", "4.x-27"])
def test_probe_selects_the_columns_that_exist_and_measures_staleness(columns: tuple, row: tuple) -> None:
    wanted = [c for c in WANTED_COLUMNS if c in columns]
    assert wanted == list(WANTED_COLUMNS)  # both shapes have everything rockway reads
    adapter, conn = adapter_for([
        probe(columns),
        q(SELECT_ALL_WANTED, wanted, [project(columns, row, wanted)]),
        q(NOW, ("now()",), [("2025-11-14 19:38:46",)]),
    ])
    report = collect_status(adapter, {("test_show_materialized_view", "user_tags_mv1"): 3 * 3600})
    conn.assert_done()
    [view] = report.views
    assert (view.database, view.name, view.active, view.refresh_type) == (
        "test_show_materialized_view", "user_tags_mv1", True, "MANUAL")
    assert view.last_refresh_state == "SUCCESS" and view.last_refresh_duration_seconds == pytest.approx(0.264)
    assert view.last_refresh_finished == datetime(2025, 11, 14, 17, 38, 46)
    assert view.staleness_seconds == 7200.0 and view.max_staleness_seconds == 10800.0
    assert view.ok and report.ok and report.server_time == datetime(2025, 11, 14, 19, 38, 46)


def test_an_older_column_set_is_read_without_the_missing_columns() -> None:
    # A server without INACTIVE_REASON and LAST_REFRESH_ERROR_MESSAGE (older docs show `inactive_code`).
    columns = tuple(c for c in COLUMNS_3X if c not in ("INACTIVE_REASON", "LAST_REFRESH_ERROR_MESSAGE"))
    wanted = [c for c in WANTED_COLUMNS if c in columns]
    row = varied(ROW_3X, COLUMNS_3X, is_active="false")
    sql = "SELECT " + ", ".join(wanted) + " FROM information_schema.materialized_views ORDER BY TABLE_SCHEMA, TABLE_NAME"
    adapter, conn = adapter_for([probe(columns), q(sql, wanted, [project(COLUMNS_3X, row, wanted)]),
                                 q(NOW, ("now()",), [("2025-11-14 17:40:00",)])])
    report = collect_status(adapter)
    conn.assert_done()
    assert report.views[0].problems == ("inactive: no reason given",)


def test_an_empty_probe_falls_back_to_all_columns_and_filters_databases() -> None:
    sql = ("SELECT * FROM information_schema.materialized_views WHERE TABLE_SCHEMA IN ('test_show_materialized_view')"
           " ORDER BY TABLE_SCHEMA, TABLE_NAME")
    adapter, conn = adapter_for([probe(()), q(sql, COLUMNS_4X, [ROW_4X]), q(NOW, ("now()",), [(datetime(2025, 11, 15),)])])
    report = collect_status(adapter, databases=["test_show_materialized_view"])
    conn.assert_done()
    assert report.views[0].staleness_seconds == pytest.approx((datetime(2025, 11, 15) - datetime(2025, 11, 14, 17, 38, 46))
                                                              .total_seconds())


@pytest.mark.parametrize("columns,row", [(COLUMNS_3X, ROW_3X), (COLUMNS_4X, ROW_4X)], ids=["3.x-22", "4.x-27"])
@pytest.mark.parametrize("reason", [SCHEMA_CHANGED, DROPPED, SWAPPED, BASE_MV_INACTIVE])
def test_inactive_views_are_problems_with_their_reason(columns: tuple, row: tuple, reason: str) -> None:
    inactive = varied(row, columns, is_active="false", inactive_reason=reason)
    wanted = list(WANTED_COLUMNS)
    adapter, conn = adapter_for([probe(columns), q(SELECT_ALL_WANTED, wanted, [project(columns, inactive, wanted)]),
                                 q(NOW, ("now()",), [("2025-11-14 17:40:00",)])])
    report = collect_status(adapter)
    conn.assert_done()
    assert report.views[0].problems == (f"inactive: {reason}",)
    assert report.views[0].inactive_reason == reason and not report.ok


def test_staleness_limit_exceeded_is_a_problem() -> None:
    row = project(COLUMNS_4X, ROW_4X, WANTED_COLUMNS)
    adapter, conn = adapter_for([probe(COLUMNS_4X), q(SELECT_ALL_WANTED, WANTED_COLUMNS, [row]),
                                 q(NOW, ("now()",), [(datetime(2025, 11, 14, 19, 38, 46),)])])
    report = collect_status(adapter, {(None, "user_tags_mv1"): 3600})  # unqualified: the connection's database
    conn.assert_done()
    assert report.views[0].problems == ("stale: last successful refresh 2h 00m ago, limit 1h 00m",)
    assert report.problems == 1


def test_a_failed_last_refresh_is_judged_by_the_last_successful_task_run() -> None:
    failed = varied(ROW_4X, COLUMNS_4X, last_refresh_state="FAILED",
                    last_refresh_error_message="execute task mv-10598 failed: Materialized view: user_tags_mv1/10598 "
                                               "is not active due to base-table optimized:t1.")
    row = project(COLUMNS_4X, failed, WANTED_COLUMNS)
    runs = "SELECT MAX(FINISH_TIME) FROM information_schema.task_runs WHERE TASK_NAME = 'mv-10598' AND STATE = 'SUCCESS'"
    steps = [probe(COLUMNS_4X), q(SELECT_ALL_WANTED, WANTED_COLUMNS, [row]),
             q(NOW, ("now()",), [(datetime(2025, 11, 14, 19, 38, 46),)]),
             q(runs, ("MAX(FINISH_TIME)",), [(datetime(2025, 11, 14, 18, 0, 0),)])]
    adapter, conn = adapter_for(steps)
    report = collect_status(adapter, {("test_show_materialized_view", "user_tags_mv1"): 7200})
    conn.assert_done()
    view = report.views[0]
    assert view.fresh_as_of == datetime(2025, 11, 14, 18, 0, 0) and view.staleness_seconds == 5926
    assert view.ok and view.notes[0].startswith("last refresh FAILED: execute task mv-10598 failed")
    # no successful run on record: the limit cannot be shown to hold
    steps[-1] = q(runs, ("MAX(FINISH_TIME)",), [(None,)])
    adapter, conn = adapter_for(steps)
    report = collect_status(adapter, {("test_show_materialized_view", "user_tags_mv1"): 7200})
    assert report.views[0].problems == ("no successful refresh on record (limit 2h 00m)",)


def test_views_without_a_limit_are_only_checked_for_being_active() -> None:
    old = varied(ROW_4X, COLUMNS_4X, last_refresh_finished_time=datetime(2024, 1, 1))
    adapter, conn = adapter_for([probe(COLUMNS_4X), q(SELECT_ALL_WANTED, WANTED_COLUMNS,
                                                      [project(COLUMNS_4X, old, WANTED_COLUMNS)]),
                                 q(NOW, ("now()",), [(datetime(2025, 11, 14),)])])
    report = collect_status(adapter, {("sales_dw", "mv_gone"): 60})
    conn.assert_done()
    assert report.views[0].ok and report.views[0].staleness_seconds > 300 * 86400
    assert report.undeclared == ["sales_dw.mv_gone"] and not report.ok  # a declared MV that does not exist


def test_evaluate_skipped_counts_as_fresh_and_running_uses_history() -> None:
    row = dict(zip(COLUMNS_3X, ROW_3X))
    now = datetime(2025, 11, 14, 17, 48, 46)
    assert evaluate({**row, "LAST_REFRESH_STATE": "SKIPPED"}, now, 3600).staleness_seconds == 600
    running = evaluate({**row, "LAST_REFRESH_STATE": "RUNNING"}, now, 3600, last_success="2025-11-14 17:00:00")
    assert running.staleness_seconds == 2926 and running.ok and running.notes == ("a refresh is running",)


# --- the CLI: exit codes -----------------------------------------------------------------------------

MV_SCRIPT = """-- Materialized view: the recorded MV with a declared limit
{% call mv.materialized_view(name='test_show_materialized_view.user_tags_mv1', refresh='MANUAL',
                             max_staleness=LIMIT, distributed_by=['user_id']) %}
SELECT user_id, bitmap_union(to_bitmap(tag_id)) AS tags FROM test_show_materialized_view.user_tags GROUP BY user_id
{% endcall %}
"""


def run_mv_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], limit: str,
               steps: list[Step], *args: str) -> tuple[int, str, ReplayConnection]:
    (tmp_path / "repeatable").mkdir(exist_ok=True)
    (tmp_path / "migrations").mkdir(exist_ok=True)
    (tmp_path / "rockway.toml").write_text('[rockway]\nenv = "sr"\n[env.sr]\n'
                                           'dsn = "starrocks://root@h:9030/test_show_materialized_view"\n'
                                           '[env.sr.vars]\nreplication_num = 1\n', encoding="utf-8")
    (tmp_path / "repeatable" / "R__user_tags_mv1.sql").write_text(MV_SCRIPT.replace("LIMIT", repr(limit)),
                                                                  encoding="utf-8")
    adapter, conn = adapter_for(steps)
    monkeypatch.setattr(mv_module, "connect", lambda settings: adapter)
    for key in ("ROCKWAY_DSN", "ROCKWAY_ENV", "OTEL_EXPORTER_OTLP_ENDPOINT"):
        monkeypatch.delenv(key, raising=False)
    from rockway.cli.main import _run, cli

    code = _run(cli, ["-C", str(tmp_path), "mv", *args])
    return code, capsys.readouterr().out, conn


def status_steps(now: datetime, row: tuple = ROW_4X) -> list[Step]:
    return [probe(COLUMNS_4X), q(SELECT_ALL_WANTED, WANTED_COLUMNS, [project(COLUMNS_4X, row, WANTED_COLUMNS)]),
            q(NOW, ("now()",), [(now,)])]


def test_cli_status_exits_0_within_the_declared_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    code, out, conn = run_mv_cli(tmp_path, monkeypatch, capsys, "3h", status_steps(datetime(2025, 11, 14, 19, 38, 46)),
                                 "status", "--json")
    conn.assert_done()
    data = json.loads(out)
    assert code == 0 and data["problems"] == 0
    [view] = data["materialized_views"]
    assert view["staleness_seconds"] == 7200.0 and view["max_staleness_seconds"] == 10800.0
    assert view["last_refresh_finished"] == "2025-11-14T17:38:46" and view["active"] is True


def test_cli_status_exits_1_when_staler_than_the_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    code, out, conn = run_mv_cli(tmp_path, monkeypatch, capsys, "90m", status_steps(datetime(2025, 11, 14, 19, 38, 46)),
                                 "status")
    conn.assert_done()
    assert code == 1
    assert ("problem: test_show_materialized_view.user_tags_mv1: stale: last successful refresh 2h 00m ago, "
            "limit 1h 30m") in out
    assert "1 problem(s)" in out


def test_cli_status_exits_1_for_an_inactive_view(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    inactive = varied(ROW_4X, COLUMNS_4X, is_active="false", inactive_reason=SCHEMA_CHANGED)
    code, out, conn = run_mv_cli(tmp_path, monkeypatch, capsys, "3h",
                                 status_steps(datetime(2025, 11, 14, 17, 40), inactive), "status", "--json")
    conn.assert_done()
    assert code == 1 and json.loads(out)["materialized_views"][0]["problems"] == [f"inactive: {SCHEMA_CHANGED}"]


def _catalog_row(name: str, reason: str | None) -> tuple:
    row = varied(ROW_3X, COLUMNS_3X, table_schema="db_test_mv_swap", table_name=name,
                 is_active="false" if reason else "true", inactive_reason=reason)
    return project(COLUMNS_3X, row, WANTED_COLUMNS)


def test_activate_retries_views_whose_base_view_was_inactive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    alter = "ALTER MATERIALIZED VIEW `db_test_mv_swap`.`{}` ACTIVE"
    steps = [probe(COLUMNS_3X),
             q(SELECT_ALL_WANTED, WANTED_COLUMNS, [_catalog_row("mv1", None), _catalog_row("mv_on_mv_1", SWAPPED),
                                                   _catalog_row("mv_on_mv_2", BASE_MV_INACTIVE)]),
             q(alter.format("mv_on_mv_1"), error=ACTIVATE_COLUMN_GONE),
             q(alter.format("mv_on_mv_2"), error=ACTIVATE_BASE_INACTIVE),
             # nothing was activated in the first pass: stop, both stay inactive
             ]
    code, out, conn = run_mv_cli(tmp_path, monkeypatch, capsys, "3h", steps, "activate", "--json")
    conn.assert_done()
    data = json.loads(out)
    assert code == 1 and data["activated"] == []
    assert "cannot be resolved" in data["failed"]["db_test_mv_swap.mv_on_mv_1"]
    assert "from inactive materialized view: mv_on_mv_1" in data["failed"]["db_test_mv_swap.mv_on_mv_2"]

    # after mv1 is swapped back (test_mv_swap), mv_on_mv_1 activates and then mv_on_mv_2 does too
    adapter, conn = adapter_for([
        probe(COLUMNS_3X),
        q(SELECT_ALL_WANTED, WANTED_COLUMNS, [_catalog_row("mv_on_mv_2", BASE_MV_INACTIVE),
                                              _catalog_row("mv_on_mv_1", SWAPPED)]),
        q(alter.format("mv_on_mv_2"), error=ACTIVATE_BASE_INACTIVE),
        q(alter.format("mv_on_mv_1")),
        q(alter.format("mv_on_mv_2")),
    ])
    report = activate_inactive(adapter)
    conn.assert_done()
    assert report.activated == ["db_test_mv_swap.mv_on_mv_1", "db_test_mv_swap.mv_on_mv_2"]
    assert report.ok and report.failed == {}


def test_activate_with_nothing_inactive_exits_0(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    steps = [probe(COLUMNS_3X), q(SELECT_ALL_WANTED, WANTED_COLUMNS, [_catalog_row("mv1", None)])]
    code, out, conn = run_mv_cli(tmp_path, monkeypatch, capsys, "3h", steps, "activate")
    conn.assert_done()
    assert code == 0 and "no inactive materialized views" in out


def test_materialized_views_is_none_for_mysql() -> None:
    from rockway.adapters.mysql.base import MySQLAdapter

    adapter = MySQLAdapter(ReplayConnection([]), parse_dsn("mysql://root@h:3306/db"), Timeouts(), "10.11.19-MariaDB")
    assert materialized_views(adapter) is None
    report = collect_status(adapter, {("db", "x"): 60})
    assert not report.supported and report.ok and report.views == []


# --- declarations --------------------------------------------------------------------------------------

def test_durations() -> None:
    assert [positive_duration(x) for x in ("90", "90s", "15m", "2h", "1.5d", 30)] == [90, 90, 900, 7200, 129600, 30]
    for bad in ("", "0", "-5m", "2 weeks", "h"):
        with pytest.raises(ValueError):
            positive_duration(bad)
    assert [format_duration(s) for s in (12, 250, 7500, 90000, None)] == ["12s", "4m 10s", "2h 05m", "1d 01h", ""]


def test_declared_limits_come_from_the_rendered_directive() -> None:
    from rockway.macros.mv import materialized_view_sql
    from rockway.sqlsplit import split

    sql = materialized_view_sql("starrocks", name="db.mv_a", query="SELECT 1 AS x", max_staleness="2h",
                                distributed_by=["x"])
    sql += "\n" + materialized_view_sql("mysql", name="mv_b", query="SELECT 1 AS x", max_staleness=60)
    assert declared_limits(split(sql), "sales") == {("db", "mv_a"): 7200.0, ("sales", "mv_b"): 60.0}
