"""What telemetry may say about one SQL statement: its operation, target collection and redacted text.

`describe_sql(sql)` gives the operation (`CREATE TABLE`), the target collection and the text with every
literal replaced by `?`, comments dropped and whitespace collapsed, from one pass of a tokenizer over
sqlsplit's segments (cached per statement). Values in secret positions are masked first (redaction.py).
No OpenTelemetry here.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from rockway.observability.redaction import redact_secrets, unwrap_executable_comments
from rockway.sqlsplit import segments

MAX_QUERY_TEXT_LENGTH = 8192  # redacted text longer than this is cut (multi-row VALUES can be huge)


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
    return _operation(_leading_words(unwrap_executable_comments(sql)))[0]


@dataclass(frozen=True)
class SqlSummary:
    """What telemetry may say about one statement."""

    operation: str  # db.operation.name ('' when unknown)
    collection: str | None  # db.collection.name
    text: str  # db.query.text: literals replaced by `?`, comments dropped, whitespace collapsed


# A token of a statement, as far as telemetry tells them apart: (kind, start, end, text), end exclusive. Kinds:
# literal, word, name (a quoted identifier; its text unquoted), punct, hint (`/*+ … */` after SELECT, INSERT …).
# Tuples, not a NamedTuple: a long statement has thousands of them.
_Token = tuple[str, int, int, str]

_SINGLES = r"!\"#%&'()*+,\-./:;<=>?@\[\\\]^`{|}~"  # one-character tokens; a word ends at any of them
# Code between literals and comments: a plain number | a number's first digit (read by `_number`) | a single | a word
_CODE = re.compile(rf"(?P<literal>\d+(?=\s|[{_SINGLES.replace('.', '')}]|\Z))|(?P<digit>\d)|(?P<punct>[{_SINGLES}])"
                   rf"|(?P<word>[^\s{_SINGLES}]+)")
_NAME_END = re.compile(rf"[\s{_SINGLES}]")
_DIGITS = frozenset("0123456789")
_STRING_PREFIXES = {"x": 16, "X": 16, "b": 2, "B": 2, "n": 0, "N": 0}  # X'…' hex, B'…' bits, N'…' national
_HINTED = frozenset({"SELECT", "INSERT", "DELETE", "UPDATE"})  # words an optimizer hint may follow
# A statement opening with one of these is a command: the rest of it is one literal (`BACKUP ?`).
_COMMAND = re.compile(
    r"(?:ADD\s+(?:BACKEND|COMPUTE\s+NODE|SQL\s+DIGEST)\s+BLACKLIST|ADD\s+SQLBLACKLIST"
    r"|DELETE\s+(?:BACKEND|COMPUTE\s+NODE|SQL\s+DIGEST)\s+BLACKLIST|DELETE\s+SQLBLACKLIST|LOCK\s+TABLES"
    r"|UNLOCK\s+TABLES|TRANSLATE\s+TRINO|ADMIN|BACKUP|CALL|CANCEL|DEALLOCATE|EXECUTE|EXPORT|FETCH|INSTALL"
    r"|OPTIMIZE|PAUSE|PREPARE|RECOVER|RELEASE|RENAME|REPLACE|RESTORE|RESUME|SAVEPOINT|STOP|SUBMIT|UNINSTALL"
    rf"|VACUUM)(?=\s|[{_SINGLES}]|\Z)",
    re.IGNORECASE,
)


def _name_end(sql: str, i: int, end: int) -> int:
    """Where the run of name characters from sql[i] ends (at whitespace, a single or `end`)."""
    match = _NAME_END.search(sql, i, end)
    return end if match is None else match.start()


def _number(sql: str, i: int, end: int, tokens: list[_Token]) -> _Token:
    """The number (or hex/bit literal, or name starting with a digit) at sql[i], a digit, as the old tokenizer
    read it: `1e5`, `1.5e-3`, `1.` and `1e` are numbers, `1abc` a name, `0x1F` a literal, `0xZZ` a name."""
    if sql[i] == "0" and i + 1 < end and sql[i + 1] in "xXbB":
        stop = _name_end(sql, i, end)
        try:
            int(sql[i:stop], 16 if sql[i + 1] in "xX" else 2)
        except ValueError:
            return ("name", i, stop, sql[i:stop])
        return ("literal", i, stop, sql[i:stop])
    stop, decimal, scientific = i + 1, False, 0
    while stop < end:
        c = sql[stop]
        if c in _DIGITS:
            stop += 1
        elif c == "." and not decimal and not (tokens and tokens[-1][3] == "@"):  # `@1.5`: a parameter's dot
            decimal, stop = True, stop + 1
        elif c in "+-" and scientific == 1:
            if stop + 1 < end and sql[stop + 1] in _DIGITS:
                scientific, stop = 2, stop + 1
            else:
                break
        elif c in "eE" and not scientific:
            scientific, stop = 1, stop + 1
        elif c.isidentifier():
            stop = _name_end(sql, stop, end)
            return ("word", i, stop, sql[i:stop])
        else:
            break
    return ("literal", i, stop, sql[i:stop])


def _code_tokens(sql: str, start: int, end: int, tokens: list[_Token]) -> None:
    """Append the tokens of sql[start:end], code without literals, quoted names or comments."""
    pos = start
    for match in _CODE.finditer(sql, start, end):
        i = match.start()
        if i < pos:  # inside a number `_number` read
            continue
        kind = match.lastgroup
        token: _Token = _number(sql, i, end, tokens) if kind == "digit" else (str(kind), i, match.end(), match.group())
        tokens.append(token)
        pos = token[2]


def _tokens(sql: str) -> list[_Token]:
    """The tokens of one statement the way StarRocks' lexer reads it (sqlsplit's segments for literals and
    comments); comments and optimizer hints are left out. Raises ValueError on an unterminated literal, quoted
    name or comment, or a hex/bit literal with other digits.

    As the SQL tokenizer rockway used before (sqlglot's, StarRocks dialect): a statement opening with a
    command (`BACKUP`, `CANCEL`, `REPLACE` …) is that word and one literal, the rest of the statement.
    """
    tokens: list[_Token] = []
    _lex(sql, 0, len(sql), tokens)
    return _commands(sql, tokens)


def _lex(sql: str, start: int, end: int, tokens: list[_Token]) -> None:
    """Append the tokens of sql[start:end]."""
    pos = start
    for seg in segments(sql[start:end], hash_comments=True, strict=False):
        seg_start, seg_end = seg.start + start, seg.end + start
        _code_tokens(sql, pos, seg_start, tokens)
        pos = seg_end
        if not seg.closed and seg.kind != "dollar_quoted":
            raise ValueError(f"unterminated {seg.kind}")
        if seg.kind == "hint" and sql.startswith("/*+", seg_start) and tokens and tokens[-1][0] == "word" \
                and tokens[-1][3].upper() in _HINTED:  # kept (and left out of the text) as the old tokenizer did
            tokens.append(("hint", seg_start, seg_end, sql[seg_start:seg_end]))
        elif seg.kind in ("comment", "hint"):
            continue
        elif seg.kind == "semicolon":
            tokens.append(("punct", seg_start, seg_end, ";"))
        elif seg.kind == "dollar_quoted":  # `$$ … $$` is code here: its parts are redacted as any other
            close = seg_end - 2 if seg.closed else seg_end
            tokens.append(("word", seg_start, seg_start + 2, "$$"))
            _lex(sql, seg_start + 2, close, tokens)
            if seg.closed:
                tokens.append(("word", close, seg_end, "$$"))
        elif seg.kind == "identifier":
            tokens.append(("name", seg_start, seg_end, sql[seg_start + 1 : seg_end - 1].replace("``", "`")))
        else:
            quote, body = sql[seg_start], sql[seg_start + 1 : seg_end - 1]
            last = tokens[-1] if tokens else None
            if last is not None and last[0] == "word" and last[2] == seg_start and last[3] in _STRING_PREFIXES \
                    and (quote == "'" or last[3] in "nN"):
                base = _STRING_PREFIXES[last[3]]
                if base and body:
                    int(body, base)  # ValueError: not hex / not bits
                tokens[-1] = ("literal", last[1], seg_end, sql[last[1] : seg_end])
            else:
                tokens.append(("literal", seg_start, seg_end, body.replace(quote * 2, quote)))
    _code_tokens(sql, pos, end, tokens)


def _commands(sql: str, tokens: list[_Token]) -> list[_Token]:
    """tokens with the rest of every command statement (see `_tokens`) as one literal."""
    out: list[_Token] = []
    i, n = 0, len(tokens)
    while i < n:
        first = tokens[i]
        match = _COMMAND.match(sql, first[1]) if first[0] == "word" else None
        if match is None:
            out.append(first)
            i += 1
            while i < n and out[-1][3] != ";":
                out.append(tokens[i])
                i += 1
            continue
        j = i
        while j < n and tokens[j][1] < match.end():  # the command's words
            j += 1
        out.append(("word", first[1], match.end(), _SPACE_RE.sub(" ", match.group())))
        k = j
        while k < n and tokens[k][3] != ";":
            k += 1
        stop = tokens[k][1] if k < n else len(sql)
        rest = sql[match.end() : stop].strip()
        if rest:  # one literal, spaced as the old tokenizer spaced it: touching what follows it
            last = tokens[k - 1] if k > j else None
            start, end = (last[1], last[2]) if last is not None and last[2] == stop else (stop, stop)
            out.append(("literal", start, end, rest))
        i = k
        if i < n:
            out.append(tokens[i])
            i += 1
    return out


def _collection(tokens: list[_Token], words: list[str]) -> str | None:
    operation, consumed, phrase = _operation(words)
    verb = operation.split(" ", 1)[0]
    if not (verb in _DML_VERBS or (verb in _COLLECTION_VERBS and phrase in _COLLECTION_OBJECTS)):
        return None
    i, seen, n = 0, 0, len(tokens)
    while i < n and seen < consumed:  # step over the tokens that spelled the operation
        seen += len(tokens[i][3].split()) or 1
        i += 1
    while i < n and tokens[i][3].upper() in _SKIP_BEFORE_NAME:
        i += 1
    parts: list[str] = []
    while i < n:
        kind, _, _, text = tokens[i]
        if kind not in ("word", "name"):
            break
        parts.append(text)
        if i + 1 < n and tokens[i + 1][0] == "punct" and tokens[i + 1][3] == ".":
            i += 2
            continue
        break
    return ".".join(parts) if parts else None


def _rebuild(sql: str, tokens: list[_Token]) -> str:
    out: list[str] = []
    prev_end = -1
    n = len(tokens)
    i = 0
    while i < n:
        kind, start, end, text = tokens[i]
        if kind == "hint":
            i += 1
            continue
        if out and start > prev_end:  # whitespace or a comment in between: one space
            out.append(" ")
        upper = text.upper() if kind == "word" and len(text) <= 5 else ""
        if upper == "IN" and i + 2 < n and tokens[i + 1][0] == "punct" and tokens[i + 1][3] == "(":
            j = i + 2  # collapse `IN (1, 2, 3)` to `IN (?)`
            while j < n and (tokens[j][0] == "literal" or (tokens[j][0] == "punct" and tokens[j][3] == ",")):
                j += 1
            if j > i + 2 and j < n and tokens[j][0] == "punct" and tokens[j][3] == ")":
                out.append(text + " (?)")
                prev_end = tokens[j][2]
                i = j + 1
                continue
        if kind == "literal":
            out.append("?")
        elif (upper == "TRUE" or upper == "FALSE") and not (
                i and tokens[i - 1][0] in ("word", "punct") and tokens[i - 1][3].upper() in ("IS", "NOT", "!")):
            out.append("?")
        elif kind != "name":
            out.append(text)
        else:  # whitespace inside a quoted name becomes one space
            out.append(_SPACE_RE.sub(" ", sql[start:end]))
        prev_end = end
        i += 1
    text = "".join(out)
    if len(text) > MAX_QUERY_TEXT_LENGTH:
        text = text[:MAX_QUERY_TEXT_LENGTH] + " …"
    return text


@functools.lru_cache(maxsize=1024)
def describe_sql(sql: str) -> SqlSummary:
    """Operation, target collection and redacted text of one statement, from one pass of `_tokens` (cached).

    Executable comments are read as the code they hold, and secrets are masked before tokenizing:
    an unquoted password is a name to the tokenizer, not a literal.
    """
    sql = redact_secrets(unwrap_executable_comments(sql))
    words = _leading_words(sql)
    operation = _operation(words)[0]
    try:
        tokens = _tokens(sql)
    except ValueError:  # an unterminated quote, a bad hex literal …: say only what the statement does
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
    sql = unwrap_executable_comments(sql)
    try:
        tokens = _tokens(sql)
    except ValueError:
        return None
    return _collection(tokens, _leading_words(sql))
