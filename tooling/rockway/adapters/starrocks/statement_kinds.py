"""StarRocks statement classification: which asynchronous job (if any) a statement starts.

Pure text analysis shared by the StarRocks adapter (what to wait for after sending a statement,
adapters/starrocks/base.py) and by the linter's rewrite report and fixer (lint/rewrites.py); nothing here talks
to a server, and the server remains the judge of validity.

Sources for the rules (docs.starrocks.io, `sql-reference/sql-statements/...`):
- ALTER TABLE "Limits and usage notes": bucket, column and rollup operations are asynchronous;
  rename, comment, partition, index and swap are synchronous (table_bucket_part_index/ALTER_TABLE).
- Index DDL goes through the schema-change job path in the FE, so it is treated as a COLUMN job.
- CREATE MATERIALIZED VIEW without a REFRESH clause and without DISTRIBUTED BY is a synchronous MV
  (a rollup index built by a job); with either it is an asynchronous MV (materialized_view/
  CREATE_MATERIALIZED_VIEW; StarRocks' AstBuilder: "use old materialized index" when both are absent).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from rockway.sqlsplit import comma_spans, masked

# An identifier: `back``ticked` or bare (StarRocks allows letters, digits, _ and $ in bare names).
IDENT = r"(?:`(?:[^`]|``)+`|[A-Za-z0-9_$]+)"
# [catalog.][db.]name
TABLE_REF = rf"{IDENT}(?:\s*\.\s*{IDENT}){{0,2}}"
_IDENT_RE = re.compile(IDENT)


class Kind(str, enum.Enum):
    """What a statement does, as far as waiting is concerned."""

    OTHER = "other"  # runs to completion before the server answers
    ALTER_ASYNC = "alter_async"  # starts (or may start) a SHOW ALTER TABLE job
    ALTER_SYNC = "alter_sync"  # ALTER TABLE that finishes before the answer (rename, comment, partition, swap …)
    CREATE_SYNC_MV = "create_sync_mv"  # rollup-style MV, tracked by SHOW ALTER MATERIALIZED VIEW
    CREATE_ASYNC_MV = "create_async_mv"  # async MV; IMMEDIATE ones start a first refresh task run
    REFRESH_MV = "refresh_mv"  # REFRESH MATERIALIZED VIEW; answers with QUERY_ID of the task run
    BEGIN = "begin"  # BEGIN / START TRANSACTION (never sent by rockway)


class JobType(str, enum.Enum):
    """The SHOW ALTER TABLE family a job is listed under."""

    COLUMN = "COLUMN"
    ROLLUP = "ROLLUP"
    OPTIMIZE = "OPTIMIZE"


@dataclass(frozen=True)
class TableRef:
    """A table named in a statement; database is None when the statement did not qualify it."""

    database: str | None
    name: str


@dataclass(frozen=True)
class Classified:
    """The classification of one statement."""

    kind: Kind
    job_type: JobType | None = None
    table: TableRef | None = None  # ALTER/INDEX target, or the MV for CREATE/REFRESH MV
    base_table: TableRef | None = None  # the single base table of a synchronous MV
    deferred: bool = False  # async MV created with REFRESH DEFERRED (no first refresh)
    sync_mode: bool = False  # REFRESH ... WITH SYNC MODE (the server waits itself)


# --- lexical helpers -------------------------------------------------------------------------

_LEADING_NOISE = re.compile(r"\A(?:\s+|--[^\n]*(?:\n|\Z)|#[^\n]*(?:\n|\Z)|/\*.*?\*/)*", re.S)


def strip_leading_comments(sql: str) -> str:
    """The statement without leading whitespace, `--`/`#` line comments and `/* */` (incl. hint) blocks."""
    return sql[_LEADING_NOISE.match(sql).end():]  # type: ignore[union-attr]


def mask(sql: str) -> str:
    """The same-length text with string literals, quoted identifiers, comments and everything inside
    parentheses blanked out, so keyword searches only see the top level of the statement."""
    out = list(masked(sql, hash_comments=True))  # sqlsplit lexes; only the parentheses are left to do
    depth = 0
    for i, ch in enumerate(out):
        if ch == "(":
            depth += 1
            if depth > 1:
                out[i] = " "
        elif ch == ")":
            depth = max(0, depth - 1)
            if depth > 0:
                out[i] = " "
        elif depth > 0 and ch != "\n":
            out[i] = " "
    return "".join(out)


def unquote_ident(text: str) -> str:
    """`a``b` -> a`b; bare names are returned as they are."""
    text = text.strip()
    if len(text) >= 2 and text[0] == "`" and text[-1] == "`":
        return text[1:-1].replace("``", "`")
    return text


def parse_table_ref(text: str) -> TableRef:
    """`db`.`t`, db.t, t or catalog.db.t -> TableRef (catalog dropped)."""
    parts = [unquote_ident(m.group(0)) for m in _IDENT_RE.finditer(text)]
    if not parts:
        raise ValueError(f"not a table name: {text!r}")
    if len(parts) == 1:
        return TableRef(None, parts[0])
    return TableRef(parts[-2], parts[-1])


def split_top_level(text: str, masked: str | None = None) -> list[str]:
    """The pieces of `text` between commas outside strings, comments and brackets (sqlsplit.comma_spans), stripped;
    empty pieces dropped. `masked`: mask(text), when already at hand."""
    masked = mask(text) if masked is None else masked
    pieces = (text[a:b].strip() for a, b in comma_spans(masked))
    return [p for p in pieces if p]


# --- classification --------------------------------------------------------------------------

_ALTER_TABLE = re.compile(rf"ALTER\s+TABLE\s+({TABLE_REF})", re.I)
_CREATE_INDEX = re.compile(rf"CREATE\s+INDEX\s+(?:IF\s+NOT\s+EXISTS\s+)?{IDENT}\s+ON\s+({TABLE_REF})", re.I)
_DROP_INDEX = re.compile(rf"DROP\s+INDEX\s+(?:IF\s+EXISTS\s+)?{IDENT}\s+ON\s+({TABLE_REF})", re.I)
_CREATE_MV = re.compile(rf"CREATE\s+MATERIALIZED\s+VIEW\s+(?:IF\s+NOT\s+EXISTS\s+)?({TABLE_REF})", re.I)
_REFRESH_MV = re.compile(rf"REFRESH\s+MATERIALIZED\s+VIEW\s+({TABLE_REF})", re.I)
_BEGIN = re.compile(r"(?:BEGIN|START\s+TRANSACTION)\b", re.I)

# ALTER TABLE clauses by their leading words (matched on the masked, upper-cased clause).
_ROLLUP_CLAUSE = re.compile(r"(?:ADD|DROP)\s+ROLLUP\b")
_OPTIMIZE_CLAUSE = re.compile(r"(?:DISTRIBUTED\s+BY\b|PARTITIONS?\s*\(|PARTITION\s+BY\b)")
# SET ("k" = "v"): some properties (bloom_filter_columns, …) run as schema-change jobs, most do not;
# it is probed like a column change — when no new job appears the change was applied in place.
_COLUMN_CLAUSE = re.compile(r"(?:(?:ADD|DROP|MODIFY)\s+COLUMNS?\b|ORDER\s+BY\b|(?:ADD|DROP)\s+INDEX\b|SET\s*\(|PROPERTIES\s*\()")

_TOP_AS = re.compile(r"\bAS\b", re.I)
_FROM = re.compile(r"\bFROM\b", re.I)


# `MODIFY COLUMN c COMMENT "x"` changes metadata only and starts no job (ALTER_TABLE, "Modify column comment").
_COMMENT_ONLY = re.compile(rf"\s*MODIFY\s+COLUMN\s+{IDENT}\s+COMMENT\s*['\"]", re.I)


def clause_job_type(clause: str) -> JobType | None:
    """The job family one ALTER TABLE clause starts (None: it finishes before the server answers)."""
    if _COMMENT_ONLY.match(clause):
        return None
    head = mask(clause).strip().upper()
    if _ROLLUP_CLAUSE.match(head):
        return JobType.ROLLUP
    if _OPTIMIZE_CLAUSE.match(head):
        return JobType.OPTIMIZE
    if _COLUMN_CLAUSE.match(head):
        return JobType.COLUMN
    return None


def _alter_job_type(rest: str) -> JobType | None:
    masked = mask(rest)
    found = {clause_job_type(clause) for clause in split_top_level(rest, masked)}
    for kind in (JobType.ROLLUP, JobType.OPTIMIZE, JobType.COLUMN):
        if kind in found:
            return kind
    return None


def classify(sql: str) -> Classified:
    """Classify one statement (leading comments and hints are ignored)."""
    text = strip_leading_comments(sql).rstrip().rstrip(";").rstrip()
    if _BEGIN.match(text):
        return Classified(Kind.BEGIN)

    m = _ALTER_TABLE.match(text)
    if m:
        table = parse_table_ref(m.group(1))
        job = _alter_job_type(text[m.end():])
        if job is None:
            return Classified(Kind.ALTER_SYNC, table=table)
        return Classified(Kind.ALTER_ASYNC, job_type=job, table=table)

    for pattern in (_CREATE_INDEX, _DROP_INDEX):
        m = pattern.match(text)
        if m:
            return Classified(Kind.ALTER_ASYNC, job_type=JobType.COLUMN, table=parse_table_ref(m.group(1)))

    m = _CREATE_MV.match(text)
    if m:
        mv = parse_table_ref(m.group(1))
        rest = text[m.end():]
        masked = mask(rest)
        as_match = _TOP_AS.search(masked)
        header = masked[: as_match.start()] if as_match else masked
        header_up = header.upper()
        is_async = bool(re.search(r"\bREFRESH\b", header_up) or re.search(r"\bDISTRIBUTED\s+BY\b", header_up))
        if is_async:
            return Classified(Kind.CREATE_ASYNC_MV, table=mv, deferred=bool(re.search(r"\bDEFERRED\b", header_up)))
        base = None
        if as_match:
            query, query_masked = rest[as_match.end():], masked[as_match.end():]
            f = _FROM.search(query_masked)
            if f:
                ref = re.match(rf"\s*({TABLE_REF})", query[f.end():])
                if ref:
                    base = parse_table_ref(ref.group(1))
        return Classified(Kind.CREATE_SYNC_MV, table=mv, base_table=base)

    m = _REFRESH_MV.match(text)
    if m:
        masked = mask(text[m.end():]).upper()
        return Classified(Kind.REFRESH_MV, table=parse_table_ref(m.group(1)),
                          sync_mode=bool(re.search(r"\bWITH\s+SYNC\s+MODE\b", masked)))

    return Classified(Kind.OTHER)


def is_begin(sql: str) -> bool:
    """True for BEGIN / START TRANSACTION (StarRocks 3.5+ treats them as explicit transactions)."""
    return bool(_BEGIN.match(strip_leading_comments(sql)))
