"""Windows compared on watermark lines (jobs/window.py), and the upstream rule on recorded StarRocks answers: a
refused window reads the ledger and loads nothing (the rule on the real warehouse jobs over MariaDB:
tests/mariadb/test_jobs_upstream.py)."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rockway.jobs.window import Window, covers, in_kind, overlap, reaches
from tests.support.paths import REPO_ROOT


# --- comparisons on watermark lines (window.py) ---------------------------------------------------------------
def test_a_date_day_is_the_datetime_chunk_of_that_day() -> None:
    day = Window("date", date(2026, 1, 31), date(2026, 2, 28))
    assert in_kind(day, "datetime") == Window("datetime", datetime(2026, 1, 31, 23, 59, 59),
                                              datetime(2026, 2, 28, 23, 59, 59))
    assert in_kind(Window("datetime", datetime(2026, 3, 1, 5), datetime(2026, 3, 2, 6)), "date") == \
        Window("date", date(2026, 2, 28), date(2026, 3, 2))
    assert in_kind(day, "integer") is None and reaches("integer", 5, day, whole_days=True) is None


def test_reaching_the_last_day_of_a_date_window() -> None:
    window = Window("date", date(2026, 3, 6), date(2026, 3, 9))
    evening = datetime(2026, 3, 9, 18, 28)  # the evening's dimension watermark of the fact day
    assert reaches("datetime", evening, window, whole_days=False) is True
    assert reaches("datetime", evening, window, whole_days=True) is False  # a backfill chunk needs the whole day
    assert reaches("datetime", datetime(2026, 3, 9, 23, 59, 59), window, whole_days=True) is True
    assert reaches("datetime", datetime(2026, 3, 8, 23, 59, 59), window, whole_days=False) is False
    assert reaches("datetime", None, window, whole_days=False) is False
    assert reaches("date", date(2026, 3, 9), Window("datetime", None, datetime(2026, 3, 9, 23)), whole_days=True)


@given(st.lists(st.tuples(st.integers(0, 30), st.integers(0, 30)), max_size=8), st.integers(0, 30), st.integers(0, 30))
def test_covers_is_the_union_of_the_spans(spans: list[tuple[int, int]], lo: int, hi: int) -> None:
    """Invariant: (lo, hi] is covered exactly when every point of it lies in some span (a, b]."""
    spans = [(a, b) for a, b in spans if a < b]
    points = [x + 0.5 for x in range(lo, hi)]  # integer bounds: one point per unit step decides
    expected = all(any(a < p <= b for a, b in spans) for p in points)
    assert covers(spans, lo, hi) == expected


def test_overlap_of_half_open_windows() -> None:
    assert overlap(1, 5, 5, 9) is None and overlap(1, 5, 4, 9) == (4, 5) and overlap(None, 5, 2, None) == (2, 5)


# --- on StarRocks: the statements of a refused window (starrocks_replay.py) -------------------------------------
def test_refused_window_on_starrocks_reads_the_ledger_and_loads_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """fact_sales on StarRocks while staging's newest run over the window failed: the runner reads etl_job_run and
    etl_watermark (rockway's own tables, plain SELECTs), sends no INSERT OVERWRITE and no etl_watermark write, and
    records the run `failed`. dim_customer, loaded the evening before, does not block (it reached the day)."""
    from rockway.adapters import Timeouts
    from rockway.adapters.registry import job_ops
    from rockway.adapters.starrocks.base import StarRocksAdapter
    from rockway.config import load_settings, parse_dsn
    from rockway.jobs.api import load_project
    from rockway.jobs.pool import Pool
    from rockway.jobs.runner import JobEnv, run_job
    from tests.support.starrocks_replay import ReplayConnection, q, rx

    repo = REPO_ROOT
    monkeypatch.setenv("ROCKWAY_ENV", "prod")
    settings = load_settings(repo, env_name="prod")
    project = load_project(settings)
    wm_columns = ("job_name", "source_name", "watermark_value", "watermark_type", "window_start", "window_end",
                  "rows_loaded", "run_id", "updated_at")

    def wm(job: str, source: str) -> str:
        return (f"SELECT {', '.join(wm_columns)} FROM `sales_etl`.`etl_watermark` WHERE job_name = '{job}' "
                f"AND source_name = '{source}'")

    def runs(job: str) -> str:
        return ("SELECT status, window_start, window_end FROM `sales_etl`.`etl_job_run` WHERE job_name = "
                f"'{job}' AND status IN ('success', 'failed') ORDER BY started_at DESC, ended_at DESC")

    run_row = r"INSERT INTO `sales_etl`.`etl_job_run` \(`run_id`, .*\) VALUES \('[0-9a-f-]{36}', 'fact_sales', 'morning', .*"
    steps = [
        q("SET time_zone = 'UTC'"), q("SET query_timeout = 3600"), q("SET insert_timeout = 3600"),
        q(wm("fact_sales", "warehouse"), wm_columns,
          [("fact_sales", "warehouse", "2026-03-08", "date", datetime(2026, 3, 5), datetime(2026, 3, 8), 10, "r0",
            datetime(2026, 3, 8, 5, 0))]),
        rx(run_row + r"'running'.*"),
        q(runs("stg_billing_item"), ("status", "window_start", "window_end"),
          [("failed", datetime(2026, 3, 9, 2, 13), datetime(2026, 3, 10, 4, 13)),
           ("success", datetime(2026, 3, 8, 2, 13), datetime(2026, 3, 9, 4, 13))]),
        q(runs("dim_customer"), ("status", "window_start", "window_end"),
          [("success", datetime(2026, 3, 8, 18, 28), datetime(2026, 3, 9, 18, 28))]),
        q(wm("dim_customer", "erp"), wm_columns,
          [("dim_customer", "erp", "2026-03-09 18:28:00.000000", "datetime", None, None, None, None,
            datetime(2026, 3, 9, 18, 28))]),
        rx(run_row + r"'failed'.*"),
    ]
    conn = ReplayConnection(steps)
    adapter = StarRocksAdapter(conn, parse_dsn("starrocks://etl@fe:9030/warehouse"), Timeouts(), "3.4.2-abc")
    monkeypatch.setattr(StarRocksAdapter, "clone", lambda self: self)
    monkeypatch.setattr(StarRocksAdapter, "close", lambda self: None)
    pool = Pool(adapter, 1, on_open=lambda a: job_ops(a).setup_session(project.jobs.statement_timeout))
    env = JobEnv(settings, project.jobs, pool, None, "sales_etl", "morning", as_of=datetime(2026, 3, 10, 5, 0),
                 specs=project.specs)  # Berlin 06:00 -> yesterday = 2026-03-09
    result = run_job(project.specs["fact_sales"], env)
    conn.assert_done()
    assert result.status == "failed" and result.rows_written is None
    assert result.error == (
        "window (2026-03-05, 2026-03-09] not loaded: upstream stg_billing_item has not completed it: its run over "
        "(2026-03-09 02:13:00, 2026-03-10 04:13:00] failed and no successful run covers that part. Run first: "
        "rockway job backfill stg_billing_item --from 2026-03-06 --to 2026-03-09 --env prod")
