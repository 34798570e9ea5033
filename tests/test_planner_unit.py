"""Planner invariants over generated histories (the worked examples are in tests/cases/planner/*.yaml)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from hypothesis import given, strategies as st

from rockway.model import (Action, AppliedRow, Kind, MigrationInfo, RowStatus, RowType, Script, State, Version)
from rockway.planner import Options, blocker_message, plan_up


def v_script(v: int, checksum: str = "c") -> Script:
    name = f"migrations/V{v}__s{v}.sql"
    return Script(Kind.VERSIONED, Version.parse(str(v)), f"s{v}", Path(name), name, f"{checksum}{v}", "")


def r_script(description: str, checksum: str = "r") -> Script:
    name = f"repeatable/R__{description.replace(' ', '_')}.sql"
    return Script(Kind.REPEATABLE, None, description, Path(name), name, checksum, "")


def make_row(rank: int, version: int | None, description: str, kind: RowType, status: RowStatus, applied: int,
             total: int, pending: bool, checksum: str) -> AppliedRow:
    return AppliedRow(installed_rank=rank, version=Version.parse(str(version)) if version is not None else None,
                      description=description, type=kind, script=description, checksum=checksum, installed_by="x",
                      installed_on=None, execution_time=0, success=status is RowStatus.SUCCESS, status=status,
                      statements_total=total, statements_applied=applied,
                      pending_statement=applied + 1 if pending and status is RowStatus.RUNNING else None,
                      error="boom" if status is RowStatus.FAILED else None,
                      error_statement=applied + 1 if status is RowStatus.FAILED else None)


@st.composite
def histories(draw):  # type: ignore[no-untyped-def]
    """Scripts V1..Vn (+ one repeatable) and history rows for some of them, in installed_rank order."""
    n = draw(st.integers(1, 6))
    scripts = [v_script(v) for v in range(1, n + 1)] + [r_script("my views")]
    rows: list[AppliedRow] = []
    rank = 1
    baseline = draw(st.integers(0, n))
    if baseline:
        rows.append(make_row(rank, baseline, "<< baseline >>", RowType.BASELINE, RowStatus.SUCCESS, 0, 0, False, ""))
        rank += 1
    for v in range(baseline + 1, n + 1):
        if not draw(st.booleans()):
            continue
        status = draw(st.sampled_from(list(RowStatus)))
        total = draw(st.integers(0, 4))
        applied = total if status is RowStatus.SUCCESS else draw(st.integers(0, max(0, total - 1)))
        kind = draw(st.sampled_from([RowType.SQL, RowType.SQL, RowType.UNDO_SQL]))
        rows.append(make_row(rank, v, f"s{v}", kind, status, applied, total, draw(st.booleans()), f"c{v}"))
        rank += 1
    if draw(st.booleans()):
        status = draw(st.sampled_from(list(RowStatus)))
        rows.append(make_row(rank, None, "my views", RowType.SQL, status, 0, 1, draw(st.booleans()), "r-old"))
    return scripts, rows


@given(histories(), st.booleans())
def test_plans_never_re_apply_applied_work_and_blocked_plans_run_nothing(history, resume) -> None:  # type: ignore[no-untyped-def]
    scripts, rows = history
    plan = plan_up(scripts, rows, Options(resume=resume))
    if plan.blockers:
        assert plan.steps == ()
    latest = {r.version: r for r in rows if r.version is not None}
    for step in plan.steps:
        row = latest.get(step.script.version) if step.script.version is not None else None
        if step.action is Action.APPLY and step.script.kind is Kind.VERSIONED:
            assert row is None or row.type is RowType.UNDO_SQL and row.status is RowStatus.SUCCESS, (step, row)
        if step.action is Action.CONTINUE:
            assert step.row is not None and step.row.status is not RowStatus.SUCCESS
            assert step.start_at == step.row.statements_applied + 1
    versions = [s.script.version for s in plan.steps if s.action is Action.APPLY and s.script.kind is Kind.VERSIONED]
    assert versions == sorted(versions)


@given(histories())
def test_every_blocker_names_a_runnable_next_command_and_no_empty_range(history) -> None:  # type: ignore[no-untyped-def]
    scripts, rows = history
    for message in plan_up(scripts, rows).blockers:
        assert not re.search(r"\b1\.\.0\b", message), message
        for command in re.findall(r"`((?:rockway )?migrate [^`]+)`", message):
            words = shlex.split(command)  # a person pastes it into a shell
            if "--statement-done" in words:
                assert len(words) == words.index("--statement-done") + 2, command


def test_statement_done_for_a_repeatable_quotes_a_description_with_spaces() -> None:
    script = r_script("order views")
    row = make_row(3, None, "order views", RowType.SQL, RowStatus.RUNNING, 0, 1, True, "r")
    message = blocker_message(MigrationInfo(Kind.REPEATABLE, None, "order views", State.INTERRUPTED, script, row))
    command = next(c for c in re.findall(r"`(migrate [^`]+)`", message) if "--statement-done" in c)
    assert shlex.split(command) == ["migrate", "repair", "--statement-done", "order views"]
