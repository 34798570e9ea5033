"""The upstream rule (jobs/upstream.py) and the one rule for a window recorded done (runner.window_done), on the
real warehouse jobs over MariaDB: a job does not load a window its depends_on jobs have not completed, and a
window whose load or CRITICAL checks failed is never recorded done nor moves the watermark (the window
comparisons and the StarRocks statements of a refused window: tests/unit/test_jobs_upstream.py)."""

from __future__ import annotations

import json
import random
from datetime import date, datetime, timedelta
from typing import Any

from tests.support.jobs import Erp, JobsWarehouse

T0 = datetime(2026, 1, 5, 8, 0, 0)
FEB, MAR = date(2026, 2, 1), date(2026, 3, 1)
DAYS = [FEB + timedelta(days=i) for i in range(59)]  # 2026-02-01 .. 2026-03-31
# A CRITICAL check on staging that fails once March rows are staged (a stand-in for any failed check).
MARCH_GUARD = {"stg_guard": ["CRITICAL", "SELECT COUNT(*) FROM {raw}.stg_billing_item WHERE fkdat >= '2026-03-01'"]}
GUARD_PASSES = {"stg_guard": ["CRITICAL", "SELECT 0"]}


def _ok(result: Any, what: str) -> None:
    assert result.code == 0, f"{what} exited {result.code}\nstdout:\n{result.out}\nstderr:\n{result.err}"


def _text(result: Any) -> str:
    return " ".join((result.out + result.err).split())  # the console wraps long messages


def _seed(jw: JobsWarehouse, dimensions_to: str = "2026-03-31") -> None:
    """Customers loaded up to dimensions_to; two orders (six items) billed and changed on each day of Feb and Mar."""
    erp = Erp(jw, random.Random(13))
    customers = erp.customers(15, T0)
    materials = erp.materials(10, T0)
    for n, day in enumerate(DAYS):
        erp.orders(1 + 2 * n, 2, [day], customers, materials, datetime(day.year, day.month, day.day, 10, 0, 0),
                   spread=timedelta(minutes=5))
    _ok(jw.cli("job", "backfill", "dim_customer", "--from", "2026-01-01", "--to", dimensions_to), "backfill dim_customer")


def _runs(jw: JobsWarehouse, job: str) -> list[tuple[Any, ...]]:
    return jw.query(f"SELECT status, window_start, window_end, error_message FROM {jw.db('etl')}.etl_job_run "
                    "WHERE job_name = %s ORDER BY started_at, ended_at, window_start", (job,))  # chunks of one second


def _staged_items(jw: JobsWarehouse) -> int:
    return jw.query(f"SELECT COUNT(*) FROM (SELECT DISTINCT vbeln, posnr FROM {jw.db('raw')}.stg_billing_item) d")[0][0]


def _break_staging(jw: JobsWarehouse) -> str:
    sql = jw.root / "jobs" / "stg_billing_item.sql"
    original = sql.read_text(encoding="utf-8")
    sql.write_text(original.replace("o.order_type AS fkart", "o.doc_type AS fkart"), encoding="utf-8")
    return original


def _guard_staging(jw: JobsWarehouse) -> None:
    spec = jw.root / "jobs" / "stg_billing_item.yaml"
    spec.write_text(spec.read_text(encoding="utf-8") + "checks: [stg_guard]\n", encoding="utf-8")


def test_backfill_refuses_windows_of_a_failed_upstream_and_the_rerun_fills_them(jw: JobsWarehouse) -> None:
    """Issue 13 item 11: staging failed for the range, so fact_sales loads nothing and records nothing."""
    _seed(jw)
    original = _break_staging(jw)
    staging = jw.cli("job", "backfill", "stg_billing_item", "--from", "2026-02-01", "--to", "2026-03-31")
    assert staging.code == 1, _text(staging)

    fact = jw.cli("job", "backfill", "fact_sales", "--from", "2026-02-01", "--to", "2026-03-31")
    assert fact.code == 1, _text(fact)
    said = _text(fact)
    assert ("upstream stg_billing_item has not completed it: its run over (2026-01-31 23:59:59, 2026-02-28 23:59:59] "
            "failed") in said, said
    assert "rockway job backfill stg_billing_item --from 2026-02-01 --to 2026-02-28" in said, said
    assert jw.query(f"SELECT COUNT(*) FROM {jw.db('dw')}.fact_sales")[0][0] == 0
    assert jw.watermark("fact_sales") is None
    assert [r[0] for r in _runs(jw, "fact_sales")] == ["failed"]  # the refused chunk, nothing done
    # a second attempt is refused again: no chunk became "done" by being refused
    assert jw.cli("job", "backfill", "fact_sales", "--from", "2026-02-01", "--to", "2026-03-31").code == 1
    assert not [r for r in _runs(jw, "fact_sales") if r[0] == "success"]

    # the upstream is fixed: staging, then the facts, load every chunk; each staged item once in fact_sales
    (jw.root / "jobs" / "stg_billing_item.sql").write_text(original, encoding="utf-8")
    _ok(jw.cli("job", "backfill", "stg_billing_item", "--from", "2026-02-01", "--to", "2026-03-31"), "staging")
    again = jw.cli("job", "backfill", "fact_sales", "--from", "2026-02-01", "--to", "2026-03-31", "--json")
    _ok(again, "fact_sales")
    assert [c["status"] for c in json.loads(again.out)["chunks"]] == ["success", "success"]
    facts = jw.target_facts()
    assert len(facts) == len(set(facts)) == _staged_items(jw) == 59 * 2 * 3
    assert set(facts) == jw.source_facts(date(2026, 3, 31))
    assert jw.watermark("fact_sales") == "2026-03-31"
    done = jw.cli("job", "backfill", "fact_sales", "--from", "2026-02-01", "--to", "2026-03-31", "--json")
    assert [c["status"] for c in json.loads(done.out)["chunks"]] == ["done before", "done before"]


def test_failed_critical_check_leaves_the_window_not_done_for_backfill_and_run(jw: JobsWarehouse) -> None:
    _seed(jw)
    _guard_staging(jw)
    guard = json.dumps(MARCH_GUARD)

    # backfill: February passes, March loads but its CRITICAL check fails -> not done, watermark stays
    staging = jw.cli("job", "backfill", "stg_billing_item", "--from", "2026-02-01", "--to", "2026-03-31", "--json",
                     ROCKWAY_TEST_EXTRA_CHECKS=guard)
    assert staging.code == 1, _text(staging)
    assert "CRITICAL check(s) failed: stg_guard" in _text(staging)
    assert jw.watermark("stg_billing_item") == "2026-02-28 23:59:59.000000"
    assert [r[:3] for r in _runs(jw, "stg_billing_item")] == [
        ("success", datetime(2026, 1, 31, 23, 59, 59), datetime(2026, 2, 28, 23, 59, 59)),
        ("failed", datetime(2026, 2, 28, 23, 59, 59), datetime(2026, 3, 31, 23, 59, 59))]
    retry = jw.cli("job", "backfill", "stg_billing_item", "--from", "2026-02-01", "--to", "2026-03-31",
                   ROCKWAY_TEST_EXTRA_CHECKS=guard)
    assert retry.code == 1 and "0 chunk(s) loaded" not in _text(retry)  # March is tried again, not "done"

    # the March rows are staged, yet not done: the fact backfill loads February and refuses March
    fact = jw.cli("job", "backfill", "fact_sales", "--from", "2026-02-01", "--to", "2026-03-31")
    assert fact.code == 1, _text(fact)
    said = _text(fact)
    assert ("upstream stg_billing_item has not completed it: its run over (2026-02-28 23:59:59, 2026-03-31 23:59:59] "
            "failed") in said, said
    assert "rockway job backfill stg_billing_item --from 2026-03-01 --to 2026-03-31" in said, said
    assert jw.watermark("fact_sales") == "2026-02-28"
    assert {r[0] for r in jw.query(f"SELECT DISTINCT MONTH(billing_date) FROM {jw.db('dw')}.fact_sales")} == {2}

    # run: the next window of staging fails its check -> watermark unchanged, no success row for the window
    run = jw.cli("job", "run", "stg_billing_item", "--as-of", "2026-03-10T06:00:00Z", ROCKWAY_TEST_EXTRA_CHECKS=guard)
    assert run.code == 1, _text(run)
    assert jw.watermark("stg_billing_item") == "2026-02-28 23:59:59.000000"
    last = _runs(jw, "stg_billing_item")[-1]
    assert last[0] == "failed" and last[3] == "CRITICAL check(s) failed: stg_guard; watermark not moved"
    assert last[2] == datetime(2026, 3, 10, 6, 0, 0)
    fact_run = jw.cli("job", "run", "fact_sales", "--as-of", "2026-03-10T06:00:00Z")
    assert fact_run.code == 1 and "upstream stg_billing_item has not completed it" in _text(fact_run)
    assert jw.watermark("fact_sales") == "2026-02-28"

    # the check passes again: staging catches up, the facts follow, nothing missing and nothing twice
    passes = json.dumps(GUARD_PASSES)
    _ok(jw.cli("job", "backfill", "stg_billing_item", "--from", "2026-02-01", "--to", "2026-03-31",
               ROCKWAY_TEST_EXTRA_CHECKS=passes), "staging")
    _ok(jw.cli("job", "backfill", "fact_sales", "--from", "2026-02-01", "--to", "2026-03-31"), "fact_sales")
    facts = jw.target_facts()
    assert len(facts) == len(set(facts)) == _staged_items(jw) == 59 * 2 * 3
    assert jw.watermark("fact_sales") == "2026-03-31"


def test_morning_facts_wait_for_a_failed_evening_and_a_failed_morning_staging(jw: JobsWarehouse) -> None:
    """Across pipelines: the morning fact load after a failed evening dimension load, and a manual fact run after
    the morning's staging failed, are refused; once the upstream runs, the facts load."""
    _seed(jw, dimensions_to="2026-03-09")
    for job in ("dim_material", "stg_billing_item", "fact_sales"):
        _ok(jw.cli("job", "backfill", job, "--from", "2026-02-01", "--to", "2026-03-09"), f"backfill {job}")
    sql = jw.root / "jobs" / "dim_customer.sql"
    original = sql.read_text(encoding="utf-8")
    sql.write_text(original.replace("c.postal_code,", "c.zip_code AS postal_code,"), encoding="utf-8")
    assert jw.cli("run", "evening", "--as-of", "2026-03-10T20:00:00Z").code == 1

    morning = jw.cli("run", "morning", "--as-of", "2026-03-11T06:00:00Z", "--json")
    assert morning.code == 1, _text(morning)
    jobs = json.loads(morning.out)["jobs"]
    assert jobs["stg_billing_item"]["status"] == "success"  # no depends_on: not held back by the dimensions
    assert jobs["fact_sales"]["status"] == "failed"
    assert "upstream dim_customer has not completed it: its run over" in jobs["fact_sales"]["error"]
    assert "Run first: rockway job backfill dim_customer --from 2026-03-07 --to 2026-03-10 --env dev" in \
        jobs["fact_sales"]["error"]  # a failed run's hole is filled by a backfill of the window's days
    assert jw.watermark("fact_sales") == "2026-03-09"

    sql.write_text(original, encoding="utf-8")
    _ok(jw.cli("run", "evening", "--as-of", "2026-03-11T20:00:00Z"), "evening")
    _ok(jw.cli("run", "morning", "--as-of", "2026-03-12T06:00:00Z"), "morning")
    assert jw.watermark("fact_sales") == "2026-03-11"
    assert set(jw.target_facts()) == jw.source_facts(date(2026, 3, 11))

    # the next morning's staging fails: the pipeline skips the facts, and a manual fact run is refused too
    _ok(jw.cli("run", "evening", "--as-of", "2026-03-12T20:00:00Z"), "evening 2")
    original = _break_staging(jw)
    assert jw.cli("run", "morning", "--as-of", "2026-03-13T06:00:00Z").code == 1
    manual = jw.cli("job", "run", "fact_sales", "--as-of", "2026-03-13T06:00:00Z")
    assert manual.code == 1, _text(manual)
    assert "upstream stg_billing_item has not completed it" in _text(manual)
    assert jw.watermark("fact_sales") == "2026-03-11"
    (jw.root / "jobs" / "stg_billing_item.sql").write_text(original, encoding="utf-8")
    _ok(jw.cli("run", "morning", "--as-of", "2026-03-13T06:00:00Z"), "morning after the fix")
    assert jw.watermark("fact_sales") == "2026-03-12"
    assert set(jw.target_facts()) == jw.source_facts(date(2026, 3, 12))
