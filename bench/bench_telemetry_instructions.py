#!/usr/bin/env python3
"""Tracing overhead of the CLI process in instructions (valgrind callgrind): repeatable where wall time is not.

Runs `rockway migrate up` of a one-migration project (CREATE TABLE + one-row INSERTs) under
`valgrind --tool=callgrind`, once per variant and size, each on a fresh database:
  disabled   OTEL_SDK_DISABLED=true
  local      telemetry on, no endpoint (spans with real ids, nothing exported)
  exported   OTLP/HTTP to a live receiver started in this process (the SDK's exporters in the CLI process)
Only the CLI process is counted, which is where tracing costs anything: a fixed part and a part per statement,
from two sizes, for the whole process and for its main thread alone (what the run waits for; the SDK's batch
processors export, and build their exporters, in threads of their own). Counts repeat to 1-2% from run to run
(timing-dependent paths: background threads, waits), whatever else the machine is doing.

    python bench/bench_telemetry_instructions.py [--server mysql://root@127.0.0.1:3306] [--sizes 100 500]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.support.otlp_receiver
from tests.support.otlp_receiver import OtlpReceiver  # noqa: E402

import benchlib  # noqa: E402
from bench_telemetry import make_project  # noqa: E402

VARIANTS = ("disabled", "local", "exported")


def instructions(server: benchlib.Server, project: Path, env: dict[str, str], out: Path) -> tuple[int, int]:
    """(instructions of the process, of its main thread) callgrind counted for one `rockway migrate up --json` on a
    fresh database."""
    with server.fresh_database() as db:
        environment = benchlib.clean_env(**env, ROCKWAY_DSN=server.url(db))
        cmd = ["valgrind", "--tool=callgrind", "--separate-threads=yes", f"--callgrind-out-file={out}",
               *benchlib.CLI, "migrate", "up", "--json"]
        proc = subprocess.run(cmd, cwd=project, env=environment, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"migrate up failed under valgrind ({proc.returncode}):\n{proc.stderr[-3000:]}")
    match = re.search(r"Collected : (\d+)", proc.stderr)
    main = re.search(r"^(?:summary|totals): (\d+)", Path(f"{out}-01").read_text(), re.MULTILINE)  # thread 1: main
    if match is None or main is None:
        raise SystemExit(f"no instruction count in valgrind's output:\n{proc.stderr[-2000:]}")
    return int(match.group(1)), int(main.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", default=os.environ.get("ROCKWAY_TEST_DSN", "mysql://root@127.0.0.1:3306"))
    parser.add_argument("--sizes", type=int, nargs=2, default=(100, 500), metavar=("SMALL", "LARGE"))
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed")
    server = benchlib.Server(args.server)
    small, large = args.sizes
    print(f"server: {args.server}, python {sys.version.split()[0]}; `rockway migrate up` of one migration with "
          f"{small} and {large} statements, counted by callgrind (the CLI process only)")
    counts: dict[tuple[str, int], tuple[int, int]] = {}
    with tempfile.TemporaryDirectory() as tmp, OtlpReceiver() as receiver:
        envs = {"disabled": {"OTEL_SDK_DISABLED": "true"}, "local": {},
                "exported": {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.http_endpoint}}
        for n in (small, large):
            project = make_project(Path(tmp) / f"project{n}", n)
            for name in VARIANTS:
                before = len(receiver.spans)
                counts[name, n] = instructions(server, project, envs[name], Path(tmp) / f"cg.{name}.{n}")
                if name == "exported" and not receiver.wait_for(lambda r: len(r.spans) >= before + n + 2, timeout=10):
                    raise SystemExit("the exported run did not deliver its spans")
                total, main = counts[name, n]
                print(f"{name:<9} {n:>5} statements: {total / 1e6:10.1f} M instructions, main thread {main / 1e6:10.1f} M",
                      flush=True)
    for which, label in ((0, "process"), (1, "main thread")):
        print(f"\n{label}:")
        base_per = (counts["disabled", large][which] - counts["disabled", small][which]) / (large - small)
        base_fixed = counts["disabled", small][which] - base_per * small
        for name in VARIANTS[1:]:
            per = (counts[name, large][which] - counts[name, small][which]) / (large - small)
            fixed = counts[name, small][which] - per * small
            ratio = counts[name, large][which] / counts["disabled", large][which]
            print(f"{name} vs disabled: {ratio - 1:+.1%} instructions at {large} statements; fixed "
                  f"{(fixed - base_fixed) / 1e6:+.1f} M, per statement {(per - base_per) / 1e3:+.1f} k "
                  f"(disabled: {base_fixed / 1e6:.1f} M fixed, {base_per / 1e3:.1f} k per statement)")


if __name__ == "__main__":
    main()
