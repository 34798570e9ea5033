"""StarRocks catalog reading and DDL normalisation.

Objects: information_schema.tables lists tables and views; asynchronous materialized views are taken from
information_schema.materialized_views as well (the same columns the adapter's MV waits read), so an MV is
named an MV whichever TABLE_TYPE the release reports for it. DDL: SHOW CREATE TABLE / VIEW / MATERIALIZED
VIEW; the answer is read by its `Create …` column label (tests/unit/test_schema_starrocks_normalize.py replays the
recorded answers).

Normalisations (the recorded outputs are in tests/unit/test_schema_starrocks_normalize.py), each removing a
difference that is not a schema change:
- blanks at line ends (`) ENGINE=OLAP `, `BUCKETS 10 ` carry one) and the final ';';
- PROPERTIES sorted by key (tables print them sorted, materialized views do not) and the ones the server fills
  in with its default value left out: "compression" = "LZ4", "fast_schema_evolution" = "true",
  "replicated_storage" = "true", "enable_persistent_index" = "true" (Primary Key tables) and, for materialized
  views, "storage_medium" = "HDD". A property set to another value stays, and "replication_num" always stays
  (the migrations set it). Newer releases may add further defaults: they then show as a difference, which
  `rockway schema diff` reports (the normaliser never guesses them);
- `SECURITY NONE` of a view: the default, printed by every view from 3.5 on and never before;
- the partition list of a table with "dynamic_partition.enable" = "true": the server adds and drops those
  partitions every day, so the list becomes `()` (the empty list CREATE TABLE accepts with dynamic partitions).

Fingerprints (`fingerprints`, for the schema record written after every migration) hash every column, except
counters, sizes, versions and times, of the information_schema tables the StarRocks documentation lists as
implemented (docs.starrocks.io, sql-reference/information_schema: tables, columns, tables_config, views,
materialized_views, partitions_meta; `statistics` is only a stub there, so indexes are not in the catalog) plus,
per database, the schema-change jobs of SHOW ALTER TABLE COLUMN: a bitmap, N-gram or inverted index is added or
dropped by such a job (statement_kinds.py), so the job's JobId stands for the index the catalog does not show. The
partitions of a table with dynamic partitioning are left out, as the normaliser leaves them out of its DDL. When a
query fails (a release without partitions_meta) no object has a fingerprint and every DDL is read.
"""

from __future__ import annotations

import re
from typing import Sequence

from rockway.adapters.introspection import Introspection, SchemaObject, digest, strip_line_ends
from rockway.adapters.starrocks.sql import show_text
from rockway.errors import DatabaseError, OutcomeUnknown

SERVER_DEFAULTS: dict[str, str] = {
    "compression": "LZ4",
    "fast_schema_evolution": "true",
    "replicated_storage": "true",
    "enable_persistent_index": "true",
}
MV_SERVER_DEFAULTS: dict[str, str] = {**SERVER_DEFAULTS, "storage_medium": "HDD"}

_PROPERTY = re.compile(r'^"((?:[^"\\]|\\.)*)"\s*=\s*"((?:[^"\\]|\\.)*)",?$')
_SECURITY_NONE = re.compile(r"\s+SECURITY\s+NONE(?=\s+AS\b)", re.IGNORECASE)
_DYNAMIC_PARTITIONS = re.compile(r'"dynamic_partition\.enable"\s*:\s*"true"', re.IGNORECASE)

# information_schema columns that change without a schema change: row counts and sizes, times of the last load,
# refresh or check, partition versions and compaction scores, an MV's refresh state
VOLATILE = frozenset({
    "TABLE_ROWS", "AVG_ROW_LENGTH", "DATA_LENGTH", "MAX_DATA_LENGTH", "INDEX_LENGTH", "DATA_FREE", "AUTO_INCREMENT",
    "UPDATE_TIME", "CHECK_TIME", "CHECKSUM", "PRIVILEGES",
    "IS_ACTIVE", "INACTIVE_REASON", "EXTRA_MESSAGE", "QUERY_REWRITE_STATUS", "QUERY_REWRITE_STATUS_REASON",
    "LAST_FRESHNESS_CONFIRMED_AT", "BASE_TABLE_REFRESH_VERSION_TIMES",
    "PARTITION_ID", "COMPACT_VERSION", "VISIBLE_VERSION", "VISIBLE_VERSION_TIME", "NEXT_VERSION", "DATA_VERSION",
    "VERSION_EPOCH", "VERSION_TXN_TYPE", "LAST_CONSISTENCY_CHECK_TIME", "DATA_SIZE", "ROW_COUNT", "AVG_CS", "P50_CS",
    "MAX_CS", "STORAGE_SIZE", "METADATA_SWITCH_VERSION", "TABLET_BALANCED", "LAST_UPDATE_TIME", "LAST_ACCESS_TIME",
})


def _volatile(label: str) -> bool:
    return label in VOLATILE or label.startswith("LAST_REFRESH_")  # materialized_views: the last refresh


def _properties_block(lines: list[str]) -> tuple[int, int, list[tuple[str, str]]] | None:
    """(first, last, properties) of the `PROPERTIES (` … `)` lines; None when absent or not one property a line."""
    try:
        start = next(i for i, line in enumerate(lines) if line.strip().upper() == "PROPERTIES (")
    except StopIteration:
        return None
    props: list[tuple[str, str]] = []
    for end in range(start + 1, len(lines)):
        line = lines[end].strip()
        if line.startswith(")"):
            return (start, end, props) if line == ")" else None
        match = _PROPERTY.match(line)
        if not match:
            return None
        props.append((match.group(1), match.group(2)))
    return None


def _normalize_properties(lines: list[str], defaults: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    block = _properties_block(lines)
    if block is None:
        return lines, {}
    start, end, props = block
    kept = sorted((k, v) for k, v in props if defaults.get(k) != v)
    body = [f'"{k}" = "{v}"' + ("," if i < len(kept) - 1 else "") for i, (k, v) in enumerate(kept)]
    middle = ["PROPERTIES (", *body, ")"] if kept else []
    return lines[:start] + middle + lines[end + 1:], dict(props)


def _collapse_partitions(lines: list[str]) -> list[str]:
    """`PARTITION BY RANGE(c)` followed by `()` instead of today's partitions (dynamic partitioning)."""
    try:
        start = next(i for i, line in enumerate(lines) if line.upper().startswith("PARTITION BY RANGE"))
        end = next(i for i in range(start + 1, len(lines)) if lines[i].upper().startswith("DISTRIBUTED BY"))
    except StopIteration:
        return lines
    return lines[:start + 1] + ["()"] + lines[end:]


def normalize_starrocks_ddl(kind: str, ddl: str) -> str:
    """The DDL of a StarRocks object without the server's own additions (see the module docstring)."""
    text = strip_line_ends(ddl)
    if kind == "view":  # the clause sits right before the AS of the view's head
        return _SECURITY_NONE.sub("", text, count=1)
    lines = text.splitlines()
    lines, props = _normalize_properties(lines, MV_SERVER_DEFAULTS if kind == "materialized view" else SERVER_DEFAULTS)
    if kind == "table" and props.get("dynamic_partition.enable", "").lower() == "true":
        lines = _collapse_partitions(lines)
    return "\n".join(lines)


class StarRocksIntrospection(Introspection):
    """information_schema.tables plus information_schema.materialized_views; SHOW CREATE for the DDL."""

    def objects(self, databases: Sequence[str]) -> list[SchemaObject]:
        if not databases:
            return []
        marks = ", ".join(["%s"] * len(databases))
        params = tuple(databases)
        mvs = {(show_text(r[0]), show_text(r[1])) for r in self.adapter.query(
            "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.materialized_views"
            f" WHERE TABLE_SCHEMA IN ({marks})", params)}
        found: dict[tuple[str, str], SchemaObject] = {}
        for schema, name, ttype, comment in self.adapter.query(
                "SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE, TABLE_COMMENT FROM information_schema.tables"
                f" WHERE TABLE_SCHEMA IN ({marks})", params):
            key = (show_text(schema), show_text(name))
            ttype_text = show_text(ttype).upper()
            if key in mvs:
                kind = "materialized view"
            elif ttype_text == "VIEW":
                kind = "view"
            elif ttype_text == "BASE TABLE":
                kind = "table"
            else:
                continue  # external tables and system views are not the warehouse's schema
            found[key] = SchemaObject(key[0], key[1], kind, show_text(comment))
        for key in mvs - set(found):
            found[key] = SchemaObject(key[0], key[1], "materialized view")
        return [found[k] for k in sorted(found)]

    def show_create(self, obj: SchemaObject) -> str:
        verb = {"view": "VIEW", "materialized view": "MATERIALIZED VIEW"}.get(obj.kind, "TABLE")
        return self._create_text(f"SHOW CREATE {verb} {self.adapter.qualified(obj.name, obj.database)}")

    def normalize(self, obj: SchemaObject, ddl: str) -> str:
        return normalize_starrocks_ddl(obj.kind, ddl)

    def fingerprints(self, objects: Sequence[SchemaObject]) -> dict[str, str]:
        queries = (
            ("tables", "SELECT TABLE_SCHEMA, TABLE_NAME, t.* FROM information_schema.tables t WHERE TABLE_SCHEMA {where}"),
            ("columns", "SELECT TABLE_SCHEMA, TABLE_NAME, c.* FROM information_schema.columns c"
                        " WHERE TABLE_SCHEMA {where}"),
            ("tables_config", "SELECT TABLE_SCHEMA, TABLE_NAME, tc.* FROM information_schema.tables_config tc"
                              " WHERE TABLE_SCHEMA {where}"),
            ("views", "SELECT TABLE_SCHEMA, TABLE_NAME, v.* FROM information_schema.views v WHERE TABLE_SCHEMA {where}"),
            ("materialized_views", "SELECT TABLE_SCHEMA, TABLE_NAME, mv.* FROM information_schema.materialized_views mv"
                                   " WHERE TABLE_SCHEMA {where}"),
            ("partitions_meta", "SELECT DB_NAME, TABLE_NAME, p.* FROM information_schema.partitions_meta p"
                                " WHERE DB_NAME {where}"),
        )
        rows = self._catalog_rows(objects, queries, _volatile)
        if rows is None:
            return {}
        # schema-change jobs, index changes among them (see the module docstring)
        for database in sorted({obj.database for obj in objects}):
            try:
                jobs = self.adapter.query_dicts(f"SHOW ALTER TABLE COLUMN FROM {self.adapter.quote_ident(database)}")
            except OutcomeUnknown:
                raise
            except DatabaseError:
                return {}
            for job in jobs:
                rows.setdefault(f"{database}.{show_text(job.get('TableName'))}", []).append(
                    f"column_jobs\x1fJobId={show_text(job.get('JobId'))}\x1fState={show_text(job.get('State'))}")
        out: dict[str, str] = {}
        for obj in objects:
            lines = rows.get(obj.qualified, [])
            if any(line.startswith("tables_config") and _DYNAMIC_PARTITIONS.search(line) for line in lines):
                lines = [line for line in lines if not line.startswith("partitions_meta")]
            out[obj.qualified] = digest(lines)
        return out
