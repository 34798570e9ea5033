"""The registry of lint rules: each rule once, with its id (SRnnn), name, severity, the script kinds and engine
capability it applies to, and its check (checks.py). Linting, the README's rule table and --json read it here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

from rockway.lint import checks
from rockway.lint.report import Severity
from rockway.lint.statement import Hit, LintScript, LintStatement
from rockway.model import Kind


@dataclass(frozen=True)
class Rule:
    """One lint rule: stable id, default severity, the script kinds it applies to, and its check."""

    id: str
    name: str
    severity: Severity
    summary: str
    check: Callable[[LintScript], Iterable[Hit]]
    kinds: frozenset[Kind] = field(default_factory=lambda: frozenset(Kind))
    # a Capabilities field (adapters/base.py) the rendering's engine must have for the rule to apply: a rule about
    # table replicas says nothing about a rendering for MySQL/MariaDB, whose tables keep none
    requires: str | None = None

    def applies(self, kind: Kind, capabilities: Any = None) -> bool:
        """True when the rule judges a script of this kind rendered for an engine with these capabilities
        (None: every rule applies, a StarRocks rendering)."""
        if kind not in self.kinds:
            return False
        return not (self.requires and capabilities is not None and not getattr(capabilities, self.requires))

    def to_dict(self) -> dict[str, Any]:
        """Rule documentation (for the README)."""
        return {"id": self.id, "name": self.name, "severity": self.severity, "summary": self.summary,
                "kinds": sorted(k.value for k in self.kinds)}


def _per_statement(fn: Callable[[LintStatement], Iterable[tuple[int, str]]]) -> Callable[[LintScript], Iterator[Hit]]:
    """Adapt a per-statement check yielding (offset, message) to a script check."""
    def check(script: LintScript) -> Iterator[Hit]:
        for st in script.stmts:
            for offset, message in fn(st):
                yield Hit(message, st.stmt.index, offset)
    return check


RULES: tuple[Rule, ...] = (
    Rule("SR001", "timestamp-type", "error", "TIMESTAMP column or cast type (StarRocks has DATETIME)",
         _per_statement(checks.timestamp_type)),
    Rule("SR002", "datetime-precision", "error", "DATETIME(p)/TIMESTAMP(p) precision syntax",
         _per_statement(checks.datetime_precision)),
    Rule("SR003", "inline-key", "error", "PRIMARY KEY/UNIQUE in the column list or on a column; ADD/DROP PRIMARY KEY",
         _per_statement(checks.inline_key)),
    Rule("SR004", "auto-increment-type", "error", "AUTO_INCREMENT on a column that is not BIGINT",
         _per_statement(checks.auto_increment_type)),
    Rule("SR005", "on-update", "error", "ON UPDATE CURRENT_TIMESTAMP", _per_statement(checks.on_update)),
    Rule("SR006", "engine", "error", "ENGINE other than a StarRocks engine (InnoDB, MyISAM, …)",
         _per_statement(checks.engine)),
    Rule("SR007", "mysql-table-option", "error",
         "MySQL table options: non-utf8 CHARSET, COLLATE, AUTO_INCREMENT=, ROW_FORMAT=, COMMENT=, …",
         _per_statement(checks.mysql_table_option)),
    Rule("SR008", "hash-comment", "error", "`#` comments (StarRocks knows only -- and /* */)", checks.hash_comment),
    Rule("SR009", "double-quoted-identifier", "error", "\"name\" where an identifier belongs (it is a string)",
         _per_statement(checks.double_quoted_identifier)),
    Rule("SR010", "on-duplicate-key", "error", "INSERT … ON DUPLICATE KEY UPDATE",
         _per_statement(checks.on_duplicate_key)),
    Rule("SR011", "transaction-control", "error",
         "BEGIN/START TRANSACTION/COMMIT/ROLLBACK/autocommit=0 (error with DDL in the script, else warning)",
         checks.transaction_control),
    Rule("SR012", "locking", "error", "LOCK TABLES, SELECT … FOR UPDATE, GET_LOCK()", _per_statement(checks.locking)),
    Rule("SR013", "mysql-index", "error",
         "MySQL indexes: UNIQUE/FULLTEXT index, USING BTREE/HASH, multi-column or prefix index, KEY in column list",
         _per_statement(checks.mysql_index)),
    Rule("SR014", "foreign-key", "error", "FOREIGN KEY / REFERENCES / CHECK constraints",
         _per_statement(checks.foreign_key)),
    Rule("SR015", "drop-if-exists", "warning", "DROP TABLE/VIEW/MATERIALIZED VIEW/DATABASE without IF EXISTS",
         checks.drop_if_exists),
    Rule("SR016", "repeated-alter", "warning", "several schema changes on one table in one script",
         checks.repeated_alter),
    Rule("SR017", "replication-num", "warning", "CREATE TABLE without \"replication_num\" in PROPERTIES",
         _per_statement(checks.replication_num), requires="replicas"),
    Rule("SR018", "mysql-type", "error", "MySQL-only column types (ENUM, MEDIUMINT, LONGTEXT, INT UNSIGNED, …)",
         _per_statement(checks.mysql_type)),
    Rule("SR019", "mysql-alter", "error", "MySQL ALTER TABLE syntax (ADD without COLUMN, CHANGE, ALTER COLUMN, …)",
         _per_statement(checks.mysql_alter)),
    Rule("SR020", "mysql-dml", "error", "MySQL DML (INSERT IGNORE, REPLACE INTO, INSERT … SET, UPDATE/DELETE … LIMIT)",
         _per_statement(checks.mysql_dml)),
    Rule("SR021", "empty-script", "error", "V or U script whose text has no statement, only comments (before templating)",
         checks.empty_script, frozenset({Kind.VERSIONED, Kind.UNDO})),
    Rule("SR022", "replication-over-backends", "error",
         "\"replication_num\" above the environment's declared `backends` (skipped when none is declared)",
         checks.replication_over_backends, requires="replicas"),
)


def rules_markdown() -> str:
    """A Markdown table of the rules, for the README."""
    lines = ["| id | name | severity | what it flags |", "|---|---|---|---|"]
    lines += [f"| {r.id} | {r.name} | {r.severity} | {r.summary.replace('|', '/')} |" for r in RULES]
    return "\n".join(lines)
