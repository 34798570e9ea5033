"""Table rewrites a release starts, before and after `rockway lint --fix` (rockway/lint/rewrites.py).

No server: a rewrite is a statement that starts a StarRocks COLUMN / ROLLUP / OPTIMIZE job, as the StarRocks
adapter classifies it (rockway/adapters/starrocks/statement_kinds.py). Two inputs:

* a synthetic release: N column changes (ADD 70%, MODIFY 20%, DROP 10%; a fifth of the ADDs placed AFTER a column)
  over K tables in M scripts, one change per ALTER TABLE statement. "grouped" writes each script's changes table by
  table (how people usually write a script); "interleaved" shuffles them within the script, so fewer are adjacent.
  Seeded: a re-run prints the same counts. "floor" is the number of (script, table) pairs: the fewest rewrites
  merging inside scripts can reach (`--fix` never moves a change from one script to another).
* this warehouse's migrations, rendered for prod (StarRocks), via `rockway lint --env prod --check --assume-pending`.

    python bench/bench_rewrites.py [--changes 200] [--tables 10] [--scripts 8] [--seed 7]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from rockway.lint.rewrites import merge_column_changes, repeated_rewrites, script_rewrites
from rockway.sqlsplit import split

REPO = Path(__file__).resolve().parent.parent


def synthetic_release(changes: int, tables: int, scripts: int, seed: int, *, grouped: bool) -> list[str]:
    """Script texts of a release: `changes` single-change ALTER TABLE statements spread over the scripts."""
    rng = random.Random(seed)
    columns = {f"t{k}": ["id", "a", "b"] for k in range(tables)}
    made = 0
    per_script: list[list[tuple[str, str]]] = [[] for _ in range(scripts)]
    for n in range(changes):
        table = rng.choice(sorted(columns))
        cols = columns[table]
        roll = rng.random()
        if roll < 0.7 or len(cols) < 4:
            made += 1
            where = f" AFTER {rng.choice(cols)}" if rng.random() < 0.2 else ""
            clause = f"ADD COLUMN c{made} VARCHAR(20){where}"
            cols.append(f"c{made}")
        elif roll < 0.9:
            clause = f"MODIFY COLUMN {rng.choice(cols[1:])} VARCHAR(40)"
        else:
            victim = rng.choice(cols[1:])
            cols.remove(victim)
            clause = f"DROP COLUMN {victim}"
        per_script[n * scripts // changes].append((table, f"ALTER TABLE {table} {clause};"))
    texts = []
    for items in per_script:
        if grouped:  # table by table, keeping each table's changes in order
            order = list(dict.fromkeys(t for t, _ in items))
            items = sorted(items, key=lambda item: order.index(item[0]))
        texts.append("\n".join(sql for _, sql in items) + "\n")
    return texts


def count(texts: list[str]) -> tuple[int, int, int, int]:
    """(rewrites, tables rewritten more than once, most rewrites of one table, distinct (script, table) pairs)."""
    found = [r for k, text in enumerate(texts) for r in script_rewrites(f"V{k + 1}", split(text))]
    per_table = Counter(r.table for r in found)
    pairs = len({(r.script, r.table) for r in found})  # the fewest rewrites merging within scripts can reach
    return len(found), len(repeated_rewrites(found)), max(per_table.values(), default=0), pairs


def synthetic(args: argparse.Namespace) -> None:
    print(f"synthetic release: {args.changes} column changes over {args.tables} tables in {args.scripts} scripts "
          f"(seed {args.seed})")
    print(f"{'layout':<12} | {'rewrites':>17} | {'floor':>5} | {'tables >1 rewrite':>17} | {'max on one table':>16} |"
          " merge time")
    for grouped in (True, False):
        texts = synthetic_release(args.changes, args.tables, args.scripts, args.seed, grouped=grouped)
        started = time.perf_counter()
        merged = [merge_column_changes(text).text for text in texts]
        seconds = time.perf_counter() - started
        before, after = count(texts), count(merged)
        print(f"{'grouped' if grouped else 'interleaved':<12} | {before[0]:>7} -> {after[0]:>6} | {before[3]:>5} | "
              f"{before[1]:>7} -> {after[1]:>6} | {before[2]:>6} -> {after[2]:>6} | {seconds * 1000:.1f} ms")


def warehouse() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROCKWAY_")} | {"ROCKWAY_ENV": "prod"}
    proc = subprocess.run([sys.executable, "-c", "from rockway.cli.main import main; main()", "lint", "--env", "prod",
                           "--check", "--assume-pending", "--json"], cwd=REPO, env=env, capture_output=True, text=True)
    if proc.returncode not in (0, 1):
        raise SystemExit(proc.stderr)
    release = json.loads(proc.stdout)["release"]
    merged = sum(len(m["statements"]) - 1 for f in release["fixes"] for m in f["merges"])
    print(f"this warehouse (prod rendering, {len(release['scripts'])} V scripts): rewrites {release['rewrites']} -> "
          f"{release['rewrites'] - merged}; tables rewritten more than once: "
          f"{len(release['tables_rewritten_more_than_once'])}; statements kept apart: "
          f"{sum(len(f['kept']) for f in release['fixes'])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=200)
    parser.add_argument("--tables", type=int, default=10)
    parser.add_argument("--scripts", type=int, default=8)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    synthetic(args)
    warehouse()


if __name__ == "__main__":
    main()
