"""MySQL/MariaDB job operations: window loads in one transaction, upserts, streamed copies, mariadb-dump backups.

Idempotence without labels: every write of a window is one transaction that first removes what an
earlier attempt of the same window may have written (the window's rows, or the append batch named by
the job's label), so running it again after an ambiguous failure leaves the same rows. DDL (work tables)
runs before the transaction, because MySQL and MariaDB commit implicitly on DDL.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any, Sequence

from rockway.errors import DatabaseError
from rockway.adapters.base import Adapter, ProgressCallback, ignore_progress
from rockway.adapters.job_ops import (BackupInfo, BackupRequest, ChangeSet, Dialect, JobOps, LoadRequest,
                                      LoadResult, Step)
from rockway.adapters.mysql.base import MySQLAdapter
from rockway.adapters.option_file import write_option_file
from rockway.adapters.pymysql_base import stream_rows

# Server errors worth retrying: lock wait timeout, deadlock, statement time limits, too many connections,
# shutdown in progress, connection killed, idle timeout, lost connection, interrupted query.
TRANSIENT_ERRNOS = {1205, 1213, 1969, 3024, 1040, 1053, 1927, 4031, 2006, 2013, 1317, 1158, 1159, 1160, 1161}
_RECORDS = re.compile(r"Records:\s*(\d+)")
_TYPES = {"DATETIME": "DATETIME(6)", "TEXT": "LONGTEXT"}


class MySQLDialect(Dialect):
    def text(self, expr: str) -> str:
        return f"CAST({expr} AS CHAR)"

    def bigint(self, expr: str) -> str:
        return f"CAST({expr} AS SIGNED)"


def _column_type(portable: str) -> str:
    text = " ".join(portable.upper().split())
    return _TYPES.get(text, text)


class MySQLJobOps(JobOps):
    """Job operations for MySQL and MariaDB."""

    engine = MySQLAdapter.engine
    overwrite_per_day = False
    hash_comments = MySQLAdapter.hash_comments
    dialect = MySQLDialect()

    # --- sessions -----------------------------------------------------------------------------
    def session_sql(self, statement_timeout: float) -> list[str]:
        seconds = max(1, int(statement_timeout))
        lock_wait = max(1, min(seconds, 60))
        out = ["SET time_zone = '+00:00'",
               f"SET SESSION innodb_lock_wait_timeout = {lock_wait}",
               f"SET SESSION lock_wait_timeout = {lock_wait}"]
        if self.adapter is None or "mariadb" in self.adapter.server_version.lower():
            out.append(f"SET SESSION max_statement_time = {seconds}")
        else:  # MySQL: max_execution_time bounds SELECT only (milliseconds)
            out.append(f"SET SESSION max_execution_time = {seconds * 1000}")
        return out

    # --- planning -----------------------------------------------------------------------------
    def work_table_sql(self, qualified: str, columns: Sequence[tuple[str, str]], key: Sequence[str] = ()) -> list[str]:
        cols = [f"{self.q(name)} {_column_type(ctype)} {'NOT NULL' if name in key else 'NULL'}" for name, ctype in columns]
        if key:
            cols.append(f"PRIMARY KEY ({', '.join(self.q(k) for k in key)})")
        body = ",\n  ".join(cols)
        return [f"DROP TABLE IF EXISTS {qualified}",
                f"CREATE TABLE {qualified} (\n  {body}\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"]

    def upsert_values_sql(self, qualified: str, columns: Sequence[str], key: Sequence[str]) -> str:
        cols = ", ".join(self.q(c) for c in columns)
        updates = ", ".join(f"{self.q(c)} = VALUES({self.q(c)})" for c in columns if c not in key)
        return (f"INSERT INTO {qualified} ({cols}) VALUES ({', '.join(['%s'] * len(columns))})"
                f" ON DUPLICATE KEY UPDATE {updates}")

    def copy_sql(self, qualified: str, columns: Sequence[str]) -> str:
        cols = ", ".join(self.q(c) for c in columns)
        return f"INSERT INTO {qualified} ({cols}) VALUES ({', '.join(['%s'] * len(columns))})"

    def _upsert(self, req: LoadRequest, select: str) -> str:
        cols = ", ".join(self.q(c) for c in req.columns)
        updates = [f"{self.q(c)} = VALUES({self.q(c)})" for c in req.columns if c not in req.key]
        if not updates:
            updates = [f"{self.q(req.columns[0])} = {self.q(req.columns[0])}"]
        return (f"INSERT INTO {req.target} ({cols})\nSELECT rw_u.* FROM (\n{select}\n) AS rw_u\n"
                f"ON DUPLICATE KEY UPDATE {', '.join(updates)}")

    def fill_change_set(self, req: LoadRequest, change: ChangeSet, table: str, columns: str) -> list[Step]:
        """The change set is written inside the transaction that applies it (DDL commits implicitly, so it comes first)."""
        return [Step("begin", "START TRANSACTION"), Step("sql", f"INSERT INTO {table} ({columns})\n{change.select}",
                                                         note="change set")]

    def plan_load(self, req: LoadRequest) -> list[Step]:
        cols = ", ".join(self.q(c) for c in req.columns)
        insert = f"INSERT INTO {req.target} ({cols})\n"
        steps: list[Step] = []
        begin, commit = Step("begin", "START TRANSACTION"), Step("commit", "COMMIT")
        if req.strategy == "scd2":
            assert req.change is not None
            steps += self.change_set_steps(req, req.change)
            steps += [Step("sql", self._upsert(req, s.select), counts=True, note="close changed versions, insert new ones")
                      for s in req.slices]
            return steps + [commit]
        if req.strategy == "upsert":
            return [Step("sql", self._upsert(req, s.select), counts=True) for s in req.slices]
        steps.append(begin)
        if req.strategy == "append":
            assert req.batch_column
            steps.append(Step("sql", f"DELETE FROM {req.target} WHERE {self.q(req.batch_column)} = "
                                     f"{self.dialect.string(req.label)}", note="remove an earlier attempt's batch"))
            steps += [Step("sql", insert + s.select, counts=True) for s in req.slices]
        elif req.strategy == "replace_window":
            assert req.window_column
            col = self.q(req.window_column)
            for s in req.slices:
                bounds = [f"{col} > {s.lo}"] if s.lo is not None else []
                bounds += [f"{col} <= {s.hi}"] if s.hi is not None else []
                where = " AND ".join(bounds) or "1 = 1"
                steps.append(Step("sql", f"DELETE FROM {req.target} WHERE {where}", note="remove the window"))
                steps.append(Step("sql", insert + s.select, counts=True))
        elif req.strategy == "replace":
            steps.append(Step("sql", f"DELETE FROM {req.target}", note="replace every row"))
            steps += [Step("sql", insert + s.select, counts=True) for s in req.slices]
        else:
            raise ValueError(f"unknown load strategy {req.strategy!r}")
        return steps + [commit]

    # --- execution ----------------------------------------------------------------------------
    def execute(self, steps: Sequence[Step], on_event: ProgressCallback = ignore_progress) -> LoadResult:
        result = LoadResult()
        in_tx = False
        try:
            for step in steps:
                if step.kind == "copy":
                    continue
                if step.kind == "begin":
                    self.a.execute("START TRANSACTION")
                    in_tx = True
                    continue
                if step.kind == "commit":
                    self.a.execute("COMMIT")
                    in_tx = False
                    continue
                res = self.a.execute(step.sql)
                if step.counts:
                    m = _RECORDS.search(res.info or "")
                    result.rows_written += int(m.group(1)) if m else res.rowcount
        except BaseException:
            if in_tx:
                self._rollback_quietly()
            raise
        return result

    def copy(self, source: Adapter, sql: str, work_table: str, columns: Sequence[str], *, batch_size: int,
             label: str, on_event: ProgressCallback = ignore_progress) -> int:
        """Read the source with an unbuffered cursor, batch by batch, into the work table (one transaction)."""
        insert = self.copy_sql(work_table, columns)
        total = 0
        self.a.execute("START TRANSACTION")
        try:
            for rows in stream_rows(source, sql, batch_size, width=len(columns)):
                self.a.executemany(insert, rows)
                total += len(rows)
                on_event(f"copied {total} rows into {work_table}")
            self.a.execute("COMMIT")
        except BaseException:
            self._rollback_quietly()
            raise
        return total

    def _rollback_quietly(self) -> None:
        """ROLLBACK after a failure; if the connection is gone, the server rolls back by itself."""
        try:
            self.a.execute("ROLLBACK")
        except Exception:  # noqa: BLE001 - the original error is the one to report
            pass

    def recover(self, lost_connection_id: int | None) -> None:
        """Kill the session whose connection broke, so its open transaction rolls back and frees its locks now."""
        if lost_connection_id is None:
            return
        try:
            self.a.execute(f"KILL CONNECTION {int(lost_connection_id)}")
        except DatabaseError:
            pass  # already gone (1094 Unknown thread id) or not allowed

    def _transient_error(self, exc: DatabaseError) -> bool:
        return exc.errno in TRANSIENT_ERRNOS

    # --- backups ------------------------------------------------------------------------------
    def _dump_binary(self, wanted: str) -> str:
        for candidate in (wanted, "mariadb-dump", "mysqldump"):
            found = shutil.which(candidate)
            if found:
                return found
        raise DatabaseError(f"backup: {wanted!r} is not installed (nor mariadb-dump / mysqldump)",
                            hint="Install the MariaDB client tools or set [jobs.backup] dump_command.")

    def backup(self, req: BackupRequest, on_event: ProgressCallback = ignore_progress) -> list[BackupInfo]:
        """`mariadb-dump --single-transaction` of each database into `<folder>/rw_<db>_<stamp>.sql`."""
        if req.folder is None:
            raise DatabaseError("backup: no folder configured for dump files ([jobs.backup] folder)")
        folder = Path(req.folder)
        folder.mkdir(parents=True, exist_ok=True)
        binary = self._dump_binary(req.dump_command)
        dsn: Any = getattr(self.a, "dsn")
        made: list[BackupInfo] = []
        cnf = write_option_file("client", {"host": dsn.host, "port": dsn.port, "user": dsn.user,
                                           "password": dsn.password or None}, prefix="rockway-dump-")
        try:
            for database in req.databases:
                name = req.name(database)
                final = folder / f"{name}.sql"
                part = folder / f".{name}.sql.part"
                argv = [binary, f"--defaults-extra-file={cnf}", "--protocol=TCP", "--single-transaction",
                        "--routines", "--triggers", "--hex-blob", f"--result-file={part}", "--databases", database]
                on_event(f"backup: {Path(binary).name} {database} -> {final}")
                try:
                    proc = subprocess.run(argv, capture_output=True, text=True, timeout=req.timeout)
                except subprocess.TimeoutExpired:
                    part.unlink(missing_ok=True)
                    raise DatabaseError(f"backup of {database} did not finish within {req.timeout:g}s") from None
                tail = _tail(part)
                if proc.returncode != 0 or "Dump completed" not in tail:
                    part.unlink(missing_ok=True)
                    raise DatabaseError(f"backup of {database} failed (exit {proc.returncode}): "
                                        f"{proc.stderr.strip()[:500] or 'the dump file is incomplete'}")
                part.replace(final)
                made.append(BackupInfo(name, database, str(final), f"{final.stat().st_size} bytes"))
        finally:
            cnf.unlink(missing_ok=True)
        return made

    def list_backups(self, req: BackupRequest, database: str) -> list[BackupInfo]:
        if req.folder is None or not Path(req.folder).is_dir():
            return []
        prefix = f"rw_{database}_"
        files = sorted(p for p in Path(req.folder).glob(f"{prefix}*.sql") if p.stem[len(prefix):].replace("T", "").isdigit())
        return [BackupInfo(p.stem, database, str(p)) for p in files]

    def delete_backup(self, req: BackupRequest, info: BackupInfo) -> str:
        Path(info.location).unlink(missing_ok=True)
        return f"deleted {info.location}"


def _tail(path: Path, size: int = 4096) -> str:
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - size))
            return fh.read().decode("utf-8", "replace")
    except OSError:
        return ""
