"""What a backfill chunk reads (runner.backfill_read) and when a backfill skips it as done (runner.chunk_done), for
the jobs of jobs/, as invariants over generated stored watermarks and chunks: a chunk that moves the watermark leaves
no late row of the old watermark's lookback to a run that will not read it, and what it records is recognised as
done by a resumed backfill (the same on the real jobs over MariaDB: tests/mariadb/test_jobs_backfill_lookback.py)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from rockway.jobs.runner import BACKFILL, backfill_read, chunk_done
from rockway.jobs.spec import load_specs
from rockway.jobs.store import window_key
from rockway.jobs.window import Window
from tests.support.paths import REPO_ROOT

SPECS, PROBLEMS = load_specs(REPO_ROOT / "jobs", ["erp", "warehouse"], REPO_ROOT)
BASE = datetime(2026, 3, 1)


def _at(kind: str, n: int) -> Any:
    """The n-th step of a watermark line: hours on a datetime line, days on a date line."""
    return BASE + timedelta(hours=n) if kind == "datetime" else BASE.date() + timedelta(days=n)


def _inside(kind: str, lo: Any, hi: Any) -> list[Any]:
    """Points of (lo, hi] that decide coverage on a line of whole steps (a half step in, or each day)."""
    if kind == "date":
        return [lo + timedelta(days=i) for i in range(1, (hi - lo).days + 1)]
    return [lo + timedelta(minutes=30 + 60 * i) for i in range(int((hi - lo) / timedelta(hours=1)))]


@given(st.sampled_from(sorted(SPECS)), st.none() | st.integers(0, 60), st.integers(0, 60), st.integers(1, 30))
def test_a_chunk_that_moves_the_watermark_reads_the_lookback_before_it(job: str, stored_at: int | None, start: int,
                                                                       length: int) -> None:
    """Invariant: the chunk is read whole; when it moves the watermark from W to its end E (it starts at or
    before W, ends after it), every change time in (W − lookback, E], which the incremental run after W would
    have read, is read by the chunk or by the next run's lookback (E − lookback, E], and nothing before
    W − lookback is added; otherwise the chunk is read as it is."""
    assert not PROBLEMS
    spec = SPECS[job]
    assert spec.watermark is not None and spec.watermark.lookback
    kind, lookback = spec.watermark.type, spec.watermark.lookback
    chunk = Window(kind, _at(kind, start), _at(kind, start + length))
    stored = None if stored_at is None else _at(kind, stored_at)
    read = backfill_read(spec, chunk, stored)
    assert read.kind == kind and read.hi == chunk.hi and read.lo <= chunk.lo
    if stored is None or not chunk.lo <= stored < chunk.hi:
        assert read == chunk
        return
    owed_from = stored - lookback if kind == "datetime" else stored - timedelta(days=lookback.days)
    next_from = chunk.hi - lookback if kind == "datetime" else chunk.hi - timedelta(days=lookback.days)
    lost = [p for p in _inside(kind, owed_from, chunk.hi) if not read.lo < p <= read.hi and not next_from < p]
    assert not lost, f"{job}: chunk {chunk.describe()} from {stored} reads {read.describe()}, loses {lost[:3]}"
    assert read.lo == min(chunk.lo, owed_from)


def test_the_shrunk_simulation_example() -> None:
    """tests/mariadb/test_jobs_backfill_lookback.py's first scenario: staging at midnight, a day backfill of 03-02."""
    chunk = Window("datetime", datetime(2026, 3, 1, 23, 59, 59), datetime(2026, 3, 2, 23, 59, 59))
    read = backfill_read(SPECS["stg_billing_item"], chunk, datetime(2026, 3, 2))
    assert read == Window("datetime", datetime(2026, 3, 1, 22, 0, 0), chunk.hi)
    days = Window("date", date(2026, 3, 5), date(2026, 3, 6))  # fact_sales: 3 days before 03-05
    assert backfill_read(SPECS["fact_sales"], days, date(2026, 3, 5)) == Window("date", date(2026, 3, 2), days.hi)
    assert backfill_read(SPECS["fact_sales"], days, date(2026, 3, 6)) == days  # already there: no move, no re-read


@given(st.sampled_from(sorted(SPECS)), st.none() | st.integers(0, 60), st.integers(0, 60), st.integers(1, 30))
def test_what_a_chunk_records_is_done_for_a_resumed_backfill(job: str, stored_at: int | None, start: int,
                                                             length: int) -> None:
    """Invariant: the window a successful chunk records (what it read) makes a resumed backfill skip that chunk and
    no other: not the chunk before or after it, and not the same chunk recorded by an incremental run."""
    spec = SPECS[job]
    assert spec.watermark is not None
    kind = spec.watermark.type
    chunk = Window(kind, _at(kind, start), _at(kind, start + length))
    read = backfill_read(spec, chunk, None if stored_at is None else _at(kind, stored_at))
    recorded = [(*window_key(read.lo, read.hi), BACKFILL)]
    assert chunk_done(spec, chunk, recorded)
    for other in (Window(kind, _at(kind, start + length), _at(kind, start + 2 * length)),
                  Window(kind, _at(kind, start - length), _at(kind, start))):
        assert not chunk_done(spec, other, recorded), (chunk, read, other)
    assert chunk_done(spec, chunk, [(*window_key(read.lo, read.hi), "morning")]) == (read == chunk)


def test_a_longer_chunk_of_an_earlier_backfill_does_not_make_a_day_done() -> None:
    """A day backfilled again after a source correction is loaded again when an earlier backfill loaded it inside a
    longer chunk (its start more than one lookback before the day), as it was before chunks recorded their lookback."""
    month = [(*window_key(date(2026, 2, 28), date(2026, 3, 31)), BACKFILL)]
    assert not chunk_done(SPECS["fact_sales"], Window("date", date(2026, 3, 30), date(2026, 3, 31)), month)
    assert chunk_done(SPECS["fact_sales"], Window("date", date(2026, 2, 28), date(2026, 3, 31)), month)
