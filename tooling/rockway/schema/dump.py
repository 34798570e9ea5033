"""`rockway schema dump`: one file per table, view and materialized view, `<database>/<object>.sql`.

A file is its header (header.py) as `--` comment lines, then the normalised DDL and a ';'. With live row
counts a `-- Rows: n` line is added; `schema diff` ignores that line (ROWS_PREFIX), so a dump with counts
still matches the live schema.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from rockway.adapters.base import Adapter
from rockway.model import AppliedRow
from rockway.observability.redaction import redact_secrets
from rockway.schema.header import Header, build_headers, describe_kind
from rockway.schema.live import LiveObject, read_live, row_counts
from rockway.schema.scope import Scope, schema_scope

ROWS_PREFIX = "-- Rows:"


@dataclass(frozen=True)
class SchemaFile:
    """One file of the dump: its path below the output folder and its text."""

    path: str  # <database>/<object>.sql, '/'-separated
    text: str
    item: LiveObject


@dataclass
class DumpResult:
    files: list[SchemaFile]
    written: list[str]  # paths whose content changed or that are new
    removed: list[str]  # files of objects that no longer exist


def _block(title: str, lines: Sequence[str]) -> list[str]:
    if not lines:
        return []
    return [f"-- {title}:"] + [f"--   {line}" for line in lines]


def render_file(item: LiveObject, header: Header, rows: int | str | None = None) -> str:
    """The text of one schema file."""
    kind = describe_kind(item)
    lines = [f"-- {kind[0].upper() + kind[1:]}: {item.qualified}"]
    purpose = " ".join(header.purpose.split())
    lines.append(f"-- Purpose: {purpose}" if purpose else "-- Purpose: (no COMMENT)")
    lines += _block("History", header.history) or ["-- History: (created outside rockway's migrations)"]
    lines += _block("Written by", header.writers)
    lines += _block("Read by", header.readers)
    if rows is not None:
        lines.append(f"{ROWS_PREFIX} {rows}")
    # the COMMENT in the header is the server's text too: secrets in it are masked like those of the DDL (live.py)
    return redact_secrets("\n".join(lines)) + "\n" + item.ddl + ";\n"


def file_path(item: LiveObject) -> str:
    return f"{item.obj.database}/{item.obj.name}.sql"


def apply_aliases(text: str, aliases: Mapping[str, str]) -> str:
    """text with each database name of `aliases` replaced by its alias, where it stands as a whole name."""
    if not aliases:
        return text
    pattern = re.compile(r"(?<![\w$])(" + "|".join(re.escape(a) for a in sorted(aliases, key=len, reverse=True))
                         + r")(?![\w$])")
    return pattern.sub(lambda m: aliases[m.group(1)], text)


def schema_files(adapter: Adapter, settings: Any, project: Any, rows: Sequence[AppliedRow], *,
                 live_counts: bool = False, scope: Scope | None = None,
                 aliases: Mapping[str, str] | None = None) -> list[SchemaFile]:
    """The files of the live schema (project: migrate/project.py's Project rendered for the connected engine).

    `aliases` (database name -> name to write) lets a rehearsal on prefixed databases produce the files of the
    real ones: folders, headers and DDL then name the aliases."""
    scope = scope or schema_scope(settings, project, adapter.database)
    live = read_live(adapter, scope)
    headers = build_headers(settings, project, rows, live, adapter.database)
    counts: Mapping[str, int | str] = row_counts(adapter, live) if live_counts else {}
    names = dict(aliases or {})
    return [SchemaFile(apply_aliases(file_path(item), names),
                       apply_aliases(render_file(item, headers[item.qualified], counts.get(item.qualified)), names), item)
            for item in live]


def write_files(files: Sequence[SchemaFile], out_dir: Path) -> DumpResult:
    """Write the files; remove `.sql` files of the dumped databases' folders that no object has any more."""
    out_dir = Path(out_dir)
    written: list[str] = []
    wanted = {f.path for f in files}
    for f in files:
        target = out_dir / f.path
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.is_file() or target.read_text(encoding="utf-8") != f.text:
            target.write_text(f.text, encoding="utf-8")
            written.append(f.path)
    removed: list[str] = []
    for database in sorted({f.path.split("/", 1)[0] for f in files}):
        for path in sorted((out_dir / database).glob("*.sql")):
            rel = f"{database}/{path.name}"
            if rel not in wanted:
                path.unlink()
                removed.append(rel)
    return DumpResult(list(files), written, removed)
