"""Durations as written in job specs, check files, jobs.toml and MV declarations, and as shown to people.

One grammar for every file: a number of seconds (`90`, `1.5`, or a YAML/TOML number), or amounts with units
in the order days, hours, minutes, seconds: `90s`, `15m`, `2h`, `1.5d`, `1d12h`, `1h 30m`; units are
d, h, m or min, s or sec, in any case.
"""

from __future__ import annotations

import math
import re

__all__ = ["parse_duration", "positive_duration", "format_duration"]

_NUMBER = r"(\d+(?:\.\d+)?)"
_SECONDS = re.compile(rf"^{_NUMBER}$")
_AMOUNTS = re.compile(rf"^(?:{_NUMBER}\s*d)?\s*(?:{_NUMBER}\s*h)?\s*(?:{_NUMBER}\s*(?:min|m))?\s*(?:{_NUMBER}\s*(?:sec|s))?$")
_UNIT_SECONDS = (86400, 3600, 60, 1)


def parse_duration(value: object) -> float:
    """Seconds of a duration (see the module docstring), zero or more; ValueError otherwise."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"duration {value!r} must be a number of seconds, zero or more")
        return float(value)
    text = str(value).strip().lower() if isinstance(value, str) else ""
    if _SECONDS.match(text):
        return float(text)
    match = _AMOUNTS.match(text)
    if not text or not match or not any(match.groups()):
        raise ValueError(f"duration {value!r} is not a number of seconds or a duration like 90s, 15m, 2h, 1d12h")
    return sum(float(amount) * unit for amount, unit in zip(match.groups(), _UNIT_SECONDS) if amount)


def positive_duration(value: object) -> float:
    """Seconds of a duration that must be more than zero (a limit, an interval); ValueError otherwise."""
    seconds = parse_duration(value)
    if seconds <= 0:
        raise ValueError(f"duration {value!r} must be positive")
    return seconds


def format_duration(seconds: float | None) -> str:
    """'2h 05m', '4m 10s', '12s'; '' for None."""
    if seconds is None:
        return ""
    s = int(round(seconds))
    sign, s = ("-", -s) if s < 0 else ("", s)
    days, rest = divmod(s, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{sign}{days}d {hours:02d}h"
    if hours:
        return f"{sign}{hours}h {minutes:02d}m"
    if minutes:
        return f"{sign}{minutes}m {secs:02d}s"
    return f"{sign}{secs}s"
