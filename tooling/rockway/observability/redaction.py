"""SQL and error-message redaction: literals become `?` for telemetry, secrets become `***` for people.

`redact_message` and `redact_exception` strip quoted values from server messages, which echo literals
back; `exception_event` is what a span may record of an exception. What telemetry says of a statement
(its operation, collection and text with every literal a `?`) is observability/sql_summary.py's.

Text for people keeps a statement as written and masks only values in secret positions
(`redact_secrets`, `display_sql`, `redact_server_message`): the secret rules live here and only here.
No OpenTelemetry here.
"""

from __future__ import annotations

import re
import traceback
from typing import Any

from rockway.sqlsplit import BACKTICKED, QUOTED_STRING

_SPACE_RE = re.compile(r"\s+")
_WORD_CHAR_RE = re.compile(r"\w")


_NEAR_RE = re.compile(r"(near\s+)(['\"]).*\2(\s+at\s+line)", re.IGNORECASE | re.DOTALL)
_QUOTED_RE = re.compile(QUOTED_STRING, re.DOTALL)


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
    args: tuple[Any, ...] = getattr(exc, "args", ())
    if len(args) >= 2 and isinstance(args[0], int) and not isinstance(args[0], bool) and isinstance(args[1], str):
        return args[0]
    return None


def _exception_message(exc: BaseException) -> str:
    message = getattr(exc, "message", None)
    if isinstance(message, str):
        return message
    args: tuple[Any, ...] = getattr(exc, "args", ())
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


def exception_event(exc: BaseException) -> dict[str, str]:
    """The attributes of an `exception` span event for exc: type, redacted message, frame locations only."""
    message = redact_exception(exc)
    # Frame locations only: source lines can hold literals too.
    stack = traceback.StackSummary.extract(traceback.walk_tb(exc.__traceback__), lookup_lines=False)
    frames = "".join(f'  File "{f.filename}", line {f.lineno}, in {f.name}\n' for f in stack)
    return {
        "exception.type": _type_name(exc),
        "exception.message": message,
        "exception.stacktrace": f"Traceback (most recent call last):\n{frames}{_type_name(exc)}: {message}",
    }


# --- secrets: what people may not see, in any output -------------------------------------------------
# Telemetry replaces every literal (above); text for people (progress lines, `migrate render`, dry runs,
# `rockway lint`, history's statement_sql and error, error messages, log lines) keeps the SQL as written
# and masks only values in secret positions: the rules below are their one home.

SECRET_MASK = "***"

_QUOTED = QUOTED_STRING
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
_SECRET_KEY_ENDINGS = ("pass", "pwd", "passwd", "password", "passphrase", "secret", "token", "credentials?",
                       "keytab(?:_content)?",
                       *(f"{word}[._-]?key" for word in ("private", "access", "shared", "api", "account", "secret")))
_SECRET_KEY_RE = re.compile(rf"(?:^|[._-])(?:{'|'.join(_SECRET_KEY_ENDINGS)})$", re.IGNORECASE)
# Text holding a key _SECRET_KEY_RE accepts holds one of its endings: the key = value rules' gate, searched in
# lower-cased ASCII text (where that is what IGNORECASE matches); the same endings, so the two cannot drift apart.
# Flat branches that each start with a letter: the search skips ahead (a grouped form is ~3x slower).
_SECRET_KEY_WORD_RE = re.compile("|".join(_SECRET_KEY_ENDINGS))
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
    # The key = value rules find a secret only with an `=` and a key is_secret_key accepts: `PRIMARY KEY` and
    # `ENGINE=InnoDB` (in every MySQL DDL) pass their word test but name none.
    keyed = "=" in text and (not text.isascii() or _SECRET_KEY_WORD_RE.search(lowered) is not None)
    tested: dict[tuple[str, ...], bool] = {}  # rules share their words: each test once
    for rule, words in _SECRET_RULES:
        if words is _KEY_WORDS and not keyed:
            continue
        found = tested.get(words)
        if found is None:
            found = tested[words] = any(word in lowered for word in words)
        if not found:
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


_EXECUTABLE_COMMENT_RE = re.compile(rf"{QUOTED_STRING}|{BACKTICKED}|/\*M?!\d{{0,6}}(?P<code>.*?)\*/", re.DOTALL)


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
    if not _WORD_CHAR_RE.search(line):
        line = _SPACE_RE.sub(" ", text)
    if len(line) > width:
        line = line[: max(width - 1, 1)] + "…"
    return line or "(empty statement)"


def redact_dsn(text: str) -> str:
    """text with the password, and anything that may be part of it, replaced by *** (for messages and logs).

    The user part ends at the last `@`, so a password holding `@`, `/` or `#` is masked whole. A port
    that is not a number may be a password typed where the port goes: it is masked with all after it.
    """
    head, sep, rest = text.partition("://")
    if not sep:
        head, rest = "", text
    at = rest.rfind("@")
    userinfo = ""
    if at >= 0:
        user, colon, _ = rest[:at].partition(":")
        if any(c in user for c in "/?#[]"):  # no user name: a password that ended the URL's user part early
            user = SECRET_MASK
        userinfo, rest = f"{user}{':' + SECRET_MASK if colon else ''}@", rest[at + 1:]
    end = next((i for i, c in enumerate(rest) if c in "/?#"), len(rest))
    authority, tail = rest[:end], rest[end:]
    close = authority.find("]") if authority.startswith("[") else -1
    host, port = (authority[: close + 1], authority[close + 1:]) if close >= 0 else authority.partition(":")[::2]
    if close >= 0:
        port = port[1:] if port.startswith(":") else port
    if port and not port.isdigit():
        return f"{head}{sep}{userinfo}{host}:{SECRET_MASK}"
    tail = tail.split("#", 1)[0] + (f"#{SECRET_MASK}" if "#" in tail else "")  # nothing of a DSN lives in a fragment
    return redact_secrets(f"{head}{sep}{userinfo}{authority}{tail}")
