"""The schema commands as plain functions (the CLI in cli/schema_cmds.py only parses and prints).

`rockway rehearse` and the pipelines call these too: `dump`, `diff`, `drift`, and `before_migrate` /
`record_after_migrate` (the hooks around a `migrate up` or `rollback` run).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from rockway.adapters.base import Adapter
from rockway.config import Settings
from rockway.errors import RockwayError
from rockway.interfaces import CheckSummary, Severity
from rockway.model import Script
from rockway.observability import spans
from rockway.migrate.history import table_properties
from rockway.migrate.lock import migration_lock
from rockway.migrate.project import Project, open_session
from rockway.schema.diff import FileDiff, compare
from rockway.schema.drift import (SNAPSHOT_TABLE, DriftReport, RunChanges, before_run, detect_drift, record_snapshot,
                                  recorded_yet)
from rockway.schema.dump import DumpResult, schema_files, write_files
from rockway.schema.scope import Scope, ddl_target, qualify, schema_scope

__all__ = ["dump", "DiffResult", "diff", "drift", "drift_on", "accept", "BeforeRun", "before_migrate",
           "record_after_migrate", "statement_targets", "drift_check", "DRIFT_CHECK", "DRIFT_SEVERITIES", "SNAPSHOT_TABLE"]


def dump(settings: Settings, out_dir: Path, *, live: bool = False, aliases: Mapping[str, str] | None = None) -> DumpResult:
    """Write `<out_dir>/<database>/<object>.sql` for every managed object (`aliases`: dump.schema_files)."""
    with open_session(settings) as session:
        files = schema_files(session.adapter, settings, session.project, session.history.rows(), live_counts=live,
                             aliases=aliases)
    return write_files(files, out_dir)


@dataclass
class DiffResult:
    databases: tuple[str, ...]
    files: int
    differences: list[FileDiff]


def diff(settings: Settings, directory: Path, *, aliases: Mapping[str, str] | None = None) -> DiffResult:
    """Compare the live schema with the files of `directory` (`aliases`: the live databases' names in the files,
    for a rehearsal on prefixed databases; dump.schema_files)."""
    with open_session(settings) as session:
        scope = schema_scope(settings, session.project, session.adapter.database)
        files = schema_files(session.adapter, settings, session.project, session.history.rows(), scope=scope,
                             aliases=aliases)
    databases = tuple((aliases or {}).get(d, d) for d in scope.databases)
    return DiffResult(databases, len(files), compare(files, directory, databases))


def drift(settings: Settings) -> DriftReport:
    """Compare the live schema with the record of the last successful migration."""
    with open_session(settings) as session:
        return drift_on(session.adapter, settings, session.project)


def drift_on(adapter: Adapter, settings: Settings, project: Project) -> DriftReport:
    """drift() on an open connection (the pipeline's drift step)."""
    return detect_drift(adapter, schema_scope(settings, project, adapter.database))


@dataclass(frozen=True)
class BeforeRun:
    """What record_after_migrate compares with, read just before a run's first step. `changes` None: every object
    is recorded (no record exists yet, or the catalog could not be read: `problem`)."""

    changes: RunChanges | None
    drifted: tuple[str, ...] = ()  # objects the run names that had changed by hand: their record will hold that too
    problem: str | None = None


def before_migrate(adapter: Adapter, settings: Settings, project: Project, scripts: Sequence[Script]) -> BeforeRun:
    """Read just before a run of `scripts` what record_after_migrate compares with (never raises)."""
    try:
        scope = schema_scope(settings, project, adapter.database)
        read = before_run(adapter, scope, frozenset(statement_targets(project, scripts, adapter.database)))
    except Exception as exc:  # noqa: BLE001 - the run goes on; its record then takes every object
        return BeforeRun(None, problem=f"the whole schema was recorded, changes made by hand before this run among"
                                       f" it: the catalog could not be read before the run ({_first_line(exc)})")
    return BeforeRun(None) if read is None else BeforeRun(read[0], tuple(read[1]))


def record_after_migrate(adapter: Adapter, settings: Settings, project: Project, run_id: str, *,
                         before: BeforeRun | None = None) -> str | None:
    """Record the schema after a successful run (drift.py's module docstring: only what the run may have changed;
    `before` None: a run of nothing, which records only a database not recorded yet). What the caller should warn
    about as text: the record failed, was taken whole, or took in changes made by hand (never raises: the migration
    has succeeded whatever happens here)."""
    try:
        if before is None and recorded_yet(adapter):
            return None
        scope: Scope = schema_scope(settings, project, adapter.database)
        record_snapshot(adapter, scope, run_id, properties=table_properties(settings),
                        run=before.changes if before is not None else None)
    except Exception as exc:  # noqa: BLE001 - reported by the caller, never fails the migration
        return f"the schema snapshot was not recorded ({_first_line(exc)})"
    if before is not None and before.drifted:
        return (f"{', '.join(before.drifted)} had changed outside the migrations before this run (`rockway drift`"
                f" reported it); the schema record now holds it as this run left it, that change included")
    return before.problem if before is not None else None


def statement_targets(project: Project, scripts: Sequence[Script], database: str | None) -> set[str]:
    """`db.name` of every object the scripts' statements create, alter or drop (scope.py ddl_target)."""
    out: set[str] = set()
    for script in scripts:
        for statement in project.statements(script):
            target = ddl_target(statement.sql)
            name = qualify(target, database) if target is not None else None
            if name:
                out.add(name)
    return out


def accept(settings: Settings) -> DriftReport:
    """`rockway drift --accept`: record the live schema as it is, under the run lock; the drift it accepted."""
    run_id = spans.new_run_id()
    with spans.run_span("drift accept", run_id), open_session(settings) as session:
        adapter = session.adapter
        with migration_lock(adapter, settings, run_id):
            scope = schema_scope(settings, session.project, adapter.database)
            accepted = detect_drift(adapter, scope) if recorded_yet(adapter) else DriftReport(run_id)
            record_snapshot(adapter, scope, run_id, properties=table_properties(settings))
    return accepted


def _first_line(exc: Exception) -> str:
    text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text.splitlines()[0]}"


DRIFT_CHECK = "schema_drift"
DRIFT_SEVERITIES = ("warning", "critical")


def drift_check(adapter: Adapter, settings: Settings, severity: str) -> tuple[CheckSummary, bool, str]:
    """The pipeline's drift step: (a CheckSummary named `schema_drift` for the notifier, whether the step fails,
    its detail). Drift, or a drift that cannot be judged, fails the step only at severity critical."""
    level = Severity.CRITICAL if severity == "critical" else Severity.WARNING
    try:
        report = drift_on(adapter, settings, Project(settings, adapter.engine, adapter.database))
    except RockwayError as exc:
        text = f"drift not judged: {exc.message}"
        return CheckSummary(DRIFT_CHECK, None, level, "error", message=text), level is Severity.CRITICAL, text
    names = ", ".join(f"{d.status} {d.name}" for d in report.objects)
    check = CheckSummary(DRIFT_CHECK, names or None, level, "fail" if report.drifted else "pass",
                         value=float(len(report.objects)), bounds="[0, 0]", message=report.summary())
    return check, report.drifted and level is Severity.CRITICAL, report.summary()
