"""What lint rules read and yield: a script's statements with literals and comments blanked (sqlsplit.masked),
their line mapping and the pieces of CREATE/ALTER TABLE, and `Hit`, one thing a rule found.

Rules match text with string literals, quoted identifiers and comments blanked out, so nothing inside a string
or comment triggers them.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from functools import cached_property
from typing import Iterator

from rockway import sqlsplit
from rockway.lint.report import Severity
from rockway.model import Kind, Statement

_NAME_PART = r'(?:`[^`]*`|"[^"]*"|[A-Za-z_$][\w$]*)'
NAME = rf"{_NAME_PART}(?:\s*\.\s*{_NAME_PART})*"  # a possibly qualified object name, as a pattern


def hash_comment_offsets(text: str) -> list[int]:
    """Offsets of the `#` comments in text (StarRocks has none: SR008 flags them)."""
    return [seg.start for seg in sqlsplit.segments(text, hash_comments=True, strict=False)
            if seg.kind == "comment" and text[seg.start] == "#"]


# `[` opens like `(`: StarRocks range bounds read `VALUES [("a"), ("b"))`
def close_paren(masked: str, i: int) -> int:
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


def _pieces(masked: str, a: int, b: int) -> list[tuple[int, int]]:
    """The top-level comma-separated pieces of masked[a:b] (sqlsplit.comma_spans), each without its leading
    blanks; blank pieces dropped."""
    return [(x + len(masked[x:y]) - len(masked[x:y].lstrip()), y) for x, y in sqlsplit.comma_spans(masked, a, b)
            if masked[x:y].strip()]


def depth_at(masked: str, pos: int) -> int:
    """Parenthesis and bracket depth at `pos` of a masked text."""
    head = masked[:pos]
    return head.count("(") + head.count("[") - head.count(")") - head.count("]")


@dataclass(frozen=True)
class Column:
    start: int  # offset of the column name
    name: str  # as written, without backticks
    type: str  # upper-case type name
    args: str  # "(…)" after the type, or ""
    rest: str  # masked text after the type
    rest_start: int


@dataclass(frozen=True)
class CreateTable:
    name: str
    modifier: str  # "", "TEMPORARY" or "EXTERNAL"
    elements: tuple[tuple[int, int], ...]  # column-list entries
    options: tuple[int, int]  # what follows the column list, up to the query of a CTAS
    like: bool


@dataclass(frozen=True)
class AlterTable:
    name: str
    clauses: tuple[tuple[int, int], ...]


_COLUMN_RE = re.compile(rf"\s*(?P<name>{_NAME_PART})\s+(?P<type>[A-Za-z_]\w*)\s*(?P<args>\([^()]*\))?", re.S)
_CONSTRAINT_WORDS = {"PRIMARY", "UNIQUE", "KEY", "INDEX", "CONSTRAINT", "FOREIGN", "FULLTEXT", "SPATIAL"}
_NOT_TYPES = {"COMMENT", "ADD", "DROP", "SET", "FIRST", "AFTER"}


class LintStatement:
    """One statement with its masked text, line mapping and lazily parsed DDL pieces."""

    def __init__(self, stmt: Statement, sql_line: int | None = None) -> None:
        """`sql_line` is the script line where `stmt.sql` starts, when known from the script text."""
        self.stmt = stmt
        self.sql = stmt.sql
        lexed = list(sqlsplit.segments(stmt.sql, hash_comments=True, strict=False))
        # same length as the text: literal and identifier contents blanked (quotes kept), comments blanked
        self.masked = sqlsplit.masked(stmt.sql, keep_quotes=True, lexed=lexed)
        self.dquotes = tuple((seg.start, seg.end) for seg in lexed if stmt.sql[seg.start] == '"')  # with the quotes
        self.hashes = tuple(seg.start for seg in lexed if seg.kind == "comment" and stmt.sql[seg.start] == "#")
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
    def create_table(self) -> CreateTable | None:
        """The pieces of a CREATE TABLE statement."""
        m = re.match(rf"\s*CREATE\s+(?:(TEMPORARY|EXTERNAL)\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?({NAME})\s*",
                     self.masked, re.I)
        if not m:
            return None
        pos, elements = m.end(), []
        if pos < len(self.masked) and self.masked[pos] == "(":
            close = close_paren(self.masked, pos)
            elements = _pieces(self.masked, pos + 1, close)
            pos = close + 1
        end = len(self.masked)
        for q in re.finditer(r"\bAS\s*(?:SELECT|WITH|\()", self.masked[pos:], re.I):
            if depth_at(self.masked, pos + q.start()) == 0:
                end = pos + q.start()
                break
        like = any(depth_at(self.masked, q.start()) == 0
                   for q in re.compile(r"\bLIKE\b", re.I).finditer(self.masked, pos, end))
        return CreateTable(self.original(*m.span(2)), (m.group(1) or "").upper(), tuple(elements), (pos, end), like)

    @cached_property
    def alter_table(self) -> AlterTable | None:
        """The name and clauses of an ALTER TABLE statement."""
        m = re.match(rf"\s*ALTER\s+TABLE\s+({NAME})\s*", self.masked, re.I)
        if not m:
            return None
        return AlterTable(self.original(*m.span(1)), tuple(_pieces(self.masked, m.end(), len(self.masked))))

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
                found.extend(_pieces(self.masked, inner + 1, close_paren(self.masked, inner)))
            else:
                found.append((inner, b))
        return found

    @cached_property
    def columns(self) -> list[Column]:
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
            cols.append(Column(m.start("name"), name, m.group("type").upper(), m.group("args") or "",
                                self.masked[m.end():b], m.end()))
        return cols



@dataclass(frozen=True)
class LintScript:
    """One rendered script as the rules see it."""

    path: str
    kind: Kind
    text: str
    stmts: tuple[LintStatement, ...]
    raw: str | None = None  # the script before rendering, when known
    backends: int | None = None  # backends the environment declares (Settings.backends); None: not declared


@dataclass(frozen=True)
class Hit:
    """What a rule check yields: a statement (None = script level), an offset or line, a message."""

    message: str
    index: int | None = None
    offset: int = 0
    line: int | None = None
    severity: Severity | None = None
