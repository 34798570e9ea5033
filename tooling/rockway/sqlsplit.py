"""Split a SQL script into statements: quote-, backtick- and comment-aware, with `-- rockway:` directives.

The scanner is linear: a regular expression jumps to the next character that can change the lexical
state (`;`, a quote, a backtick, `--`, `/*`, `$$`, optionally `#`), and each literal or comment is then
skipped with one `find` or one anchored match. Rules (StarRocks' lexer, which MySQL/MariaDB agree with):

* `'…'` and `"…"` are strings; a backslash escapes the next character and a doubled quote is a quote.
* `` `…` `` quotes identifiers; a doubled backtick is a backtick.
* `--` starts a comment to the end of the line (no space needed after it); `/* … */` does not nest.
* `/*+ … */` (optimizer hint) and `/*! … */` (MySQL versioned code) belong to the statement.
* `$$ … $$` is opaque (UDF bodies); `#` starts a comment only with `hash_comments=True`.

Comments before a statement's first token are dropped, and so are comments after its last token;
comments inside a statement are kept. `-- rockway:key=value` / `-- rockway:flag` comments before a
statement become its `directives`.
"""

from __future__ import annotations

import re

from rockway.model import Statement

__all__ = ["SplitError", "split", "parse_directive"]

_SPECIAL = re.compile(r"[;'\"`]|--|/\*|\$\$")
_SPECIAL_HASH = re.compile(r"[;'\"`#]|--|/\*|\$\$")
_NONSPACE = re.compile(r"\S")
_SINGLE_BODY = re.compile(r"(?:[^'\\]++|\\.|'')*+'", re.S)
_DOUBLE_BODY = re.compile(r'(?:[^"\\]++|\\.|"")*+"', re.S)
_BACKTICK_BODY = re.compile(r"(?:[^`]++|``)*+`")
_DIRECTIVE = re.compile(r"rockway:\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*(?:=\s*(.*?))?\s*")
_IDENT_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_$")
_WHAT = {"'": "string literal", '"': "string literal", "`": "quoted identifier"}


class SplitError(ValueError):
    """A script cannot be split: an unterminated literal, comment or malformed directive."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


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


def split(sql: str, *, hash_comments: bool = False) -> list[Statement]:
    """Split a script into statements (see the module docstring for the rules)."""
    if "\r" in sql:
        sql = sql.replace("\r\n", "\n").replace("\r", "\n")
    text = sql
    size = len(text)
    special = _SPECIAL_HASH if hash_comments else _SPECIAL
    out: list[Statement] = []
    directives: list[tuple[str, str]] = []
    start = -1  # offset of the statement's first kept character, -1 before its first token
    code_end = 0  # offset just after the statement's last token
    pos = 0
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

    def token(begin: int, end: int) -> None:
        nonlocal start, code_end
        if start < 0:
            start = begin
        code_end = end

    def finish() -> None:
        nonlocal start, directives
        if start >= 0:
            out.append(Statement(index=len(out) + 1, sql=text[start:code_end], line=line_at(start),
                                 directives=tuple(directives)))
        start = -1
        directives = []

    while True:
        match = special.search(text, pos)
        if match is None:
            plain(size)
            finish()
            return out
        at, after = match.start(), match.end()
        plain(at)
        char = text[at]
        if char == ";":
            finish()
            pos = after
        elif char in "'\"`":
            body = (_SINGLE_BODY if char == "'" else _DOUBLE_BODY if char == '"' else _BACKTICK_BODY).match(text, after)
            if body is None:
                raise SplitError(f"unterminated {_WHAT[char]} starting with {char}", line_at(at))
            token(at, body.end())
            pos = body.end()
        elif char == "/":  # /* … */
            close = text.find("*/", after)
            if close < 0:
                raise SplitError("unterminated /* comment", line_at(at))
            if after < size and text[after] in "+!":
                token(at, close + 2)
            pos = close + 2
        elif char == "$":  # $$ … $$, unless the $$ continues an identifier
            if at > 0 and text[at - 1] in _IDENT_CHARS:
                token(at, after)
                pos = after
                continue
            close = text.find("$$", after)
            if close < 0:
                raise SplitError("unterminated $$ block", line_at(at))
            token(at, close + 2)
            pos = close + 2
        else:  # -- or # comment to the end of the line
            newline = text.find("\n", after)
            end = size if newline < 0 else newline
            if start < 0 and char == "-":
                try:
                    directive = parse_directive(text[after:end])
                except ValueError as exc:
                    raise SplitError(str(exc), line_at(at)) from None
                if directive is not None:
                    directives.append(directive)
            pos = end
