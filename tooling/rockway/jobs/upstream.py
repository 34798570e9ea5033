"""The upstream rule: a job loads a window only after every job it depends on (depends_on) has completed it.

Completed means what runner.run_job records as `success`: loaded, and no CRITICAL check failed. For an
upstream job U and a window W of the job about to run (compared on U's watermark line, window.in_kind):
  - a failed run of U that overlaps W is a hole unless successful runs of U cover that part;
  - U's watermark has reached W's end, or successful runs of U cover W.
A backfill chunk is recorded done and skipped by every later backfill (api.backfill), so it needs its last day
whole: a datetime upstream at or past 23:59:59 of it (`whole_days`). An incremental run re-reads its lookback
on the next run, so there the last day of a date window counts once a datetime upstream has reached that day:
the evening loads the dimensions and the next morning the facts of that day (cron.d/rockway).
An upstream without comparable windows (mode full, or an integer watermark beside a date one) counts by its
newest run. A job without depends_on is not affected.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Mapping

from rockway.jobs.spec import JobSpec
from rockway.jobs.store import Store
from rockway.jobs.window import Window, covers, format_value, in_kind, overlap, reaches, stored_bound


@dataclass(frozen=True)
class Gap:
    """An upstream job that has not completed the window: why, and what to run first."""

    upstream: str
    why: str
    command: str


def upstream_gaps(spec: JobSpec, window: Window, specs: Mapping[str, JobSpec], store: Store, *, whole_days: bool,
                  env_name: str | None = None) -> list[Gap]:
    """The upstream jobs of spec that have not completed window (none for a job without depends_on)."""
    gaps = []
    for name in spec.depends_on:
        upstream = specs.get(name)
        if upstream is None:  # not a job of this project (the spec validator reports unknown names)
            continue
        why, hole = _gap(upstream, window, store, whole_days)
        if why is not None:
            gaps.append(Gap(name, why, _command(upstream, window, backfill=whole_days or hole, env_name=env_name)))
    return gaps


def describe(spec: JobSpec, window: Window, gaps: list[Gap]) -> str:
    """The error of a refused window: each upstream job, its coverage, and the command to run first."""
    parts = "; ".join(f"upstream {g.upstream} has not completed it: {g.why}" for g in gaps)
    first = "; ".join(g.command for g in gaps)
    return f"window {window.describe()} not loaded: {parts}. Run first: {first}"


def _gap(upstream: JobSpec, window: Window, store: Store, whole_days: bool) -> tuple[str | None, bool]:
    """(why upstream has not completed window or None, whether the reason is a failed run's hole)."""
    wm = upstream.watermark
    kind = wm.type if wm is not None and upstream.mode == "incremental" else None
    need = in_kind(window, kind) if kind is not None and window.hi is not None else None
    runs = store.finished_runs(upstream.name)
    if kind is None or need is None:
        newest = runs[0][0] if runs else None
        return (None, False) if newest == "success" else \
            ("it has no successful run" if newest is None else "its newest run failed", False)
    spans = [(stored_bound(kind, a), stored_bound(kind, b)) for status, a, b in runs if status == "success"]
    for status, a, b in runs:
        if status != "failed" or b is None:
            continue
        lo, hi = stored_bound(kind, a), stored_bound(kind, b)
        part = overlap(lo, hi, need.lo, need.hi)
        if part is not None and not covers(spans, *part):
            return f"its run over {Window(kind, lo, hi).describe()} failed and no successful run covers that part", True
    row = store.watermark(upstream.name, upstream.source)
    value = row.value() if row is not None else None
    if reaches(kind, value, window, whole_days=whole_days) or covers(spans, need.lo, need.hi):
        return None, False
    have = f"its watermark is {format_value(value)}" if value is not None else "it has no watermark yet"
    if not whole_days and kind == "datetime" and window.kind == "date":
        return f"{have}, the window needs {window.hi.isoformat()} 00:00:00 or later", False
    return f"{have}, the window needs {format_value(need.hi)} or later", False


def _command(upstream: JobSpec, window: Window, *, backfill: bool, env_name: str | None) -> str:
    """`rockway job backfill U --from … --to …` over the window's days, or `rockway job run U`."""
    env = f" --env {env_name}" if env_name else ""
    days = _days(window)
    kind = upstream.watermark.type if upstream.watermark is not None else None
    if backfill and days is not None and kind in ("date", "datetime") and upstream.mode == "incremental":
        first, last = days
        return f"rockway job backfill {upstream.name} --from {first.isoformat()} --to {last.isoformat()}{env}"
    return f"rockway job run {upstream.name}{env}"


def _days(window: Window) -> tuple[Any, Any] | None:
    """The first and last day of a date or datetime window (a datetime bound of 23:59:59 ends its day)."""
    if window.lo is None or window.hi is None:
        return None
    if window.kind == "date":
        return window.lo + timedelta(days=1), window.hi
    if window.kind == "datetime":
        return (window.lo + timedelta(seconds=1)).date(), window.hi.date()
    return None
