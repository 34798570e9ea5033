"""Retries with exponential backoff and jitter, for transient errors only."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Callable, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """attempts in total; the n-th retry waits about initial_delay * 2**(n-1), capped at max_delay.

    Jitter ("equal jitter"): the wait is drawn uniformly from [cap/2, cap], so runs that failed together
    do not come back together, and no wait is shorter than half the nominal one.
    """

    attempts: int = 4
    initial_delay: float = 1.0
    max_delay: float = 60.0

    def delay(self, retry: int, rand: Callable[[], float] = random.random) -> float:
        """Seconds to wait before retry number `retry` (1-based)."""
        cap = min(self.max_delay, self.initial_delay * (2 ** max(0, retry - 1)))
        return cap / 2 + rand() * cap / 2


def retrying(fn: Callable[[int], T], policy: RetryPolicy, is_transient: Callable[[BaseException], bool], *,
             on_retry: Callable[[int, BaseException, float], None] | None = None,
             sleep: Callable[[float], None] = time.sleep, rand: Callable[[], float] = random.random) -> T:
    """Call fn(attempt) until it returns; retry transient errors up to policy.attempts; re-raise the rest at once."""
    attempt = 1
    while True:
        try:
            return fn(attempt)
        except Exception as exc:  # noqa: BLE001 - classified below; anything permanent propagates unchanged
            if attempt >= policy.attempts or not is_transient(exc):
                raise
            wait = policy.delay(attempt, rand)
            if on_retry is not None:
                on_retry(attempt, exc, wait)
            sleep(wait)
            attempt += 1
