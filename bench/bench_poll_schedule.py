#!/usr/bin/env python3
"""How promptly, and with how many SHOW statements, rockway notices that a StarRocks job has finished.

    python bench/bench_poll_schedule.py [--tablets 48] [--durations 1,10,60,600,3600,21600]

No server and no real time: the real `StarRocksAdapter.run_statement` runs against a small simulated FE on a
simulated clock (the adapter's `_clock` / `_sleep` seams), which answers in the recorded formats of
tests/starrocks_replay.py (SHOW ALTER TABLE rows, task_runs rows, the "schema change operation is in progress"
refusal). For every job it prints the notice delay (the job's finish to
`run_statement` returning), that delay as a share of the job's duration, and the statements sent while
waiting; once for the fixed 2 s interval rockway used before (the old default `poll_interval`, reproduced with a
schedule whose floor and cap are both 2 s) and once for the schedule of adapters/poll_schedule.py with its
default floor (1 s).

Each row runs five jobs of durations D × (1, 1.011, 1.023, 1.037, 1.049), so that finishes do not all fall on a
poll of the fixed interval, and shows the worst notice delay (in seconds and as a share of that job's duration)
and the most statements any of them sent.

Scenarios (a job of duration D; the first 10% of it, at most 2 s, is WAITING_TXN with Progress NULL):
- linear: `done/total` tablets grow evenly (`--tablets` of them, 48 as in the recorded `18/48` row);
- stall:  half of the tablets in 40% of the running time, none in the next 20%, the rest in the last 40%;
- early:  the progress over-promises the time left: at the finish it reads half of the tablets;
- ahead:  the progress under-promises it: it runs twice as fast as the job, then reads all tablets but one;
- null:   Progress stays NULL (no guidance: blind backoff only);
- busy:   the ALTER is refused while another (linear) job holds the table; D is that job's duration and the
          delay runs from its finish to the ALTER being accepted;
- mv:     REFRESH MATERIALIZED VIEW, a task run whose PROGRESS grows evenly in whole percents.
Target (issue 16): delay <= max(1 s, 5% D) whatever the progress says (the exit status is 1 when a row misses it);
~60 polls for a 1 h job, which no schedule promising that bound can meet (adapters/poll_schedule.py: ~127).
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tooling"))  # measure this checkout's rockway, whatever is installed
sys.path.insert(0, str(ROOT / "tests"))  # the recorded answer formats

from pymysql.converters import escape_item  # noqa: E402

from rockway.adapters.connection import Timeouts  # noqa: E402
from rockway.adapters.poll_schedule import PollSchedule  # noqa: E402
from rockway.adapters.starrocks.base import StarRocksAdapter  # noqa: E402
from rockway.config import Settings, parse_dsn  # noqa: E402
from starrocks_replay import (BUSY_SCHEMA_CHANGE_4X, COLUMN_JOB_COLUMNS, REFRESH_COLUMNS, REFRESH_QUERY_ID,  # noqa: E402
                              TASK_RUN_COLUMNS, FakeClock, column_job, pymysql_error)

TABLE = "ta_event_119"
ALTER = f"ALTER TABLE {TABLE} ADD COLUMN c2 INT"
REFRESH = "REFRESH MATERIALIZED VIEW tva"
QUERY_ID = REFRESH_QUERY_ID

Profile = Callable[[float], float]  # share of the running time -> share of the work done
STRETCH = (1.0, 1.011, 1.023, 1.037, 1.049)


def linear(x: float) -> float:
    return x


def stall(x: float) -> float:
    return x / 0.8 if x < 0.4 else 0.5 if x < 0.6 else 0.5 + (x - 0.6) / 0.8


def early(x: float) -> float:
    return x / 2


def ahead(x: float) -> float:
    return min(1.0, 2 * x)


@dataclass
class Job:
    """A job the simulated FE runs: WAITING_TXN for `pre` seconds, then RUNNING until `start + duration`."""

    job_id: int
    start: float
    duration: float
    tablets: int
    profile: Profile | None  # None: Progress stays NULL

    @property
    def finish(self) -> float:
        return self.start + self.duration

    def pre(self) -> float:
        return min(2.0, 0.1 * self.duration)

    def state(self, now: float) -> tuple[str, str]:
        """(State, Progress) as SHOW ALTER TABLE prints them at `now` (Progress `done/total` only while RUNNING)."""
        if now >= self.finish:
            return "FINISHED", "NULL"
        run = now - self.start - self.pre()
        if run < 0:
            return "WAITING_TXN", "NULL"
        if self.profile is None:
            return "RUNNING", "NULL"
        share = self.profile(run / (self.duration - self.pre()))
        return "RUNNING", f"{min(self.tablets - 1, math.floor(share * self.tablets))}/{self.tablets}"


class SimulatedFE:
    """Answers the statements the adapter sends while it waits; counts them."""

    def __init__(self, clock: FakeClock, *, job: Job | None = None, holder: Job | None = None,
                 task: Job | None = None) -> None:
        self.clock, self.job, self.holder, self.task = clock, job, holder, task
        self.sent: list[str] = []
        self.accepted_at: float | None = None

    def answer(self, sql: str) -> tuple[Sequence[str], list[tuple[Any, ...]]]:
        self.sent.append(sql)
        now = self.clock.now
        if sql.startswith("SHOW ALTER TABLE COLUMN"):
            shown = [j for j in (self.holder, self.job if self.accepted_at is not None else None) if j]
            newest = max(shown, key=lambda j: j.job_id, default=None)
            return COLUMN_JOB_COLUMNS, [column_job(str(newest.job_id), *newest.state(now))] if newest else []
        if sql == ALTER:
            if self.holder and now < self.holder.finish:
                raise pymysql_error(*BUSY_SCHEMA_CHANGE_4X)
            self.accepted_at = now
            if self.job:
                self.job.start = now
            return (), []
        if sql == REFRESH:
            assert self.task is not None
            self.task.start = now
            return REFRESH_COLUMNS, [(QUERY_ID,)]
        if "information_schema.task_runs" in sql:
            assert self.task is not None
            state, progress = self.task.state(now)
            state = {"FINISHED": "SUCCESS", "WAITING_TXN": "PENDING"}.get(state, state)
            percent = "100%" if state == "SUCCESS" else "0%" if progress == "NULL" else \
                f"{int(progress.split('/')[0]) * 100 // self.task.tablets}%"
            return TASK_RUN_COLUMNS, [(QUERY_ID, "mv-10019", state, None, percent)]
        raise AssertionError(f"the simulated FE does not know {sql!r}")


class Connection:
    """The pymysql connection surface the adapter uses, over a SimulatedFE."""

    def __init__(self, fe: SimulatedFE) -> None:
        self.fe = fe

    def cursor(self) -> "Cursor":
        return Cursor(self.fe)

    def thread_id(self) -> int:
        return 1

    def close(self) -> None:
        return None


class Cursor:
    def __init__(self, fe: SimulatedFE) -> None:
        self.fe = fe
        self.description: Any = None
        self.rowcount = -1
        self._rows: list[tuple[Any, ...]] = []

    def __enter__(self) -> "Cursor":
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def mogrify(self, sql: str, args: Any = None) -> str:
        return sql if args is None else sql % tuple(escape_item(a, "utf8mb4") for a in args)

    def execute(self, sql: str, args: Any = None) -> int:
        columns, rows = self.fe.answer(self.mogrify(sql, args))
        self.description = tuple((c, 253, None, None, None, None, True) for c in columns) if columns else None
        self._rows, self.rowcount = list(rows), len(rows)
        return self.rowcount

    def fetchall(self) -> list[tuple[Any, ...]]:
        rows, self._rows = self._rows, []
        return rows


def fixed_interval(seconds: float) -> Callable[[StarRocksAdapter], Any]:
    """The schedule before issue 16: the same wait every time."""
    return lambda adapter: PollSchedule(floor=seconds, cap=seconds).start(adapter._clock())


def measure(scenario: str, duration: float, tablets: int, schedule: Callable[[StarRocksAdapter], Any] | None
            ) -> tuple[float, int]:
    """(notice delay in seconds, statements sent while waiting) for one simulated job."""
    clock = FakeClock()
    profile = {"linear": linear, "stall": stall, "early": early, "ahead": ahead, "null": None, "busy": linear,
               "mv": linear}[scenario]
    job = Job(262020, 0.0, duration, tablets if scenario != "mv" else 100, profile)
    if scenario == "busy":
        fe = SimulatedFE(clock, holder=Job(262013, 0.0, duration, tablets, profile))
    elif scenario == "mv":
        fe = SimulatedFE(clock, task=job)
    else:
        fe = SimulatedFE(clock, job=job)
    adapter = StarRocksAdapter(Connection(fe), parse_dsn("starrocks://root@h:9030/db"), Timeouts(), "3.3.5-abc1234")
    adapter.configure(Settings(async_timeout=2 * duration + 600))
    adapter._clock, adapter._sleep = clock.monotonic, clock.sleep
    if schedule is not None:
        adapter._poll_plan = lambda: schedule(adapter)  # type: ignore[method-assign]
    adapter.run_statement(REFRESH if scenario == "mv" else ALTER)
    if scenario == "busy":
        assert fe.accepted_at is not None
        return fe.accepted_at - duration, len(fe.sent) - 1  # every statement after the first attempt
    return clock.now - job.finish, len(fe.sent) - 2  # the baseline SHOW (or none) and the statement itself


def label(seconds: float) -> str:
    return f"{seconds / 3600:g} h" if seconds >= 3600 else f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tablets", type=int, default=48, help="tablets of the simulated schema change")
    parser.add_argument("--durations", default="1,10,60,600,3600,21600", help="job durations in seconds")
    parser.add_argument("--scenarios", default="linear,stall,early,ahead,null,busy,mv")
    args = parser.parse_args(argv)
    durations = [float(d) for d in args.durations.split(",")]
    print(f"simulated FE and clock; {args.tablets} tablets; old = fixed 2 s interval, new = poll_schedule "
          f"(floor {Settings().poll_interval:g} s)")
    print(f"{'scenario':<8} {'job':>7} | {'old delay':>9} {'%':>6} {'polls':>5} | {'new delay':>9} {'%':>6} "
          f"{'polls':>5} | target max(1 s, 5%)")
    misses = 0
    for scenario in args.scenarios.split(","):
        for duration in durations:
            cells, met = [], True
            for schedule in (fixed_interval(2.0), None):
                runs = [(d, *measure(scenario, d, args.tablets, schedule)) for d in (duration * k for k in STRETCH)]
                worst = max(runs, key=lambda r: r[1] / r[0])
                cells.append(f"{worst[1]:9.2f} {100 * worst[1] / worst[0]:5.1f}% {max(r[2] for r in runs):5d}")
                met = all(delay <= max(1.0, 0.05 * d) + 1e-9 for d, delay, _ in runs)
            misses += not met
            print(f"{scenario:<8} {label(duration):>7} | {cells[0]} | {cells[1]} | {'met' if met else 'missed'}")
    return 1 if misses else 0


if __name__ == "__main__":
    raise SystemExit(main())
