"""Split a SQL script into statements: quote-, backtick- and comment-aware, with `-- rockway:` directives.

This is the project's one SQL lexer. It is linear: a regular expression jumps to the next character that
can change the lexical state (`;`, a quote, a backtick, `--`, `/*`, `$$`, optionally `#`), and each literal
or comment is then skipped with one `find` or one anchored match. Rules (StarRocks' lexer, which
MySQL/MariaDB agree with):

* `'…'` and `"…"` are strings; a backslash escapes the next character and a doubled quote is a quote.
* `` `…` `` quotes identifiers; a doubled backtick is a backtick.
* `--` starts a comment to the end of the line (no space needed after it); `/* … */` does not nest.
* `/*+ … */` (optimizer hint) and `/*! … */` (MySQL versioned code) belong to the statement.
* `$$ … $$` is opaque (UDF bodies); `#` starts a comment only with `hash_comments=True`.

`split` gives statements: comments before a statement's first token are dropped, and so are comments after
its last token; comments inside a statement are kept. `-- rockway:key=value` / `-- rockway:flag` comments
before a statement become its `directives`. `segments` gives the lexical spans themselves, for readers that
look inside statements (lint, statement classification), and `masked` blanks them out; `comma_spans` splits a
masked statement's column list or clause list on its top-level commas.
"""

from __future__ import annotations

import re
from typing import Iterable, Iterator, Literal, NamedTuple

from rockway.model import Statement

__all__ = ["SplitError", "split", "parse_directive", "Segment", "segments", "masked", "comma_spans",
           "SINGLE_QUOTED", "DOUBLE_QUOTED", "QUOTED_STRING", "BACKTICKED"]

# The literal syntax as regular-expression source, for patterns that step over literals (redaction.py).
# The lexer matches the same syntax possessively: both agree on every terminated literal, and a literal
# the lexer calls unterminated (`'a''`) never ends at the first quote of a doubled pair.
SINGLE_QUOTED = r"'(?:[^'\\]|\\.|'')*'"
DOUBLE_QUOTED = r'"(?:[^"\\]|\\.|"")*"'
QUOTED_STRING = f"{SINGLE_QUOTED}|{DOUBLE_QUOTED}"
BACKTICKED = r"`(?:[^`]|``)*`"

_SPECIAL = re.compile(r"[;'\"`]|--|/\*|\$\$")
_SPECIAL_HASH = re.compile(r"[;'\"`#]|--|/\*|\$\$")
_NONSPACE = re.compile(r"\S")
_NOT_NEWLINE = re.compile(r"[^\n]")
_SINGLE_BODY = re.compile(r"(?:[^'\\]++|\\.|'')*+'", re.S)
_DOUBLE_BODY = re.compile(r'(?:[^"\\]++|\\.|"")*+"', re.S)
_BACKTICK_BODY = re.compile(r"(?:[^`]++|``)*+`")
_DIRECTIVE = re.compile(r"rockway:\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*(?:=\s*(.*?))?\s*")
_IDENT_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_$")
_WHAT = {"'": "string literal", '"': "string literal", "`": "quoted identifier"}
_NESTING = re.compile(r"[,()\[\]<>]")
_TYPE_BRACKET_OPEN = re.compile(r"\b(?:ARRAY|MAP|STRUCT)\s*$", re.I)  # ARRAY<…>, MAP<…, …>, STRUCT<a T, b T>

SegmentKind = Literal["string", "identifier", "comment", "hint", "dollar_quoted", "semicolon"]


class SplitError(ValueError):
    """A script cannot be split: an unterminated literal, comment or malformed directive."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class Segment(NamedTuple):
    """One lexical span, `text[start:end]`: a literal, quoted identifier, comment, hint, `$$` block or `;`.

    `comment` covers `--`, `#` and `/* */` comments; `hint` is `/*+ … */` or `/*! … */`.
    """

    kind: SegmentKind
    start: int
    end: int
    closed: bool = True  # False: unterminated, cut at the end of the text (only with strict=False)


def parse_directive(comment: str) -> tuple[str, str] | None:
    """Parse the text after `--` of a `rockway:` comment into (key, value); None if it is no directive."""
    body = comment.strip()
    if not body.startswith("rockway:"):
        return None
    match = _DIRECTIVE.fullmatch(body)
    if match is None:
        raise ValueError(f"malformed directive {('--' + comment).strip()!r}; write -- rockway:key=value or -- rockway:flag")
    key, value = match.group(1), match.group(2)
    return key, ("true" if value is None else value)


def segments(sql: str, *, hash_comments: bool = False, strict: bool = True) -> Iterator[Segment]:
    """The lexical spans of `sql`, in order (see the module docstring); the text between them is plain code.

    strict: an unterminated literal, comment or `$$` block raises SplitError; else its segment runs to the end.
    """
    text = sql
    size = len(text)
    special = _SPECIAL_HASH if hash_comments else _SPECIAL
    pos = 0
    while True:
        match = special.search(text, pos)
        if match is None:
            return
        at, after = match.start(), match.end()
        char = text[at]
        kind: SegmentKind
        if char == ";":
            yield Segment("semicolon", at, after)
            pos = after
            continue
        if char in "'\"`":
            kind = "identifier" if char == "`" else "string"
            body = (_SINGLE_BODY if char == "'" else _DOUBLE_BODY if char == '"' else _BACKTICK_BODY).match(text, after)
            end = -1 if body is None else body.end()
            what = f"{_WHAT[char]} starting with {char}"
        elif char == "/":  # /* … */
            kind = "hint" if after < size and text[after] in "+!" else "comment"
            close = text.find("*/", after)
            end = -1 if close < 0 else close + 2
            what = "/* comment"
        elif char == "$":  # $$ … $$, unless the $$ continues an identifier
            if at > 0 and text[at - 1] in _IDENT_CHARS:
                pos = after
                continue
            kind = "dollar_quoted"
            close = text.find("$$", after)
            end = -1 if close < 0 else close + 2
            what = "$$ block"
        else:  # -- or # comment to the end of the line
            kind = "comment"
            newline = text.find("\n", after)
            end = size if newline < 0 else newline
        if end < 0:
            if strict:
                raise SplitError(f"unterminated {what}", text.count("\n", 0, at) + 1)
            yield Segment(kind, at, size, False)
            return
        yield Segment(kind, at, end)
        pos = end


def masked(sql: str, *, keep_quotes: bool = False, hash_comments: bool = False,
           lexed: Iterable[Segment] | None = None) -> str:
    """`sql` with literals, quoted identifiers, comments, hints and `$$` blocks blanked: same length, newlines kept.

    Unterminated spans are blanked to the end (never an error). keep_quotes: keep the quotes of literals and
    identifiers and blank what is between them. lexed: the segments of `sql` (strict=False), when already at hand.
    """
    spans = segments(sql, hash_comments=hash_comments, strict=False) if lexed is None else lexed
    out: list[str] = []
    pos = 0
    for seg in spans:
        if seg.kind == "semicolon":
            continue
        start, end = seg.start, seg.end
        if keep_quotes and seg.kind in ("string", "identifier"):
            start += 1
            if seg.closed:
                end -= 1
        out.append(sql[pos:start])
        out.append(_NOT_NEWLINE.sub(" ", sql[start:end]))
        pos = end
    out.append(sql[pos:])
    return "".join(out)


def comma_spans(masked_sql: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """(start, end) of each piece of masked_sql[start:end] between top-level commas, in order and as they are
    (not trimmed; empty pieces kept): a column list's elements, an ALTER TABLE's clauses.

    Top level is outside `(…)`, `[…]` (range partition bounds: `VALUES [("a"), ("b"))`) and the type brackets of
    ARRAY<…>, MAP<…> and STRUCT<…>. `masked_sql` is `masked` text, so commas inside literals, quoted names and
    comments are blanks already.
    """
    end = len(masked_sql) if end is None else end
    pieces: list[tuple[int, int]] = []
    depth = types = 0
    begin = start
    for found in _NESTING.finditer(masked_sql, start, end):
        char, at = found.group(), found.start()
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char == "<":
            if _TYPE_BRACKET_OPEN.search(masked_sql, max(0, at - 16), at):
                types += 1
        elif char == ">":
            types = max(0, types - 1)
        elif depth == 0 and types == 0:  # a comma
            pieces.append((begin, at))
            begin = at + 1
    pieces.append((begin, end))
    return pieces


def split(sql: str, *, hash_comments: bool = False) -> list[Statement]:
    """Split a script into statements (see the module docstring for the rules)."""
    if "\r" in sql:
        sql = sql.replace("\r\n", "\n").replace("\r", "\n")
    text = sql
    out: list[Statement] = []
    directives: list[tuple[str, str]] = []
    start = -1  # offset of the statement's first kept character, -1 before its first token
    code_end = 0  # offset just after the statement's last token
    pos = 0  # offset just after the last segment
    counted_to = 0  # newline counting is incremental, so line numbers stay linear overall
    counted_line = 1

    def line_at(offset: int) -> int:
        nonlocal counted_to, counted_line
        if offset < counted_to:
            return text.count("\n", 0, offset) + 1
        counted_line += text.count("\n", counted_to, offset)
        counted_to = offset
        return counted_line

    def plain(upto: int) -> None:
        nonlocal start, code_end
        if upto <= pos:
            return
        if start < 0:
            first = _NONSPACE.search(text, pos, upto)
            if first is None:
                return
            start = first.start()
        stripped = text[pos:upto].rstrip()
        if stripped:
            code_end = pos + len(stripped)

    def finish() -> None:
        nonlocal start, directives
        if start >= 0:
            out.append(Statement(index=len(out) + 1, sql=text[start:code_end], line=line_at(start),
                                 directives=tuple(directives)))
        start = -1
        directives = []

    for seg in segments(text, hash_comments=hash_comments):
        plain(seg.start)
        if seg.kind == "semicolon":
            finish()
        elif seg.kind != "comment":  # literals, identifiers, hints and $$ blocks are tokens of the statement
            if start < 0:
                start = seg.start
            code_end = seg.end
        elif start < 0 and text.startswith("--", seg.start):
            try:
                directive = parse_directive(text[seg.start + 2:seg.end])
            except ValueError as exc:
                raise SplitError(str(exc), line_at(seg.start)) from None
            if directive is not None:
                directives.append(directive)
        pos = seg.end
    plain(len(text))
    finish()
    return out
