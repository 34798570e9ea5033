"""Planner invariants over generated histories (the worked examples are in tests/cases/planner/*.yaml)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from hypothesis import given, strategies as st

from rockway.migrate.history import evolve
from rockway.model import (Action, AppliedRow, Kind, MigrationInfo, RowStatus, RowType, Script, State, Version)
from rockway.migrate.planner import Options, blocker_message, plan_rollback, plan_up


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
                      pending_statement=applied + 1 if pending and status is RowStatus.RUNNING and applied < total else None,
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
        total = draw(st.integers(0 if status is RowStatus.SUCCESS else 1, 4))  # only scripts with statements stop
        # a running row with nothing pending may have every statement applied (after `repair --statement-done`)
        top = total if status is RowStatus.RUNNING else max(0, total - 1)
        applied = total if status is RowStatus.SUCCESS else draw(st.integers(0, top))
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
    for message in plan_up(scripts, rows).blockers + plan_rollback(scripts, rows).blockers:
        assert not re.search(r"\b1\.\.0\b", message), message
        for k, n in re.findall(r"statement (\d+) of (\d+)", message):
            assert int(k) <= int(n), message  # never "statement 3 of 2"
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


def test_rollback_finishes_an_undo_whose_pending_statement_was_marked_done() -> None:
    """`migrate repair --statement-done 2` on an interrupted undo, then `migrate rollback` as the message says."""
    v2, u2 = v_script(2), Script(Kind.UNDO, Version.parse("2"), "s2", Path("migrations/U2__s2.sql"),
                                 "migrations/U2__s2.sql", "u2", "")
    rows = [make_row(1, 2, "s2", RowType.SQL, RowStatus.SUCCESS, 2, 2, False, "c2"),
            make_row(2, 2, "s2", RowType.UNDO_SQL, RowStatus.RUNNING, 2, 2, False, "u2")]  # both DROPs applied
    plan = plan_rollback([v2, u2], rows)
    assert plan.blockers == ()
    assert [(s.action, s.script.kind, s.start_at) for s in plan.steps] == [(Action.CONTINUE, Kind.UNDO, 3)]
    message = plan_up([v2, u2], rows).blockers[0]
    assert "statement 3" not in message and "`migrate rollback`" in message


def test_an_unfinished_undo_names_its_u_script_not_the_v_script() -> None:
    """Found by the simulation: "fix statement 2 in migrations/V9…" sent people to the wrong file."""
    v9 = v_script(9)
    failed = evolve(make_row(2, 9, "s9", RowType.UNDO_SQL, RowStatus.FAILED, 1, 2, False, "u9"),
                    script="migrations/U9__s9.sql")
    message = blocker_message(MigrationInfo(Kind.VERSIONED, Version.parse("9"), "s9", State.FAILED, v9, failed))
    assert message.startswith("U9 (s9) failed at statement 2 of 2")
    assert "fix statement 2 in migrations/U9__s9.sql" in message and "V9__" not in message
