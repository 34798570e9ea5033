"""When to ask a StarRocks server again about a job it runs in the background. Pure: no I/O, no clock.

Every wait loop of the StarRocks adapter (adapters/starrocks/async_jobs.py, jobs.py) starts a `PollPlan` when it
begins waiting and, after each answer, asks it how long to sleep before the next poll. The loops poll once as soon
as the statement is answered (a job may be done already); then:

- **first wait and floor**: `poll_interval` (1 s by default), while 5% of the time waited is shorter (20 s);
- **backoff**: never longer than `max(floor, 5% of the time waited so far)`. Whatever a job's progress says, it may
  end right after a poll (its last tablets may be empty, it may be cancelled), so this is the longest wait that still
  sees a job ending at D seconds within max(floor, 5% D). It is also the least polling that can promise this, with
  or without progress: about 20 polls for the first 20 floors, then ln(D / 20 floor) / ln(1.05) more (~127 for an
  hour with a 1 s floor; tests/unit/test_poll_schedule.py checks that bound);
- **cap**: 600 s, reached after 3 h 20 min of waiting;
- **earlier when the progress predicts the finish sooner** (SHOW ALTER TABLE's `done/total`, task_runs' `NN%`,
  SHOW BACKUP's `[taskId: done/total], …`; rows recorded in tests/support/starrocks_replay.py): the rate since the
  job was last seen without progress gives an estimated finish, and the next poll is aimed at it. An honest estimate
  is then seen at once instead of up to 5% late; a wrong one costs a poll, never lateness, and at most AIMS waits of
  a job are shortened so.

Every wait is within [floor, cap] and, when a deadline is given, ends at the deadline at the latest (but is never
shorter than the floor). bench/bench_poll_schedule.py measures notice delays and poll counts; the README's
"StarRocks specifics" section states the schedule for users.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rockway.config import MAX_POLL_LATENESS

# The target: notice a finished job within max(floor, LATENESS × its duration).
LATENESS = 0.05
# Longest wait between two polls: past cap / LATENESS (3 h 20 min) of waiting, polls come every cap seconds.
DEFAULT_CAP = 600.0
# Waits shortened by an estimate, per job: an estimate can be wrong every time (a job that slows down near its end),
# so the polls guidance adds are bounded.
AIMS = 3

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
    """`18/48` (SHOW ALTER TABLE), `50%` (task_runs PROGRESS), `[1001: 3/10], [1002: 5/10]` (SHOW BACKUP /
    SHOW RESTORE: the steps of all tasks added up); None for `NULL`, '' or anything else."""
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
        if not 0 < self.lateness <= MAX_POLL_LATENESS:
            raise ValueError(f"poll lateness must be above 0 and at most {MAX_POLL_LATENESS:g}, got {self.lateness!r}")

    @classmethod
    def for_interval(cls, poll_interval: float, lateness: float = LATENESS) -> "PollSchedule":
        """The schedule of the `poll_interval` setting (the floor: the shortest wait, and the first one) and the
        `poll_lateness` setting (fewer polls for a later notice: ~60 for an hour-long job at 0.13)."""
        floor = max(float(poll_interval), 0.001)
        return cls(floor=floor, cap=max(DEFAULT_CAP, floor), lateness=float(lateness))

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
        self._step_due = 0.0  # when the next step was then expected (0: no estimate stands)
        self._step = 0.0  # seconds one step then took
        self._aims = 0  # waits of this job the estimate shortened

    def next_wait(self, now: float, progress: Progress | None = None, *, job: object = None,
                  deadline: float | None = None) -> float:
        """Seconds to sleep before the next poll, given the progress the poll at `now` saw (None: none usable).

        `job` names what the progress belongs to (a JobId, a QUERY_ID): when it changes, the rate is measured anew.
        """
        s = self.schedule
        # Any job may end right after this poll: waiting longer than this could see it more than `lateness` late.
        longest = max(s.floor, s.lateness * max(0.0, now - self.started))
        if job != self._job:  # it appeared after the previous poll
            self._job, self._anchor, self._seen, self._step_due, self._aims = job, self._previous, 0.0, 0.0, 0
        aim = longest
        if progress is None:
            self._anchor, self._seen, self._step_due = now, 0.0, 0.0  # it runs (and has a rate) only after now
        elif progress.fraction < self._seen:  # went backwards: measure the rate anew (the job keeps its aims spent)
            self._anchor, self._seen, self._step_due = self._previous, progress.fraction, 0.0
        elif progress.fraction > self._seen and now > self._anchor:
            self._seen = progress.fraction
            aim = self._estimate(now, progress)
        elif now < self._step_due + self._step:  # not moved, but not a step late yet: the estimate stands
            aim = self._aim(now)
        self._previous = now
        wait = longest
        if aim < longest and self._aims < AIMS:
            wait, self._aims = aim, self._aims + 1
        wait = min(max(wait, s.floor), s.cap)
        if deadline is not None:
            wait = min(wait, max(s.floor, deadline - now))
        return wait

    def _estimate(self, now: float, progress: Progress) -> float:
        """The progress advanced: estimate the finish from the rate since the anchor, then aim at it."""
        done = progress.estimate
        if done >= 1.0:
            self._step_due = 0.0
            return self.schedule.floor  # every step is done: the job is finishing now
        rate = done / (now - self._anchor)
        self._finish = now + (1.0 - done) / rate
        self._step = 1.0 / progress.total / rate
        self._step_due = self._anchor + min(1.0, (progress.done + 1) / progress.total) / rate
        return self._aim(now)

    def _aim(self, now: float) -> float:
        remaining = self._finish - now
        # Past the estimated finish: look again within a quarter step (until a step late, then the bound alone).
        return remaining if remaining > 0 else self._step / 4
