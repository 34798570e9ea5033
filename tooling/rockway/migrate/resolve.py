"""`migrate up` after a statement whose outcome is unknown: ask the catalog which case holds, say the one command
that follows, and with --auto-resolve record that case in the journal and continue.

Only statements `outcome.classify_statement` knows are judged; for every other statement `migrate up` keeps the
two-way message of `planner.blocker_message`.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Callable, Sequence

from rockway.adapters.base import Adapter
from rockway.migrate.executor import StatementSource, statement_hash
from rockway.migrate.history import HistoryStore, evolve
from rockway.model import AppliedRow, MigrationInfo, Plan, RowStatus, RowType, State, Statement
from rockway.migrate.outcome import Verdict, classify_statement, judge
from rockway.migrate.planner import blocker_message


@dataclass(frozen=True)
class Resolution:
    """The catalog's answer for one interrupted migration's pending statement."""

    info: MigrationInfo
    statement: int
    verdict: Verdict

    @property
    def row(self) -> AppliedRow:
        assert self.info.row is not None
        return self.info.row

    def command(self) -> str:
        # a repeatable is named by its description, which may hold spaces: quoted so the command runs as printed
        ref = self.info.version if self.info.version is not None else shlex.quote(self.info.description)
        if self.verdict.took_effect:
            return f"`migrate repair --statement-done {ref}`, then `migrate up`"
        return "`migrate up --resume`"

    def finding(self) -> str:
        k = self.statement
        return f"{self.verdict.evidence}: statement {k} {'took' if self.verdict.took_effect else 'did not take'} effect"

    def message(self) -> str:
        what = f" ({self.row.statement_sql})" if self.row.statement_sql else ""
        return (f"{self.info.label} ({self.info.description}) was interrupted while statement {self.statement} of"
                f" {self.row.statements_total}{what} was running.\n"
                f"  {self.finding()} → {self.command()}\n"
                f"  (`migrate up --auto-resolve` does this and continues.)")

    def resolved_row(self, statements: Sequence[Statement]) -> AppliedRow:
        """The journal row once this case is recorded; either way no statement is pending any more."""
        if self.verdict.took_effect:
            return statement_done(self.row, statements, self.statement)
        # statements 1..k-1 applied, nothing in flight: `migrate up` continues at k
        return evolve(self.row, pending_statement=None, status=RowStatus.RUNNING, error=None, error_statement=None)


def statement_done(row: AppliedRow, statements: Sequence[Statement], k: int) -> AppliedRow:
    """The journal row with statement k (of unknown outcome, now known to have taken effect) recorded as applied."""
    hashes = row.statement_hashes[: k - 1] + (statement_hash(statements[k - 1].sql),)
    return evolve(row, statements_applied=k, statement_hashes=hashes, pending_statement=None, status=RowStatus.RUNNING,
                  error=None, error_statement=None)


def find(adapter: Adapter, source: StatementSource, infos: Sequence[MigrationInfo]) -> list[Resolution]:
    """A Resolution for every interrupted `migrate up` whose pending statement the catalog can judge."""
    found: list[Resolution] = []
    for info in infos:
        row = info.row
        if info.state is not State.INTERRUPTED or row is None or row.type is not RowType.SQL or info.script is None:
            continue
        k = row.pending_statement
        statements = source.statements(info.script)
        if not k or k > len(statements):
            continue
        check = classify_statement(statements[k - 1].sql)
        verdict = judge(check, adapter.catalog_has, adapter.database) if check is not None else None
        if verdict is not None:
            found.append(Resolution(info, k, verdict))
    return found


def resolve(adapter: Adapter, history: HistoryStore, source: StatementSource, plan: Plan, rows: Sequence[AppliedRow],
            make_plan: Callable[[Sequence[AppliedRow]], Plan], *, apply: bool) -> tuple[Plan, list[AppliedRow]]:
    """The plan with each judged blocker replaced by the catalog's answer; with apply, those cases are recorded
    in the journal (under the caller's run lock) and the plan is made again from the updated rows."""
    found = find(adapter, source, plan.infos)
    if not found:
        return plan, list(rows)
    if not apply:
        answers = {blocker_message(r.info): r.message() for r in found}
        return Plan(plan.steps, plan.infos, tuple(answers.get(b, b) for b in plan.blockers), plan.notes), list(rows)
    updated = {}
    notes = []
    for r in found:
        assert r.info.script is not None
        row = r.resolved_row(source.statements(r.info.script))
        history.write(row)
        updated[row.installed_rank] = row
        then = "is recorded as applied" if r.verdict.took_effect else "runs again"
        notes.append(f"{r.info.label} ({r.info.description}): {r.finding()}; it {then}")
    new_rows = [updated.get(row.installed_rank, row) for row in rows]
    again = make_plan(new_rows)
    return Plan(again.steps, again.infos, again.blockers, tuple(notes) + again.notes), new_rows
