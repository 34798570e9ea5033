"""Lint results: findings with their severity, per-statement and per-script reports, and their plain-data form."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from typing import Any, Iterable, Literal

from rockway.model import Kind
from rockway.observability.redaction import redact_secrets

Severity = Literal["error", "warning"]
Status = Literal["checked", "unverified", "error"]

@dataclass(frozen=True)
class Finding:
    """One problem: rule id, severity, a message that says what StarRocks wants, script line."""

    rule: str
    severity: Severity
    message: str
    line: int

    def to_dict(self) -> dict[str, Any]:
        """Plain data for --json."""
        return {"rule": self.rule, "severity": self.severity, "message": self.message, "line": self.line}

    def without_secrets(self) -> "Finding":
        """This finding with values in secret positions of its message masked (redaction.py)."""
        return replace(self, message=redact_secrets(self.message))


@dataclass(frozen=True)
class StatementReport:
    """Outcome for one statement; `note` says why a statement is unverified."""

    index: int
    line: int
    first_line: str
    status: Status
    findings: tuple[Finding, ...] = ()
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain data for --json."""
        return {
            "index": self.index,
            "line": self.line,
            "first_line": self.first_line,
            "status": self.status,
            "note": self.note,
            "findings": [f.to_dict() for f in self.findings],
        }

    def without_secrets(self) -> "StatementReport":
        """This report with values in secret positions masked, for output (rockway lint --show-secrets keeps them)."""
        return replace(self, first_line=redact_secrets(self.first_line), note=redact_secrets(self.note),
                       findings=tuple(f.without_secrets() for f in self.findings))


@dataclass(frozen=True)
class ScriptReport:
    """Outcome for one rendered script: per-statement reports plus script-level findings."""

    path: str
    kind: Kind
    statements: tuple[StatementReport, ...]
    findings: tuple[Finding, ...] = ()

    def without_secrets(self) -> "ScriptReport":
        """This report with values in secret positions masked everywhere it quotes SQL."""
        return replace(self, statements=tuple(s.without_secrets() for s in self.statements),
                       findings=tuple(f.without_secrets() for f in self.findings))

    @property
    def all_findings(self) -> list[Finding]:
        """Script-level and statement findings, by line."""
        found = list(self.findings) + [f for s in self.statements for f in s.findings]
        return sorted(found, key=lambda f: (f.line, f.rule))

    @property
    def ok(self) -> bool:
        """True when no finding is an error."""
        return not any(f.severity == "error" for f in self.all_findings)

    def summary(self) -> dict[str, int]:
        """Counts of statements by status and of findings by severity."""
        status = Counter(s.status for s in self.statements)
        severity = Counter(f.severity for f in self.all_findings)
        return {
            "statements": len(self.statements),
            "checked": status["checked"],
            "unverified": status["unverified"],
            "error": status["error"],
            "errors": severity["error"],
            "warnings": severity["warning"],
        }

    def to_dict(self) -> dict[str, Any]:
        """Plain data for --json."""
        return {
            "path": self.path,
            "kind": self.kind.value,
            "summary": self.summary(),
            "findings": [f.to_dict() for f in self.findings],
            "statements": [s.to_dict() for s in self.statements],
        }


def summarize(reports: Iterable[ScriptReport]) -> dict[str, int]:
    """Add up `summary()` over several scripts."""
    total: Counter[str] = Counter({"scripts": 0})
    for report in reports:
        total["scripts"] += 1
        total.update(report.summary())
    keys = ("scripts", "statements", "checked", "unverified", "error", "errors", "warnings")
    return {k: total[k] for k in keys}
