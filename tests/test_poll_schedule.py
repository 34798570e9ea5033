"""The async-job poll schedule (rockway/adapters/poll_schedule.py) and the StarRocks wait loops that use it.

The schedule's promises are checked as properties over simulated jobs: every wait within [floor, cap] and the
deadline; a job of duration D whose progress grows evenly is noticed within max(floor, 5% D), with a bounded number
of polls; without progress the blind backoff keeps the same lateness bound. The adapter's loops are then run on
recorded StarRocks answers (tests/starrocks_replay.py; starrocks-responses.md §2 SHOW ALTER TABLE rows, §3
task_runs rows, §8 the "schema change operation is in progress" refusal) on a fake clock.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Iterator

import pytest
from hypothesis import given, strategies as st

from rockway.adapters import Timeouts
from rockway.adapters.poll_schedule import DEFAULT_CAP, LATENESS, PollPlan, PollSchedule, Progress, parse_progress
from rockway.adapters.starrocks.base import StarRocksAdapter
from rockway.config import Settings, parse_dsn
from starrocks_replay import (BUSY_SCHEMA_CHANGE_3X, BUSY_SCHEMA_CHANGE_4X, COLUMN_CANCELLED, COLUMN_FINISHED,
                              COLUMN_JOB_COLUMNS, COLUMN_RUNNING, COLUMN_WAITING_TXN, REFRESH_COLUMNS,
                              REFRESH_QUERY_ID, TASK_RUN_COLUMNS, FakeClock, ReplayConnection, Step, column_job, q)

SHOW_COLUMN = "SHOW ALTER TABLE COLUMN FROM `db` WHERE TableName = 'ta_event_119' ORDER BY JobId DESC LIMIT 1"
ALTER_ADD = "ALTER TABLE ta_event_119 ADD COLUMN c2 INT"
HOUR = 3600.0


def blind_polls_bound(duration: float, floor: float, cap: float = DEFAULT_CAP) -> float:
    """Polls the blind backoff needs at most for a job of `duration`: one per floor until floor/LATENESS, then a
    5% growth per poll until the cap, then one per cap."""
    knee, top = floor / LATENESS, cap / LATENESS
    if duration <= knee:
        return math.ceil(duration / floor) + 1
    growth = math.log(min(duration, top) / knee) / math.log1p(LATENESS)
    return math.ceil(knee / floor) + math.ceil(growth) + math.ceil(max(0.0, duration - top) / cap) + 1


def run_job(plan: PollPlan, duration: float, progress_at: Callable[[float], Progress | None]) -> tuple[int, float]:
    """Poll a simulated job that ends at `duration` as a wait loop does: (polls sent, notice delay)."""
    now, polls = 0.0, 0
    while True:
        polls += 1
        if now >= duration:
            return polls, now - duration
        now += plan.next_wait(now, progress_at(now))


def linear_job(duration: float, tablets: int, waiting: float) -> Callable[[float], Progress | None]:
    """SHOW ALTER TABLE's view of a job (§2): Progress NULL while WAITING_TXN, then `done/total` growing evenly."""
    def progress_at(now: float) -> Progress | None:
        if now < waiting:
            return None
        return Progress(min(tablets - 1, math.floor((now - waiting) / (duration - waiting) * tablets)), tablets)
    return progress_at


# --- the schedule's properties -----------------------------------------------------------------------

floors = st.sampled_from([0.5, 1.0, 2.0])
observations = st.lists(st.tuples(st.floats(0.0, 5000.0), st.one_of(st.none(), st.tuples(st.integers(0, 100),
                                                                                      st.integers(1, 100))),
                                  st.sampled_from([None, 1, 2])), max_size=40)


@given(floor=floors, cap=st.floats(2.0, 900.0), steps=observations, deadline=st.one_of(st.none(), st.floats(0.0, 9000.0)))
def test_waits_stay_within_floor_cap_and_deadline(floor: float, cap: float, steps: list[Any],
                                                  deadline: float | None) -> None:
    plan = PollSchedule(floor=floor, cap=cap).start(0.0)
    now = 0.0
    for advance, seen, job in steps:
        now += advance
        progress = Progress(min(*seen), seen[1]) if seen else None
        wait = plan.next_wait(now, progress, job=job, deadline=deadline)
        assert floor <= wait <= cap
        if deadline is not None:
            assert wait <= max(floor, deadline - now)


@given(floor=floors, duration=st.floats(0.5, 6 * HOUR))
def test_blind_backoff_notices_within_the_lateness_and_polls_logarithmically(floor: float, duration: float) -> None:
    polls, delay = run_job(PollSchedule(floor=floor).start(0.0), duration, lambda now: None)
    assert delay <= max(floor, LATENESS * duration) + 1e-9
    assert polls <= blind_polls_bound(duration, floor)


@given(floor=floors, duration=st.floats(0.5, 6 * HOUR), tablets=st.integers(1, 2000),
       waiting_share=st.floats(0.0, 1.0))
def test_linear_progress_is_noticed_within_max_floor_or_5_percent(floor: float, duration: float, tablets: int,
                                                                  waiting_share: float) -> None:
    waiting = waiting_share * min(2.0, 0.1 * duration)
    polls, delay = run_job(PollSchedule(floor=floor).start(0.0), duration, linear_job(duration, tablets, waiting))
    assert delay <= max(floor, LATENESS * duration) + 1e-9
    assert polls <= blind_polls_bound(duration, floor) + 12  # guidance never costs much more than the blind way


@given(duration=st.floats(0.9 * HOUR, 1.05 * HOUR), tablets=st.integers(48, 5000))
def test_an_hour_of_linear_progress_takes_about_60_polls(duration: float, tablets: int) -> None:
    polls, delay = run_job(PollSchedule().start(0.0), duration, linear_job(duration, tablets, 2.0))
    assert polls <= 62
    assert delay <= LATENESS * duration


def test_the_guided_schedule_polls_far_less_than_the_blind_one() -> None:
    guided, _ = run_job(PollSchedule().start(0.0), HOUR, linear_job(HOUR, 1000, 2.0))
    blind, _ = run_job(PollSchedule().start(0.0), HOUR, lambda now: None)
    assert guided < blind / 3


def test_a_new_job_or_run_restarts_the_rate() -> None:
    plan = PollSchedule().start(0.0)
    plan.next_wait(0.0, None, job="a")
    # 50.5% (the middle of the 50th step) in 100 s: ~98 s left, half of it is waited.
    assert plan.next_wait(100.0, Progress(50, 100), job="a") == pytest.approx(49.01, abs=0.01)
    # Another job at 1% one second later: its rate counts from the poll before it appeared (1.5% in 1 s, ~66 s
    # left), not from the first job's start (which would make it ~6,600 s and wait the whole 101 s waited so far).
    assert plan.next_wait(101.0, Progress(1, 100), job="b") == pytest.approx(32.83, abs=0.01)


def test_poll_interval_maps_to_the_floor() -> None:
    assert PollSchedule.for_interval(2.0).floor == 2.0
    assert PollSchedule.for_interval(5.0).start(0.0).next_wait(0.0) == 5.0
    assert PollSchedule.for_interval(0).floor > 0  # ROCKWAY_POLL_INTERVAL=0 must not spin
    with pytest.raises(ValueError):
        PollSchedule(floor=10.0, cap=5.0)


@pytest.mark.parametrize(("text", "expected"), [
    ("18/48", Progress(18, 48)),  # §2 issue #46534 RUNNING row
    ("NULL", None),  # §2 Progress outside RUNNING (SchemaChangeJobV2.getInfo)
    ("", None),
    ("100%", Progress(100, 100)),  # §3 task_runs row (D CREATE_MATERIALIZED_VIEW.md)
    ("50%", Progress(50, 100)),
    ("[10001: 3/10], [10002: 5/10]", Progress(8, 20)),  # §4 SHOW BACKUP Progress cell format [INFERRED]
    ("ETL:100%; LOAD:100%", None),  # §6 information_schema.loads: not one job's steps
    ("0/0", None),
])
def test_parse_progress_recorded_cells(text: str, expected: Progress | None) -> None:
    assert parse_progress(text) == expected


# --- the adapter's wait loops on recorded answers ------------------------------------------------------

class Harness:
    def __init__(self, steps: list[Step], *, poll_interval: float = 1.0, async_timeout: float = 7200) -> None:
        self.conn = ReplayConnection(steps)
        self.clock = FakeClock()
        self.adapter = StarRocksAdapter(self.conn, parse_dsn("starrocks://root@h:9030/db"), Timeouts(), "3.3.5-abc1234")
        self.adapter.configure(Settings(async_timeout=async_timeout, poll_interval=poll_interval, replication_num=1))
        self.adapter._clock, self.adapter._sleep = self.clock.monotonic, self.clock.sleep
        self.progress: list[str] = []

    def run(self, sql: str) -> Any:
        return self.adapter.run_statement(sql, on_progress=self.progress.append)


@pytest.fixture
def harness() -> Iterator[Callable[..., Harness]]:
    made: list[Harness] = []

    def make(steps: list[Step], **kw: Any) -> Harness:
        made.append(Harness(steps, **kw))
        return made[-1]

    yield make
    for h in made:
        h.conn.assert_done()


def show_column(*rows: tuple) -> Step:
    return q(SHOW_COLUMN, COLUMN_JOB_COLUMNS, list(rows))


def expected_waits(seen: list[Progress | None], poll_interval: float = 1.0) -> list[float]:
    """The waits a fresh plan chooses for these observations, each made when the previous wait ended."""
    plan = PollSchedule.for_interval(poll_interval).start(0.0)
    now, waits = 0.0, []
    for progress in seen:
        waits.append(plan.next_wait(now, progress))
        now += waits[-1]
    return waits


def test_alter_job_waits_are_guided_by_its_progress(harness: Callable[..., Harness]) -> None:
    h = harness([show_column(COLUMN_CANCELLED), q(ALTER_ADD),
                 show_column(COLUMN_WAITING_TXN),  # t=0, Progress NULL: blind 1 s
                 show_column(column_job("262013", "RUNNING", "0/48")),  # t=1, nothing done yet: blind 1 s
                 show_column(COLUMN_RUNNING),  # t=2, recorded 18/48 (§2, issue #46534)
                 show_column(column_job("262013", "RUNNING", "47/48")),
                 show_column(COLUMN_FINISHED)])
    assert h.run(ALTER_ADD).async_jobs == ("column:262013",)
    # 18.5/48 done 2 s after it was last seen waiting: ~3.2 s left, half of it is waited (more than the floor)
    assert h.clock.sleeps[:2] == [1, 1] and h.clock.sleeps[2] == pytest.approx(1.595, abs=0.001)
    assert h.clock.sleeps == expected_waits([None, Progress(0, 48), Progress(18, 48), Progress(47, 48)])


def test_busy_refusals_are_retried_on_the_blind_backoff(harness: Callable[..., Harness]) -> None:
    # The table is held by a job whose Progress is NULL (WAITING_TXN, §2): 25 refusals (§8, 4.x and 3.x texts).
    steps: list[Step] = []
    for attempt in range(25):
        steps += [show_column(COLUMN_WAITING_TXN),
                  q(ALTER_ADD, error=BUSY_SCHEMA_CHANGE_4X if attempt % 2 else BUSY_SCHEMA_CHANGE_3X)]
    steps += [show_column(COLUMN_FINISHED), q(ALTER_ADD), show_column(COLUMN_FINISHED)]
    h = harness(steps)
    assert h.run(ALTER_ADD).async_jobs == ()
    assert h.clock.sleeps[:20] == [1.0] * 20  # the floor (poll_interval) while 5% of the time waited is below it
    assert h.clock.sleeps[20:] == pytest.approx([1.0, 1.05, 1.1025, 1.157625, 1.21550625])
    assert h.clock.sleeps == expected_waits([None] * 25)
    retries = [p for p in h.progress if "is busy, retry" in p]
    assert retries[21].startswith("`db`.`ta_event_119` is busy, retry 22 in 1.05s: (1064) A schema change operation is in progress")


def test_busy_refusals_follow_the_holding_jobs_progress_like_a_job_wait(harness: Callable[..., Harness]) -> None:
    # The holder (job 262013) moves 0/48 -> 18/48 -> 47/48 between refusals: the retries wait exactly as a wait
    # for that job would (previous test's observations), not a fixed interval.
    seen = [("WAITING_TXN", "NULL"), ("RUNNING", "0/48"), ("RUNNING", "18/48"), ("RUNNING", "47/48")]
    steps: list[Step] = []
    for state, progress in seen:
        steps += [show_column(column_job("262013", state, progress)), q(ALTER_ADD, error=BUSY_SCHEMA_CHANGE_4X)]
    steps += [show_column(column_job("262013", "FINISHED")), q(ALTER_ADD), show_column(column_job("262013", "FINISHED"))]
    h = harness(steps)
    h.run(ALTER_ADD)
    assert h.clock.sleeps == expected_waits([None, Progress(0, 48), Progress(18, 48), Progress(47, 48)])
    assert h.clock.sleeps[2] > 1.5


def test_busy_retries_stop_at_async_timeout_without_overshooting(harness: Callable[..., Harness]) -> None:
    steps: list[Step] = []
    for _ in range(26):  # 20 waits of 1 s, then 1.0, 1.05, 1.1025, 1.1576 and the last cut to end at 25.5 s
        steps += [show_column(COLUMN_WAITING_TXN), q(ALTER_ADD, error=BUSY_SCHEMA_CHANGE_4X)]
    h = harness(steps, async_timeout=25.5)
    with pytest.raises(Exception, match="stayed busy for 25.5s"):
        h.run(ALTER_ADD)
    assert sum(h.clock.sleeps) == pytest.approx(25.5)  # the last wait ends at the deadline
    assert h.clock.sleeps[-1] == pytest.approx(25.5 - sum(h.clock.sleeps[:-1])) and h.clock.sleeps[-1] < 1.2155


def test_task_run_progress_guides_the_refresh_wait(harness: Callable[..., Harness]) -> None:
    by_id = ("SELECT QUERY_ID, TASK_NAME, STATE, ERROR_MESSAGE, PROGRESS FROM information_schema.task_runs "
             f"WHERE QUERY_ID = '{REFRESH_QUERY_ID}'")
    latest = ("SELECT QUERY_ID, TASK_NAME, STATE, ERROR_MESSAGE, PROGRESS FROM information_schema.task_runs "
              "WHERE TASK_NAME = 'mv-10019' ORDER BY CREATE_TIME DESC LIMIT 1")
    run = (REFRESH_QUERY_ID, "mv-10019")
    h = harness([q("REFRESH MATERIALIZED VIEW tva", REFRESH_COLUMNS, [(REFRESH_QUERY_ID,)]),  # §3 QUERY_ID answer
                 q(by_id, TASK_RUN_COLUMNS, [run + ("PENDING", None, "0%")]),  # a PENDING 0% says nothing: blind
                 q(by_id, TASK_RUN_COLUMNS, [run + ("RUNNING", None, "10%")]),
                 q(by_id, TASK_RUN_COLUMNS, [run + ("RUNNING", None, "20%")]),
                 q(by_id, TASK_RUN_COLUMNS, [run + ("SUCCESS", None, "100%")]),  # §3 row
                 q(latest, TASK_RUN_COLUMNS, [run + ("SUCCESS", None, "100%")])])
    h.run("REFRESH MATERIALIZED VIEW tva")
    assert h.clock.sleeps == expected_waits([None, Progress(10, 100), Progress(20, 100)])
    assert h.clock.sleeps[2] > 1.0  # 20% after ~2 s: the next poll is aimed later than the floor


class LiveColumnJob(ReplayConnection):
    """SHOW ALTER TABLE COLUMN answering, at the fake clock's time, for a job of `duration` seconds that starts with
    the ALTER: WAITING_TXN for 2 s, then RUNNING with `done/48` growing evenly, then FINISHED (row shape §2)."""

    def __init__(self, clock: FakeClock, duration: float) -> None:
        super().__init__([])
        self.clock, self.duration, self.started = clock, duration, None

    def answer(self, sql: str) -> Step:
        self.sent.append(sql)
        if sql == ALTER_ADD:
            self.started = self.clock.now
            return Step(sql)
        assert sql == SHOW_COLUMN
        if self.started is None:
            return show_column(COLUMN_CANCELLED)
        run = self.clock.now - self.started - 2.0
        if run >= self.duration - 2.0:
            return show_column(column_job("262020", "FINISHED"))
        if run < 0:
            return show_column(column_job("262020", "WAITING_TXN"))
        return show_column(column_job("262020", "RUNNING", f"{math.floor(run / (self.duration - 2.0) * 48)}/48"))


@pytest.mark.parametrize("duration", [1.0, 60.0, HOUR])
def test_adapter_notices_jobs_of_1s_1min_1h_promptly_with_few_polls(duration: float) -> None:
    clock = FakeClock()
    conn = LiveColumnJob(clock, duration)
    adapter = StarRocksAdapter(conn, parse_dsn("starrocks://root@h:9030/db"), Timeouts(), "3.3.5-abc1234")
    adapter.configure(Settings(async_timeout=2 * HOUR))
    adapter._clock, adapter._sleep = clock.monotonic, clock.sleep
    assert adapter.run_statement(ALTER_ADD).async_jobs == ("column:262020",)
    polls = len(conn.sent) - 2
    assert clock.now - duration <= max(1.0, LATENESS * duration)
    assert polls <= {1.0: 3, 60.0: 15, HOUR: 62}[duration]
