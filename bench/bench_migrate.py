#!/usr/bin/env python3
"""Apply 500 one-statement migrations: rockway (in-process and CLI) vs raw pymysql vs yoyo-migrations.

Every variant runs on its own freshly created database on the same MariaDB server, in one run of this
script, interleaved (repeat 1 of every variant, then repeat 2, ..., the order rotated by one each repeat), each run
starting with InnoDB's dirty pages written out (benchlib.Server.settle); the median of the repeats is reported.

    python bench/bench_migrate.py [--server mysql://root@127.0.0.1:3306] [--n 500] [--repeats 3] [--profile]
                                  [--no-yoyo] [--record]

Targets: rockway in-process <= 1.2x raw pymysql; yoyo >= 3x rockway (in-process vs API, CLI vs CLI);
rockway in-process <= 1.10x "raw pymysql + rockway's journal writes" (rockway's own cost per migration), also
given paired: the median of the per-repeat ratios (the two run back to back in every repeat).

--record also lists the statements the schema record (schema/drift.py, written around every `migrate up` run)
sends: after the n migrations (every table new, so every DDL is read), for a next run with nothing pending (which
leaves an existing record as it is), and around a one-migration release that alters one table (the catalog read
before and after the run), with and without the fingerprint.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable

import benchlib
from rockway.migrate import api as commands
from rockway.config import load_settings

SCRIPTS = Path(sysconfig.get_path("scripts"))


def statement(i: int) -> str:
    return f"CREATE TABLE t_{i} (id INT NOT NULL PRIMARY KEY, v VARCHAR(20))"


def make_project(root: Path, n: int) -> Path:
    """migrations/V<i>__t_<i>.sql, one statement each; the same folder is given to yoyo."""
    migrations = root / "migrations"
    migrations.mkdir(parents=True)
    (root / "repeatable").mkdir()
    for i in range(1, n + 1):
        (migrations / f"V{i}__t_{i}.sql").write_text(statement(i) + ";\n", encoding="utf-8")
    return root


class Server(benchlib.Server):
    def count_tables(self, name: str) -> int:
        return int(self.scalar("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s"
                               " AND TABLE_NAME LIKE 't\\_%%'", (name,)))


clean_env = benchlib.clean_env


def run(cmd: list[str], cwd: Path, env: dict[str, str]) -> None:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed with exit {proc.returncode}:\n{proc.stderr[-3000:]}")


def console_script(name: str) -> list[str]:
    path = SCRIPTS / name
    if path.exists():
        return [str(path)]
    entry = {"rockway": "from rockway.cli.main import main; main()", "yoyo": "from yoyo.scripts.main import main; main()"}
    return [sys.executable, "-c", entry[name]]


# --- variants: each gets (server, database name, project folder) and does the whole job ---------------

def raw_pymysql(server: Server, db: str, project: Path, n: int) -> None:
    conn = server.connect(db)
    try:
        with conn.cursor() as cur:
            for i in range(1, n + 1):
                cur.execute(statement(i))
    finally:
        conn.close()


def _journal_sql(rows_per_write: int) -> tuple[str, str]:
    """CREATE TABLE for a table shaped like rockway's history table, and an upsert of rows_per_write rows."""
    from rockway.migrate.history import COLUMN_NAMES, COLUMNS

    types = {"TEXT": "LONGTEXT", "DATETIME": "DATETIME(6)"}
    cols = ", ".join(f"`{c.name}` {types.get(c.type, c.type)} {'NULL' if c.nullable else 'NOT NULL'}" for c in COLUMNS)
    names = ", ".join(f"`{c}`" for c in COLUMN_NAMES)
    marks = ", ".join([f"({', '.join(['%s'] * len(COLUMN_NAMES))})"] * rows_per_write)
    updates = ", ".join(f"`{c}` = VALUES(`{c}`)" for c in COLUMN_NAMES if c != "installed_rank")
    create = f"CREATE TABLE journal ({cols}, PRIMARY KEY (installed_rank)) DEFAULT CHARSET=utf8mb4"
    return create, f"INSERT INTO journal ({names}) VALUES {marks} ON DUPLICATE KEY UPDATE {updates}"


def _journal_row(i: int) -> list[object]:
    return [i, str(i), f"t {i}", "SQL", f"migrations/V{i}__t_{i}.sql", "0" * 64, "root", "2025-01-01 00:00:00",
            0, 0, "running", 1, 0, "[]", 1, None, None, f"line 1: {statement(i)}", "[]", "run", "0" * 32,
            None, "host", "0.1.0"]


def _finished(row: list[object]) -> list[object]:
    done = list(row)
    done[9], done[10], done[12], done[14], done[17] = 1, "success", 1, None, None
    return done


def raw_with_journal(server: Server, db: str, project: Path, n: int) -> None:
    """Raw statements plus two autocommitted history upserts per migration (a "started" and a "finished" row).

    Not a rockway run: the floor any tool with a per-migration "started" and "finished" row can reach.
    """
    create, upsert = _journal_sql(1)
    conn = server.connect(db)
    try:
        with conn.cursor() as cur:
            cur.execute(create)
            for i in range(1, n + 1):
                row = _journal_row(i)
                cur.execute(upsert, row)
                cur.execute(statement(i))
                cur.execute(upsert, _finished(row))
    finally:
        conn.close()


def raw_with_one_write(server: Server, db: str, project: Path, n: int) -> None:
    """Raw statements plus exactly the journal writes rockway makes: before each statement ONE upsert of two rows
    (the previous migration's finished row and this one's intent row), and a last upsert at the end.

    Not a rockway run: the floor of rockway's design (one durable journal commit per statement).
    """
    create, upsert_one = _journal_sql(1)
    _, upsert_two = _journal_sql(2)
    conn = server.connect(db)
    try:
        with conn.cursor() as cur:
            cur.execute(create)
            previous: list[object] | None = None
            for i in range(1, n + 1):
                row = _journal_row(i)
                if previous is None:
                    cur.execute(upsert_one, row)
                else:
                    cur.execute(upsert_two, _finished(previous) + row)
                cur.execute(statement(i))
                previous = row
            if previous is not None:
                cur.execute(upsert_one, _finished(previous))
    finally:
        conn.close()


def rockway_inprocess(server: Server, db: str, project: Path, n: int) -> None:
    settings = load_settings(project, overrides={"dsn": server.url(db)}, environ={})
    result = commands.migrate(settings)
    assert result.report is not None and len(result.report.applied) == n, result


def rockway_cli(server: Server, db: str, project: Path, n: int) -> None:
    run([*console_script("rockway"), "migrate", "up"], project, clean_env(ROCKWAY_DSN=server.url(db)))


def yoyo_api(server: Server, db: str, project: Path, n: int) -> None:
    from yoyo import get_backend, read_migrations

    backend = get_backend(server.url(db))
    migrations = read_migrations(str(project / "migrations"))
    with backend.lock():
        backend.apply_migrations(backend.to_apply(migrations))
    backend.connection.close()


def yoyo_cli(server: Server, db: str, project: Path, n: int) -> None:
    run([*console_script("yoyo"), "apply", "--batch", "--no-config-file", "--database", server.url(db),
         str(project / "migrations")], project, clean_env())


VARIANTS: dict[str, Callable[[Server, str, Path, int], None]] = {
    "raw pymysql (1 connection)": raw_pymysql,
    "raw pymysql + 2 journal upserts/migration": raw_with_journal,
    "raw pymysql + rockway's journal writes": raw_with_one_write,
    "rockway in-process (commands.migrate)": rockway_inprocess,
    "rockway CLI (`rockway migrate up`)": rockway_cli,
    "yoyo 9 Python API": yoyo_api,
    "yoyo 9 CLI (`yoyo apply --batch`)": yoyo_cli,
}


def timed(server: Server, project: Path, n: int, fn: Callable[[Server, str, Path, int], None]) -> float:
    db = server.create()
    try:
        server.settle()
        t0 = time.perf_counter()
        fn(server, db, project, n)
        seconds = time.perf_counter() - t0
        made = server.count_tables(db)
        if made != n:
            raise SystemExit(f"{fn.__name__}: expected {n} tables, found {made}")
        return seconds
    finally:
        server.drop(db)


def _statement_kind(sql: str) -> str:
    if sql.startswith("SHOW CREATE"):
        return "SHOW CREATE"
    if "information_schema" in sql or sql.startswith("SHOW "):
        return "catalog"
    return " ".join(sql.split()[:2])  # CREATE TABLE, SELECT *, INSERT INTO, DELETE FROM, ALTER TABLE


def record_statements(server: Server, root: Path, n: int) -> list[str]:
    """The statements (by kind) and wall time of the schema record of four runs on one database (see --record)."""
    from rockway.adapters.mysql.introspection import MySQLIntrospection
    from rockway.schema import api as schema_api

    project = make_project(root / "record", n)
    seen: Counter[str] = Counter()
    spent: list[float] = []
    originals = {"before_migrate": schema_api.before_migrate, "record_after_migrate": schema_api.record_after_migrate}

    def counted(original: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(adapter: Any, *args: Any, **kwargs: Any) -> Any:
            execute = adapter.execute

            def counting(sql: str, params: Any = None) -> Any:
                seen[_statement_kind(sql)] += 1
                return execute(sql, params)

            adapter.execute = counting
            started = time.perf_counter()
            try:
                return original(adapter, *args, **kwargs)
            finally:
                spent.append(time.perf_counter() - started)
                adapter.execute = execute
        return wrapper

    def run(label: str) -> str:
        seen.clear()
        spent.clear()
        settings = load_settings(project, overrides={"dsn": server.url(db)}, environ={})
        commands.migrate(settings)
        return f"{label}: {sum(spent) * 1000:.0f} ms; " + ", ".join(f"{k} {v}" for k, v in sorted(seen.items()))

    out = []
    db = server.create()
    for name, original in originals.items():  # measured in place, restored below
        setattr(schema_api, name, counted(original))
    try:
        out.append(run(f"first run, {n} new tables"))
        out.append(run("next run, nothing pending (a record exists: left as it is)"))
        (project / "migrations" / f"V{n + 1}__alter.sql").write_text("ALTER TABLE t_1 ADD COLUMN w INT;\n")
        out.append(run("a release altering one table (read before and after the run)"))
        fingerprints = MySQLIntrospection.fingerprints
        MySQLIntrospection.fingerprints = lambda self, objects: {}  # type: ignore[method-assign]  # as before them
        try:
            (project / "migrations" / f"V{n + 2}__alter.sql").write_text("ALTER TABLE t_2 ADD COLUMN w INT;\n")
            out.append(run("the same without fingerprints (every DDL read)"))
        finally:
            MySQLIntrospection.fingerprints = fingerprints  # type: ignore[method-assign]
    finally:
        for name, original in originals.items():
            setattr(schema_api, name, original)
        server.drop(db)
    return out


def profile_rockway(server: Server, project: Path, n: int, top: int = 15) -> str:
    db = server.create()
    try:
        profiler = cProfile.Profile()
        profiler.enable()
        rockway_inprocess(server, db, project, n)
        profiler.disable()
    finally:
        server.drop(db)
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(top)
    out.write("\n")
    stats.sort_stats("tottime").print_stats(top)
    return out.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", default=os.environ.get("ROCKWAY_BENCH_DSN", "mysql://root@127.0.0.1:3306"),
                        help="MySQL/MariaDB server URL (databases are created and dropped on it)")
    parser.add_argument("--n", type=int, default=500, help="number of migrations (default 500)")
    parser.add_argument("--repeats", type=int, default=3, help="repeats per variant; the median is reported (default 3)")
    parser.add_argument("--profile", action="store_true", help="also print a cProfile summary of one in-process rockway run")
    parser.add_argument("--no-yoyo", action="store_true", help="leave out the two yoyo variants (slow) and their ratios")
    parser.add_argument("--record", action="store_true",
                        help="also list the statements of the schema record after a first run and after a release")
    args = parser.parse_args()

    server = Server(args.server)
    print(f"server: {server.dsn} ({server.version()}), python {sys.version.split()[0]}, nproc {os.cpu_count()}")
    print(f"{args.n} migrations, each `{statement(1)}` in its own file; {args.repeats} repeats, fresh database each")
    root = Path(tempfile.mkdtemp(prefix="rockway_bench_"))
    try:
        project = make_project(root, args.n)
        # warm-up (imports, server caches), not measured
        timed(server, project, min(args.n, 20), raw_pymysql)
        small = make_project(root / "warm", min(args.n, 20))
        timed(server, small, min(args.n, 20), rockway_inprocess)
        variants = {name: fn for name, fn in VARIANTS.items() if not (args.no_yoyo and fn in (yoyo_api, yoyo_cli))}
        if not args.no_yoyo:
            timed(server, small, min(args.n, 20), yoyo_api)

        samples: dict[str, list[float]] = {name: [] for name in variants}
        if not server.settle():
            print("note: InnoDB's dirty pages could not be written out before each run (see benchlib.Server.settle)")
        names = list(variants)
        for rep in range(args.repeats):
            # every variant takes every place in the order in turn, so none always follows the same one
            for name in names[rep % len(names):] + names[:rep % len(names)]:
                samples[name].append(timed(server, project, args.n, variants[name]))
            print(f"repeat {rep + 1}: " + ", ".join(f"{name.split(' (')[0]} {samples[name][-1]:.2f}s" for name in variants),
                  flush=True)
        med = {name: statistics.median(values) for name, values in samples.items()}

        raw = med["raw pymysql (1 connection)"]
        floor = med["raw pymysql + rockway's journal writes"]
        rw = med["rockway in-process (commands.migrate)"]
        rw_cli = med["rockway CLI (`rockway migrate up`)"]
        paired = [r / f for r, f in zip(samples["rockway in-process (commands.migrate)"],
                                        samples["raw pymysql + rockway's journal writes"])]
        print()
        print(f"{'variant':<46} {'median s':>9} {'per migr. ms':>13} {'vs raw':>7}   all runs (s)")
        for name, value in med.items():
            runs = " ".join(f"{v:.2f}" for v in samples[name])
            print(f"{name:<46} {value:>9.3f} {value / args.n * 1000:>13.2f} {value / raw:>6.2f}x   {runs}")
        print()
        checks = [
            ("rockway in-process / raw pymysql", rw / raw, "<= 1.20", rw / raw <= 1.2),
            ("rockway CLI / raw pymysql (info only)", rw_cli / raw, "", None),
            ("raw + journal upserts / raw pymysql (info only)", med["raw pymysql + 2 journal upserts/migration"] / raw, "", None),
            ("rockway in-process / raw + journal (info only)", rw / med["raw pymysql + 2 journal upserts/migration"], "", None),
            ("raw + rockway's journal writes / raw (floor)", floor / raw, "", None),
            ("rockway in-process / that floor", rw / floor, "<= 1.10", rw / floor <= 1.1),
            ("same, paired (median of per-repeat ratios)", statistics.median(paired), "<= 1.10",
             statistics.median(paired) <= 1.1),
        ]
        if not args.no_yoyo:
            yo, yo_cli = med["yoyo 9 Python API"], med["yoyo 9 CLI (`yoyo apply --batch`)"]
            checks += [("yoyo API / rockway in-process", yo / rw, ">= 3.00", yo / rw >= 3.0),
                       ("yoyo CLI / rockway CLI", yo_cli / rw_cli, ">= 3.00", yo_cli / rw_cli >= 3.0)]
        print(f"{'ratio':<46} {'value':>9} {'target':>9}  result")
        for label, value, target, ok in checks:
            verdict = "" if ok is None else ("met" if ok else "MISSED")
            print(f"{label:<46} {value:>8.2f}x {target:>9}  {verdict}")
        print("per-repeat ratios, rockway in-process / that floor: " + " ".join(f"{r:.2f}" for r in paired))
        if args.record:
            print("\nschema record (statements by kind, wall time of the record alone, read before the run included):")
            for line in record_statements(server, root, args.n):
                print("  " + line)
        if args.profile:
            print("\ncProfile of one in-process rockway run (top 15 by cumulative, then by own time):")
            print(profile_rockway(server, project, args.n))
        return 0
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
