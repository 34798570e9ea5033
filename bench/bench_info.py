#!/usr/bin/env python3
"""`migrate info` over 2,000 migration files (1,000 applied), and `rockway --help` start-up time.

One run of this script on the local MariaDB: it creates a project and a database, applies the first
1,000 migrations (not measured), then times, each as the median of 5 (after one unmeasured warm-up):

* `commands.info(settings)` in-process;
* `rockway migrate info` and `rockway migrate info --json` as subprocesses (new process each time);
* `rockway --help` as a subprocess, next to `python -c pass` for reference.

    python bench/bench_info.py [--server mysql://root@127.0.0.1:3306] [--files 2000] [--applied 1000] [--repeats 5]

Targets: info (in-process and CLI) <= 0.5 s; `rockway --help` <= 0.25 s. When the --help target is
missed, the slowest imports of `python -X importtime` are printed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
import uuid
from pathlib import Path

import pymysql

from rockway.migrate import api as commands
from rockway.config import load_settings, parse_dsn
from rockway.model import State

SCRIPTS = Path(sysconfig.get_path("scripts"))
INFO_TARGET = 0.5
HELP_TARGET = 0.25

BODY = """-- {desc}
-- Purpose: benchmark table {i}
-- Owner: data-platform

CREATE TABLE t_{i} (
  id INT NOT NULL PRIMARY KEY,
  v VARCHAR(20),
  created_at DATETIME
);
"""


def make_project(root: Path, files: int) -> Path:
    migrations = root / "migrations"
    migrations.mkdir(parents=True)
    (root / "repeatable").mkdir()
    for i in range(1, files + 1):
        sub = migrations / f"{(i - 1) // 100:03d}"  # 100 files per folder, as a large project might be laid out
        sub.mkdir(exist_ok=True)
        (sub / f"V{i}__create_t_{i}.sql").write_text(BODY.format(desc=f"create t {i}", i=i), encoding="utf-8")
    return root


def console_script(name: str) -> list[str]:
    path = SCRIPTS / name
    return [str(path)] if path.exists() else [sys.executable, "-c", "from rockway.cli.main import main; main()"]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROCKWAY_", "OTEL_"))}
    env.update(extra)
    return env


def time_subprocess(cmd: list[str], cwd: Path, env: dict[str, str], repeats: int) -> tuple[float, list[float], str]:
    samples = []
    out = ""
    for k in range(repeats + 1):  # the first run is a warm-up
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
        elapsed = time.perf_counter() - t0
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed with exit {proc.returncode}:\n{proc.stderr[-3000:]}")
        out = proc.stdout
        if k:
            samples.append(elapsed)
    return statistics.median(samples), samples, out


def importtime_top(cmd: list[str], cwd: Path, env: dict[str, str], top: int = 20) -> str:
    """Slowest imports (cumulative µs) of one start-up, from `python -X importtime`."""
    proc = subprocess.run([sys.executable, "-X", "importtime", *cmd], cwd=cwd, env=env, capture_output=True, text=True)
    rows = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:"):
            continue
        head, cumulative, name = line.split("|", 2)
        self_us = head.split(":", 1)[1].strip()
        if not self_us.isdigit():  # the header line
            continue
        rows.append((int(cumulative), int(self_us), name.rstrip()))
    rows.sort(reverse=True)
    lines = [f"{'cumulative ms':>13} {'self ms':>8}  module"]
    lines += [f"{c / 1000:>13.1f} {s / 1000:>8.1f}  {n}" for c, s, n in rows[:top]]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", default=os.environ.get("ROCKWAY_BENCH_DSN", "mysql://root@127.0.0.1:3306"))
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--applied", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    server = parse_dsn(args.server)
    admin = pymysql.connect(host=server.host, port=server.port, user=server.user, password=server.password or "",
                            autocommit=True)
    with admin.cursor() as cur:
        cur.execute("SELECT VERSION()")
        version = cur.fetchone()[0]
    print(f"server: {server} ({version}), python {sys.version.split()[0]}, nproc {os.cpu_count()}")
    db = f"rw_bench_{uuid.uuid4().hex[:10]}"
    auth = server.user + (f":{server.password}" if server.password else "")
    dsn = f"mysql://{auth}@{server.host}:{server.port}/{db}"
    root = Path(tempfile.mkdtemp(prefix="rockway_bench_info_"))
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{db}`")
    try:
        project = make_project(root, args.files)
        settings = load_settings(project, overrides={"dsn": dsn}, environ={})
        t0 = time.perf_counter()
        result = commands.migrate(settings, target=str(args.applied))
        assert result.report is not None and len(result.report.applied) == args.applied
        print(f"setup: {args.files} files in {args.files // 100} folders, applied V1..V{args.applied}"
              f" in {time.perf_counter() - t0:.1f} s (not measured)")

        # in-process
        infos = commands.info(settings)  # warm-up
        states = {s: sum(1 for i in infos if i.state is s) for s in (State.APPLIED, State.PENDING)}
        assert states == {State.APPLIED: args.applied, State.PENDING: args.files - args.applied}, states
        samples = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            commands.info(load_settings(project, overrides={"dsn": dsn}, environ={}))
            samples.append(time.perf_counter() - t0)
        results: list[tuple[str, float, list[float], float | None]] = [
            ("info in-process (commands.info)", statistics.median(samples), samples, INFO_TARGET)]

        env = clean_env(ROCKWAY_DSN=dsn)
        rockway = console_script("rockway")
        med, runs, out = time_subprocess([*rockway, "migrate", "info"], project, env, args.repeats)
        assert out.count("pending") >= args.files - args.applied, "the table does not list every pending migration"
        results.append(("`rockway migrate info` (table)", med, runs, INFO_TARGET))
        med, runs, out = time_subprocess([*rockway, "migrate", "info", "--json"], project, env, args.repeats)
        assert out.count('"applied"') == args.applied
        results.append(("`rockway migrate info --json`", med, runs, INFO_TARGET))

        help_med, runs, out = time_subprocess([*rockway, "--help"], project, env, args.repeats)
        assert "migrate" in out
        results.append(("`rockway --help`", help_med, runs, HELP_TARGET))
        pass_med, runs, _ = time_subprocess([sys.executable, "-c", "pass"], project, env, args.repeats)
        results.append(("`python -c pass` (reference)", pass_med, runs, None))

        print(f"\nmedian of {args.repeats} (after 1 warm-up); subprocesses are new processes with a warm file cache\n")
        print(f"{'measurement':<36} {'median s':>9} {'target':>8}  {'result':<7} all runs (s)")
        missed = []
        for label, value, runs, target in results:
            verdict = "" if target is None else ("met" if value <= target else "MISSED")
            if verdict == "MISSED":
                missed.append(label)
            print(f"{label:<36} {value:>9.3f} {('<= %.2f' % target) if target else '':>8}  {verdict:<7} "
                  + " ".join(f"{v:.3f}" for v in runs))
        print(f"\n`rockway --help` minus `python -c pass`: {help_med - pass_med:.3f} s"
              f" ({help_med / pass_med:.1f}x the bare interpreter start)")
        if "`rockway --help`" in missed:
            print("\nslowest imports of `rockway --help` (python -X importtime, cumulative):")
            args_after_python = rockway[1:] if rockway[0] == sys.executable else rockway
            print(importtime_top([*args_after_python, "--help"], project, env))
        return 0
    finally:
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{db}`")
        admin.close()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
