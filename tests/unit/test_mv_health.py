"""MV health after a migration run (rockway/mv/health.py) on recorded StarRocks answers (`migrate up` end to end
on MariaDB with the MV catalog replayed: tests/mariadb/test_mv_health.py).

The catalog rows are tests/support/mv_catalog.py's recorded `information_schema.materialized_views` row (StarRocks
test/sql/test_materialized_view/R/test_show_materialized_view) under the warehouse's names. Inactive reasons are StarRocks' own texts:
"base-view changed: view1" and, after an ALTER … ACTIVE that cannot work, "column schema not compatible: (`k2`
bigint(20) NULL COMMENT "") and (`k2` double NULL COMMENT "")" (StarRocks fe-core AlterMaterializedViewTest
.testAlterMVOnView: `alter view view1 …` makes the MV on it inactive); "base table schema changed for columns: k1"
and "base-table dropped: ss" (mv_catalog.py: StarRocks test/sql/test_mv/R/test_mv_with_schema_change_column_rename
and test/sql/test_mv/R/basic). The FAILED refresh message is mv_catalog.py's recorded one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rockway.adapters import Timeouts
from rockway.adapters.mysql.base import MySQLAdapter
from rockway.config import parse_dsn
from rockway.mv.health import MvHealthCheck, record_on_span
from tests.support.starrocks_replay import ReplayConnection, Step, q
from tests.support.mv_catalog import (ACTIVATE, BASE_VIEW_CHANGED, COLUMNS_4X, DROPPED, SCHEMA_CHANGED, adapter_for, listing,
                                      mv_row, probe)

NOT_COMPATIBLE = 'column schema not compatible: (`k2` bigint(20) NULL COMMENT "") and (`k2` double NULL COMMENT "")'
REFRESH_FAILED = ("execute task mv-10598 failed: Materialized view: user_tags_mv1/10598 is not active due to "
                  "base-table optimized:t1.")


class Script:
    """The piece of a repeatable script defining_scripts reads."""

    def __init__(self, name: str, sql: str) -> None:
        from rockway.model import Kind
        from rockway.sqlsplit import split

        self.name, self.kind, self._statements = name, Kind.REPEATABLE, split(sql)


MV_SCRIPT = Script("repeatable/R__mv_sales_daily.sql",
                   "CREATE MATERIALIZED VIEW IF NOT EXISTS `sales_dw`.`mv_sales_daily` REFRESH DEFERRED MANUAL AS\n"
                   "SELECT 1 AS x;\nALTER MATERIALIZED VIEW `sales_dw`.`mv_sales_daily` SWAP WITH `mv_sales_daily__new`;")
SCRIPTS = [MV_SCRIPT, Script("repeatable/R__v_sales_enriched.sql", "CREATE VIEW v_sales_enriched AS SELECT 1 AS x;")]


def statements(script: Script) -> list:
    return script._statements


def run_check(mode: str, steps: list[Step]) -> tuple[Any, ReplayConnection]:
    adapter, conn = adapter_for(steps)
    check = MvHealthCheck(adapter, mode)
    report = check.finish(SCRIPTS, statements)
    conn.assert_done()
    return report, conn


def test_an_mv_made_inactive_by_a_base_view_change_is_reported_with_the_activate_command() -> None:
    report, _ = run_check("warn", [probe(COLUMNS_4X), listing(mv_row()),
                                   listing(mv_row(is_active="false", inactive_reason=BASE_VIEW_CHANGED))])
    [finding] = report.problems
    assert (finding.label, finding.problem, finding.reason) == ("sales_dw.mv_sales_daily", "inactive", BASE_VIEW_CHANGED)
    assert finding.fix.startswith("rockway mv activate -d sales_dw; if it stays inactive, edit "
                                  "repeatable/R__mv_sales_daily.sql")
    assert finding.script == "repeatable/R__mv_sales_daily.sql"
    assert not report.fails_run and report.checked == 1
    assert "sales_dw.mv_sales_daily: inactive (base-view changed: v_sales_enriched)" in report.summary()


def test_fail_mode_fails_the_run_and_a_healthy_run_reports_nothing() -> None:
    report, _ = run_check("fail", [probe(COLUMNS_4X), listing(mv_row()),
                                   listing(mv_row(is_active="false", inactive_reason=BASE_VIEW_CHANGED))])
    assert report.fails_run
    report, _ = run_check("fail", [probe(COLUMNS_4X), listing(mv_row()), listing(mv_row())])
    assert report.findings == [] and not report.fails_run


def test_activate_mode_reactivates_and_reads_the_catalog_again() -> None:
    report, _ = run_check("activate", [
        probe(COLUMNS_4X), listing(mv_row()),
        listing(mv_row(is_active="false", inactive_reason=BASE_VIEW_CHANGED)),
        listing(mv_row(is_active="false", inactive_reason=BASE_VIEW_CHANGED)),  # activate_inactive's own listing
        q(ACTIVATE),
        listing(mv_row()),
    ])
    [finding] = report.activated
    assert finding.label == "sales_dw.mv_sales_daily" and report.problems == [] and not report.fails_run


def test_activation_that_leaves_the_mv_inactive_names_the_script_that_must_recreate_it() -> None:
    # testAlterMVOnView: the view's column changed type; ACTIVE leaves the MV inactive with a new reason
    report, _ = run_check("activate", [
        probe(COLUMNS_4X), listing(mv_row()),
        listing(mv_row(is_active="false", inactive_reason=BASE_VIEW_CHANGED)),
        listing(mv_row(is_active="false", inactive_reason=BASE_VIEW_CHANGED)),
        q(ACTIVATE),
        listing(mv_row(is_active="false", inactive_reason=NOT_COMPATIBLE)),
    ])
    [finding] = report.problems
    assert not finding.activated and finding.reason == NOT_COMPATIBLE
    assert finding.fix == ("edit repeatable/R__mv_sales_daily.sql so that it fits its base tables again; "
                           "`migrate up` then recreates the MV")


def test_a_changed_base_column_needs_the_script_and_an_unknown_mv_says_so() -> None:
    report, _ = run_check("warn", [probe(COLUMNS_4X), listing(mv_row(), mv_row("mv_other")),
                                   listing(mv_row(is_active="false", inactive_reason=SCHEMA_CHANGED),
                                           mv_row("mv_other", is_active="false", inactive_reason=SCHEMA_CHANGED))])
    fixes = {f.name: f.fix for f in report.problems}
    assert fixes["mv_sales_daily"].startswith("edit repeatable/R__mv_sales_daily.sql")
    assert fixes["mv_other"] == "recreate it (no repeatable script of this project defines it)"


@pytest.mark.parametrize("table_exists,fix", [
    (False, "its base table ss is gone: restore it, or edit repeatable/R__mv_sales_daily.sql"),
    (True, "rockway mv activate -d sales_dw; if it stays inactive, edit repeatable/R__mv_sales_daily.sql"),
])
def test_a_dropped_base_table_is_looked_up_before_advising(table_exists: bool, fix: str) -> None:
    lookup = q("SELECT 1 FROM information_schema.tables WHERE table_schema = 'sales_dw' AND table_name = 'ss'",
               ("1",), [(1,)] if table_exists else [])
    report, _ = run_check("warn", [probe(COLUMNS_4X), listing(mv_row()),
                                   listing(mv_row(is_active="false", inactive_reason=DROPPED)), lookup])
    assert report.problems[0].fix.startswith(fix)


def test_a_new_mv_whose_first_refresh_failed_is_reported_and_old_failures_are_not() -> None:
    failed = mv_row(last_refresh_state="FAILED", last_refresh_error_message=REFRESH_FAILED)
    report, _ = run_check("warn", [probe(COLUMNS_4X), listing(), listing(failed)])
    [finding] = report.problems
    assert (finding.problem, finding.reason) == ("refresh failed", REFRESH_FAILED)
    assert finding.fix.startswith("fix the cause, then REFRESH MATERIALIZED VIEW `sales_dw`.`mv_sales_daily` WITH SYNC MODE")
    # the same failed refresh before and after the run: not this run's doing
    report, _ = run_check("warn", [probe(COLUMNS_4X), listing(failed), listing(failed)])
    assert report.findings == []


def test_an_mv_inactive_before_the_run_is_only_noted() -> None:
    inactive = mv_row(is_active="false", inactive_reason=SCHEMA_CHANGED)
    report, _ = run_check("fail", [probe(COLUMNS_4X), listing(inactive), listing(inactive)])
    assert report.findings == [] and report.already_inactive == ["sales_dw.mv_sales_daily"] and not report.fails_run


def test_mysql_reads_nothing() -> None:
    adapter = MySQLAdapter(ReplayConnection([]), parse_dsn("mysql://root@h:3306/db"), Timeouts(), "10.11.19-MariaDB")
    report = MvHealthCheck(adapter, "fail").finish(SCRIPTS, statements)  # the empty replay fails on any query
    assert not report.supported and not report.fails_run


def test_the_report_goes_on_the_span() -> None:
    class Span:
        def __init__(self) -> None:
            self.attributes: dict[str, Any] = {}

        def set_attribute(self, key: str, value: Any) -> None:
            self.attributes[key] = value

    report, _ = run_check("warn", [probe(COLUMNS_4X), listing(mv_row()),
                                   listing(mv_row(is_active="false", inactive_reason=BASE_VIEW_CHANGED))])
    span = Span()
    record_on_span(span, report)
    assert span.attributes["rockway.mv.unhealthy"] == 1 and span.attributes["rockway.mv.health"] == "warn"
    assert span.attributes["rockway.mv.findings"][0].startswith("sales_dw.mv_sales_daily: inactive (base-view changed")


# --- one reading for `mv status`, the pipeline's `mv` step and the alert's metric ----------------------------

@pytest.fixture
def measurements():  # type: ignore[no-untyped-def]
    from rockway.observability import metrics

    seen: list[tuple[str, float, dict]] = []
    metrics.forward_measurements(lambda name, value, attrs: seen.append((name, value, dict(attrs))))
    try:
        yield seen
    finally:
        metrics.forward_measurements(None)


def inactive_gauges(seen: list) -> dict[str, float]:
    return {attrs["db.collection.name"]: value for name, value, attrs in seen if name == "rockway.mv.inactive"}


@pytest.mark.parametrize("severity,fails", [("warning", False), ("critical", True)])
def test_the_pipeline_mv_step_reads_like_mv_status_and_sets_the_alert_metric(severity: str, fails: bool, tmp_path: Path,
                                                                             measurements: list) -> None:
    from rockway.config import Settings
    from rockway.mv.status import status_check

    (tmp_path / "migrations").mkdir()
    (tmp_path / "repeatable").mkdir()
    steps = [probe(COLUMNS_4X), listing(mv_row(), mv_row("mv_other", is_active="false", inactive_reason=BASE_VIEW_CHANGED)),
             q("SELECT now()", ("now()",), [("2025-11-14 18:00:00",)])]
    adapter, conn = adapter_for(steps)
    check, step_fails, detail = status_check(adapter, Settings(project_dir=tmp_path), severity)
    conn.assert_done()
    assert (check.name, check.status, check.table, check.severity.value) == ("mv_health", "fail", "sales_dw.mv_other",
                                                                            severity.upper())
    assert step_fails is fails
    assert "sales_dw.mv_other: inactive: base-view changed: v_sales_enriched" in detail and "rockway mv activate" in detail
    assert inactive_gauges(measurements) == {"sales_dw.mv_sales_daily": 0.0, "sales_dw.mv_other": 1.0}


def test_the_pipeline_mv_step_passes_on_mysql_without_a_query(tmp_path: Path) -> None:
    from rockway.config import Settings
    from rockway.mv.status import status_check

    adapter = MySQLAdapter(ReplayConnection([]), parse_dsn("mysql://root@h:3306/db"), Timeouts(), "10.11.19-MariaDB")
    check, fails, detail = status_check(adapter, Settings(project_dir=tmp_path), "critical")
    assert check.status == "pass" and not fails and "no materialized views" in detail


def test_the_check_after_migrate_up_sets_the_same_metric(measurements: list) -> None:
    run_check("warn", [probe(COLUMNS_4X), listing(mv_row()),
                       listing(mv_row(is_active="false", inactive_reason=BASE_VIEW_CHANGED))])
    assert inactive_gauges(measurements) == {"sales_dw.mv_sales_daily": 1.0}  # the last reading: after the run
