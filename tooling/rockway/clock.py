"""The one reading of the clock that rockway stores: UTC, naive (the tables hold UTC in DATETIME columns)."""

from __future__ import annotations

from datetime import datetime, timezone

__all__ = ["utcnow"]


def utcnow() -> datetime:
    """Now in UTC, without tzinfo, to the microsecond."""
    return datetime.now(timezone.utc).replace(tzinfo=None)
