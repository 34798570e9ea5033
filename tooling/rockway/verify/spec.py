"""Check files (YAML) -> frozen check specs, validated with file:line in every error."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from rockway.interfaces import Severity
from rockway.errors import InputError

KINDS = ("row_count", "freshness", "null_pct", "duplicates", "reference", "metric", "predicate", "sql")
METHODS = ("robust_z", "zscore", "pct_change")
DIRECTIONS = ("drop", "spike", "both")
NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,127}$")
IDENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,63}$")
_DURATION_RE = re.compile(r"^(?:(\d+(?:\.\d+)?)d)?(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?$")

# Keys allowed in a check body, per kind (the bound keys may also appear in `escalate`).
_BODY_KEYS: dict[str, set[str]] = {
    "row_count": {"min", "max", "equals_sql", "tolerance", "tolerance_pct", "anomaly"},
    "freshness": {"column", "max_age", "now"},
    "null_pct": {"column", "min", "max"},
    "duplicates": {"column", "columns", "max"},
    "reference": {"column", "to", "where", "max", "max_missing", "separate"},
    "metric": {"expr", "min", "max", "anomaly"},
    "predicate": {"where", "min", "max"},
    "sql": {"query", "min", "max", "anomaly"},
}
_BOUND_KEYS = {"min", "max", "max_age", "max_missing", "tolerance", "tolerance_pct"}
_ANOMALY_KEYS = {"method", "direction", "threshold", "max_drop_pct", "max_spike_pct", "max_pct", "window", "min_history"}
_ANOMALY_LEVEL_KEYS = {"threshold", "max_drop_pct", "max_spike_pct", "max_pct"}


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


def parse_duration(text: Any) -> float | None:
    """Seconds in `26h`, `1d12h`, `90m`, `45s` or a plain number of seconds; None when invalid."""
    if isinstance(text, bool):
        return None
    if isinstance(text, (int, float)):
        return float(text) if text >= 0 else None
    match = _DURATION_RE.match(str(text).strip().lower())
    if not match or not any(match.groups()):
        return None
    d, h, m, s = (float(g) if g else 0.0 for g in match.groups())
    return d * 86400 + h * 3600 + m * 60 + s


class _Reader:
    """Walks composed YAML nodes and raises InputError at the offending line."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._constructor = SafeConstructor()

    def fail(self, node: Node | None, message: str, hint: str | None = None) -> InputError:
        line = node.start_mark.line + 1 if node is not None else None
        return InputError(self.path, message, line=line, hint=hint)

    def value(self, node: Node) -> Any:
        try:
            return self._constructor.construct_object(node, deep=True)
        except ConstructorError as exc:
            raise self.fail(node, f"invalid value: {exc.problem}") from None

    def mapping(self, node: Node, what: str, allowed: set[str] | None = None) -> dict[str, tuple[Node, Node]]:
        if not isinstance(node, MappingNode):
            raise self.fail(node, f"{what} must be a mapping")
        out: dict[str, tuple[Node, Node]] = {}
        for key_node, value_node in node.value:
            key = self.value(key_node)
            if not isinstance(key, str):
                raise self.fail(key_node, f"{what}: keys must be text, not {key!r}")
            if key in out:
                raise self.fail(key_node, f"{what}: key {key!r} appears twice")
            if allowed is not None and key not in allowed:
                raise self.fail(key_node, f"{what}: unknown key {key!r}", hint="Allowed: " + ", ".join(sorted(allowed)))
            out[key] = (key_node, value_node)
        return out

    def sequence(self, node: Node, what: str) -> list[Node]:
        if not isinstance(node, SequenceNode):
            raise self.fail(node, f"{what} must be a list")
        return list(node.value)

    def text(self, node: Node, what: str) -> str:
        value = self.value(node)
        if not isinstance(node, ScalarNode) or value is None or isinstance(value, (bool, list, dict)) or str(value).strip() == "":
            raise self.fail(node, f"{what} must be non-empty text")
        return str(value).strip()

    def number(self, node: Node, what: str, *, integer: bool = False, minimum: float | None = None) -> float:
        value = self.value(node)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not float(value).is_integer()):
            raise self.fail(node, f"{what} must be {'an integer' if integer else 'a number'}, not {value!r}")
        if minimum is not None and value < minimum:
            raise self.fail(node, f"{what} must be at least {minimum:g}, not {value!r}")
        return float(value)

    def boolean(self, node: Node, what: str) -> bool:
        value = self.value(node)
        if not isinstance(value, bool):
            raise self.fail(node, f"{what} must be true or false, not {value!r}")
        return value

    def severity(self, node: Node) -> Severity:
        value = self.value(node)
        text = str(value).strip().upper() if isinstance(value, str) else ""
        if text not in Severity.__members__:
            raise self.fail(node, f"unknown severity {value!r}", hint="Use CRITICAL, WARNING or INFO.")
        return Severity[text]

    def identifier(self, node: Node, what: str) -> str:
        text = self.text(node, what)
        if not IDENT_RE.match(text):
            raise self.fail(node, f"{what} {text!r} is not a plain column name (letters, digits, _ and $)")
        return text


def load_file(path: Path, project_dir: Path, history: HistoryDefaults = HistoryDefaults()) -> CheckFile:
    """Read and validate one check file; paths in errors are relative to the project."""
    display = _display(path, project_dir)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(display, "check file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(display, f"cannot read check file: {exc}") from None
    return parse_text(text, display, history)


def _display(path: Path, project_dir: Path) -> str:
    try:
        return Path(path).resolve().relative_to(Path(project_dir).resolve()).as_posix()
    except ValueError:
        return Path(path).as_posix()


def parse_text(text: str, path: str, history: HistoryDefaults = HistoryDefaults()) -> CheckFile:
    """Parse check-file text; `path` names the file in errors."""
    reader = _Reader(path)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise InputError(path, f"not valid YAML: {exc.problem or exc.context}", line=mark.line + 1 if mark else None) from None
    except yaml.YAMLError as exc:
        raise InputError(path, f"not valid YAML: {exc}") from None
    if root is None:
        raise InputError(path, "empty check file", hint="Start with `version: 1` and a `tables:` list.")
    top = reader.mapping(root, "check file", {"version", "defaults", "pipelines", "tables", "description"})
    if "version" in top and reader.value(top["version"][1]) != 1:
        raise reader.fail(top["version"][1], "unsupported version; this rockway reads `version: 1`")
    severity = Severity.WARNING
    if "defaults" in top:
        defaults = reader.mapping(top["defaults"][1], "defaults", {"severity", "history"})
        if "severity" in defaults:
            severity = reader.severity(defaults["severity"][1])
        if "history" in defaults:
            history = _history(reader, defaults["history"][1], history)
    pipelines: tuple[str, ...] = ()
    if "pipelines" in top:
        pipelines = tuple(reader.text(n, "pipeline name") for n in reader.sequence(top["pipelines"][1], "pipelines"))
    if "tables" not in top:
        raise reader.fail(root, "no `tables:` list")
    tables = tuple(_table(reader, node, severity, history) for node in reader.sequence(top["tables"][1], "tables"))
    seen: dict[str, int] = {}
    for table in tables:
        for check in table.checks:
            if check.name in seen:
                raise InputError(path, f"check name {check.name!r} is used twice (first at line {seen[check.name]})",
                                 line=check.line, hint="Give one of them a `name:`.")
            seen[check.name] = check.line
    return CheckFile(path=path, pipelines=pipelines, tables=tables)


def _history(reader: _Reader, node: Node, base: HistoryDefaults) -> HistoryDefaults:
    keys = reader.mapping(node, "history", {"window", "min_history"})
    window = int(reader.number(keys["window"][1], "window", integer=True, minimum=1)) if "window" in keys else base.window
    minimum = (int(reader.number(keys["min_history"][1], "min_history", integer=True, minimum=1))
               if "min_history" in keys else base.min_history)
    return HistoryDefaults(window=window, min_history=minimum)


def _table(reader: _Reader, node: Node, severity: Severity, history: HistoryDefaults) -> TableSpec:
    keys = reader.mapping(node, "table entry", {"table", "where", "scope", "checks", "description"})
    if "table" not in keys:
        raise reader.fail(node, "table entry has no `table:`")
    table = reader.text(keys["table"][1], "table")
    where = reader.text(keys["where"][1], "where") if "where" in keys else None
    scope = reader.text(keys["scope"][1], "scope") if "scope" in keys else (where or "all")
    if "checks" not in keys:
        raise reader.fail(node, f"table {table!r} has no `checks:` list")
    short = table.rsplit(".", 1)[-1].replace("{", "").replace("}", "").strip() or "table"
    checks = tuple(_check(reader, n, short, severity, history) for n in reader.sequence(keys["checks"][1], "checks"))
    if not checks:
        raise reader.fail(keys["checks"][1], f"table {table!r} has an empty `checks:` list")
    return TableSpec(table=table, where=where, scope=scope[:255], checks=checks, file=reader.path,
                     line=node.start_mark.line + 1,
                     where_line=keys["where"][1].start_mark.line + 1 if "where" in keys else node.start_mark.line + 1)


def _check(reader: _Reader, node: Node, short: str, default: Severity, history: HistoryDefaults) -> CheckSpec:
    keys = reader.mapping(node, "check", set(KINDS) | {"name", "severity", "escalate", "description"})
    kinds = [k for k in keys if k in KINDS]
    if len(kinds) != 1:
        raise reader.fail(node, "a check needs exactly one check type" + (f", found {', '.join(kinds)}" if kinds else ""),
                          hint="Types: " + ", ".join(KINDS))
    kind = kinds[0]
    body_node = keys[kind][1]
    body = reader.mapping(body_node, kind, _BODY_KEYS[kind])
    severity = reader.severity(keys["severity"][1]) if "severity" in keys else default
    line = node.start_mark.line + 1
    spec: dict[str, Any] = {}

    def req(key: str) -> Node:
        if key not in body:
            raise reader.fail(body_node, f"{kind} needs `{key}:`")
        return body[key][1]

    if kind in ("freshness", "null_pct", "reference"):
        spec["column"] = reader.identifier(req("column"), "column")
    if kind == "freshness":
        if parse_duration(reader.value(req("max_age"))) is None:
            raise reader.fail(body["max_age"][1], "max_age must be a duration like 26h, 90m, 2d or 1d12h")
        if "now" in body:
            spec["now"] = reader.text(body["now"][1], "now")
    elif kind == "duplicates":
        if ("column" in body) == ("columns" in body):
            raise reader.fail(body_node, "duplicates needs `columns:` (a list) or `column:`")
        if "column" in body:
            spec["columns"] = (reader.identifier(body["column"][1], "column"),)
        else:
            cols_node = body["columns"][1]
            items = [cols_node] if isinstance(cols_node, ScalarNode) else reader.sequence(cols_node, "columns")
            spec["columns"] = tuple(reader.identifier(n, "column") for n in items)
            if not spec["columns"]:
                raise reader.fail(cols_node, "columns must not be empty")
    elif kind == "reference":
        spec["to"] = reader.text(req("to"), "to")
        if "where" in body:
            spec["to_where"] = reader.text(body["where"][1], "where")
        if "separate" in body:
            spec["separate"] = reader.boolean(body["separate"][1], "separate")
    elif kind == "metric":
        spec["expr"] = reader.text(req("expr"), "expr")
    elif kind == "predicate":
        spec["expr"] = reader.text(req("where"), "where")
    elif kind == "sql":
        spec["expr"] = reader.text(req("query"), "query")
    elif kind == "row_count" and "equals_sql" in body:
        spec["source_sql"] = reader.text(body["equals_sql"][1], "equals_sql")
    anomaly = _anomaly(reader, body["anomaly"][1], history) if "anomaly" in body else None
    primary = _level(reader, kind, body, severity, anomaly, body_node)
    levels = [primary]
    if "escalate" in keys:
        levels.append(_escalate(reader, kind, keys["escalate"][1], primary))
    if "name" in keys:
        name = reader.text(keys["name"][1], "name")
        if not NAME_RE.match(name):
            raise reader.fail(keys["name"][1], f"check name {name!r}: use letters, digits, _ . : - (at most 128)")
    elif kind in ("metric", "predicate", "sql"):
        raise reader.fail(node, f"a {kind} check needs a `name:`")
    else:
        suffix = "_".join(spec.get("columns") or ([spec["column"]] if "column" in spec else []))
        name = ".".join(p for p in (short, kind, suffix) if p)[:128]
        if anomaly is not None:
            name += ".anomaly"
    description = reader.text(keys["description"][1], "description") if "description" in keys else ""
    return CheckSpec(name=name, kind=kind, levels=tuple(levels), file=reader.path, line=line,
                     description=description, **spec)


def _anomaly(reader: _Reader, node: Node, history: HistoryDefaults) -> AnomalySpec:
    keys = reader.mapping(node, "anomaly", _ANOMALY_KEYS)
    values: dict[str, Any] = {"window": history.window, "min_history": history.min_history}
    if "method" in keys:
        values["method"] = reader.text(keys["method"][1], "method")
        if values["method"] not in METHODS:
            raise reader.fail(keys["method"][1], f"unknown anomaly method {values['method']!r}", hint="Use " + ", ".join(METHODS))
    if "direction" in keys:
        values["direction"] = reader.text(keys["direction"][1], "direction")
        if values["direction"] not in DIRECTIONS:
            raise reader.fail(keys["direction"][1], f"unknown direction {values['direction']!r}", hint="Use drop, spike or both")
    for key in ("window", "min_history"):
        if key in keys:
            values[key] = int(reader.number(keys[key][1], key, integer=True, minimum=1))
    values.update(_anomaly_numbers(reader, keys))
    spec = AnomalySpec(**values)
    _check_anomaly(reader, spec, node)
    return spec


def _anomaly_numbers(reader: _Reader, keys: dict[str, tuple[Node, Node]]) -> dict[str, float]:
    out: dict[str, float] = {}
    if "threshold" in keys:
        out["threshold"] = reader.number(keys["threshold"][1], "threshold", minimum=0)
    if "max_pct" in keys:
        out["max_drop_pct"] = out["max_spike_pct"] = reader.number(keys["max_pct"][1], "max_pct", minimum=0)
    for key in ("max_drop_pct", "max_spike_pct"):
        if key in keys:
            out[key] = reader.number(keys[key][1], key, minimum=0)
    return out


def _check_anomaly(reader: _Reader, spec: AnomalySpec, node: Node) -> None:
    if spec.min_history > spec.window:
        raise reader.fail(node, f"min_history ({spec.min_history}) is larger than window ({spec.window})")
    if spec.method == "pct_change":
        if spec.direction in ("drop", "both") and spec.max_drop_pct is None:
            raise reader.fail(node, "pct_change needs max_drop_pct (or max_pct) to judge drops")
        if spec.direction in ("spike", "both") and spec.max_spike_pct is None:
            raise reader.fail(node, "pct_change needs max_spike_pct (or max_pct) to judge spikes")


def _level(reader: _Reader, kind: str, body: dict[str, tuple[Node, Node]], severity: Severity,
           anomaly: AnomalySpec | None, body_node: Node) -> Level:
    values: dict[str, Any] = {}
    for key in ("min", "max", "tolerance", "tolerance_pct"):
        if key in body:
            values[key] = reader.number(body[key][1], key, minimum=0 if key.startswith("tol") else None)
    if "max_missing" in body:
        if "max" in body:
            raise reader.fail(body["max_missing"][1], "use `max` or `max_missing`, not both")
        values["max"] = reader.number(body["max_missing"][1], "max_missing", minimum=0)
    if kind == "freshness":
        values["max"] = parse_duration(reader.value(body["max_age"][1]))
    if kind in ("duplicates", "reference") and "max" not in values:
        values["max"] = 0.0
    if kind == "predicate" and "min" not in values and "max" not in values:
        values["max"] = 0.0
    has_bounds = any(k in values for k in ("min", "max")) or anomaly is not None or "equals_sql" in body
    if not has_bounds:
        raise reader.fail(body_node, f"{kind} needs bounds: min and/or max" + (", equals_sql" if kind == "row_count" else "")
                          + (" or anomaly" if "anomaly" in _BODY_KEYS[kind] else ""))
    if ("tolerance" in values or "tolerance_pct" in values) and "equals_sql" not in body:
        raise reader.fail(body_node, "tolerance applies only with equals_sql")
    if "equals_sql" in body and "tolerance" not in values and "tolerance_pct" not in values:
        values["tolerance"] = 0.0  # equal to the source count unless a tolerance is given
    if values.get("min") is not None and values.get("max") is not None and values["min"] > values["max"]:
        raise reader.fail(body_node, f"min ({values['min']:g}) is larger than max ({values['max']:g})")
    return Level(severity=severity, anomaly=anomaly, **values)


def _escalate(reader: _Reader, kind: str, node: Node, primary: Level) -> Level:
    keys = reader.mapping(node, "escalate")
    if len(keys) != 1:
        raise reader.fail(node, "escalate takes exactly one severity, e.g. `escalate: {WARNING: {max: 5}}`")
    (key, (key_node, value_node)), = keys.items()
    severity = reader.severity(key_node)
    if severity is primary.severity:
        raise reader.fail(key_node, f"escalate repeats the check's own severity {severity.value}")
    allowed = (_BODY_KEYS[kind] & _BOUND_KEYS) | ({"max_age"} if kind == "freshness" else set())
    if primary.anomaly is not None:
        allowed |= _ANOMALY_LEVEL_KEYS
    body = reader.mapping(value_node, f"escalate {severity.value}", allowed)
    if not body:
        raise reader.fail(value_node, f"escalate {severity.value} sets no threshold", hint="Allowed: " + ", ".join(sorted(allowed)))
    values: dict[str, Any] = {}
    for k in ("min", "max", "tolerance", "tolerance_pct"):
        if k in body:
            values[k] = reader.number(body[k][1], k)
    if "max_missing" in body:
        values["max"] = reader.number(body["max_missing"][1], "max_missing", minimum=0)
    if "max_age" in body:
        seconds = parse_duration(reader.value(body["max_age"][1]))
        if seconds is None:
            raise reader.fail(body["max_age"][1], "max_age must be a duration like 26h, 90m, 2d or 1d12h")
        values["max"] = seconds
    anomaly = primary.anomaly
    numbers = _anomaly_numbers(reader, body)
    if anomaly is not None:
        anomaly = replace(anomaly, **numbers) if numbers else None
        if anomaly is not None:
            _check_anomaly(reader, anomaly, value_node)
    return Level(severity=severity, anomaly=anomaly, **values)
