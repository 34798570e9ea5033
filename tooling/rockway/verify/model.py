"""What a check is, as written (`CheckSpec` in a `TableSpec` of a `CheckFile`) and as bound for one run."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable

from rockway.interfaces import Severity

NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,127}$")
IDENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,63}$")


@dataclass(frozen=True)
class HistoryDefaults:
    """Trailing-history settings that anomaly checks inherit."""

    window: int = 14
    min_history: int = 7


@dataclass(frozen=True)
class AnomalySpec:
    """How a value is judged against its trailing history."""

    method: str = "robust_z"
    direction: str = "both"
    threshold: float = 3.5
    max_drop_pct: float | None = None
    max_spike_pct: float | None = None
    window: int = 14
    min_history: int = 7


@dataclass(frozen=True)
class Level:
    """One threshold at one severity: plain bounds and/or an anomaly rule."""

    severity: Severity
    min: float | None = None
    max: float | None = None
    tolerance: float | None = None  # row_count equals_sql: allowed absolute difference
    tolerance_pct: float | None = None  # … or percent of the source count
    anomaly: AnomalySpec | None = None


@dataclass(frozen=True)
class CheckSpec:
    """One check as written (SQL fragments are still templates)."""

    name: str
    kind: str
    levels: tuple[Level, ...]
    file: str
    line: int
    column: str | None = None
    columns: tuple[str, ...] = ()
    expr: str | None = None  # metric expression, predicate condition or custom query
    source_sql: str | None = None  # row_count equals_sql
    to: str | None = None  # reference target `db.table.column` (template)
    to_where: str | None = None
    now: str = "NOW()"
    separate: bool = False
    description: str = ""

    @property
    def severity(self) -> Severity:
        return self.levels[0].severity

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}"

    @property
    def anomaly(self) -> AnomalySpec | None:
        return self.levels[0].anomaly


@dataclass(frozen=True)
class TableSpec:
    """Checks on one table within one scope (filter)."""

    table: str  # template, e.g. "{{ dw_db }}.fact_sales"
    where: str | None
    scope: str  # stable label of the scope, the key of metric history
    checks: tuple[CheckSpec, ...]
    file: str
    line: int
    where_line: int = 0


@dataclass(frozen=True)
class CheckFile:
    """One parsed check file."""

    path: str
    pipelines: tuple[str, ...] = ()
    tables: tuple[TableSpec, ...] = field(default_factory=tuple)

    def checks(self) -> Iterable[tuple[TableSpec, CheckSpec]]:
        for table in self.tables:
            for check in table.checks:
                yield table, check


@dataclass(frozen=True)
class BoundCheck:
    """A check with its SQL fragments rendered for one run's variables and scope."""

    spec: CheckSpec
    table: str  # `db.table` as rendered
    where: str | None  # rendered scope filter
    scope: str  # stable scope label (metric-history key)
    expr: str | None = None
    source_sql: str | None = None
    to_table: str | None = None
    to_column: str | None = None
    to_where: str | None = None
    now: str = "NOW()"

    @property
    def key(self) -> str:
        return f"{self.spec.file}#{self.spec.name}"

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def kind(self) -> str:
        return self.spec.kind

    @property
    def severity(self) -> Severity:
        return self.spec.severity
