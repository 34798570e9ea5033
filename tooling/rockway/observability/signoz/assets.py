"""SigNoz assets kept in the repository and their checks.

Layout (under the project folder):
    observability/signoz/dashboards/*.json   dashboards in SigNoz's v2 format (Perses spec, schemaVersion v6),
                                             the body of POST /api/v2/dashboards
    observability/signoz/alerts/*.json       alert rules, the v2 body of POST /api/v2/rules (schemaVersion v2alpha1)
    observability/signoz/downtime/*.json     planned-maintenance windows, the body of POST /api/v1/downtime_schedules

`check_asset` validates a file's structure the way SigNoz does on write (the checks that matter for
these files) and that every metric, span name and rockway attribute it uses is one rockway emits
(`metrics.EMITTED_METRICS`, `spans.span_name_pattern()`, `attributes.ATTRIBUTES` in rockway.observability).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

from rockway.errors import InputError
from rockway.observability import attributes, metrics, spans

ASSET_DIR = Path("observability") / "signoz"
KINDS = ("dashboard", "alert", "downtime")
_FOLDERS = {"dashboard": "dashboards", "alert": "alerts", "downtime": "downtime"}
DASHBOARD_SCHEMA_VERSION = "v6"
RULE_SCHEMA_VERSION = "v2alpha1"


@dataclass(frozen=True)
class Asset:
    """One dashboard, alert rule or downtime file."""

    kind: str
    path: Path
    body: dict[str, Any]

    @property
    def title(self) -> str:
        return title_of(self.kind, self.body)


def title_of(kind: str, body: Mapping[str, Any]) -> str:
    """What SigNoz shows as the name: a dashboard's spec.display.name, a rule's alert, a downtime's name."""
    if kind == "dashboard":
        return str(((body.get("spec") or {}).get("display") or {}).get("name") or body.get("name") or "")
    if kind == "alert":
        return str(body.get("alert") or "")
    return str(body.get("name") or "")


def load_assets(folder: Path) -> list[Asset]:
    """All asset files under folder (dashboards, alerts, downtime), in name order; bad JSON is an InputError."""
    assets = []
    for kind in KINDS:
        for path in sorted((folder / _FOLDERS[kind]).glob("*.json")):
            try:
                body = json.loads(path.read_text(encoding="utf-8"))
            except json.JSONDecodeError as exc:
                raise InputError(path, f"not valid JSON: {exc.msg}", line=exc.lineno) from None
            if not isinstance(body, dict):
                raise InputError(path, "must hold one JSON object")
            assets.append(Asset(kind, path, body))
    return assets


# --- checks ----------------------------------------------------------------------------------
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_ID = re.compile(r"^[a-zA-Z0-9_.-]{1,75}$")
_GRID_COLUMNS = 12
_QUERY_KINDS = {"signoz/BuilderQuery", "signoz/CompositeQuery", "signoz/Formula", "signoz/PromQLQuery",
                "signoz/ClickHouseSQL", "signoz/TraceOperator"}
_REQUEST_KINDS = {"time_series", "scalar", "raw", "distribution"}
_PANEL_FIELDS = {  # fields of each panel plugin's spec (SigNoz decodes them strictly)
    "signoz/TimeSeriesPanel": {"visualization", "formatting", "chartAppearance", "axes", "legend", "thresholds"},
    "signoz/BarChartPanel": {"visualization", "formatting", "axes", "legend", "thresholds"},
    "signoz/NumberPanel": {"visualization", "formatting", "thresholds"},
    "signoz/PieChartPanel": {"visualization", "formatting", "legend"},
    "signoz/TablePanel": {"visualization", "formatting", "thresholds"},
    "signoz/HistogramPanel": {"histogramBuckets", "legend"},
    "signoz/ListPanel": {"selectFields"},
}
_QUERY_FIELDS = {"name", "stepInterval", "signal", "source", "aggregations", "disabled", "filter", "groupBy", "order",
                 "selectFields", "limit", "limitBy", "offset", "cursor", "having", "secondaryAggregations",
                 "functions", "legend"}
_REDUCE_TO = {"sum", "count", "avg", "min", "max", "last", "median"}
_THRESHOLD_OPERATORS = {"above", "below", "above_or_equal", "below_or_equal", "equal", "not_equal"}
_SIGNALS = {"traces", "logs", "metrics"}
_ALERT_TYPES = {"METRIC_BASED_ALERT": "metrics", "TRACES_BASED_ALERT": "traces", "LOGS_BASED_ALERT": "logs"}
_OPS = {"above", "below", "equal", "not_equal", "above_or_equal", "below_or_equal", "outside_bounds"}
_MATCH = {"at_least_once", "all_the_times", "on_average", "in_total", "last"}
_TIME_AGG = {"counter": {"rate", "increase", "sum"}, "histogram": {"rate", "increase", "sum", ""},
             "gauge": {"latest", "avg", "min", "max", "sum", "count"}}
_SPACE_AGG = {"counter": {"sum", "avg", "min", "max"}, "gauge": {"sum", "avg", "min", "max"},
              "histogram": {"p50", "p75", "p90", "p95", "p99", "sum", "count"}}
_LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_.]*$")
_DURATION = re.compile(r"^\d+[smhd]$")
# `name = 'x'`, `name LIKE 'x'`, `name IN ['x', 'y']` on spans (not service.name and friends)
_NAME_FILTER = re.compile(r"(?<![\w.])name\s+(?:=|LIKE|IN)\s+(\[[^\]]*\]|'[^']*')", re.IGNORECASE)
_ROCKWAY_KEYS = re.compile(r"(?<![\w.])((?:rockway|db|error)\.[A-Za-z_][\w.]*)")


@dataclass
class Usage:
    """What one asset references."""

    metrics: set[str] = field(default_factory=set)
    span_names: set[str] = field(default_factory=set)  # literal names or LIKE patterns as written
    attributes: set[str] = field(default_factory=set)


def _builder_queries(node: Any) -> Iterator[dict[str, Any]]:
    """Every builder-query spec (a dict with `signal`) anywhere under node."""
    if isinstance(node, dict):
        if node.get("signal") in _SIGNALS and ("aggregations" in node or "filter" in node):
            yield node
        for value in node.values():
            yield from _builder_queries(value)
    elif isinstance(node, list):
        for value in node:
            yield from _builder_queries(value)


def usage(body: Mapping[str, Any]) -> Usage:
    """Metric names, span names and rockway attributes an asset's queries use."""
    found = Usage()
    for query in _builder_queries(body):
        expression = str((query.get("filter") or {}).get("expression") or "")
        if query.get("signal") == "metrics":
            for agg in query.get("aggregations") or []:
                if agg.get("metricName"):
                    found.metrics.add(agg["metricName"])
        if query.get("signal") == "traces":
            for match in _NAME_FILTER.finditer(expression):
                found.span_names.update(re.findall(r"'([^']*)'", match.group(1)))
        found.attributes.update(_ROCKWAY_KEYS.findall(expression))
        for key in query.get("groupBy") or []:
            name = key.get("name", "")
            if _ROCKWAY_KEYS.fullmatch(name):
                found.attributes.add(name)
    return found


def _span_name_ok(name: str) -> bool:
    sample = name.replace("%", "x").replace("_", "x") if ("%" in name or "_" in name) else name
    return bool(spans.span_name_pattern().match(sample))


def check_references(body: Mapping[str, Any]) -> list[str]:
    """Problems with the metrics, span names and attributes body uses: each must be one rockway emits."""
    problems = []
    used = usage(body)
    for metric in sorted(used.metrics - set(metrics.EMITTED_METRICS)):
        problems.append(f"metric {metric!r} is not emitted by rockway (see rockway.observability.metrics.EMITTED_METRICS)")
    for name in sorted(n for n in used.span_names if not _span_name_ok(n)):
        problems.append(f"span name {name!r} is not one rockway emits (see rockway.observability.spans.SPAN_NAMES)")
    for attr in sorted(used.attributes - attributes.ATTRIBUTES):
        problems.append(f"attribute {attr!r} is not set by rockway (see rockway.observability.attributes.ATTRIBUTES)")
    return problems


def _check_metric_query(query: Mapping[str, Any], where: str) -> list[str]:
    problems = []
    for agg in query.get("aggregations") or []:
        spec = metrics.EMITTED_METRICS.get(agg.get("metricName", ""))
        if spec is None:
            continue  # reported by check_references
        time_agg, space_agg = agg.get("timeAggregation", ""), agg.get("spaceAggregation", "")
        if time_agg not in _TIME_AGG[spec.kind]:
            problems.append(f"{where}: timeAggregation {time_agg!r} does not suit {spec.kind} {spec.name}")
        if space_agg not in _SPACE_AGG[spec.kind]:
            problems.append(f"{where}: spaceAggregation {space_agg!r} does not suit {spec.kind} {spec.name}")
    return problems


def _check_builder_query(query: Mapping[str, Any], where: str, *, raw: bool = False, scalar: bool = False) -> list[str]:
    problems = [f"{where}: unknown query field {k!r}" for k in query if k not in _QUERY_FIELDS]
    if query.get("signal") not in _SIGNALS:
        problems.append(f"{where}: signal must be one of {sorted(_SIGNALS)}")
    if not _ID.match(str(query.get("name", ""))):
        problems.append(f"{where}: a query needs a name such as A")
    aggs = query.get("aggregations") or []
    if not isinstance(aggs, list) or (not aggs and not raw):
        problems.append(f"{where}: aggregations must be a non-empty list")
    elif query.get("signal") == "metrics":
        problems += _check_metric_query(query, where)
        if scalar and any(agg.get("reduceTo") not in _REDUCE_TO for agg in aggs):
            problems.append(f"{where}: a scalar metric query needs reduceTo, one of {sorted(_REDUCE_TO)}")
    else:
        for agg in aggs:
            expr = str(agg.get("expression", ""))
            if not re.fullmatch(r"\s*\w+\([^(),]*\)\s*", expr):
                problems.append(f"{where}: aggregation {expr!r} must be one call such as count()")
    if not isinstance((query.get("filter") or {}).get("expression", ""), str):
        problems.append(f"{where}: filter.expression must be text")
    return problems


def check_dashboard(body: Mapping[str, Any]) -> list[str]:
    """Structural problems SigNoz's POST /api/v2/dashboards would reject (plus reference checks)."""
    problems = []
    allowed = {"schemaVersion", "image", "name", "generateName", "tags", "spec"}
    problems += [f"unknown top-level field {k!r}" for k in body if k not in allowed]
    if body.get("schemaVersion") != DASHBOARD_SCHEMA_VERSION:
        problems.append(f"schemaVersion must be {DASHBOARD_SCHEMA_VERSION!r}")
    if not _DNS_LABEL.match(str(body.get("name", ""))):
        problems.append("name must be a DNS label (lower-case letters, digits, '-')")
    if not isinstance(body.get("tags"), list) or len(body["tags"]) > 10:
        problems.append("tags must be a list of at most 10")
    spec = body.get("spec")
    if not isinstance(spec, dict):
        return problems + ["spec must be an object"]
    problems += [f"unknown spec field {k!r}" for k in spec
                 if k not in {"display", "variables", "panels", "layouts", "duration", "refreshInterval", "links"}]
    name = (spec.get("display") or {}).get("name")
    if not name or len(name) > 128:
        problems.append("spec.display.name is required (at most 128 characters)")
    variables = spec.get("variables")
    if not isinstance(variables, list):
        problems.append("spec.variables must be a list")
        variables = []
    names = [(v.get("spec") or {}).get("name") for v in variables]
    if len(names) != len(set(names)) or not all(isinstance(n, str) and _ID.match(n) for n in names):
        problems.append("spec.variables: names must be unique identifiers")
    panels = spec.get("panels")
    if not isinstance(panels, dict) or not panels:
        return problems + ["spec.panels must be a non-empty object"]
    for key, panel in panels.items():
        where = f"spec.panels.{key}"
        if not _ID.match(key):
            problems.append(f"{where}: key must match {_ID.pattern}")
        pspec = (panel or {}).get("spec") or {}
        if (panel or {}).get("kind") != "Panel":
            problems.append(f"{where}: kind must be 'Panel'")
        if not (pspec.get("display") or {}).get("name"):
            problems.append(f"{where}: display.name is required")
        kind = str((pspec.get("plugin") or {}).get("kind"))
        if kind not in _PANEL_FIELDS:
            problems.append(f"{where}: plugin.kind {kind!r} is not a SigNoz panel")
        plugin_spec = (pspec.get("plugin") or {}).get("spec") or {}
        problems += [f"{where}: unknown {kind} field {k!r}" for k in plugin_spec if k not in _PANEL_FIELDS.get(kind, set())]
        for t in plugin_spec.get("thresholds") or []:
            if not t.get("color") or not isinstance(t.get("value"), (int, float)) or \
                    t.get("operator", "above") not in _THRESHOLD_OPERATORS or t.get("format", "text") not in ("text", "background"):
                problems.append(f"{where}: a threshold needs a numeric value, a color, and a valid operator/format")
        queries = pspec.get("queries")
        if not isinstance(queries, list) or len(queries) != 1:
            problems.append(f"{where}: a panel has exactly one query")
            continue
        query = queries[0]
        if query.get("kind") not in _REQUEST_KINDS:
            problems.append(f"{where}: query kind must be one of {sorted(_REQUEST_KINDS)}")
        if kind == "signoz/ListPanel" and query.get("kind") != "raw":
            problems.append(f"{where}: a list panel needs a raw query")
        plugin = (query.get("spec") or {}).get("plugin") or {}
        if plugin.get("kind") not in _QUERY_KINDS:
            problems.append(f"{where}: query plugin.kind {plugin.get('kind')!r} is not a SigNoz query")
        if kind == "signoz/ListPanel" and plugin.get("kind") != "signoz/BuilderQuery":
            problems.append(f"{where}: a list panel takes one builder query")
        builders = list(_builder_queries(plugin.get("spec") or {}))
        if not builders:
            problems.append(f"{where}: no builder query found")
        for i, builder in enumerate(builders):
            problems += _check_builder_query(builder, f"{where} query {builder.get('name', i)}",
                                             raw=query.get("kind") == "raw", scalar=query.get("kind") == "scalar")
    problems += _check_layouts(spec.get("layouts"), panels)
    return problems + check_references(body)


def _check_layouts(layouts: Any, panels: Mapping[str, Any]) -> list[str]:
    if not isinstance(layouts, list):
        return ["spec.layouts must be a list"]
    problems: list[str] = []
    placed: dict[str, str] = {}
    for li, layout in enumerate(layouts):
        if layout.get("kind") != "Grid":
            problems.append(f"spec.layouts[{li}]: kind must be 'Grid'")
        items = (layout.get("spec") or {}).get("items") or []
        for ii, item in enumerate(items):
            where = f"spec.layouts[{li}].items[{ii}]"
            x, y, w, h = (item.get(k) for k in ("x", "y", "width", "height"))
            if not all(isinstance(v, int) for v in (x, y, w, h)) or w < 1 or h < 1 or x < 0 or y < 0 \
                    or x + w > _GRID_COLUMNS:
                problems.append(f"{where}: needs integer x, y >= 0, width, height >= 1 and x + width <= 12")
                continue
            ref = str((item.get("content") or {}).get("$ref", ""))
            key = ref.removeprefix("#/spec/panels/")
            if not ref.startswith("#/spec/panels/") or key not in panels:
                problems.append(f"{where}: $ref {ref!r} names no panel")
            elif key in placed:
                problems.append(f"{where}: panel {key!r} is already placed by {placed[key]}")
            else:
                placed[key] = where
            for jj, other in enumerate(items[:ii]):
                if all(isinstance(other.get(k), int) for k in ("x", "y", "width", "height")) and \
                        x < other["x"] + other["width"] and other["x"] < x + w and \
                        y < other["y"] + other["height"] and other["y"] < y + h:
                    problems.append(f"{where} overlaps items[{jj}]")
    missing = sorted(set(panels) - set(placed))
    if missing:
        problems.append(f"panels not placed in any layout: {', '.join(missing)}")
    return problems


def check_alert(body: Mapping[str, Any]) -> list[str]:
    """Structural problems SigNoz's POST /api/v2/rules would reject (plus reference checks)."""
    problems = []
    for key in ("alert", "alertType", "ruleType", "condition", "evaluation"):
        if not body.get(key):
            problems.append(f"{key} is required")
    if body.get("version") != "v5":
        problems.append("version must be 'v5'")
    if body.get("schemaVersion") != RULE_SCHEMA_VERSION:
        problems.append(f"schemaVersion must be {RULE_SCHEMA_VERSION!r}")
    signal = _ALERT_TYPES.get(str(body.get("alertType")))
    if signal is None:
        problems.append(f"alertType must be one of {sorted(_ALERT_TYPES)}")
    if body.get("ruleType") not in ("threshold_rule", "promql_rule"):
        problems.append("ruleType must be threshold_rule or promql_rule")
    condition = body.get("condition") or {}
    composite = condition.get("compositeQuery") or {}
    if composite.get("queryType") != "builder" or composite.get("panelType") not in ("graph", "value", "table"):
        problems.append("condition.compositeQuery needs queryType builder and a panelType")
    queries = composite.get("queries") or []
    names = []
    for i, envelope in enumerate(queries):
        spec = envelope.get("spec") or {}
        names.append(spec.get("name"))
        if envelope.get("type") == "builder_query":
            problems += _check_builder_query(spec, f"condition.compositeQuery.queries[{i}]")
            if signal and spec.get("signal") != signal:
                problems.append(f"queries[{i}]: signal {spec.get('signal')!r} does not match alertType")
        elif envelope.get("type") != "builder_formula":
            problems.append(f"queries[{i}]: type must be builder_query or builder_formula")
    if not queries:
        problems.append("condition.compositeQuery.queries must not be empty")
    if condition.get("selectedQueryName") not in names:
        problems.append("condition.selectedQueryName must name one of the queries")
    thresholds = condition.get("thresholds") or {}
    specs = thresholds.get("spec") or []
    if thresholds.get("kind") != "basic" or not specs:
        problems.append("condition.thresholds needs kind basic and at least one entry")
    for i, threshold in enumerate(specs):
        if threshold.get("op") not in _OPS or threshold.get("matchType") not in _MATCH:
            problems.append(f"thresholds.spec[{i}]: op must be one of {sorted(_OPS)}, matchType one of {sorted(_MATCH)}")
        if not isinstance(threshold.get("target"), (int, float)) or not threshold.get("name"):
            problems.append(f"thresholds.spec[{i}]: needs a name and a numeric target")
        if not isinstance(threshold.get("channels"), list):
            problems.append(f"thresholds.spec[{i}]: channels must be a list")
    problems += _check_evaluation(body.get("evaluation") or {})
    for key in list(body.get("labels") or {}) + list(body.get("annotations") or {}):
        if not _LABEL.match(key):
            problems.append(f"label/annotation name {key!r} is not valid")
    return problems + check_references(body)


def _check_evaluation(evaluation: Mapping[str, Any]) -> list[str]:
    spec = evaluation.get("spec") or {}
    if evaluation.get("kind") == "rolling":
        if not (_DURATION.match(str(spec.get("evalWindow", ""))) and _DURATION.match(str(spec.get("frequency", "")))):
            return ["evaluation.spec needs evalWindow and frequency such as 15m and 1m"]
        return []
    if evaluation.get("kind") == "cumulative":
        schedule = spec.get("schedule") or {}
        problems = []
        if schedule.get("type") not in ("hourly", "daily", "weekly", "monthly") or not isinstance(schedule.get("minute"), int):
            problems.append("evaluation.spec.schedule needs a type and a minute")
        if schedule.get("type") != "hourly" and not isinstance(schedule.get("hour"), int):
            problems.append("evaluation.spec.schedule needs an hour")
        if not spec.get("timezone") or not _DURATION.match(str(spec.get("frequency", ""))):
            problems.append("evaluation.spec needs a timezone and a frequency")
        return problems
    return ["evaluation.kind must be rolling or cumulative"]


def check_downtime(body: Mapping[str, Any]) -> list[str]:
    """Structural problems of a planned-maintenance body (POST /api/v1/downtime_schedules)."""
    problems = [f"unknown field {k!r}" for k in body if k not in {"name", "description", "schedule", "alertIds", "scope"}]
    if not body.get("name"):
        problems.append("name is required")
    schedule = body.get("schedule") or {}
    if not schedule.get("timezone") or not re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$",
                                                    str(schedule.get("startTime", ""))):
        problems.append("schedule needs a timezone and an RFC 3339 startTime")
    recurrence = schedule.get("recurrence")
    if recurrence is not None and (recurrence.get("repeatType") not in ("daily", "weekly", "monthly")
                                   or not _DURATION.match(str(recurrence.get("duration", "")))):
        problems.append("schedule.recurrence needs repeatType and a duration such as 7h")
    if not body.get("alertIds") and not body.get("scope"):
        problems.append("without alertIds or a scope the window would silence every alert")
    return problems


def check_asset(asset: Asset) -> list[str]:
    """Problems with one asset file (empty when it is fine)."""
    checker: Callable[[Mapping[str, Any]], list[str]] = {
        "dashboard": check_dashboard, "alert": check_alert, "downtime": check_downtime}[asset.kind]
    return checker(asset.body)


def validate_all(assets: Sequence[Asset]) -> None:
    """Raise InputError naming the first asset with problems (all its problems listed)."""
    titles: dict[tuple[str, str], Path] = {}
    for asset in assets:
        problems = check_asset(asset)
        key = (asset.kind, asset.title)
        if key in titles:
            problems.append(f"the title {asset.title!r} is also used by {titles[key]}")
        titles[key] = asset.path
        if problems:
            raise InputError(asset.path, "not a valid SigNoz " + asset.kind + ":\n  - " + "\n  - ".join(problems))
