"""Materialized-view health around a migration run: what the run made inactive, and how to fix it.

On StarRocks, redefining a view or changing a base table makes the MVs on top of it inactive: they stop
refreshing and stop serving query rewrites, and the statement that caused it succeeds. Even
`CREATE OR REPLACE VIEW` with the same text does it ("base-view changed: view1", recorded in
tests/unit/test_mv_health.py). So `migrate up` reads the MV catalog before and after it runs (the reader of
adapters/starrocks/mv.py, columns probed once) and reports every MV that

  - was active (or did not exist) before and is inactive after, with its INACTIVE_REASON, or
  - refreshed during the run (new MV, new id after a SWAP, or a new refresh start) and whose refresh FAILED,

with the command that fixes it: `rockway mv activate -d <db>`, or — when activation cannot work (a base
column was dropped or changed type, the base table is gone) — the repeatable script that defines the MV,
which must be edited so that `migrate up` recreates it. The `mv_health` setting chooses what follows:
`warn` (report, exit 0), `fail` (report, exit 1 after the run) or `activate` (ALTER … ACTIVE the MVs this
run made inactive, read the catalog again, report what stayed inactive).

Engines without materialized views (MySQL/MariaDB) read nothing: `materialized_views(adapter)` is None and
no query is sent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence

if TYPE_CHECKING:  # annotations only: OpenTelemetry is imported by observability/ alone
    from opentelemetry.trace import Span

from rockway.adapters import Adapter
from rockway.adapters.base import CatalogObject
from rockway.adapters import registry
from rockway.errors import RockwayError
from rockway.migrate.dependencies import created_objects
from rockway.migrate.history import evolve
from rockway.migrate.project import Session
from rockway.model import Kind, Script, Statement
from rockway.mv.status import activate_inactive, record_inactive
from rockway.observability import redaction

__all__ = ["MvFinding", "MvHealthReport", "MvHealthCheck", "compare", "defining_scripts", "record_on_span",
           "finish_mv_health"]

Key = tuple[str, str]

# INACTIVE_REASON texts after which ALTER … ACTIVE re-checks the old definition against a base that no longer
# fits it (recorded in tests/unit/test_mv_health.py and tests/support/mv_catalog.py): "base table schema changed for
# columns: k1", "column schema not compatible: …" (the reason left after a failed ACTIVE), "… cannot be
# resolved." (the ACTIVE error when a base column is gone).
_RECREATE = re.compile(r"schema changed for columns|column schema not compatible|mv schema changed|cannot be resolved",
                       re.I)
_DROPPED = re.compile(r"base-table dropped:\s*`?([A-Za-z0-9_$.]+)`?", re.I)


@dataclass
class MvFinding:
    """One MV the run left unhealthy."""

    database: str
    name: str
    problem: str  # inactive | refresh failed
    reason: str  # INACTIVE_REASON, or the refresh's error message
    fix: str  # what to run or edit
    script: str | None = None  # the repeatable script that defines the MV
    activated: bool = False  # `activate` mode re-activated it
    activation_error: str | None = None

    @property
    def label(self) -> str:
        return f"{self.database}.{self.name}" if self.database else self.name

    def describe(self) -> str:
        if self.activated:
            return f"{self.label}: was made inactive ({self.reason}); re-activated"
        tail = f" (ALTER … ACTIVE failed: {self.activation_error})" if self.activation_error else ""
        return f"{self.label}: {self.problem} ({self.reason}){tail}; fix: {self.fix}"


@dataclass
class MvHealthReport:
    """What the MV check after a run found and did."""

    mode: str
    supported: bool
    checked: int = 0  # MVs on the server after the run
    findings: list[MvFinding] = field(default_factory=list)
    already_inactive: list[str] = field(default_factory=list)  # inactive before the run too: not this run's doing
    error: str | None = None  # the catalog could not be read (the run itself is not affected)

    @property
    def problems(self) -> list[MvFinding]:
        return [f for f in self.findings if not f.activated]

    @property
    def activated(self) -> list[MvFinding]:
        return [f for f in self.findings if f.activated]

    @property
    def fails_run(self) -> bool:
        """True when the run must exit 1 (mode `fail` and an MV is unhealthy)."""
        return self.mode == "fail" and bool(self.problems)

    def summary(self) -> str:
        """One text for the history row: every finding, '; '-separated."""
        return "mv health after this run: " + "; ".join(f.describe() for f in self.findings)


def _message(exc: BaseException) -> str:
    return exc.message if isinstance(exc, RockwayError) else str(exc)


def _label(key: Key) -> str:
    return f"{key[0]}.{key[1]}" if key[0] else key[1]


def _active(row: Mapping[str, Any]) -> bool:
    return str(row.get("IS_ACTIVE") or "").strip().lower() in ("true", "1", "yes")


def _refreshed_during_run(before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> bool:
    if before is None:
        return True
    return any(str(before.get(c)) != str(after.get(c)) for c in ("MATERIALIZED_VIEW_ID", "LAST_REFRESH_START_TIME"))


def compare(before: Mapping[Key, Mapping[str, Any]], after: Mapping[Key, Mapping[str, Any]]
            ) -> tuple[list[MvFinding], list[str]]:
    """Findings (fix still empty) for MVs the run deactivated or whose refresh in the run failed; and the MVs
    that were inactive before the run already."""
    findings: list[MvFinding] = []
    already: list[str] = []
    for key, row in sorted(after.items()):
        old = before.get(key)
        if not _active(row):
            if old is not None and not _active(old):
                already.append(_label(key))
                continue
            findings.append(MvFinding(key[0], key[1], "inactive", str(row.get("INACTIVE_REASON") or "no reason given"), ""))
        elif str(row.get("LAST_REFRESH_STATE") or "").upper() == "FAILED" and _refreshed_during_run(old, row):
            findings.append(MvFinding(key[0], key[1], "refresh failed",
                                      str(row.get("LAST_REFRESH_ERROR_MESSAGE") or "no message"), ""))
    return findings, already


def defining_scripts(scripts: Iterable[Script], statements: Callable[[Script], Sequence[Statement]]) -> dict[str, str]:
    """{mv or view name (lower case): repeatable script file} from the scripts' rendered CREATE statements."""
    owners: dict[str, str] = {}
    for script in scripts:
        if script.kind is Kind.REPEATABLE:
            for name in created_objects(statements(script)):
                owners.setdefault(name, script.name)
    return owners


def _fix(finding: MvFinding, script: str | None, base_exists: bool | None) -> str:
    recreate = (f"edit {script} so that it fits its base tables again; `migrate up` then recreates the MV" if script
                else "recreate it (no repeatable script of this project defines it)")
    quoted = f"`{finding.database}`.`{finding.name}`" if finding.database else f"`{finding.name}`"
    if finding.problem == "refresh failed":
        return (f"fix the cause, then REFRESH MATERIALIZED VIEW {quoted} WITH SYNC MODE"
                + (f", or correct its query in {script}" if script else ""))
    dropped = _DROPPED.search(finding.reason)
    if _RECREATE.search(finding.reason) or (dropped and base_exists is False):
        what = f"its base table {dropped.group(1)} is gone: restore it, or " if dropped and base_exists is False else ""
        return what + recreate
    activate = f"rockway mv activate -d {finding.database}" if finding.database else "rockway mv activate"
    return activate + (f"; if it stays inactive, {recreate}" if script else "")


class MvHealthCheck:
    """Read MV states before a run; after it, compare, explain and (mode `activate`) re-activate."""

    def __init__(self, adapter: Adapter, mode: str) -> None:  # mode: one of config.MV_HEALTH_MODES
        self.adapter = adapter
        self.mode = mode
        self.catalog = registry.materialized_views(adapter)
        self.before: dict[Key, dict[str, Any]] | None = None
        self.error: str | None = None
        if self.catalog is not None:  # a health reading must never keep the migration from running
            try:
                self.before = self._read()
            except (RockwayError, ValueError) as exc:
                self.error = f"the materialized views could not be read before the run: {_message(exc)}"

    def _read(self) -> dict[Key, dict[str, Any]]:
        assert self.catalog is not None
        rows = self.catalog.list()
        record_inactive(rows)
        return {(str(r.get("TABLE_SCHEMA") or ""), str(r.get("TABLE_NAME") or "")): r for r in rows}

    def finish(self, scripts: Sequence[Script], statements: Callable[[Script], Sequence[Statement]]) -> MvHealthReport:
        """Compare with the reading before the run; name fixes and scripts; re-activate in mode `activate`."""
        if self.catalog is None:
            return MvHealthReport(self.mode, supported=False)
        if self.before is None:
            return MvHealthReport(self.mode, supported=True, error=self.error)
        try:
            after = self._read()
        except (RockwayError, ValueError) as exc:
            return MvHealthReport(self.mode, supported=True,
                                  error=f"the materialized views could not be read after the run: {_message(exc)}")
        findings, already = compare(self.before, after)
        report = MvHealthReport(self.mode, supported=True, checked=len(after), findings=findings,
                                already_inactive=already)
        if not findings:
            return report
        owners = defining_scripts(scripts, statements)
        if self.mode == "activate":
            try:
                self._activate(report)
            except (RockwayError, ValueError) as exc:  # the findings stay problems, with their advice
                report.error = f"re-activation stopped: {_message(exc)}"
        for f in report.problems:
            f.script = owners.get(f.name.lower())
            dropped = _DROPPED.search(f.reason)
            exists = None
            if dropped and f.problem == "inactive":
                try:
                    exists = self.adapter.catalog_has(CatalogObject("table", f.database or None, dropped.group(1)))
                except RockwayError:
                    exists = None  # unknown: the advice names both ways
            f.fix = _fix(f, f.script, exists)
        return report

    def _activate(self, report: MvHealthReport) -> None:
        inactive = [f for f in report.findings if f.problem == "inactive"]
        outcome = activate_inactive(self.adapter, only={f.label for f in inactive}, catalog=self.catalog)
        again = self._read()  # ACTIVE may leave an MV inactive with a new reason instead of failing
        for f in inactive:
            row = again.get((f.database, f.name))
            if row is not None and _active(row):
                f.activated = True
            else:
                f.activation_error = outcome.failed.get(f.label)
                if row is not None and row.get("INACTIVE_REASON"):
                    f.reason = str(row["INACTIVE_REASON"])


def record_on_span(span: Span, report: MvHealthReport) -> None:
    """The report as attributes of the run's span (rockway.mv.*)."""
    if not report.supported:
        return
    span.set_attribute("rockway.mv.health", report.mode)
    span.set_attribute("rockway.mv.checked", report.checked)
    span.set_attribute("rockway.mv.unhealthy", len(report.problems))
    span.set_attribute("rockway.mv.activated", len(report.activated))
    if report.findings:
        span.set_attribute("rockway.mv.findings", [redaction.redact_message(f.describe())[:500] for f in report.findings])


def finish_mv_health(check: MvHealthCheck, session: Session, run_span: Span, run_id: str) -> MvHealthReport:
    """After a successful run: the report, on the run's span and — when it found anything — in the history.

    The history table has no column for it, and adding one would make every existing history table fail
    history.py's column check; so the findings go into the `error` text of the run's last row, which stays
    `success` (the planner reads status, not error); `migrate history --json` shows it.
    """
    report = check.finish(session.project.scripts, session.project.statements)
    record_on_span(run_span, report)
    if report.findings:
        mine = [r for r in session.history.rows() if r.run_id == run_id]
        if mine:
            last = max(mine, key=lambda r: r.installed_rank)
            session.history.write(evolve(last, error=((last.error + "\n") if last.error else "") + report.summary()[:3900]))
    return report
