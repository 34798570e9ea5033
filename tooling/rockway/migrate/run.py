"""One `migrate up` or `migrate rollback` run: every input checked before anything is written, then under the run
lock the plan made again from the history as it is now, and its executor.

migrate/api.py strings these together with what only the command may add (the MV health check, the schema
snapshot).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Iterator, Sequence

from rockway.config import Settings
from rockway.errors import MigrationFailed, UsageError
from rockway.migrate.executor import EventCallback, Executor
from rockway.migrate.lock import RunLock, WaitCallback, migration_lock
from rockway.migrate.planner import (Options, add_dependent_repeatables, order_steps, plan_rollback, plan_up, prerender,
                                     refuse_changed_scripts)
from rockway.migrate.project import Session, run_context
from rockway.migrate.replication import refuse_more_replicas_than_backends
from rockway.migrate.resolve import resolve
from rockway.migrate.unchanged_repeatables import record_unchanged, skip_unchanged
from rockway.model import AppliedRow, Plan, Script, Version


@dataclass(frozen=True)
class RunRequest:
    """What `migrate up` (or, with `rollback`, `migrate rollback`) was asked to do."""

    rollback: bool = False
    target: Version | None = None  # up: apply versions up to this one
    resume: bool = False
    auto_resolve: bool = False
    dry_run: bool = False
    steps: int | None = None  # rollback: how many applied versions
    to: Version | None = None  # rollback: every applied version above this one

    @property
    def command(self) -> str:
        return "migrate rollback" if self.rollback else "migrate up"

    def plan(self, settings: Settings, scripts: Sequence[Script], rows: Sequence[AppliedRow]) -> Plan:
        if self.rollback:
            return plan_rollback(scripts, rows, steps=self.steps, to=self.to, resume=self.resume)
        return plan_up(scripts, rows, Options(target=self.target, out_of_order=settings.out_of_order, resume=self.resume))


@dataclass(frozen=True)
class Checked:
    """The plan `check_inputs` judged (its steps in running order, every script rendered) and the history rows it
    was made from."""

    plan: Plan
    rows: tuple[AppliedRow, ...]


def check_inputs(session: Session, request: RunRequest) -> Checked:
    """Everything that can be wrong with the inputs fails here, before anything is written."""
    settings, project = session.settings, session.project
    rows = session.history.rows()
    first = request.plan(settings, project.scripts, rows)
    if first.missing_files:  # an input problem (exit 2), not history needing a person
        raise UsageError("\n\n".join(first.blockers))
    if settings.validate_on_migrate:
        refuse_changed_scripts(first.infos, request.command)
    if not request.rollback:
        first = add_dependent_repeatables(project, skip_unchanged(first, project.statements))
    steps = order_steps(project, first.steps)
    prerender(project, steps)
    if not request.rollback and first.steps and session.adapter.capabilities.replicas:
        refuse_more_replicas_than_backends(settings, session.adapter.alive_backends())
    return Checked(Plan(tuple(steps), first.infos, first.blockers, first.notes), tuple(rows))


@contextmanager
def locked(session: Session, request: RunRequest, run_id: str, on_wait: WaitCallback | None) -> Iterator[RunLock | None]:
    """The run lock held for the block; none for a dry run (it writes nothing)."""
    if request.dry_run:
        yield None
        return
    with migration_lock(session.adapter, session.settings, run_id, on_wait=on_wait) as lock:
        yield lock


def final_plan(session: Session, request: RunRequest, checked: Checked | None = None) -> tuple[Plan, list[AppliedRow]]:
    """The plan under the run lock and the history rows it starts from, read again: another run may have finished
    while this one waited. While the rows are those `checked` was made from, its plan stands: planning is a function
    of the scripts and the rows (made again, ~100k instructions per script: bench/bench_migrate_instructions.py)."""
    project = session.project
    session.history.ensure()
    rows = session.history.rows()
    if checked is not None and not checked.plan.blockers and tuple(rows) == checked.rows:
        return checked.plan, list(rows)
    make_plan = partial(request.plan, session.settings, project.scripts)
    plan = make_plan(rows)
    if plan.blockers and not request.rollback:  # the catalog may tell whether a pending statement took effect
        plan, rows = resolve(session.adapter, session.history, project, plan, rows, make_plan, apply=request.auto_resolve)
    if plan.blockers:
        raise MigrationFailed("\n\n".join(plan.blockers))
    if not request.rollback:
        plan = add_dependent_repeatables(project, skip_unchanged(plan, project.statements))
    steps = order_steps(project, plan.steps)
    prerender(project, steps)
    return Plan(tuple(steps), plan.infos, plan.blockers, plan.notes), list(rows)


def executor_for(session: Session, plan: Plan, run_id: str, *, lock: RunLock | None,
                 on_event: EventCallback | None) -> Executor:
    """The executor of a final plan; the repeatables it skips as rendering unchanged get their new checksum now."""
    executor = Executor(session.adapter, session.history, session.project, run_context(session, run_id),
                        on_event=on_event, lock=lock, settings=session.settings)
    record_unchanged(session.history, plan)
    return executor
