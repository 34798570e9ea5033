"""Check files (YAML) -> frozen check specs, validated with file:line in every error.

The frame is read here (tables, severities, `escalate`, `anomaly`, names); the body under a check's type key
is read by its kind (rockway.verify.kinds).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from yaml.nodes import Node

from rockway.errors import InputError
from rockway.interfaces import Severity
from rockway.verify.kinds import KINDS, Kind
from rockway.verify.kinds.base import Body
from rockway.verify.model import NAME_RE, AnomalySpec, CheckFile, CheckSpec, HistoryDefaults, Level, TableSpec
from rockway.yamlsrc import NodeReader, compose

METHODS = ("robust_z", "zscore", "pct_change")
DIRECTIONS = ("drop", "spike", "both")

_BOUND_KEYS = {"min", "max", "max_age", "max_missing", "tolerance", "tolerance_pct"}  # may also appear in `escalate`
_ANOMALY_KEYS = {"method", "direction", "threshold", "max_drop_pct", "max_spike_pct", "max_pct", "window", "min_history"}
_ANOMALY_LEVEL_KEYS = {"threshold", "max_drop_pct", "max_spike_pct", "max_pct"}


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
    reader = NodeReader(path)
    root = compose(text, path)
    if root is None:
        raise InputError(path, "empty check file", hint="Start with `version: 1` and a `tables:` list.")
    top = reader.mapping(root, "check file", {"version", "defaults", "pipelines", "tables", "description"})
    if "version" in top and reader.value(top["version"][1]) != 1:
        raise reader.fail(top["version"][1], "unsupported version; this rockway reads `version: 1`")
    severity = Severity.WARNING
    if "defaults" in top:
        defaults = reader.mapping(top["defaults"][1], "defaults", {"severity", "history"})
        if "severity" in defaults:
            severity = _severity(reader, defaults["severity"][1])
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


def _severity(reader: NodeReader, node: Node) -> Severity:
    value = reader.value(node)
    severity = Severity.named(value)
    if severity is None:
        raise reader.fail(node, f"unknown severity {value!r}", hint="Use CRITICAL, WARNING or INFO.")
    return severity


def _history(reader: NodeReader, node: Node, base: HistoryDefaults) -> HistoryDefaults:
    keys = reader.mapping(node, "history", {"window", "min_history"})
    window = int(reader.number(keys["window"][1], "window", integer=True, minimum=1)) if "window" in keys else base.window
    minimum = (int(reader.number(keys["min_history"][1], "min_history", integer=True, minimum=1))
               if "min_history" in keys else base.min_history)
    return HistoryDefaults(window=window, min_history=minimum)


def _table(reader: NodeReader, node: Node, severity: Severity, history: HistoryDefaults) -> TableSpec:
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


def _check(reader: NodeReader, node: Node, short: str, default: Severity, history: HistoryDefaults) -> CheckSpec:
    keys = reader.mapping(node, "check", set(KINDS) | {"name", "severity", "escalate", "description"})
    named = [k for k in keys if k in KINDS]
    if len(named) != 1:
        raise reader.fail(node, "a check needs exactly one check type" + (f", found {', '.join(named)}" if named else ""),
                          hint="Types: " + ", ".join(KINDS))
    kind = KINDS[named[0]]
    body_node = keys[kind.name][1]
    body = Body(reader, kind.name, body_node, reader.mapping(body_node, kind.name, set(kind.keys)))
    severity = _severity(reader, keys["severity"][1]) if "severity" in keys else default
    line = node.start_mark.line + 1
    fields = kind.parse(body)
    anomaly = _anomaly(reader, body.node("anomaly"), history) if "anomaly" in body else None
    primary = _level(kind, body, severity, anomaly)
    levels = [primary]
    if "escalate" in keys:
        levels.append(_escalate(reader, kind, keys["escalate"][1], primary))
    if "name" in keys:
        name = reader.text(keys["name"][1], "name")
        if not NAME_RE.match(name):
            raise reader.fail(keys["name"][1], f"check name {name!r}: use letters, digits, _ . : - (at most 128)")
    elif kind.needs_name:
        raise reader.fail(node, f"a {kind.name} check needs a `name:`")
    else:
        suffix = "_".join(fields.get("columns") or ([fields["column"]] if "column" in fields else []))
        name = ".".join(p for p in (short, kind.name, suffix) if p)[:128]
        if anomaly is not None:
            name += ".anomaly"
    description = reader.text(keys["description"][1], "description") if "description" in keys else ""
    return CheckSpec(name=name, kind=kind.name, levels=tuple(levels), file=reader.path, line=line,
                     description=description, **fields)


def _anomaly(reader: NodeReader, node: Node, history: HistoryDefaults) -> AnomalySpec:
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


def _anomaly_numbers(reader: NodeReader, keys: dict[str, tuple[Node, Node]]) -> dict[str, float]:
    out: dict[str, float] = {}
    if "threshold" in keys:
        out["threshold"] = reader.number(keys["threshold"][1], "threshold", minimum=0)
    if "max_pct" in keys:
        out["max_drop_pct"] = out["max_spike_pct"] = reader.number(keys["max_pct"][1], "max_pct", minimum=0)
    for key in ("max_drop_pct", "max_spike_pct"):
        if key in keys:
            out[key] = reader.number(keys[key][1], key, minimum=0)
    return out


def _check_anomaly(reader: NodeReader, spec: AnomalySpec, node: Node) -> None:
    if spec.min_history > spec.window:
        raise reader.fail(node, f"min_history ({spec.min_history}) is larger than window ({spec.window})")
    if spec.method == "pct_change":
        if spec.direction in ("drop", "both") and spec.max_drop_pct is None:
            raise reader.fail(node, "pct_change needs max_drop_pct (or max_pct) to judge drops")
        if spec.direction in ("spike", "both") and spec.max_spike_pct is None:
            raise reader.fail(node, "pct_change needs max_spike_pct (or max_pct) to judge spikes")


def _level(kind: Kind, body: Body, severity: Severity, anomaly: AnomalySpec | None) -> Level:
    values: dict[str, Any] = {}
    for key in ("min", "max", "tolerance", "tolerance_pct"):
        if key in body:
            values[key] = body.number(key, minimum=0 if key.startswith("tol") else None)
    kind.first_level(body, values)
    has_bounds = any(k in values for k in ("min", "max")) or anomaly is not None or "equals_sql" in body
    if not has_bounds:
        raise body.fail(f"{kind.name} needs bounds: min and/or max"
                        + (", equals_sql" if "equals_sql" in kind.keys else "")
                        + (" or anomaly" if "anomaly" in kind.keys else ""))
    if ("tolerance" in values or "tolerance_pct" in values) and "equals_sql" not in body:
        raise body.fail("tolerance applies only with equals_sql")
    if "equals_sql" in body and "tolerance" not in values and "tolerance_pct" not in values:
        values["tolerance"] = 0.0  # equal to the source count unless a tolerance is given
    if values.get("min") is not None and values.get("max") is not None and values["min"] > values["max"]:
        raise body.fail(f"min ({values['min']:g}) is larger than max ({values['max']:g})")
    return Level(severity=severity, anomaly=anomaly, **values)


def _escalate(reader: NodeReader, kind: Kind, node: Node, primary: Level) -> Level:
    keys = reader.mapping(node, "escalate")
    if len(keys) != 1:
        raise reader.fail(node, "escalate takes exactly one severity, e.g. `escalate: {WARNING: {max: 5}}`")
    (key, (key_node, value_node)), = keys.items()
    severity = _severity(reader, key_node)
    if severity is primary.severity:
        raise reader.fail(key_node, f"escalate repeats the check's own severity {severity.value}")
    allowed = set(kind.keys & _BOUND_KEYS)
    if primary.anomaly is not None:
        allowed |= _ANOMALY_LEVEL_KEYS
    keys = reader.mapping(value_node, f"escalate {severity.value}", allowed)
    if not keys:
        raise reader.fail(value_node, f"escalate {severity.value} sets no threshold", hint="Allowed: " + ", ".join(sorted(allowed)))
    body = Body(reader, kind.name, value_node, keys)
    values: dict[str, Any] = {}
    for k in ("min", "max", "tolerance", "tolerance_pct"):
        if k in body:
            values[k] = body.number(k)
    kind.escalated_level(body, values)
    anomaly = primary.anomaly
    numbers: dict[str, Any] = dict(_anomaly_numbers(reader, keys))  # AnomalySpec fields, for replace()
    if anomaly is not None:
        anomaly = replace(anomaly, **numbers) if numbers else None
        if anomaly is not None:
            _check_anomaly(reader, anomaly, value_node)
    return Level(severity=severity, anomaly=anomaly, **values)
