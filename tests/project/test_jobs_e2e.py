"""End to end on MariaDB (source ERP database and warehouse): historical load, then incremental days with new,
changed, cancelled and late rows; the warehouse must equal the source, and customer history must be right."""

from __future__ import annotations

import json
import random
import re
from datetime import date, datetime, timedelta

import pytest

from tests.support.jobs import Erp, JobsWarehouse
from tests.support.warehouse import admin_connection

pytestmark = pytest.mark.mariadb
T0 = datetime(2026, 1, 5, 8, 0, 0)


def _ok(result, what: str) -> None:  # type: ignore[no-untyped-def]
    assert result.code == 0, f"{what} exited {result.code}\nstdout:\n{result.out}\nstderr:\n{result.err}"


def _events(stderr: str) -> list[dict]:
    out = []
    for line in stderr.splitlines():
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


def test_history_then_incremental_days_match_the_source(jw: JobsWarehouse) -> None:
    erp = Erp(jw, random.Random(7))
    customers = erp.customers(40, T0)
    materials = erp.materials(25, T0)
    feb = [date(2026, 2, 1) + timedelta(days=i) for i in range(37)]  # 2026-02-01 .. 2026-03-09
    erp.orders(1, 300, feb, customers, materials, datetime(2026, 2, 1, 9, 0, 0), spread=timedelta(minutes=170))

    # --- historical load, dimensions first ------------------------------------------------------
    for job, first in (("dim_customer", "2026-01-01"), ("dim_material", "2026-01-01"),
                       ("stg_billing_item", "2026-01-01"), ("fact_sales", "2026-02-01")):
        result = jw.cli("job", "backfill", job, "--from", first, "--to", "2026-03-09")
        _ok(result, f"backfill {job}")
    assert jw.source_facts(date(2026, 3, 9)) == set(jw.target_facts())
    src, tgt = jw.checksums(date(2026, 3, 9))
    assert src == tgt and src[0] == 900
    assert jw.watermark("fact_sales") == "2026-03-09"
    assert jw.watermark("stg_billing_item") == "2026-03-09 23:59:59.000000"

    # a resumed backfill skips every chunk already done
    again = jw.cli("job", "backfill", "fact_sales", "--from", "2026-02-01", "--to", "2026-03-09", "--json")
    _ok(again, "backfill again")
    assert {c["status"] for c in json.loads(again.out)["chunks"]} == {"done before"}

    # --- day 1 morning: nothing new; the lookback days are rewritten without duplicates ----------
    _ok(jw.cli("run", "morning", "--as-of", "2026-03-10T06:00:00Z"), "morning 1")
    assert len(jw.target_facts()) == len(set(jw.target_facts())) == 900
    assert jw.watermark("stg_billing_item") == "2026-03-10 06:00:00.000000"

    # --- during day 2 -----------------------------------------------------------------------------
    new = erp.orders(1000, 20, [date(2026, 3, 10)], customers, materials, datetime(2026, 3, 10, 10, 0, 0),
                     spread=timedelta(minutes=1))
    erp.run("UPDATE order_items SET net_amount = 4242.42, updated_at = '2026-03-10 12:00:00' "
            "WHERE order_id = (SELECT order_id FROM orders WHERE billing_date = '2026-03-08' ORDER BY order_id LIMIT 1) "
            "AND item_no = 10")
    erp.run("UPDATE orders SET cancelled = 'X', updated_at = '2026-03-10 11:00:00' "
            "WHERE order_id = (SELECT order_id FROM (SELECT order_id FROM orders WHERE billing_date = '2026-03-09' "
            "ORDER BY order_id LIMIT 1) AS o)")
    # a late row: changed at 05:00, committed after the 06:00 run; the 2 h lookback must pick it up
    late = erp.orders(2000, 1, [date(2026, 3, 9)], customers, materials, datetime(2026, 3, 10, 5, 0, 0))
    erp.run("UPDATE customers SET city = 'Graz', updated_at = '2026-03-10 09:00:00' WHERE customer_id = 'C00003'")
    # touched in the ERP without a change to a tracked attribute: no new version (same attr_hash)
    erp.run("UPDATE customers SET updated_at = '2026-03-10 09:30:00' WHERE customer_id = 'C00004'")

    evening = jw.cli("run", "evening", "--as-of", "2026-03-10T20:00:00Z", "--json")
    _ok(evening, "evening")
    assert [(s["kind"], s["status"]) for s in json.loads(evening.out)["steps"]] == [
        ("backup", "success"), ("jobs", "success"), ("drift", "success"), ("mv", "success"), ("notify", "success")]
    morning = jw.cli("run", "morning", "--as-of", "2026-03-11T06:00:00Z", "--json")
    _ok(morning, "morning 2")
    result = json.loads(morning.out)
    assert result["status"] == "success", result

    upto = date(2026, 3, 10)
    assert jw.source_facts(upto) == set(jw.target_facts())
    assert len(jw.target_facts()) == len(jw.source_facts(upto)) == 900 + 60 + 3
    src, tgt = jw.checksums(upto)
    assert src == tgt
    dw = jw.db("dw")
    assert jw.query(f"SELECT net_amount FROM {dw}.fact_sales WHERE net_amount = 4242.42")
    assert jw.query(f"SELECT COUNT(*) FROM {dw}.fact_sales WHERE is_cancelled")[0][0] == 3
    assert jw.query(f"SELECT COUNT(*) FROM {dw}.fact_sales WHERE billing_document = %s", (late[0],))[0][0] == 3
    assert {r[0] for r in jw.query(f"SELECT billing_document FROM {dw}.fact_sales WHERE billing_date = '2026-03-10'")} \
        == set(new)

    # SCD2: C00003 has a closed version and a current one, contiguous, with facts pointing at the right one
    history = jw.query(f"SELECT customer_sk, city, valid_from, valid_to, is_current FROM {dw}.dim_customer "
                       "WHERE customer_id = 'C00003' ORDER BY valid_from")
    assert len(history) == 2
    (old_sk, old_city, old_from, old_to, old_cur), (new_sk, new_city, new_from, new_to, new_cur) = history
    assert (old_city, old_cur, new_city, new_cur) == ("City 2", 0, "Graz", 1)
    assert old_to == new_from == datetime(2026, 3, 10, 9, 0, 0) and new_to == datetime(9999, 12, 31, 23, 59, 59)
    assert jw.query(f"SELECT COUNT(*) FROM {dw}.dim_customer")[0][0] == 41
    assert jw.query(f"SELECT COUNT(*), MIN(valid_from) FROM {dw}.dim_customer WHERE customer_id = 'C00004'")[0] == \
        (1, datetime(2026, 1, 5, 8, 3))
    wrong = jw.query(f"SELECT COUNT(*) FROM {dw}.fact_sales f JOIN {dw}.dim_customer c ON c.customer_sk = f.customer_sk "
                     "WHERE c.customer_id <> f.customer_id OR NOT (c.valid_from <= f.billing_date + INTERVAL 1 DAY "
                     "AND c.valid_to > f.billing_date + INTERVAL 1 DAY)")
    assert wrong[0][0] == 0
    assert jw.query(f"SELECT COUNT(*) FROM {dw}.fact_sales WHERE customer_sk IS NULL")[0][0] == 0
    c3 = jw.query(f"SELECT billing_date, customer_sk FROM {dw}.fact_sales WHERE customer_id = 'C00003'")
    assert c3 and all(sk == (new_sk if d >= date(2026, 3, 10) else old_sk) for d, sk in c3)

    # staging holds each item version once, even though the lookback re-read some of them
    raw = jw.db("raw")
    assert jw.query(f"SELECT COUNT(*) FROM (SELECT vbeln, posnr, changed_at FROM {raw}.stg_billing_item "
                    "GROUP BY vbeln, posnr, changed_at HAVING COUNT(*) > 1) d")[0][0] == 0

    # the evening backup wrote a dump; notifications and job logs carry the outcome
    assert list((jw.root / "backups").glob(f"rw_{dw}_*.sql"))
    assert [n["pipeline"] for n in jw.notifications()][-2:] == ["evening", "morning"]
    assert jw.notifications()[-1]["status"] == "success"
    events = _events(morning.err)
    ends = [e for e in events if e.get("event") == "job_end"]
    assert {e["job"] for e in ends} == {"stg_billing_item", "fact_sales"}
    for e in ends:
        assert e["status"] == "success" and e["run_id"] and "trace_id" in e and e["rows_written"] is not None
    runs = jw.query(f"SELECT job_name, status, rows_written, window_start, window_end, trace_id FROM "
                    f"{jw.db('etl')}.etl_job_run WHERE pipeline = 'morning' AND job_name = 'fact_sales' "
                    "ORDER BY started_at DESC LIMIT 1")
    assert runs[0][1] == "success" and runs[0][3] == datetime(2026, 3, 6) and runs[0][4] == datetime(2026, 3, 10)

    # the same evening and morning once more change nothing (idempotent windows, SCD2 re-run guard)
    before = sorted(jw.target_facts())
    dims = jw.query(f"SELECT customer_sk, customer_id, attr_hash, valid_from, valid_to, is_current FROM {dw}.dim_customer "
                    "ORDER BY customer_sk")
    _ok(jw.cli("run", "evening", "--as-of", "2026-03-10T20:00:00Z"), "evening again")
    _ok(jw.cli("run", "morning", "--as-of", "2026-03-11T06:00:00Z"), "morning again")
    assert sorted(jw.target_facts()) == before
    assert jw.query(f"SELECT customer_sk, customer_id, attr_hash, valid_from, valid_to, is_current FROM {dw}.dim_customer "
                    "ORDER BY customer_sk") == dims

    # `job render` prints exactly what runs: executing its statements rewrites the same window identically
    from rockway import sqlsplit

    rendered = jw.cli("job", "render", "fact_sales", "--from", "2026-03-06", "--to", "2026-03-10")
    _ok(rendered, "render")
    conn = admin_connection(jw.server_dsn)
    try:
        with conn.cursor() as cur:
            for statement in sqlsplit.split(rendered.out, hash_comments=True):
                cur.execute(statement.sql)
    finally:
        conn.close()
    assert sorted(jw.target_facts()) == before

    # status and watermarks as JSON; an audited watermark reset
    status = jw.cli("job", "status", "fact_sales", "--json", "--limit", "3")
    _ok(status, "status")
    assert [r["status"] for r in json.loads(status.out)] == ["success"] * 3
    reset = jw.cli("job", "reset-watermark", "fact_sales", "--to", "2026-03-05", "--yes")
    _ok(reset, "reset")
    assert "fact_sales: watermark 2026-03-10 -> 2026-03-05" in reset.out
    event = next(e for e in _events(reset.err) if e.get("event") == "watermark_reset")
    assert (event["old"], event["new"], event["job"]) == ("2026-03-10", "2026-03-05", "fact_sales") and event["who"]
    audit = jw.query(f"SELECT status, pipeline, error_message FROM {jw.db('etl')}.etl_job_run "
                     "WHERE job_name = 'fact_sales' AND status = 'reset'")
    assert len(audit) == 1 and audit[0][1] == "manual"
    assert re.fullmatch(r"watermark reset by \S+ on \S+ at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC: 2026-03-10 -> 2026-03-05",
                        audit[0][2])
    marks = {m["job_name"]: m["watermark_value"] for m in json.loads(jw.cli("job", "watermarks", "--json").out)}
    assert marks["fact_sales"] == "2026-03-05" and marks["dim_customer"] == "2026-03-10 20:00:00.000000"
