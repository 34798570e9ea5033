"""`rockway lint`: targeted StarRocks rules, plus sqlglot where it truly parses a statement.

Every statement ends up `error` (a rule found something StarRocks rejects), `checked` (no error
and sqlglot's StarRocks dialect parsed it into a full tree that regenerates every identifier and
literal) or `unverified` (no rule fired, but sqlglot fell back to an opaque `Command`, rejected the
statement, or dropped part of it). A sqlglot rejection alone is never an error: sqlglot rejects some
valid StarRocks (`INSERT … WITH LABEL`, `ALTER TABLE … ADD COLUMN (…)`). StarRocks itself stays
the real validator.

The package: report.py (findings and reports), rules.py (the registry of rules), checks.py (what each
rule looks for), statement.py (statements as the rules read them, lexed by sqlsplit), sqlglot_check.py
(the sqlglot parse) and rewrites.py (table rewrites per release and the --fix merge).

Measured with sqlglot 30.30 on the samples in tests/cases/lint: of 39 valid statements from the
StarRocks docs, 28 end up `checked` and 11 `unverified` (5 become a `Command`: CREATE ROLE, CREATE
USER, GRANT … ON ALL TABLES, ALTER MATERIALIZED VIEW, CREATE INDEX … USING BITMAP; 6 are rejected,
among them INSERT … WITH LABEL, ALTER TABLE … ADD COLUMN (…), DELETE … PARTITION p and `[a, b)`
range partitions). Of 51 MySQL-only statements StarRocks rejects, sqlglot parses 44 without
complaint; the rules flag all 51. sqlglot also misreads StarRocks' `id INT KEY` (a key column) as an
inline PRIMARY KEY, which the round-trip check catches.
"""

from __future__ import annotations

from typing import Any, Sequence

from rockway.extensions import is_rockway_statement
from rockway.lint.report import Finding, ScriptReport, Severity, StatementReport, Status, summarize
from rockway.lint.rules import RULES, Rule, rules_markdown
from rockway.lint.statement import Hit, LintScript, LintStatement
from rockway.model import Kind, Statement

__all__ = ["Finding", "Hit", "RULES", "Rule", "ScriptReport", "Severity", "StatementReport", "Status", "lint_script",
           "rules_markdown", "sqlglot_verdict", "summarize"]


def sqlglot_verdict(sql: str) -> str:
    """'' when sqlglot fully parses `sql`, else why it stays unverified (rockway/lint/sqlglot_check.py)."""
    # sqlglot takes ~60 ms to import: loaded when lint runs, not by every `migrate` command that imports this package
    from rockway.lint import sqlglot_check
    return sqlglot_check.sqlglot_verdict(sql)


def lint_script(path: str, kind: Kind, text: str, statements: Sequence[Statement],
                rules: Sequence[Rule] = RULES, *, raw: str | None = None, backends: int | None = None,
                capabilities: Any = None) -> ScriptReport:
    """Lint one rendered script: `text` is the rendered script (for text-level rules), may be '';
    `raw` is the script before rendering, for rules that judge what was written (SR021); `capabilities`: those
    of the engine the script was rendered for (adapters.engine_capabilities), which skip the rules that `require`
    what it lacks; None: every rule applies (a StarRocks rendering)."""
    stmts: list[LintStatement] = []
    cursor = 0
    for s in statements:  # locate each statement in the text for exact line numbers
        at = text.find(s.sql, cursor) if text and s.sql else -1
        if at >= 0:
            cursor = at + len(s.sql)
        stmts.append(LintStatement(s, text.count("\n", 0, at) + 1 if at >= 0 else None))
    by_index = {st.stmt.index: st for st in stmts}
    script = LintScript(path, kind, text, tuple(stmts), raw, backends)
    per_statement: dict[int, list[Finding]] = {st.stmt.index: [] for st in stmts}
    script_level: list[Finding] = []
    for rule in rules:
        if not rule.applies(kind, capabilities):
            continue
        for hit in rule.check(script):
            st = by_index.get(hit.index) if hit.index is not None else None
            line = hit.line if hit.line is not None else (st.line_at(hit.offset) if st else 1)
            finding = Finding(rule.id, hit.severity or rule.severity, hit.message, line)
            target = per_statement[st.stmt.index] if st else script_level
            if finding not in target:
                target.append(finding)
    reports = []
    for st in stmts:
        findings = tuple(sorted(per_statement[st.stmt.index], key=lambda f: (f.line, f.rule)))
        status: Status
        if any(f.severity == "error" for f in findings):
            status, note = "error", ""
        elif is_rockway_statement(st.sql):
            status, note = "checked", "a rockway statement: run by rockway itself, validated when the script renders"
        elif not st.masked.strip():
            status, note = "unverified", "no SQL in this statement"
        else:
            note = sqlglot_verdict(st.sql)
            status = "unverified" if note else "checked"
        reports.append(StatementReport(st.stmt.index, st.stmt.line, st.stmt.first_line, status, findings, note))
    return ScriptReport(path, kind, tuple(reports), tuple(script_level))
