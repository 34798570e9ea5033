#!/usr/bin/env python3
"""Tracing overhead: one 500-statement migration (`rockway migrate up`) of one-row INSERTs (~1 ms each), the same
with statements of >= 5 ms each (closer to StarRocks DDL), and one morning pipeline run (`rockway run morning`), each
with telemetry exported vs disabled.

Part 1, migration (`--part migration`: CREATE TABLE + 499 one-row INSERTs; `--part slow`: CREATE TABLE + 499
`DO SLEEP(--sleep-ms / 1000)` statements, the server's own pause standing in for a StarRocks DDL's work):

Variants (each on its own fresh database, interleaved: repeat 1 of every variant, then repeat 2, ..., the
order reversed every other repeat; the median of the repeats is reported):
  disabled   OTEL_SDK_DISABLED=true: no providers, every telemetry call is a no-op
  exported   OTLP/HTTP to a live receiver (tests/support/otlp_receiver.py, started in this process): traces,
             metrics and logs through the OpenTelemetry SDK in the CLI process, with JSON log lines to a
             file (ROCKWAY_LOG_FILE)
  local      telemetry on but no endpoint: spans with real trace ids for history rows, nothing exported,
             the SDK not imported
Reported per variant: the wall time of the whole CLI process, the migration's own time (`--json`
"seconds", the executor's clock from first to last statement), and the CPU time (user + system) of
the CLI process (with any process it starts), which is where telemetry costs anything and which depends far
less than wall time on a database server shared with other work. The target is <= 5% for "exported", judged on the median of the
per-repeat wall ratios and its 95% bootstrap interval (the machine's speed drifts more than 5% within minutes).
Each exported run is checked: the receiver must hold 502 spans (run, migration, 500 statements).

Part 2, pipeline: the sales warehouse of this repository (migrations, jobs/, checks) migrated into throwaway
databases, the ERP a database on the same server read as a `catalog` source (so loads are server-side
INSERT … SELECT, as with a StarRocks JDBC catalog). Set-up (not measured): 100 customers (MariaDB runs the fact
load's range join to dim_customer as a nested loop, so its cost grows with items × customers), 4 materials and
--orders orders × 4 items billed 2026-03-07..2026-03-10 and changed 2026-03-10 00:00..05:00; the dimensions
backfilled. Before every run: staging and facts emptied, the watermarks of stg_billing_item and fact_sales put back (so every
run loads the same window: --orders × 4 staged items, the same number of facts). Each run is `rockway run morning
--as-of 2026-03-11T06:00:00Z --json` in a subprocess (jobs stg_billing_item → fact_sales with their checks, MV
refresh, the business SQL, the verify step, the notification step; the real check runner and notifier), with the
same three variants, interleaved, the order alternating per repeat, and JSON log lines to a file in every variant
(the jobs write JSON lines to stderr in every variant anyway). Every run is checked to succeed and to have written
the expected rows; every exported run to have delivered its `pipeline morning` span with both job spans below it,
all in one trace. Reported: process wall time, the run's own time (`duration_s` of the `run_end` log line: the
`rockway run morning` span, i.e. without interpreter start-up, imports and SDK set-up) and CPU time.

    python bench/bench_telemetry.py [--server mysql://root@127.0.0.1:3306] [--part all|migration|slow|pipeline]
                                    [--n 500] [--sleep-ms 5] [--orders 50000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.support: the OTLP receiver, the warehouse
from tests.support.otlp_receiver import OtlpReceiver  # noqa: E402

import benchlib  # noqa: E402


def print_medians(results: dict[str, list[tuple[float, float, float]]], middle: str) -> dict[str, tuple[float, ...]]:
    """Print and return the median (wall, <middle>, cpu) of each variant's runs, with every wall and cpu time."""
    width = max(9, len(middle))
    print(f"\n{'variant':<10} {'wall':>8} {middle:>{width}} {'cpu':>8}   (medians, s)  all walls / all cpu (s)")
    med = {}
    for name, runs in results.items():
        med[name] = tuple(statistics.median(r[i] for r in runs) for i in range(3))
        print(f"{name:<10} {med[name][0]:>8.3f} {med[name][1]:>{width}.3f} {med[name][2]:>8.3f}   "
              + " ".join(f"{r[0]:.3f}" for r in runs) + " / " + " ".join(f"{r[2]:.3f}" for r in runs))
    return med


def make_project(root: Path, n: int, sleep_ms: float | None = None) -> Path:
    """CREATE TABLE t and n - 1 one-row INSERTs into it, or (sleep_ms) n - 1 statements pausing sleep_ms each."""
    (root / "migrations").mkdir(parents=True)
    (root / "repeatable").mkdir()
    body = ["CREATE TABLE t (id INT NOT NULL PRIMARY KEY, note VARCHAR(40));"]
    if sleep_ms:
        body += [f"DO SLEEP({sleep_ms / 1000:g});"] * (n - 1)
    else:
        body += [f"INSERT INTO t VALUES ({i}, 'row {i} of the benchmark');" for i in range(1, n)]
    (root / "migrations" / "V1__many_statements.sql").write_text("\n".join(body) + "\n", encoding="utf-8")
    return root


class Server(benchlib.Server):
    def rows(self, name: str) -> int:
        return int(self.scalar(f"SELECT COUNT(*) FROM `{name}`.t"))


def run_once(server: Server, project: Path, rows: int, env: dict[str, str],
             command: str = "up") -> tuple[float, float, float]:
    """(process wall s, migration s, process CPU s) of one `rockway migrate up --json` on a fresh database, which must
    leave `rows` rows in t.

    command "info" runs `rockway migrate info --json` instead (no statements: the fixed cost of start-up).
    """
    with server.fresh_database() as db:
        environment = benchlib.clean_env(**env, ROCKWAY_DSN=server.url(db))
        done = benchlib.run_measured([*benchlib.CLI, "migrate", command, "--json"], project, environment)
        if done.returncode != 0:
            raise SystemExit(f"migrate {command} failed ({done.returncode}):\n{done.stderr[-3000:]}")
        if command == "info":
            return done.wall, 0.0, done.cpu
        (applied,) = json.loads(done.stdout)["applied"]
        if server.rows(db) != rows:
            raise SystemExit(f"expected {rows} rows in t")
        return done.wall, float(applied["seconds"]), done.cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", default=os.environ.get("ROCKWAY_TEST_DSN", "mysql://root@127.0.0.1:3306"))
    parser.add_argument("--part", choices=("all", "migration", "slow", "pipeline"), default="all")
    parser.add_argument("--n", type=int, default=500, help="statements in the migration")
    parser.add_argument("--sleep-ms", type=float, default=5.0, help="pause of each statement of the slow migration")
    parser.add_argument("--orders", type=int, default=50_000, help="ERP orders (4 items each) the morning run loads")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    server = Server(args.server)
    print(f"server: {args.server} ({server.version()}), python {sys.version.split()[0]}, nproc {os.cpu_count()}")
    if args.part in ("all", "migration"):
        migration_part(args, server)
    if args.part == "all":
        print()
    if args.part in ("all", "slow"):
        migration_part(args, server, args.sleep_ms)
    if args.part == "all":
        print()
    if args.part in ("all", "pipeline"):
        pipeline_part(args, server)


def migration_part(args: argparse.Namespace, server: Server, sleep_ms: float | None = None) -> None:
    statements = f"`DO SLEEP({sleep_ms / 1000:g})`s" if sleep_ms else "one-row INSERTs"
    print(f"one migration of {args.n} statements (CREATE TABLE + {args.n - 1} {statements}); "
          f"{args.repeats} interleaved repeats, fresh database each")
    rows = 0 if sleep_ms else args.n - 1
    with tempfile.TemporaryDirectory() as tmp, OtlpReceiver() as receiver:
        project = make_project(Path(tmp) / "project", args.n, sleep_ms)
        log_file = Path(tmp) / "rockway.jsonl"
        variants = {
            "disabled": {"OTEL_SDK_DISABLED": "true"},
            "exported": {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.http_endpoint, "ROCKWAY_LOG_FILE": str(log_file)},
            "local": {},
        }
        results: dict[str, list[tuple[float, float, float]]] = {name: [] for name in variants}
        startup: dict[str, list[tuple[float, float, float]]] = {"disabled": [], "exported": []}
        for repeat in range(1, args.repeats + 1):
            for name in startup:
                startup[name].append(run_once(server, project, rows, variants[name], "info"))
            line = []
            order = list(variants) if repeat % 2 else list(reversed(variants))  # no variant always runs first
            for name in order:
                env = variants[name]
                before = len(receiver.spans)
                results[name].append(run_once(server, project, rows, env))
                if name == "exported":
                    want = before + args.n + 2
                    if not receiver.wait_for(lambda r: len(r.spans) >= want, timeout=10):
                        raise SystemExit(f"receiver holds {len(receiver.spans) - before} new spans, expected {args.n + 2}")
                wall, seconds, cpu = results[name][-1]
                line.append(f"{name} {wall:.3f}s (migration {seconds:.3f}s, cpu {cpu:.3f}s)")
            print(f"repeat {repeat}: " + ", ".join(line))
        exported_spans = len(receiver.spans)
        print(f"\nreceiver: {exported_spans} spans, {len(receiver.logs)} log records, "
              f"{len({m['name'] for m in receiver.metrics})} metric names; log file {log_file.stat().st_size} bytes")

    med = print_medians(results, "migration")
    fixed = {name: (statistics.median(r[0] for r in runs), statistics.median(r[2] for r in runs))
             for name, runs in startup.items()}
    fixed_wall = fixed["exported"][0] - fixed["disabled"][0]
    fixed_cpu = fixed["exported"][1] - fixed["disabled"][1]
    print(f"start-up alone (`migrate info`: no statements; the SDK set up, the exporters built at exit to send the "
          f"run's spans), exported vs disabled: wall {fixed_wall:+.3f}s, cpu {fixed_cpu:+.3f}s")
    per_statement = (med["exported"][2] - med["disabled"][2] - fixed_cpu) / args.n
    print(f"per statement, exported: {per_statement * 1e6:+.0f} us cpu beyond that (span, metric, encoding and "
          f"export; {per_statement * args.n / med['disabled'][2]:+.1%} of the disabled run's cpu)")
    print_ratios(med, "migration")
    print_paired(results)


def print_ratios(med: dict[str, tuple[float, ...]], middle: str) -> None:
    """Each variant's medians (wall, <middle>, cpu) against disabled's; the verdict comes from `print_paired`."""
    base = med["disabled"]
    for name in ("exported", "local"):
        wall, mid, cpu = (med[name][i] / base[i] - 1 for i in range(3))
        print(f"{name} vs disabled: wall {wall:+.1%} ({med[name][0] - base[0]:+.3f}s), {middle} {mid:+.1%}, "
              f"cpu {cpu:+.1%} ({(med[name][2] - base[2]) * 1000:+.0f} ms cpu in all)")


def median_interval(values: list[float], rounds: int = 4000) -> tuple[float, float]:
    """A 95% bootstrap interval of the median of values (fixed seed: the same values give the same interval)."""
    rng = random.Random(20261126)
    medians = sorted(statistics.median(rng.choices(values, k=len(values))) for _ in range(rounds))
    return medians[int(0.025 * rounds)], medians[int(0.975 * rounds) - 1]


def print_paired(results: dict[str, list[tuple[float, float, float]]]) -> None:
    """The median of the per-repeat wall ratios (the runs of one repeat are seconds apart, so this cancels the
    machine's drift), with its 95% bootstrap interval; the verdict on the target is taken from these."""
    for name in ("exported", "local"):
        ratios = [run[0] / base[0] for run, base in zip(results[name], results["disabled"])]
        if len(ratios) < 2:
            print(f"{name}: one repeat, no pairs")
            continue
        median, (low, high) = statistics.median(ratios), median_interval(ratios)
        quartiles = statistics.quantiles(ratios, n=4)
        verdict = ("met" if high <= 1.05 else "met by the median, not beyond doubt" if median <= 1.05 else "MISSED")
        print(f"{name} vs disabled, paired by repeat: median wall ratio {median:.3f} (95% interval {low:.3f}-{high:.3f},"
              f" quartiles {quartiles[0]:.3f}-{quartiles[2]:.3f})"
              + (f"  (target <= +5% wall: {verdict})" if name == "exported" else ""))


# --- part 2: one morning pipeline run ----------------------------------------------------------------
AS_OF = "2026-03-11T06:00:00Z"
WATERMARKS = {  # job -> (source, value, type): every run loads the same windows
    "stg_billing_item": ("erp", "2026-03-09 23:00:00", "datetime"),  # lookback 2 h: (2026-03-09 21:00, 2026-03-11 06:00]
    "fact_sales": ("warehouse", "2026-03-06", "date"),  # lookback 3 d: billing days 2026-03-04 .. 2026-03-10
}
ITEMS = 4
CUSTOMERS = 100  # MariaDB runs fact_sales' range join to dim_customer as a nested loop: cost ~ items x customers


class PipelineWarehouse:
    """The sales warehouse in throwaway databases, an ERP database beside it, and how to run the CLI on them."""

    def __init__(self, server: Server, orders: int) -> None:
        from tests.support.warehouse import Warehouse, copy_project

        self.server = server
        self.orders = orders
        self.wh = Warehouse(server.url("").rstrip("/"))
        self.erp = self.wh.db("erp")
        self.tmp = Path(tempfile.mkdtemp(prefix="rw_bench_telemetry_"))
        self.root = copy_project(self.tmp / "project")
        repo = Path(__file__).resolve().parents[1]
        shutil.copytree(repo / "jobs", self.root / "jobs")
        benchlib.write_jobs_toml(self.root, self.erp)
        self.env = benchlib.clean_env(**self.wh.env())

    def cli(self, *args: str, env: dict[str, str] | None = None) -> tuple[float, float, str, str]:
        """(wall s, CPU s of the process, stdout, stderr) of one CLI command; exits on failure."""
        done = benchlib.run_measured([*benchlib.CLI, *args], self.root, {**self.env, **(env or {})})
        if done.returncode != 0:
            raise SystemExit(f"rockway {' '.join(args)} failed:\n{done.stderr[-3000:]}\n{done.stdout[-2000:]}")
        return done.wall, done.cpu, done.stdout, done.stderr

    def sql(self, statements: list[str], database: str | None = None) -> list[tuple[Any, ...]]:
        with self.server.connect() as conn, conn.cursor() as cur:
            if database:
                cur.execute(f"USE `{database}`")
            rows: list[tuple[Any, ...]] = []
            for statement in statements:
                cur.execute(statement)
                rows = list(cur.fetchall())
            return rows

    def setup(self) -> None:
        from rockway import sqlsplit

        started = time.perf_counter()
        self.wh.create_meta()
        self.cli("migrate", "up", env={"OTEL_SDK_DISABLED": "true"})
        schema = (Path(__file__).resolve().parents[1] / "jobs" / "sources" / "erp_schema.sql").read_text(encoding="utf-8")
        self.sql([f"CREATE DATABASE `{self.erp}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"])
        n = self.orders
        self.sql([s.sql for s in sqlsplit.split(schema)] + [
            "INSERT INTO customers SELECT CONCAT('C', LPAD(seq, 5, '0')), CONCAT('Customer ', seq), 'G1', 'RETL', 'AT',"
            f" 'Wien', '1010', TIMESTAMP '2026-01-05 08:00:00' FROM seq_0_to_{CUSTOMERS - 1}",
            f"INSERT INTO materials SELECT CONCAT('M', LPAD(seq, 8, '0')), CONCAT('Material ', seq), 'FERT', 'MG1',"
            f" 'PH1', 'EA', TIMESTAMP '2026-01-05 08:00:00' FROM seq_1_to_{ITEMS}",
            f"INSERT INTO orders SELECT LPAD(seq, 10, '0'), 'F2', DATE '2026-03-07' + INTERVAL (seq % 4) DAY, NULL,"
            f" '1000', '10', '00', CONCAT('10', seq % 3), CONCAT('C', LPAD(seq % {CUSTOMERS}, 5, '0')), 'EUR',"
            f" TIMESTAMP '2026-03-10 00:00:00' + INTERVAL (seq % 18000) SECOND FROM seq_1_to_{n}",
            f"INSERT INTO order_items SELECT o.order_id, i.seq * 10, CONCAT('M', LPAD(i.seq, 8, '0')), 3, 'EA', 19.99,"
            f" 3.80, o.updated_at FROM orders AS o JOIN seq_1_to_{ITEMS} AS i",
        ], database=self.erp)
        for job in ("dim_customer", "dim_material"):
            # through the last billing day: fact_sales waits for its upstream dimensions to cover its window
            self.cli("job", "backfill", job, "--from", "2026-01-01", "--to", "2026-03-10", env={"OTEL_SDK_DISABLED": "true"})
        print(f"set-up: warehouse migrated, ERP with {n:,} orders / {n * ITEMS:,} items, dimensions loaded "
              f"in {time.perf_counter() - started:.1f}s (not measured)")

    def reset(self) -> None:
        etl = self.wh.db("etl")
        self.sql([f"TRUNCATE TABLE `{self.wh.db('raw')}`.`stg_billing_item`", f"TRUNCATE TABLE `{self.wh.db('dw')}`.`fact_sales`"]
                 + [f"REPLACE INTO `{etl}`.`etl_watermark` (job_name, source_name, watermark_value, watermark_type,"
                    f" updated_at) VALUES ('{job}', '{source}', '{value}', '{kind}', UTC_TIMESTAMP())"
                    for job, (source, value, kind) in WATERMARKS.items()])

    def run(self, env: dict[str, str], log_file: Path) -> tuple[float, float, float, str]:
        """(wall s, run s, CPU s, run_id) of one `rockway run morning`, after a reset; JSON log lines go to log_file."""
        self.reset()
        log_file.unlink(missing_ok=True)
        wall, cpu, stdout, _ = self.cli("run", "morning", "--as-of", AS_OF, "--json",
                                        env={**env, "ROCKWAY_LOG_FILE": str(log_file)})
        result = json.loads(stdout)
        written = {name: job["rows_written"] for name, job in result["jobs"].items()}
        want = self.orders * ITEMS
        if result["status"] != "success" or written != {"stg_billing_item": want, "fact_sales": want}:
            raise SystemExit(f"unexpected pipeline result: {result['status']}, rows written {written}")
        lines = [json.loads(line) for line in log_file.read_text(encoding="utf-8").splitlines()]
        (seconds,) = [line["duration_s"] for line in lines if line.get("event") == "run_end"]
        return wall, float(seconds), cpu, result["run_id"]

    def drop(self) -> None:
        self.wh.drop()
        self.sql([f"DROP DATABASE IF EXISTS `{self.erp}`"])
        shutil.rmtree(self.tmp, ignore_errors=True)


def pipeline_part(args: argparse.Namespace, server: Server) -> None:
    print(f"one morning pipeline run (`rockway run morning --as-of {AS_OF}`): {args.orders:,} orders x {ITEMS} items "
          f"staged and loaded into facts, checks, MV refresh, business SQL, verify, notify; {args.repeats} interleaved "
          "repeats, order alternating, same windows every run")
    pw = PipelineWarehouse(server, args.orders)
    try:
        pw.setup()
        with OtlpReceiver() as receiver:
            variants = {
                "disabled": {"OTEL_SDK_DISABLED": "true"},
                "exported": {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.http_endpoint},
                "local": {},
            }
            log_bytes = 0
            results: dict[str, list[tuple[float, float, float]]] = {name: [] for name in variants}
            per_run_spans = []
            for repeat in range(1, args.repeats + 1):
                order = list(variants) if repeat % 2 else list(reversed(variants))
                line = []
                for name in order:
                    before = len(receiver.spans)
                    log_file = pw.tmp / f"rockway-{name}.jsonl"
                    wall, seconds, cpu, run_id = pw.run(variants[name], log_file)
                    results[name].append((wall, seconds, cpu))
                    if name == "exported":
                        def delivered(r: OtlpReceiver) -> bool:
                            return any(s["name"] == "rockway run morning" and s["attributes"].get("rockway.run_id") == run_id
                                       for s in r.spans[before:])
                        if not receiver.wait_for(delivered, timeout=10):
                            raise SystemExit("the exported run's spans did not all arrive")
                        new = receiver.spans[before:]
                        pipe = next(s for s in new if s["name"] == "pipeline morning")
                        jobs = [s for s in new if s["name"].startswith("job ") and s["parent_span_id"] == pipe["span_id"]]
                        if len(jobs) != 2 or len({s["trace_id"] for s in new}) != 1:
                            raise SystemExit(f"unexpected span tree: {len(jobs)} job spans below the pipeline span")
                        per_run_spans.append(len(new))
                        log_bytes = log_file.stat().st_size
                    line.append(f"{name} {wall:.3f}s (run {seconds:.3f}s, cpu {cpu:.3f}s)")
                print(f"repeat {repeat}: " + ", ".join(line))
            print(f"\nreceiver: {len(receiver.spans)} spans ({', '.join(map(str, per_run_spans))} per exported run), "
                  f"{len(receiver.logs)} log records, {len({m['name'] for m in receiver.metrics})} metric names; "
                  f"log file of an exported run {log_bytes} bytes")
    finally:
        pw.drop()
    med = print_medians(results, "run")
    print_ratios(med, "run")
    print_paired(results)


if __name__ == "__main__":
    main()
