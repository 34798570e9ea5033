#!/usr/bin/env python3
"""Load a 1,000,000-row reference CSV into MariaDB: the rockway loader vs bare LOAD DATA LOCAL INFILE vs executemany.

    python bench/bench_refdata.py [--server mysql://root@127.0.0.1:3306] [--rows 1000000] [--repeats 5]
                                  [--profile] [--csv PATH] [--append-results bench/RESULTS.md]

The file has the shape of reference-data/dim_material_mapper.csv (17 columns, quoted fields, NULLs,
booleans, dates, datetimes, non-ASCII text) and is made by reference-data/generate.py (fixed seed).
Every variant loads it into an empty table created from the manifest, on its own fresh database:

- rockway loader: `refdata.load_reference_csv` as `migrate up` runs it — staging table, then LOAD DATA
  LOCAL INFILE of the CSV itself into it on a second connection (worker thread) while the whole CSV is
  checked in Python (header, types, NOT NULL, key uniqueness, encoding; one process), row count from
  LOAD DATA's own report (affected rows, Records/Deleted/Skipped/Warnings), RENAME swap, drop;
- the same with `overlap=False`: the check first (parallel processes when the file is big), then the
  load; also without COUNT(*);
- bare LOAD DATA LOCAL INFILE of the CSV itself, written by hand to load it correctly (OPTIONALLY
  ENCLOSED BY '"', IGNORE 1 LINES, NULLIF for empty fields, `= 'true'` for booleans); no checks;
- pymysql executemany, 10,000 rows per call (csv module, '' -> None, booleans -> 1/0); no checks.

Variants run interleaved (repeat 1 of each, then repeat 2, …); medians are reported. All variants
must end with the same table contents (an aggregate fingerprint is compared). Target: loader
throughput >= 0.7x bare LOAD DATA.
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import importlib.util
import io
import os
import platform
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import pymysql

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tooling"))  # measure this checkout's rockway, whatever is installed

from rockway.refdata import check as csvcheck

from rockway.refdata import loader as refdata
from rockway.adapters import Timeouts, connect_dsn  # noqa: E402
from rockway.adapters.mysql.bulk import MySQLBulk  # noqa: E402
from rockway.config import Dsn, parse_dsn  # noqa: E402

MANIFEST_CSV = ROOT / "reference-data" / "dim_material_mapper.csv"
BATCH = 10_000


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location("refdata_generate", ROOT / "reference-data" / "generate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_csv(path: Path, rows: int) -> None:
    gen = _generator()
    tmp = path.with_suffix(".part")
    with open(tmp, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(gen.MATERIAL_COLUMNS)
        writer.writerows(gen.material_rows(rows))
    tmp.replace(path)


class Server:
    def __init__(self, dsn: str) -> None:
        self.dsn: Dsn = parse_dsn(dsn)

    def connect(self, database: str | None = None, **kw: Any) -> Any:
        d = self.dsn
        return pymysql.connect(host=d.host, port=d.port, user=d.user, password=d.password or "", database=database,
                               autocommit=True, charset="utf8mb4", **kw)

    def url(self, database: str) -> str:
        d = self.dsn
        auth = d.user + (f":{d.password}" if d.password else "")
        return f"mysql://{auth}@{d.host}:{d.port}/{database}"

    def sql(self, statement: str, database: str | None = None) -> list[tuple]:
        conn = self.connect(database)
        try:
            with conn.cursor() as cur:
                cur.execute(statement)
                return list(cur.fetchall())
        finally:
            conn.close()

    def version(self) -> str:
        return str(self.sql("SELECT VERSION()")[0][0])


def table_ddl(manifest: refdata.Manifest) -> str:
    """MariaDB DDL for the manifest's table (same for every variant)."""
    cols = ",\n  ".join(f"`{c.name}` {c.type} {'NULL' if c.nullable else 'NOT NULL'}" for c in manifest.columns)
    key = ", ".join(f"`{k}`" for k in manifest.key)
    return f"CREATE TABLE `{manifest.table}` (\n  {cols},\n  PRIMARY KEY ({key})\n) DEFAULT CHARSET=utf8mb4"


FINGERPRINT = ("SELECT COUNT(*), COUNT(DISTINCT material_number), SUM(units_per_case), SUM(net_weight_kg),"
               " SUM(gross_weight_kg), COUNT(brand), COUNT(ean_upc), SUM(is_active), COUNT(valid_to),"
               " MIN(valid_from), MAX(updated_at), SUM(CRC32(material_description)), SUM(CRC32(product_hierarchy))"
               " FROM dim_material_mapper")


# --- variants --------------------------------------------------------------------------------------

class TimedBulk(MySQLBulk):
    """MySQLBulk that records how long each server-side phase took (the load runs in a worker thread)."""

    phases: dict[str, float]

    def _t(self, name: str, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return fn(*args, **kw)
        finally:
            self.phases[name] = self.phases.get(name, 0.0) + time.perf_counter() - t0

    def create_staging(self, *a: Any, **kw: Any) -> None:
        self._t("staging", super().create_staging, *a, **kw)

    def load_file(self, *a: Any, **kw: Any) -> Any:
        return self._t("LOAD DATA", super().load_file, *a, **kw)

    def wait_count(self, *a: Any, **kw: Any) -> int:
        return self._t("COUNT(*)", super().wait_count, *a, **kw)

    def swap(self, *a: Any, **kw: Any) -> None:
        self._t("swap", super().swap, *a, **kw)


PHASES: dict[str, list[dict[str, float]]] = {}
PHASE_ORDER = ("check", "staging", "LOAD DATA", "COUNT(*)", "swap", "total")


def loader(overlap: bool | None) -> Callable[[Server, str, Path, refdata.Manifest], None]:
    def run(server: Server, db: str, path: Path, manifest: refdata.Manifest) -> None:
        adapter = connect_dsn(parse_dsn(server.url(db)), Timeouts(read=3600))
        original = csvcheck.validate_csv
        checked: dict[str, float] = {}

        def timed_validate(*a: Any, **kw: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return original(*a, **kw)
            finally:
                checked["check"] = checked.get("check", 0.0) + time.perf_counter() - t0

        refdata.validate_csv = timed_validate  # type: ignore[assignment]
        try:
            bulk = TimedBulk(adapter)
            bulk.phases = {}
            t0 = time.perf_counter()
            result = refdata.load_reference_csv(adapter, path, manifest, display=path.name, bulk=bulk, overlap=overlap)
            total = time.perf_counter() - t0
            assert result.rows == ROWS, result
        finally:
            refdata.validate_csv = original  # type: ignore[assignment]
            adapter.close()
        PHASES.setdefault("overlapped" if overlap is None else "check, then load", []).append(
            {**checked, **bulk.phases, "total": total})
    return run


def bare_load_data(server: Server, db: str, path: Path, manifest: refdata.Manifest) -> None:
    fields, sets = [], []
    for c in manifest.columns:
        if c.base == "BOOLEAN":
            fields.append(f"@{c.name}")
            sets.append(f"`{c.name}` = (@{c.name} = 'true')")
        elif c.nullable:
            fields.append(f"@{c.name}")
            sets.append(f"`{c.name}` = NULLIF(@{c.name}, '')")
        else:
            fields.append(f"`{c.name}`")
    sql = ("LOAD DATA LOCAL INFILE %s INTO TABLE dim_material_mapper CHARACTER SET utf8mb4"
           " FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' ESCAPED BY '' LINES TERMINATED BY '\\n'"
           f" IGNORE 1 LINES ({', '.join(fields)}) SET {', '.join(sets)}")
    conn = server.connect(db, local_infile=True)
    try:
        with conn.cursor() as cur:
            cur.execute(sql, (str(path),))
    finally:
        conn.close()


def executemany(server: Server, db: str, path: Path, manifest: refdata.Manifest) -> None:
    names = manifest.names
    bools = [i for i, c in enumerate(manifest.columns) if c.base == "BOOLEAN"]
    sql = (f"INSERT INTO dim_material_mapper ({', '.join(f'`{n}`' for n in names)})"
           f" VALUES ({', '.join(['%s'] * len(names))})")
    conn = server.connect(db)
    try:
        with conn.cursor() as cur, open(path, encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh)
            next(reader)
            batch: list[list[Any]] = []
            for row in reader:
                values: list[Any] = [v if v != "" else None for v in row]
                for i in bools:
                    values[i] = 1 if row[i] in ("true", "1") else 0
                batch.append(values)
                if len(batch) == BATCH:
                    cur.executemany(sql, batch)
                    batch = []
            if batch:
                cur.executemany(sql, batch)
    finally:
        conn.close()


ROWS = 0


def timed(server: Server, path: Path, manifest: refdata.Manifest,
          fn: Callable[[Server, str, Path, refdata.Manifest], None]) -> tuple[float, tuple]:
    db = f"rw_bench_{uuid.uuid4().hex[:10]}"
    server.sql(f"CREATE DATABASE `{db}`")
    try:
        server.sql(table_ddl(manifest), db)
        t0 = time.perf_counter()
        fn(server, db, path, manifest)
        seconds = time.perf_counter() - t0
        fingerprint = tuple(server.sql(FINGERPRINT, db)[0])
        return seconds, fingerprint
    finally:
        server.sql(f"DROP DATABASE IF EXISTS `{db}`")


def main(argv: list[str] | None = None) -> int:
    global ROWS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default=os.environ.get("ROCKWAY_BENCH_SERVER", "mysql://root@127.0.0.1:3306"))
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--csv", type=Path, help="where the generated CSV is kept (default: the temp folder)")
    parser.add_argument("--profile", action="store_true", help="also cProfile one loader run")
    parser.add_argument("--append-results", type=Path, help="append this run's section to a RESULTS.md")
    args = parser.parse_args(argv)
    ROWS = args.rows
    out = io.StringIO()

    def say(text: str = "") -> None:
        print(text, flush=True)
        out.write(text + "\n")

    path = args.csv or Path(tempfile.gettempdir()) / f"rockway-bench-material-{args.rows}.csv"
    if not path.exists():
        t0 = time.perf_counter()
        make_csv(path, args.rows)
        print(f"generated {path} in {time.perf_counter() - t0:.1f} s", flush=True)
    manifest = refdata.load_manifest(MANIFEST_CSV, ROOT)
    server = Server(args.server)
    size = path.stat().st_size
    variants: dict[str, Callable[[Server, str, Path, refdata.Manifest], None]] = {
        "rockway loader (check while loading; default)": loader(None),
        "rockway loader (check, then load)": loader(False),
        "bare LOAD DATA LOCAL INFILE (no checks)": bare_load_data,
        f"pymysql executemany, {BATCH:,} rows per call (no checks)": executemany,
    }
    times: dict[str, list[float]] = {k: [] for k in variants}
    prints: dict[str, set] = {k: set() for k in variants}
    for r in range(args.repeats):
        for name, fn in variants.items():
            seconds, fingerprint = timed(server, path, manifest, fn)
            times[name].append(seconds)
            prints[name].add(fingerprint)
            print(f"  repeat {r + 1}: {name}: {seconds:.2f} s", flush=True)
    all_prints = set().union(*prints.values())
    assert len(all_prints) == 1, f"variants loaded different contents: {prints}"

    medians = {k: statistics.median(v) for k, v in times.items()}
    bare = medians["bare LOAD DATA LOCAL INFILE (no checks)"]
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    say(f"rows: {args.rows:,}; CSV: {size / 1e6:.1f} MB ({path.name}); repeats: {args.repeats} (median); "
        f"MariaDB {server.version()}; Python {platform.python_version()}; usable CPUs: {cpus}")
    say()
    say("| variant | median s | all runs s | rows/s | throughput vs bare LOAD DATA |")
    say("|---|---:|---|---:|---:|")
    for name, m in medians.items():
        runs = ", ".join(f"{t:.2f}" for t in times[name])
        say(f"| {name} | {m:.2f} | {runs} | {args.rows / m:,.0f} | {bare / m:.2f}x |")
    say()
    for key, runs in PHASES.items():
        names = [n for n in PHASE_ORDER if any(n in r for r in runs)]
        parts = ", ".join(f"{n} {statistics.median(r.get(n, 0.0) for r in runs):.2f} s" for n in names)
        say(f"loader phases ({key}, medians): {parts}")
    say("(overlapped: the check runs while LOAD DATA does, so check + LOAD DATA exceeds the total; no phase"
        " says COUNT(*) when LOAD DATA's own report gave the exact row count)")
    loader_name = "rockway loader (check while loading; default)"
    loader_ratio = bare / medians[loader_name]
    paired = [b / t for b, t in zip(times["bare LOAD DATA LOCAL INFILE (no checks)"], times[loader_name])]
    say(f"loader vs bare LOAD DATA within each repeat (they run back to back): "
        f"{', '.join(f'{r:.2f}x' for r in paired)}; median {statistics.median(paired):.2f}x")
    say()
    say(f"target: loader >= 0.7x bare LOAD DATA throughput -> {loader_ratio:.2f}x: "
        f"{'met' if loader_ratio >= 0.7 else 'MISSED'}")
    say(f"identical table contents in all variants: {len(all_prints) == 1} (fingerprint {sorted(all_prints)[0][:3]} …)")

    if args.profile:
        prof = cProfile.Profile()
        db = f"rw_bench_{uuid.uuid4().hex[:10]}"
        server.sql(f"CREATE DATABASE `{db}`")
        try:
            server.sql(table_ddl(manifest), db)
            adapter = connect_dsn(parse_dsn(server.url(db)), Timeouts(read=3600))
            try:
                prof.enable()
                refdata.load_reference_csv(adapter, path, manifest, display=path.name)
                prof.disable()
            finally:
                adapter.close()
        finally:
            server.sql(f"DROP DATABASE IF EXISTS `{db}`")
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(12)
        say()
        say("cProfile of one loader run (main thread of the main process only; sorted by tottime):")
        say("```")
        lines = buf.getvalue().splitlines()
        start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
        for line in lines[start:]:
            if line.strip():
                say(line.rstrip())
        say("```")

    if args.append_results:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "tooling", "reference-data", "bench"], cwd=ROOT,
                               capture_output=True, text=True)
        command = "python bench/bench_refdata.py " + " ".join(argv if argv is not None else sys.argv[1:])
        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        state = "uncommitted changes under tooling/, reference-data/ or bench/" if dirty.stdout.strip() else "clean tree"
        section = (f"\n## `{command.strip()}`\n\nDate: {stamp}. Code: commit `{commit.stdout.strip()}` ({state}).\n"
                   f"Machine: {platform.system()} {platform.release()} {platform.machine()}, {cpus} usable CPUs; "
                   "the server and CPUs are shared with other work on this machine.\n\n" + out.getvalue())
        with open(args.append_results, "a", encoding="utf-8") as fh:
            fh.write(section)
        print(f"appended to {args.append_results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
