"""When to ask a StarRocks server again about a job it runs in the background. Pure: no I/O, no clock.

Every wait loop of the StarRocks adapter (`starrocks.py`, `starrocks_jobs.py`) starts a `PollPlan` when it begins
waiting and, after each answer, asks it how long to sleep before the next poll:

- **blind** (the answer carries no usable progress: the job is PENDING / WAITING_TXN, Progress is `NULL` or
  `0/N`, the statement was refused because the table is busy, or the progress is a whole step later than
  estimated): wait `max(floor, 5% of the time waited so far)`. A job that ends at D seconds is then seen at most
  max(floor, 5% D) late, at the cost of about 1/5% + ln(D / 20 floor) / ln(1.05) polls (~126 for an hour with a
  1 s floor).
- **guided** (the progress advanced: SHOW ALTER TABLE's `done/total`, task_runs' `NN%`, SHOW BACKUP's
  `[taskId: done/total], …`; starrocks-responses.md §2, §3, §4): the rate since the job was last seen without
  progress gives an estimated finish. When it is within the allowed lateness the next poll is aimed at it;
  otherwise the plan waits half of the estimated remaining time, never longer than the time waited so far. An
  estimate that is too late costs a poll; progress that promises more time than the job needs can make the
  notice late by up to the last wait. An hour of linear progress over 48 tablets takes ~60 polls (most of them
  before the first tablet is done), over 1,000 tablets ~22.

Every wait is within [floor, cap] and, when a deadline is given, ends at the deadline at the latest (but is never
shorter than the floor). bench/bench_poll_schedule.py measures notice delays and poll counts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# The target: notice a finished job within max(floor, LATENESS × its duration).
LATENESS = 0.05
# Longest wait between two polls, whatever the progress says: bounds how late a failure (CANCELLED, FAILED) or a
# job that ends far earlier than its progress promised is seen.
DEFAULT_CAP = 600.0

_FRACTION = re.compile(r"(\d+)\s*/\s*(\d+)")
_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")


@dataclass(frozen=True)
class Progress:
    """How far a job is: `done` of `total` steps (tablets, percent points, backup tasks)."""

    done: float
    total: float

    @property
    def fraction(self) -> float:
        return min(1.0, max(0.0, self.done / self.total))

    @property
    def estimate(self) -> float:
        """The fraction in the middle of the current step: `18/48` may mean anything from 18 to just under 19."""
        return min(1.0, (self.done + 0.5) / self.total) if self.done < self.total else 1.0


def parse_progress(text: str | None) -> Progress | None:
    """`18/48` (SHOW ALTER TABLE, §2), `50%` (task_runs PROGRESS, §3), `[1001: 3/10], [1002: 5/10]` (SHOW BACKUP /
    SHOW RESTORE, §4: the steps of all tasks added up); None for `NULL`, '' or anything else."""
    if not text:
        return None
    percent = _PERCENT.match(text)
    if percent:
        return Progress(float(percent.group(1)), 100.0)
    pairs = _FRACTION.findall(text)
    total = sum(int(t) for _, t in pairs)
    if not pairs or total <= 0:
        return None
    return Progress(float(sum(int(d) for d, _ in pairs)), float(total))


@dataclass(frozen=True)
class PollSchedule:
    """The schedule's bounds: never wait less than `floor` nor more than `cap` seconds between polls."""

    floor: float = 1.0
    cap: float = DEFAULT_CAP
    lateness: float = LATENESS

    def __post_init__(self) -> None:
        if not self.floor > 0:
            raise ValueError(f"poll floor must be above 0 seconds, got {self.floor!r}")
        if self.cap < self.floor:
            raise ValueError(f"poll cap ({self.cap!r}s) is below the floor ({self.floor!r}s)")

    @classmethod
    def for_interval(cls, poll_interval: float) -> "PollSchedule":
        """The schedule of the `poll_interval` setting: it is the floor (the shortest wait, and the first one)."""
        floor = max(float(poll_interval), 0.001)
        return cls(floor=floor, cap=max(DEFAULT_CAP, floor))

    def start(self, now: float) -> "PollPlan":
        return PollPlan(self, now)


class PollPlan:
    """The waits of one wait loop; `next_wait` is told what the last poll saw."""

    def __init__(self, schedule: PollSchedule, started: float) -> None:
        self.schedule = schedule
        self.started = started
        self._anchor = started  # the job was last seen not yet running (or the wait began) here
        self._seen = 0.0  # the progress fraction last seen since the anchor
        self._job: object = None
        self._previous = started  # when next_wait was last asked
        self._finish = 0.0  # estimated when the progress last advanced
        self._step_due = 0.0  # when the next step was then expected
        self._step = 0.0  # seconds one step then took

    def next_wait(self, now: float, progress: Progress | None = None, *, job: object = None,
                  deadline: float | None = None) -> float:
        """Seconds to sleep before the next poll, given the progress the poll at `now` saw (None: none usable).

        `job` names what the progress belongs to (a JobId, a QUERY_ID): when it changes, the rate is measured anew.
        """
        s = self.schedule
        elapsed = max(0.0, now - self.started)
        blind = max(s.floor, s.lateness * elapsed)
        if job != self._job:  # it appeared after the previous poll
            self._job, self._anchor, self._seen, self._step_due = job, self._previous, 0.0, 0.0
        wait = blind
        if progress is None:
            self._anchor, self._seen, self._step_due = now, 0.0, 0.0  # it runs (and has a rate) only after now
        elif progress.fraction < self._seen:  # went backwards: another run of the task
            self._anchor, self._seen, self._step_due = self._previous, progress.fraction, 0.0
        elif progress.fraction > self._seen and now > self._anchor:
            self._seen = progress.fraction
            wait = self._estimate(now, progress, elapsed, blind)
        elif now < self._step_due + self._step:  # not moved, but not a step late yet: the estimate stands
            wait = self._aim(now, elapsed, blind)
        self._previous = now
        wait = min(max(wait, s.floor), s.cap)
        if deadline is not None:
            wait = min(wait, max(s.floor, deadline - now))
        return wait

    def _estimate(self, now: float, progress: Progress, elapsed: float, blind: float) -> float:
        """The progress advanced: estimate the finish from the rate since the anchor, then aim."""
        done = progress.estimate
        if done >= 1.0:
            self._step_due = 0.0
            return self.schedule.floor  # every step is done: the job is finishing now
        rate = done / (now - self._anchor)
        self._finish = now + (1.0 - done) / rate
        self._step = 1.0 / progress.total / rate
        self._step_due = self._anchor + min(1.0, (progress.done + 1) / progress.total) / rate
        return self._aim(now, elapsed, blind)

    def _aim(self, now: float, elapsed: float, blind: float) -> float:
        remaining = self._finish - now
        if remaining <= 0:  # the estimated finish has passed: look again within a quarter step
            return min(blind, self._step / 4)
        allowed = max(self.schedule.floor, self.schedule.lateness * (elapsed + remaining))
        if remaining <= allowed:
            return remaining  # aim at the estimated finish
        # Far from the end: halve the distance, but never more than double the time waited so far (an estimate made
        # from one early step can be far off).
        return min(max(allowed, remaining / 2), max(blind, elapsed))
