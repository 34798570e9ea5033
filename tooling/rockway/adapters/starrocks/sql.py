"""Pure helpers for the StarRocks adapter: quoting, column types, SHOW cells, versions and error-text matching.

Statement classification (which asynchronous job a statement starts) lives in
rockway/adapters/starrocks/statement_kinds.py, shared with the linter; it is re-exported here for the adapter's callers.
"""

from __future__ import annotations

import re
from typing import Any

from rockway.adapters.starrocks.statement_kinds import (IDENT, TABLE_REF, Classified, JobType, Kind, TableRef, classify,  # noqa: F401
                               clause_job_type, is_begin, mask, parse_table_ref, split_top_level,
                               strip_leading_comments, unquote_ident)


def sql_string(text: str) -> str:
    """A double-quoted StarRocks string literal (backslash escapes apply inside strings)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r") + '"'


# Portable column types (base.Column) -> StarRocks types. There is no TIMESTAMP column type and
# DATETIME(p) is rejected by the parser; STRING is VARCHAR(65533).
_TYPES = {"TEXT": "STRING", "LONGTEXT": "STRING", "MEDIUMTEXT": "STRING", "BOOLEAN": "BOOLEAN", "BOOL": "BOOLEAN",
          "DATETIME": "DATETIME", "TIMESTAMP": "DATETIME", "INT": "INT", "INTEGER": "INT", "BIGINT": "BIGINT"}


def column_type(portable: str) -> str:
    """Map a portable column type to its StarRocks spelling."""
    text = " ".join(portable.strip().upper().split())
    if text.startswith(("DATETIME(", "TIMESTAMP(")):
        return "DATETIME"
    return _TYPES.get(text, text)


def version_numbers(version: str | None) -> tuple[int, ...] | None:
    """(3, 3, 5) from '3.3.5-abc1234', (4, 0) from '4.0'; None when the text starts with no `major.minor`."""
    m = re.match(r"^\s*(\d+)\.(\d+)(?:\.(\d+))?", version or "")
    return tuple(int(x) for x in m.groups() if x is not None) if m else None


def version_tuple(version: str) -> tuple[int, ...]:
    """The server's version as numbers; (99,) when unknown (rendering without a server assumes the newest)."""
    return version_numbers(version) or (99,)


def version_at_least(version: str | None, minimum: tuple[int, ...]) -> bool:
    """True when a version such as '3.4.1' or '3.5.2-abc1234' is at least `minimum`; an unknown one counts as old."""
    numbers = version_numbers(version)
    return numbers is not None and numbers + (0,) * (len(minimum) - len(numbers)) >= minimum


# --- server answers --------------------------------------------------------------------------

def show_text(value: Any) -> str:
    """A SHOW cell as text: SQL NULL and the text NULL become ''.

    SHOW ALTER prints an unset FinishTime and a Progress outside RUNNING as the text `NULL` (recorded rows in
    tests/support/starrocks_replay.py, from StarRocks issues #46534 and #40750).
    """
    if value is None:
        return ""
    if isinstance(value, (bytes, bytearray)):
        value = value.decode("utf-8", "replace")
    text = str(value)
    return "" if text == "NULL" else text


# "This table is busy" answers: the statement was rejected, so sending it again later is safe.
# Texts from fe/.../common/InvalidOlapTableStateException.java (3.1+ and 4.x wordings), the ≤3.0
# AlterJobMgr wording, and SchemaChangeHandler's insert-overwrite guard (recorded in tests/support/starrocks_replay.py).
# They arrive as errno 1064, so only the text is matched.
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
