"""Measured values -> check results: bounds, second thresholds and anomaly verdicts (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from rockway.interfaces import CheckSummary, Severity
from rockway.verify.anomaly import judge
from rockway.verify.kinds import KINDS
from rockway.verify.kinds.base import fmt, number
from rockway.verify.model import BoundCheck, Level

STATUSES = ("pass", "fail", "error", "skipped")


@dataclass(frozen=True)
class CheckResult:
    """One check's outcome with everything the audit trail needs."""

    key: str
    name: str
    kind: str
    table: str
    scope: str  # stable scope label
    where: str | None  # the rendered filter that was checked
    severity: Severity  # the failed level's severity, else the declared one
    status: str  # pass | fail | error | skipped (not judged yet: too little history)
    value: float | None
    bounds: str
    message: str
    file: str
    line: int
    queries: tuple[str, ...] = ()  # ids of the statements that measured it
    sql_hashes: tuple[str, ...] = ()

    def summary(self) -> CheckSummary:
        """The contract view; `skipped` counts as pass (nothing to block on) and says so in the message."""
        status = "pass" if self.status == "skipped" else self.status
        message = f"skipped: {self.message}" if self.status == "skipped" else self.message
        return CheckSummary(name=self.name, table=self.table, severity=self.severity, status=status, value=self.value,
                            bounds=self.bounds, message=message)


@dataclass(frozen=True)
class _LevelOutcome:
    level: Level
    failed: bool
    bounds: str
    note: str = ""
    unjudged: bool = False


def _bounds_text(unit: str, low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f"[{fmt(low)}{unit}, {fmt(high)}{unit}]" if low != high else f"= {fmt(low)}{unit}"
    if low is not None:
        return f">= {fmt(low)}{unit}"
    if high is not None:
        return f"<= {fmt(high)}{unit}"
    return ""


def _judge_level(check: BoundCheck, level: Level, value: float | None, values: Mapping[str, Any],
                 history: Sequence[float | None] | None) -> _LevelOutcome:
    parts: list[str] = []
    failed = False
    notes: list[str] = []
    unjudged = False
    plain = _bounds_text(KINDS[check.kind].unit, level.min, level.max)
    if plain:
        parts.append(plain)
        if value is None or (level.min is not None and value < level.min) or (level.max is not None and value > level.max):
            failed = True
    if level.tolerance is not None or level.tolerance_pct is not None:
        source = number(values.get("source"))
        if source is None:
            failed = True
            notes.append("equals_sql returned NULL")
            parts.append("= source count")
        else:
            allowed = max(level.tolerance or 0.0, abs(source) * (level.tolerance_pct or 0.0) / 100.0)
            parts.append(f"= {fmt(source)} ± {fmt(allowed)} (source count)")
            if value is None or abs(value - source) > allowed:
                failed = True
    if level.anomaly is not None:
        verdict = judge(value, history or [], level.anomaly)
        parts.append(f"{verdict.bounds()} {level.anomaly.method}")
        notes.append(verdict.message)
        if verdict.judged:
            failed = failed or verdict.anomalous
        elif value is None:
            failed = True
        else:
            unjudged = True
    return _LevelOutcome(level=level, failed=failed, bounds=" and ".join(parts), note="; ".join(notes), unjudged=unjudged)


def evaluate(check: BoundCheck, values: Mapping[str, Any], history: Sequence[float | None] | None = None,
             *, queries: Sequence[str] = (), sql_hashes: Sequence[str] = ()) -> CheckResult:
    """Judge one check from its measured inputs (and trailing history for anomaly levels)."""
    base: dict[str, Any] = dict(key=check.key, name=check.name, kind=check.kind, table=check.table, scope=check.scope,
                                where=check.where, file=check.spec.file, line=check.spec.line, queries=tuple(queries),
                                sql_hashes=tuple(sql_hashes))
    try:
        value, note = KINDS[check.kind].measure(check, values)
        outcomes = [_judge_level(check, level, value, values, history) for level in check.spec.levels]
    except (ValueError, TypeError, OverflowError) as exc:
        return CheckResult(severity=check.severity, status="error", value=None, bounds="", message=str(exc), **base)
    multi = len(outcomes) > 1
    bounds = "; ".join(f"{o.level.severity.value}: {o.bounds}" if multi else o.bounds for o in outcomes)
    failed = [o for o in outcomes if o.failed]
    notes = [n for n in [note, *(o.note for o in outcomes)] if n]
    if failed:
        worst = max(failed, key=lambda o: o.level.severity.rank)
        return CheckResult(severity=worst.level.severity, status="fail", value=value, bounds=bounds,
                           message="; ".join(notes), **base)
    primary = outcomes[0]
    only_anomaly = primary.level.min is None and primary.level.max is None and primary.level.tolerance is None \
        and primary.level.tolerance_pct is None
    status = "skipped" if primary.unjudged and only_anomaly else "pass"
    return CheckResult(severity=check.severity, status=status, value=value, bounds=bounds, message="; ".join(notes),
                       **base)


def error_result(check: BoundCheck, message: str, *, queries: Sequence[str] = (),
                 sql_hashes: Sequence[str] = ()) -> CheckResult:
    """A check that could not be measured (its statement failed)."""
    return CheckResult(key=check.key, name=check.name, kind=check.kind, table=check.table, scope=check.scope,
                       where=check.where, severity=check.severity, status="error", value=None, bounds="",
                       message=message, file=check.spec.file, line=check.spec.line, queries=tuple(queries),
                       sql_hashes=tuple(sql_hashes))
