"""SQL and error-message redaction for telemetry and logs: literals become `?`, no OpenTelemetry here.

`describe_sql(sql)` gives the operation (`CREATE TABLE`), the target collection and the redacted text
from one pass of sqlglot's tokenizer (imported lazily, cached per statement); `redact_message` and
`redact_exception` strip quoted values from server messages, which echo literals back.
`rockway.telemetry` re-exports all of these.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

MAX_QUERY_TEXT_LENGTH = 8192  # redacted text longer than this is cut (multi-row VALUES can be huge)


_LITERAL_TOKENS = frozenset(
    {
        "STRING", "NUMBER", "NATIONAL_STRING", "NATIONAL_RAW_STRING", "HEX_STRING", "BIT_STRING",
        "BYTE_STRING", "RAW_STRING", "HEREDOC_STRING", "UNICODE_STRING",
    }
)
_BOOLEAN_TOKENS = frozenset({"TRUE", "FALSE"})
_NAME_TOKENS = frozenset({"VAR", "IDENTIFIER"})
_WORD_RE = re.compile(r"[A-Za-z_]+")
_SPACE_RE = re.compile(r"\s+")

# Verbs followed by an object phrase (`CREATE MATERIALIZED VIEW`); other verbs stand alone.
_COMPOUND_VERBS = frozenset(
    {
        "CREATE", "ALTER", "DROP", "TRUNCATE", "REFRESH", "CANCEL", "ANALYZE", "SHOW", "BACKUP", "RESTORE",
        "RECOVER", "SUBMIT", "PAUSE", "RESUME", "STOP", "SET", "ADMIN", "INSTALL", "UNINSTALL",
    }
)
_OBJECT_PHRASES: tuple[tuple[str, ...], ...] = tuple(
    sorted(
        (
            tuple(p.split())
            for p in (
                "TABLE", "VIEW", "MATERIALIZED VIEW", "DATABASE", "SCHEMA", "USER", "ROLE", "CATALOG",
                "EXTERNAL CATALOG", "EXTERNAL TABLE", "EXTERNAL RESOURCE", "RESOURCE", "RESOURCE GROUP",
                "FUNCTION", "GLOBAL FUNCTION", "INDEX", "ROUTINE LOAD", "REPOSITORY", "PIPE", "STORAGE VOLUME",
                "FILE", "TASK", "SNAPSHOT", "DICTIONARY", "WAREHOUSE", "PARTITION", "TEMPORARY PARTITION",
                "ALTER TABLE", "ALTER TABLE COLUMN", "ALTER TABLE ROLLUP", "ALTER TABLE OPTIMIZE",
                "ALTER MATERIALIZED VIEW", "CREATE TABLE", "CREATE VIEW", "CREATE MATERIALIZED VIEW",
                "CREATE DATABASE", "TABLES", "DATABASES", "PARTITIONS", "LOAD", "BACKUP", "RESTORE",
                "ROLES", "USERS", "CATALOGS", "GRANTS", "VARIABLES", "PROCESSLIST", "DATA", "COLUMNS",
                "MATERIALIZED VIEWS", "BACKENDS", "FRONTENDS", "STATS", "PASSWORD", "DEFAULT ROLE",
            )
        ),
        key=len,
        reverse=True,
    )
)
_MODIFIERS: tuple[tuple[str, ...], ...] = (("OR", "REPLACE"), ("TEMPORARY",), ("TEMP",), ("FULL",))
_ALIASES = {"WITH": "SELECT", "DESC": "DESCRIBE"}
# Operations whose object is a table-like collection worth naming in db.collection.name.
_COLLECTION_VERBS = frozenset({"CREATE", "ALTER", "DROP", "TRUNCATE", "REFRESH", "ANALYZE", "RECOVER"})
_COLLECTION_OBJECTS = frozenset({("TABLE",), ("VIEW",), ("MATERIALIZED", "VIEW"), ("EXTERNAL", "TABLE")})
_DML_VERBS = frozenset({"INSERT", "UPDATE", "DELETE", "UPSERT"})
_SKIP_BEFORE_NAME = frozenset({"IF", "NOT", "EXISTS", "INTO", "OVERWRITE", "FROM"})


def _leading_words(sql: str, limit: int = 8) -> list[str]:
    """Upper-cased leading bare words of sql, skipping whitespace, comments and opening parens."""
    words: list[str] = []
    i, n = 0, len(sql)
    while i < n and len(words) < limit:
        c = sql[i]
        if c.isspace() or (c == "(" and not words):
            i += 1
        elif sql.startswith("--", i) or c == "#":
            j = sql.find("\n", i)
            i = n if j < 0 else j + 1
        elif sql.startswith("/*", i):
            j = sql.find("*/", i + 2)
            i = n if j < 0 else j + 2
        else:
            m = _WORD_RE.match(sql, i)
            if not m:
                break
            words.append(m.group().upper())
            i = m.end()
    return words


def _operation(words: list[str]) -> tuple[str, int, tuple[str, ...]]:
    """(operation name, words consumed, object phrase) for the leading words of a statement."""
    if not words:
        return "", 0, ()
    verb = _ALIASES.get(words[0], words[0])
    if verb not in _COMPOUND_VERBS:
        return verb, 1, ()
    pos = 1
    for modifier in _MODIFIERS:
        if tuple(words[pos : pos + len(modifier)]) == modifier:
            pos += len(modifier)
    for phrase in _OBJECT_PHRASES:
        if tuple(words[pos : pos + len(phrase)]) == phrase:
            return " ".join((verb, *phrase)), pos + len(phrase), phrase
    return verb, 1, ()


def operation_name(sql: str) -> str:
    """The statement's operation, e.g. `CREATE TABLE`, `INSERT`, `REFRESH MATERIALIZED VIEW` ('' if none)."""
    return _operation(_leading_words(sql))[0]


@dataclass(frozen=True)
class SqlSummary:
    """What telemetry may say about one statement."""

    operation: str  # db.operation.name ('' when unknown)
    collection: str | None  # db.collection.name
    text: str  # db.query.text: literals replaced by `?`, comments dropped, whitespace collapsed


def _tokenize(sql: str) -> list[Any]:
    from sqlglot.dialects.starrocks import StarRocks  # imported lazily: sqlglot is slow to import

    return StarRocks().tokenize(sql)


def _collection(tokens: list[Any], words: list[str]) -> str | None:
    operation, consumed, phrase = _operation(words)
    verb = operation.split(" ", 1)[0]
    if not (verb in _DML_VERBS or (verb in _COLLECTION_VERBS and phrase in _COLLECTION_OBJECTS)):
        return None
    i, seen = 0, 0
    while i < len(tokens) and seen < consumed:  # step over the tokens that spelled the operation
        seen += len(tokens[i].text.split()) or 1
        i += 1
    while i < len(tokens) and tokens[i].text.upper() in _SKIP_BEFORE_NAME:
        i += 1
    parts: list[str] = []
    while i < len(tokens):
        tok = tokens[i]
        if tok.token_type.name not in _NAME_TOKENS and not _WORD_RE.fullmatch(tok.text):
            break
        parts.append(tok.text)
        if i + 1 < len(tokens) and tokens[i + 1].token_type.name == "DOT":
            i += 2
            continue
        break
    return ".".join(parts) if parts else None


def _rebuild(sql: str, tokens: list[Any]) -> str:
    out: list[str] = []
    prev_end = -1
    n = len(tokens)
    i = 0
    pending_gap = False
    while i < n:
        tok = tokens[i]
        kind = tok.token_type.name
        if kind == "HASH":  # MySQL-style `#` line comment: drop the rest of the line
            eol = sql.find("\n", tok.start)
            eol = len(sql) if eol < 0 else eol
            while i < n and tokens[i].start < eol:
                i += 1
            pending_gap, prev_end = True, eol
            continue
        if kind == "HINT":  # `/*+ ... */` optimizer hints are comments for telemetry purposes
            pending_gap, prev_end = True, tok.end
            i += 1
            continue
        gap = pending_gap or (prev_end >= 0 and tok.start > prev_end + 1)
        if out and gap:
            out.append(" ")
        pending_gap = False
        if kind == "IN" and i + 2 < n and tokens[i + 1].token_type.name == "L_PAREN":
            j = i + 2  # collapse `IN (1, 2, 3)` to `IN (?)`
            while j < n and (tokens[j].token_type.name in _LITERAL_TOKENS or tokens[j].token_type.name == "COMMA"):
                j += 1
            if j > i + 2 and j < n and tokens[j].token_type.name == "R_PAREN":
                out.append(_SPACE_RE.sub(" ", sql[tok.start : tok.end + 1]) + " (?)")
                prev_end = tokens[j].end
                i = j + 1
                continue
        if kind in _LITERAL_TOKENS:
            out.append("?")
        elif kind in _BOOLEAN_TOKENS and not (i and tokens[i - 1].token_type.name in ("IS", "NOT")):
            out.append("?")
        else:
            out.append(_SPACE_RE.sub(" ", sql[tok.start : tok.end + 1]))
        prev_end = tok.end
        i += 1
    text = "".join(out)
    if len(text) > MAX_QUERY_TEXT_LENGTH:
        text = text[:MAX_QUERY_TEXT_LENGTH] + " …"
    return text


@functools.lru_cache(maxsize=1024)
def describe_sql(sql: str) -> SqlSummary:
    """Operation, target collection and redacted text of one statement, from one tokenizer pass (cached)."""
    words = _leading_words(sql)
    operation = _operation(words)[0]
    try:
        tokens = _tokenize(sql)
    except Exception:  # unterminated quote, unknown character … : say only what the statement does
        return SqlSummary(operation, None, f"{operation} ?" if operation else "?")
    return SqlSummary(operation, _collection(tokens, words), _rebuild(sql, tokens))


def redact_sql(sql: str) -> str:
    """sql with every literal replaced by `?`, comments dropped and whitespace collapsed.

    Identifiers keep their spelling. StarRocks treats double-quoted text as a string, so it is
    redacted too. If the tokenizer rejects the text, only the operation name and ` ?` remain.
    """
    return describe_sql(sql).text


def collection_name(sql: str) -> str | None:
    """The target table of CREATE/ALTER/DROP/TRUNCATE/REFRESH/INSERT/UPDATE/DELETE, when easy to find."""
    try:
        tokens = _tokenize(sql)
    except Exception:
        return None
    return _collection(tokens, _leading_words(sql))


_NEAR_RE = re.compile(r"(near\s+)(['\"]).*\2(\s+at\s+line)", re.IGNORECASE | re.DOTALL)
_QUOTED_RE = re.compile(r"'(?:[^'\\]|\\.|'')*'|\"(?:[^\"\\]|\\.|\"\")*\"", re.DOTALL)


def redact_message(text: str) -> str:
    """A server or exception message with quoted values replaced by `?` (servers echo literals)."""
    text = _NEAR_RE.sub(r"\1?\3", text)
    text = _QUOTED_RE.sub("?", text)
    stray = re.search(r"['\"]", text)
    if stray:  # an unbalanced quote: everything after it might be a literal
        text = text[: stray.start()] + "?"
    return text


def _error_code(exc: BaseException) -> int | None:
    """A database error number, when exc carries one (rockway DatabaseError, PyMySQL errors)."""
    if isinstance(exc, OSError):
        return None
    code = getattr(exc, "errno", None)
    if isinstance(code, int) and not isinstance(code, bool):
        return code
    args = getattr(exc, "args", ())
    if len(args) >= 2 and isinstance(args[0], int) and not isinstance(args[0], bool) and isinstance(args[1], str):
        return args[0]
    return None


def _exception_message(exc: BaseException) -> str:
    message = getattr(exc, "message", None)
    if isinstance(message, str):
        return message
    args = getattr(exc, "args", ())
    if len(args) == 2 and isinstance(args[0], int) and isinstance(args[1], str):
        return f"({args[0]}) {args[1]}"
    try:
        return str(exc)
    except Exception:
        return ""


def redact_exception(exc: BaseException) -> str:
    """The exception's message with quoted values replaced by `?`."""
    return redact_message(_exception_message(exc))


def _type_name(exc: BaseException) -> str:
    cls = type(exc)
    return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"


def error_type(exc: BaseException) -> str:
    """The `error.type` of exc: the database error number if any, else the exception class."""
    code = _error_code(exc)
    return str(code) if code is not None else _type_name(exc)
