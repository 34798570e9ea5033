"""Check files, compiler and anomaly math without a database: errors name file:line, one statement per scope."""

from __future__ import annotations

import math
import textwrap

import pytest

from rockway.interfaces import Severity
from rockway.errors import InputError
from rockway.templating import Renderer
from rockway.verify.anomaly import judge, mad, median, robust_scale
from rockway.verify.compiler import bind, compile_plan, inline_params
from rockway.verify.evaluate import evaluate
from rockway.verify.model import AnomalySpec
from rockway.verify.spec import parse_text
from rockway.verify.suite import group
from tests.support.paths import REPO_ROOT as REPO



def _parse(text: str):  # type: ignore[no-untyped-def]
    return parse_text(textwrap.dedent(text), "jobs/checks/t.yaml")


def _error(text: str) -> InputError:
    with pytest.raises(InputError) as info:
        _parse(text)
    return info.value


GOOD = """\
version: 1
tables:
  - table: "{{ db }}.orders"
    where: "day = '{{ day }}'"
    scope: daily
    checks:
      - row_count: {min: 1}
        severity: CRITICAL
      - null_pct: {column: customer_id, max: 20}
        severity: CRITICAL
        escalate: {WARNING: {max: 5}}
      - freshness: {column: loaded_at, max_age: 1d12h}
"""


def test_parse_builds_checks_with_lines_and_derived_names() -> None:
    f = _parse(GOOD)
    (table,) = f.tables
    assert (table.table, table.where, table.scope, table.line) == ("{{ db }}.orders", "day = '{{ day }}'", "daily", 3)
    rows, nulls, fresh = table.checks
    assert (rows.name, rows.kind, rows.severity, rows.line) == ("orders.row_count", "row_count", Severity.CRITICAL, 7)
    assert [(lv.severity, lv.max) for lv in nulls.levels] == [(Severity.CRITICAL, 20.0), (Severity.WARNING, 5.0)]
    assert nulls.name == "orders.null_pct.customer_id"
    assert fresh.severity is Severity.WARNING  # the default
    assert fresh.levels[0].max == 36 * 3600


@pytest.mark.parametrize("snippet, line, words", [
    ("      - row_count: {min: 1}\n        severity: FATAL\n", 8, "unknown severity 'FATAL'"),
    ("      - row_count: {min: 1}\n        severity: warn\n", 8, "unknown severity 'warn'"),
    ("      - rowcount: {min: 1}\n", 7, "unknown key 'rowcount'"),
    ("      - null_pct: {max: 5}\n", 7, "null_pct needs `column:`"),
    ("      - null_pct: {column: a, max: 5}\n        escalate: {WARN: {max: 1}}\n", 8, "unknown severity 'WARN'"),
    ("      - null_pct: {column: a, max: 5}\n        escalate: {WARNING: {max: 1}}\n", 8, "repeats the check's own severity"),
    ("      - null_pct: {column: a, max: five}\n", 7, "max must be a number"),
    ("      - freshness: {column: a, max_age: soon}\n", 7, "max_age must be a duration"),
    ("      - metric: {expr: 'SUM(x)', max: 1}\n", 7, "a metric check needs a `name:`"),
    ("      - row_count: {}\n", 7, "row_count needs bounds"),
    ("      - row_count: {anomaly: {method: prophet}}\n", 7, "unknown anomaly method 'prophet'"),
    ("      - row_count: {anomaly: {method: pct_change, max_drop_pct: 5}}\n", 7, "needs max_spike_pct"),
    ("      - row_count: {anomaly: {window: 3, min_history: 5}}\n", 7, "min_history (5) is larger than window (3)"),
    ("      - null_pct: {column: 'a; DROP', max: 5}\n", 7, "not a plain column name"),
    ("      - row_count: {min: 1}\n      - row_count: {max: 9}\n", 8, "used twice (first at line 7)"),
    ("      - row_count: {min: 1}\n        null_pct: {column: a, max: 1}\n", 7, "exactly one check type"),
    ("      - row_count: {min: 1, min: 2}\n", 7, "key 'min' appears twice"),
])
def test_malformed_checks_name_file_and_line(snippet: str, line: int, words: str) -> None:
    text = "version: 1\ntables:\n  - table: t\n    checks:\n" + "      - row_count: {min: 0}\n        name: first\n" + snippet
    exc = _error(text)
    assert exc.path == "jobs/checks/t.yaml" and exc.line == line, exc.message
    assert words in exc.message
    assert exc.exit_code == 2


def test_yaml_syntax_and_structure_errors_have_lines() -> None:
    assert _error("version: 1\ntables:\n  - table: [x\n").line == 4
    assert _error("version: 2\ntables: []\n").line == 1
    exc = _error("version: 1\ntables:\n  - table: t\n    checks: []\n")
    assert exc.line == 4 and "empty" in exc.message
    assert "no `checks:`" in _error("version: 1\ntables:\n  - table: t\n").message


def _freshness(max_age: str) -> str:
    return f"version: 1\ntables:\n  - table: t\n    checks:\n      - freshness: {{column: c, max_age: {max_age}}}\n"


def test_durations() -> None:
    seconds = {text: _parse(_freshness(text)).tables[0].checks[0].levels[0].max
               for text in ("26h", "90m", "2d", "1d12h30m15s", "60")}
    assert seconds == {"26h": 93600, "90m": 5400, "2d": 172800, "1d12h30m15s": 131415, "60": 60.0}
    for bad in ("''", "h", "-1"):
        assert "max_age must be a duration" in _error(_freshness(bad)).message


def _bound(text: str, scope: dict[str, str] | None = None, **variables: str):  # type: ignore[no-untyped-def]
    f = _parse(text)
    renderer = Renderer(REPO, {"db": "dw", **variables}, engine="mysql")
    renderer.globals.update(scope or {})
    return bind(group(f.checks()), renderer)


EIGHT = """\
version: 1
tables:
  - table: "{{ db }}.orders"
    where: "day >= '{{ day }}'"
    checks:
      - row_count: {min: 1}
      - row_count: {anomaly: {}}
      - null_pct: {column: customer_id, max: 5}
      - null_pct: {column: amount, max: 5}
      - duplicates: {columns: [order_id]}
      - duplicates: {columns: [order_id, line]}
      - freshness: {column: loaded_at, max_age: 6h}
      - name: neg
        predicate: {where: "amount < 0"}
      - name: revenue
        metric: {expr: "SUM(amount)", min: 0}
      - reference: {column: customer_id, to: "{{ db }}.customers.id", where: "current = 1"}
      - name: orphan
        sql: {query: "SELECT COUNT(*) FROM {{ table }} WHERE {{ scope_where }} AND x", max: 0}
"""


def test_compiler_folds_in_scan_checks_into_one_statement_with_deduplicated_expressions() -> None:
    checks = _bound(EIGHT, {"day": "2026-11-25"})
    plan = compile_plan(checks, results_db="etl", run_id="r1")
    kinds = [q.kind for q in plan.queries]
    assert kinds == ["aggregate", "scalar", "history"]
    scan = plan.queries[0]
    assert scan.sql.count("COUNT(*)") == 1  # row_count, anomaly and both null_pct share one COUNT(*)
    assert scan.sql.count("COUNT(`order_id`)") == 1
    assert "LEFT JOIN (SELECT DISTINCT `id` AS rw_k FROM `dw`.`customers` WHERE current = 1) AS rw_r0" in scan.sql
    assert scan.sql.rstrip().endswith("WHERE day >= '2026-11-25'")
    assert len(scan.columns) == 12
    assert plan.queries[1].sql == "SELECT COUNT(*) FROM dw.orders WHERE day >= '2026-11-25' AND x"
    # every in-scan check reads its inputs from the one aggregate statement
    for check in checks:
        if check.kind != "sql":
            assert {qid for qid, _ in plan.inputs[check.key].values()} == {scan.id}, check.name


def test_compiler_splits_past_the_expression_limit_and_keeps_joins_where_needed() -> None:
    checks = _bound(EIGHT, {"day": "x"})
    plan = compile_plan(checks, results_db=None, run_id="r", max_expressions=5)
    scans = [q for q in plan.queries if q.kind == "aggregate"]
    assert [len(q.columns) for q in scans] == [5, 5, 2]
    assert sum("LEFT JOIN" in q.sql for q in scans) == 1
    joined = next(q for q in scans if "LEFT JOIN" in q.sql)
    assert "rw_r0.rw_k IS NULL" in joined.sql
    for check in checks:
        for qid, column in plan.inputs.get(check.key, {}).values():
            assert column in plan.query(qid).columns


def test_separate_reference_is_one_extra_statement_and_scopes_stay_apart() -> None:
    text = EIGHT.replace('where: "current = 1"}', 'where: "current = 1", separate: true}')
    text += '  - table: "{{ db }}.orders"\n    checks:\n      - name: all_rows\n        row_count: {min: 1}\n'
    plan = compile_plan(_bound(text, {"day": "d"}), results_db=None, run_id="r")
    assert [q.kind for q in plan.queries] == ["aggregate", "reference", "aggregate", "scalar", "history"]
    assert "LEFT JOIN" not in plan.queries[0].sql and "LEFT JOIN" in plan.queries[1].sql
    assert "WHERE" not in plan.queries[2].sql


def test_missing_scope_variable_is_an_input_error_at_the_check_line() -> None:
    with pytest.raises(InputError) as info:
        _bound(EIGHT, {})
    assert info.value.line == 4 and "where: undefined variable 'day'" in info.value.message


def test_history_query_excludes_flagged_points_and_the_current_run() -> None:
    plan = compile_plan(_bound(EIGHT, {"day": "d"}), results_db="etl", run_id="run-7")
    history = plan.queries[-1]
    assert "`etl`.`etl_metric_history`" in history.sql and "status = 'fail'" in history.sql
    shown = inline_params(history.sql, history.params)
    assert "h.run_id <> 'run-7'" in shown and "rw_n <= 14" in shown
    assert "h.metric_name IN ('orders.row_count.anomaly')" in shown


def test_second_threshold_picks_the_worst_failed_level() -> None:
    (check,) = _bound("version: 1\ntables:\n  - table: t\n    checks:\n      - null_pct: {column: c, max: 20}\n"
                      "        severity: CRITICAL\n        escalate: {WARNING: {max: 5}}\n")
    cases = {3: ("pass", Severity.CRITICAL), 10: ("fail", Severity.WARNING), 25: ("fail", Severity.CRITICAL)}
    for nulls, (status, severity) in cases.items():
        result = evaluate(check, {"nonnull": 100 - nulls, "rows": 100})
        assert (result.status, result.severity, result.value) == (status, severity, float(nulls))
    assert evaluate(check, {"nonnull": 0, "rows": 0}).message == "no rows in scope"


def test_anomaly_statistics() -> None:
    assert median([5, 1, 3]) == 3 and median([1, 2, 3, 4]) == 2.5
    assert mad([1, 2, 3, 4, 100]) == 1
    assert robust_scale([10, 10, 10, 10, 20]) == pytest.approx(1.2533 * 2)  # MAD 0: mean absolute deviation


def test_robust_z_judges_drops_and_spikes_by_direction() -> None:
    history = [100, 102, 98, 101, 99, 103, 97]
    both = AnomalySpec(method="robust_z", threshold=3.5, window=14, min_history=7)
    assert not judge(101, history, both).anomalous
    low, high = judge(60, history, both), judge(140, history, both)
    assert low.anomalous and high.anomalous and low.score < -3.5 < 3.5 < high.score
    assert low.lower == pytest.approx(100 - 3.5 * 1.4826 * 2)
    drop = AnomalySpec(direction="drop", window=14, min_history=7)
    assert judge(60, history, drop).anomalous and not judge(140, history, drop).anomalous
    spike = AnomalySpec(direction="spike", window=14, min_history=7)
    assert judge(140, history, spike).anomalous and not judge(60, history, spike).anomalous
    assert judge(140, history, drop).upper is None


def test_min_history_and_window() -> None:
    spec = AnomalySpec(window=3, min_history=3)
    verdict = judge(500, [100, 100], spec)
    assert not verdict.judged and "2 of 3" in verdict.message
    # only the newest `window` points count: older outliers do not widen the baseline
    assert judge(150, [100, 101, 99, 5000, 1], spec).anomalous


def test_zscore_and_pct_change() -> None:
    history = [100.0, 110.0, 90.0, 105.0, 95.0]
    z = judge(130, history, AnomalySpec(method="zscore", threshold=3, window=5, min_history=5))
    assert z.center == 100 and z.score == pytest.approx(30 / 7.905694, rel=1e-5) and z.anomalous
    pct = AnomalySpec(method="pct_change", max_drop_pct=50, max_spike_pct=200, window=5, min_history=5)
    assert judge(40, history, pct).anomalous and not judge(60, history, pct).anomalous
    assert judge(301, history, pct).anomalous and not judge(299, history, pct).anomalous
    assert judge(60, history, pct).score == pytest.approx(-40)
    zero = judge(5, [0.0] * 5, pct)
    assert zero.anomalous and math.isinf(zero.score or 0)
