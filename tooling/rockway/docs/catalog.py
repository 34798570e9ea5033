"""The table catalog: each migration's header comment plus what its StarRocks DDL says.

A table script starts with a header of `-- Field: text` lines (continued on `--` lines that name no field):
`Table:` (`db.name`), `Purpose:`, `Source:`, `Refresh:`, `Owner:`. Repeatable scripts use `View:` or
`Materialized view:` instead of `Table:`. The header is rendered with the project's variables; the key model,
partitioning and distribution are read from the script rendered for StarRocks, so they are what production
gets, not what the macro call looks like.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from rockway.migrate.dependencies import created_object
from rockway.model import Kind, Script

__all__ = ["CatalogEntry", "read_header", "table_catalog", "view_catalog", "parse_ddl", "row_counts"]

HEADER_FIELDS = ("Table", "View", "Materialized view", "Purpose", "Source", "Refresh", "Owner")
_FIELD = re.compile(r"^--\s*(" + "|".join(re.escape(f) for f in HEADER_FIELDS) + r")\s*:\s?(.*)$", re.IGNORECASE)
_KEY = re.compile(r"\b(PRIMARY|DUPLICATE|UNIQUE|AGGREGATE)\s+KEY\s*\(([^)]*)\)", re.IGNORECASE)
_PARTITION = re.compile(r"\bPARTITION\s+BY\s+(.+?)(?=\s*(?:\bDISTRIBUTED\b|\bPROPERTIES\b|\bORDER\s+BY\b|\bREFRESH\b|$))",
                        re.IGNORECASE | re.DOTALL)
_DISTRIBUTED = re.compile(r"\bDISTRIBUTED\s+BY\s+(HASH\s*\([^)]*\)|RANDOM)(\s+BUCKETS\s+\d+)?", re.IGNORECASE)


@dataclass(frozen=True)
class CatalogEntry:
    """One table (or view) of the warehouse as its script documents and creates it."""

    name: str
    database: str
    kind: str  # table | view | materialized view
    script: str  # project-relative file name
    purpose: str = ""
    source: str = ""
    refresh: str = ""
    owner: str = ""
    key_model: str = ""  # e.g. PRIMARY KEY
    key_columns: str = ""  # e.g. customer_sk
    partitioning: str = ""  # the PARTITION BY expression
    distribution: str = ""  # e.g. HASH (vbeln)

    @property
    def qualified(self) -> str:
        return f"{self.database}.{self.name}" if self.database else self.name


def header_text(source: str) -> str:
    """The leading comment header of a script's source (lines before it that are Jinja or blank are skipped)."""
    out: list[str] = []
    started = False
    for line in source.splitlines():
        stripped = line.strip()
        if stripped.startswith("--"):
            if not started and not _FIELD.match(stripped):
                continue
            started = True
            out.append(stripped)
        elif started:
            break
        elif stripped and not stripped.startswith(("{%", "{#", "#}")) and not stripped.endswith(("%}", "#}")):
            break
    return "\n".join(out) + ("\n" if out else "")


def read_header(text: str) -> dict[str, str]:
    """Fields of a (rendered) header: lower-cased field name -> text with continuation lines joined."""
    fields: dict[str, list[str]] = {}
    current: str | None = None
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped.startswith("--"):
            if fields:
                break
            continue
        match = _FIELD.match(stripped)
        if match:
            current = match.group(1).lower()
            fields.setdefault(current, []).append(match.group(2).strip())
        elif current is not None:
            fields[current].append(stripped.lstrip("-").strip())
    return {k: re.sub(r"\s+", " ", " ".join(v)).strip() for k, v in fields.items()}


def parse_ddl(sql: str) -> dict[str, str]:
    """Key model, key columns, partitioning and distribution of a CREATE TABLE / MATERIALIZED VIEW statement."""
    out = {"key_model": "", "key_columns": "", "partitioning": "", "distribution": ""}
    head = sql.split(" AS\n", 1)[0] if re.search(r"MATERIALIZED\s+VIEW", sql, re.IGNORECASE) else sql
    key = _KEY.search(head)
    if key:
        out["key_model"] = f"{key.group(1).upper()} KEY"
        out["key_columns"] = ", ".join(c.strip() for c in key.group(2).split(","))
    part = _PARTITION.search(head)
    if part:
        out["partitioning"] = re.sub(r"\s+", " ", part.group(1)).strip()
    dist = _DISTRIBUTED.search(head)
    if dist:
        out["distribution"] = re.sub(r"\s+", " ", (dist.group(1) + (dist.group(2) or ""))).strip()
    return out


def _split_name(qualified: str) -> tuple[str, str]:
    qualified = qualified.strip().strip("`")
    if "." in qualified:
        db, _, name = qualified.partition(".")
        return db.strip("`"), name.strip("`")
    return "", qualified


def table_catalog(scripts: Sequence[Script], render_header: Callable[[Script, str], str],
                  statements: Callable[[Script], Sequence[Any]]) -> list[CatalogEntry]:
    """One entry per V script whose header has `Table:`, in version order.

    `render_header(script, text)` renders header text with the project's variables; `statements(script)`
    gives the script's statements rendered for StarRocks (objects with `.sql`)."""
    out = []
    for script in scripts:
        if script.kind is not Kind.VERSIONED:
            continue
        fields = read_header(render_header(script, header_text(script.source)))
        if "table" not in fields:
            continue
        database, name = _split_name(fields["table"])
        ddl: dict[str, str] = {}
        for stmt in statements(script):
            created = created_object(stmt.sql)
            if created and created.kind == "TABLE" and _split_name(created.name)[1] == name:
                ddl = parse_ddl(stmt.sql)
                break
        out.append(CatalogEntry(name=name, database=database, kind="table", script=script.name,
                                purpose=fields.get("purpose", ""), source=fields.get("source", ""),
                                refresh=fields.get("refresh", ""), owner=fields.get("owner", ""), **ddl))
    return out


def view_catalog(scripts: Sequence[Script], render_header: Callable[[Script, str], str]) -> list[CatalogEntry]:
    """One entry per R script whose header has `View:` or `Materialized view:`, in name order."""
    out = []
    for script in scripts:
        if script.kind is not Kind.REPEATABLE:
            continue
        fields = read_header(render_header(script, header_text(script.source)))
        kind = "materialized view" if "materialized view" in fields else "view" if "view" in fields else None
        if kind is None:
            continue
        database, name = _split_name(fields[kind])
        out.append(CatalogEntry(name=name, database=database, kind=kind, script=script.name,
                                purpose=fields.get("purpose", ""), source=fields.get("source", ""),
                                refresh=fields.get("refresh", ""), owner=fields.get("owner", "")))
    return out


def row_counts(entries: Sequence[CatalogEntry], query: Callable[[str], list[tuple[Any, ...]]],
               quote: Callable[[str], str]) -> dict[str, int | str]:
    """Live `COUNT(*)` of each table, keyed by `db.name`; a failed count is its error text (never raises)."""
    counts: dict[str, int | str] = {}
    for entry in entries:
        target = ".".join(quote(p) for p in (entry.database, entry.name) if p)
        try:
            rows = query(f"SELECT COUNT(*) FROM {target}")
            counts[entry.qualified] = int(rows[0][0]) if rows else 0
        except Exception as exc:  # noqa: BLE001 - a missing table is reported in the table, not raised
            counts[entry.qualified] = f"error: {str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__}"
    return counts
