"""rockway lint: rule cases from tests/cases/lint/*.yaml, plus report, status and API behaviour."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml

from rockway import lint
from rockway.lint import RULES, Hit, Rule, lint_script, sqlglot_verdict
from rockway.lint import sqlglot_check
from rockway.model import Kind, Statement
from tests.support.paths import CASES_DIR as CASES

CASES_DIR = CASES / "lint"


def load_cases(name: str | None = None) -> list[tuple[str, dict[str, Any]]]:
    """(id, case) for every case in one YAML file, or in all of them."""
    files = [CASES_DIR / name] if name else sorted(CASES_DIR.glob("*.yaml"))
    out = []
    for path in files:
        for case in yaml.safe_load(path.read_text(encoding="utf-8"))["cases"]:
            out.append((f"{path.stem}: {case['name']}", case))
    return out


def build(case: dict[str, Any]) -> tuple[str, list[Statement]]:
    """Script text and statements for a case (`sql`, or `statements` with optional `text`)."""
    if "sql" in case:
        raw = [case["sql"].rstrip("\n")]
    else:
        raw = case["statements"]
    if "text" in case:
        statements = [Statement(i, item["sql"], item["line"]) for i, item in enumerate(raw, 1)]
        return case["text"], statements
    text, statements = "", []
    for i, sql in enumerate(raw, 1):
        code = re.search(r"\S", sql)
        line = text.count("\n") + 1 + sql.count("\n", 0, code.start() if code else 0)
        statements.append(Statement(i, sql, line))
        text += sql + ";\n"
    return text, statements


def run(case: dict[str, Any]) -> lint.ScriptReport:
    text, statements = build(case)
    return lint_script("case.sql", Kind(case.get("kind", "V")), text, statements, raw=case.get("raw"),
                       backends=case.get("backends"))


ALL_CASES = load_cases()


@pytest.mark.parametrize("case", [c for _, c in ALL_CASES], ids=[i for i, _ in ALL_CASES])
def test_case(case: dict[str, Any]) -> None:
    report = run(case)
    found = {f.rule for f in report.all_findings}
    details = [(f.rule, f.line, f.message) for f in report.all_findings]
    assert found == set(case["rules"]), details
    statuses = case.get("statuses", [case.get("status")])
    assert [s.status for s in report.statements] == statuses, [s.note for s in report.statements]
    for rule, severity in case.get("severities", {}).items():
        assert {f.severity for f in report.all_findings if f.rule == rule} == {severity}
    for rule, line in case.get("lines", {}).items():
        assert line in {f.line for f in report.all_findings if f.rule == rule}, details


@pytest.mark.parametrize("case", [c for _, c in load_cases("mysql_rejected.yaml")],
                         ids=[i for i, _ in load_cases("mysql_rejected.yaml")])
def test_rejected_statement_gets_an_error_from_its_rule(case: dict[str, Any]) -> None:
    report = run(case)
    errors = {f.rule for f in report.all_findings if f.severity == "error"}
    expected_errors = {r.id for r in RULES if r.id in case["rules"] and r.severity == "error"}
    assert expected_errors and expected_errors <= errors


@pytest.mark.parametrize("case", [c for _, c in load_cases("starrocks_valid.yaml")],
                         ids=[i for i, _ in load_cases("starrocks_valid.yaml")])
def test_valid_statement_has_no_error(case: dict[str, Any]) -> None:
    report = run(case)
    assert report.ok
    assert all(f.severity == "warning" for f in report.all_findings)
    assert case["source"].startswith("https://docs.starrocks.io/")


def test_every_rule_has_a_case() -> None:
    covered = {rule for _, case in ALL_CASES for rule in case["rules"]}
    assert {r.id for r in RULES} <= covered


def test_rule_table_is_well_formed() -> None:
    ids = [r.id for r in RULES]
    assert ids == sorted(ids) and len(ids) == len(set(ids))
    assert all(re.fullmatch(r"SR\d{3}", i) for i in ids)
    assert all(r.severity in ("error", "warning") and r.summary and r.kinds for r in RULES)
    table = lint.rules_markdown()
    assert all(f"| {i} |" in table for i in ids)
    assert [d["id"] for d in (r.to_dict() for r in RULES)] == ids


# ---------------------------------------------------------------------------------------------- status


@pytest.mark.parametrize("sql", [
    "CREATE ROLE analyst",  # sqlglot: Command
    "ALTER MATERIALIZED VIEW mv1 SWAP WITH mv2",  # sqlglot: Command
    "INSERT INTO t WITH LABEL l1 SELECT * FROM s",  # sqlglot: ParseError
    "ALTER TABLE t ADD COLUMN (a INT, b INT)",  # sqlglot: ParseError
    "CREATE TABLE t (id INT KEY, v INT) DISTRIBUTED BY HASH(id) PROPERTIES (\"replication_num\" = \"1\")",
])
def test_statement_sqlglot_cannot_verify_is_never_checked(sql: str) -> None:
    assert sqlglot_verdict(sql) != ""
    report = lint_script("x.sql", Kind.VERSIONED, sql, [Statement(1, sql, 1)])
    (statement,) = report.statements
    assert statement.status == "unverified"
    assert statement.findings == ()
    assert "sqlglot" in statement.note
    assert report.ok


def test_unverified_is_never_checked_across_all_cases() -> None:
    for _, case in ALL_CASES:
        text, statements = build(case)
        report = lint_script("x.sql", Kind(case.get("kind", "V")), text, statements)
        for stmt, rep in zip(statements, report.statements):
            if rep.status == "checked":
                assert sqlglot_verdict(stmt.sql) == "", stmt.sql
                assert rep.note == ""
            if rep.status == "unverified":
                assert rep.note and not any(f.severity == "error" for f in rep.findings)


def test_degraded_parse_is_unverified() -> None:
    # sqlglot reads StarRocks' `id INT KEY` (a key column) as an inline PRIMARY KEY: the KEY is lost.
    note = sqlglot_verdict("CREATE TABLE t (id INT KEY) DISTRIBUTED BY HASH(id)")
    assert "dropped KEY" in note
    # function respellings (IFNULL -> COALESCE) are not a degraded parse
    assert sqlglot_verdict("SELECT IFNULL(a, 0), SUBSTR(b, 1, 2) FROM t") == ""


def test_parse_error_alone_is_not_an_error() -> None:
    sql = "THIS IS NOT SQL AT ALL ("
    report = lint_script("x.sql", Kind.VERSIONED, sql, [Statement(1, sql, 1)])
    assert report.statements[0].status == "unverified"
    assert report.ok


def test_warning_only_statement_can_be_checked() -> None:
    sql = "DROP TABLE old_orders"
    report = lint_script("x.sql", Kind.VERSIONED, sql, [Statement(1, sql, 1)])
    assert report.statements[0].status == "checked"
    assert [(f.rule, f.severity) for f in report.statements[0].findings] == [("SR015", "warning")]
    assert report.ok


# ---------------------------------------------------------------------------------------------- lines


def test_finding_lines_follow_the_script() -> None:
    text = (
        "-- V3 orders\n"
        "CREATE TABLE orders (\n"
        "    id BIGINT NOT NULL,\n"
        "    placed_at TIMESTAMP\n"
        ") PRIMARY KEY (id) DISTRIBUTED BY HASH(id) PROPERTIES (\"replication_num\" = \"1\");\n"
        "\n"
        "INSERT INTO orders VALUES (1, NOW()) ON DUPLICATE KEY UPDATE id = id;\n"
    )
    first = text.split(";")[0]
    second = text.split(";")[1]
    statements = [Statement(1, first, 2), Statement(2, second, 7)]
    report = lint_script("V3__orders.sql", Kind.VERSIONED, text, statements)
    assert [(f.rule, f.line) for f in report.all_findings] == [("SR001", 4), ("SR010", 7)]


def test_lines_without_script_text_use_statement_line() -> None:
    sql = "/* note */\nCREATE TABLE t (\n  a INT,\n  b TIMESTAMP\n) PROPERTIES (\"replication_num\" = \"1\")"
    report = lint_script("x.sql", Kind.VERSIONED, "", [Statement(1, sql, 12)])
    assert [(f.rule, f.line) for f in report.all_findings] == [("SR001", 14)]


# ---------------------------------------------------------------------------------------------- API


def test_summary_and_json() -> None:
    statements = [
        Statement(1, "CREATE TABLE t (id INT PRIMARY KEY)", 1),
        Statement(2, "CREATE ROLE r", 2),
        Statement(3, "SELECT 1", 3),
        Statement(4, "DROP TABLE old", 4),
    ]
    report = lint_script("V1__x.sql", Kind.VERSIONED, "", statements)
    assert report.summary() == {"statements": 4, "checked": 2, "unverified": 1, "error": 1,
                                "errors": 1, "warnings": 2}
    assert not report.ok
    data = json.loads(json.dumps(report.to_dict()))
    assert data["path"] == "V1__x.sql" and data["kind"] == "V"
    assert [s["status"] for s in data["statements"]] == ["error", "unverified", "checked", "checked"]
    assert data["statements"][0]["findings"][0]["rule"] == "SR003"
    assert data["statements"][1]["note"]
    total = lint.summarize([report, report])
    assert total["scripts"] == 2 and total["statements"] == 8 and total["errors"] == 2


def test_rule_kinds_are_respected() -> None:
    def everything(script: Any) -> list[Hit]:
        return [Hit("script-level note"), Hit("on the statement", index=1, offset=7)]

    only_repeatable = Rule("XX001", "test", "warning", "test rule", everything, frozenset({Kind.REPEATABLE}))
    stmt = Statement(1, "SELECT\n1", 5)
    versioned = lint_script("x.sql", Kind.VERSIONED, "", [stmt], rules=[only_repeatable])
    repeatable = lint_script("x.sql", Kind.REPEATABLE, "", [stmt], rules=[only_repeatable])
    assert versioned.all_findings == []
    assert [f.line for f in repeatable.findings] == [1]
    assert [f.line for f in repeatable.statements[0].findings] == [6]


def test_empty_statement_is_unverified() -> None:
    report = lint_script("x.sql", Kind.VERSIONED, "", [Statement(1, "-- only a comment", 1)])
    assert report.statements[0].status == "unverified"


def test_sqlglot_crash_leaves_statement_unverified(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: Any, **kwargs: Any) -> None:
        raise RecursionError("deep")

    monkeypatch.setattr(sqlglot_check.sqlglot, "parse", boom)
    report = lint_script("x.sql", Kind.VERSIONED, "", [Statement(1, "SELECT 1", 1)])
    assert report.statements[0].status == "unverified"
    assert "RecursionError" in report.statements[0].note


def test_sqlglot_fallback_warnings_are_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("DEBUG"):
        lint_script("x.sql", Kind.VERSIONED, "", [Statement(1, "CREATE ROLE analyst", 1)])
    assert not [r for r in caplog.records if r.name.startswith("sqlglot")]
