#!/usr/bin/env python3
"""Tracing overhead of the CLI process in instructions (valgrind callgrind): repeatable where wall time is not.

Runs `rockway migrate up` of a one-migration project (CREATE TABLE + one-row INSERTs) under
`valgrind --tool=callgrind`, once per variant and size, each on a fresh database:
  disabled   OTEL_SDK_DISABLED=true
  local      telemetry on, no endpoint (spans with real ids, nothing exported)
  exported   OTLP/HTTP to a live receiver started in this process (the SDK's exporters in the CLI process)
Only the CLI process is counted, which is where tracing costs anything: a fixed part and a part per statement,
from two sizes. Counts repeat to 1-2%
from run to run (timing-dependent paths: background threads, waits), whatever else the machine is doing.

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

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from otlp_receiver import OtlpReceiver  # noqa: E402

import benchlib  # noqa: E402
from bench_telemetry import make_project  # noqa: E402

VARIANTS = ("disabled", "local", "exported")


def instructions(server: benchlib.Server, project: Path, env: dict[str, str], out: Path) -> int:
    """Instructions callgrind counted for one `rockway migrate up --json` on a fresh database."""
    with server.fresh_database() as db:
        environment = benchlib.clean_env(**env, ROCKWAY_DSN=server.url(db))
        cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *benchlib.CLI, "migrate", "up", "--json"]
        proc = subprocess.run(cmd, cwd=project, env=environment, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"migrate up failed under valgrind ({proc.returncode}):\n{proc.stderr[-3000:]}")
    match = re.search(r"Collected : (\d+)", proc.stderr)
    if match is None:
        raise SystemExit(f"no instruction count in valgrind's output:\n{proc.stderr[-2000:]}")
    return int(match.group(1))


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
    counts: dict[tuple[str, int], int] = {}
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
                print(f"{name:<9} {n:>5} statements: {counts[name, n] / 1e6:10.1f} M instructions", flush=True)
    print()
    base_per = (counts["disabled", large] - counts["disabled", small]) / (large - small)
    base_fixed = counts["disabled", small] - base_per * small
    for name in VARIANTS[1:]:
        per = (counts[name, large] - counts[name, small]) / (large - small)
        fixed = counts[name, small] - per * small
        ratio = counts[name, large] / counts["disabled", large]
        print(f"{name} vs disabled: {ratio - 1:+.1%} instructions at {large} statements; fixed "
              f"{(fixed - base_fixed) / 1e6:+.1f} M, per statement {(per - base_per) / 1e3:+.1f} k "
              f"(disabled: {base_fixed / 1e6:.1f} M fixed, {base_per / 1e3:.1f} k per statement)")


if __name__ == "__main__":
    main()
