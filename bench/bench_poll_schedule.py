#!/usr/bin/env python3
"""How promptly, and with how many SHOW statements, rockway notices that a StarRocks job has finished.

    python bench/bench_poll_schedule.py [--tablets 48] [--durations 1,10,60,600,3600,21600] [--lateness 0.05]

No server and no real time: the real `StarRocksAdapter.run_statement` runs against the simulated FE of
tests/support/simulated_starrocks.py on a simulated clock (the adapter's `_clock` / `_sleep` seams), which answers
in the recorded formats of tests/support/starrocks_replay.py (SHOW ALTER TABLE rows, task_runs rows, the "schema
change operation is in progress" refusal). For every job it prints the notice delay (the job's finish to
`run_statement` returning), that delay as a share of the job's duration, and the statements sent while waiting;
once for the fixed 2 s interval rockway used before (the old default `poll_interval`, reproduced with a schedule
whose floor and cap are both 2 s) and once for the schedule of adapters/poll_schedule.py with its default floor
(1 s). "least" is the fewest polls any schedule needs to see every job of that duration within max(1 s, 5%) when
the job may end right after any poll (adapters/poll_schedule.py).

Each row runs five jobs of durations D × (1, 1.011, 1.023, 1.037, 1.049), so that finishes do not all fall on a
poll of the fixed interval, and shows the worst notice delay (in seconds and as a share of that job's duration)
and the most statements any of them sent.

Scenarios (a job of duration D; the first 10% of it, at most 2 s, is WAITING_TXN with Progress NULL):
- linear: `done/total` tablets grow evenly (`--tablets` of them, 48 as in the recorded `18/48` row);
- stall:  half of the tablets in 40% of the running time, none in the next 20%, the rest in the last 40%;
- early:  the progress over-promises the time left: at the finish it reads half of the tablets;
- jump:   it shows a tenth of the tablets, then the job ends (its last tablets were empty);
- ahead:  the progress under-promises it: it runs twice as fast as the job, then reads all tablets but one;
- reset:  it reaches 80% at 40% of the time, starts again from 0 and grows evenly to the end;
- null:   Progress stays NULL (no guidance: the backoff alone);
- busy:   the ALTER is refused while another (linear) job holds the table; D is that job's duration and the
          delay runs from its finish to the ALTER being accepted (after the refusal each look is one SHOW; the ALTER
          goes again once the holding job is FINISHED; both columns run today's adapter, so "old" is the 2 s
          interval alone: the adapter of `d445bff` and before sent the ALTER with every SHOW, twice the statements);
- mv:     REFRESH MATERIALIZED VIEW, a task run whose PROGRESS grows evenly in whole percents.
Target (issue 16): delay <= max(1 s, 5% D) whatever the progress says (the exit status is 1 when a row misses it),
and ~60 polls for a 1 h job, which no schedule keeping that promise can meet ("least": 127).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tooling"))  # measure this checkout's rockway, whatever is installed
sys.path.insert(0, str(ROOT))  # the simulated FE of the tests (tests/support/simulated_starrocks.py)

from rockway.adapters.connection import Timeouts  # noqa: E402
from rockway.adapters.poll_schedule import PollSchedule  # noqa: E402
from rockway.adapters.starrocks.base import StarRocksAdapter  # noqa: E402
from rockway.config import Settings, parse_dsn  # noqa: E402
from tests.support.simulated_starrocks import (ALTER, REFRESH, Curve, SimulatedFE, SimulatedJob,  # noqa: E402
                                               linear)
from tests.support.starrocks_replay import FakeClock  # noqa: E402

STRETCH = (1.0, 1.011, 1.023, 1.037, 1.049)


def stall(x: float) -> float:
    return x / 0.8 if x < 0.4 else 0.5 if x < 0.6 else 0.5 + (x - 0.6) / 0.8


def early(x: float) -> float:
    return x / 2


def jump(x: float) -> float:
    return min(x, 0.1)


def ahead(x: float) -> float:
    return min(1.0, 2 * x)


def reset(x: float) -> float:
    return 2 * x if x < 0.4 else (x - 0.4) / 0.6


CURVES: dict[str, Curve | None] = {"linear": linear, "stall": stall, "early": early, "jump": jump, "ahead": ahead,
                                   "reset": reset, "null": None, "busy": linear, "mv": linear}


def least_polls(duration: float, floor: float = 1.0, lateness: float = 0.05, cap: float = 600.0) -> int:
    """The fewest polls that see a job ending at any moment up to `duration` within max(floor, lateness × its
    duration): after a poll at t the next may come at most max(floor, lateness × t) later (the job may end right
    after it), so the polls are at best t + max(floor, lateness × t), capped, from the first at 0."""
    polls, t = 1, 0.0
    while t < duration:
        t += min(cap, max(floor, lateness * t))
        polls += 1
    return polls


def fixed_interval(seconds: float) -> Callable[[StarRocksAdapter], Any]:
    """The schedule before issue 16: the same wait every time."""
    return lambda adapter: PollSchedule(floor=seconds, cap=seconds).start(adapter._clock())


def measure(scenario: str, duration: float, tablets: int, schedule: Callable[[StarRocksAdapter], Any] | None,
            lateness: float = 0.05) -> tuple[float, int]:
    """(notice delay in seconds, statements sent while waiting) for one simulated job."""
    clock = FakeClock()
    job = SimulatedJob(262020, duration, tablets if scenario != "mv" else 100, CURVES[scenario],
                       waiting=min(2.0, 0.1 * duration))
    if scenario == "busy":
        fe = SimulatedFE(clock, holder=SimulatedJob(262013, duration, tablets, linear, waiting=min(2.0, 0.1 * duration)))
    elif scenario == "mv":
        fe = SimulatedFE(clock, runs=[job])
    else:
        fe = SimulatedFE(clock, job=job)
    adapter = StarRocksAdapter(fe, parse_dsn("starrocks://root@h:9030/db"), Timeouts(), "3.3.5-abc1234")
    adapter.configure(Settings(async_timeout=2 * duration + 600, poll_lateness=lateness))
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
    parser.add_argument("--scenarios", default=",".join(CURVES))
    parser.add_argument("--lateness", type=float, default=Settings().poll_lateness,
                        help="the poll_lateness setting (ROCKWAY_POLL_LATENESS) of the new schedule")
    args = parser.parse_args(argv)
    durations = [float(d) for d in args.durations.split(",")]
    print(f"simulated FE and clock; {args.tablets} tablets; old = fixed 2 s interval, new = poll_schedule "
          f"(floor {Settings().poll_interval:g} s, lateness {args.lateness:g})")
    print(f"{'scenario':<8} {'job':>7} | {'old delay':>9} {'%':>6} {'polls':>5} | {'new delay':>9} {'%':>6} "
          f"{'polls':>5} {'least':>5} | target max(1 s, {100 * args.lateness:g}%)")
    misses = 0
    for scenario in args.scenarios.split(","):
        for duration in durations:
            cells, met = [], True
            for schedule in (fixed_interval(2.0), None):
                runs = [(d, *measure(scenario, d, args.tablets, schedule, args.lateness))
                        for d in (duration * k for k in STRETCH)]
                worst = max(runs, key=lambda r: r[1] / r[0])
                cells.append(f"{worst[1]:9.2f} {100 * worst[1] / worst[0]:5.1f}% {max(r[2] for r in runs):5d}")
                met = all(delay <= max(1.0, args.lateness * d) + 1e-9 for d, delay, _ in runs)
            misses += not met
            least = least_polls(duration * STRETCH[-1], lateness=args.lateness) + (scenario == "busy")  # + the ALTER
            print(f"{scenario:<8} {label(duration):>7} | {cells[0]} | {cells[1]} {least:5d} | "
                  f"{'met' if met else 'missed'}")
    return 1 if misses else 0


if __name__ == "__main__":
    raise SystemExit(main())
