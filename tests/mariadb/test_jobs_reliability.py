"""Failure behaviour on a real MariaDB: connections cut mid-load (20 trials through a TCP proxy), two overlapping
morning runs, a CRITICAL check failing, a permanent error."""

from __future__ import annotations

import json
import logging
import random
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from tests.support.jobs import Erp, JobsWarehouse
from tests.support.tcp_proxy import TcpProxy

pytestmark = pytest.mark.mariadb
T0 = datetime(2026, 1, 5, 8, 0, 0)


def _ok(result: Any, what: str) -> None:
    assert result.code == 0, f"{what} exited {result.code}\nstdout:\n{result.out}\nstderr:\n{result.err}"


def history(jw: JobsWarehouse, erp: Erp, orders: int = 120) -> tuple[list[str], list[str]]:
    """Customers, materials and `orders` orders billed 2026-02-20 .. 2026-03-09, loaded by backfills."""
    customers = erp.customers(30, T0)
    materials = erp.materials(20, T0)
    days = [date(2026, 2, 20) + timedelta(days=i) for i in range(18)]
    erp.orders(1, orders, days, customers, materials, datetime(2026, 2, 20, 9, 0, 0), spread=timedelta(minutes=190))
    for job, first in (("dim_customer", "2026-01-01"), ("dim_material", "2026-01-01"),
                       ("stg_billing_item", "2026-01-01"), ("fact_sales", "2026-02-20")):
        _ok(jw.cli("job", "backfill", job, "--from", first, "--to", "2026-03-09"), f"backfill {job}")
    return customers, materials


def test_overlapping_morning_runs_second_exits_4_naming_the_holder(jw: JobsWarehouse) -> None:
    erp = Erp(jw, random.Random(3))
    erp.customers(3, T0)
    for job, value in (("dim_customer", "2026-03-09 23:59:59"), ("stg_billing_item", "2026-03-09 23:59:59"),
                       ("fact_sales", "2026-03-08")):  # the facts' upstream jobs have loaded 2026-03-09
        _ok(jw.cli("job", "reset-watermark", job, "--to", value, "--yes"), "reset")
    pipelines = jw.root / "jobs" / "pipelines.yaml"
    pipelines.write_text(pipelines.read_text().replace("dim_customer_one_current_version]",
                                                       "dim_customer_one_current_version, slow_check]"))
    env = jw.env(ROCKWAY_TEST_EXTRA_CHECKS=json.dumps({"slow_check": ["INFO", "SELECT SLEEP(6)"]}))
    first = subprocess.Popen([sys.executable, "-c", "from rockway.cli.main import main; main()", "run", "morning",
                              "--as-of", "2026-03-10T06:00:00Z"], cwd=jw.root, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        name = f"{jw.wh.meta_db}.rockway_pipeline_morning"
        deadline = time.monotonic() + 60
        while jw.query("SELECT IS_USED_LOCK(%s)", (name,))[0][0] is None:
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, "the first run never took the pipeline lock"
            time.sleep(0.05)
        second = jw.cli("run", "morning", "--as-of", "2026-03-10T06:00:00Z", ROCKWAY_LOCK_TIMEOUT="1")
        assert second.code == 4, second.out + second.err
        assert "lock 'rockway_pipeline_morning' is held by host" in second.err
        assert f"pid {first.pid}, run " in second.err
        out, err = first.communicate(timeout=120)
        assert first.returncode == 0, out + err
        # the second run wrote nothing: one morning's jobs in etl_job_run
        runs = jw.query(f"SELECT COUNT(*) FROM {jw.db('etl')}.etl_job_run WHERE pipeline = 'morning' "
                        "AND job_name IN ('stg_billing_item', 'fact_sales')")
        assert runs[0][0] == 2
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()


def test_critical_check_stops_the_morning_before_the_watermark_moves(jw: JobsWarehouse) -> None:
    erp = Erp(jw, random.Random(5))
    customers, materials = history(jw, erp, orders=60)
    # an order of a customer the warehouse does not know (not in the ERP customer master yet)
    erp.orders(500, 1, [date(2026, 3, 10)], ["C99999"], materials, datetime(2026, 3, 10, 10, 0, 0))
    erp.orders(600, 5, [date(2026, 3, 10)], customers, materials, datetime(2026, 3, 10, 10, 30, 0))
    _ok(jw.cli("run", "evening", "--as-of", "2026-03-10T20:00:00Z"), "evening")  # the customers of 2026-03-10
    before_fact, before_stg = jw.watermark("fact_sales"), jw.watermark("stg_billing_item")
    mv_rows = jw.query(f"SELECT COUNT(*) FROM {jw.db('dw')}.dim_sales_group")[0][0]

    morning = jw.cli("run", "morning", "--as-of", "2026-03-11T06:00:00Z", "--json")
    assert morning.code == 1, morning.out + morning.err
    result = json.loads(morning.out)
    assert result["status"] == "failed"
    assert result["jobs"]["fact_sales"]["status"] == "failed"
    assert "CRITICAL check(s) failed: fact_sales_customer_known" in result["jobs"]["fact_sales"]["error"]
    assert [(s["kind"], s["status"]) for s in result["steps"]] == [
        ("jobs", "failed"), ("refresh", "skipped"), ("sql", "skipped"), ("verify", "skipped"), ("notify", "success")]
    assert jw.watermark("fact_sales") == before_fact == "2026-03-09"  # not moved
    assert jw.watermark("stg_billing_item") != before_stg  # staging itself succeeded
    assert jw.query(f"SELECT COUNT(*) FROM {jw.db('dw')}.dim_sales_group")[0][0] == mv_rows  # sql step never ran
    # the check really ran against the loaded rows, with the window as scope
    checks = [v for v in jw.verifications() if "fact_sales_customer_known" in v["checks"]]
    assert checks[-1]["results"] == [["fact_sales_unique_items", "pass"], ["fact_sales_customer_known", "fail"]]
    assert checks[-1]["scope"]["window_start"] == "2026-03-07" and checks[-1]["scope"]["window_end"] == "2026-03-11"
    failed = jw.query(f"SELECT status, error_message FROM {jw.db('etl')}.etl_job_run WHERE job_name = 'fact_sales' "
                      "AND pipeline = 'morning'")
    assert failed == [("failed", "CRITICAL check(s) failed: fact_sales_customer_known; watermark not moved")]
    assert jw.notifications()[-1]["status"] == "failed" and jw.notifications()[-1]["jobs"]["fact_sales"] == "failed"

    # the customer arrives in the ERP: the evening loads it, the next morning passes and moves the watermark
    erp.run("INSERT INTO customers VALUES ('C99999', 'Late Customer', 'G1', 'RETL', 'AT', 'Linz', '4020', "
            "'2026-03-11 08:00:00')")
    _ok(jw.cli("run", "evening", "--as-of", "2026-03-11T20:00:00Z"), "evening")
    _ok(jw.cli("run", "morning", "--as-of", "2026-03-12T06:00:00Z"), "morning again")
    assert jw.watermark("fact_sales") == "2026-03-11"
    assert jw.source_facts(date(2026, 3, 11)) == set(jw.target_facts())


def test_failed_backup_stops_the_dimension_loads_and_retention_keeps_n(jw: JobsWarehouse) -> None:
    erp = Erp(jw, random.Random(11))
    erp.customers(4, T0)
    _ok(jw.cli("job", "reset-watermark", "dim_customer", "--to", "2026-01-01 00:00:00", "--yes"), "reset")
    _ok(jw.cli("job", "reset-watermark", "dim_material", "--to", "2026-01-01 00:00:00", "--yes"), "reset")
    jw.write_jobs_toml(extra='dump_command = "false"\n')  # a dump tool that fails
    evening = jw.cli("run", "evening", "--as-of", "2026-03-10T20:00:00Z", "--json")
    assert evening.code == 1, evening.out + evening.err
    result = json.loads(evening.out)
    assert [(s["kind"], s["status"]) for s in result["steps"]] == [("backup", "failed"), ("jobs", "skipped"),
                                                                    ("drift", "skipped"), ("mv", "skipped"),
                                                                    ("notify", "success")]
    assert "backup of " in result["steps"][0]["detail"] and "failed (exit 1)" in result["steps"][0]["detail"]
    assert jw.query(f"SELECT COUNT(*) FROM {jw.db('dw')}.dim_customer")[0][0] == 0
    assert jw.watermark("dim_customer") == "2026-01-01 00:00:00.000000"
    assert jw.query(f"SELECT status FROM {jw.db('etl')}.etl_job_run WHERE job_name = 'step:backup'") == [("failed",)]
    assert jw.notifications()[-1]["status"] == "failed"
    assert not list((jw.root / "backups").glob("*.sql"))  # no half-written dump counts as a backup

    jw.write_jobs_toml()  # mariadb-dump again
    pipelines = jw.root / "jobs" / "pipelines.yaml"
    pipelines.write_text(pipelines.read_text().replace("backup: {retain: 7}", "backup: {retain: 2}"))
    for n in range(3):
        _ok(jw.cli("run", "evening", "--as-of", f"2026-03-1{n}T20:00:00Z"), f"evening {n}")
        time.sleep(1.1)  # backup names carry the second they were taken
    dumps = sorted((jw.root / "backups").glob(f"rw_{jw.db('dw')}_*.sql"))
    assert len(dumps) == 2
    assert "-- Dump completed" in dumps[-1].read_text(encoding="utf-8")[-200:]
    assert f"CREATE DATABASE /*!32312 IF NOT EXISTS*/ `{jw.db('dw')}`" in dumps[-1].read_text(encoding="utf-8")
    assert jw.query(f"SELECT COUNT(*) FROM {jw.db('dw')}.dim_customer")[0][0] == 4


def test_permanent_error_fails_at_once_without_retries(jw: JobsWarehouse) -> None:
    erp = Erp(jw, random.Random(9))
    erp.customers(2, T0)
    _ok(jw.cli("job", "reset-watermark", "dim_customer", "--to", "2026-01-01 00:00:00", "--yes"), "reset")
    sql = jw.root / "jobs" / "dim_customer.sql"
    sql.write_text(sql.read_text().replace("c.postal_code,", "c.zip_code AS postal_code,"))
    run = jw.cli("job", "run", "dim_customer", "--as-of", "2026-03-10T06:00:00Z")
    assert run.code == 1, run.out + run.err
    assert "Unknown column 'c.zip_code'" in run.err
    events = [json.loads(line) for line in run.err.splitlines() if line.startswith("{")]
    assert not [e for e in events if e.get("event") == "job_retry"]
    end = next(e for e in events if e.get("event") == "job_end")
    assert end["status"] == "failed" and end["attempts"] == 1
    assert jw.watermark("dim_customer") == "2026-01-01 00:00:00.000000"


def _stg_versions(jw: JobsWarehouse, upto: datetime) -> set[tuple[str, int, datetime]]:
    rows = jw.query(f"SELECT o.order_id, i.item_no, GREATEST(o.updated_at, i.updated_at) FROM {jw.erp_db}.orders o "
                    f"JOIN {jw.erp_db}.order_items i ON i.order_id = o.order_id "
                    "WHERE GREATEST(o.updated_at, i.updated_at) <= %s", (upto,))
    return {(r[0], r[1], r[2]) for r in rows}


def test_connection_cut_mid_load_20_trials(jw: JobsWarehouse, monkeypatch: pytest.MonkeyPatch,
                                           caplog: pytest.LogCaptureFixture) -> None:
    rng = random.Random(20260311)
    erp = Erp(jw, rng)
    customers, materials = history(jw, erp)
    # the customers (unchanged below) loaded through the trial days: the facts of a day wait for them (jobs/upstream.py)
    _ok(jw.cli("job", "backfill", "dim_customer", "--from", "2026-03-10", "--to", "2026-03-31"), "backfill dim_customer")
    proxy = TcpProxy(("127.0.0.1", int(jw.server_dsn.rsplit(":", 1)[1].split("/")[0]))).start()
    try:
        jw.extra_env = {"ROCKWAY_DSN": jw.wh.dsn.replace(f":{jw.server_dsn.rsplit(':', 1)[1].split('/')[0]}/",
                                                         f":{proxy.port}/"),
                        "ROCKWAY_SOURCE_ERP_DSN": jw.source_dsn(proxy.port)}
        jw.apply_env(monkeypatch)
        from tests.support import jobs_verifier
        from rockway.jobs.api import run_named_pipeline

        settings = jw.settings()
        verifier = jobs_verifier.make_verifier(settings)
        caplog.set_level(logging.INFO, logger="rockway.jobs")

        def morning(day: date) -> Any:
            as_of = datetime(day.year, day.month, day.day, 6, 0, 0) + timedelta(days=1)
            return run_named_pipeline(settings, "morning", verifier=verifier, notifier=None, as_of=as_of)

        def business_day(n: int, day: date) -> None:
            base = datetime(day.year, day.month, day.day)
            erp.orders(10_000 + 100 * n, 25, [day], customers, materials, base + timedelta(hours=10),
                       spread=timedelta(seconds=37))
            erp.run("UPDATE order_items SET net_amount = net_amount + 1, updated_at = %s WHERE order_id IN "
                    "(SELECT order_id FROM orders WHERE billing_date = %s) AND item_no = 20",
                    (base + timedelta(hours=12), day - timedelta(days=1)))
            # late: changed at 05:30, before the previous run's 06:00 end, committed only now
            erp.orders(50_000 + n, 1, [day - timedelta(days=1)], customers, materials, base + timedelta(hours=5, minutes=30))

        # calibration run: how many bytes does one morning move through the proxy?
        day = date(2026, 3, 10)
        business_day(0, day)
        start = proxy.bytes
        assert morning(day).status == "success"
        calibration = proxy.bytes - start
        assert calibration > 10_000

        fired = retried_runs = reruns = 0
        for trial in range(1, 21):
            day = date(2026, 3, 10) + timedelta(days=trial)
            business_day(trial, day)
            caplog.clear()
            proxy.cut_after(rng.randint(200, int(calibration * 0.95)))
            try:
                outcome = morning(day)
                status = outcome.status
            except Exception as exc:  # noqa: BLE001 - a cut can also hit the pipeline's own connect or lock
                status = f"raised {type(exc).__name__}: {exc}"
            fired += not proxy.disarm()
            retried_runs += any(getattr(r, "event", None) == "job_retry" for r in caplog.records)
            if status != "success":
                reruns += 1
                again = morning(day)
                assert again.status == "success", (status, again.error)

            # invariants, read directly (not through the proxy)
            raw, dw = jw.db("raw"), jw.db("dw")
            dupes = jw.query(f"SELECT COUNT(*) FROM (SELECT vbeln, posnr, changed_at FROM {raw}.stg_billing_item "
                             "GROUP BY vbeln, posnr, changed_at HAVING COUNT(*) > 1) d")[0][0]
            assert dupes == 0, f"trial {trial}: duplicated staging rows"
            stg_wm = datetime.fromisoformat(jw.watermark("stg_billing_item") or "")
            fact_wm = date.fromisoformat(jw.watermark("fact_sales") or "")
            as_of = datetime(day.year, day.month, day.day, 6) + timedelta(days=1)
            assert stg_wm <= as_of and fact_wm <= day, f"trial {trial}: watermark ahead of the data"
            staged = {(r[0], r[1], r[2]) for r in jw.query(f"SELECT vbeln, posnr, changed_at FROM {raw}.stg_billing_item")}
            missing = _stg_versions(jw, stg_wm) - staged
            assert not missing, f"trial {trial}: {len(missing)} source versions at or below the watermark not staged"
            target = jw.target_facts()
            assert len(target) == len(set(target)), f"trial {trial}: duplicated facts"
            assert set(target) == jw.source_facts(fact_wm), f"trial {trial}: facts differ from the source"
            counted = jw.query(f"SELECT COUNT(*) FROM {dw}.fact_sales")[0][0]
            assert counted == len(jw.source_facts(fact_wm))
            assert fact_wm == day and stg_wm == as_of

        print(f"\n20 trials: cut fired in {fired}, jobs retried in {retried_runs}, pipeline re-run in {reruns};"
              f" {calibration} bytes per clean run, {proxy.accepted} connections, {proxy.cuts} cuts")
        assert fired >= 18, f"only {fired} of 20 cuts hit a running morning"
        assert retried_runs >= 10, f"jobs retried in only {retried_runs} trials"
    finally:
        proxy.close()
