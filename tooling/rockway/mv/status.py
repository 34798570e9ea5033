"""Asynchronous materialized views: the deployment macro, and status / re-activation over an adapter.

Deployment (`materialized_view_sql`, the template global `mv.materialized_view`). StarRocks cannot change an
MV's query (ALTER MATERIALIZED VIEW has no AS …; CREATE_MATERIALIZED_VIEW/ALTER_MATERIALIZED_VIEW), so a
repeatable script that owns an MV renders, every time it runs:

    1. CREATE MATERIALIZED VIEW IF NOT EXISTS mv … REFRESH DEFERRED MANUAL AS <query>
         first deployment only: a placeholder with the same shape that is never refreshed; a no-op later
    2. DROP MATERIALIZED VIEW IF EXISTS mv__new          leftovers of an interrupted run
    3. CREATE MATERIALIZED VIEW mv__new … REFRESH <scheme> AS <query>
         the new definition; refresh moment IMMEDIATE, so rockway waits for its first refresh (wait_for_mv)
    4. ALTER MATERIALIZED VIEW mv SWAP WITH mv__new      atomic: readers see old or new data, never none
    5. DROP MATERIALIZED VIEW IF EXISTS mv__new          the old definition (or the placeholder)

Any step can be re-run after a failure. Swapping makes MVs built on top of `mv` inactive ("base-table swapped",
StarRocks test_mv_swap), and grants are bound to objects, so grant MVs per database (ON ALL MATERIALIZED VIEWS
IN DATABASE), not per MV; `migrate up` reports the MVs a run made inactive and how to fix each (mv_health.py),
and `rockway mv activate` re-activates them. MariaDB has no MVs: the same call renders a plain view with the
same name and columns (always fresh), so the warehouse's queries and RLS views run unchanged in the dev rehearsal.

Freshness limits are declared in the macro call (`max_staleness='2h'`), next to the refresh scheme, and travel
with the rendered SQL as the directive `-- rockway:mv_max_staleness=<seconds>` on the first statement;
`rockway mv status` renders the repeatable scripts (no database needed for that) to find them. Declare limits
for MVs refreshed on a schedule (ASYNC EVERY …) or by a job (MANUAL): an MV refreshed on base-table change
(bare ASYNC) is not refreshed while its bases do not change, so its age says nothing about staleness.

Status (`status`): information_schema.materialized_views (columns probed first, adapters/starrocks_mv.py). An
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

from rockway.observability import telemetry
from rockway.adapters import Adapter, connect
from rockway.config import Settings
from rockway.errors import DatabaseError, UsageError

__all__ = ["materialized_view_sql", "parse_duration", "format_duration", "declared_limits", "MvStatus",
           "StatusReport", "ActivationReport", "evaluate", "collect_status", "activate_inactive", "status",
           "activate", "record_inactive", "STALENESS_DIRECTIVE", "NEW_SUFFIX"]

STALENESS_DIRECTIVE = "mv_max_staleness"
NEW_SUFFIX = "__new"
FRESH_STATES = ("SUCCESS", "SKIPPED")

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")
_REFRESH = re.compile(
    r"^(?:(?:IMMEDIATE|DEFERRED)\s+)?(?:MANUAL|ASYNC(?:\s+START\s*\(\s*'[^']*'\s*\))?"
    r"(?:\s+EVERY\s*\(\s*INTERVAL\s+\d+\s+(?:DAY|HOUR|MINUTE|SECOND)\s*\))?)$", re.I)
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d)?\s*$", re.I)
_UNITS = {None: 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}


# --- rendering ------------------------------------------------------------------------------------------


def _name_parts(name: str) -> tuple[str | None, str]:
    parts = str(name).split(".")
    if not 1 <= len(parts) <= 2 or not all(_NAME.match(p) for p in parts):
        raise ValueError(f"materialized view name {name!r} is not a plain `db.name` or `name`")
    return (parts[0], parts[1]) if len(parts) == 2 else (None, parts[0])


def _quoted(database: str | None, name: str) -> str:
    return f"`{database}`.`{name}`" if database else f"`{name}`"


def _literal(text: str) -> str:
    return "'" + str(text).replace("\\", "\\\\").replace("'", "\\'") + "'"


def parse_duration(text: str | int | float) -> float:
    """Seconds of '90', '90s', '15m', '2h', '1.5d' (a number alone is seconds)."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        if text <= 0:
            raise ValueError(f"duration {text!r} must be positive")
        return float(text)
    m = _DURATION.match(str(text))
    if not m or float(m.group(1)) <= 0:
        raise ValueError(f"duration {text!r} is not a positive number with an optional unit s, m, h or d")
    return float(m.group(1)) * _UNITS[(m.group(2) or "").lower() or None]


def format_duration(seconds: float | None) -> str:
    """'2h 05m', '4m 10s', '12s'; '' for None."""
    if seconds is None:
        return ""
    s = int(round(seconds))
    sign, s = ("-", -s) if s < 0 else ("", s)
    days, rest = divmod(s, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{sign}{days}d {hours:02d}h"
    if hours:
        return f"{sign}{hours}h {minutes:02d}m"
    if minutes:
        return f"{sign}{minutes}m {secs:02d}s"
    return f"{sign}{secs}s"


def _columns_list(columns: str | Sequence[str] | None, what: str) -> str:
    items = [c.strip() for c in columns.split(",")] if isinstance(columns, str) else list(columns or ())
    for c in items:
        if not _NAME.match(c):
            raise ValueError(f"{what} column {c!r} is not a plain name")
    return ", ".join(f"`{c}`" for c in items)


def materialized_view_sql(engine: str, *, name: str, query: str, refresh: str = "MANUAL",
                          partition_by: str | None = None, distributed_by: str | Sequence[str] | None = None,
                          order_by: str | Sequence[str] | None = None, properties: Mapping[str, Any] | None = None,
                          comment: str = "", max_staleness: str | int | float | None = None,
                          replication_num: Any = None) -> str:
    """The statements that create or redefine an MV (see the module docstring); each ends with ';'."""
    database, mv = _name_parts(name)
    query = query.strip().rstrip(";").strip()
    if not query:
        raise ValueError(f"materialized view {name}: the query is empty")
    directive = ""
    if max_staleness is not None:
        directive = f"-- rockway:{STALENESS_DIRECTIVE}={parse_duration(max_staleness):g}\n"
    if engine != "starrocks":
        return (f"{directive}-- MariaDB has no materialized views: a view of the same name and columns stands in.\n"
                f"CREATE OR REPLACE VIEW {_quoted(database, mv)} AS\n{query};")
    scheme = " ".join(str(refresh).split())
    if not _REFRESH.match(scheme):
        raise ValueError(f"materialized view {name}: refresh {refresh!r} is not MANUAL, ASYNC or "
                         "ASYNC [START ('…')] EVERY (INTERVAL n DAY|HOUR|MINUTE|SECOND)")
    scheme = re.sub(r"^(?:IMMEDIATE|DEFERRED)\s+", "", scheme, flags=re.I)
    if len(mv) + len(NEW_SUFFIX) > 64:
        raise ValueError(f"materialized view name {mv!r} is too long for its {NEW_SUFFIX} twin (64 characters)")
    props: dict[str, str] = {}
    if replication_num is not None:
        props["replication_num"] = str(replication_num)
    props.update({str(k): str(v) for k, v in (properties or {}).items()})

    def create(target: str, refresh_clause: str, if_not_exists: bool) -> str:
        lines = [f"CREATE MATERIALIZED VIEW {'IF NOT EXISTS ' if if_not_exists else ''}{_quoted(database, target)}"]
        if comment:
            lines.append(f"COMMENT {_literal(comment)}")
        if distributed_by:
            lines.append(f"DISTRIBUTED BY HASH ({_columns_list(distributed_by, 'distribution')})")
        lines.append(f"REFRESH {refresh_clause}")
        if partition_by:
            lines.append(f"PARTITION BY {partition_by}")
        if order_by:
            lines.append(f"ORDER BY ({_columns_list(order_by, 'order')})")
        if props:
            lines.append("PROPERTIES (" + ", ".join(f'"{k}" = "{v}"' for k, v in props.items()) + ")")
        lines.append(f"AS\n{query}")
        return "\n".join(lines)

    new = mv + NEW_SUFFIX
    statements = [
        directive + create(mv, "DEFERRED MANUAL", True),
        f"DROP MATERIALIZED VIEW IF EXISTS {_quoted(database, new)}",
        create(new, scheme, False),
        f"ALTER MATERIALIZED VIEW {_quoted(database, mv)} SWAP WITH `{new}`",
        f"DROP MATERIALIZED VIEW IF EXISTS {_quoted(database, new)}",
    ]
    return "".join(f"{s};\n" for s in statements).rstrip("\n")


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
        limits[key] = parse_duration(value)
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
    from rockway.adapters.starrocks.mv import materialized_views

    catalog = materialized_views(adapter)
    if catalog is None:
        return StatusReport(engine=adapter.engine, supported=False)
    limits = {(db or adapter.database, name): s for (db, name), s in (limits or {}).items()}
    rows = catalog.list(databases)
    record_inactive(rows)
    now = _time(catalog.now())
    report = StatusReport(engine=adapter.engine, supported=True, server_time=now)
    seen: set[tuple[str | None, str]] = set()
    for row in rows:
        key = (row.get("TABLE_SCHEMA"), row.get("TABLE_NAME"))
        seen.add(key)
        state = str(row.get("LAST_REFRESH_STATE") or "").upper()
        last_success = None
        task = row.get("TASK_NAME") or (f"mv-{row['MATERIALIZED_VIEW_ID']}" if row.get("MATERIALIZED_VIEW_ID") else None)
        if state not in FRESH_STATES and task and key in limits:
            last_success = catalog.last_success(str(task))
        view = evaluate(row, now, limits.get(key), last_success)
        report.views.append(view)
        if view.staleness_seconds is not None:
            telemetry.record_mv_staleness(f"{view.database}.{view.name}" if view.database else view.name,
                                          view.staleness_seconds)
    for db, name in sorted(k for k in limits if k not in seen and (not databases or k[0] in databases)):
        report.undeclared.append(f"{db}.{name}" if db else name)
    return report


def record_inactive(rows: Iterable[Mapping[str, Any]]) -> None:
    """Record each MV of a catalog reading as rockway.mv.inactive 1 (inactive) or 0: one reading for `mv status`,
    the pipeline's `mv` step and the check after `migrate up` (mv_health.py), which the SigNoz alert watches."""
    for row in rows:
        name = f"{row.get('TABLE_SCHEMA')}.{row.get('TABLE_NAME')}" if row.get("TABLE_SCHEMA") else str(row.get("TABLE_NAME"))
        telemetry.record_mv_inactive(name, not _bool(row.get("IS_ACTIVE")))


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

    `only`: just these `db.mv` labels (mv_health.py re-activates what a migration run deactivated); `catalog`:
    an already probed catalog of the adapter (no second column probe).
    """
    from rockway.adapters.starrocks.mv import materialized_views

    catalog = catalog if catalog is not None else materialized_views(adapter)
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
    from rockway.migrate.api import Project
    from rockway.model import Kind

    project = Project(settings, engine=engine, database=database)
    limits: dict[tuple[str | None, str], float] = {}
    for script in project.scripts:
        if script.kind is Kind.REPEATABLE:
            limits.update(declared_limits(project.statements(script), database))
    return limits


def status(settings: Settings, databases: Sequence[str] = ()) -> StatusReport:
    """Connect and report every MV's state and freshness against the project's declared limits."""
    from rockway.adapters.starrocks.mv import materialized_views

    adapter = connect(settings)
    try:
        if materialized_views(adapter) is None:
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


def status_check(adapter: Adapter, settings: Settings, severity: str = "warning") -> tuple[Any, bool, str]:
    """A pipeline's `mv` step: `rockway mv status`'s reading (collect_status, which also sets rockway.mv.inactive
    for the SigNoz alert) as a check named `mv_health` for the notifier; (check, whether the step fails, detail).

    An inactive MV, or one staler than its declared limit, fails the check; the step fails only at severity
    critical (at warning the notification lists it and the pipeline's outcome stands).
    """
    from rockway.adapters.starrocks.mv import materialized_views
    from rockway.interfaces import CheckSummary, Severity

    level = Severity.CRITICAL if severity == "critical" else Severity.WARNING
    if materialized_views(adapter) is None:
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
