"""The async-job poll schedule (rockway/adapters/poll_schedule.py) and the StarRocks wait loops that use it.

The schedule's promises are checked as properties over simulated jobs: every wait within [floor, cap], the
deadline and 5% of the time waited; a job of duration D is noticed within max(floor, 5% D) whatever its progress
says (honest, over-promising, under-promising, stalled, jumping, going back), with at most AIMS polls more than the
fewest any schedule keeping that promise needs. The adapter's loops are then run on a fake clock against recorded
StarRocks answers (tests/support/starrocks_replay.py) and against a simulated FE that answers in their shapes
(tests/support/simulated_starrocks.py). Where the shapes come from:
- SHOW ALTER TABLE COLUMN rows: the columns and the `18/48` RUNNING row of StarRocks issue #46534; Progress shown
  only while RUNNING (docs.starrocks.io/docs/sql-reference/sql-statements/table_bucket_part_index/SHOW_ALTER/);
- information_schema.task_runs rows (QUERY_ID, TASK_NAME, STATE, ERROR_MESSAGE, PROGRESS; states PENDING, RUNNING,
  SUCCESS, one run per `partition_refresh_number` partitions): docs.starrocks.io/docs/sql-reference/
  information_schema/task_runs/; REFRESH's QUERY_ID answer: StarRocks test/sql/test_random_distribution/R/
  test_random_distribution;
- "A schema change operation is in progress on the table …": StarRocks fe/fe-core/src/main/java/com/starrocks/
  common/InvalidOlapTableStateException.java (the 3.x text with the name in quotes and the 4.x text).
"""

from __future__ import annotations

import math
from typing import Any, Callable, Iterator

import pytest
from hypothesis import given, strategies as st

from rockway.adapters import Timeouts
from rockway.adapters.poll_schedule import AIMS, DEFAULT_CAP, LATENESS, PollPlan, PollSchedule, Progress, parse_progress
from rockway.adapters.starrocks.base import StarRocksAdapter
from rockway.config import Settings, parse_dsn
from tests.support.starrocks_replay import (BUSY_SCHEMA_CHANGE_3X, BUSY_SCHEMA_CHANGE_4X, COLUMN_CANCELLED, COLUMN_FINISHED,
                              COLUMN_JOB_COLUMNS, COLUMN_RUNNING, COLUMN_WAITING_TXN, REFRESH_COLUMNS,
                              REFRESH_QUERY_ID, TASK_RUN_COLUMNS, FakeClock, ReplayConnection, Step, column_job, q)
from tests.support.simulated_starrocks import ALTER, REFRESH, SimulatedFE, SimulatedJob, linear

SHOW_COLUMN = "SHOW ALTER TABLE COLUMN FROM `db` WHERE TableName = 'ta_event_119' ORDER BY JobId DESC LIMIT 1"
HOUR = 3600.0


def blind_polls_bound(duration: float, floor: float, cap: float = DEFAULT_CAP, lateness: float = LATENESS) -> float:
    """Polls the blind backoff needs at most for a job of `duration`: one per floor until floor/lateness, then a
    growth by the lateness per poll until the cap, then one per cap."""
    knee, top = floor / lateness, cap / lateness
    if duration <= knee:
        return math.ceil(duration / floor) + 1
    growth = math.log(min(duration, top) / knee) / math.log1p(lateness)
    return math.ceil(knee / floor) + math.ceil(growth) + math.ceil(max(0.0, duration - top) / cap) + 1


def run_job(plan: PollPlan, duration: float, progress_at: Callable[[float], Progress | None]) -> tuple[int, float]:
    """Poll a simulated job that ends at `duration` as a wait loop does: (polls sent, notice delay)."""
    now, polls = 0.0, 0
    while True:
        polls += 1
        if now >= duration:
            return polls, now - duration
        now += plan.next_wait(now, progress_at(now))


Curve = Callable[[float], float]  # share of the running time -> share of the steps the server shows


def curve_job(duration: float, tablets: int, waiting: float, curve: Curve) -> Callable[[float], Progress | None]:
    """SHOW ALTER TABLE's view of a job (COLUMN_WAITING_TXN, COLUMN_RUNNING in starrocks_replay.py): Progress NULL
    while WAITING_TXN, then `done/total` as `curve` says, never all steps while RUNNING; the job ends at `duration`
    whatever the curve shows then."""
    def progress_at(now: float) -> Progress | None:
        if now < waiting:
            return None
        share = curve(min(1.0, (now - waiting) / (duration - waiting)))
        return Progress(min(tablets - 1, math.floor(share * tablets)), tablets)
    return progress_at


def linear_job(duration: float, tablets: int, waiting: float) -> Callable[[float], Progress | None]:
    return curve_job(duration, tablets, waiting, lambda x: x)


def piecewise(points: list[tuple[float, float]]) -> Curve:
    """The monotone curve through (0, 0), `points` and their last share held to the end."""
    xs, ys = [0.0] + [x for x, _ in points], [0.0] + [y for _, y in points]

    def curve(x: float) -> float:
        for x0, y0, x1, y1 in zip(xs, ys, xs[1:], ys[1:]):
            if x <= x1:
                return y1 if x1 <= x0 else y0 + (y1 - y0) * (x - x0) / (x1 - x0)
        return ys[-1]
    return curve


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


@given(floor=floors, steps=observations)
def test_no_wait_is_longer_than_5_percent_of_the_time_waited(floor: float, steps: list[Any]) -> None:
    # Whatever the progress says, the job may end right after a poll: a longer wait could see it too late.
    plan = PollSchedule(floor=floor).start(0.0)
    now = 0.0
    for advance, seen, job in steps:
        now += advance
        progress = Progress(min(*seen), seen[1]) if seen else None
        assert plan.next_wait(now, progress, job=job) <= max(floor, LATENESS * now) + 1e-9


@given(floor=floors, duration=st.floats(0.5, 6 * HOUR))
def test_blind_backoff_notices_within_the_lateness_and_polls_logarithmically(floor: float, duration: float) -> None:
    polls, delay = run_job(PollSchedule(floor=floor).start(0.0), duration, lambda now: None)
    assert delay <= max(floor, LATENESS * duration) + 1e-9
    assert polls <= blind_polls_bound(duration, floor)


shares = st.floats(0.0, 1.0)
curves = st.one_of(
    st.just(lambda x: x).map(lambda c: ("honest", c)),
    # the job ends before its progress says: at the finish the server shows `c` of the steps
    st.floats(0.02, 0.98).map(lambda c: ("over-promising", lambda x: c * x)),
    # the progress runs ahead, then sits just below all steps until the job ends
    st.floats(1.02, 50.0).map(lambda c: ("under-promising", lambda x: min(1.0, c * x))),
    # even progress with a pause of `width` starting at `at`
    st.tuples(shares, st.floats(0.0, 0.95)).map(lambda aw: ("stalled", piecewise(
        [(aw[0] * (1 - aw[1]), aw[0] * (1 - aw[1]) / (1 - aw[1] + 1e-9)), (aw[0] * (1 - aw[1]) + aw[1], aw[0]), (1.0, 1.0)]))),
    # any monotone curve: speeds up, slows down, jumps
    st.lists(st.tuples(shares, shares), min_size=1, max_size=6).map(lambda pts: ("any", piecewise(
        list(zip(sorted(x for x, _ in pts), sorted(y for _, y in pts)))))),
    # any curve at all: it may also go back (a progress that is reset) as often as it likes
    st.lists(st.tuples(shares, shares), min_size=1, max_size=8).map(lambda pts: ("going back", piecewise(
        list(zip(sorted(x for x, _ in pts), (y for _, y in pts)))))),
)


@given(floor=floors, duration=st.floats(0.5, 6 * HOUR), tablets=st.integers(1, 5000),
       waiting_share=shares, curve=curves)
def test_any_progress_is_noticed_within_max_floor_or_5_percent_with_at_most_aims_extra_polls(
        floor: float, duration: float, tablets: int, waiting_share: float, curve: tuple[str, Curve]) -> None:
    waiting = waiting_share * min(2.0, 0.1 * duration)
    job = curve_job(duration, tablets, waiting, curve[1])
    polls, delay = run_job(PollSchedule(floor=floor).start(0.0), duration, job)
    assert delay <= max(floor, LATENESS * duration) + 1e-9
    assert polls <= blind_polls_bound(duration, floor) + AIMS  # each shortened wait costs at most one poll


@given(duration=st.floats(0.9 * HOUR, 1.05 * HOUR), tablets=st.integers(48, 5000), curve=curves)
def test_an_hour_long_job_takes_the_fewest_polls_the_lateness_bound_allows(duration: float, tablets: int,
                                                                           curve: tuple[str, Curve]) -> None:
    # ~127 polls: 20 at the 1 s floor, then 5% more each (ln(3600 / 20) / ln(1.05)); a job may end right after
    # any poll, so no schedule that promises 5% whatever the progress says can poll less.
    polls, delay = run_job(PollSchedule().start(0.0), duration, curve_job(duration, tablets, 2.0, curve[1]))
    assert polls <= blind_polls_bound(duration, 1.0) + AIMS <= 132
    assert delay <= LATENESS * duration


@pytest.mark.parametrize("tablets", [48, 1000])
def test_honest_progress_is_noticed_sooner_than_without_progress_for_at_most_aims_polls(tablets: int) -> None:
    guided, guided_delay = run_job(PollSchedule().start(0.0), HOUR, linear_job(HOUR, tablets, 2.0))
    blind, blind_delay = run_job(PollSchedule().start(0.0), HOUR, lambda now: None)
    assert guided_delay < blind_delay and guided_delay < 0.015 * HOUR  # within a step of 48: ~1%
    assert guided <= blind + AIMS


def test_a_new_job_or_run_restarts_the_rate() -> None:
    plan = PollSchedule().start(0.0)
    plan.next_wait(0.0, None, job="a")
    # 99.5% (the middle of the 99th step) in 1,000 s: ~5 s left, sooner than the 50 s bound: aimed at.
    assert plan.next_wait(1000.0, Progress(99, 100), job="a") == pytest.approx(5.03, abs=0.01)
    # Another job at 90% ten seconds later: its rate counts from the poll before it appeared (90.5% in 10 s, ~1 s
    # left), not from the first job's start (which would put its finish ~106 s away: the 50.5 s bound).
    assert plan.next_wait(1010.0, Progress(90, 100), job="b") == pytest.approx(1.05, abs=0.01)


def test_an_estimate_shortens_at_most_aims_waits_of_a_job() -> None:
    plan = PollSchedule().start(0.0)
    plan.next_wait(0.0, None)
    now, waits = 1000.0, []
    for done in range(990, 999):  # a step more at every poll, the finish always ~10 s away: a job slowing down
        waits.append(plan.next_wait(now, Progress(done, 1000)))
        now += waits[-1]
    assert [w < LATENESS * 1000 for w in waits] == [True] * AIMS + [False] * (9 - AIMS)


def test_a_progress_going_back_does_not_give_its_job_more_shortened_waits() -> None:
    # 90% and 99% in turn: each advance predicts the finish within a few seconds, each fall measures the rate anew;
    # the job still gets AIMS shortened waits in all (a reset per poll would give every other poll one).
    plan = PollSchedule().start(0.0)
    plan.next_wait(0.0, None, job="j")
    now, shortened = 1000.0, 0
    for done in [90, 99] * 6:
        wait = plan.next_wait(now, Progress(done, 100), job="j")
        shortened += wait < max(1.0, LATENESS * now) - 1e-9
        now += wait
    assert shortened == AIMS


def test_poll_interval_maps_to_the_floor() -> None:
    assert PollSchedule.for_interval(2.0).floor == 2.0
    assert PollSchedule.for_interval(5.0).start(0.0).next_wait(0.0) == 5.0
    assert PollSchedule.for_interval(0).floor > 0  # ROCKWAY_POLL_INTERVAL=0 must not spin
    with pytest.raises(ValueError):
        PollSchedule(floor=10.0, cap=5.0)


@pytest.mark.parametrize(("text", "expected"), [
    ("18/48", Progress(18, 48)),  # COLUMN_RUNNING (issue #46534)
    ("NULL", None),  # Progress outside RUNNING (COLUMN_WAITING_TXN, COLUMN_FINISHED)
    ("", None),
    ("100%", Progress(100, 100)),  # a task_runs row (TASK_RUN_COLUMNS)
    ("50%", Progress(50, 100)),
    ("[10001: 3/10], [10002: 5/10]", Progress(8, 20)),  # SHOW BACKUP's Progress cell format [INFERRED]
    ("ETL:100%; LOAD:100%", None),  # information_schema.loads PROGRESS: not one job's steps
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


# What the job holding the table shows at each poll: WAITING_TXN (Progress NULL) past the 20 s of floor waits, then
# RUNNING 0/48 (nothing done yet), the recorded 18/48 (~1.8 s left by its rate, later than the 5% bound) and 47/48
# (about to finish: the next poll is aimed at it, sooner than the bound).
HOLDER = [("WAITING_TXN", "NULL")] * 22 + [("RUNNING", "0/48"), ("RUNNING", "18/48"), ("RUNNING", "47/48")]
HOLDER_SEEN = [parse_progress(progress) for _, progress in HOLDER]


def test_alter_job_waits_are_guided_by_its_progress(harness: Callable[..., Harness]) -> None:
    shown = [COLUMN_WAITING_TXN if state == "WAITING_TXN" else COLUMN_RUNNING if progress == "18/48"
             else column_job("262013", state, progress) for state, progress in HOLDER]
    h = harness([show_column(COLUMN_CANCELLED), q(ALTER), *(show_column(row) for row in shown),
                 show_column(COLUMN_FINISHED)])
    assert h.run(ALTER).async_jobs == ("column:262013",)
    assert h.clock.sleeps == expected_waits(HOLDER_SEEN)
    assert h.clock.sleeps[-1] == 1.0 < LATENESS * sum(h.clock.sleeps[:-1])  # aimed at the finish 47/48 predicts


def test_busy_refusals_are_retried_on_the_blind_backoff(harness: Callable[..., Harness]) -> None:
    # The table is held by a job whose Progress is NULL (WAITING_TXN): one refusal, then 24 looks at that job
    # (the ALTER is not sent again while it is unfinished), then the ALTER once it has FINISHED.
    steps: list[Step] = [show_column(COLUMN_WAITING_TXN), q(ALTER, error=BUSY_SCHEMA_CHANGE_3X)]
    steps += [show_column(COLUMN_WAITING_TXN)] * 24
    steps += [show_column(COLUMN_FINISHED), q(ALTER), show_column(COLUMN_FINISHED)]
    h = harness(steps)
    assert h.run(ALTER).async_jobs == ()
    assert h.clock.sleeps[:20] == [1.0] * 20  # the floor (poll_interval) while 5% of the time waited is below it
    assert h.clock.sleeps[20:] == pytest.approx([1.0, 1.05, 1.1025, 1.157625, 1.21550625])
    assert h.clock.sleeps == expected_waits([None] * 25)
    retries = [p for p in h.progress if "is busy, retry" in p]
    assert len(retries) == 1 and retries[0].startswith("`db`.`ta_event_119` is busy, retry 1 in 1s: (1064) ")
    looks = [p for p in h.progress if "next look" in p]
    assert len(looks) == 24 and looks[20] == "`db`.`ta_event_119` is busy (waiting_txn job 262013), next look in 1.05s"


def test_busy_refusals_follow_the_holding_jobs_progress_like_a_job_wait(harness: Callable[..., Harness]) -> None:
    # The holder (job 262013) moves as HOLDER between refusals: the retries wait exactly as a wait for that job
    # would (previous test), not a fixed interval.
    # After the first refusal only the SHOW goes while 262013 is unfinished (async_jobs.py _send).
    (state, progress), *later = HOLDER
    steps: list[Step] = [show_column(column_job("262013", state, progress)), q(ALTER, error=BUSY_SCHEMA_CHANGE_4X)]
    steps += [show_column(column_job("262013", state, progress)) for state, progress in later]
    steps += [show_column(column_job("262013", "FINISHED")), q(ALTER), show_column(column_job("262013", "FINISHED"))]
    h = harness(steps)
    h.run(ALTER)
    assert h.clock.sleeps == expected_waits(HOLDER_SEEN)
    assert h.clock.sleeps[-1] == 1.0 < LATENESS * sum(h.clock.sleeps[:-1])


def test_busy_retries_stop_at_async_timeout_without_overshooting(harness: Callable[..., Harness]) -> None:
    # 20 waits of 1 s, then 1.0, 1.05, 1.1025, 1.1576 and the last cut to end at 25.5 s; one refusal, then looks
    steps: list[Step] = [show_column(COLUMN_WAITING_TXN), q(ALTER, error=BUSY_SCHEMA_CHANGE_4X)]
    steps += [show_column(COLUMN_WAITING_TXN)] * 25
    h = harness(steps, async_timeout=25.5)
    with pytest.raises(Exception, match="stayed busy for 25.5s"):
        h.run(ALTER)
    assert sum(h.clock.sleeps) == pytest.approx(25.5)  # the last wait ends at the deadline
    assert h.clock.sleeps[-1] == pytest.approx(25.5 - sum(h.clock.sleeps[:-1])) and h.clock.sleeps[-1] < 1.2155


def test_task_run_progress_guides_the_refresh_wait(harness: Callable[..., Harness]) -> None:
    by_id = ("SELECT QUERY_ID, TASK_NAME, STATE, ERROR_MESSAGE, PROGRESS FROM information_schema.task_runs "
             f"WHERE QUERY_ID = '{REFRESH_QUERY_ID}'")
    latest = ("SELECT QUERY_ID, TASK_NAME, STATE, ERROR_MESSAGE, PROGRESS FROM information_schema.task_runs "
              "WHERE TASK_NAME = 'mv-10019' ORDER BY CREATE_TIME DESC LIMIT 1")
    run = (REFRESH_QUERY_ID, "mv-10019")
    pending = [q(by_id, TASK_RUN_COLUMNS, [run + ("PENDING", None, "0%")])] * 22  # a PENDING 0% says nothing
    h = harness([q("REFRESH MATERIALIZED VIEW tva", REFRESH_COLUMNS, [(REFRESH_QUERY_ID,)]),  # the QUERY_ID answer
                 *pending,
                 q(by_id, TASK_RUN_COLUMNS, [run + ("RUNNING", None, "10%")]),
                 q(by_id, TASK_RUN_COLUMNS, [run + ("RUNNING", None, "99%")]),
                 q(by_id, TASK_RUN_COLUMNS, [run + ("SUCCESS", None, "100%")]),  # the recorded row
                 q(latest, TASK_RUN_COLUMNS, [run + ("SUCCESS", None, "100%")])])
    h.run("REFRESH MATERIALIZED VIEW tva")
    assert h.clock.sleeps == expected_waits([None] * 22 + [Progress(10, 100), Progress(99, 100)])
    assert h.clock.sleeps[-1] == 1.0 < LATENESS * sum(h.clock.sleeps[:-1])  # 99%: aimed at the finish


def simulated_adapter(fe: SimulatedFE, clock: FakeClock, async_timeout: float,
                      lateness: float = LATENESS) -> StarRocksAdapter:
    adapter = StarRocksAdapter(fe, parse_dsn("starrocks://root@h:9030/db"), Timeouts(), "3.3.5-abc1234")
    adapter.configure(Settings(async_timeout=async_timeout, poll_lateness=lateness))
    adapter._clock, adapter._sleep = clock.monotonic, clock.sleep
    return adapter


@pytest.mark.parametrize("duration", [1.0, 60.0, HOUR])
def test_adapter_notices_jobs_of_1s_1min_1h_promptly_with_few_polls(duration: float) -> None:
    clock = FakeClock()
    fe = SimulatedFE(clock, job=SimulatedJob(262020, duration, 48, linear, waiting=min(2.0, 0.1 * duration)))
    assert simulated_adapter(fe, clock, 2 * HOUR).run_statement(ALTER).async_jobs == ("column:262020",)
    polls = len(fe.sent) - 2  # the baseline SHOW and the ALTER itself
    assert clock.now - duration <= max(1.0, LATENESS * duration)
    assert polls <= {1.0: 3, 60.0: 47, HOUR: 131}[duration]  # blind_polls_bound + AIMS


shapes = st.sampled_from(["column job", "busy", "refresh"])


@given(shape=shapes, duration=st.floats(0.5, 6 * HOUR), tablets=st.integers(1, 5000), waiting_share=shares,
       curve=curves, runs=st.integers(1, 3))
def test_the_adapter_notices_any_job_within_max_1s_or_5_percent_with_the_fewest_polls(
        shape: str, duration: float, tablets: int, waiting_share: float, curve: tuple[str, Curve], runs: int) -> None:
    """The real wait loops on the simulated FE (tests/support/simulated_starrocks.py: the recorded SHOW ALTER TABLE
    COLUMN and task_runs rows, the "schema change operation is in progress" refusals) for a job whose progress
    follows any curve: an ALTER's own schema change; an ALTER refused while another job holds the table (the job
    ends when the ALTER is accepted); a REFRESH whose task runs one to three times in a row."""
    clock = FakeClock()
    waiting = waiting_share * min(2.0, 0.1 * duration)
    if shape == "refresh":
        fe = SimulatedFE(clock, runs=[SimulatedJob(i, duration / runs, 100, curve[1], waiting=waiting if i == 0 else 0.0)
                                      for i in range(runs)])
    elif shape == "busy":
        fe = SimulatedFE(clock, holder=SimulatedJob(262013, duration, tablets, curve[1], waiting=waiting))
    else:
        fe = SimulatedFE(clock, job=SimulatedJob(262020, duration, tablets, curve[1], waiting=waiting))
    simulated_adapter(fe, clock, 2 * duration + 600).run_statement(REFRESH if shape == "refresh" else ALTER)
    noticed = fe.accepted_at if shape == "busy" else clock.now
    assert noticed is not None and noticed - duration <= max(1.0, LATENESS * duration) + 1e-9
    if shape == "refresh":  # polls of task_runs; one more when the wait moves from the first run to the task's newest
        polls, jobs = sum("task_runs" in sql for sql in fe.sent) - 1, runs
    elif shape == "column job":  # SHOW ALTER TABLE after the ALTER
        polls, jobs = len(fe.sent) - 2, 1
    else:  # busy: the refused ALTER, then the holder's SHOW alone until it has finished, then the ALTER again
        sent_alter = [i for i, sql in enumerate(fe.sent) if sql == ALTER]
        assert len(sent_alter) == 2
        polls, jobs = sent_alter[1] - sent_alter[0] - 1, 1
    assert polls <= blind_polls_bound(duration, 1.0) + AIMS * jobs


def test_a_refresh_in_several_task_runs_is_one_wait() -> None:
    # Three runs of 400 s: the waits go on growing with the time since the REFRESH, as for one job, instead of
    # starting again at the floor for the runs after the first.
    clock = FakeClock()
    fe = SimulatedFE(clock, runs=[SimulatedJob(i, 400.0, 100, None) for i in range(3)])
    simulated_adapter(fe, clock, 7200).run_statement(REFRESH)
    assert clock.now - 1200.0 <= LATENESS * 1200.0
    assert sum("task_runs" in sql for sql in fe.sent) <= blind_polls_bound(1200.0, 1.0) + 1
    assert clock.sleeps == sorted(clock.sleeps)  # never back to the floor


@given(lateness=st.floats(0.02, 0.5), duration=st.floats(0.5, 6 * HOUR), tablets=st.integers(1, 5000), curve=curves)
def test_poll_lateness_trades_polls_for_a_later_notice(lateness: float, duration: float, tablets: int,
                                                        curve: tuple[str, Curve]) -> None:
    """ROCKWAY_POLL_LATENESS through the adapter: a job is noticed within max(1 s, lateness x its duration) with the
    polls that bound allows (config.py poll_lateness; adapters/poll_schedule.py)."""
    clock = FakeClock()
    fe = SimulatedFE(clock, job=SimulatedJob(262020, duration, tablets, curve[1], waiting=min(2.0, 0.1 * duration)))
    simulated_adapter(fe, clock, 2 * duration + 600, lateness).run_statement(ALTER)
    assert clock.now - duration <= max(1.0, lateness * duration) + 1e-9
    assert len(fe.sent) - 2 <= blind_polls_bound(duration, 1.0, lateness=lateness) + AIMS


def test_an_hour_long_job_takes_about_60_polls_at_a_lateness_of_13_percent() -> None:
    clock = FakeClock()
    fe = SimulatedFE(clock, job=SimulatedJob(262020, HOUR, 48, None, waiting=2.0))  # no progress: the backoff alone
    simulated_adapter(fe, clock, 2 * HOUR, 0.13).run_statement(ALTER)
    assert len(fe.sent) - 2 <= 60 and clock.now - HOUR <= 0.13 * HOUR
    with pytest.raises(ValueError, match="lateness"):
        PollSchedule(lateness=0.0)


@pytest.mark.parametrize("value", ["0", "0.6", "-0.1", "x"])
def test_poll_lateness_outside_its_range_is_refused_naming_the_setting(value: str, tmp_path: Any) -> None:
    from rockway.config import load_settings
    from rockway.errors import ConfigError

    with pytest.raises(ConfigError, match="poll_lateness|ROCKWAY_POLL_LATENESS"):
        load_settings(tmp_path, environ={"ROCKWAY_POLL_LATENESS": value})
    assert load_settings(tmp_path, environ={"ROCKWAY_POLL_LATENESS": "0.13"}).poll_lateness == 0.13
