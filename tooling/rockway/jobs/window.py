"""Watermark values, load windows `(lo, hi]`, backfill chunks and the labels derived from them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

WATERMARK_TYPES = ("datetime", "date", "integer")
_SAFE = re.compile(r"[^A-Za-z0-9_]")


def parse_value(kind: str, value: Any) -> Any:
    """A watermark value of `kind` from text (or a value of that type); ValueError when it does not parse."""
    if value is None:
        raise ValueError("no value")
    if kind == "datetime":
        if isinstance(value, datetime):
            return value.replace(tzinfo=None)
        if isinstance(value, date):
            return datetime(value.year, value.month, value.day)
        text = str(value).strip().replace("T", " ")
        if text.endswith("Z"):
            text = text[:-1]
        return datetime.fromisoformat(text).replace(tzinfo=None)
    if kind == "date":
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        return date.fromisoformat(str(value).strip())
    if kind == "integer":
        if isinstance(value, bool):
            raise ValueError(value)
        return int(str(value).strip())
    raise ValueError(f"unknown watermark type {kind!r}")


def previous_business_day(as_of: datetime, time_zone: str) -> tuple[date, date]:
    """[start, end) of the day before as_of (naive UTC) in time_zone ([jobs] business_time_zone): "yesterday"."""
    from zoneinfo import ZoneInfo

    today = as_of.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(time_zone)).date()
    return today - timedelta(days=1), today


def format_value(value: Any) -> str:
    """The text stored in etl_watermark.watermark_value (microseconds kept)."""
    if isinstance(value, datetime):
        return value.isoformat(" ", "microseconds")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def as_datetime(value: Any) -> datetime | None:
    """A bound as DATETIME for etl_job_run / etl_watermark window columns (None for integers)."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    return None


def shift(kind: str, value: Any, lookback: Any) -> Any:
    """value moved back by the lookback (timedelta for datetime/date, a count for integer)."""
    if lookback is None:
        return value
    if kind == "integer":
        return value - int(lookback)
    if kind == "date":
        return value - timedelta(days=lookback.days)
    return value - lookback


@dataclass(frozen=True)
class Window:
    """Rows whose watermark column is in (lo, hi]; lo None = from the beginning, both None = everything."""

    kind: str
    lo: Any = None
    hi: Any = None

    @property
    def full(self) -> bool:
        return self.lo is None and self.hi is None

    @property
    def empty(self) -> bool:
        return self.lo is not None and self.hi is not None and self.hi <= self.lo

    def token(self) -> str:
        """Compact text of the window for labels: `20260101T000000_20260102T000000`, `all` when full."""
        return f"{_token(self.lo)}_{_token(self.hi)}" if not self.full else "all"

    def describe(self) -> str:
        if self.full:
            return "all rows"
        lo = "-inf" if self.lo is None else _short(self.lo)
        hi = "+inf" if self.hi is None else _short(self.hi)
        return f"({lo}, {hi}]"

    def days(self) -> list[date]:
        """The days of a date window, oldest first."""
        assert self.kind == "date" and self.lo is not None and self.hi is not None
        return [self.lo + timedelta(days=i) for i in range(1, (self.hi - self.lo).days + 1)]


def _short(value: Any) -> str:
    if isinstance(value, datetime) and not value.microsecond:
        return value.isoformat(" ", "seconds")
    return format_value(value)


def _token(value: Any) -> str:
    if value is None:
        return "min"
    if isinstance(value, datetime):
        text = value.strftime("%Y%m%dT%H%M%S")
        return text + (f"{value.microsecond:06d}" if value.microsecond else "")
    if isinstance(value, date):
        return value.strftime("%Y%m%d")
    return _SAFE.sub("_", str(value))


def job_label(job: str, window: Window) -> str:
    """The deterministic label of (job, window): `rw_<job>_<lo>_<hi>` (a retry of the window reuses it)."""
    return _SAFE.sub("_", f"rw_{job}_{window.token()}")


def chunks(kind: str, first: date, last: date, unit: str) -> list[Window]:
    """Windows covering the days first..last (inclusive) by day or calendar month.

    date watermarks: (day before the chunk, last day of the chunk]. datetime watermarks: whole-second bounds,
    (start − 1 s, next start − 1 s], so consecutive chunks meet exactly and each row falls into one chunk.
    """
    if last < first:
        raise ValueError("--to is before --from")
    out = []
    start = first
    while start <= last:
        if unit == "day":
            end = start
        elif unit == "month":
            nxt = date(start.year + (start.month == 12), start.month % 12 + 1, 1)
            end = min(last, nxt - timedelta(days=1))
        else:
            raise ValueError(f"unknown chunk {unit!r} (day or month)")
        if kind == "date":
            out.append(Window("date", start - timedelta(days=1), end))
        elif kind == "datetime":
            lo = datetime(start.year, start.month, start.day) - timedelta(seconds=1)
            hi = datetime(end.year, end.month, end.day) + timedelta(days=1) - timedelta(seconds=1)
            out.append(Window("datetime", lo, hi))
        else:
            raise ValueError(f"a backfill needs a date or datetime watermark, not {kind}")
        start = end + timedelta(days=1)
    return out


# --- comparing windows across watermark kinds (the upstream rule of jobs/upstream.py) ---------------------
def in_kind(window: Window, kind: str) -> Window | None:
    """The rows `window` needs, as a window on a `kind` watermark line; None when the kinds cannot be compared.

    Day d of a date window is (d−1 23:59:59, d 23:59:59] on a datetime line (the bounds chunks() gives a
    backfill day); a datetime window (lo, hi] needs the days lo.date()..hi.date() of a date line."""
    if window.kind == kind:
        return window
    if {window.kind, kind} != {"date", "datetime"}:
        return None
    if kind == "datetime":
        return Window(kind, _day_end(window.lo), _day_end(window.hi))
    return Window(kind, None if window.lo is None else window.lo.date() - timedelta(days=1),
                  None if window.hi is None else window.hi.date())


def _day_end(day: date | None) -> datetime | None:
    return None if day is None else datetime(day.year, day.month, day.day) + timedelta(days=1, seconds=-1)


def stored_bound(kind: str, value: datetime | None) -> Any:
    """A window bound as etl_job_run stores it (DATETIME) back as a `kind` value (None for integer windows)."""
    return None if value is None or kind == "integer" else parse_value(kind, value)


def reaches(kind: str, value: Any, window: Window, *, whole_days: bool) -> bool | None:
    """Whether a `kind` watermark at value has reached the end of window; None when the kinds cannot be compared.

    whole_days False: the last day of a date window counts as reached once a datetime watermark is inside that
    day (value.date() >= hi) rather than at its last second."""
    need = in_kind(window, kind)
    if need is None or need.hi is None:
        return None
    if value is None:
        return False
    if not whole_days and kind == "datetime" and window.kind == "date":
        return bool(value.date() >= window.hi)
    return bool(value >= need.hi)


def overlap(a: Any, b: Any, lo: Any, hi: Any) -> tuple[Any, Any] | None:
    """(a, b] ∩ (lo, hi] as (start, end), None when empty; None bounds are open ends."""
    start = a if lo is None else lo if a is None else max(a, lo)
    end = b if hi is None else hi if b is None else min(b, hi)
    return None if start is not None and end is not None and end <= start else (start, end)


def covers(spans: Any, lo: Any, hi: Any) -> bool:
    """Whether the union of the (a, b] spans covers (lo, hi]. From the beginning (lo None) or to the end
    (hi None) is never covered: runs record bounded windows."""
    if lo is None or hi is None:
        return False
    reach = lo
    for a, b in sorted(((a, b) for a, b in spans if b is not None),
                       key=lambda s: (s[0] is not None, s[0] if s[0] is not None else 0)):
        if a is not None and a > reach:
            break  # spans are in start order: nothing later closes this hole
        reach = max(reach, b)
        if reach >= hi:
            return True
    return bool(reach >= hi)
