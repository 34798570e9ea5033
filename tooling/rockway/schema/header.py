"""The comment header of a schema file: what the object is for, which migrations made it, who writes and reads it.

Everything here is a function of the project's files, the history table and the live DDL, never of the clock,
so a file changes only when one of those does:
- Purpose: the object's COMMENT; when it has none (MariaDB views cannot have one), the `Purpose:` line of
  the script header that documents it (docs/catalog.py);
- History: the applied scripts (history table, oldest first) whose statements create, alter or drop it;
- Written by: the jobs whose target it is, with their pipelines and the cron lines that run those pipelines
  (the jobs/ and cron.d/ files as docs/context.py reads them);
- Read by: the views and materialized views whose scripts read it (dependencies.py); a view whose text asks
  who is querying (current_user(), USER(), is_role_in_session) is a secure view.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from rockway.config import Settings
from rockway.cron import rockway_argv
from rockway.docs.context import DocsContext
from rockway.migrate.dependencies import referenced_tables
from rockway.migrate.project import Project
from rockway.model import AppliedRow, Kind, RowType
from rockway.schema.live import LiveObject
from rockway.schema.scope import ddl_target, qualify, statement_body

_AS_QUERY = re.compile(r"\bAS\s*(\(?\s*(?:SELECT|WITH)\b.*)$", re.IGNORECASE | re.DOTALL)
_WHO_ASKS = re.compile(r"\b(?:current_user|user|is_role_in_session)\s*\(", re.IGNORECASE)


@dataclass(frozen=True)
class Header:
    purpose: str = ""
    history: tuple[str, ...] = ()
    writers: tuple[str, ...] = ()
    readers: tuple[str, ...] = ()


@dataclass
class _Facts:
    purpose: dict[str, str] = field(default_factory=dict)
    history: dict[str, list[str]] = field(default_factory=dict)
    writers: dict[str, list[str]] = field(default_factory=dict)
    readers: dict[str, list[str]] = field(default_factory=dict)


def describe_kind(item: LiveObject) -> str:
    if item.kind == "view" and _WHO_ASKS.search(item.ddl):
        return "secure view"
    return item.kind


def _history(project: Project, rows: Sequence[AppliedRow], database: str | None, facts: _Facts) -> None:
    by_name = {s.name: s for s in project.scripts}
    seen: set[tuple[str, str]] = set()
    for row in rows:
        if not row.success or row.type not in (RowType.SQL, RowType.UNDO_SQL):
            continue
        script = by_name.get(row.script)  # the project-relative path, as the executor records it
        if script is None:
            continue
        verbs: dict[str, list[str]] = {}
        for stmt in project.statements(script):
            target = ddl_target(stmt.sql)
            where = qualify(target, database) if target else None
            if target and where and target.verb not in verbs.setdefault(where, []):
                verbs[where].append(target.verb)
        for where, done in verbs.items():
            if (where, script.name) in seen:  # a repeatable applied again: listed once
                continue
            seen.add((where, script.name))
            facts.history.setdefault(where, []).append(f"{script.name}: {', '.join(done)}")


def _writers(settings: Settings, facts: _Facts) -> None:
    ctx = DocsContext(Path(settings.project_dir), settings)
    runs: dict[str, list[str]] = {}
    for cron in ctx.cron_files:
        for entry in cron.entries:
            argv = rockway_argv(entry.command) or []
            if len(argv) > 2 and argv[1] == "run":
                zone = f" {entry.time_zone}" if entry.time_zone else ""
                runs.setdefault(argv[2], []).append(f'cron "{entry.schedule}"{zone} ({entry.file})')
    for job, spec in ctx.jobs.items():
        target = ctx.render_name(str(spec.get("target", ""))).replace("`", "").strip()
        if not target:
            continue
        pipelines = ctx.pipelines_of(job)
        where = "; ".join(f"pipeline {p}" + (f", {', '.join(runs[p])}" if runs.get(p) else "") for p in pipelines)
        facts.writers.setdefault(target, []).append(f"job {job} ({spec.get('_file', 'jobs/')})"
                                                    + (f": {where}" if where else ": no pipeline"))
    for view in ctx.views + ctx.tables:
        if view.purpose:
            facts.purpose.setdefault(view.qualified, view.purpose)


def _query_part(sql: str) -> str | None:
    """The SELECT of a CREATE VIEW / MATERIALIZED VIEW statement (whatever clauses precede its AS)."""
    match = _AS_QUERY.search(statement_body(sql))
    return match.group(1) if match else None


def _readers(project: Project, live: Sequence[LiveObject], database: str | None, facts: _Facts) -> None:
    by_name = {item.qualified: item for item in live}
    by_short: dict[str, list[LiveObject]] = {}
    for item in live:
        by_short.setdefault(item.obj.name.lower(), []).append(item)
    for script in project.scripts:
        if script.kind is Kind.UNDO:
            continue
        for stmt in project.statements(script):
            target = ddl_target(stmt.sql)
            where = qualify(target, database) if target and target.verb == "created" else None
            reader = by_name.get(where or "")
            query = _query_part(stmt.sql) if reader is not None and reader.kind != "table" else None
            if reader is None or query is None:
                continue
            for name in sorted(referenced_tables(query)):  # names without database: matched by object name
                for source in by_short.get(name, []):
                    line = f"{describe_kind(reader)} {reader.qualified}"
                    if source is not reader and line not in facts.readers.setdefault(source.qualified, []):
                        facts.readers[source.qualified].append(line)


def build_headers(settings: Settings, project: Project, rows: Sequence[AppliedRow], live: Sequence[LiveObject],
                  database: str | None) -> dict[str, Header]:
    """The header of each live object, keyed by `db.name`."""
    facts = _Facts()
    _history(project, rows, database, facts)
    _writers(settings, facts)
    _readers(project, live, database, facts)
    out = {}
    for item in live:
        key = item.qualified
        out[key] = Header(purpose=item.obj.comment or facts.purpose.get(key, ""),
                          history=tuple(facts.history.get(key, ())),
                          writers=tuple(sorted(facts.writers.get(key, ()))),
                          readers=tuple(sorted(facts.readers.get(key, ()))))
    return out
