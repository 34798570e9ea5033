"""Reference data: `reference-data/<name>.csv` + `<name>.yaml` manifest -> validated -> staged bulk load -> swap.

A seed repeatable is one line, `{{ load_csv('dim_material_mapper.csv') }}` (or `…, database=dw_db) }}`).
The template global validates the CSV against its manifest while the script renders (so a bad CSV stops
`migrate up` before anything is written, exit 2, naming file:line) and renders one statement,
`ROCKWAY LOAD CSV '<name>' INTO [db.]table`. Discovery already adds the CSV's bytes to the repeatable's
checksum, so editing the CSV re-runs the seed (the manifest is not part of the checksum).

Running that statement (`handle_load_csv`):
1. validate the whole CSV again in Python and write the bulk file if one is needed (check.py);
2. the target table must exist (create it in a V migration) with exactly the manifest's columns;
3. `CREATE TABLE <t>__rw_stage LIKE <t>`, bulk load it (LOAD DATA LOCAL INFILE / Stream Load with label
   `rockway_seed_<table>_<sha12>_<run8>`), check that it holds exactly the CSV's row count (the server's
   exact report of the load on MySQL/MariaDB, COUNT(*) on StarRocks; see load_reference_csv);
4. swap atomically (`RENAME TABLE` / `ALTER TABLE … SWAP WITH`) and drop the old rows.
On MySQL/MariaDB steps 2–3 start first and the load of the CSV runs while step 1 checks it (the target
is untouched until the swap); on a bad CSV the load is killed. Either way, a bad CSV fails with the
check's file:line error, and any failure before the swap drops the staging table; the target keeps its
old rows.

The manifest next to the CSV is manifest.py's.
"""

from __future__ import annotations

import re
import tempfile
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, BinaryIO, Callable, Mapping

from rockway.adapters.base import Adapter, ProgressCallback, StatementResult
from rockway.adapters.bulk import BulkColumn, BulkFile, BulkTarget, LoadOutcome, PendingLoad
from rockway.adapters.registry import bulk_target
from rockway.config import Settings
from rockway.errors import DatabaseError, InputError
from rockway.extensions import register_globals, register_statement
from rockway.model import Statement
from rockway.observability import spans
from rockway.refdata.check import CsvStats, validate_csv
from rockway.refdata.manifest import Manifest, is_plain_identifier, load_manifest, resolve_csv
from rockway.refdata.part import CSV
from rockway.refdata.reader import line_end

__all__ = ["LoadResult", "check_csv", "load_reference_csv", "handle_load_csv", "load_statement", "parse_statement"]

_STATEMENT = re.compile(
    r"^\s*ROCKWAY\s+LOAD\s+CSV\s+'([^']+)'\s+INTO\s+(?:`?([A-Za-z_][A-Za-z0-9_]*)`?\s*\.\s*)?`?([A-Za-z_][A-Za-z0-9_]*)`?\s*;?\s*$",
    re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class LoadResult:
    """One finished load."""

    table: str
    database: str | None
    rows: int
    bytes: int
    sha256: str
    method: str
    label: str | None
    seconds: float


# --- the template-time check ------------------------------------------------------------------

_CHECKED: dict[tuple[Any, ...], tuple[Manifest, CsvStats]] = {}


def check_csv(project_dir: Path, name: str) -> tuple[Manifest, CsvStats]:
    """Manifest and validated stats of reference-data/<name> (no database; cached per file version)."""
    path, display = resolve_csv(project_dir, name)
    manifest = load_manifest(path, project_dir)
    try:
        st, mt = path.stat(), manifest.path.stat()
    except FileNotFoundError:
        raise InputError(display, "file not found") from None
    key = (str(path), st.st_size, st.st_mtime_ns, str(manifest.path), mt.st_size, mt.st_mtime_ns)
    if key not in _CHECKED:
        stats = validate_csv(path, manifest.columns, manifest.key, display=display, manifest=manifest.display)
        if len(_CHECKED) > 64:
            _CHECKED.clear()
        _CHECKED[key] = (manifest, stats)
    return _CHECKED[key]


# --- the statement -----------------------------------------------------------------------------

def load_statement(name: str, manifest: Manifest, database: str | None = None) -> str:
    """`ROCKWAY LOAD CSV '<name>' INTO [db.]table` (database: the argument, else the manifest's, else none)."""
    db = database or manifest.database
    return f"ROCKWAY LOAD CSV '{name}' INTO {db + '.' if db else ''}{manifest.table}"


def parse_statement(sql: str) -> tuple[str, str | None, str]:
    """(csv name, database or None, table) of a LOAD CSV statement; ValueError if it is not one."""
    m = _STATEMENT.match(sql)
    if not m:
        raise ValueError("expected ROCKWAY LOAD CSV '<file>.csv' INTO [database.]table")
    return m.group(1), m.group(2), m.group(3)


def _label(table: str, sha256: str, run_id: str | None) -> str:
    """Stream Load label: rockway_seed_<table>_<sha12>_<run8>, [A-Za-z0-9_] only, at most 128 characters."""
    run = re.sub(r"[^0-9A-Za-z]", "", run_id or uuid.uuid4().hex)[:8]
    safe = re.sub(r"[^A-Za-z0-9_]", "_", table)[:80]
    return f"rockway_seed_{safe}_{sha256[:12]}_{run}"


# --- the load ----------------------------------------------------------------------------------

def _ignore(_message: str) -> None:
    return None


def _check_table(adapter: Adapter, manifest: Manifest, database: str | None) -> None:
    where = adapter.qualified(manifest.table, database)
    if not adapter.table_exists(manifest.table, database):
        raise InputError(manifest.display, f"table {where} does not exist; create it in a V migration first"
                         " (a seed only replaces the rows of an existing table)",
                         hint="For example:\n" + adapter.create_table_sql(manifest.table_spec()) + ";")
    live = adapter.table_columns(manifest.table, database)
    wanted = [n.lower() for n in manifest.names]
    if live != wanted:
        missing = [c for c in wanted if c not in live]
        extra = [c for c in live if c not in wanted]
        detail = "; ".join(filter(None, [f"missing in the table: {', '.join(missing)}" if missing else "",
                                         f"not in the manifest: {', '.join(extra)}" if extra else "",
                                         "same columns in a different order" if not missing and not extra else ""]))
        raise InputError(manifest.display, f"columns of {manifest.display} ({', '.join(wanted)}) differ from table"
                         f" {where} ({', '.join(live)}): {detail}",
                         hint="Change the table with a V migration or the manifest and CSV, so that both list the same"
                              " columns in the same order.")


def _file_version(path: Path) -> tuple[int, int, int]:
    st = path.stat()
    return st.st_ino, st.st_size, st.st_mtime_ns


def load_reference_csv(adapter: Adapter, csv_path: Path, manifest: Manifest, *, display: str | None = None,
                       run_id: str | None = None, on_progress: ProgressCallback = _ignore, timeout: float = 1800.0,
                       poll_interval: float = 2.0, bulk: BulkTarget | None = None,
                       overlap: bool | None = None) -> LoadResult:
    """Validate, stage, load, verify and swap one reference CSV into manifest.table.

    overlap (default: whenever the bulk target can load the CSV as it is, i.e. MySQL/MariaDB): create the
    staging table and start loading the CSV itself into it (a worker thread, its own connection) while
    this thread checks the file. The target table is not touched before the swap and the staging table
    is this load's own, so nothing the check would have prevented becomes visible. When the check finds
    a problem, the load is stopped (KILL QUERY) and waited for, the staging table dropped, and the check's
    InputError raised — whatever the load did or raised. When the file is valid but not loadable as it
    is (outside the strict subset of strict_rows.py), the speculative load is stopped and discarded and the plain
    bulk file is loaded after the check, as without overlap. The check then runs in this process only
    (workers=1): the load is the longer part, and the server needs the other CPUs for it.
    """
    display = display or str(csv_path)
    database = manifest.database or adapter.database
    bulk = bulk or bulk_target(adapter, timeout=timeout, poll_interval=poll_interval)
    overlap = bulk.loads_csv_as_is if overlap is None else bool(overlap and bulk.loads_csv_as_is)
    started = time.monotonic()
    attributes: dict[str, Any] = {"rockway.csv.file": display, "rockway.csv.table": manifest.target,
                                  "rockway.csv.method": bulk.method, "rockway.csv.overlap": overlap}
    with spans.span(f"load_csv {manifest.table}", **attributes) as span, \
            tempfile.TemporaryDirectory(prefix="rockway-csv-") as tmp:
        bulk_file = Path(tmp) / "rows.tsv"
        version = _file_version(csv_path)
        columns = [BulkColumn(c.name, c.nullable, c.base == "BOOLEAN") for c in manifest.columns]
        staging = bulk.staging_name(manifest.table)

        def check(out: BinaryIO | None, **kw: Any) -> CsvStats:
            return validate_csv(csv_path, manifest.columns, manifest.key, display=display, manifest=manifest.display,
                                out=out, bulk_format=bulk.bulk_format, **kw)

        def checked(stats: CsvStats) -> None:
            span.set_attribute("rockway.csv.rows", stats.rows)
            span.set_attribute("rockway.csv.bytes", stats.bytes)
            span.set_attribute("rockway.csv.sha256", stats.sha256)
            on_progress(f"{display}: {stats.rows} rows, {stats.bytes} bytes valid ({time.monotonic() - started:.2f}s)")

        pending: PendingLoad | None = None
        worker_progress: list[str] = []  # the load thread's progress, reported from this thread
        staged = swapped = False
        outcome: LoadOutcome | None = None
        try:
            if overlap:
                try:
                    _check_table(adapter, manifest, database)
                except Exception:
                    check(None)  # a bad CSV is reported before a table problem, as when the check ran first
                    raise
                try:
                    eol = line_end(csv_path)
                except OSError:
                    eol = "\n"  # the check reports the file
                staged = True
                bulk.create_staging(database, manifest.table, staging)
                # labels are Stream Load's; a target that loads the CSV as it is does not use one
                pending = bulk.start_load(database, staging, columns, BulkFile(csv_path, CSV, eol, header_lines=1),
                                          label="", on_progress=worker_progress.append)
                with open(bulk_file, "wb") as out:
                    stats = check(out, workers=1, on_plain=pending.cancel)
                checked(stats)
                if stats.bulk_format == CSV:
                    outcome = pending.wait()  # the load's own error, if any, now that the check has passed
                    pending = None
                else:  # valid, but not as it is: the CSV's load was cancelled; load the plain file instead
                    pending.abandon()
                    pending = None
                    worker_progress.clear()
                    on_progress(f"{display}: not loadable as it is (outside the strict CSV subset);"
                                " loading the checked plain bulk file instead")
                    bulk.create_staging(database, manifest.table, staging)  # drops what the cancelled load left
                for message in worker_progress:
                    on_progress(message)
            else:
                with open(bulk_file, "wb") as out:
                    stats = check(out)
                checked(stats)
                _check_table(adapter, manifest, database)
                staged = True
                bulk.create_staging(database, manifest.table, staging)
            label = _label(manifest.table, stats.sha256, run_id or spans.current_run_id())
            source = BulkFile(csv_path, CSV, stats.line_end, header_lines=1) if stats.bulk_format == CSV \
                else BulkFile(bulk_file, stats.bulk_format)
            if outcome is None:
                outcome = bulk.load_file(database, staging, columns, source, label=label, on_progress=on_progress)
            if source.path == csv_path and _file_version(csv_path) != version:
                raise InputError(display, "the file changed while it was being loaded; the table was not changed",
                                 hint="Run the migration again.")
            # The guarantee: the staging table holds exactly one row per data row of the checked CSV. Where the
            # count comes from: first what the server says this load inserted (LOAD DATA: affected rows; Stream
            # Load: NumberLoadedRows, with NumberFilteredRows == 0 checked in stream_load); then, when that is
            # the exact number of rows in the staging table (outcome.exact: LOAD DATA with Records == affected
            # rows and no deleted/skipped rows or warnings, into the empty staging table — see adapters/mysql/bulk.py), that
            # number; otherwise COUNT(*) of the staging table (Stream Load: key models merge rows with equal
            # keys, so rows loaded can exceed rows stored; Publish Timeout/earlier label: polled until visible).
            if outcome.rows >= 0 and outcome.rows != stats.rows:
                raise DatabaseError(
                    f"{manifest.target}: {bulk.method} reports {outcome.rows} rows loaded into the staging table but"
                    f" {display} has {stats.rows}; the table was not changed",
                    hint="See the server's warnings above; the table's types or key do not take the CSV as checked.")
            if outcome.exact and outcome.visible:
                count = outcome.rows
            else:
                count = bulk.wait_count(database, staging, stats.rows, outcome, on_progress)
            if count != stats.rows:
                raise DatabaseError(
                    f"{manifest.target}: the staging table holds {count} rows after the load but {display} has"
                    f" {stats.rows}; the table was not changed",
                    hint="Usually the table's key is stricter than the manifest's (for example a case-insensitive"
                         " collation); see the server's warnings above.")
            bulk.swap(database, manifest.table, staging, on_progress)
            swapped = True
        finally:
            if pending is not None:  # the check failed (or was interrupted): stop the load before dropping its table
                pending.abandon()
            if staged and not swapped:
                try:
                    bulk.drop(database, staging)
                except Exception:  # noqa: BLE001 - keep the original error; a leftover is dropped by the next load
                    on_progress(f"could not drop staging table {adapter.qualified(staging, database)}")
        if bulk.method == "Stream Load":
            span.set_attribute("rockway.csv.label", label)
        seconds = time.monotonic() - started
        on_progress(f"{adapter.qualified(manifest.table, database)}: replaced with {stats.rows} rows from {display}"
                    f" via {bulk.method} in {seconds:.2f}s")
    return LoadResult(manifest.table, database, stats.rows, stats.bytes, stats.sha256, bulk.method,
                      label if bulk.method == "Stream Load" else None, seconds)


# --- extension hooks ---------------------------------------------------------------------------

def handle_load_csv(adapter: Adapter, stmt: Statement, settings: Settings, progress: ProgressCallback) -> StatementResult:
    """Run `ROCKWAY LOAD CSV '<name>' INTO [db.]table`."""
    try:
        name, database, table = parse_statement(stmt.sql)
    except ValueError as exc:
        raise InputError("statement", f"{exc}: {stmt.first_line[:120]}", line=stmt.line) from None
    project_dir = Path(settings.project_dir)
    path, display = resolve_csv(project_dir, name, line=stmt.line)
    if not path.is_file():
        raise InputError(display, "file not found")
    manifest = load_manifest(path, project_dir)
    if table != manifest.table:
        raise InputError(manifest.display, f"the statement loads into {database + '.' if database else ''}{table} but the"
                         f" manifest's table is {manifest.table}")
    if database and database != manifest.database:
        manifest = replace(manifest, database=database)
    result = load_reference_csv(adapter, path, manifest, display=display, on_progress=progress,
                                timeout=float(settings.read_timeout), poll_interval=float(settings.poll_interval))
    jobs = (f"stream_load:{result.label}",) if result.label else ()
    return StatementResult(rowcount=result.rows, async_jobs=jobs,
                           info=f"{result.rows} rows from {display} via {result.method}")


def _template_globals(settings: Settings, engine: str) -> Mapping[str, Callable[..., str]]:
    project_dir = Path(settings.project_dir)

    def load_csv(name: str, database: str | None = None) -> str:
        """Validate reference-data/<name> against its manifest and return the LOAD CSV statement.

        database: where the table lives when it is not the manifest's or the connection's database
        (e.g. `{{ load_csv('dim_material_mapper.csv', database=dw_db) }}`).
        """
        manifest, _stats = check_csv(project_dir, name)
        if database is not None and not is_plain_identifier(str(database)):
            raise InputError(manifest.display, f"load_csv({name!r}, database={database!r}): not a plain identifier")
        return load_statement(name, manifest, database)

    return {"load_csv": load_csv}


register_statement("LOAD CSV", handle_load_csv)
register_globals(_template_globals)
