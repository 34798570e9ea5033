"""The shared watermark table (etl_watermark) and the job-run table (etl_job_run), over an adapter.

Columns are exactly those of migrations V10/V11. The watermark moves forward only (`advance`); only an
operator's `reset` moves it anywhere, and that is recorded as an etl_job_run row with status `reset`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, Sequence

from rockway.adapters.base import Adapter
from rockway.adapters.job_ops import JobOps
from rockway.clock import utcnow
from rockway.jobs.window import as_datetime, format_value, parse_value

WATERMARK_TABLE = "etl_watermark"
JOB_RUN_TABLE = "etl_job_run"
ERROR_BYTES = 2000


def _seconds(value: datetime | None) -> datetime | None:
    return value.replace(microsecond=0) if value is not None else None


def clip(text: str | None, limit: int = ERROR_BYTES) -> str | None:
    """Text cut to at most `limit` UTF-8 bytes (the column is VARCHAR(2000); StarRocks counts bytes)."""
    if text is None:
        return None
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode("utf-8", "ignore") + "..."


@dataclass(frozen=True)
class WatermarkRow:
    job_name: str
    source_name: str
    watermark_value: str
    watermark_type: str
    window_start: datetime | None
    window_end: datetime | None
    rows_loaded: int | None
    run_id: str | None
    updated_at: datetime

    def value(self) -> Any:
        return parse_value(self.watermark_type, self.watermark_value)


@dataclass
class JobRun:
    """One etl_job_run row."""

    run_id: str
    job_name: str
    pipeline: str | None
    started_at: datetime
    status: str = "running"  # running | success | failed | skipped | reset
    ended_at: datetime | None = None
    rows_read: int | None = None
    rows_written: int | None = None
    window_start: datetime | None = None
    window_end: datetime | None = None
    error_message: str | None = None
    trace_id: str | None = None
    host: str | None = None


_RUN_COLUMNS = tuple(f.name for f in fields(JobRun))
_RUN_ORDER = ("run_id", "job_name", "pipeline", "started_at", "ended_at", "status", "rows_read", "rows_written",
              "window_start", "window_end", "error_message", "trace_id", "host")
_WM_COLUMNS = tuple(f.name for f in fields(WatermarkRow))


class Store:
    """Reads and writes etl_watermark and etl_job_run in the ETL database."""

    def __init__(self, adapter: Adapter, ops: JobOps, etl_db: str) -> None:
        self.adapter, self.ops, self.etl_db = adapter, ops, etl_db

    def _table(self, name: str) -> str:
        return self.ops.qualified(self.etl_db, name)

    # --- watermarks ---------------------------------------------------------------------------
    def watermark(self, job: str, source: str) -> WatermarkRow | None:
        rows = self.adapter.query(
            f"SELECT {', '.join(_WM_COLUMNS)} FROM {self._table(WATERMARK_TABLE)} WHERE job_name = %s AND source_name = %s",
            (job, source))
        return WatermarkRow(*rows[0]) if rows else None

    def watermarks(self) -> list[WatermarkRow]:
        rows = self.adapter.query(f"SELECT {', '.join(_WM_COLUMNS)} FROM {self._table(WATERMARK_TABLE)} "
                                  "ORDER BY job_name, source_name")
        return [WatermarkRow(*r) for r in rows]

    def write_watermark(self, row: WatermarkRow) -> None:
        sql = self.ops.upsert_values_sql(self._table(WATERMARK_TABLE), _WM_COLUMNS, ("job_name", "source_name"))
        self.adapter.execute(sql, [getattr(row, c) if c not in ("window_start", "window_end", "updated_at")
                                   else _seconds(getattr(row, c)) for c in _WM_COLUMNS])

    def advance(self, job: str, source: str, kind: str, value: Any, *, lo: Any, hi: Any, rows: int | None,
                run_id: str, current: WatermarkRow | None | bool = False) -> tuple[Any, Any]:
        """Move the watermark to value unless it is already there or further; return (old, new).

        current: the stored row if the caller just read it (False: read it here)."""
        if current is False:
            current = self.watermark(job, source)
        assert current is None or isinstance(current, WatermarkRow)
        old = current.value() if current is not None else None
        if old is not None and value <= old:
            return old, old
        self.write_watermark(WatermarkRow(job, source, format_value(value), kind, as_datetime(lo), as_datetime(hi), rows,
                                          run_id, utcnow()))
        return old, value

    # --- job runs -----------------------------------------------------------------------------
    def record(self, run: JobRun) -> None:
        sql = self.ops.upsert_values_sql(self._table(JOB_RUN_TABLE), _RUN_ORDER, ("run_id",))
        values = []
        for c in _RUN_ORDER:
            v = getattr(run, c)
            if isinstance(v, datetime):
                v = _seconds(v)
            if c == "error_message":
                v = clip(v)
            values.append(v)
        self.adapter.execute(sql, values)

    def runs(self, job: str | None = None, *, limit: int = 200) -> list[JobRun]:
        where, params = ("WHERE job_name = %s ", (job,)) if job else ("", ())
        rows = self.adapter.query(f"SELECT {', '.join(_RUN_ORDER)} FROM {self._table(JOB_RUN_TABLE)} {where}"
                                  f"ORDER BY started_at DESC, run_id LIMIT {int(limit)}", params)
        return [JobRun(**dict(zip(_RUN_ORDER, r))) for r in rows]

    def done_windows(self, job: str) -> list[tuple[datetime | None, datetime | None, str | None]]:
        """(window_start, window_end, pipeline) of every successful run of job (backfill resumes past them:
        runner.chunk_done)."""
        rows = self.adapter.query(f"SELECT window_start, window_end, pipeline FROM {self._table(JOB_RUN_TABLE)} "
                                  "WHERE job_name = %s AND status = 'success'", (job,))
        return [(_seconds(r[0]), _seconds(r[1]), r[2]) for r in rows]

    def finished_runs(self, job: str) -> list[tuple[str, datetime | None, datetime | None]]:
        """(status, window_start, window_end) of every `success` or `failed` run of job, newest first (what the
        upstream rule of jobs/upstream.py reads)."""
        rows = self.adapter.query(f"SELECT status, window_start, window_end FROM {self._table(JOB_RUN_TABLE)} "
                                  "WHERE job_name = %s AND status IN ('success', 'failed') "
                                  "ORDER BY started_at DESC, ended_at DESC", (job,))
        return [(str(r[0]), r[1], r[2]) for r in rows]


def window_key(lo: Any, hi: Any) -> tuple[datetime | None, datetime | None]:
    """How a window's bounds are stored in etl_job_run (DATETIME, whole seconds)."""
    return _seconds(as_datetime(lo)), _seconds(as_datetime(hi))


def run_columns() -> Sequence[str]:
    return _RUN_ORDER
