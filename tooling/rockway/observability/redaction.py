"""SQL and error-message redaction: literals become `?` for telemetry, secrets become `***` for people.

`describe_sql(sql)` gives the operation (`CREATE TABLE`), the target collection and the redacted text
from one pass of sqlglot's tokenizer (imported lazily, cached per statement); `redact_message` and
`redact_exception` strip quoted values from server messages, which echo literals back.
`rockway.telemetry` re-exports all of these.

Text for people keeps a statement as written and masks only values in secret positions
(`redact_secrets`, `display_sql`, `redact_server_message`): the secret rules live here and only here.
No OpenTelemetry here.
"""

from __future__ import annotations

import functools
import re
import threading
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
    return _operation(_leading_words(unwrap_executable_comments(sql)))[0]


@dataclass(frozen=True)
class SqlSummary:
    """What telemetry may say about one statement."""

    operation: str  # db.operation.name ('' when unknown)
    collection: str | None  # db.collection.name
    text: str  # db.query.text: literals replaced by `?`, comments dropped, whitespace collapsed


_tokenizers = threading.local()


def _tokenize(sql: str) -> list[Any]:
    """sqlglot's StarRocks tokens of sql, from one tokenizer per thread.

    Building the dialect and its tokenizer took a fifth of a tokenize call (bench/RESULTS.md); a tokenizer
    resets itself at every call, but holds the text while scanning, hence one per thread.
    """
    tokenizer = getattr(_tokenizers, "starrocks", None)
    if tokenizer is None:
        from sqlglot.dialects.starrocks import StarRocks  # imported lazily: sqlglot is slow to import

        tokenizer = _tokenizers.starrocks = StarRocks().tokenizer()
    return tokenizer.tokenize(sql)


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
    """Operation, target collection and redacted text of one statement, from one tokenizer pass (cached).

    Executable comments are read as the code they hold, and secrets are masked before tokenizing:
    an unquoted password is a name to the tokenizer, not a literal.
    """
    sql = redact_secrets(unwrap_executable_comments(sql))
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
    sql = unwrap_executable_comments(sql)
    try:
        tokens = _tokenize(sql)
    except Exception:
        return None
    return _collection(tokens, _leading_words(sql))


_NEAR_RE = re.compile(r"(near\s+)(['\"]).*\2(\s+at\s+line)", re.IGNORECASE | re.DOTALL)
_QUOTED_RE = re.compile(r"'(?:[^'\\]|\\.|'')*'|\"(?:[^\"\\]|\\.|\"\")*\"", re.DOTALL)


def redact_message(text: str) -> str:
    """A server or exception message with quoted values replaced by `?` (servers echo literals).

    Secrets are masked first: a message may quote a statement whose password is unquoted.
    """
    text = _NEAR_RE.sub(r"\1?\3", redact_secrets(text))
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


# --- secrets: what people may not see, in any output -------------------------------------------------
# Telemetry replaces every literal (above); text for people (progress lines, `migrate render`, dry runs,
# `rockway lint`, history's statement_sql and error, error messages, log lines) keeps the SQL as written
# and masks only values in secret positions: the rules below are their one home.

SECRET_MASK = "***"

_QUOTED = r"'(?:[^'\\]|\\.|'')*'|\"(?:[^\"\\]|\\.|\"\")*\""
# an unquoted value (`IDENTIFIED BY s3cret` is a syntax error whose near-text the server echoes back)
_VALUE = rf"(?P<value>{_QUOTED}|[^\s;,()'\"]+)"
_NOT_PASSWORD_CALL = r"(?!PASSWORD\s*\()"
_KEY = r"(?P<key>'[^'\n]*'|\"[^\"\n]*\"|`[^`\n]*`|[A-Za-z_][\w.$-]*)"
_KEY_WORDS = ("pass", "pwd", "secret", "token", "credential", "keytab", "key")
# (rule, words one of which the lower-cased text must hold for the rule to apply: a cheap test first, so a
# multi-megabyte INSERT without them is not scanned ten times)
_SECRET_RULES = tuple(
    (re.compile(pattern, re.IGNORECASE), words)
    for pattern, words in (
        # CREATE/ALTER USER … IDENTIFIED BY [PASSWORD] '…' (MySQL, MariaDB, StarRocks)
        (rf"\bIDENTIFIED\s+BY\s+{_NOT_PASSWORD_CALL}(?:PASSWORD\s+(?=['\"\w]))?{_VALUE}", ("identified",)),
        # IDENTIFIED WITH plugin BY/AS '…', MariaDB IDENTIFIED VIA plugin USING '…'
        (rf"\bIDENTIFIED\s+(?:WITH|VIA)\s+(?:{_QUOTED}|\w+)\s+(?:BY|AS|USING)\s+{_NOT_PASSWORD_CALL}{_VALUE}",
         ("identified",)),
        # PASSWORD('…'), OLD_PASSWORD('…'); unquoted only right after `(`, as a function call is written
        (rf"\b(?:OLD_)?PASSWORD\s*\(\s*(?P<value>{_QUOTED})", ("password",)),
        (r"\b(?:OLD_)?PASSWORD\((?P<value>[^\s;,()'\"]+)\)", ("password",)),
        # SET PASSWORD [FOR user] = '…'
        (rf"\bSET\s+PASSWORD\b(?:\s+FOR\s+[^=;]*?)?\s*=\s*{_NOT_PASSWORD_CALL}{_VALUE}", ("password",)),
        # MariaDB CREATE SERVER … OPTIONS (PASSWORD '…'); ALTER USER … IDENTIFIED BY … REPLACE '<old password>'
        (rf"\bPASSWORD\s+(?P<value>{_QUOTED})", ("password",)),
        (rf"\bIDENTIFIED\b[^;]*?\bREPLACE\s+(?P<value>{_QUOTED})", ("identified",)),
        # key = value where the key names a secret: StarRocks PROPERTIES / BROKER / STORAGE VOLUME
        # ("password" = "…", "jdbc_password", "aws.s3.secret_key", …), MASTER_PASSWORD = '…'
        (rf"{_KEY}\s*=\s*{_VALUE}", _KEY_WORDS),
        # credentials inside URLs: scheme://user:password@host, …?password=…
        (r"\b[A-Za-z][\w+.-]*://[^\s:/@'\"]*:(?P<value>[^\s@'\"]+)@", ("://",)),
        (r"[?&;](?P<key>[A-Za-z_][\w.]*)=(?P<value>[^&;\s'\"]+)", _KEY_WORDS),
    )
)
# A key names a secret when its last word does: "password", "jdbc_password", "aws.s3.secret_key", "sas_token"
# (but not "password_changed_at").
_SECRET_KEY_RE = re.compile(
    r"(?:^|[._-])(?:pass|pwd|passwd|password|passphrase|secret|token|credentials?|keytab(?:_content)?"
    r"|(?:private|access|shared|api|account|secret)[._-]?key)$",
    re.IGNORECASE,
)
# Words that make a statement secret-bearing even when no rule could place its value (malformed text).
_SECRET_WORD_RE = re.compile(r"\bIDENTIFIED\b|passw|secret|token|credential|keytab|(?:private|access|shared)[._-]?key",
                             re.IGNORECASE)


def is_secret_key(name: str) -> bool:
    """True when a setting or property name (`"password"`, `aws.s3.secret_key`, `sas_token`) holds a secret."""
    return bool(_SECRET_KEY_RE.search(name.strip("'\"`")))


def _secret_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of every value in a secret position of text, merged and in order."""
    spans: list[tuple[int, int]] = []
    lowered = text.lower()
    has_equals = "=" in text  # the key = value rules cannot match without one (`PRIMARY KEY` passes their word test)
    for rule, words in _SECRET_RULES:
        if (words is _KEY_WORDS and not has_equals) or not any(word in lowered for word in words):
            continue
        for match in rule.finditer(text):
            key = match.groupdict().get("key")
            if key is not None and not is_secret_key(key):
                continue
            spans.append(match.span("value"))
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _mask(value: str) -> str:
    quote = value[0] if value[:1] in ("'", '"') and len(value) >= 2 and value[-1] == value[0] else ""
    return f"{quote}{SECRET_MASK}{quote}"


def redact_secrets(text: str) -> str:
    """text (SQL, or a message quoting SQL) with every value in a secret position replaced by `***`.

    Covers IDENTIFIED BY/WITH/VIA, PASSWORD(…), SET PASSWORD, properties whose key names a secret
    (StarRocks catalogs, resources, brokers, storage volumes) and credentials inside URLs; quoted
    values keep their quotes, unquoted ones are masked too. Everything else stays as written.
    """
    spans = _secret_spans(text)
    if not spans:
        return text
    out: list[str] = []
    pos = 0
    for start, end in spans:
        out.append(text[pos:start])
        out.append(_mask(text[start:end]))
        pos = end
    out.append(text[pos:])
    return "".join(out)


def secret_values(sql: str) -> list[str]:
    """The values in secret positions of sql, as written and unquoted (longest first)."""
    values: set[str] = set()
    for start, end in _secret_spans(sql):
        raw = sql[start:end]
        if raw[:1] in ("'", '"') and len(raw) >= 2 and raw[-1] == raw[0]:
            inner = raw[1:-1]
            values.update({inner, inner.replace(raw[0] * 2, raw[0]), re.sub(r"\\(.)", r"\1", inner)})
        else:
            values.add(raw)
    return sorted((v for v in values if v and v != SECRET_MASK), key=len, reverse=True)


def mentions_secrets(sql: str) -> bool:
    """True when sql holds secret-bearing syntax, even where no rule can place the value."""
    return bool(_secret_spans(sql)) or bool(_SECRET_WORD_RE.search(sql))


def redact_server_message(message: str, sql: str) -> str:
    """A server's error message about sql, with the statement's secrets masked and the rest as the server wrote it.

    Servers echo a statement's text (MariaDB: `near '…' at line 1`). For a statement with secret-bearing
    syntax the secrets, its other literals and the echoed near-text are masked; any other message is
    left as it is, so numbers, names and ordinary values stay readable.
    """
    if not mentions_secrets(sql):
        return message
    for value in secret_values(sql):
        if len(value) >= 4:
            message = message.replace(value, SECRET_MASK)
        else:  # a short value only where it stands alone, so ordinary words survive
            message = re.sub(rf"(?<![\w]){re.escape(value)}(?![\w])", SECRET_MASK, message)
    for match in _QUOTED_RE.finditer(sql):
        literal = match.group()[1:-1]
        if len(literal) >= 3:
            message = message.replace(literal, "?")
    message = _NEAR_RE.sub(rf"\1'{SECRET_MASK}'\3", message)
    return redact_secrets(message)


_EXECUTABLE_COMMENT_RE = re.compile(
    r"'(?:[^'\\]|\\.|'')*'|\"(?:[^\"\\]|\\.|\"\")*\"|`(?:[^`]|``)*`|/\*M?!\d{0,6}(?P<code>.*?)\*/", re.DOTALL)


def unwrap_executable_comments(sql: str) -> str:
    """sql with MySQL/MariaDB executable comments (`/*! code */`, `/*!50700 code */`, `/*M! code */`) opened.

    Those servers run the code inside; for every other reader it is a comment, so without this a
    statement written as one (macros/warehouse.sql's wh.index) would read as empty.
    """
    if "/*" not in sql:
        return sql
    return _EXECUTABLE_COMMENT_RE.sub(lambda m: m.group(0) if m.group("code") is None else f" {m.group('code').strip()} ",
                                      sql).strip()


def display_sql(sql: str, width: int = 200, *, show_secrets: bool = False) -> str:
    """One line for people about a statement: its first line as written, secrets masked; never blank.

    A first line with no word in it (`(`, or a lone `/*!`) gives way to the statement with its
    whitespace collapsed.
    """
    text = (sql if show_secrets else redact_secrets(sql)).strip()
    lines = text.splitlines()
    line = lines[0].strip() if lines else ""
    if not re.search(r"\w", line):
        line = _SPACE_RE.sub(" ", text)
    if len(line) > width:
        line = line[: max(width - 1, 1)] + "…"
    return line or "(empty statement)"
