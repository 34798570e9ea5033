"""A StarRocks FE simulated on a fake clock, for the poll schedule (tests/unit/test_poll_schedule.py and
bench/bench_poll_schedule.py).

It runs jobs whose Progress follows a curve and answers the statements the adapter's wait loops send, at the fake
clock's time, in the recorded shapes of starrocks_replay.py:
- `SHOW ALTER TABLE COLUMN …` rows (column_job): WAITING_TXN with Progress NULL, then RUNNING with `done/total`
  (Progress is shown only while RUNNING: docs.starrocks.io, sql-reference/sql-statements/table_bucket_part_index/
  SHOW_ALTER; the recorded `18/48` row is from StarRocks issue #46534), then FINISHED;
- `information_schema.task_runs` rows (TASK_RUN_COLUMNS; docs.starrocks.io, sql-reference/information_schema/
  task_runs): PENDING `0%`, RUNNING `NN%`, SUCCESS `100%`; a refresh may continue in further runs of the same task
  (the task_runs page: one run per `partition_refresh_number` partitions), each with its own QUERY_ID;
- the refusal of an ALTER while another job holds the table (BUSY_SCHEMA_CHANGE_4X / _3X).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Callable, Sequence

from tests.support.starrocks_replay import (BUSY_SCHEMA_CHANGE_3X, BUSY_SCHEMA_CHANGE_4X, COLUMN_JOB_COLUMNS,
                                            REFRESH_COLUMNS, REFRESH_QUERY_ID, TASK_RUN_COLUMNS, FakeClock,
                                            ReplayConnection, Step, column_job, pymysql_error)

TABLE = "ta_event_119"
ALTER = f"ALTER TABLE {TABLE} ADD COLUMN c2 INT"
REFRESH = "REFRESH MATERIALIZED VIEW tva"
TASK = "mv-10019"

Curve = Callable[[float], float]  # share of the running time -> share of the steps the server shows


def linear(share: float) -> float:
    return share


@dataclass
class SimulatedJob:
    """A job: Progress NULL for `waiting` seconds (WAITING_TXN, or a PENDING task run), then RUNNING with the share of
    its `steps` that `curve` gives (None: Progress stays NULL), never all of them while RUNNING; it ends at
    `start + duration` whatever the curve shows then. A curve may go backwards (a progress that is reset)."""

    job_id: int
    duration: float
    steps: int = 48
    curve: Curve | None = linear
    waiting: float = 0.0
    start: float = 0.0

    @property
    def finish(self) -> float:
        return self.start + self.duration

    def done(self, now: float) -> int | None:
        """Steps shown as done at `now` while RUNNING; None while Progress is NULL."""
        run = now - self.start - self.waiting
        if run < 0 or self.curve is None:
            return None
        share = self.curve(min(1.0, run / max(self.duration - self.waiting, 1e-9)))
        return max(0, min(self.steps - 1, math.floor(share * self.steps)))

    def column_row(self, now: float) -> tuple:
        if now >= self.finish:
            return column_job(str(self.job_id), "FINISHED")
        if now < self.start + self.waiting:
            return column_job(str(self.job_id), "WAITING_TXN")
        done = self.done(now)
        return column_job(str(self.job_id), "RUNNING", "NULL" if done is None else f"{done}/{self.steps}")

    def task_run_row(self, now: float, query_id: str) -> tuple:
        if now >= self.finish:
            return (query_id, TASK, "SUCCESS", None, "100%")
        done = self.done(now)
        if now < self.start + self.waiting or done is None:
            return (query_id, TASK, "PENDING" if now < self.start + self.waiting else "RUNNING", None, "0%")
        return (query_id, TASK, "RUNNING", None, f"{done * 100 // self.steps}%")


_BY_QUERY_ID = re.compile(r"SELECT .* FROM information_schema\.task_runs WHERE QUERY_ID = '([^']*)'$")
_LATEST_RUN = re.compile(r"SELECT .* FROM information_schema\.task_runs WHERE TASK_NAME = '([^']*)'"
                         r" ORDER BY CREATE_TIME DESC LIMIT 1$")


class SimulatedFE(ReplayConnection):
    """Answers ALTER / SHOW ALTER TABLE COLUMN for table TABLE and REFRESH / task_runs for task TASK.

    - `job`: the schema change the ALTER starts (it starts when the ALTER is accepted); none: applied in place;
    - `holder`: a job of the table already running: the ALTER is refused (the 4.x and 3.x texts in turn) until it
      ends, and SHOW ALTER TABLE lists it;
    - `runs`: the task runs of a refresh, one after the other from the REFRESH statement on.
    """

    def __init__(self, clock: FakeClock, *, job: SimulatedJob | None = None, holder: SimulatedJob | None = None,
                 runs: Sequence[SimulatedJob] = ()) -> None:
        super().__init__([])
        self.clock, self.job, self.holder, self.runs = clock, job, holder, list(runs)
        self.accepted_at: float | None = None  # when the ALTER was accepted
        self.refused = 0

    def run_ids(self) -> list[str]:
        return [REFRESH_QUERY_ID if i == 0 else f"{REFRESH_QUERY_ID[:-4]}{i:04d}" for i in range(len(self.runs))]

    def answer(self, sql: str) -> Step:
        self.sent.append(sql)
        now = self.clock.now
        if sql.startswith("SHOW ALTER TABLE COLUMN") and f"TableName = '{TABLE}'" in sql:
            listed = [j for j in (self.holder, self.job if self.accepted_at is not None else None) if j is not None]
            newest = max(listed, key=lambda j: j.job_id, default=None)
            return Step(sql, columns=COLUMN_JOB_COLUMNS, rows=[newest.column_row(now)] if newest else [])
        if sql == ALTER:
            if self.holder is not None and now < self.holder.finish:
                self.refused += 1
                raise pymysql_error(*(BUSY_SCHEMA_CHANGE_4X if self.refused % 2 else BUSY_SCHEMA_CHANGE_3X))
            self.accepted_at = now
            if self.job is not None:
                self.job.start = now
            return Step(sql)
        if sql == REFRESH:
            start = now
            for run in self.runs:
                run.start, start = start, start + run.duration
            return Step(sql, columns=REFRESH_COLUMNS, rows=[(REFRESH_QUERY_ID,)])
        by_id, latest = _BY_QUERY_ID.match(sql), _LATEST_RUN.match(sql)
        if by_id or (latest and latest.group(1) == TASK):
            started = [(query_id, run) for query_id, run in zip(self.run_ids(), self.runs) if run.start <= now]
            if by_id:
                started = [(query_id, run) for query_id, run in started if query_id == by_id.group(1)]
            rows = [started[-1][1].task_run_row(now, started[-1][0])] if started else []
            return Step(sql, columns=TASK_RUN_COLUMNS, rows=rows)
        raise AssertionError(f"the simulated FE does not know {sql!r}")
