"""Pure helpers for the StarRocks adapter: quoting and error-text matching.

Statement classification (which asynchronous job a statement starts) lives in
rockway/adapters/starrocks/statement_kinds.py, shared with the linter; it is re-exported here for the adapter's callers.
"""

from __future__ import annotations

import re

from rockway.adapters.starrocks.statement_kinds import (IDENT, TABLE_REF, Classified, JobType, Kind, TableRef, classify,  # noqa: F401
                               clause_job_type, is_begin, mask, parse_table_ref, split_top_level,
                               strip_leading_comments, unquote_ident)


def quote_ident(name: str) -> str:
    """Quote an identifier with backticks."""
    return "`" + name.replace("`", "``") + "`"


def sql_quote(text: str) -> str:
    """A single-quoted string literal, escaped the way pymysql escapes parameters."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def sql_string(text: str) -> str:
    """A double-quoted StarRocks string literal (backslash escapes apply inside strings)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r") + '"'


# --- server answers --------------------------------------------------------------------------

# "This table is busy" answers: the statement was rejected, so sending it again later is safe.
# Texts from fe/.../common/InvalidOlapTableStateException.java (3.1+ and 4.x wordings), the ≤3.0
# AlterJobMgr wording, and SchemaChangeHandler's insert-overwrite guard (starrocks-facts.md §2,
# starrocks-responses.md §8). They arrive as errno 1064, so only the text is matched.
_BUSY_PATTERNS = (
    re.compile(r"a schema change operation is in progress on the table", re.I),
    re.compile(r"a materialized view or rollup index is being created on the table", re.I),
    re.compile(r"a backup operation is in progress", re.I),
    re.compile(r"a snapshot restore operation is in progress", re.I),
    re.compile(r"is being altered or having a materialized view built on it", re.I),
    re.compile(r"state is not normal", re.I),  # Table[t]'s state is not NORMAL. Do not allow doing ALTER ops
    re.compile(r"is currently in state \w+", re.I),
    re.compile(r"is doing insert overwrite job", re.I),
)


def is_table_busy(message: str) -> bool:
    """True when the server rejected a statement because another job holds the table."""
    return any(p.search(message) for p in _BUSY_PATTERNS)


def is_already_exists(errno: int | None, message: str) -> bool:
    """CREATE TABLE lost the race: 1050 from 3.3 on, 1064 with the same text before."""
    return errno == 1050 or bool(re.search(r"Table '[^']*' already exists", message))
