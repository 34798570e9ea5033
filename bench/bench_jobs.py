#!/usr/bin/env python3
"""Incremental load of 1,000,000 new source rows: `rockway job run` vs the same INSERT … SELECT issued by hand.

The sales warehouse is migrated into throwaway databases on the MariaDB server; the ERP is a database on the
same server, read as a `catalog` source (the form a StarRocks JDBC catalog takes), so the job is ONE
server-side INSERT … SELECT, exactly as in production. The job is the warehouse's stg_billing_item
(orders ⋈ order_items changed in the window, appended with its label as batch and skipping versions already
staged). "By hand" sends, with raw pymysql, the very statements `rockway job render` prints for the same window
(START TRANSACTION; DELETE of the batch; INSERT … SELECT; COMMIT). The staging table is emptied before every
run; runs alternate (hand, rockway, rockway, hand, …); medians are compared.

    python bench/bench_jobs.py [--server mysql://root@127.0.0.1:3306] [--rows 1000000] [--repeats 3] [--cli]

Target: rockway ≤ 1.1× hand. `--cli` also times the `rockway job run` console command (a new process).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import pymysql

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # tests.support.warehouse: the warehouse on throwaway MariaDB databases

import benchlib  # noqa: E402
from rockway.clock import utcnow  # noqa: E402
from rockway.config import load_settings, parse_dsn  # noqa: E402

AS_OF = datetime(2026, 3, 10, 6, 0, 0)
WATERMARK = "2026-03-09 23:00:00"  # lookback 2 h: the window is (2026-03-09 21:00, 2026-03-10 06:00]


def connect(server: str, database: str | None = None) -> pymysql.connections.Connection:
    d = parse_dsn(server)
    return pymysql.connect(host=d.host, port=d.port, user=d.user, password=d.password or "", database=database,
                           autocommit=True, read_timeout=3600)


def run_sql(server: str, statements: list[str], database: str | None = None) -> float:
    start = time.perf_counter()
    conn = connect(server, database)
    try:
        with conn.cursor() as cur:
            for sql in statements:
                cur.execute(sql)
    finally:
        conn.close()
    return time.perf_counter() - start


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--server", default=os.environ.get("ROCKWAY_TEST_DSN", "mysql://root@127.0.0.1:3306"))
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--cli", action="store_true", help="also time the `rockway job run` console command")
    args = ap.parse_args()
    items_per_order = 4
    orders = args.rows // items_per_order

    from tests.support.warehouse import Warehouse, copy_project

    wh = Warehouse(args.server.rstrip("/"))
    erp = wh.db("erp")
    tmp = Path(tempfile.mkdtemp(prefix="rw_bench_jobs_"))
    root = copy_project(tmp / "project")
    shutil.copytree(REPO / "jobs", root / "jobs")
    benchlib.write_jobs_toml(root, erp)
    env = benchlib.clean_env(**wh.env())
    with connect(args.server) as conn, conn.cursor() as cur:
        cur.execute("SELECT VERSION()")
        server_version = cur.fetchone()[0]
    print(f"server: {args.server} ({server_version}), python {platform.python_version()}, nproc {os.cpu_count()}")
    try:
        wh.create_meta()
        up = subprocess.run([*benchlib.CLI, "migrate", "up"],
                            cwd=root, env=env, capture_output=True, text=True, timeout=600)
        if up.returncode:
            print(up.stdout, up.stderr)
            return 1
        started = time.perf_counter()
        schema = (REPO / "jobs" / "sources" / "erp_schema.sql").read_text(encoding="utf-8")
        from rockway import sqlsplit

        run_sql(args.server, [f"CREATE DATABASE `{erp}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin", f"USE `{erp}`"]
                + [s.sql for s in sqlsplit.split(schema)] + [
            f"INSERT INTO orders SELECT LPAD(seq, 10, '0'), 'F2', DATE '2026-02-01' + INTERVAL (seq % 37) DAY, NULL,"
            f" '1000', '10', '00', CONCAT('10', seq % 3), CONCAT('C', LPAD(seq % 5000, 5, '0')), 'EUR',"
            f" TIMESTAMP '2026-03-10 00:00:00' + INTERVAL (seq % 18000) SECOND FROM seq_1_to_{orders}",
            f"INSERT INTO order_items SELECT o.order_id, n.seq * 10, CONCAT('M', LPAD(n.seq, 8, '0')), 3, 'EA', 19.99,"
            f" 3.80, o.updated_at FROM orders AS o JOIN seq_1_to_{items_per_order} AS n"])
        print(f"seeded {orders:,} orders / {orders * items_per_order:,} items in {time.perf_counter() - started:.1f}s")

        os.environ.update(wh.env())
        os.environ.pop("ROCKWAY_SOURCE_ERP_DSN", None)
        settings = load_settings(root, env_name="dev")
        from rockway.adapters.registry import offline_ops
        from rockway.jobs.api import load_project, reset_watermark, run_one
        from rockway.jobs.runner import next_window
        from rockway.jobs.sqlgen import JobSql
        from rockway.jobs.window import parse_value

        project = load_project(settings)
        spec = project.specs["stg_billing_item"]
        raw = wh.db("raw")
        window = next_window(spec, parse_value("datetime", WATERMARK), AS_OF)
        plan = JobSql(spec, settings, project.jobs, offline_ops("mysql"), run_id="by-hand-0000",
                      loaded_at=utcnow()).plan(window)
        by_hand = [s.sql for s in plan.steps]
        print(f"window {window.describe()}; by hand: {len(by_hand)} statements "
              f"({', '.join(' '.join(s.split()[:2]) for s in by_hand)})")

        def reset() -> None:
            run_sql(args.server, [f"TRUNCATE TABLE `{raw}`.`stg_billing_item`"])
            reset_watermark(settings, "stg_billing_item", WATERMARK, who="bench")

        def count() -> int:
            with connect(args.server) as c, c.cursor() as cur:
                cur.execute(f"SELECT COUNT(*) FROM `{raw}`.`stg_billing_item`")
                return int(cur.fetchone()[0])

        def hand() -> float:
            return run_sql(args.server, by_hand)

        def rockway() -> float:
            start = time.perf_counter()
            result = run_one(settings, "stg_billing_item", verifier=None, as_of=AS_OF)
            assert result.status == "success", result.error
            return time.perf_counter() - start

        def rockway_cli() -> float:
            start = time.perf_counter()
            proc = subprocess.run([*benchlib.CLI, "job", "run",
                                   "stg_billing_item", "--as-of", AS_OF.isoformat() + "Z"], cwd=root, env=env,
                                  capture_output=True, text=True, timeout=3600)
            assert proc.returncode == 0, proc.stderr
            return time.perf_counter() - start

        variants = {"hand": hand, "rockway": rockway}
        if args.cli:
            variants["rockway CLI"] = rockway_cli
        times: dict[str, list[float]] = {k: [] for k in variants}
        for repeat in range(args.repeats):
            order = list(variants) if repeat % 2 == 0 else list(reversed(variants))
            line = []
            for name in order:
                reset()
                seconds = variants[name]()
                rows = count()
                assert rows == orders * items_per_order, (name, rows)
                times[name].append(seconds)
                line.append(f"{name} {seconds:.2f}s")
            print(f"repeat {repeat + 1}: " + ", ".join(line) + f" ({rows:,} rows each)")
        medians = {k: statistics.median(v) for k, v in times.items()}
        print("medians: " + ", ".join(f"{k} {v:.3f}s" for k, v in medians.items()))
        ratio = medians["rockway"] / medians["hand"]
        print(f"rockway / hand = {ratio:.3f}x (target <= 1.1x: {'met' if ratio <= 1.1 else 'MISSED'})")
        if "rockway CLI" in medians:
            print(f"rockway CLI / hand = {medians['rockway CLI'] / medians['hand']:.3f}x")

        # rockway's fixed cost per run: the same job on an empty window (2026-03-09 21:00, 23:00]
        empty_as_of = datetime.fromisoformat(WATERMARK)
        empty = JobSql(spec, settings, project.jobs, offline_ops("mysql"), run_id="by-hand-0000",
                       loaded_at=utcnow()).plan(next_window(spec, parse_value("datetime", WATERMARK), empty_as_of))
        fixed: dict[str, list[float]] = {"hand": [], "rockway": []}
        for _ in range(7):
            reset()
            fixed["hand"].append(run_sql(args.server, [s.sql for s in empty.steps]))
            start = time.perf_counter()
            assert run_one(settings, "stg_billing_item", verifier=None, as_of=empty_as_of).rows_written == 0
            fixed["rockway"].append(time.perf_counter() - start)
        hand_fixed, rw_fixed = statistics.median(fixed["hand"]), statistics.median(fixed["rockway"])
        print(f"empty window (0 rows), median of 7: hand {hand_fixed * 1000:.1f} ms, rockway {rw_fixed * 1000:.1f} ms "
              f"-> rockway's own cost per run {1000 * (rw_fixed - hand_fixed):.0f} ms "
              f"({100 * (rw_fixed - hand_fixed) / medians['hand']:.1f}% of the {args.rows:,}-row load by hand)")
        return 0
    finally:
        wh.drop()
        with connect(args.server) as conn, conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{erp}`")
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
