"""The schema commands as plain functions (the CLI in cli/schema_cmds.py only parses and prints).

`rockway rehearse` and the pipelines call these too: `dump`, `diff`, `drift`, and `record_after_migrate`
(the hook at the end of `migrate up`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from rockway.adapters.base import Adapter
from rockway.config import Settings
from rockway.errors import RockwayError
from rockway.interfaces import CheckSummary, Severity
from rockway.migrate.history import table_properties
from rockway.migrate.project import Project, open_session
from rockway.schema.diff import FileDiff, compare
from rockway.schema.drift import SNAPSHOT_TABLE, DriftReport, detect_drift, record_snapshot
from rockway.schema.dump import DumpResult, schema_files, write_files
from rockway.schema.scope import Scope, schema_scope

__all__ = ["dump", "DiffResult", "diff", "drift", "drift_on", "record_after_migrate", "drift_check", "DRIFT_CHECK",
           "DRIFT_SEVERITIES", "SNAPSHOT_TABLE"]


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


def record_after_migrate(adapter: Adapter, settings: Settings, project: Project, run_id: str) -> str | None:
    """Record the schema after a successful migration; the problem as text when that failed (never raises:
    the migration has succeeded whatever happens here)."""
    try:
        scope: Scope = schema_scope(settings, project, adapter.database)
        record_snapshot(adapter, scope, run_id, properties=table_properties(settings))
    except Exception as exc:  # noqa: BLE001 - reported by the caller, never fails the migration
        text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        return f"the schema snapshot was not recorded ({type(exc).__name__}: {text.splitlines()[0]})"
    return None


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
