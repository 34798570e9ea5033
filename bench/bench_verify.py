#!/usr/bin/env python3
"""Eight checks on a 5,000,000-row MariaDB table: rockway's single scan vs one query per check vs COUNT(*).

    python bench/bench_verify.py [--server mysql://root@127.0.0.1:3306] [--rows 5000000] [--repeats 3]
                                 [--keep] [--append-results bench/RESULTS.md]
    python bench/bench_verify.py --server starrocks://root@127.0.0.1:9030     # the same on StarRocks

The table (`rw_bench_verify.facts`) is made with one INSERT … SELECT and reused by later runs when it has
the right row count (`--keep` keeps it; by default the database is dropped at the end). On MariaDB/MySQL it
is an InnoDB table with a primary key only, filled from the sequence engine (`seq_1_to_<rows>`); on
StarRocks (3.1 or later) a DUPLICATE KEY table filled from `TABLE(generate_series(1, <rows>))`.

Variants, run interleaved (repeat 1 of each, then repeat 2, …), medians reported:
- rockway: `CheckRunner.run` on the check file below (parse, render, compile, ONE aggregate statement,
  judge; no result rows, no reports) — the whole in-process cost;
- one query per check: each check compiled on its own and sent as its own statement (what a tool that
  runs one query per check does; the statements are rockway's own, so they are no slower than hand-written);
- bare `SELECT COUNT(*) FROM facts` (one full scan, no expressions).
A second suite swaps one predicate for `duplicates` (COUNT(DISTINCT …)) to show what a distinct count costs.
Targets: rockway <= 1.3x COUNT(*); rockway >= 4x faster than one query per check.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import pymysql

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tooling"))  # measure this checkout's rockway, whatever is installed

from rockway.adapters import connect_dsn  # noqa: E402
from rockway.config import parse_dsn  # noqa: E402
from rockway.verify import CheckRunner, VerifySettings  # noqa: E402
from rockway.verify.compiler import compile_plan  # noqa: E402

DB = "rw_bench_verify"
CHECKS = """\
version: 1
tables:
  - table: "{{ db }}.facts"
    checks:
      - row_count: {min: 1}
      - freshness: {column: loaded_at, max_age: 2d}
      - null_pct: {column: customer_id, max: 1}
      - null_pct: {column: amount, max: 1}
      - name: negative_amount
        predicate: {where: "amount < 0", max: 100000}
      - name: void_orders
        predicate: {where: "status = 'void'", max: 5000000}
      - name: revenue
        metric: {expr: "SUM(amount)", min: 0}
      - name: largest_order
        metric: {expr: "MAX(amount)", max: 1000}
"""
WITH_DISTINCT = CHECKS.replace("""      - name: void_orders
        predicate: {where: "status = 'void'", max: 5000000}
""", """      - duplicates: {columns: [order_id], max: 5000000}
""")


_COLUMNS = """id BIGINT NOT NULL{pk}, order_id INT NOT NULL, customer_id INT NULL, amount DECIMAL(10,2) NULL,
            status CHAR(4) NOT NULL, loaded_at DATETIME NOT NULL, day DATE NOT NULL"""
# engine -> (CREATE TABLE, INSERT … SELECT filling {rows} rows, what the rows come from)
FILL_SQL = {
    "mysql": (
        f"CREATE TABLE facts ({_COLUMNS.format(pk=' PRIMARY KEY')}) ENGINE=InnoDB",
        """INSERT INTO facts
            SELECT seq, seq DIV 2, IF(seq % 997 = 0, NULL, seq % 50000), IF(seq % 1009 = 0, NULL, (seq % 10000) / 10 - 5),
                   ELT(seq % 3 + 1, 'open', 'paid', 'void'), NOW() - INTERVAL (seq % 86400) SECOND,
                   '2026-11-25' - INTERVAL (seq % 30) DAY
            FROM seq_1_to_{rows}""",
        "seq_1_to_{rows}",
    ),
    # StarRocks: generate_series (3.1+) must be wrapped in TABLE() for constant arguments; its column is
    # named generate_series. seconds_sub/days_sub take an INT interval. [D: docs.starrocks.io
    # sql-functions/table-functions/generate_series, date-time-functions/seconds_sub, days_sub]
    "starrocks": (
        f"""CREATE TABLE facts ({_COLUMNS.format(pk='')})
            DUPLICATE KEY (id) DISTRIBUTED BY HASH (id) PROPERTIES ("replication_num" = "1")""",
        """INSERT INTO facts
            SELECT g, floor(g / 2), IF(g % 997 = 0, NULL, g % 50000), IF(g % 1009 = 0, NULL, (g % 10000) / 10 - 5),
                   CASE g % 3 WHEN 0 THEN 'open' WHEN 1 THEN 'paid' ELSE 'void' END,
                   seconds_sub(now(), CAST(g % 86400 AS INT)),
                   CAST(days_sub(CAST('2026-11-25' AS DATE), CAST(g % 30 AS INT)) AS DATE)
            FROM (SELECT generate_series AS g FROM TABLE(generate_series(1, {rows}))) AS s""",
        "TABLE(generate_series(1, {rows}))",
    ),
}


def _engine(server: str) -> str:
    """`starrocks` for a starrocks:// DSN, else `mysql`."""
    return "starrocks" if parse_dsn(server).scheme == "starrocks" else "mysql"


def _connect(server: str, database: str | None = None) -> Any:
    p = parse_dsn(server)
    return pymysql.connect(host=p.host, port=p.port, user=p.user, password=p.password or "", database=database,
                           autocommit=True)


def _sql(conn: Any, statement: str) -> list[tuple[Any, ...]]:
    with conn.cursor() as cur:
        cur.execute(statement)
        return list(cur.fetchall()) if cur.description else []


def ensure_table(server: str, engine: str, rows: int, say: Callable[[str], None]) -> float:
    """Create and fill facts unless it already has `rows` rows; return the seconds spent filling."""
    conn = _connect(server)
    try:
        _sql(conn, f"CREATE DATABASE IF NOT EXISTS {DB}")
        _sql(conn, f"USE {DB}")
        exists = _sql(conn, f"SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = '{DB}'"
                            " AND table_name = 'facts'")[0][0]
        if exists and _sql(conn, "SELECT COUNT(*) FROM facts")[0][0] == rows:
            say(f"setup: reusing {DB}.facts ({rows:,} rows)")
            return 0.0
        _sql(conn, "DROP TABLE IF EXISTS facts")
        create, fill, source = FILL_SQL[engine]
        _sql(conn, create)
        start = time.perf_counter()
        _sql(conn, fill.format(rows=int(rows)))
        seconds = time.perf_counter() - start
        say(f"setup: filled {DB}.facts with {rows:,} rows in {seconds:.1f} s (INSERT … SELECT FROM {source.format(rows=rows)})")
        return seconds
    finally:
        conn.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", default=os.environ.get("ROCKWAY_TEST_DSN", "mysql://root@127.0.0.1:3306"))
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the database for later runs")
    parser.add_argument("--append-results", type=Path, help="append this run's section to a RESULTS.md")
    args = parser.parse_args(argv)
    lines: list[str] = []

    def say(text: str = "") -> None:
        print(text, flush=True)
        lines.append(text)

    server = args.server.rsplit("/", 1)[0] if args.server.count("/") > 2 else args.server
    engine = _engine(server)
    probe = _connect(server)
    if engine == "starrocks":
        described = f"(StarRocks {_sql(probe, 'SELECT current_version()')[0][0]})"
    else:
        buffer_pool = int(_sql(probe, "SELECT @@innodb_buffer_pool_size")[0][0]) // 2**20
        described = f"({_sql(probe, 'SELECT VERSION()')[0][0]}), innodb_buffer_pool_size {buffer_pool} MiB"
    probe.close()
    say(f"server: {server} {described}, python {platform.python_version()}, nproc {os.cpu_count()}")
    ensure_table(server, engine, args.rows, say)
    adapter = connect_dsn(parse_dsn(f"{server}/{DB}"))
    results: dict[str, dict[str, Any]] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            project = Path(tmp)
            (project / "jobs" / "checks").mkdir(parents=True)
            for suite, text in (("8 scan checks", CHECKS), ("7 scan checks + duplicates", WITH_DISTINCT)):
                (project / "jobs" / "checks" / "bench.yaml").write_text(text)
                checks = CheckRunner(project, {"db": DB}, engine=engine, settings=VerifySettings(record=False))
                entries = checks.entries(["jobs/checks/bench.yaml"])
                bound = checks.bind(entries, {})
                singles = [compile_plan([b], results_db=None, run_id="x").queries[0].sql for b in bound]
                plan = checks.compile(entries, {})
                assert len(plan.queries) == 1 and len(bound) == 8, plan.queries

                own: list[float] = []

                def rockway() -> None:
                    start = time.perf_counter()
                    run = checks.run(adapter, entries, {}, "bench", record=False, reports=False)
                    own.append(time.perf_counter() - start - sum(run.timings.values()))
                    bad = [r for r in run.results if r.status != "pass"]
                    assert not bad, [(r.name, r.status, r.message) for r in bad]

                single_sql = plan.queries[0].sql
                per_statement: dict[str, list[float]] = {b.name: [] for b in bound}

                def bare_single() -> None:
                    adapter.execute(single_sql)

                def per_check() -> None:
                    for check, statement in zip(bound, singles):
                        start = time.perf_counter()
                        adapter.execute(statement)
                        per_statement[check.name].append(time.perf_counter() - start)

                def count_star() -> None:
                    adapter.execute("SELECT COUNT(*) FROM facts")

                variants = {"rockway single scan": rockway, "same statement, bare execute": bare_single,
                            "one query per check": per_check, "bare COUNT(*)": count_star}
                times: dict[str, list[float]] = {name: [] for name in variants}
                count_star()  # warm the page cache once, unmeasured
                for _ in range(args.repeats):
                    for name, fn in variants.items():
                        start = time.perf_counter()
                        fn()
                        times[name].append(time.perf_counter() - start)
                results[suite] = {"times": times, "sql": single_sql, "per_statement": per_statement, "own": own}
    finally:
        adapter.close()
        if not args.keep:
            conn = _connect(server)
            _sql(conn, f"DROP DATABASE IF EXISTS {DB}")
            conn.close()

    for suite, data in results.items():
        times = data["times"]
        med = {k: statistics.median(v) for k, v in times.items()}
        say()
        say(f"suite: {suite} on {args.rows:,} rows; median of {args.repeats} (interleaved)")
        say(f"{'variant':28} {'median s':>9}  all runs (s)")
        for name, values in times.items():
            say(f"{name:28} {med[name]:9.3f}  " + " ".join(f"{v:.3f}" for v in values))
        vs_count = med["rockway single scan"] / med["bare COUNT(*)"]
        speedup = med["one query per check"] / med["rockway single scan"]
        say(f"rockway / COUNT(*)          = {vs_count:.2f}x  (target <= 1.3x: {'met' if vs_count <= 1.3 else 'MISSED'})")
        say(f"one-per-check / rockway     = {speedup:.2f}x  (target >= 4x: {'met' if speedup >= 4 else 'MISSED'})")
        say(f"rockway's own work per run (parse, render, compile, judge: run time minus statement time) = "
            f"{statistics.median(data['own']) * 1000:.1f} ms")
        say("one query per check, median per statement (s): " + ", ".join(
            f"{name} {statistics.median(v):.3f}" for name, v in data["per_statement"].items()))
    say()
    say("the single statement (suite 1):")
    say(results["8 scan checks"]["sql"])

    if args.append_results:
        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        body = "\n".join(lines)
        section = (f"\n## `python bench/bench_verify.py`\n\nDate: {stamp}. Eight checks on one table, "
                   f"{args.rows:,} rows, {'StarRocks' if engine == 'starrocks' else 'MariaDB'}; see the script's docstring for the variants.\n\n"
                   f"```\n$ python bench/bench_verify.py --append-results bench/RESULTS.md\n{body}\n```\n")
        with args.append_results.open("a", encoding="utf-8") as handle:
            handle.write(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
