"""Apply a plan statement by statement, journaling each statement in the history row before and after it runs."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol, Sequence

from rockway import extensions

from rockway.observability import spans
from rockway.adapters.base import Adapter, StatementResult
from rockway.clock import utcnow
from rockway.config import Settings
from rockway.errors import DatabaseError, InputError, Interrupted, MigrationFailed, OutcomeUnknown, RockwayError
from rockway.migrate.history import HistoryStore, evolve
from rockway.model import Action, AppliedRow, MigrationInfo, RowStatus, RowType, Script, State, Statement, Step
from rockway.migrate.planner import blocker_message, first_statements
from rockway.observability.redaction import display_sql, redact_server_message
from rockway.observability.sql_summary import operation_name


class StatementSource(Protocol):
    def statements(self, script: Script) -> list[Statement]: ...


class LockCheck(Protocol):
    def check(self) -> None: ...


@dataclass(frozen=True)
class RunContext:
    """Who and what is running, recorded in every history row."""

    run_id: str
    installed_by: str
    host: str
    tool_version: str
    git_sha: str | None = None


@dataclass(frozen=True)
class Event:
    """Progress reported to the caller (the CLI prints these)."""

    kind: str  # migration | statement | statement_done | progress | migration_done
    script: Script | None = None
    index: int = 0
    total: int = 0
    sql: str = ""
    message: str = ""
    seconds: float = 0.0


@dataclass
class Applied:
    """One script the run executed."""

    script: Script
    action: Action
    statements_run: int
    seconds: float
    async_jobs: tuple[str, ...] = ()


@dataclass
class RunReport:
    """What a run did."""

    run_id: str
    trace_id: str | None
    applied: list[Applied] = field(default_factory=list)


EventCallback = Callable[[Event], None]


def statement_hash(sql: str) -> str:
    """Short, stable hash of one statement's text (the journal's prefix check)."""
    return hashlib.sha256(sql.strip().encode("utf-8")).hexdigest()[:16]


def scrub_error(message: str, sql: str) -> str:
    """A server error message about sql, for history and people: the statement's secrets masked (redaction.py)."""
    return redact_server_message(message, sql)[:4000]


class Executor:
    """Runs plan steps; never re-runs a statement the journal recorded as done."""

    def __init__(self, adapter: Adapter, history: HistoryStore, source: StatementSource, context: RunContext, *,
                 on_event: EventCallback | None = None, lock: LockCheck | None = None,
                 settings: Settings | None = None) -> None:
        self.settings = settings
        self.adapter = adapter
        self.history = history
        self.source = source
        self.context = context
        self.on_event = on_event or (lambda event: None)
        self._notify = on_event is not None  # events are built only for a caller that reads them
        self.lock = lock
        self.dry_run = history.dry_run
        self._deferred: AppliedRow | None = None

    def run(self, steps: Sequence[Step], rows: Sequence[AppliedRow]) -> RunReport:
        """Execute steps in order; stop at the first failure."""
        report = RunReport(self.context.run_id, spans.current_trace_id())
        next_rank = max((r.installed_rank for r in rows), default=0) + 1
        try:
            for step in steps:
                if self.lock is not None:
                    self.lock.check()
                rank = step.row.installed_rank if step.row is not None else next_rank
                if step.row is None:
                    next_rank += 1
                report.applied.append(self._run_step(step, rank))
        finally:
            self._flush()
        return report

    # --- one script --------------------------------------------------------------------------
    def _run_step(self, step: Step, rank: int) -> Applied:
        script = step.script
        statements = self.source.statements(script)
        hashes = [statement_hash(s.sql) for s in statements]
        start_at = step.start_at
        if step.action is Action.CONTINUE and step.row is not None:
            self._check_prefix(step, statements, hashes)
        label = script.display
        with spans.migration_span(label, **{"rockway.script": script.name, "rockway.action": step.action.value,
                                                 "rockway.statements.total": len(statements),
                                                 "rockway.statements.start_at": start_at}):
            if self._notify:
                self.on_event(Event("migration", script, start_at, len(statements),
                                    message="continuing at statement %d" % start_at if start_at > 1 else ""))
            started = time.monotonic()
            if start_at > len(statements):  # nothing left to run (e.g. marked done by repair)
                row = self._initial_row(step, rank, statements, hashes, None)
                row = self._finish(row, started, row.execution_time, list(row.async_jobs))
                return Applied(script, step.action, 0, time.monotonic() - started, row.async_jobs)
            row = self._initial_row(step, rank, statements, hashes, statements[start_at - 1])
            previous_ms = row.execution_time
            jobs = list(row.async_jobs)
            self._write(row)
            for stmt in statements[start_at - 1:]:
                row = self._run_statement(script, stmt, row, statements, hashes, jobs, started, previous_ms)
            seconds = time.monotonic() - started
            if self._notify:
                self.on_event(Event("migration_done", script, len(statements), len(statements), seconds=seconds))
            return Applied(script, step.action, len(statements) - start_at + 1, seconds, tuple(jobs))

    def _initial_row(self, step: Step, rank: int, statements: Sequence[Statement], hashes: Sequence[str],
                     pending: Statement | None) -> AppliedRow:
        """The row as the run starts the script: running, `pending` (the statement it starts at) next."""
        script = step.script
        pending_at = pending.index if pending is not None else None
        statement_sql = describe_statement(pending) if pending is not None else None
        if step.row is not None:
            return evolve(step.row, checksum=script.checksum, statements_total=len(statements), status=RowStatus.RUNNING,
                          success=False, error=None, error_statement=None,
                          statement_hashes=tuple(hashes[: step.start_at - 1]), statements_applied=step.start_at - 1,
                          host=self.context.host, git_sha=self.context.git_sha, tool_version=self.context.tool_version,
                          **({} if pending is None else {"pending_statement": pending_at, "statement_sql": statement_sql,
                                                         "run_id": self.context.run_id,
                                                         "trace_id": spans.current_trace_id()}))
        row_type = RowType.UNDO_SQL if step.action is Action.UNDO else RowType.SQL
        return AppliedRow(
            installed_rank=rank, version=script.version, description=script.description, type=row_type,
            script=script.name, checksum=script.checksum, installed_by=self.context.installed_by, installed_on=utcnow(),
            execution_time=0, success=False, status=RowStatus.RUNNING, statements_total=len(statements),
            statements_applied=0, pending_statement=pending_at, statement_sql=statement_sql, run_id=self.context.run_id,
            trace_id=spans.current_trace_id(), git_sha=self.context.git_sha, host=self.context.host,
            tool_version=self.context.tool_version)

    def _check_prefix(self, step: Step, statements: Sequence[Statement], hashes: Sequence[str]) -> None:
        row = step.row
        assert row is not None
        done = step.start_at - 1
        if len(statements) < done:
            raise MigrationFailed(
                f"{step.script.display}: cannot resume at statement {step.start_at}: the script now has only"
                f" {len(statements)} statements but {done} were applied",
                hint="Restore the applied statements unchanged, or undo them by hand and run `migrate repair`.")
        for i in range(done):
            if i >= len(row.statement_hashes) or row.statement_hashes[i] != hashes[i]:
                stmt = statements[i]
                raise MigrationFailed(
                    f"{step.script.display}: cannot resume: statement {i + 1} (line {stmt.line}: {stmt.first_line[:80]})"
                    f" was applied and has changed since; applied statements are never re-run",
                    hint=f"Restore {first_statements(done)} of {step.script.name} exactly as applied, then run --resume again;"
                         " or undo them by hand and run `migrate repair`.")

    def _run_statement(self, script: Script, stmt: Statement, row: AppliedRow, statements: Sequence[Statement],
                       hashes: Sequence[str], jobs: list[str], started: float, previous_ms: int) -> AppliedRow:
        total = len(statements)
        if self._notify:
            self.on_event(Event("statement", script, stmt.index, total, sql=stmt.sql))
        t0 = time.monotonic()
        wait = stmt.directive("wait", "true") != "false"
        if self.dry_run:
            result_jobs: tuple[str, ...] = ()
        else:
            try:
                progress = lambda msg: self.on_event(Event("progress", script, stmt.index, total, message=msg))  # noqa: E731
                if extensions.is_rockway_statement(stmt.sql):
                    result = self._run_extension(script, stmt, progress)
                else:
                    with spans.statement_span(self.adapter, stmt.index, stmt.sql):
                        result = self.adapter.run_statement(stmt.sql, wait=wait, on_progress=progress)
                result_jobs = result.async_jobs
            except KeyboardInterrupt:
                raise self._interrupted(script, stmt, row) from None
            except OutcomeUnknown as exc:
                raise MigrationFailed(f"{script.display}: {exc.message} (statement {stmt.index}, line {stmt.line}:"
                                      f" {stmt.first_line[:80]})", hint=self._unknown_hint(script, row, stmt)) from exc
            except DatabaseError as exc:
                self._record_failure(script, stmt, row, exc, started, previous_ms, jobs)
            except RockwayError as exc:
                self._record_failure(script, stmt, row, exc, started, previous_ms, jobs)
        jobs.extend(result_jobs)
        if self._notify:
            self.on_event(Event("statement_done", script, stmt.index, total, seconds=time.monotonic() - t0,
                                message=", ".join(result_jobs)))
        applied = stmt.index
        done = row.statement_hashes + (hashes[applied - 1],)
        elapsed_ms = previous_ms + int((time.monotonic() - started) * 1000)
        if applied < total:
            row = evolve(row, statements_applied=applied, statement_hashes=done, pending_statement=applied + 1,
                         async_jobs=tuple(jobs), statement_sql=describe_statement(statements[applied]),
                         execution_time=elapsed_ms)
            self._write(row)
            return row
        # the script's last statement: the row is finished, as _finish makes it, in one copy
        row = evolve(row, statements_applied=applied, statement_hashes=done, status=RowStatus.SUCCESS, success=True,
                     pending_statement=None, statement_sql=None, async_jobs=tuple(jobs), execution_time=elapsed_ms)
        self._defer(row)
        return row

    def _run_extension(self, script: Script, stmt: Statement, progress: Callable[[str], None]) -> StatementResult:
        """Run a `ROCKWAY <VERB> …` statement through its registered handler."""
        if self.settings is None:
            raise MigrationFailed(f"{script.name}:{stmt.line}: rockway statements need settings")
        try:
            handler = extensions.handler_for(stmt.sql)
        except KeyError as exc:
            raise InputError(script.name, f"unknown rockway statement {exc.args[0]!r}", line=stmt.line) from None
        attrs: dict[str, Any] = {"rockway.statement.index": stmt.index}
        with spans.span(f"rockway {operation_name(stmt.sql)}", **attrs):
            return handler(self.adapter, stmt, self.settings, progress)

    def _record_failure(self, script: Script, stmt: Statement, row: AppliedRow, exc: RockwayError, started: float,
                        previous_ms: int, jobs: list[str]) -> None:
        # server messages may echo a statement's literals (secrets); rockway statements hold none
        error = exc.message[:4000] if extensions.is_rockway_statement(stmt.sql) else scrub_error(exc.message, stmt.sql)
        failed = evolve(row, status=RowStatus.FAILED, success=False, pending_statement=None, error=error,
                        error_statement=stmt.index, statement_sql=describe_statement(stmt), async_jobs=tuple(jobs),
                        execution_time=previous_ms + int((time.monotonic() - started) * 1000))
        try:
            self._write(failed)
        except RockwayError:
            pass  # the journal still shows the statement as pending: the next run treats it as unknown
        info = MigrationInfo(script.kind, script.version, script.description, State.FAILED, script, failed)
        raise MigrationFailed(blocker_message(info)) from exc

    def _interrupted(self, script: Script, stmt: Statement, row: AppliedRow) -> Interrupted:
        """Ctrl-C while a statement ran: stop it on the server and journal its outcome as unknown."""
        try:
            cancelled = self.adapter.cancel_running()
        except KeyboardInterrupt:  # a second Ctrl-C: leave at once, the journal already shows the statement pending
            cancelled = False
        where = (" (cancelled on the server with KILL QUERY)" if cancelled
                 else " (it could not be cancelled on the server and may still be running: see SHOW PROCESSLIST)")
        note = f"interrupted while statement {stmt.index} ran{where}; whether it took effect is unknown"
        try:
            # still `running` with the statement pending: the planner reads that as "outcome unknown"
            self._write(evolve(row, pending_statement=stmt.index, statement_sql=describe_statement(stmt), error=note))
        except (RockwayError, KeyboardInterrupt):
            pass  # the row written before the statement already shows it pending
        return Interrupted(f"{script.display}: {note}", hint=self._unknown_hint(script, row, stmt))

    def _unknown_hint(self, script: Script, row: AppliedRow, stmt: Statement) -> str:
        interrupted = evolve(row, pending_statement=stmt.index, statements_applied=stmt.index - 1,
                             statement_sql=describe_statement(stmt))
        info = MigrationInfo(script.kind, script.version, script.description, State.INTERRUPTED, script, interrupted)
        return blocker_message(info)

    def _finish(self, row: AppliedRow, started: float, previous_ms: int, jobs: list[str]) -> AppliedRow:
        """Mark the row successful; the write goes out with the next journal write (or at the end of the run)."""
        row = evolve(row, status=RowStatus.SUCCESS, success=True, pending_statement=None, statement_sql=None,
                     async_jobs=tuple(jobs),
                     execution_time=previous_ms + int((time.monotonic() - started) * 1000))
        self._defer(row)
        return row

    def _defer(self, row: AppliedRow) -> None:
        """Hold a finished row for the next journal write; a row already held for another script goes out now.

        Two finished rows can meet without a journal write in between (a script that renders to no statement,
        or one resumed past its last statement); dropping the first would leave its last statement "pending".
        """
        held = self._deferred
        if held is not None and held.installed_rank != row.installed_rank:
            self._deferred = None
            self.history.write(held, row)
            return
        self._deferred = row

    def _write(self, row: AppliedRow) -> None:
        """Write a journal row, together with a finished row still waiting to be written (one round trip).

        Until it is written, a finished migration's row still says its last statement is pending, so a crash
        in between is reported as "outcome unknown", never as done: the journal stays on the safe side.
        """
        deferred, self._deferred = self._deferred, None
        if deferred is not None and deferred.installed_rank != row.installed_rank:
            self.history.write(deferred, row)
        else:
            self.history.write(row)

    def _flush(self) -> None:
        """Write the last finished row if it is still waiting."""
        if self._deferred is not None:
            deferred, self._deferred = self._deferred, None
            self.history.write(deferred)


def describe_statement(stmt: Statement) -> str:
    """`line N: <first line>` as written with secrets masked, for history and messages (never blank)."""
    return f"line {stmt.line}: {display_sql(stmt.sql, 200)}"
