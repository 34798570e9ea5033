"""StarRocks job operations: labelled loads with a label ledger, partition overwrites, backups.

tests/unit/test_jobs_starrocks.py replays the server's answers for each rule below.
- Labels: a non-idempotent append keeps ONE label derived from (job, window). Before it
  runs, and after "Label [l] has already been used", the label's state is read from
  `information_schema.loads`: FINISHED → the rows are there, skip; LOADING/PENDING/… → wait; CANCELLED or
  no row → (re)run with the same label (aborted labels are reusable). Idempotent statements (INSERT
  OVERWRITE, full-row Primary Key upserts) get the attempt tag appended, so a retry never collides with
  its own earlier label. A reply `'status':'COMMITTED'` is never re-run; the ledger is polled until the
  load is FINISHED (visible) before the runner moves the watermark.
- Fact windows: one `INSERT OVERWRITE t PARTITION (col = 'day') WITH LABEL … (cols) SELECT …`
  per day; the documented expression-partition form creates a missing partition, and an empty day
  empties its partition.
- SCD2: the change set is written with INSERT OVERWRITE into a Primary Key work table, then ONE
  INSERT upserts the closed versions and the new current versions (one transaction).
- Sessions: `SET time_zone = 'UTC'`, `query_timeout`, and `insert_timeout` from 3.4.
- Backups (README, "The backup failed"): `BACKUP SNAPSHOT db.snap TO repo` (the syntax every version accepts), then
  `SHOW BACKUP FROM db` until FINISHED/CANCELLED. There is no DROP SNAPSHOT: retention deletes the
  snapshot's directory `<location>/__starrocks_repository_<repo>/__ss_<snapshot>` with a configured
  command (e.g. `gcloud storage rm --recursive {path}`), run with a timeout.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import tempfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Sequence

from rockway.errors import AsyncJobFailed, DatabaseError
from rockway.adapters.base import Adapter, ProgressCallback, ignore_progress
from rockway.adapters.job_ops import (BackupInfo, BackupRequest, ChangeSet, Dialect, JobOps, LoadRequest,
                                      LoadResult, Step)
from rockway.adapters.poll_schedule import PollSchedule, parse_progress
from rockway.adapters.pymysql_base import stream_rows
from rockway.adapters.starrocks.base import StarRocksAdapter
from rockway.adapters.starrocks.sql import column_type, is_table_busy, show_text, sql_string, version_tuple
from rockway.adapters.starrocks.stream_load import DEFAULT_HTTP_PORT, StreamLoadClient, stream_load

RUNNING_STATES = {"PENDING", "QUEUEING", "LOADING", "PREPARE", "PREPARED", "COMMITED", "COMMITTED", "ETL", "UNKNOWN"}
_LABEL_OK = re.compile(r"^[A-Za-z0-9_]{1,128}$")
_NAME_OK = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
_REPLY_STATUS = re.compile(r"'status'\s*:\s*'([A-Z]+)'")
_TRANSIENT_TEXT = ("reached its timeout", "too many versions", "too large compaction score", "current running txns",
                   "timeout by txn manager", "publish timeout", "backend not found", "no available backend")
_BACKUP_BUSY = {"PENDING", "SNAPSHOTING", "UPLOAD_SNAPSHOT", "UPLOADING", "SAVE_META", "UPLOAD_INFO"}


class StarRocksDialect(Dialect):
    def text(self, expr: str) -> str:
        return f"CAST({expr} AS VARCHAR)"

    def bigint(self, expr: str) -> str:
        return f"CAST({expr} AS BIGINT)"


def label(*parts: str) -> str:
    """A valid label (`[A-Za-z0-9_]`, at most 128 characters) from parts; long ones keep a hash."""
    text = "_".join(p for p in parts if p)
    text = re.sub(r"[^A-Za-z0-9_]", "_", text)
    if len(text) <= 128:
        return text
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    return f"{text[:128 - len(digest) - 1]}_{digest}"


def _tsv(value: Any) -> str:
    """One field of a Stream Load body (TAB-separated, `\\N` = NULL, no escapes: StarRocks reads them verbatim)."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, datetime):
        return value.isoformat(" ", "microseconds") if value.microsecond else value.isoformat(" ", "seconds")
    if isinstance(value, (date, Decimal, int, float)):
        return str(value)
    text = value.decode("utf-8") if isinstance(value, (bytes, bytearray)) else str(value)
    if any(ch in text for ch in "\t\n\r") or text == "\\N":
        raise DatabaseError(f"a source value cannot go into a Stream Load body as is: {text[:60]!r}",
                            hint="Remove TAB/CR/LF from the value in the extract query (e.g. REPLACE(col, CHAR(9), ' ')).")
    return text


class StarRocksJobOps(JobOps):
    """Job operations for StarRocks."""

    engine = StarRocksAdapter.engine
    overwrite_per_day = True
    sqlglot_dialect = "starrocks"
    dialect = StarRocksDialect()

    @property
    def version(self) -> tuple[int, ...]:
        return version_tuple(self.adapter.server_version if self.adapter is not None else "")

    def external_table(self, catalog: str | None, database: str, table: str) -> str:
        """`catalog`.`db`.`table`: a table of an external catalog (e.g. a JDBC catalog)."""
        return f"{self.q(catalog)}.{self.qualified(database, table)}" if catalog else self.qualified(database, table)

    # --- sessions -----------------------------------------------------------------------------
    def session_sql(self, statement_timeout: float) -> list[str]:
        seconds = max(1, int(statement_timeout))
        out = ["SET time_zone = 'UTC'", f"SET query_timeout = {min(seconds, 259200)}"]
        if self.version >= (3, 4):  # insert_timeout governs INSERT, UPDATE, DELETE and MV refresh from 3.4
            out.append(f"SET insert_timeout = {seconds}")
        return out

    # --- planning -----------------------------------------------------------------------------
    def _replication(self) -> str:
        num = getattr(self.adapter, "replication_num", None) if self.adapter is not None else None
        return f'\nPROPERTIES ("replication_num" = "{int(num)}")' if num else ""

    def work_table_sql(self, qualified: str, columns: Sequence[tuple[str, str]], key: Sequence[str] = ()) -> list[str]:
        ordered = [c for c in columns if c[0] in key] + [c for c in columns if c[0] not in key]
        lines = [f"  {self.q(n)} {column_type(t)} {'NOT NULL' if n in key else 'NULL'}" for n, t in ordered]
        if key:
            keys = ", ".join(self.q(k) for k in key)
            model = f"PRIMARY KEY ({keys})\nDISTRIBUTED BY HASH ({keys})"
        else:
            first = self.q(ordered[0][0])
            model = f"DUPLICATE KEY ({first})\nDISTRIBUTED BY HASH ({first})"
        return [f"DROP TABLE IF EXISTS {qualified} FORCE",
                f"CREATE TABLE {qualified} (\n" + ",\n".join(lines) + f"\n)\n{model}{self._replication()}"]

    def upsert_values_sql(self, qualified: str, columns: Sequence[str], key: Sequence[str]) -> str:
        """INSERT INTO a Primary Key table: a row with an existing key replaces it (every column is listed)."""
        cols = ", ".join(self.q(c) for c in columns)
        return f"INSERT INTO {qualified} ({cols}) VALUES ({', '.join(['%s'] * len(columns))})"

    def copy_sql(self, qualified: str, columns: Sequence[str]) -> str:
        return f"-- Stream Load PUT /api/<db>/<table>/_stream_load into {qualified}, columns: {', '.join(columns)}"

    def copy_note(self, label: str, batch_size: int) -> str:
        return f"-- on the warehouse, one Stream Load (label {label}):"

    def refresh_sql(self, qualified_mv: str) -> str | None:
        return f"REFRESH MATERIALIZED VIEW {qualified_mv} WITH SYNC MODE"

    def plan_load(self, req: LoadRequest) -> list[Step]:
        cols = ", ".join(self.q(c) for c in req.columns)
        db, t, tag = req.target_db, req.target, req.attempt_tag
        steps: list[Step] = []
        if req.strategy == "append":
            for s in req.slices:  # one stable label per (job, window): the ledger makes a retry safe
                lbl = label(req.label, s.tag)
                steps.append(Step("sql", f"INSERT INTO {t} WITH LABEL {self.q(lbl)} ({cols})\n{s.select}", label=lbl,
                                  ledger=True, counts=True, database=db))
        elif req.strategy == "replace_window":
            assert req.window_column
            for s in req.slices:
                lbl = label(req.label, s.tag, tag)
                where = f" PARTITION ({self.q(req.window_column)} = {s.day})" if s.day is not None else ""
                steps.append(Step("sql", f"INSERT OVERWRITE {t}{where} WITH LABEL {self.q(lbl)} ({cols})\n{s.select}",
                                  label=lbl, counts=True, database=db))
        elif req.strategy == "replace":
            for s in req.slices:
                lbl = label(req.label, s.tag, tag)
                steps.append(Step("sql", f"INSERT OVERWRITE {t} WITH LABEL {self.q(lbl)} ({cols})\n{s.select}",
                                  label=lbl, counts=True, database=db))
        elif req.strategy in ("upsert", "scd2"):
            if req.strategy == "scd2":
                assert req.change is not None
                steps += self.change_set_steps(req, req.change)
            for s in req.slices:  # full-row upsert into a Primary Key table: idempotent
                lbl = label(req.label, s.tag or ("apply" if req.strategy == "scd2" else ""), tag)
                steps.append(Step("sql", f"INSERT INTO {t} WITH LABEL {self.q(lbl)} ({cols})\n{s.select}", label=lbl,
                                  counts=True, database=db))
        else:
            raise ValueError(f"unknown load strategy {req.strategy!r}")
        for step in steps:
            if step.label and not _LABEL_OK.match(step.label):
                raise ValueError(f"invalid StarRocks label {step.label!r}")
        return steps

    def fill_change_set(self, req: LoadRequest, change: ChangeSet, table: str, columns: str) -> list[Step]:
        lbl = label(req.label, "chg", req.attempt_tag)
        return [Step("sql", f"INSERT OVERWRITE {table} WITH LABEL {self.q(lbl)} ({columns})\n{change.select}",
                     label=lbl, database=change.database, note="change set")]

    # --- the label ledger ---------------------------------------------------------------------
    def label_state(self, database: str, lbl: str) -> tuple[str, int] | None:
        """(STATE, SINK_ROWS) of the newest load with this label in database, or None when there is none."""
        if self.version >= (3, 4):
            sql = ("SELECT STATE, SINK_ROWS, ERROR_MSG FROM information_schema.loads"
                   " WHERE DB_NAME = %s AND LABEL = %s ORDER BY ID DESC LIMIT 1")
        else:  # 3.1-3.3 column names
            sql = ("SELECT STATE, SINK_ROWS, ERROR_MSG FROM information_schema.loads"
                   " WHERE DATABASE_NAME = %s AND LABEL = %s ORDER BY JOB_ID DESC LIMIT 1")
        rows = self.a.query(sql, (database, lbl))
        if not rows:
            return None
        state = show_text(rows[0][0]).upper()
        try:
            sink = int(show_text(rows[0][1]) or 0)
        except ValueError:
            sink = 0
        return state, sink

    def settle_label(self, database: str, lbl: str, on_event: ProgressCallback = ignore_progress) -> tuple[str, int] | None:
        """Wait while the label's load is running; return its final (STATE, SINK_ROWS) or None."""
        adapter: Any = self.a
        clock, sleep = adapter._clock, adapter._sleep
        deadline = clock() + float(adapter.async_timeout)
        # blind: loads shows no usable progress
        plan = PollSchedule.for_interval(adapter.poll_interval, adapter.poll_lateness).start(clock())
        while True:
            found = self.label_state(database, lbl)
            if found is None or found[0] not in RUNNING_STATES:
                return found
            if clock() >= deadline:
                raise AsyncJobFailed(f"load {lbl} in {database} is still {found[0]} after {adapter.async_timeout:g}s",
                                     hint=f"Watch it: SELECT STATE, ERROR_MSG FROM information_schema.loads WHERE "
                                          f"LABEL = {sql_string(lbl)}; then run the job again (the label keeps it safe).")
            wait = plan.next_wait(clock(), deadline=deadline)
            on_event(f"load {lbl}: {found[0]}, waiting {wait:g}s")
            sleep(wait)

    def execute(self, steps: Sequence[Step], on_event: ProgressCallback = ignore_progress) -> LoadResult:
        result = LoadResult()
        for step in steps:
            if step.kind == "copy":
                continue
            if step.kind in ("begin", "commit"):
                raise DatabaseError("rockway does not open transactions on StarRocks")
            db = step.database or self.a.database or ""
            if step.ledger and step.label:
                done = self.settle_label(db, step.label, on_event)
                if done is not None and done[0] == "FINISHED":
                    on_event(f"label {step.label} is FINISHED already: skipping the load (label ledger)")
                    result.skipped_labels.append(step.label)
                    result.rows_written += done[1] if step.counts else 0
                    continue
            try:
                res = self.a.execute(step.sql)
            except DatabaseError as exc:
                if step.label and "has already been used" in exc.message:
                    done = self.settle_label(db, step.label, on_event)
                    if done is not None and done[0] == "FINISHED":
                        result.skipped_labels.append(step.label)
                        result.rows_written += done[1] if step.counts else 0
                        continue
                raise
            if step.label:
                result.labels.append(step.label)
                m = _REPLY_STATUS.search(res.info or "")
                if m and m.group(1) == "COMMITTED":  # loaded, not yet visible: never re-run, wait for FINISHED
                    on_event(f"load {step.label} COMMITTED, waiting until it is visible")
                    self.settle_label(db, step.label, on_event)
            if step.counts:
                result.rows_written += res.rowcount
        return result

    def copy(self, source: Adapter, sql: str, work_table: str, columns: Sequence[str], *, batch_size: int,
             label: str, on_event: ProgressCallback = ignore_progress) -> int:
        """Read the source into a TAB-separated file, then one Stream Load (one label) into the work table."""
        db, _, table = work_table.replace("`", "").partition(".")
        fd, path = tempfile.mkstemp(prefix="rockway-copy-", suffix=".tsv")
        total = 0
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
                for batch in stream_rows(source, sql, batch_size, width=len(columns)):
                    for row in batch:
                        fh.write("\t".join(_tsv(v) for v in row) + "\n")
                    total += len(batch)
            adapter: Any = self.a
            dsn = adapter.dsn
            client = StreamLoadClient(dsn.host, dsn.http_port or DEFAULT_HTTP_PORT, dsn.user, dsn.password or "",
                                      timeout=float(adapter.async_timeout) + 60)
            outcome = stream_load(client, db, table, Path(path), label=label, columns=list(columns),
                                  timeout=float(adapter.async_timeout), poll_interval=float(adapter.poll_interval),
                                  sleep=adapter._sleep, clock=adapter._clock, on_progress=on_event)
            if not outcome.visible and not outcome.already_loaded:
                self.settle_label(db, label, on_event)
        finally:
            Path(path).unlink(missing_ok=True)
        return total

    def _transient_error(self, exc: DatabaseError) -> bool:
        text = exc.message.lower()
        return is_table_busy(exc.message) or any(t in text for t in _TRANSIENT_TEXT)

    # --- backups ------------------------------------------------------------------------------
    def _check_repository(self, repository: str) -> None:
        rows = self.a.query_dicts("SHOW REPOSITORIES")
        names = {show_text(r.get("RepoName") or r.get("repoName")) for r in rows}
        if repository not in names:
            raise DatabaseError(
                f"backup repository {repository!r} does not exist",
                hint="Create it once (GCS through S3A): CREATE REPOSITORY "
                     f"{repository} WITH BROKER ON LOCATION \"s3a://<bucket>/<path>\" PROPERTIES "
                     "(\"fs.s3a.access.key\" = \"<HMAC key>\", \"fs.s3a.secret.key\" = \"<HMAC secret>\", "
                     "\"fs.s3a.endpoint\" = \"storage.googleapis.com\");")

    def backup_sql(self, req: BackupRequest, database: str) -> str:
        name = req.name(database)
        for what, value in (("database", database), ("snapshot", name), ("repository", req.repository or "")):
            if not _NAME_OK.match(value):
                raise ValueError(f"backup: {what} name {value!r} must be letters, digits and _")
        return (f"BACKUP SNAPSHOT {database}.{name} TO {req.repository} "
                f"PROPERTIES (\"type\" = \"full\", \"timeout\" = \"{max(1, int(req.timeout))}\")")

    def backup(self, req: BackupRequest, on_event: ProgressCallback = ignore_progress) -> list[BackupInfo]:
        if not req.repository:
            raise DatabaseError("backup: no repository configured ([jobs.backup] repository)")
        self._check_repository(req.repository)
        made = []
        for database in req.databases:
            self.a.execute(self.backup_sql(req, database))
            detail = self._wait_backup(req, database, on_event)
            made.append(BackupInfo(req.name(database), database, f"{req.repository}/{req.name(database)}", detail))
        return made

    def _wait_backup(self, req: BackupRequest, database: str, on_event: ProgressCallback) -> str:
        adapter: Any = self.a
        clock, sleep = adapter._clock, adapter._sleep
        deadline = clock() + req.timeout
        plan = PollSchedule.for_interval(req.poll_interval, adapter.poll_lateness).start(clock())
        name = req.name(database)
        while True:
            progress, state = None, ""
            rows = [r for r in self.a.query_dicts(f"SHOW BACKUP FROM {self.q(database)}")
                    if show_text(r.get("SnapshotName")) == name]
            if rows:
                row = rows[0]
                state = show_text(row.get("State")).upper()
                if state == "FINISHED":
                    on_event(f"backup {name}: FINISHED")
                    return f"finished {show_text(row.get('FinishedTime'))}"
                if state == "CANCELLED":
                    raise AsyncJobFailed(f"backup {name} of {database} was CANCELLED: {show_text(row.get('Status'))} "
                                         f"{show_text(row.get('TaskErrMsg'))}".strip(),
                                         hint=f"Inspect: SHOW BACKUP FROM {database}; fix the repository, then run again.")
                on_event(f"backup {name}: {state} {show_text(row.get('Progress'))}".rstrip())
                progress = parse_progress(show_text(row.get("Progress")))  # `[taskId: done/total], …`
            else:
                on_event(f"backup {name}: not listed yet")
            if clock() >= deadline:
                raise AsyncJobFailed(f"backup {name} of {database} did not finish within {req.timeout:g}s",
                                     hint=f"It keeps running on the server. Watch: SHOW BACKUP FROM {database}; "
                                          f"stop: CANCEL BACKUP FROM {database};")
            sleep(plan.next_wait(clock(), progress, job=state, deadline=deadline))

    def list_backups(self, req: BackupRequest, database: str) -> list[BackupInfo]:
        if not req.repository:
            return []
        prefix = f"rw_{database}_"
        rows = self.a.query_dicts(f"SHOW SNAPSHOT ON {req.repository}")
        names = sorted({show_text(r.get("Snapshot")) for r in rows if show_text(r.get("Snapshot")).startswith(prefix)})
        return [BackupInfo(n, database, f"{req.repository}/{n}") for n in names]

    def snapshot_path(self, req: BackupRequest, snapshot: str) -> str:
        """The snapshot's directory in the bucket (StarRocks' Repository.java layout); s3a:// shown as gs://."""
        location = (req.location or "").rstrip("/")
        if location.startswith("s3a://"):
            location = "gs://" + location[len("s3a://"):]
        return f"{location}/__starrocks_repository_{req.repository}/__ss_{snapshot}"

    def delete_backup(self, req: BackupRequest, info: BackupInfo) -> str:
        path = self.snapshot_path(req, info.name)
        if not req.delete_command or not req.location:
            return (f"kept {info.name}: StarRocks has no DROP SNAPSHOT; delete {path} from the bucket, or set "
                    "[jobs.backup] delete_command and location")
        argv = [part.replace("{path}", path) for part in req.delete_command]
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=min(req.timeout, 600))
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise DatabaseError(f"retention: {' '.join(argv)} failed: {exc}") from None
        if proc.returncode != 0:
            raise DatabaseError(f"retention: {' '.join(argv)} exited {proc.returncode}: {proc.stderr.strip()[:300]}")
        return f"deleted {path}"

