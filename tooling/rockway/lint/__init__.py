"""`rockway lint`: targeted StarRocks rules, plus sqlglot where it truly parses a statement.

Every statement ends up `error` (a rule found something StarRocks rejects), `checked` (no error
and sqlglot's StarRocks dialect parsed it into a full tree that regenerates every identifier and
literal) or `unverified` (no rule fired, but sqlglot fell back to an opaque `Command`, rejected the
statement, or dropped part of it). A sqlglot rejection alone is never an error: sqlglot rejects some
valid StarRocks (`INSERT … WITH LABEL`, `ALTER TABLE … ADD COLUMN (…)`). StarRocks itself stays
the real validator.

Rules match text with string literals, quoted identifiers and comments blanked out, so nothing
inside a string or comment triggers them. The rule syntax follows StarRocks' parser grammar
(StarRocks.g4) and the analyzer messages it produces.

Measured with sqlglot 30.30 on the samples in tests/cases/lint: of 39 valid statements from the
StarRocks docs, 28 end up `checked` and 11 `unverified` (5 become a `Command`: CREATE ROLE, CREATE
USER, GRANT … ON ALL TABLES, ALTER MATERIALIZED VIEW, CREATE INDEX … USING BITMAP; 6 are rejected,
among them INSERT … WITH LABEL, ALTER TABLE … ADD COLUMN (…), DELETE … PARTITION p and `[a, b)`
range partitions). Of 51 MySQL-only statements StarRocks rejects, sqlglot parses 44 without
complaint; the rules flag all 51. sqlglot also misreads StarRocks' `id INT KEY` (a key column) as an
inline PRIMARY KEY, which the round-trip check catches.
"""

from __future__ import annotations

import bisect
import logging
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Callable, Iterable, Iterator, Literal, Sequence

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.tokens import TokenType

from rockway.extensions import is_rockway_statement
from rockway.model import Kind, Statement
from rockway.observability.redaction import redact_secrets

Severity = Literal["error", "warning"]
Status = Literal["checked", "unverified", "error"]

# ---------------------------------------------------------------------------------------- reports


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


# ---------------------------------------------------------------------------------------- scanning

_NAME_PART = r'(?:`[^`]*`|"[^"]*"|[A-Za-z_$][\w$]*)'
_NAME = rf"{_NAME_PART}(?:\s*\.\s*{_NAME_PART})*"


@dataclass(frozen=True)
class _Scan:
    masked: str  # same length as the text; string/identifier contents and comments are blanked
    dquotes: tuple[tuple[int, int], ...]  # spans of "…" including the quotes
    hashes: tuple[int, ...]  # offsets of `#` comments


def _scan(text: str) -> _Scan:
    """Blank out quoted contents and comments, keeping quotes, newlines and offsets."""
    out = list(text)
    dquotes: list[tuple[int, int]] = []
    hashes: list[int] = []
    n = len(text)

    def blank(a: int, b: int) -> None:
        for k in range(a, min(b, n)):
            if out[k] != "\n":
                out[k] = " "

    i = 0
    while i < n:
        c = text[i]
        if c in "'\"`":
            j = i + 1
            while j < n:
                if text[j] == "\\" and c != "`":
                    j += 2
                elif text[j] == c and j + 1 < n and text[j + 1] == c:
                    j += 2
                elif text[j] == c:
                    break
                else:
                    j += 1
            blank(i + 1, j)
            if c == '"':
                dquotes.append((i, min(j + 1, n)))
            i = j + 1
        elif c == "#" or text.startswith("--", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            if c == "#":
                hashes.append(i)
            blank(i, j)
            i = j
        elif text.startswith("/*", i) or text.startswith("$$", i):
            closing = "*/" if c == "/" else "$$"
            j = text.find(closing, i + 2)
            j = n if j < 0 else j + 2
            blank(i, j)
            i = j
        else:
            i += 1
    return _Scan("".join(out), tuple(dquotes), tuple(hashes))


# `[` opens like `(`: StarRocks range bounds read `VALUES [("a"), ("b"))`
def _close(masked: str, i: int) -> int:
    """Index of the parenthesis closing the one at `i` (or len)."""
    depth = 0
    for k in range(i, len(masked)):
        if masked[k] in "([":
            depth += 1
        elif masked[k] in ")]":
            depth -= 1
            if depth == 0:
                return k
    return len(masked)


_ANGLE_OPEN = re.compile(r"(?:ARRAY|MAP|STRUCT)\s*$", re.I)


def _split(masked: str, a: int, b: int) -> list[tuple[int, int]]:
    """Split masked[a:b] on commas outside parentheses and ARRAY<…>/MAP<…>/STRUCT<…>."""
    parts, depth, angle, start = [], 0, 0, a
    for k in range(a, b):
        c = masked[k]
        if c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif c == "<" and _ANGLE_OPEN.search(masked, max(a, k - 12), k):
            angle += 1
        elif c == ">" and angle:
            angle -= 1
        elif c == "," and depth == 0 and angle == 0:
            parts.append((start, k))
            start = k + 1
    parts.append((start, b))
    return [(x + len(masked[x:y]) - len(masked[x:y].lstrip()), y) for x, y in parts if masked[x:y].strip()]


def _depth_at(masked: str, pos: int) -> int:
    head = masked[:pos]
    return head.count("(") + head.count("[") - head.count(")") - head.count("]")


@dataclass(frozen=True)
class _Column:
    start: int  # offset of the column name
    name: str  # as written, without backticks
    type: str  # upper-case type name
    args: str  # "(…)" after the type, or ""
    rest: str  # masked text after the type
    rest_start: int


@dataclass(frozen=True)
class _CreateTable:
    name: str
    modifier: str  # "", "TEMPORARY" or "EXTERNAL"
    elements: tuple[tuple[int, int], ...]  # column-list entries
    options: tuple[int, int]  # what follows the column list, up to the query of a CTAS
    like: bool


@dataclass(frozen=True)
class _AlterTable:
    name: str
    clauses: tuple[tuple[int, int], ...]


_COLUMN_RE = re.compile(rf"\s*(?P<name>{_NAME_PART})\s+(?P<type>[A-Za-z_]\w*)\s*(?P<args>\([^()]*\))?", re.S)
_CONSTRAINT_WORDS = {"PRIMARY", "UNIQUE", "KEY", "INDEX", "CONSTRAINT", "FOREIGN", "FULLTEXT", "SPATIAL"}
_NOT_TYPES = {"COMMENT", "ADD", "DROP", "SET", "FIRST", "AFTER"}


class _Stmt:
    """One statement with its masked text, line mapping and lazily parsed DDL pieces."""

    def __init__(self, stmt: Statement, sql_line: int | None = None) -> None:
        """`sql_line` is the script line where `stmt.sql` starts, when known from the script text."""
        self.stmt = stmt
        self.sql = stmt.sql
        scan = _scan(stmt.sql)
        self.masked = scan.masked
        self.dquotes = scan.dquotes
        self.hashes = scan.hashes
        self._newlines = [i for i, ch in enumerate(self.sql) if ch == "\n"]
        if sql_line is not None:
            self._base = sql_line
        else:  # stmt.line is the line of the first code
            code = re.search(r"\S", self.masked)
            self._base = stmt.line - bisect.bisect_left(self._newlines, code.start() if code else 0)
        self.words = [w.upper() for w in re.findall(r"[A-Za-z_]\w*", self.masked[:300])]
        self.verb = self.words[0] if self.words else ""

    def line_at(self, offset: int) -> int:
        """Script line of an offset in this statement."""
        return self._base + bisect.bisect_left(self._newlines, offset)

    def original(self, a: int, b: int) -> str:
        return self.sql[a:b]

    def find(self, pattern: str, region: tuple[int, int] | None = None) -> Iterator[re.Match[str]]:
        """Case-insensitive matches in the masked text (optionally within a region)."""
        a, b = region or (0, len(self.masked))
        return re.compile(pattern, re.I | re.S).finditer(self.masked, a, b)

    @cached_property
    def create_table(self) -> _CreateTable | None:
        """The pieces of a CREATE TABLE statement."""
        m = re.match(rf"\s*CREATE\s+(?:(TEMPORARY|EXTERNAL)\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?({_NAME})\s*",
                     self.masked, re.I)
        if not m:
            return None
        pos, elements = m.end(), []
        if pos < len(self.masked) and self.masked[pos] == "(":
            close = _close(self.masked, pos)
            elements = _split(self.masked, pos + 1, close)
            pos = close + 1
        end = len(self.masked)
        for q in re.finditer(r"\bAS\s*(?:SELECT|WITH|\()", self.masked[pos:], re.I):
            if _depth_at(self.masked, pos + q.start()) == 0:
                end = pos + q.start()
                break
        like = any(_depth_at(self.masked, q.start()) == 0
                   for q in re.compile(r"\bLIKE\b", re.I).finditer(self.masked, pos, end))
        return _CreateTable(self.original(*m.span(2)), (m.group(1) or "").upper(), tuple(elements), (pos, end), like)

    @cached_property
    def alter_table(self) -> _AlterTable | None:
        """The name and clauses of an ALTER TABLE statement."""
        m = re.match(rf"\s*ALTER\s+TABLE\s+({_NAME})\s*", self.masked, re.I)
        if not m:
            return None
        return _AlterTable(self.original(*m.span(1)), tuple(_split(self.masked, m.end(), len(self.masked))))

    @property
    def table_elements(self) -> tuple[tuple[int, int], ...]:
        return self.create_table.elements if self.create_table else ()

    @property
    def alter_clauses(self) -> tuple[tuple[int, int], ...]:
        return self.alter_table.clauses if self.alter_table else ()

    def clause_words(self, span: tuple[int, int], n: int = 3) -> list[str]:
        return [w.upper() for w in re.findall(r"[A-Za-z_]\w*|\(", self.masked[span[0]:span[1]])[:n]]

    @cached_property
    def elements(self) -> list[tuple[int, int]]:
        """Column-list elements of CREATE TABLE and column definitions of ALTER TABLE ADD/MODIFY."""
        if self.create_table:
            return list(self.create_table.elements)
        found: list[tuple[int, int]] = []
        for a, b in self.alter_clauses:
            m = re.match(r"\s*(?:ADD|MODIFY)\s+(?:COLUMN\s+)?", self.masked[a:b], re.I)
            if not m or self.clause_words((a, b), 2)[1:] in (["PARTITION"], ["PARTITIONS"], ["TEMPORARY"],
                                                                ["INDEX"], ["ROLLUP"]):
                continue
            inner = a + m.end()
            if self.masked[inner:inner + 1] == "(":
                found.extend(_split(self.masked, inner + 1, _close(self.masked, inner)))
            else:
                found.append((inner, b))
        return found

    @cached_property
    def columns(self) -> list[_Column]:
        """Column definitions among `elements` (constraints and indexes excluded)."""
        cols = []
        for a, b in self.elements:
            first = re.match(r"\s*([A-Za-z_]+)", self.masked[a:b])
            if first and first.group(1).upper() in _CONSTRAINT_WORDS | {"CHECK"}:
                if first.group(1).upper() != "CHECK" or re.match(r"\s*CHECK\s*\(", self.masked[a:b], re.I):
                    continue
            m = _COLUMN_RE.match(self.masked, a, b)
            if not m or m.group("type").upper() in _NOT_TYPES:
                continue
            name = self.original(*m.span("name")).strip("`")
            cols.append(_Column(m.start("name"), name, m.group("type").upper(), m.group("args") or "",
                                self.masked[m.end():b], m.end()))
        return cols


# ---------------------------------------------------------------------------------------- rules


@dataclass(frozen=True)
class Hit:
    """What a rule check yields: a statement (None = script level), an offset or line, a message."""

    message: str
    index: int | None = None
    offset: int = 0
    line: int | None = None
    severity: Severity | None = None


@dataclass(frozen=True)
class _Script:
    path: str
    kind: Kind
    text: str
    stmts: tuple[_Stmt, ...]
    raw: str | None = None  # the script before rendering, when known
    backends: int | None = None  # backends the environment declares (Settings.backends); None: not declared


@dataclass(frozen=True)
class Rule:
    """One lint rule: stable id, default severity, the script kinds it applies to, and its check."""

    id: str
    name: str
    severity: Severity
    summary: str
    check: Callable[[_Script], Iterable[Hit]]
    kinds: frozenset[Kind] = field(default_factory=lambda: frozenset(Kind))
    # a Capabilities field (adapters/base.py) the rendering's engine must have for the rule to apply: a rule about
    # table replicas says nothing about a rendering for MySQL/MariaDB, whose tables keep none
    requires: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Rule documentation (for the README)."""
        return {"id": self.id, "name": self.name, "severity": self.severity, "summary": self.summary,
                "kinds": sorted(k.value for k in self.kinds)}


def _each(fn: Callable[[_Stmt], Iterable[tuple[int, str]]]) -> Callable[[_Script], Iterator[Hit]]:
    """Adapt a per-statement check yielding (offset, message) to a script check."""
    def check(script: _Script) -> Iterator[Hit]:
        for st in script.stmts:
            for offset, message in fn(st):
                yield Hit(message, st.stmt.index, offset)
    return check


def _timestamp_type(st: _Stmt) -> Iterator[tuple[int, str]]:
    for col in st.columns:
        if col.type == "TIMESTAMP":
            yield col.start, (f"column {col.name}: StarRocks has no TIMESTAMP type; use DATETIME "
                              "(no time zone; store UTC)")
    for m in st.find(r"\bCAST\s*\((?:[^()]|\([^()]*\))*?\bAS\s+TIMESTAMP\b"):
        yield m.start(), "CAST(… AS TIMESTAMP): StarRocks has no TIMESTAMP type; cast AS DATETIME"
    for m in st.find(r"\bTIMESTAMP\s*'"):
        yield m.start(), "TIMESTAMP '…' is no StarRocks literal; write DATETIME '…' (or CAST('…' AS DATETIME))"


def _datetime_precision(st: _Stmt) -> Iterator[tuple[int, str]]:
    for col in st.columns:
        if col.type in ("DATETIME", "TIMESTAMP") and col.args:
            yield col.start, (f"column {col.name}: StarRocks rejects {col.type}{col.args}; write DATETIME "
                              "without a precision (it keeps microseconds)")
    for m in st.find(r"\bAS\s+(?:DATETIME|TIMESTAMP)\s*\(\s*\d+\s*\)"):
        yield m.start(), "StarRocks rejects a DATETIME precision; cast AS DATETIME (it keeps microseconds)"


_KEY_HINT = "declare the key after the column list, e.g. `) PRIMARY KEY (id) DISTRIBUTED BY HASH(id)`, " \
            "with the key columns first and NOT NULL"


def _inline_key(st: _Stmt) -> Iterator[tuple[int, str]]:
    for col in st.columns:
        m = re.search(r"\b(PRIMARY\s+KEY|UNIQUE(?:\s+KEY)?)\b", col.rest, re.I)
        if m:
            yield col.start, (f"column {col.name}: StarRocks has no inline {m.group(1).upper()}; {_KEY_HINT}")
    for a, b in st.table_elements:
        m = re.match(r"\s*(?:CONSTRAINT\s+(?:\S+\s+)?)?(PRIMARY\s+KEY|UNIQUE)\b", st.masked[a:b], re.I)
        if m:
            yield a, f"{m.group(1).upper()} inside the column list: {_KEY_HINT}"
    for a, b in st.alter_clauses:
        m = re.match(r"\s*(ADD|DROP)\s+(?:CONSTRAINT\s+(?:\S+\s+)?)?(PRIMARY\s+KEY|UNIQUE)\b", st.masked[a:b], re.I)
        if m:
            yield a, (f"ALTER TABLE … {m.group(1).upper()} {m.group(2).upper()}: a StarRocks table's key is "
                      "fixed at CREATE TABLE; create a new table with the key and swap it in "
                      "(ALTER TABLE old SWAP WITH new)")


def _auto_increment(st: _Stmt) -> Iterator[tuple[int, str]]:
    for col in st.columns:
        if re.search(r"\bAUTO_INCREMENT\b", col.rest, re.I) and col.type != "BIGINT":
            yield col.start, (f"column {col.name}: AUTO_INCREMENT columns must be BIGINT "
                              f"(StarRocks 3.0+), not {col.type}; write `{col.name} BIGINT NOT NULL AUTO_INCREMENT`")


def _on_update(st: _Stmt) -> Iterator[tuple[int, str]]:
    for m in st.find(r"\bON\s+UPDATE\s+(?:CURRENT_TIMESTAMP|NOW|LOCALTIMESTAMP|LOCALTIME)\b"):
        yield m.start(), ("StarRocks has no ON UPDATE CURRENT_TIMESTAMP; keep `DEFAULT CURRENT_TIMESTAMP` and set "
                          "the column in the loads/UPDATEs that change a row")


_ENGINES = {"OLAP", "MYSQL", "ELASTICSEARCH", "HIVE", "ICEBERG", "HUDI", "JDBC", "BROKER", "FILE", "DELTALAKE",
            "PAIMON", "ODPS", "KUDU"}


def _engine(st: _Stmt) -> Iterator[tuple[int, str]]:
    ct = st.create_table
    region = ct.options if ct else ((0, len(st.masked)) if st.alter_table else None)
    if region is None:
        return
    for m in st.find(r"\bENGINE\s*=?\s*([A-Za-z_]\w*)", region):
        engine = m.group(1).upper()
        if st.alter_table:
            yield m.start(), "ALTER TABLE … ENGINE=: a StarRocks table's engine cannot be changed; remove it"
        elif engine not in _ENGINES:
            yield m.start(), (f"ENGINE={m.group(1)} is MySQL; StarRocks tables use ENGINE=OLAP "
                              "(the default): remove the clause")
        elif ct and ct.modifier == "TEMPORARY" and engine != "OLAP":
            yield m.start(), "temporary tables support only ENGINE=OLAP"


_MYSQL_ALTER_OPTIONS = r"ROW_FORMAT|KEY_BLOCK_SIZE|AVG_ROW_LENGTH|MAX_ROWS|MIN_ROWS|PACK_KEYS|CHECKSUM|" \
                       r"DELAY_KEY_WRITE|STATS_PERSISTENT|STATS_AUTO_RECALC|STATS_SAMPLE_PAGES|INSERT_METHOD|" \
                       r"TABLESPACE|ENCRYPTION|COMPRESSION"
_MYSQL_OPTIONS = _MYSQL_ALTER_OPTIONS + "|AUTO_INCREMENT|COMMENT"


def _table_options(st: _Stmt) -> Iterator[tuple[int, str]]:
    ct = st.create_table
    if ct:
        opts = ct.options
        charset = r"\b(?:DEFAULT\s+)?(?:CHARSET|CHARACTER\s+SET|CHAR\s+SET)\s*=?\s*('[^']*'|\"[^\"]*\"|\w+)"
        for m in st.find(charset, opts):
            value = st.original(*m.span(1)).strip("'\"")
            if value.lower() != "utf8":
                yield m.start(), (f"charset {value}: StarRocks tables accept only utf8 (strings are UTF-8 "
                                  "already); remove DEFAULT CHARSET")
        for m in st.find(rf"\b({_MYSQL_OPTIONS})\s*=", opts):
            word = m.group(1).upper()
            if word == "COMMENT":
                yield m.start(), "table COMMENT takes no '=': write COMMENT \"…\" right after the key clause"
            else:
                yield m.start(), (f"{word}= is a MySQL table option; StarRocks rejects it (table settings go in "
                                  "PROPERTIES (\"key\" = \"value\"))")
        regions = [opts, *ct.elements]
    elif st.alter_table:
        regions = [(0, len(st.masked))]
        for a, b in st.alter_clauses:
            m = re.match(rf"\s*(CONVERT\s+TO|DEFAULT\s+CHARSET|DEFAULT\s+CHARACTER|CHARSET|CHARACTER\s+SET|"
                         rf"(?:{_MYSQL_ALTER_OPTIONS})\s*=)", st.masked[a:b], re.I)
            if m:
                yield a, f"ALTER TABLE … {m.group(1).upper().rstrip('= ')}: MySQL table option; StarRocks rejects it"
    else:
        return
    for a, b in regions:
        for m in st.find(r"\bCOLLATE\b", (a, b)):
            yield m.start(), "StarRocks tables and columns have no COLLATE; remove it"


def _hash_comment(script: _Script) -> Iterator[Hit]:
    message = "`#` starts no comment in StarRocks; use `-- …` or `/* … */`"
    if script.text:
        scan = _scan(script.text)
        for off in scan.hashes:
            line = script.text.count("\n", 0, off) + 1
            owner = next((st.stmt.index for st in script.stmts
                          if st.line_at(0) <= line <= st.line_at(len(st.sql))), None)
            yield Hit(message, owner, line=line)
    else:
        for st in script.stmts:
            for off in st.hashes:
                yield Hit(message, st.stmt.index, off)


_DQ_AFTER = re.compile(r"\b(?:TABLE|VIEW|INTO|OVERWRITE|UPDATE|JOIN|INDEX|(?<!\bIN\s)DATABASE|SCHEMA|LABEL|COLUMN)\s+"
                       r"(?:IF\s+(?:NOT\s+)?EXISTS\s+)?$", re.I)
_DQ_FUNCS_WITH_FROM = re.compile(r"\b(?:EXTRACT|TRIM|SUBSTRING|SUBSTR|POSITION|OVERLAY)\s*$", re.I)


def _dq_identifier(st: _Stmt) -> Iterator[tuple[int, str]]:
    msg = 'double quotes make a string in StarRocks, not an identifier: write `{}` (backticks) instead of "{}"'
    if st.verb in ("GRANT", "REVOKE", "SET", "SHOW", "USE"):  # these take strings for names
        return
    masked, flagged = st.masked, set()
    on_index = r"|ON\s+\S+" if st.verb == "CREATE" and "INDEX" in st.words[:3] else ""
    ident_lists = [m.span(1) for m in st.find(rf"\b(?:KEY|HASH|INDEX\s+\S+{on_index})\s*\(([^()]*)\)")]
    ident_lists += [m.span(1) for m in st.find(rf"\b(?:INTO|OVERWRITE|VIEW)\s+(?!FILES\b|BLACKHOLE\b){_NAME}\s*"
                                               r"(?:PARTITION\s*\([^()]*\)\s*)?\(([^()]*)\)")]
    col_starts = {col.start for col in st.columns} | {a for a, _ in st.elements}
    for a, b in st.dquotes:
        before = masked[max(0, a - 60):a]
        after = masked[b:b + 3]
        name = st.original(a + 1, b - 1)
        if (_DQ_AFTER.search(before) or re.search(r"\.\s*$", before) or re.match(r"\s*\.", after)
                or a in col_starts or any(x <= a < y for x, y in ident_lists)):
            flagged.add(a)
        elif re.search(r"\bFROM\s+$", before, re.I):
            opened = masked.rfind("(", 0, a)
            if _depth_at(masked, a) == 0 or not _DQ_FUNCS_WITH_FROM.search(masked, max(0, opened - 12), opened):
                flagged.add(a)
        if a in flagged:
            yield a, msg.format(name, name)


def _on_duplicate(st: _Stmt) -> Iterator[tuple[int, str]]:
    for m in st.find(r"\bON\s+DUPLICATE\s+KEY\s+UPDATE\b"):
        yield m.start(), ("StarRocks has no ON DUPLICATE KEY UPDATE: INSERT into a Primary Key table already "
                          "replaces the row with the same key; with a column list (3.3.1+) it updates only "
                          "those columns. Otherwise use UPDATE")


_TXN_SAFE = {"SELECT", "WITH", "INSERT", "UPDATE", "DELETE", "SET", "SHOW", "BEGIN", "START", "COMMIT",
             "ROLLBACK", "EXPLAIN", "DESC", "DESCRIBE", "SAVEPOINT", "RELEASE"}


def _transaction(script: _Script) -> Iterator[Hit]:
    ddl = next((st for st in script.stmts if st.verb and st.verb not in _TXN_SAFE), None)
    opened: _Stmt | None = None
    for st in script.stmts:
        if st.words[:1] == ["BEGIN"] or st.words[:2] == ["START", "TRANSACTION"]:
            opened = st
        elif st.words[:1] in (["COMMIT"], ["ROLLBACK"]):
            opened = None
        elif opened is not None and st.verb and st.verb not in _TXN_SAFE:
            yield Hit(f"statement {st.stmt.index} runs inside the transaction opened at statement "
                      f"{opened.stmt.index}: StarRocks rejects everything but SET, SELECT, SHOW and DML "
                      "there; DDL is never transactional", st.stmt.index)
    for st in script.stmts:
        words = st.words[:2]
        autocommit = st.find(r"^\s*SET\s+(?:SESSION\s+|@@)?autocommit\s*=\s*(?:0|OFF|FALSE)\b")
        if not (words[:1] in (["BEGIN"], ["COMMIT"], ["ROLLBACK"], ["SAVEPOINT"]) or words == ["START", "TRANSACTION"]
                or next(autocommit, None)):
            continue
        if ddl is not None:
            yield Hit(f"{' '.join(words) or 'transaction control'}: this script has DDL (statement "
                      f"{ddl.stmt.index}: {ddl.stmt.first_line[:60]}); DDL is never transactional, so a "
                      "transaction cannot make this migration atomic, and StarRocks rejects DDL inside one. "
                      "rockway runs each statement in autocommit and resumes at the failed statement: "
                      "remove the transaction statements", st.stmt.index)
        else:
            yield Hit(f"{' '.join(words)}: explicit transactions need StarRocks 3.5+ and cover only INSERT "
                      "(UPDATE/DELETE from 4.0); before 3.5 they are accepted and ignored. rockway runs each "
                      "statement in autocommit and records progress per statement", st.stmt.index,
                      severity="warning")


def _locking(st: _Stmt) -> Iterator[tuple[int, str]]:
    pattern = (r"^\s*(?:UN)?LOCK\s+TABLES?\b|\bFOR\s+UPDATE\b|\bLOCK\s+IN\s+SHARE\s+MODE\b|\bFOR\s+SHARE\b|"
               r"\b(?:GET_LOCK|RELEASE_LOCK|RELEASE_ALL_LOCKS|IS_FREE_LOCK|IS_USED_LOCK)\s*\(")
    for m in st.find(pattern):
        what = " ".join(m.group(0).split()).rstrip("(").upper()
        yield m.start(), (f"{what}: StarRocks has no table, row or advisory locks (it parses LOCK/UNLOCK TABLES "
                          "for client compatibility only); rockway holds its own run lock, and a Primary Key "
                          "table makes writes idempotent")


_INDEX_HINT = "StarRocks indexes are one column each: `CREATE INDEX i ON t (c) [USING BITMAP|NGRAMBF|GIN|VECTOR]`"


def _mysql_index(st: _Stmt) -> Iterator[tuple[int, str]]:
    m = re.match(rf"\s*CREATE\s+(?:(UNIQUE|FULLTEXT|SPATIAL)\s+)?INDEX\s+(IF\s+NOT\s+EXISTS\s+)?\S+\s+ON\s+{_NAME}\s*",
                 st.masked, re.I)
    if m:
        if m.group(1):
            yield 0, f"CREATE {m.group(1).upper()} INDEX is MySQL; {_INDEX_HINT} (a table's key is its uniqueness)"
        if m.group(2):
            yield 0, f"CREATE INDEX IF NOT EXISTS is not StarRocks syntax; {_INDEX_HINT}"
        if st.masked[m.end():m.end() + 1] == "(":
            cols = st.masked[m.end() + 1:_close(st.masked, m.end())]
            if "," in cols or re.search(r"\(|\b(?:ASC|DESC)\b", cols, re.I):
                yield m.end(), f"index on ({' '.join(cols.split())}): {_INDEX_HINT}"
    for a, b in st.table_elements:
        e = re.match(r"\s*(FULLTEXT|SPATIAL|KEY|INDEX)\b", st.masked[a:b], re.I)
        if e and (e.group(1).upper() != "INDEX" or re.search(r"\bUSING\s+(?:BTREE|HASH)\b", st.masked[a:b], re.I)):
            yield a, f"{e.group(1).upper()} … in the column list is a MySQL index; use `INDEX i (c) USING BITMAP`"
    for a, b in st.alter_clauses:
        e = re.match(r"\s*(ADD|DROP)\s+(FULLTEXT|SPATIAL|KEY|INDEX)\b", st.masked[a:b], re.I)
        if e and (e.group(2).upper() != "INDEX" or re.search(r"\bUSING\s+(?:BTREE|HASH)\b", st.masked[a:b], re.I)):
            yield a, f"{e.group(1).upper()} {e.group(2).upper()} is MySQL; {_INDEX_HINT} (DROP INDEX i ON t)"
    if m:
        for u in st.find(r"\bUSING\s+(BTREE|HASH)\b"):
            yield u.start(), f"USING {u.group(1).upper()}: {_INDEX_HINT}"


def _foreign_key(st: _Stmt) -> Iterator[tuple[int, str]]:
    if not (st.create_table or st.alter_table):
        return
    for m in st.find(r"\bFOREIGN\s+KEY\b|\bREFERENCES\b|(?:\bCONSTRAINT\s+\S+\s+)?\bCHECK\s*\("):
        if "CHECK" in m.group(0).upper():
            yield m.start(), "StarRocks has no CHECK constraints; remove it and test the data with a verify check"
        else:
            yield m.start(), ("StarRocks has no foreign keys; remove it (to help MV query rewrite, declare the "
                              "relation in PROPERTIES (\"foreign_key_constraints\" = \"…\"))")


def _drop_if_exists(script: _Script) -> Iterator[Hit]:
    why = {Kind.VERSIONED: "if the object is already gone (another environment, a hand fix) the migration stops",
           Kind.UNDO: "undo often runs after a migration that failed half way, when the object may not exist",
           Kind.REPEATABLE: "repeatable scripts re-run, and the first run fails when the object does not exist yet"}
    for st in script.stmts:
        m = re.match(r"\s*DROP\s+(?:TEMPORARY\s+)?(TABLE|VIEW|DATABASE|SCHEMA|MATERIALIZED\s+VIEW)\s+(?!IF\s+EXISTS\b)",
                     st.masked, re.I)
        if m:
            what = " ".join(m.group(1).upper().split())
            yield Hit(f"DROP {what} without IF EXISTS: {why[script.kind]}; write DROP {what} IF EXISTS",
                      st.stmt.index, m.start(1))


_SYNC_CLAUSES = re.compile(r"\s*(?:RENAME|SWAP|COMMENT|SET|AUTO_INCREMENT|TRUNCATE|REPLACE|"
                           r"(?:ADD|DROP)\s+(?:TEMPORARY\s+)?PARTITIONS?|MODIFY\s+PARTITION|"
                           r"MODIFY\s+COLUMN\s+\S+\s+COMMENT\b|DROP\s+ALL\s+TEMPORARY)\b", re.I)


def _repeated_alter(script: _Script) -> Iterator[Hit]:
    seen: dict[str, _Stmt] = {}
    for st in script.stmts:
        at = st.alter_table
        if at and not all(_SYNC_CLAUSES.match(st.masked[a:b]) for a, b in at.clauses):
            name = at.name
        else:
            m = re.match(rf"\s*(?:CREATE|DROP)\s+INDEX\s+\S+\s+ON\s+({_NAME})", st.masked, re.I)
            if not m:
                continue
            name = st.original(*m.span(1))
        key = re.sub(r"[`\s]", "", name).lower()
        if key in seen:
            first = seen[key].stmt
            yield Hit(f"schema change on {name} again (first at statement {first.index}, line {first.line}): "
                      "StarRocks runs one schema change per table at a time, so rockway waits for the earlier "
                      "job to finish before sending this one; they stay separate jobs, each rewriting the table. "
                      "Combine them into one ALTER TABLE where you can (e.g. ADD COLUMN (a INT, b INT); "
                      "`rockway lint --fix` merges adjacent column changes); "
                      "column, partition and rollup changes cannot share one ALTER", st.stmt.index)
        else:
            seen[key] = st


def _replication_num(st: _Stmt) -> Iterator[tuple[int, str]]:
    ct = st.create_table
    if not ct or ct.modifier or ct.like or re.search(r"""["']replication_num["']\s*=""", st.sql):
        return
    engine = next(st.find(r"\bENGINE\s*=\s*(\w+)", ct.options), None)
    if engine and engine.group(1).upper() in _ENGINES - {"OLAP"}:  # external tables keep no replicas
        return
    yield 0, (f"CREATE TABLE {ct.name} sets no \"replication_num\": it takes the cluster's "
              "default_replication_num (3 unless changed), which fails on clusters with fewer backends; set "
              "PROPERTIES (\"replication_num\" = \"…\") explicitly (a template variable per environment)")


_REPLICATION_PROPERTY = re.compile(r"""["']replication_num["']\s*=\s*["']\s*(\d+)\s*["']""", re.I)


def _replication_over_backends(script: _Script) -> Iterator[Hit]:
    # lint has no server: it compares with the environment's declared `backends` and says nothing without one;
    # `migrate up` asks the live cluster (replication.py)
    if script.backends is None:
        return
    for st in script.stmts:
        for m in _REPLICATION_PROPERTY.finditer(st.sql):
            if int(m.group(1)) > script.backends:
                yield Hit(f"\"replication_num\" = \"{m.group(1)}\" needs {m.group(1)} backends, but this environment "
                          f"declares backends = {script.backends}: StarRocks refuses the statement (each replica "
                          "needs its own backend); lower replication_num for this environment ([env.NAME.vars])",
                          st.stmt.index, m.start())


_MYSQL_TYPES = {"ENUM", "SET", "MEDIUMINT", "YEAR", "BIT", "SERIAL", "REAL", "TINYTEXT", "MEDIUMTEXT", "LONGTEXT",
                "TINYBLOB", "BLOB", "MEDIUMBLOB", "LONGBLOB", "GEOMETRY", "POINT", "LINESTRING", "POLYGON",
                "NCHAR", "NVARCHAR"}


def _mysql_type(st: _Stmt) -> Iterator[tuple[int, str]]:
    for col in st.columns:
        if col.type in _MYSQL_TYPES:
            yield col.start, (f"column {col.name}: {col.type} is a MySQL type StarRocks lacks; use VARCHAR/STRING "
                              "for text and enums, TINYINT/INT/BIGINT for numbers, VARBINARY for bytes")
        elif col.type in ("FLOAT", "DOUBLE") and col.args:
            yield col.start, f"column {col.name}: {col.type}{col.args} is MySQL; write {col.type} or DECIMAL(p, s)"
        sign = re.match(r"\s*(UNSIGNED|SIGNED|ZEROFILL)\b", col.rest, re.I)
        if sign:
            yield col.rest_start, (f"column {col.name}: {col.type} {sign.group(1).upper()} is MySQL; StarRocks "
                                   "integers are signed: use the next wider type (e.g. BIGINT for INT UNSIGNED)")


_ADD_OK = {"COLUMN", "INDEX", "PARTITION", "PARTITIONS", "TEMPORARY", "ROLLUP", "PRIMARY", "UNIQUE", "KEY",
           "CONSTRAINT", "FOREIGN", "FULLTEXT", "SPATIAL", "FIELD", "CHECK"}


def _mysql_alter(st: _Stmt) -> Iterator[tuple[int, str]]:
    for a, b in st.alter_clauses:
        words = st.clause_words((a, b))
        if words[:1] == ["ADD"] and len(words) > 1 and words[1] not in _ADD_OK:
            yield a, "ALTER TABLE … ADD needs the COLUMN keyword in StarRocks: ADD COLUMN c type"
        elif words[:1] == ["MODIFY"] and len(words) > 1 and words[1] not in ("COLUMN", "PARTITION"):
            yield a, "ALTER TABLE … MODIFY needs the COLUMN keyword in StarRocks: MODIFY COLUMN c type"
        elif words[:1] == ["CHANGE"]:
            yield a, ("CHANGE [COLUMN] is MySQL; use RENAME COLUMN a TO b (3.3.2+) and MODIFY COLUMN b type "
                      "as separate clauses")
        elif words[:1] == ["ALTER"]:
            yield a, ("ALTER [COLUMN] … SET/DROP DEFAULT is MySQL; restate the column with "
                      "MODIFY COLUMN c type DEFAULT \"v\"")
        elif words[:1] in (["ALGORITHM"], ["LOCK"]):
            yield a, f"{words[0]}= is MySQL online-DDL syntax; StarRocks rejects it (schema changes run as jobs)"


def _mysql_dml(st: _Stmt) -> Iterator[tuple[int, str]]:
    m = st.find(r"^\s*(?:INSERT\s+(?:(?:LOW_PRIORITY|DELAYED|HIGH_PRIORITY)\s+)?IGNORE|REPLACE(?:\s+INTO)?)\b")
    for hit in m:
        yield hit.start(), (f"{' '.join(hit.group(0).split()).upper()} is MySQL; INSERT into a Primary Key table "
                            "already replaces rows with the same key")
    for hit in st.find(rf"^\s*INSERT\s+INTO\s+{_NAME}\s+SET\b"):
        yield hit.start(), "INSERT … SET col = … is MySQL; write INSERT INTO t (cols) VALUES (…)"
    if st.verb in ("UPDATE", "DELETE"):
        for hit in st.find(r"\b(?:ORDER\s+BY|LIMIT)\b"):
            if _depth_at(st.masked, hit.start()) == 0:
                yield hit.start(), f"{st.verb} … {hit.group(0).upper()} is MySQL; StarRocks rejects it"
        if re.match(r"\s*DELETE\s+(?!FROM\b)\S", st.masked, re.I):
            yield 0, "multi-table DELETE t1 FROM … is MySQL; write DELETE FROM t [USING …] WHERE …"


def _empty_script(script: _Script) -> Iterator[Hit]:
    # judged on the raw text: SQL inside `{% if engine == … %}` may render to nothing on purpose
    # (migrations/V17__dev_join_indexes.sql); `migrate up`/`rollback` refuse such a script (commands.py)
    from rockway.templating import has_sql

    if script.raw is not None and not has_sql(script.raw):
        yield Hit("the script has no statements, only comments and whitespace (an unfinished `migrate new` "
                  "scaffold?): `migrate up`/`rollback` refuse it; write its SQL or delete the file", line=1)


RULES: tuple[Rule, ...] = (
    Rule("SR001", "timestamp-type", "error", "TIMESTAMP column or cast type (StarRocks has DATETIME)",
         _each(_timestamp_type)),
    Rule("SR002", "datetime-precision", "error", "DATETIME(p)/TIMESTAMP(p) precision syntax",
         _each(_datetime_precision)),
    Rule("SR003", "inline-key", "error", "PRIMARY KEY/UNIQUE in the column list or on a column; ADD/DROP PRIMARY KEY",
         _each(_inline_key)),
    Rule("SR004", "auto-increment-type", "error", "AUTO_INCREMENT on a column that is not BIGINT",
         _each(_auto_increment)),
    Rule("SR005", "on-update", "error", "ON UPDATE CURRENT_TIMESTAMP", _each(_on_update)),
    Rule("SR006", "engine", "error", "ENGINE other than a StarRocks engine (InnoDB, MyISAM, …)", _each(_engine)),
    Rule("SR007", "mysql-table-option", "error",
         "MySQL table options: non-utf8 CHARSET, COLLATE, AUTO_INCREMENT=, ROW_FORMAT=, COMMENT=, …",
         _each(_table_options)),
    Rule("SR008", "hash-comment", "error", "`#` comments (StarRocks knows only -- and /* */)", _hash_comment),
    Rule("SR009", "double-quoted-identifier", "error", "\"name\" where an identifier belongs (it is a string)",
         _each(_dq_identifier)),
    Rule("SR010", "on-duplicate-key", "error", "INSERT … ON DUPLICATE KEY UPDATE", _each(_on_duplicate)),
    Rule("SR011", "transaction-control", "error",
         "BEGIN/START TRANSACTION/COMMIT/ROLLBACK/autocommit=0 (error with DDL in the script, else warning)",
         _transaction),
    Rule("SR012", "locking", "error", "LOCK TABLES, SELECT … FOR UPDATE, GET_LOCK()", _each(_locking)),
    Rule("SR013", "mysql-index", "error",
         "MySQL indexes: UNIQUE/FULLTEXT index, USING BTREE/HASH, multi-column or prefix index, KEY in column list",
         _each(_mysql_index)),
    Rule("SR014", "foreign-key", "error", "FOREIGN KEY / REFERENCES / CHECK constraints", _each(_foreign_key)),
    Rule("SR015", "drop-if-exists", "warning", "DROP TABLE/VIEW/MATERIALIZED VIEW/DATABASE without IF EXISTS",
         _drop_if_exists),
    Rule("SR016", "repeated-alter", "warning", "several schema changes on one table in one script",
         _repeated_alter),
    Rule("SR017", "replication-num", "warning", "CREATE TABLE without \"replication_num\" in PROPERTIES",
         _each(_replication_num), requires="replicas"),
    Rule("SR018", "mysql-type", "error", "MySQL-only column types (ENUM, MEDIUMINT, LONGTEXT, INT UNSIGNED, …)",
         _each(_mysql_type)),
    Rule("SR019", "mysql-alter", "error", "MySQL ALTER TABLE syntax (ADD without COLUMN, CHANGE, ALTER COLUMN, …)",
         _each(_mysql_alter)),
    Rule("SR020", "mysql-dml", "error", "MySQL DML (INSERT IGNORE, REPLACE INTO, INSERT … SET, UPDATE/DELETE … LIMIT)",
         _each(_mysql_dml)),
    Rule("SR021", "empty-script", "error", "V or U script whose text has no statement, only comments (before templating)",
         _empty_script, frozenset({Kind.VERSIONED, Kind.UNDO})),
    Rule("SR022", "replication-over-backends", "error",
         "\"replication_num\" above the environment's declared `backends` (skipped when none is declared)",
         _replication_over_backends, requires="replicas"),
)


def rules_markdown() -> str:
    """A Markdown table of the rules, for the README."""
    lines = ["| id | name | severity | what it flags |", "|---|---|---|---|"]
    lines += [f"| {r.id} | {r.name} | {r.severity} | {r.summary.replace('|', '/')} |" for r in RULES]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------- sqlglot

_LITERALS = {TokenType.VAR, TokenType.IDENTIFIER, TokenType.STRING, TokenType.NUMBER}
# words sqlglot may drop or respell without changing the statement
_NOISE = {"AS", "ASC", "INNER", "OUTER", "NULLS", "FIRST", "LAST", "MOD", "CHARSET", "WORK", "REGEXP", "RLIKE",
          "CURRENT_TIMESTAMP", "CURRENT_DATE", "CURRENT_TIME", "CURRENT_USER", "LOCALTIME", "LOCALTIMESTAMP"}


class _Quiet(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return False


def _words(sql: str) -> Counter[str]:
    """Identifiers, literals and keywords (not function names), as sqlglot's tokenizer sees them."""
    tokens = sqlglot.tokenize(sql, read="starrocks")
    words: Counter[str] = Counter()
    for k, tok in enumerate(tokens):
        if tok.token_type == TokenType.VAR and k + 1 < len(tokens) and tokens[k + 1].token_type == TokenType.L_PAREN:
            continue  # function names get respelled (IFNULL -> COALESCE)
        text = " ".join(tok.text.upper().split())
        if text not in _NOISE and (tok.token_type in _LITERALS or re.match(r"[A-Z_]", text)):
            words[text] += 1
    return words


def sqlglot_verdict(sql: str) -> str:
    """'' when sqlglot (StarRocks dialect) fully parses `sql`, else why the statement stays unverified."""
    logger = logging.getLogger("sqlglot")
    quiet = _Quiet()
    logger.addFilter(quiet)
    try:
        trees = sqlglot.parse(sql, read="starrocks")
        trees = [t for t in trees if t is not None]
        if len(trees) != 1:
            return f"sqlglot found {len(trees)} statements here"
        tree = trees[0]
        if isinstance(tree, exp.Command) or tree.find(exp.Command):
            return "sqlglot does not know this statement (it keeps it as unparsed text)"
        lost = _words(sql) - _words(tree.sql(dialect="starrocks"))
        if lost:
            return f"sqlglot parsed only part of it (dropped {', '.join(sorted(lost)[:3])})"
        return ""
    except SqlglotError as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        return f"sqlglot cannot parse it ({first[:100]}); sqlglot also rejects some valid StarRocks"
    except Exception as err:  # noqa: BLE001 - a sqlglot bug must leave the statement unverified, not stop lint
        return f"sqlglot failed on it ({type(err).__name__})"
    finally:
        logger.removeFilter(quiet)


# ---------------------------------------------------------------------------------------- entry point


def lint_script(path: str, kind: Kind, text: str, statements: Sequence[Statement],
                rules: Sequence[Rule] = RULES, *, raw: str | None = None, backends: int | None = None,
                capabilities: Any = None) -> ScriptReport:
    """Lint one rendered script: `text` is the rendered script (for text-level rules), may be '';
    `raw` is the script before rendering, for rules that judge what was written (SR021); `capabilities`: those
    of the engine the script was rendered for (adapters.engine_capabilities), which skip the rules that `require`
    what it lacks; None: every rule applies (a StarRocks rendering)."""
    stmts: list[_Stmt] = []
    cursor = 0
    for s in statements:  # locate each statement in the text for exact line numbers
        at = text.find(s.sql, cursor) if text and s.sql else -1
        if at >= 0:
            cursor = at + len(s.sql)
        stmts.append(_Stmt(s, text.count("\n", 0, at) + 1 if at >= 0 else None))
    by_index = {st.stmt.index: st for st in stmts}
    script = _Script(path, kind, text, tuple(stmts), raw, backends)
    per_statement: dict[int, list[Finding]] = {st.stmt.index: [] for st in stmts}
    script_level: list[Finding] = []
    for rule in rules:
        if kind not in rule.kinds:
            continue
        if rule.requires and capabilities is not None and not getattr(capabilities, rule.requires):
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
