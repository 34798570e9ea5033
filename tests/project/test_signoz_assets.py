"""The SigNoz dashboards, alert rules and downtime window in observability/signoz: structure and references."""

from __future__ import annotations

import copy
import json
import re
from datetime import datetime, timedelta

import pytest

from rockway.observability import attributes, metrics, spans
from rockway.observability.signoz.assets import Asset, check_alert, check_asset, check_dashboard, check_downtime, load_assets, usage
from tests.support.paths import REPO_ROOT as ROOT

FOLDER = ROOT / "observability" / "signoz"
ASSETS = load_assets(FOLDER)
BY_TITLE = {a.title: a for a in ASSETS}


def _asset(kind: str, stem: str) -> Asset:
    return next(a for a in ASSETS if a.kind == kind and a.path.stem == stem)


def test_the_expected_assets_exist():
    kinds = {(a.kind, a.path.stem) for a in ASSETS}
    assert kinds == {
        ("dashboard", "pipeline-health"), ("dashboard", "migrations"), ("dashboard", "data-quality"),
        ("alert", "job-failed"), ("alert", "critical-check-failed"), ("alert", "morning-pipeline-sla"),
        ("alert", "freshness"), ("alert", "mv-inactive"), ("downtime", "morning-pipeline-sla-quiet-hours"),
    }
    assert len(BY_TITLE) == len(ASSETS), "titles must be unique: push matches by title"


@pytest.mark.parametrize("asset", ASSETS, ids=lambda a: f"{a.kind}:{a.path.name}")
def test_every_asset_is_valid(asset):
    assert check_asset(asset) == []
    # files are kept pretty-printed and end with a newline, so diffs stay readable
    text = asset.path.read_text(encoding="utf-8")
    assert text == json.dumps(asset.body, indent=2, ensure_ascii=False) + "\n"


@pytest.mark.parametrize("asset", [a for a in ASSETS if a.kind != "downtime"], ids=lambda a: a.path.name)
def test_every_metric_and_span_name_is_one_rockway_emits(asset):
    used = usage(asset.body)
    assert used.metrics <= set(metrics.EMITTED_METRICS)
    pattern = spans.span_name_pattern()
    for name in used.span_names:
        assert pattern.match(name.replace("%", "x")), name
    assert used.attributes <= attributes.ATTRIBUTES
    assert used.metrics or used.span_names, "an asset that queries nothing rockway emits is useless"


def test_dashboards_cover_every_emitted_metric_and_the_main_spans():
    used_metrics, used_spans = set(), set()
    for asset in ASSETS:
        if asset.kind == "dashboard":
            used = usage(asset.body)
            used_metrics |= used.metrics
            used_spans |= used.span_names
    assert used_metrics == set(metrics.EMITTED_METRICS)
    assert {"rockway migrate up", "migration %", "pipeline %", "job %"} <= used_spans


def test_metric_panels_use_aggregations_that_suit_the_instrument():
    seen = set()
    for asset in ASSETS:
        for node in _walk(asset.body):
            for agg in node.get("aggregations") or [] if isinstance(node.get("aggregations"), list) else []:
                spec = metrics.EMITTED_METRICS.get(agg.get("metricName", ""))
                if spec is None:
                    continue
                seen.add((spec.kind, agg["timeAggregation"], agg["spaceAggregation"]))
                if spec.kind == "histogram":
                    assert agg["spaceAggregation"] in {"p50", "p90", "p95", "p99"}
                elif spec.kind == "counter":
                    assert agg["timeAggregation"] in {"increase", "rate"} and agg["spaceAggregation"] == "sum"
                else:
                    assert agg["timeAggregation"] in {"max", "latest"}
    assert {kind for kind, _, _ in seen} == {"histogram", "counter", "gauge"}


def _walk(node):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


# --- the alert rules mean what they say ----------------------------------------------------------
def _query(asset: Asset) -> dict:
    (envelope,) = asset.body["condition"]["compositeQuery"]["queries"]
    return envelope["spec"]


def test_job_failure_alert_counts_failed_job_spans():
    alert = _asset("alert", "job-failed")
    query = _query(alert)
    assert alert.body["alertType"] == "TRACES_BASED_ALERT" and query["signal"] == "traces"
    assert "name LIKE 'job %'" in query["filter"]["expression"] and "hasError = true" in query["filter"]["expression"]
    (threshold,) = alert.body["condition"]["thresholds"]["spec"]
    assert (threshold["op"], threshold["target"], threshold["matchType"]) == ("above", 0, "at_least_once")


def test_critical_check_alert_selects_critical_non_passing_results():
    alert = _asset("alert", "critical-check-failed")
    query = _query(alert)
    assert query["aggregations"][0]["metricName"] == "rockway.check.results"
    expression = query["filter"]["expression"]
    assert "rockway.check.severity = 'CRITICAL'" in expression and "rockway.check.status != 'pass'" in expression


def test_freshness_alert_fires_above_26_hours():
    alert = _asset("alert", "freshness")
    assert _query(alert)["aggregations"][0]["metricName"] == "rockway.freshness.lag"
    (threshold,) = alert.body["condition"]["thresholds"]["spec"]
    assert threshold["op"] == "above" and threshold["target"] == 26 * 3600
    assert alert.body["condition"]["compositeQuery"]["unit"] == "s"


def _scope_matches(scope: str, labels: dict[str, str]) -> bool:
    """Evaluate the simple `label == "value"` scope expressions used here."""
    clauses = re.findall(r'(\w+)\s*==\s*"([^"]*)"', scope)
    assert clauses and re.sub(r'(\w+)\s*==\s*"([^"]*)"', "", scope).replace("&&", "").strip() == ""
    return all(labels.get(k) == v for k, v in clauses)


def test_morning_sla_alert_and_its_quiet_hours_end_at_seven_local():
    alert = _asset("alert", "morning-pipeline-sla")
    downtime = _asset("downtime", "morning-pipeline-sla-quiet-hours")
    query = _query(alert)
    assert query["filter"]["expression"] == "name = 'pipeline morning' AND rockway.status = 'success'"
    evaluation = alert.body["evaluation"]
    assert evaluation["kind"] == "cumulative"
    assert evaluation["spec"]["schedule"] == {"type": "daily", "hour": 0, "minute": 0}  # successes since local midnight
    assert alert.body["condition"]["alertOnAbsent"] is True  # no success at all must alert, not stay silent
    schedule = downtime.body["schedule"]
    assert schedule["timezone"] == evaluation["spec"]["timezone"] == "Europe/Berlin"
    start = datetime.fromisoformat(schedule["startTime"])
    hours = int(schedule["recurrence"]["duration"].removesuffix("h"))
    assert schedule["recurrence"]["repeatType"] == "daily"
    assert (start.hour, start.minute) == (0, 0) and (start + timedelta(hours=hours)).hour == 7
    assert downtime.body["alertIds"] == []
    assert _scope_matches(downtime.body["scope"], alert.body["labels"])
    for other in ASSETS:  # the quiet hours must not silence any other alert
        if other.kind == "alert" and other is not alert:
            assert not _scope_matches(downtime.body["scope"], other.body["labels"])


# --- the checks can fail -----------------------------------------------------------------------
def _mutated(stem: str, change) -> dict:
    body = copy.deepcopy(_asset("dashboard", stem).body)
    change(body)
    return body


def _first_query(body: dict) -> dict:
    panel = next(iter(body["spec"]["panels"].values()))
    return panel["spec"]["queries"][0]["spec"]["plugin"]["spec"]


@pytest.mark.parametrize("change, expected", [
    (lambda b: _first_query(b)["aggregations"][0].update(metricName="rockway.rows.loadded"), "is not emitted"),
    (lambda b: _first_query(b).update(signal="traces", aggregations=[{"expression": "count()"}],
                                      filter={"expression": "name = 'rockway migrate upp'"}), "span name"),
    (lambda b: _first_query(b)["filter"].update(expression="rockway.chek.status = 'fail'"), "attribute"),
    (lambda b: _first_query(b)["aggregations"][0].pop("reduceTo"), "reduceTo"),
    (lambda b: _first_query(b)["aggregations"][0].update(timeAggregation="latest"), "does not suit counter"),
    (lambda b: b["spec"]["layouts"][0]["spec"]["items"][1].update(x=0), "overlaps"),
    (lambda b: b["spec"]["layouts"][0]["spec"]["items"][0].update(width=13), "x + width"),
    (lambda b: b["spec"]["layouts"][0]["spec"]["items"].pop(), "not placed"),
    (lambda b: b.update(name="Data Quality"), "DNS label"),
    (lambda b: b.update(schemaVersion="v5"), "schemaVersion"),
    (lambda b: next(iter(b["spec"]["panels"].values()))["spec"]["plugin"]["spec"].update(colour="red"), "unknown"),
    (lambda b: _first_query(b).update(orderBy=[]), "unknown query field"),
])
def test_dashboard_check_reports_problems(change, expected):
    problems = check_dashboard(_mutated("data-quality", change))
    assert any(expected in p for p in problems), problems


@pytest.mark.parametrize("change, expected", [
    (lambda b: b.update(schemaVersion="v1"), "schemaVersion"),
    (lambda b: b["condition"].update(selectedQueryName="B"), "selectedQueryName"),
    (lambda b: b["condition"]["thresholds"]["spec"][0].update(op="greater"), "op must be"),
    (lambda b: b["evaluation"].update(kind="sliding"), "evaluation.kind"),
    (lambda b: b["condition"]["compositeQuery"]["queries"][0]["spec"].update(signal="logs"), "does not match alertType"),
    (lambda b: b["labels"].update({"bad-label": "x"}), "not valid"),
    (lambda b: b["condition"]["compositeQuery"]["queries"][0]["spec"]["filter"].update(
        expression="name LIKE 'jobs %' AND hasError = true"), "span name"),
])
def test_alert_check_reports_problems(change, expected):
    body = copy.deepcopy(_asset("alert", "job-failed").body)
    change(body)
    assert any(expected in p for p in check_alert(body)), check_alert(body)


def test_downtime_check_refuses_a_window_that_would_silence_everything():
    body = copy.deepcopy(_asset("downtime", "morning-pipeline-sla-quiet-hours").body)
    body["scope"] = ""
    assert any("silence every alert" in p for p in check_downtime(body))


def test_the_mv_inactive_alert_fires_on_the_newest_reading_of_the_metric_every_reading_sets():
    from rockway.observability.metrics import EMITTED_METRICS

    rule = json.loads(_asset("alert", "mv-inactive").path.read_text(encoding="utf-8"))
    query = rule["condition"]["compositeQuery"]["queries"][0]["spec"]
    assert query["aggregations"][0]["metricName"] == "rockway.mv.inactive" in EMITTED_METRICS
    [threshold] = rule["condition"]["thresholds"]["spec"]
    assert (threshold["op"], threshold["matchType"], threshold["target"]) == ("above", "last", 0)
    assert {g["name"] for g in query["groupBy"]} == {"db.collection.name", "deployment.environment"}
