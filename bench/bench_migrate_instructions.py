#!/usr/bin/env python3
"""rockway's own cost per migration in instructions (valgrind callgrind): repeatable where wall time is not.

bench_migrate.py's in-process variants, each in its own Python process under `valgrind --tool=callgrind`, at two
sizes, each on a fresh database:
  floor     raw pymysql + exactly rockway's journal writes (bench_migrate.raw_with_one_write)
  rockway   commands.migrate in-process (bench_migrate.rockway_inprocess)
Only the client process is counted, never the server, so the busy shared machine does not move the figures much;
the difference between the two sizes cancels start-up and imports. What is left per migration, rockway minus the
floor, is rockway's own Python: discovery, rendering, planning, history rows, spans, redaction.

    python bench/bench_migrate_instructions.py [--server mysql://root@127.0.0.1:3306] [--sizes 50 150]
                                               [--no-schema-snapshot]

--no-schema-snapshot leaves out the schema snapshot `migrate up` records when it has run (schema/api.py
record_after_migrate): it reads every table of the database, so in this benchmark, whose database holds exactly the
tables the run created, its cost shows as a cost per migration although it grows with the database, not the run.
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

import benchlib
import bench_migrate

VARIANTS = {"floor": bench_migrate.raw_with_one_write, "rockway": bench_migrate.rockway_inprocess}


def instructions(server_url: str, variant: str, project: Path, n: int, out: Path, snapshot: bool) -> int:
    """Instructions callgrind counted for one variant's process on a fresh database (checked: n tables made)."""
    here = Path(__file__).resolve().parent
    server = bench_migrate.Server(server_url)
    with server.fresh_database() as db:
        cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, __file__,
               "--child", variant, server_url, str(project), db, str(n), "snapshot" if snapshot else "no-snapshot"]
        # a fixed hash seed: set and dict layouts, and so the counts, repeat from run to run
        proc = subprocess.run(cmd, cwd=here, env=benchlib.clean_env(PYTHONHASHSEED="0"), capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"{variant} failed under valgrind ({proc.returncode}):\n{proc.stderr[-3000:]}")
        made = server.count_tables(db)
        if made != n:
            raise SystemExit(f"{variant}: expected {n} tables, found {made}")
    match = re.search(r"Collected : (\d+)", proc.stderr)
    if match is None:
        raise SystemExit(f"no instruction count in valgrind's output:\n{proc.stderr[-2000:]}")
    return int(match.group(1))


def main() -> None:
    if len(sys.argv) == 8 and sys.argv[1] == "--child":
        _, _, variant, url, project, database, n, snapshot = sys.argv  # the measured process: one variant's whole job
        if snapshot == "no-snapshot":
            from rockway.schema import api

            api.record_after_migrate = lambda *args, **kwargs: None
        VARIANTS[variant](bench_migrate.Server(url), database, Path(project), int(n))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", default=os.environ.get("ROCKWAY_BENCH_DSN", "mysql://root@127.0.0.1:3306"))
    parser.add_argument("--sizes", type=int, nargs=2, default=(50, 150), metavar=("SMALL", "LARGE"))
    parser.add_argument("--no-schema-snapshot", action="store_true",
                        help="leave out the schema snapshot recorded after `migrate up` (see above)")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed")
    small, large = args.sizes
    print(f"server: {args.server}, python {sys.version.split()[0]}; {small} and {large} one-statement migrations"
          f" (`{bench_migrate.statement(1)}`), in-process, counted by callgrind (the client process only)"
          + ("; without the schema snapshot" if args.no_schema_snapshot else ""))
    counts: dict[tuple[str, int], int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in (small, large):
            project = bench_migrate.make_project(Path(tmp) / f"project{n}", n)
            for name in VARIANTS:
                counts[name, n] = instructions(args.server, name, project, n, Path(tmp) / f"cg.{name}.{n}",
                                               not args.no_schema_snapshot)
                print(f"{name:<8} {n:>5} migrations: {counts[name, n] / 1e6:10.1f} M instructions", flush=True)
    print()
    per = {name: (counts[name, large] - counts[name, small]) / (large - small) for name in VARIANTS}
    fixed = {name: counts[name, small] - per[name] * small for name in VARIANTS}
    for name in VARIANTS:
        print(f"{name:<8} per migration {per[name] / 1e3:8.1f} k, fixed {fixed[name] / 1e6:8.1f} M")
    print(f"rockway's own instructions per migration (rockway - floor): {(per['rockway'] - per['floor']) / 1e3:.1f} k"
          f" ({per['rockway'] / per['floor']:.2f}x the floor's)")


if __name__ == "__main__":
    main()
