"""History rows written without running a script: `migrate repair` and `migrate baseline`, each under the run lock."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from rockway.clock import utcnow
from rockway.errors import UsageError
from rockway.migrate.history import evolve
from rockway.migrate.lock import migration_lock
from rockway.migrate.planner import describe
from rockway.migrate.project import Project, Session, run_context
from rockway.migrate.resolve import statement_done
from rockway.model import AppliedRow, Kind, MigrationInfo, RowType, Script, State, Version
from rockway.observability import spans


@dataclass
class RepairResult:
    removed_failed: list[str] = field(default_factory=list)
    realigned: list[str] = field(default_factory=list)
    deleted_missing: list[str] = field(default_factory=list)
    marked_done: list[str] = field(default_factory=list)


def repair(session: Session, project: Project, run_id: str, *, statement_done_ref: str | None = None) -> RepairResult:
    """Remove failed rows, realign checksums/descriptions, mark missing scripts deleted; or mark one pending
    statement done (`statement_done_ref`: the version or R description of an interrupted migration)."""
    result = RepairResult()
    scripts = project.scripts
    if statement_done_ref is not None:  # a wrong reference is bad input: refuse before the lock writes its owner
        _interrupted(describe(scripts, session.history.rows()), statement_done_ref)
    with migration_lock(session.adapter, session.settings, run_id):
        rows = session.history.rows()
        infos = describe(scripts, rows)
        if statement_done_ref is not None:
            result.marked_done.append(_mark_statement_done(session, project, infos, statement_done_ref))
            return result
        next_rank = session.history.next_rank(rows)
        for i in infos:
            row = i.row
            if row is None:
                continue
            if i.state in (State.FAILED, State.INTERRUPTED):
                session.history.delete(row.installed_rank)
                result.removed_failed.append(f"{i.label} {i.description}")
            elif i.state in (State.APPLIED, State.OUTDATED) and i.script is not None and i.kind is Kind.VERSIONED and (
                    i.checksum_mismatch or row.description != i.script.description):
                session.history.write(evolve(row, checksum=i.script.checksum, description=i.script.description))
                result.realigned.append(f"{i.label} {i.description}")
            elif i.state is State.MISSING:
                ctx = run_context(session, run_id)
                session.history.write(AppliedRow(
                    installed_rank=next_rank, version=row.version, description=row.description, type=RowType.DELETE,
                    script=row.script, checksum=None, installed_by=ctx.installed_by, installed_on=utcnow(),
                    execution_time=0, success=True, run_id=run_id, trace_id=spans.current_trace_id(),
                    host=ctx.host, tool_version=ctx.tool_version))
                next_rank += 1
                result.deleted_missing.append(f"{i.label} {i.description}")
    return result


def _interrupted(infos: Sequence[MigrationInfo], ref: str) -> MigrationInfo:
    """The interrupted migration `--statement-done REF` names."""
    wanted = [i for i in infos if i.state is State.INTERRUPTED and i.row is not None
              and (str(i.version) == ref.lstrip("VvUu") if i.version is not None else i.description == ref)]
    if not wanted:
        raise UsageError(f"--statement-done {ref}: no interrupted migration matches {ref!r}",
                         hint="`migrate info` lists interrupted migrations; --statement-done takes its version (or R description).")
    return wanted[0]


def _mark_statement_done(session: Session, project: Project, infos: Sequence[MigrationInfo], ref: str) -> str:
    """Record the pending (unknown-outcome) statement of one interrupted migration as applied."""
    i = _interrupted(infos, ref)
    row = i.row
    assert row is not None and i.script is not None
    k = row.pending_statement or row.statements_applied + 1
    script: Script = i.script
    command = "migrate up"
    if row.type is RowType.UNDO_SQL:  # an interrupted rollback: its statements are the U script's, not the V script's
        undo = [s for s in project.scripts if s.kind is Kind.UNDO and s.version == i.version]
        if not undo:
            raise UsageError(f"U{i.version}: the undo script of this interrupted rollback is missing; restore it first")
        script, command = undo[0], "migrate rollback"
    statements = project.statements(script)
    if k > len(statements):
        raise UsageError(f"{i.label} has no statement {k}")
    session.history.write(statement_done(row, statements, k))
    after = f"continues at statement {k + 1}" if k < len(statements) else "records it as finished"
    return f"{i.label} {i.description}: statement {k} marked as applied; `{command}` {after}"


def baseline(session: Session, run_id: str, version: Version, description: str) -> AppliedRow:
    """Record that the database already contains everything up to `version`."""
    _refuse_baseline(session)  # before the lock writes its owner: bad input writes nothing
    with migration_lock(session.adapter, session.settings, run_id):
        session.history.ensure()
        rows = _refuse_baseline(session)  # again: another run may have migrated while we waited
        ctx = run_context(session, run_id)
        row = AppliedRow(installed_rank=session.history.next_rank(rows), version=version, description=description,
                         type=RowType.BASELINE, script=description, checksum=None, installed_by=ctx.installed_by,
                         installed_on=utcnow(), execution_time=0, success=True, run_id=run_id,
                         trace_id=spans.current_trace_id(), git_sha=ctx.git_sha, host=ctx.host,
                         tool_version=ctx.tool_version)
        session.history.write(row)
        return row


def _refuse_baseline(session: Session) -> list[AppliedRow]:
    """The history rows; UsageError when rockway has migrated this database already."""
    rows = session.history.rows()
    if any(r.type is not RowType.DELETE for r in rows):
        raise UsageError(f"history table {session.settings.history_table!r} already has {len(rows)} row(s); baseline"
                         " only applies to a database rockway has not migrated yet")
    return rows
