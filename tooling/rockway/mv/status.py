"""Asynchronous materialized views: status and re-activation over an adapter, and the limits scripts declare.

Deployment is the macro `mv.materialized_view` (rockway/macros/mv.py; each engine's statements are its dialect's,
rockway/adapters/starrocks/mv.py for StarRocks). Freshness limits are declared in the macro call and travel with the
rendered SQL as the directive `-- rockway:mv_max_staleness=<seconds>` (`declared_limits` reads them).

Status (`status`): information_schema.materialized_views (columns probed first, adapters/starrocks/mv.py). An
MV's data is as fresh as its last successful refresh: LAST_REFRESH_FINISHED_TIME when LAST_REFRESH_STATE is
SUCCESS (or SKIPPED, 4.0+: nothing changed), otherwise the newest SUCCESS task run of its task in
information_schema.task_runs. Staleness = the server's now() minus that time (both in the server's session time
zone). A problem — exit 1 from the CLI — is an inactive MV, or a declared limit that is exceeded or cannot be
shown to hold (no successful refresh on record).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Collection, Iterable, Mapping, Sequence

from rockway.adapters import Adapter, connect
from rockway.adapters import registry
from rockway.config import Settings
from rockway.durations import format_duration, positive_duration
from rockway.errors import DatabaseError, UsageError
from rockway.interfaces import CheckSummary, Severity
from rockway.macros.mv import STALENESS_DIRECTIVE
from rockway.migrate.project import Project
from rockway.model import Kind
from rockway.observability import metrics

__all__ = ["declared_limits", "MvStatus", "StatusReport", "ActivationReport", "evaluate", "collect_status",
           "activate_inactive", "status", "activate", "record_inactive"]

FRESH_STATES = ("SUCCESS", "SKIPPED")


_DECLARED = re.compile(r"^\s*CREATE\s+(?:OR\s+REPLACE\s+)?(?:MATERIALIZED\s+)?VIEW\s+(?:IF\s+NOT\s+EXISTS\s+)?"
                       r"((?:`[^`]+`|[A-Za-z0-9_$]+)(?:\s*\.\s*(?:`[^`]+`|[A-Za-z0-9_$]+))?)", re.I)


def declared_limits(statements: Iterable[Any], default_database: str | None = None) -> dict[tuple[str | None, str], float]:
    """{(database, mv): seconds} from statements carrying the `-- rockway:mv_max_staleness=` directive."""
    limits: dict[tuple[str | None, str], float] = {}
    for stmt in statements:
        value = stmt.directive(STALENESS_DIRECTIVE)
        if value is None:
            continue
        m = _DECLARED.match(stmt.sql)
        if not m:
            raise UsageError(f"-- rockway:{STALENESS_DIRECTIVE} stands before a statement that creates no view: "
                             f"{stmt.first_line[:80]}")
        parts = [p.strip().strip("`") for p in m.group(1).split(".")]
        key = (parts[0], parts[1]) if len(parts) == 2 else (default_database, parts[0])
        limits[key] = positive_duration(value)
    return limits


# --- status ---------------------------------------------------------------------------------------------


def _time(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    text = str(value).strip()
    for fmt in ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S"):
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


def _float(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def _bool(value: Any) -> bool:
    return str(value).strip().lower() in ("true", "1", "yes") if value is not None else False


@dataclass(frozen=True)
class MvStatus:
    """One materialized view: its state, last refresh and freshness against its declared limit."""

    database: str
    name: str
    active: bool
    inactive_reason: str | None
    refresh_type: str | None
    last_refresh_state: str | None
    last_refresh_start: datetime | None
    last_refresh_finished: datetime | None
    last_refresh_duration_seconds: float | None
    last_refresh_error: str | None
    fresh_as_of: datetime | None
    staleness_seconds: float | None
    max_staleness_seconds: float | None
    problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class StatusReport:
    """What `rockway mv status` shows."""

    engine: str
    supported: bool
    server_time: datetime | None = None
    views: list[MvStatus] = field(default_factory=list)
    undeclared: list[str] = field(default_factory=list)  # limits declared for MVs the server does not have

    @property
    def problems(self) -> int:
        return sum(len(v.problems) for v in self.views) + len(self.undeclared)

    @property
    def ok(self) -> bool:
        return self.problems == 0


def evaluate(row: Mapping[str, Any], now: datetime | None, limit: float | None,
             last_success: Any = None) -> MvStatus:
    """Judge one catalog row (keys as in information_schema.materialized_views)."""
    state = (str(row.get("LAST_REFRESH_STATE") or "").upper()) or None
    finished = _time(row.get("LAST_REFRESH_FINISHED_TIME"))
    active = _bool(row.get("IS_ACTIVE"))
    fresh_as_of = finished if state in FRESH_STATES else _time(last_success)
    staleness = (now - fresh_as_of).total_seconds() if (now is not None and fresh_as_of is not None) else None
    problems: list[str] = []
    notes: list[str] = []
    if not active:
        problems.append(f"inactive: {row.get('INACTIVE_REASON') or 'no reason given'}")
    if state == "FAILED":
        notes.append(f"last refresh FAILED: {row.get('LAST_REFRESH_ERROR_MESSAGE') or 'no message'}")
    elif state in ("RUNNING", "PENDING"):
        notes.append(f"a refresh is {state.lower()}")
    if limit is not None:
        if staleness is None:
            problems.append(f"no successful refresh on record (limit {format_duration(limit)})")
        elif staleness > limit:
            problems.append(f"stale: last successful refresh {format_duration(staleness)} ago, "
                            f"limit {format_duration(limit)}")
    return MvStatus(
        database=str(row.get("TABLE_SCHEMA") or ""), name=str(row.get("TABLE_NAME") or ""), active=active,
        inactive_reason=row.get("INACTIVE_REASON") if not active else None,
        refresh_type=row.get("REFRESH_TYPE"), last_refresh_state=state,
        last_refresh_start=_time(row.get("LAST_REFRESH_START_TIME")), last_refresh_finished=finished,
        last_refresh_duration_seconds=_float(row.get("LAST_REFRESH_DURATION")),
        last_refresh_error=row.get("LAST_REFRESH_ERROR_MESSAGE") if state == "FAILED" else None,
        fresh_as_of=fresh_as_of, staleness_seconds=staleness, max_staleness_seconds=limit,
        problems=tuple(problems), notes=tuple(notes))


def collect_status(adapter: Adapter, limits: Mapping[tuple[str | None, str], float] | None = None,
                   databases: Sequence[str] = ()) -> StatusReport:
    """Status of every materialized view (of `databases`, when given) on the adapter's server."""
    catalog = registry.materialized_views(adapter)
    if catalog is None:
        return StatusReport(engine=adapter.engine, supported=False)
    limits = {(db or adapter.database, name): s for (db, name), s in (limits or {}).items()}
    rows = catalog.list(databases)
    record_inactive(rows)
    now = _time(catalog.now())
    report = StatusReport(engine=adapter.engine, supported=True, server_time=now)
    seen: set[tuple[str | None, str]] = set()
    for row in rows:
        key: tuple[str | None, str] = (row.get("TABLE_SCHEMA"), str(row.get("TABLE_NAME")))
        seen.add(key)
        state = str(row.get("LAST_REFRESH_STATE") or "").upper()
        last_success = None
        task = row.get("TASK_NAME") or (f"mv-{row['MATERIALIZED_VIEW_ID']}" if row.get("MATERIALIZED_VIEW_ID") else None)
        if state not in FRESH_STATES and task and key in limits:
            last_success = catalog.last_success(str(task))
        view = evaluate(row, now, limits.get(key), last_success)
        report.views.append(view)
        if view.staleness_seconds is not None:
            metrics.record_mv_staleness(f"{view.database}.{view.name}" if view.database else view.name,
                                          view.staleness_seconds)
    for db, name in sorted(k for k in limits if k not in seen and (not databases or k[0] in databases)):
        report.undeclared.append(f"{db}.{name}" if db else name)
    return report


def record_inactive(rows: Iterable[Mapping[str, Any]]) -> None:
    """Record each MV of a catalog reading as rockway.mv.inactive 1 (inactive) or 0: one reading for `mv status`,
    the pipeline's `mv` step and the check after `migrate up` (mv/health.py), which the SigNoz alert watches."""
    for row in rows:
        name = f"{row.get('TABLE_SCHEMA')}.{row.get('TABLE_NAME')}" if row.get("TABLE_SCHEMA") else str(row.get("TABLE_NAME"))
        metrics.record_mv_inactive(name, not _bool(row.get("IS_ACTIVE")))


@dataclass
class ActivationReport:
    """What `rockway mv activate` did."""

    engine: str
    supported: bool
    activated: list[str] = field(default_factory=list)
    refreshed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # still inactive: the server's last answer

    @property
    def ok(self) -> bool:
        return not self.failed


def activate_inactive(adapter: Adapter, databases: Sequence[str] = (), *, refresh: bool = False,
                      only: Collection[str] | None = None, catalog: Any = None) -> ActivationReport:
    """ALTER … ACTIVE every inactive MV; repeat over the failures while a pass activates any (MVs on MVs).

    `only`: just these `db.mv` labels (mv/health.py re-activates what a migration run deactivated); `catalog`:
    an already probed catalog of the adapter (no second column probe).
    """
    catalog = catalog if catalog is not None else registry.materialized_views(adapter)
    if catalog is None:
        return ActivationReport(engine=adapter.engine, supported=False)
    report = ActivationReport(engine=adapter.engine, supported=True)
    pending = [(r.get("TABLE_SCHEMA"), str(r.get("TABLE_NAME"))) for r in catalog.list(databases)
               if not _bool(r.get("IS_ACTIVE"))]
    if only is not None:
        pending = [(db, name) for db, name in pending if (f"{db}.{name}" if db else name) in only]
    while pending:
        still: list[tuple[Any, str]] = []
        for db, name in pending:
            label = f"{db}.{name}" if db else name
            try:
                catalog.activate(db, name)
            except DatabaseError as exc:  # e.g. its base MV is inactive too, or a base column is gone
                report.failed[label] = exc.message
                still.append((db, name))
                continue
            report.failed.pop(label, None)
            report.activated.append(label)
        if len(still) == len(pending):
            break
        pending = still
    if refresh:
        for label in report.activated:
            db, _, name = label.rpartition(".")
            catalog.refresh(db or None, name)
            report.refreshed.append(label)
    return report


# --- entry points for the CLI ---------------------------------------------------------------------------


def project_limits(settings: Settings, engine: str, database: str | None) -> dict[tuple[str | None, str], float]:
    """Limits declared in the project's repeatable scripts, rendered for `engine` (no database access)."""
    project = Project(settings, engine=engine, database=database)
    limits: dict[tuple[str | None, str], float] = {}
    for script in project.scripts:
        if script.kind is Kind.REPEATABLE:
            limits.update(declared_limits(project.statements(script), database))
    return limits


def status(settings: Settings, databases: Sequence[str] = ()) -> StatusReport:
    """Connect and report every MV's state and freshness against the project's declared limits."""
    adapter = connect(settings)
    try:
        if registry.materialized_views(adapter) is None:
            return StatusReport(engine=adapter.engine, supported=False)
        return collect_status(adapter, project_limits(settings, adapter.engine, adapter.database), databases)
    finally:
        adapter.close()


def activate(settings: Settings, databases: Sequence[str] = (), *, refresh: bool = False) -> ActivationReport:
    """Connect and re-activate inactive MVs (optionally refreshing each one activated)."""
    adapter = connect(settings)
    try:
        return activate_inactive(adapter, databases, refresh=refresh)
    finally:
        adapter.close()


# --- the pipeline's `mv` step ---------------------------------------------------------------------------

MV_CHECK = "mv_health"
MV_CHECK_SEVERITIES = ("warning", "critical")


def status_check(adapter: Adapter, settings: Settings, severity: str = "warning") -> tuple[CheckSummary, bool, str]:
    """A pipeline's `mv` step: `rockway mv status`'s reading (collect_status, which also sets rockway.mv.inactive
    for the SigNoz alert) as a check named `mv_health` for the notifier; (check, whether the step fails, detail).

    An inactive MV, or one staler than its declared limit, fails the check; the step fails only at severity
    critical (at warning the notification lists it and the pipeline's outcome stands).
    """
    level = Severity.CRITICAL if severity == "critical" else Severity.WARNING
    if registry.materialized_views(adapter) is None:
        text = f"{adapter.engine}: no materialized views on this engine; nothing to check"
        return CheckSummary(MV_CHECK, None, level, "pass", message=text), False, text
    report = collect_status(adapter, project_limits(settings, adapter.engine, adapter.database))
    problems = [f"{v.database}.{v.name}: {p}" for v in report.views for p in v.problems]
    problems += [f"{name}: a staleness limit is declared but no such materialized view exists" for name in report.undeclared]
    names = ", ".join(f"{v.database}.{v.name}" for v in report.views if v.problems) or None
    text = f"{len(report.views)} materialized view(s): " + ("; ".join(problems) if problems else "all active and fresh")
    if any(not v.active for v in report.views):
        text += " (fix: `rockway mv activate`, or re-run the repeatable script that defines it)"
    check = CheckSummary(MV_CHECK, names, level, "fail" if problems else "pass", value=float(len(problems)),
                         bounds="[0, 0]", message=text)
    return check, bool(problems) and level is Severity.CRITICAL, text
