"""A backfill chunk that moves a job's watermark also re-reads the job's lookback before the watermark it replaces
(runner.backfill_read), on the real warehouse jobs over MariaDB: rows committed late inside the lookback are
loaded, as the next incremental run would have loaded them (jobs/stg_billing_item.yaml: "late commits within 2
hours are picked up by the next run"; jobs/fact_sales.yaml: a 3-day lookback for late and changed items). Without
it, the chunk moves the watermark and the next run's lookback no longer reaches them: they are lost for good. The
chunk records what it read in etl_job_run, so the upstream rule counts that part completed and a resumed backfill
still skips the chunk (runner.chunk_done).
"""

from __future__ import annotations

import json
import random
from datetime import date, datetime, timedelta
from typing import Any

from tests.support.jobs import Erp, JobsWarehouse


def _ok(result: Any, what: str) -> None:
    assert result.code == 0, f"{what} exited {result.code}\nstdout:\n{result.out}\nstderr:\n{result.err}"


def _runs(jw: JobsWarehouse, job: str) -> list[tuple[Any, ...]]:
    return jw.query(f"SELECT status, window_start, window_end FROM {jw.db('etl')}.etl_job_run "
                    "WHERE job_name = %s AND status <> 'reset' ORDER BY started_at, ended_at", (job,))


def _staged(jw: JobsWarehouse) -> list[tuple[Any, ...]]:
    return sorted(jw.query(f"SELECT vbeln, posnr, changed_at FROM {jw.db('raw')}.stg_billing_item"))


def test_a_day_backfill_past_the_watermark_stages_the_late_rows_of_its_lookback(jw: JobsWarehouse) -> None:
    """The shrunk falsifying example of tests/project/test_sim_jobs.py (hypothesis seed
    2164095153579633460984092070147537143), by hand: staging is loaded to midnight; an order changed at 22:49:54
    the evening before and billed on 03-02 is committed after that (late, inside the 2-hour lookback); a day
    backfill of 03-02 moves the watermark to 03-02 23:59:59; the next morning's run re-reads from 21:59:59 only."""
    erp = Erp(jw, random.Random(5))
    customers = erp.customers(3, datetime(2026, 3, 1, 20, 0, 0))
    materials = erp.materials(5, datetime(2026, 3, 1, 20, 0, 0))
    _ok(jw.cli("job", "backfill", "dim_customer", "--from", "2026-03-01", "--to", "2026-03-02"), "dimensions")
    _ok(jw.cli("job", "reset-watermark", "stg_billing_item", "--to", "2026-03-01 12:00:00", "--yes"), "reset staging")
    _ok(jw.cli("job", "run", "stg_billing_item", "--as-of", "2026-03-02T00:00:00Z"), "staging to midnight")
    assert jw.watermark("stg_billing_item") == "2026-03-02 00:00:00.000000"

    late = erp.orders(1, 1, [date(2026, 3, 2)], customers, materials, datetime(2026, 3, 1, 22, 49, 54))
    on_time = erp.orders(2, 1, [date(2026, 3, 2)], customers, materials, datetime(2026, 3, 2, 10, 0, 0))
    day = ("job", "backfill", "stg_billing_item", "--from", "2026-03-02", "--to", "2026-03-02", "--chunk", "day")
    _ok(jw.cli(*day), "backfill staging")
    assert jw.watermark("stg_billing_item") == "2026-03-02 23:59:59.000000"
    # the chunk records what it read; a resumed backfill still finds the chunk done
    assert _runs(jw, "stg_billing_item")[-1] == ("success", datetime(2026, 3, 1, 22, 0, 0),
                                                 datetime(2026, 3, 2, 23, 59, 59))
    again = jw.cli(*day, "--json")
    _ok(again, "backfill again")
    assert [c["status"] for c in json.loads(again.out)["chunks"]] == ["done before"]
    _ok(jw.cli("job", "run", "stg_billing_item", "--as-of", "2026-03-03T03:00:00Z"), "morning staging")

    staged = _staged(jw)
    assert len(staged) == len(set(staged)), staged  # each version once, though two runs read the lookback
    assert {r[0] for r in staged} == set(late + on_time), f"late order {late} not staged: {staged}"
    # the facts of 03-02 then hold every item billed that day
    _ok(jw.cli("job", "reset-watermark", "fact_sales", "--to", "2026-03-01", "--yes"), "reset facts")
    _ok(jw.cli("job", "run", "fact_sales", "--as-of", "2026-03-03T03:00:00Z"), "morning facts")
    assert sorted(jw.target_facts()) == sorted(jw.source_facts(date(2026, 3, 2)))


def test_a_day_backfill_after_a_failed_staging_run_completes_the_part_it_reread(jw: JobsWarehouse) -> None:
    """The second falsifying example of the simulation (--hypothesis-seed=5): staging's watermark is set to midnight,
    a run over (03-01 22:00, 03-03 00:00] fails (the ERP table is missing), a day backfill of 03-02 re-reads from
    22:00 and moves the watermark. The chunk records what it read, so the failed run leaves no hole the upstream rule
    would hold the facts back for: the facts of 03-02 load and equal the ERP."""
    erp = Erp(jw, random.Random(11))
    customers = erp.customers(3, datetime(2026, 3, 1, 20, 0, 0))
    materials = erp.materials(5, datetime(2026, 3, 1, 20, 0, 0))
    _ok(jw.cli("job", "backfill", "dim_customer", "--from", "2026-03-01", "--to", "2026-03-02"), "dimensions")
    _ok(jw.cli("job", "reset-watermark", "stg_billing_item", "--to", "2026-03-02 00:00:00", "--yes"), "reset staging")
    erp.orders(1, 1, [date(2026, 3, 2)], customers, materials, datetime(2026, 3, 1, 23, 8, 16))  # late
    erp.orders(2, 1, [date(2026, 3, 2)], customers, materials, datetime(2026, 3, 2, 10, 0, 0))
    erp.run("RENAME TABLE orders TO orders_off")
    assert jw.cli("job", "run", "stg_billing_item", "--as-of", "2026-03-03T00:00:00Z").code == 1
    erp.run("RENAME TABLE orders_off TO orders")
    assert _runs(jw, "stg_billing_item")[-1] == ("failed", datetime(2026, 3, 1, 22, 0, 0), datetime(2026, 3, 3))

    _ok(jw.cli("job", "backfill", "stg_billing_item", "--from", "2026-03-02", "--to", "2026-03-02", "--chunk", "day"),
        "backfill staging")
    _ok(jw.cli("job", "run", "stg_billing_item", "--as-of", "2026-03-03T00:00:00Z"), "staging")
    _ok(jw.cli("job", "reset-watermark", "fact_sales", "--to", "2026-03-01", "--yes"), "reset facts")
    _ok(jw.cli("job", "run", "fact_sales", "--as-of", "2026-03-03T00:00:00Z"), "facts")
    assert jw.watermark("fact_sales") == "2026-03-02"
    assert sorted(jw.target_facts()) == sorted(jw.source_facts(date(2026, 3, 2)))


def test_a_fact_day_backfill_past_the_watermark_rewrites_the_days_of_its_lookback(jw: JobsWarehouse) -> None:
    """The same on a date watermark: facts loaded to 03-05; an item billed on 03-03 changes on 03-06 and is staged;
    a day backfill of 03-06 moves the fact watermark to 03-06, so the next run rewrites 03-04.. only. The chunk
    rewrites 03-03..03-05 too (the 3-day lookback before 03-05), as a run from 03-05 would have."""
    erp = Erp(jw, random.Random(7))
    customers = erp.customers(3, datetime(2026, 3, 1, 8, 0, 0))
    materials = erp.materials(5, datetime(2026, 3, 1, 8, 0, 0))
    for i, day in enumerate(date(2026, 3, 2) + timedelta(days=n) for n in range(4)):  # 03-02 .. 03-05
        erp.orders(1 + 2 * i, 2, [day], customers, materials, datetime(day.year, day.month, day.day, 10, 0, 0))
    for job, last in (("dim_customer", "2026-03-08"), ("stg_billing_item", "2026-03-05"), ("fact_sales", "2026-03-05")):
        _ok(jw.cli("job", "backfill", job, "--from", "2026-03-01", "--to", last), f"backfill {job}")
    assert jw.watermark("fact_sales") == "2026-03-05"

    # order 3 is billed on 03-03; its first item changes on 03-06 (inside the facts' 3-day lookback)
    erp.run("UPDATE order_items SET net_amount = net_amount + 1, updated_at = %s WHERE order_id = %s AND item_no = 10",
            (datetime(2026, 3, 6, 9, 0, 0), "0000000003"))
    _ok(jw.cli("job", "backfill", "stg_billing_item", "--from", "2026-03-06", "--to", "2026-03-06", "--chunk", "day"),
        "backfill staging")
    _ok(jw.cli("job", "backfill", "fact_sales", "--from", "2026-03-06", "--to", "2026-03-06", "--chunk", "day"),
        "backfill facts")
    assert jw.watermark("fact_sales") == "2026-03-06"
    _ok(jw.cli("job", "run", "stg_billing_item", "--as-of", "2026-03-08T06:00:00Z"), "morning staging")
    _ok(jw.cli("job", "run", "fact_sales", "--as-of", "2026-03-08T06:00:00Z"), "morning facts")
    assert jw.watermark("fact_sales") == "2026-03-07"
    facts = jw.target_facts()
    assert len(facts) == len(set(facts)) == 8 * 3
    assert set(facts) == jw.source_facts(date(2026, 3, 7))  # 03-03 with the changed amount
