"""The `migrate` commands (and `lock status`/`release`, `lint`) as plain functions returning data; the CLI only parses
and prints. Each calls the runtime:

project.py      the scripts and how they render; the session (connection, history, project)
planner.py      states, the steps to run and their order, the checks that refuse a plan
run.py          one `migrate up` / `rollback` run; executor.py runs its steps, resolve.py judges unknown outcomes
bookkeeping.py  `repair` and `baseline`;  validation.py  `validate`;  clean.py  `clean`
release.py      the table rewrites a release starts (`lint`, `info`, `--dry-run`)

This is the one migrate module that adds what sits above the migrate wing: the MV health check (mv/health.py)
and the schema snapshot (schema/api.py) around a run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Sequence

from rockway.adapters import engine_capabilities
from rockway.adapters.base import LockOwner
from rockway.config import Settings
from rockway.errors import UsageError
from rockway.lint.rewrites import Rewrite
from rockway.migrate import bookkeeping, clean as cleaning, release, run
from rockway.migrate.bookkeeping import RepairResult
from rockway.migrate.discovery import next_version, slug, write_script_pair
from rockway.migrate.executor import EventCallback, RunReport
from rockway.migrate.lock import WaitCallback, migration_lock_primitive
from rockway.migrate.planner import Options, describe, release_order
from rockway.migrate.project import Project, Session, offline_project, open_session
from rockway.migrate.release import ReleaseRewrites, StepPreview
from rockway.migrate.unchanged_repeatables import note_unchanged
from rockway.migrate.validation import Problem, problems, require_valid
from rockway.model import AppliedRow, Kind, MigrationInfo, Plan, Script, Statement, Step, Version
from rockway.observability import spans

if TYPE_CHECKING:  # imported where used: `migrate info` and the other read-only commands start without them
    from rockway.lint import ScriptReport
    from rockway.mv.health import MvHealthReport

__all__ = ["UpResult", "migrate", "dry_run_preview", "info", "pending_rewrites", "validate", "require_valid", "Problem",
           "repair", "RepairResult", "baseline", "history", "render", "new", "clean", "lock_status", "lock_release",
           "lint", "release_rewrites", "ReleaseRewrites"]


def parse_version(text: str | None, what: str = "--target") -> Version | None:
    if text is None:
        return None
    try:
        return Version.parse(text)
    except ValueError as exc:
        raise UsageError(f"{what}: {exc}") from None


@dataclass
class UpResult:
    """What `migrate up` / `rollback` did or would do."""

    plan: Plan
    report: RunReport | None = None
    dry_run_sql: list[str] = field(default_factory=list)
    snapshot_problem: str | None = None  # a warning about the schema record (schema/api.py record_after_migrate)
    mv_health: MvHealthReport | None = None  # MVs the run made inactive (mv/health.py); None when not checked
    project: Project | None = None  # the scripts as rendered for the connected engine (what the run executed)


def migrate(settings: Settings, *, target: str | None = None, resume: bool = False, auto_resolve: bool = False,
            dry_run: bool = False,
            rollback_steps: int | None = None, rollback_to: str | None = None, rollback: bool = False,
            on_event: EventCallback | None = None, on_lock_wait: WaitCallback | None = None) -> UpResult:
    """`migrate up` (default) or `migrate rollback`: validate inputs, lock, re-plan, execute."""
    from rockway.mv.health import MvHealthCheck, finish_mv_health
    from rockway.schema import api as schema_api

    run_id = spans.new_run_id()
    collected: list[str] = []
    scripts = Project(settings).scripts  # naming errors before connecting
    request = run.RunRequest(rollback=rollback, target=parse_version(target), resume=resume, auto_resolve=auto_resolve,
                             dry_run=dry_run, steps=rollback_steps, to=parse_version(rollback_to, "--to"))
    with spans.run_span(request.command, run_id, **{"rockway.dry_run": dry_run}) as run_span, \
            open_session(settings, sink=collected.append if dry_run else None) as session:
        session.project.use_scripts(scripts)
        checked = run.check_inputs(session, request)
        with run.locked(session, request, run_id, on_lock_wait) as lock:
            plan, rows = run.final_plan(session, request, checked)
            executor = run.executor_for(session, plan, run_id, lock=lock, on_event=on_event)
            health = MvHealthCheck(session.adapter, settings.mv_health) if plan.steps and not dry_run else None
            # what the run changes is recorded for `rockway drift`; the rest keeps its record (schema/drift.py)
            before = schema_api.before_migrate(session.adapter, settings, session.project,
                                               [step.script for step in plan.steps]) if plan.steps and not dry_run else None
            report = executor.run(plan.steps, rows)
            mv_health = finish_mv_health(health, session, run_span, run_id) if health is not None else None
            problem = None if dry_run else schema_api.record_after_migrate(session.adapter, settings, session.project,
                                                                            run_id, before=before)
            return UpResult(plan, report, collected, problem, mv_health=mv_health, project=session.project)


def dry_run_preview(result: UpResult) -> Iterator[StepPreview]:
    """`migrate up --dry-run`: each step's statements from where it starts, and the table rewrites they start,
    rendered for the connected engine (the run's own rendering, reused)."""
    assert result.project is not None, "a result of migrate() carries its project"
    return release.preview(result.project, result.plan.steps)


def info(settings: Settings, *, target: str | None = None, project: Project | None = None) -> list[MigrationInfo]:
    """States of every script and history row."""
    scripts = (project or Project(settings)).scripts
    with open_session(settings) as session:
        return _describe(session, scripts, target)


def _describe(session: Session, scripts: list[Script], target: str | None) -> list[MigrationInfo]:
    """`info` within an open session; leaves the scripts on session.project."""
    rows = session.history.rows()
    session.project.use_scripts(scripts)  # rendered for the connected engine, as `migrate up` renders them
    infos = describe(scripts, rows, Options(target=parse_version(target), out_of_order=session.settings.out_of_order))
    return note_unchanged(infos, session.project.statements)


def pending_rewrites(settings: Settings, infos: Sequence[MigrationInfo]) -> dict[str, list[Rewrite]]:
    """`migrate info`: the table rewrites each pending migration starts, rendered like `migrate up`."""
    return release.pending_rewrites(offline_project(settings), infos)


def validate(settings: Settings) -> list[Problem]:
    """Checksum drift, missing files, failed rows, ignored versions, and scripts that do not render."""
    scripts = Project(settings).scripts  # naming errors before connecting
    with open_session(settings) as session:
        # rendered for the connected engine, as `migrate up` renders them
        return problems(session.project, _describe(session, scripts, None))


def repair(settings: Settings, *, statement_done: str | None = None, dry_run: bool = False) -> RepairResult:
    """Remove failed rows, realign checksums/descriptions, mark missing scripts deleted; or mark one pending statement done."""
    run_id = spans.new_run_id()
    project = Project(settings)
    project.scripts  # naming errors before connecting
    collected: list[str] = []
    with spans.run_span("migrate repair", run_id), \
            open_session(settings, sink=collected.append if dry_run else None) as session:
        session.project.use_scripts(project.scripts)  # rendered for the connected engine, as `migrate up` renders
        return bookkeeping.repair(session, session.project, run_id, statement_done_ref=statement_done)


def baseline(settings: Settings, *, version: str, description: str = "<< baseline >>") -> AppliedRow:
    """Record that the database already contains everything up to `version`."""
    parsed = parse_version(version, "--version")
    assert parsed is not None
    run_id = spans.new_run_id()
    with spans.run_span("migrate baseline", run_id), open_session(settings) as session:
        return bookkeeping.baseline(session, run_id, parsed, description)


def history(settings: Settings, *, since: datetime | None = None, until: datetime | None = None,
            last: int | None = None) -> list[AppliedRow]:
    """History rows for auditors, by installed_rank: those installed at or after `since` and before `until` (UTC, as
    the table holds them), then the `last` N of them. Bad bounds are refused before connecting."""
    if since is not None and until is not None and since >= until:
        raise UsageError(f"--since ({since:%Y-%m-%d %H:%M:%S}) must be before --until ({until:%Y-%m-%d %H:%M:%S})")
    if last is not None and last < 1:
        raise UsageError(f"--last must be 1 or more, not {last}")
    with open_session(settings) as session:
        rows = session.history.rows()
    if since is not None or until is not None:
        rows = [r for r in rows if r.installed_on is not None
                and (since is None or r.installed_on >= since) and (until is None or r.installed_on < until)]
    return rows[-last:] if last is not None else rows


def render(settings: Settings, refs: Sequence[str] = (), *, undo: bool = False) -> list[tuple[Script, list[Statement]]]:
    """Rendered statements of the named scripts; with none named, what `migrate up` runs on an empty database,
    in its order (V by version, then R in dependency order), or with `undo` every U script, newest first."""
    project = offline_project(settings)
    if refs and undo:
        raise UsageError("--undo renders every U script in rollback order; to render some, name them without --undo",
                         hint="e.g. `migrate render U3 U2`")
    if refs:
        scripts = project.select(refs)
    elif undo:
        scripts = sorted((s for s in project.scripts if s.kind is Kind.UNDO),
                         key=lambda s: s.version, reverse=True)  # type: ignore[arg-type,return-value]  # a U script has one
    else:
        scripts = release_order(project)
    return [(s, project.statements(s)) for s in scripts]


def new(settings: Settings, description: str) -> list[Path]:
    """Scaffold the next V script and its U script."""
    name = slug(description)  # bad input is refused before the scripts are read
    return write_script_pair(settings.migrations_path, next_version(Project(settings).scripts), name, description)


def clean(settings: Settings, *, dry_run: bool = False) -> list[str]:
    """Drop every object the applied scripts created, then rockway's tables (only where enabled)."""
    from rockway.schema import api as schema_api

    cleaning.refuse_unless_enabled(settings)
    run_id = spans.new_run_id()
    with spans.run_span("migrate clean", run_id), open_session(settings) as session:
        return cleaning.clean(session, run_id, own_tables=(schema_api.SNAPSHOT_TABLE,), dry_run=dry_run)


def lock_status(settings: Settings) -> LockOwner | None:
    """Who holds the run lock, or None."""
    with open_session(settings) as session:
        return migration_lock_primitive(session.adapter, settings).holder()


def lock_release(settings: Settings) -> LockOwner | None:
    """Remove the run lock whoever holds it; return the previous holder."""
    with open_session(settings) as session:
        return migration_lock_primitive(session.adapter, settings).force_release()


def lint(settings: Settings, refs: Sequence[str] = (), *, engine: str | None = None) -> list[ScriptReport]:
    """Lint the named scripts (all when none named) as rendered for the environment: for `engine` when given (the
    engine a connection found), else the one the DSN's scheme names. Rules about what that engine lacks are
    skipped (lint.Rule.requires: a MySQL/MariaDB rendering keeps no table replicas)."""
    from rockway.lint import lint_script

    project = offline_project(settings, engine)
    capabilities = engine_capabilities(project.engine)
    scripts = project.select(refs) if refs else project.scripts
    return [lint_script(s.name, s.kind, project.renderer.render(s), project.statements(s), raw=s.source,
                        backends=settings.backends, capabilities=capabilities) for s in scripts]


def release_rewrites(settings: Settings, refs: Sequence[str] = (), *, pending: bool = False,
                     fix: bool = False, write: bool = False, assume_pending: bool = False) -> ReleaseRewrites:
    """Table rewrites across a release: with `pending`, the scripts the environment's history has not applied;
    otherwise the named scripts, or every V script. `fix`/`write`: release.release_rewrites."""
    project = offline_project(settings)
    pending_infos = (lambda: info(settings, project=project)) if pending else None
    return release.release_rewrites(project, refs, pending_infos=pending_infos, fix=fix, write=write,
                                    assume_pending=assume_pending)
