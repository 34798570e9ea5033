"""The migrate operations as plain functions returning data; the CLI only parses and prints."""

from __future__ import annotations

import getpass
import os
import re
import socket
import subprocess
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, Sequence

from rockway import __version__

from rockway.observability import telemetry
from rockway.adapters import Adapter, LockOwner, connect
from rockway.config import Settings
from rockway.errors import InputError, MigrationFailed, UsageError, ValidationFailed
from rockway.migrate.executor import EventCallback, Executor, RunContext, RunReport
from rockway.migrate.history import HistoryStore, evolve, now_utc
from rockway.migrate.lock import RunLock, WaitCallback, lock_name
from rockway.mv.health import MvHealthCheck, MvHealthReport, finish_mv_health
from rockway.migrate.unchanged_repeatables import note_unchanged, record_unchanged, skip_unchanged
from rockway.migrate.replication import refuse_more_replicas_than_backends
from rockway.model import (Action, AppliedRow, Kind, MigrationInfo, Plan, RowType, Script, State, Statement, Step,
                    Version)
from rockway.migrate import planner


@dataclass
class Project:
    """The scripts of one project folder and how to render them."""

    settings: Settings
    engine: str = "starrocks"
    database: str | None = None
    _rendered: dict[tuple[str, str], list[Statement]] = field(default_factory=dict, repr=False)

    @cached_property
    def scripts(self) -> list[Script]:
        """Scripts on disk; the migrations folder must exist (a typo must not look like "nothing to do")."""
        from rockway.migrate.discovery import discover

        folder = self.settings.migrations_path
        if not folder.is_dir():
            what = "is not a folder" if folder.exists() else "does not exist"
            raise InputError(str(folder), f"the migrations folder {what}",
                             hint="Create it, or set migrations_dir in rockway.toml / ROCKWAY_MIGRATIONS_DIR.")
        return discover(self.settings.migrations_path, self.settings.repeatable_path, self.settings.project_dir)

    @cached_property
    def renderer(self):  # type: ignore[no-untyped-def]
        from rockway.templating import Renderer

        from rockway.extensions import template_globals

        renderer = Renderer(self.settings.project_dir, self.settings.vars, env_name=self.settings.env, engine=self.engine,
                            database=self.database)
        renderer.globals.update(template_globals(self.settings, self.engine))
        return renderer

    def statements(self, script: Script) -> list[Statement]:
        """Rendered and split statements of a script (rendered once per run)."""
        key = (script.name, script.checksum)
        if key not in self._rendered:
            self._rendered[key] = self.renderer.statements(script)
        return self._rendered[key]

    def use_scripts(self, scripts: list[Script]) -> None:
        """Reuse scripts already discovered (no second scan)."""
        self.__dict__["scripts"] = scripts

    def find(self, ref: str) -> list[Script]:
        """Scripts matching a file name, path, `V1.2`, `U1.2`, `1.2` or a repeatable description."""
        out = []
        for s in self.scripts:
            labels = {s.name, s.path.name, s.description}
            if s.version is not None:
                labels |= {f"{s.kind.value}{s.version}"} | ({str(s.version)} if s.kind is Kind.VERSIONED else set())
            if ref in labels or Path(ref).resolve() == s.path.resolve():
                out.append(s)
        if not out:
            raise UsageError(f"no script matches {ref!r}", hint="Use a file name, V<version>, U<version> or an R description.")
        return out


@dataclass
class Session:
    """An open connection plus the history store of the configured table."""

    settings: Settings
    adapter: Adapter
    history: HistoryStore
    project: Project

    def close(self) -> None:
        self.adapter.close()


def _table_properties(settings: Settings) -> dict[str, str]:
    return {"replication_num": str(settings.replication_num)} if settings.replication_num else {}


@contextmanager
def open_session(settings: Settings, *, sink: Callable[[str], None] | None = None) -> Iterator[Session]:
    """Connect, build the history store and project; close on exit."""
    adapter = connect(settings)
    try:
        history = HistoryStore(adapter, settings.history_table, properties=_table_properties(settings), sink=sink)
        yield Session(settings, adapter, history, Project(settings, adapter.engine, adapter.database))
    finally:
        adapter.close()


def git_sha(project_dir: Path) -> str | None:
    """The commit being deployed: from CI variables, else `git rev-parse HEAD`, else None."""
    for var in ("ROCKWAY_GIT_SHA", "GITHUB_SHA", "CI_COMMIT_SHA", "GIT_COMMIT"):
        if os.environ.get(var):
            return os.environ[var][:64]
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=project_dir, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def run_context(session: Session, run_id: str) -> RunContext:
    """Who is running, for history rows."""
    user = session.settings.installed_by or session.adapter.user or getpass.getuser()
    return RunContext(run_id=run_id, installed_by=user, host=socket.gethostname(), tool_version=__version__,
                      git_sha=git_sha(session.settings.project_dir))


def order_steps(project: Project, steps: Sequence[Step]) -> list[Step]:
    """Keep versioned steps first, then repeatables in dependency order."""
    from rockway.migrate.dependencies import order_repeatables

    repeat = [s for s in steps if s.script.kind is Kind.REPEATABLE]
    if len(repeat) < 2:
        return list(steps)
    everything = [s for s in project.scripts if s.kind is Kind.REPEATABLE]
    order = order_repeatables([(s, project.statements(s)) for s in everything])
    rank = {s.name: i for i, s in enumerate(order)}
    versioned = [s for s in steps if s.script.kind is not Kind.REPEATABLE]
    return versioned + sorted(repeat, key=lambda s: rank[s.script.name])


def add_dependent_repeatables(project: Project, plan: Plan) -> Plan:
    """Also re-run applied repeatables that read an object a versioned step of this run (re)creates.

    After `migrate rollback` dropped a table and `migrate up` re-created it, the views over it must come back
    too, though their checksums did not change. Repeatables are re-runnable by definition, so re-running one
    that did not need it costs time, never correctness.
    """
    from rockway.migrate.dependencies import created_objects, referenced_tables

    versioned = [s for s in plan.steps if s.script.kind is Kind.VERSIONED]
    candidates = [i.script for i in plan.infos if i.kind is Kind.REPEATABLE and i.state is State.APPLIED and i.script]
    if not versioned or not candidates:
        return plan
    created: set[str] = set()
    for step in versioned:
        created |= created_objects(project.statements(step.script)[step.start_at - 1:])
    queued = {s.script.name for s in plan.steps}
    reads = {s.name: set().union(*(referenced_tables(st.sql) for st in project.statements(s))) for s in candidates}
    added: list[Step] = []
    notes = list(plan.notes)
    changed = True
    while changed:  # a re-run view re-creates what other views read
        changed = False
        for script in candidates:
            hit = reads[script.name] & created
            if script.name not in queued and hit:
                queued.add(script.name)
                added.append(Step(Action.APPLY, script))
                created |= created_objects(project.statements(script))
                notes.append(f"re-running {script.display}: this run re-creates {', '.join(sorted(hit))}")
                changed = True
    if not added:
        return plan
    return Plan(plan.steps + tuple(added), plan.infos, plan.blockers, tuple(notes))


def refuse_changed_scripts(infos: Sequence[MigrationInfo], command: str) -> None:
    """Stop when an applied versioned script was edited since it ran (Flyway's validateOnMigrate).

    The database holds what the old text created; running on as if nothing changed would hide that the file no
    longer describes the schema. Repeatables are exempt: a changed checksum is what makes them re-run.
    """
    changed = [i for i in infos if i.kind is Kind.VERSIONED and i.checksum_mismatch and i.script and i.row]
    if not changed:
        return
    lines = "\n".join(f"  - {i.script.name} ({i.label} {i.description}): the history records checksum"  # type: ignore[union-attr]
                      f" {(i.row.checksum or '')[:12]}…, the file now has {i.script.checksum[:12]}…"  # type: ignore[union-attr]
                      for i in changed)
    raise UsageError(f"{command} refused: {len(changed)} applied script(s) changed since they were applied; nothing was"
                     f" changed\n{lines}",
                     hint="Restore the applied text, or run `migrate validate` to see every problem and then"
                          " `migrate repair` to record the files' current checksums as applied (once the database"
                          " matches them). --no-validate (validate_on_migrate = false) skips this check.")


def refuse_empty_scripts(steps: Sequence[Step]) -> None:
    """A V or U script to run whose text holds no statement at all (say, an untouched `migrate new` scaffold).

    Recording it as applied with 0 statements would hide that its SQL was never written. A script with SQL
    that renders to nothing for this engine (migrations/V17__dev_join_indexes.sql on StarRocks) is fine.
    """
    from rockway.templating import has_sql

    for step in steps:
        script = step.script
        if step.action is not Action.CONTINUE and script.kind is not Kind.REPEATABLE and not has_sql(script.source):
            raise InputError(script.name, "has no statements (only comments and whitespace); nothing was changed",
                             hint="Write its SQL, or delete the file if the version is not needed.")


def _prerender(project: Project, steps: Sequence[Step]) -> None:
    """Render every script of the plan before anything runs, so template errors write nothing."""
    from rockway.extensions import handler_for, is_rockway_statement

    refuse_empty_scripts(steps)
    undo = {s.version: s for s in project.scripts if s.kind is Kind.UNDO}
    checked = [step.script for step in steps]
    # the undo script of every version being applied must render too, or a later rollback would fail
    checked += [undo[s.script.version] for s in steps if s.script.kind is Kind.VERSIONED and s.script.version in undo]
    for script in checked:
        for stmt in project.statements(script):
            if is_rockway_statement(stmt.sql):
                try:
                    handler_for(stmt.sql)
                except KeyError as exc:
                    raise InputError(script.name, f"unknown rockway statement {exc.args[0]!r}", line=stmt.line) from None


@dataclass
class UpResult:
    """What `migrate up` / `rollback` did or would do."""

    plan: Plan
    report: RunReport | None = None
    dry_run_sql: list[str] = field(default_factory=list)
    snapshot_problem: str | None = None  # the schema snapshot (schema/drift.py) could not be recorded
    mv_health: MvHealthReport | None = None  # MVs the run made inactive (mv_health.py); None when not checked


def parse_version(text: str | None, what: str = "--target") -> Version | None:
    if text is None:
        return None
    try:
        return Version.parse(text)
    except ValueError as exc:
        raise UsageError(f"{what}: {exc}") from None


def migrate(settings: Settings, *, target: str | None = None, resume: bool = False, auto_resolve: bool = False,
            dry_run: bool = False,
            rollback_steps: int | None = None, rollback_to: str | None = None, rollback: bool = False,
            on_event: EventCallback | None = None, on_lock_wait: WaitCallback | None = None) -> UpResult:
    """`migrate up` (default) or `migrate rollback`: validate inputs, lock, re-plan, execute."""
    run_id = telemetry.new_run_id()
    command = "migrate rollback" if rollback else "migrate up"
    collected: list[str] = []
    sink = collected.append if dry_run else None
    scripts = Project(settings).scripts  # naming errors before connecting
    target_version = parse_version(target)
    to_version = parse_version(rollback_to, "--to")

    def make_plan(rows: Sequence[AppliedRow]) -> Plan:
        if rollback:
            return planner.plan_rollback(scripts, rows, steps=rollback_steps, to=to_version, resume=resume)
        return planner.plan_up(scripts, rows, planner.Options(target=target_version, out_of_order=settings.out_of_order,
                                                              resume=resume))

    with telemetry.run_span(command, run_id, **{"rockway.dry_run": dry_run}) as run_span:
        with open_session(settings, sink=sink) as session:
            project = session.project
            project.use_scripts(scripts)
            # Everything that can be wrong with the inputs fails here, before anything is written.
            first = make_plan(session.history.rows())
            if first.missing_files:  # an input problem (exit 2), not history needing a person
                raise UsageError("\n\n".join(first.blockers))
            if settings.validate_on_migrate:
                refuse_changed_scripts(first.infos, command)
            if not rollback:
                first = add_dependent_repeatables(project, skip_unchanged(first, project.statements))
            _prerender(project, order_steps(project, first.steps))
            if not rollback and first.steps and session.adapter.capabilities.replicas:
                refuse_more_replicas_than_backends(settings, session.adapter.alive_backends())
            lock = None
            if not dry_run:
                lock = RunLock(session.adapter, lock_name(settings.history_table), LockOwner.here(run_id),
                               timeout=settings.lock_timeout, lease=settings.lock_lease,
                               properties=_table_properties(settings), on_wait=on_lock_wait)
                lock.acquire()
            try:
                session.history.ensure()
                rows = session.history.rows()  # again: another run may have finished while we waited
                plan = make_plan(rows)
                if plan.blockers and not rollback:  # the catalog may tell whether a pending statement took effect
                    from rockway.migrate.resolve import resolve

                    plan, rows = resolve(session.adapter, session.history, project, plan, rows, make_plan,
                                         apply=auto_resolve)
                if plan.blockers:
                    raise MigrationFailed("\n\n".join(plan.blockers))
                if not rollback:
                    plan = add_dependent_repeatables(project, skip_unchanged(plan, project.statements))
                steps = order_steps(project, plan.steps)
                _prerender(project, steps)
                plan = Plan(tuple(steps), plan.infos, plan.blockers, plan.notes)
                executor = Executor(session.adapter, session.history, project, run_context(session, run_id),
                                    on_event=on_event, lock=lock, settings=settings)
                record_unchanged(session.history, plan)  # repeatables that render as applied: new checksum only
                health = MvHealthCheck(session.adapter, settings.mv_health) if steps and not dry_run else None
                report = executor.run(steps, rows)
                mv_health = finish_mv_health(health, session, run_span, run_id) if health is not None else None
                problem = None
                if not dry_run:  # record the schema the migrations left, for `rockway drift`
                    from rockway.schema.api import record_after_migrate

                    problem = record_after_migrate(session.adapter, settings, project, run_id)
                return UpResult(plan, report, collected, problem, mv_health=mv_health)
            finally:
                if lock is not None:
                    lock.release()


def info(settings: Settings, *, target: str | None = None, project: Project | None = None) -> list[MigrationInfo]:
    """States of every script and history row."""
    scripts = (project or Project(settings)).scripts
    with open_session(settings) as session:
        rows = session.history.rows()
        session.project.use_scripts(scripts)  # rendered for the connected engine, as `migrate up` renders them
        infos = planner.describe(scripts, rows, planner.Options(target=parse_version(target),
                                                                out_of_order=settings.out_of_order))
        return note_unchanged(infos, session.project.statements)


@dataclass(frozen=True)
class Problem:
    """One thing `validate` objects to."""

    kind: str
    label: str
    message: str


def validate(settings: Settings) -> list[Problem]:
    """Checksum drift, missing files, failed rows, ignored versions, and scripts that do not render."""
    project = Project(settings)
    infos = info(settings, project=project)
    problems: list[Problem] = []
    for i in infos:
        if i.state in (State.FAILED, State.INTERRUPTED):
            problems.append(Problem("failed", i.label, f"{i.label} {i.description}: {i.state.value}"
                                    f" at statement {(i.row.error_statement or i.row.pending_statement) if i.row else '?'}"))
        elif i.state is State.MISSING:
            problems.append(Problem("missing", i.label, f"{i.label} {i.description}: applied, but its script file is missing"))
        elif i.checksum_mismatch:
            problems.append(Problem("checksum", i.label, f"{i.label} {i.description}: checksum {i.row.checksum if i.row else ''}"
                                    f" in history differs from the file's {i.script.checksum if i.script else ''}"))
        elif i.state is State.IGNORED:
            problems.append(Problem("ignored", i.label, f"{i.label} {i.description}: not applied and lower than the newest"
                                    " applied version (use --out-of-order to apply it)"))
        elif i.row is not None and i.script is not None and i.state is State.APPLIED and i.kind is Kind.VERSIONED \
                and i.row.description != i.script.description:
            problems.append(Problem("description", i.label, f"{i.label}: description in history {i.row.description!r}"
                                    f" differs from the file's {i.script.description!r}"))
    for script in project.scripts:
        try:
            project.statements(script)
        except InputError as exc:
            problems.append(Problem("render", script.name, str(exc)))
    return problems


def require_valid(problems: Sequence[Problem]) -> None:
    if problems:
        raise ValidationFailed(f"validate found {len(problems)} problem(s):\n" + "\n".join(f"  - {p.message}" for p in problems),
                               hint="`migrate repair` realigns checksums and removes failed rows once you have checked them.")


@dataclass
class RepairResult:
    removed_failed: list[str] = field(default_factory=list)
    realigned: list[str] = field(default_factory=list)
    deleted_missing: list[str] = field(default_factory=list)
    marked_done: list[str] = field(default_factory=list)


def repair(settings: Settings, *, statement_done: str | None = None, dry_run: bool = False) -> RepairResult:
    """Remove failed rows, realign checksums/descriptions, mark missing scripts deleted; or mark one pending statement done."""
    result = RepairResult()
    run_id = telemetry.new_run_id()
    project = Project(settings)
    scripts = project.scripts
    collected: list[str] = []
    with telemetry.run_span("migrate repair", run_id), open_session(settings, sink=collected.append if dry_run else None) as session:
        if statement_done is not None:  # a wrong reference is bad input: refuse before the lock writes its owner
            _interrupted(planner.describe(scripts, session.history.rows()), statement_done)
        with RunLock(session.adapter, lock_name(settings.history_table), LockOwner.here(run_id), timeout=settings.lock_timeout,
                     lease=settings.lock_lease, properties=_table_properties(settings)):
            rows = session.history.rows()
            infos = planner.describe(scripts, rows)
            if statement_done is not None:
                result.marked_done.append(_mark_statement_done(session, project, infos, statement_done))
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
                    session.history.write(AppliedRow(
                        installed_rank=next_rank, version=row.version, description=row.description, type=RowType.DELETE,
                        script=row.script, checksum=None, installed_by=run_context(session, run_id).installed_by,
                        installed_on=now_utc(), execution_time=0, success=True, run_id=run_id,
                        trace_id=telemetry.current_trace_id(), host=socket.gethostname(), tool_version=__version__))
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
    script, command = i.script, "migrate up"
    if row.type is RowType.UNDO_SQL:  # an interrupted rollback: its statements are the U script's, not the V script's
        undo = [s for s in project.scripts if s.kind is Kind.UNDO and s.version == i.version]
        if not undo:
            raise UsageError(f"U{i.version}: the undo script of this interrupted rollback is missing; restore it first")
        script, command = undo[0], "migrate rollback"
    statements = project.statements(script)
    if k > len(statements):
        raise UsageError(f"{i.label} has no statement {k}")
    from rockway.migrate.resolve import statement_done

    session.history.write(statement_done(row, statements, k))
    after = f"continues at statement {k + 1}" if k < len(statements) else "records it as finished"
    return f"{i.label} {i.description}: statement {k} marked as applied; `{command}` {after}"


def baseline(settings: Settings, *, version: str, description: str = "<< baseline >>") -> AppliedRow:
    """Record that the database already contains everything up to `version`."""
    parsed = parse_version(version, "--version")
    assert parsed is not None
    run_id = telemetry.new_run_id()
    with telemetry.run_span("migrate baseline", run_id), open_session(settings) as session:
        _refuse_baseline(session.history.rows(), settings)  # before the lock writes its owner: bad input writes nothing
        with RunLock(session.adapter, lock_name(settings.history_table), LockOwner.here(run_id), timeout=settings.lock_timeout,
                     lease=settings.lock_lease, properties=_table_properties(settings)):
            session.history.ensure()
            rows = session.history.rows()
            _refuse_baseline(rows, settings)  # again: another run may have migrated while we waited
            ctx = run_context(session, run_id)
            row = AppliedRow(installed_rank=session.history.next_rank(rows), version=parsed, description=description,
                             type=RowType.BASELINE, script=description, checksum=None, installed_by=ctx.installed_by,
                             installed_on=now_utc(), execution_time=0, success=True, run_id=run_id,
                             trace_id=telemetry.current_trace_id(), git_sha=ctx.git_sha, host=ctx.host,
                             tool_version=ctx.tool_version)
            session.history.write(row)
            return row


def _refuse_baseline(rows: Sequence[AppliedRow], settings: Settings) -> None:
    if any(r.type is not RowType.DELETE for r in rows):
        raise UsageError(f"history table {settings.history_table!r} already has {len(rows)} row(s); baseline only"
                         " applies to a database rockway has not migrated yet")


def history(settings: Settings) -> list[AppliedRow]:
    """All history rows for auditors."""
    with open_session(settings) as session:
        return session.history.rows()


def render(settings: Settings, refs: Sequence[str] = (), *, undo: bool = False) -> list[tuple[Script, list[Statement]]]:
    """Rendered statements of the named scripts; with none named, what `migrate up` runs on an empty database,
    in its order (V by version, then R in dependency order), or with `undo` every U script, newest first."""
    project = Project(settings, engine=_engine_hint(settings), database=_database_hint(settings))
    if refs and undo:
        raise UsageError("--undo renders every U script in rollback order; to render some, name them without --undo",
                         hint="e.g. `migrate render U3 U2`")
    if refs:
        scripts = [s for ref in refs for s in project.find(ref)]
    elif undo:
        scripts = sorted((s for s in project.scripts if s.kind is Kind.UNDO), key=lambda s: s.version, reverse=True)  # type: ignore[arg-type,return-value]
    else:
        scripts = [step.script for step in order_steps(project, planner.plan_up(project.scripts, ()).steps)]
    return [(s, project.statements(s)) for s in scripts]


def _engine_hint(settings: Settings) -> str:
    if settings.dsn and settings.dsn.lower().startswith(("mysql", "mariadb")):
        return "mysql"
    return "starrocks"


def _database_hint(settings: Settings) -> str | None:
    if not settings.dsn:
        return None
    from rockway.config import parse_dsn

    return parse_dsn(settings.dsn).database


_SLUG = re.compile(r"[^A-Za-z0-9]+")


def new(settings: Settings, description: str) -> list[Path]:
    """Scaffold the next V script and its U script."""
    from rockway.migrate.discovery import next_version

    slug = _SLUG.sub("_", description.strip()).strip("_").lower()
    if not slug:
        raise UsageError("the description must contain letters or digits")
    version = next_version(Project(settings).scripts)
    folder = settings.migrations_path
    folder.mkdir(parents=True, exist_ok=True)
    made = []
    for prefix, body in (("V", "-- {desc}\n-- Purpose: \n-- Owner: \n\n"),
                         ("U", "-- Undo V{ver}: {desc}\n-- Reverse every statement of V{ver}, newest first.\n\n")):
        path = folder / f"{prefix}{version}__{slug}.sql"
        if path.exists():
            raise UsageError(f"{path} already exists")
        path.write_text(body.format(desc=description.strip(), ver=version), encoding="utf-8")
        made.append(path)
    return made


_CREATED = re.compile(
    r"^\s*CREATE\s+(?:OR\s+REPLACE\s+)?(?:ALGORITHM\s*=\s*\w+\s+)?(?:DEFINER\s*=\s*\S+\s+)?(?:SQL\s+SECURITY\s+\w+\s+)?"
    r"(?:TEMPORARY\s+|EXTERNAL\s+)?(MATERIALIZED\s+VIEW|VIEW|TABLE|DATABASE|SCHEMA|ROLE)"
    r"\s+(?:IF\s+NOT\s+EXISTS\s+)?([`\w.$]+|'[^']+'|\"[^\"]+\")", re.IGNORECASE)


def clean(settings: Settings, *, dry_run: bool = False) -> list[str]:
    """Drop every object the applied scripts created, then the history table (only where enabled)."""
    if not settings.clean_enabled:
        raise UsageError(f"clean is disabled for environment {settings.env or '(default)'}",
                         hint="Set clean_enabled = true in that [env.NAME] section (never for production).")
    run_id = telemetry.new_run_id()
    project = Project(settings)
    dropped: list[str] = []
    with telemetry.run_span("migrate clean", run_id), open_session(settings) as session:
        with RunLock(session.adapter, lock_name(settings.history_table), LockOwner.here(run_id), timeout=settings.lock_timeout,
                     lease=settings.lock_lease, properties=_table_properties(settings)):
            project.engine, project.database = session.adapter.engine, session.adapter.database
            by_name = {s.name: s for s in project.scripts}
            objects: list[tuple[str, str]] = []
            for row in session.history.rows():
                script = by_name.get(row.script)
                if script is None or row.type is not RowType.SQL:
                    continue
                for stmt in project.statements(script):
                    m = _CREATED.match(stmt.sql)
                    if m:
                        objects.append((" ".join(m.group(1).upper().split()), m.group(2)))
            seen: set[tuple[str, str]] = set()
            for kind, name in reversed(objects):
                if (kind, name) in seen:
                    continue
                seen.add((kind, name))
                sql = f"DROP {kind} IF EXISTS {name}"
                dropped.append(sql)
                if not dry_run:
                    session.adapter.execute(sql)
            from rockway.schema.drift import SNAPSHOT_TABLE

            sql = f"DROP TABLE IF EXISTS {session.adapter.qualified(SNAPSHOT_TABLE)}"
            dropped.append(sql)
            if not dry_run:
                session.adapter.execute(sql)
            sql = f"DROP TABLE IF EXISTS {session.adapter.qualified(settings.history_table)}"
            dropped.append(sql)
            if not dry_run:
                session.history.drop()
    return dropped


def lock_status(settings: Settings) -> LockOwner | None:
    """Who holds the run lock, or None."""
    with open_session(settings) as session:
        return session.adapter.lock_primitive(lock_name(settings.history_table), lease_seconds=settings.lock_lease,
                                              properties=_table_properties(settings)).holder()


def lock_release(settings: Settings) -> LockOwner | None:
    """Remove the run lock whoever holds it; return the previous holder."""
    with open_session(settings) as session:
        return session.adapter.lock_primitive(lock_name(settings.history_table), lease_seconds=settings.lock_lease,
                                              properties=_table_properties(settings)).force_release()


def lint(settings: Settings, refs: Sequence[str] = (), *, engine: str | None = None) -> list:  # type: ignore[type-arg]
    """Lint the named scripts (all when none named) as rendered for the environment: for `engine` when given (the
    engine a connection found), else the one the DSN's scheme names. Rules about what that engine lacks are
    skipped (lint.Rule.requires: a MySQL/MariaDB rendering keeps no table replicas)."""
    from rockway.adapters import engine_capabilities
    from rockway.lint import lint_script

    engine = engine or _engine_hint(settings)
    project = Project(settings, engine=engine, database=_database_hint(settings))
    capabilities = engine_capabilities(engine)
    scripts = [s for ref in refs for s in project.find(ref)] if refs else project.scripts
    return [lint_script(s.name, s.kind, project.renderer.render(s), project.statements(s), raw=s.source,
                        backends=settings.backends, capabilities=capabilities) for s in scripts]


if TYPE_CHECKING:
    from rockway.lint.rewrites import Kept, Merge, Rewrite


@dataclass(frozen=True)
class ScriptFix:
    """Merges `lint --fix` makes (or, with --check, would make) in one versioned script; `diff` is unified."""

    script: Script
    merges: tuple[Merge, ...]
    kept: tuple[Kept, ...]
    diff: str


@dataclass(frozen=True)
class ReleaseRewrites:
    """The table rewrites of a release (rewrites.py) and the fixes merging would make."""

    scripts: tuple[str, ...]  # the release: script names, in the order migrate up runs them
    rewrites: tuple[Rewrite, ...]  # in release order
    repeated: dict[str, list[Rewrite]]  # table -> its rewrites, for tables rewritten more than once
    fixes: tuple[ScriptFix, ...] = ()
    written: bool = False  # the fixes were written to the scripts

    def to_dict(self) -> dict[str, object]:
        """Plain data for --json."""
        return {"scripts": list(self.scripts), "rewrites": len(self.rewrites),
                "tables_rewritten_more_than_once": {t: [r.to_dict() for r in found]
                                                    for t, found in self.repeated.items()},
                "fixes": [{"script": f.script.name, "merges": [m.to_dict() for m in f.merges],
                           "kept": [k.to_dict() for k in f.kept], "diff": f.diff} for f in self.fixes],
                "written": self.written}


def release_rewrites(settings: Settings, refs: Sequence[str] = (), *, pending: bool = False,
                     fix: bool = False, write: bool = False, assume_pending: bool = False) -> ReleaseRewrites:
    """Table rewrites across a release: with `pending`, the scripts the environment's history has not applied
    (V pending, R pending or changed); otherwise the named scripts, or every V script.

    With `fix`, merge adjacent column changes in the release's versioned scripts that are certainly not applied:
    pending in the history (`pending`), or vouched for by the caller (`assume_pending`); with `write`, save them.
    """
    from rockway.lint import rewrites

    if fix and not (pending or assume_pending):
        raise UsageError("--fix/--check edit versioned scripts, and an applied script must never change (its checksum "
                         "is history)", hint="Add --pending (reads the environment's history) or --assume-pending "
                                             "(you vouch that the scripts linted were never applied anywhere).")
    project = Project(settings, engine=_engine_hint(settings), database=_database_hint(settings))
    named = [s for ref in refs for s in project.find(ref)] if refs else None
    if pending:
        infos = info(settings, project=project)
        chosen = [i.script for i in infos
                  if i.script is not None and i.state in (State.PENDING, State.OUTDATED) and i.kind is not Kind.UNDO]
        scripts = [s for s in chosen if named is None or s in named]
    else:
        scripts = named if named is not None else [s for s in project.scripts if s.kind is Kind.VERSIONED]
        scripts = [s for s in scripts if s.kind is not Kind.UNDO]
    versioned = sorted((s for s in scripts if s.kind is Kind.VERSIONED),
                       key=lambda s: s.version)  # type: ignore[arg-type,return-value]
    scripts = versioned + [s for s in scripts if s.kind is Kind.REPEATABLE]
    fixes: list[ScriptFix] = []
    if fix:
        for script in versioned:
            result = rewrites.merge_column_changes(script.source)
            if result.changed or result.kept:
                diff = rewrites.unified_diff(script.name, script.source, result.text) if result.changed else ""
                fixes.append(ScriptFix(script, result.merges, result.kept, diff))
        if write:
            for item in fixes:
                if item.merges:
                    _write_script(item.script, rewrites.merge_column_changes(item.script.source).text)
            project = Project(settings, engine=_engine_hint(settings), database=_database_hint(settings))
            by_name = {s.name: s for s in project.scripts}
            scripts = [by_name[s.name] for s in scripts]
    found = [r for s in scripts for r in rewrites.script_rewrites(s.name, project.statements(s))]
    return ReleaseRewrites(tuple(s.name for s in scripts), tuple(found), rewrites.repeated_rewrites(found),
                           tuple(fixes), write and any(f.merges for f in fixes))


def _write_script(script: Script, text: str) -> None:
    """Save a script's new text, keeping its byte-order mark and line endings (discovery reads LF, BOM-less)."""
    raw = script.path.read_bytes()
    body = text.replace("\n", "\r\n") if b"\r\n" in raw else text
    script.path.write_bytes((b"\xef\xbb\xbf" if raw.startswith(b"\xef\xbb\xbf") else b"") + body.encode("utf-8"))


def pending_rewrites(settings: Settings, infos: Sequence[MigrationInfo]) -> dict[str, list[Rewrite]]:
    """Rewrites each pending migration of `migrate info` starts, by script name (rendered like `migrate up`).

    A script that does not render is left out: `migrate info` must still show the states; `migrate validate`
    and `lint` report the template error.
    """
    from rockway.lint.rewrites import script_rewrites

    project = Project(settings, engine=_engine_hint(settings), database=_database_hint(settings))
    out: dict[str, list[Rewrite]] = {}
    for i in infos:
        if i.script is None or i.state not in (State.PENDING, State.OUTDATED) or i.kind is Kind.UNDO:
            continue
        try:
            out[i.script.name] = script_rewrites(i.script.name, project.statements(i.script))
        except InputError:
            continue
    return out
