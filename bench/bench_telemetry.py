#!/usr/bin/env python3
"""Tracing overhead: one 500-statement migration, `rockway migrate up` with telemetry exported vs disabled.

Variants (each on its own fresh database, interleaved: repeat 1 of every variant, then repeat 2, ...;
the median of the repeats is reported):
  disabled   OTEL_SDK_DISABLED=true: no providers, every telemetry call is a no-op
  exported   OTLP/HTTP to a live receiver (tests/otlp_receiver.py, started in this process): traces,
             metrics and logs, with JSON log lines to a file (ROCKWAY_LOG_FILE)
  local      SDK installed but no endpoint: real trace ids for history rows, nothing exported
Reported per variant: the wall time of the whole CLI process, the migration's own time (`--json`
"seconds", the executor's clock from first to last statement), and the CPU time (user + system) of
the CLI process, which is where telemetry costs anything and which depends far less than wall time on
a database server shared with other work. The target is <= 5% for "exported".
Each exported run is checked: the receiver must hold 502 spans (run, migration, 500 statements).

    python bench/bench_telemetry.py [--server mysql://root@127.0.0.1:3306] [--n 500] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pymysql

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from otlp_receiver import OtlpReceiver  # noqa: E402

from rockway.config import parse_dsn  # noqa: E402


def make_project(root: Path, n: int) -> Path:
    (root / "migrations").mkdir(parents=True)
    (root / "repeatable").mkdir()
    body = ["CREATE TABLE t (id INT NOT NULL PRIMARY KEY, note VARCHAR(40));"]
    body += [f"INSERT INTO t VALUES ({i}, 'row {i} of the benchmark');" for i in range(1, n)]
    (root / "migrations" / "V1__many_statements.sql").write_text("\n".join(body) + "\n", encoding="utf-8")
    return root


class Server:
    def __init__(self, dsn: str) -> None:
        self.dsn = parse_dsn(dsn)

    def connect(self) -> pymysql.connections.Connection:
        d = self.dsn
        return pymysql.connect(host=d.host, port=d.port, user=d.user, password=d.password or "", autocommit=True)

    def url(self, database: str) -> str:
        d = self.dsn
        return f"mysql://{d.user}{':' + d.password if d.password else ''}@{d.host}:{d.port}/{database}"

    def create(self) -> str:
        name = f"rw_bench_{uuid.uuid4().hex[:10]}"
        with self.connect() as conn, conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{name}`")
        return name

    def drop(self, name: str) -> None:
        with self.connect() as conn, conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")

    def rows(self, name: str) -> int:
        with self.connect() as conn, conn.cursor() as cur:
            cur.execute(f"SELECT COUNT(*) FROM `{name}`.t")
            return int(cur.fetchone()[0])

    def version(self) -> str:
        with self.connect() as conn, conn.cursor() as cur:
            cur.execute("SELECT VERSION()")
            return str(cur.fetchone()[0])


def run_once(server: Server, project: Path, n: int, env: dict[str, str], command: str = "up") -> tuple[float, float, float]:
    """(process wall s, migration s, process CPU s) of one `rockway migrate up --json` on a fresh database.

    command "info" runs `rockway migrate info --json` instead (no statements: the fixed cost of start-up).
    """
    db = server.create()
    try:
        environment = {k: v for k, v in os.environ.items() if not k.startswith(("ROCKWAY_", "OTEL_"))}
        environment.update(env, ROCKWAY_DSN=server.url(db))
        cmd = [sys.executable, "-c", "from rockway.cli.main import main; main()", "migrate", command, "--json"]
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            t0 = time.perf_counter()
            proc = subprocess.Popen(cmd, cwd=project, env=environment, stdout=out, stderr=err, text=True)
            _, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - t0
            proc.returncode = os.waitstatus_to_exitcode(status)
            out.seek(0), err.seek(0)
            stdout, stderr = out.read(), err.read()
        if proc.returncode != 0:
            raise SystemExit(f"migrate {command} failed ({proc.returncode}):\n{stderr[-3000:]}")
        if command == "info":
            return wall, 0.0, usage.ru_utime + usage.ru_stime
        (applied,) = json.loads(stdout)["applied"]
        if server.rows(db) != n - 1:
            raise SystemExit(f"expected {n - 1} rows in t")
        return wall, float(applied["seconds"]), usage.ru_utime + usage.ru_stime
    finally:
        server.drop(db)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", default=os.environ.get("ROCKWAY_TEST_DSN", "mysql://root@127.0.0.1:3306"))
    parser.add_argument("--n", type=int, default=500, help="statements in the migration")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    server = Server(args.server)
    print(f"server: {args.server} ({server.version()}), python {sys.version.split()[0]}, nproc {os.cpu_count()}")
    print(f"one migration of {args.n} statements (CREATE TABLE + {args.n - 1} one-row INSERTs); "
          f"{args.repeats} interleaved repeats, fresh database each")
    with tempfile.TemporaryDirectory() as tmp, OtlpReceiver() as receiver:
        project = make_project(Path(tmp) / "project", args.n)
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
                startup[name].append(run_once(server, project, args.n, variants[name], "info"))
            line = []
            for name, env in variants.items():
                before = len(receiver.spans)
                results[name].append(run_once(server, project, args.n, env))
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

    print(f"\n{'variant':<10} {'wall':>8} {'migration':>10} {'cpu':>8}   (medians, s)  all walls / all cpu (s)")
    med = {}
    for name, runs in results.items():
        med[name] = tuple(statistics.median(r[i] for r in runs) for i in range(3))
        print(f"{name:<10} {med[name][0]:>8.3f} {med[name][1]:>10.3f} {med[name][2]:>8.3f}   "
              + " ".join(f"{r[0]:.3f}" for r in runs) + " / " + " ".join(f"{r[2]:.3f}" for r in runs))
    fixed = {name: (statistics.median(r[0] for r in runs), statistics.median(r[2] for r in runs))
             for name, runs in startup.items()}
    fixed_wall = fixed["exported"][0] - fixed["disabled"][0]
    fixed_cpu = fixed["exported"][1] - fixed["disabled"][1]
    print(f"start-up alone (`migrate info`, no statements), exported vs disabled: wall {fixed_wall:+.3f}s, "
          f"cpu {fixed_cpu:+.3f}s (importing and starting the SDK and exporters)")
    per_statement = (med["exported"][2] - med["disabled"][2] - fixed_cpu) / args.n
    print(f"per statement, exported: {per_statement * 1e6:+.0f} us cpu after the start-up cost "
          f"(span, metric, export; {per_statement * args.n / med['disabled'][2]:+.1%} of the disabled run's cpu)")
    for name in ("exported", "local"):
        wall, mig, cpu = (med[name][i] / med["disabled"][i] - 1 for i in range(3))
        print(f"{name} vs disabled: wall {wall:+.1%}, migration {mig:+.1%}, cpu {cpu:+.1%} "
              f"({(med[name][2] - med['disabled'][2]) * 1000:+.0f} ms cpu in all)"
              + (f"  (target <= +5% wall: {'met' if wall <= 0.05 else 'MISSED'})" if name == "exported" else ""))


if __name__ == "__main__":
    main()
