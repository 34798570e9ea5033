"""Which objects rockway manages: the databases the project's scripts create or write DDL into.

The databases are read from the scripts rendered for the connected engine: every `CREATE DATABASE` and the
database of every qualified CREATE/ALTER/DROP of a table, view or materialized view, plus the connection's
database (rockway's history lives there, and unqualified DDL lands there). `[schema] databases` in
rockway.toml replaces that list (names may use the template variables, e.g. "{{ dw_db }}").

Left out in every database: rockway's own tables (the history table and every `rockway_*` table: run locks,
lock owners, the schema snapshot) and the jobs' work tables `rw_*` (named by jobs/sqlgen.py `work_name`,
re-created by every load). `[schema] exclude` adds patterns (fnmatch; a pattern with a '.' is matched against
`db.name`, one without against the object's name).
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from rockway.config import CONFIG_FILE, Settings, read_project_toml, validate_identifier
from rockway.errors import ConfigError
from rockway.model import Kind, Statement

SECTION = "schema"
ALWAYS_EXCLUDED = ("rockway_*", "rw_*")

_LEADING_COMMENTS = re.compile(r"^(?:\s*(?:--[^\n]*\n|#[^\n]*\n|/\*.*?\*/))*\s*", re.DOTALL)
_NAME = r"(?P<name>(?:`[^`]+`|[\w$]+)(?:\s*\.\s*(?:`[^`]+`|[\w$]+))?)"
_CREATE_DB = re.compile(r"^CREATE\s+(?:DATABASE|SCHEMA)\s+(?:IF\s+NOT\s+EXISTS\s+)?" + _NAME, re.IGNORECASE)
_OBJECT_DDL = re.compile(
    r"^(?P<verb>CREATE|ALTER|DROP)\s+(?:OR\s+REPLACE\s+)?(?:ALGORITHM\s*=\s*\w+\s+)?(?:DEFINER\s*=\s*\S+\s+)?"
    r"(?:SQL\s+SECURITY\s+\w+\s+)?(?:TEMPORARY\s+|EXTERNAL\s+)?(?P<kind>MATERIALIZED\s+VIEW|VIEW|TABLE)\s+"
    r"(?:IF\s+(?:NOT\s+)?EXISTS\s+)?" + _NAME, re.IGNORECASE)
_CREATE_INDEX = re.compile(r"^CREATE\s+(?:UNIQUE\s+)?INDEX\s+\S+\s+ON\s+" + _NAME, re.IGNORECASE)
_VERBS = {"CREATE": "created", "ALTER": "altered", "DROP": "dropped"}


@dataclass(frozen=True)
class DdlTarget:
    """The object one DDL statement creates, alters or drops."""

    database: str | None  # None: the connection's database
    name: str
    verb: str  # created | altered | dropped


def _ident(part: str) -> str:
    return part.strip().strip("`")


def _split(name: str) -> tuple[str | None, str]:
    parts = [_ident(p) for p in re.split(r"\s*\.\s*(?=(?:`|[\w$]))", name.strip())]
    return (parts[0], parts[1]) if len(parts) == 2 else (None, parts[0])


def statement_body(sql: str) -> str:
    """The statement without the comments in front of it."""
    return sql[_LEADING_COMMENTS.match(sql).end():]  # type: ignore[union-attr]


def ddl_target(sql: str) -> DdlTarget | None:
    """The table, view or MV a CREATE/ALTER/DROP (or CREATE INDEX … ON) statement is about; None for others."""
    body = statement_body(sql)
    match = _OBJECT_DDL.match(body)
    if match:
        database, name = _split(match.group("name"))
        return DdlTarget(database, name, _VERBS[match.group("verb").upper()])
    match = _CREATE_INDEX.match(body)
    if match:
        database, name = _split(match.group("name"))
        return DdlTarget(database, name, "altered")
    return None


def created_database(sql: str) -> str | None:
    match = _CREATE_DB.match(statement_body(sql))
    return _split(match.group("name"))[1] if match else None


@dataclass(frozen=True)
class Scope:
    """The databases whose objects rockway manages, and the object names it leaves out."""

    databases: tuple[str, ...]
    exclude: tuple[str, ...]

    def includes(self, database: str, name: str) -> bool:
        """False when a pattern matches: one with a '.' is matched against `db.name`, one without against `name`."""
        qualified = f"{database}.{name}"
        return not any(fnmatch.fnmatchcase(qualified if "." in p else name, p) for p in self.exclude)


def _section(project_dir: Path) -> dict[str, Any]:
    path = Path(project_dir) / CONFIG_FILE
    section = read_project_toml(project_dir).get(SECTION, {})
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: [{SECTION}] must be a table")
    unknown = set(section) - {"databases", "exclude"}
    if unknown:
        raise ConfigError(f"{path}: [{SECTION}] has unknown key(s) {', '.join(sorted(unknown))}",
                          hint="Known: databases, exclude")
    for key in ("databases", "exclude"):
        value = section.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{path}: [{SECTION}] {key} must be a list of strings")
    return section


def databases_of(statements: Iterable[Statement], default_database: str | None) -> list[str]:
    """Databases named by CREATE DATABASE and by qualified object DDL, in first-seen order."""
    seen: list[str] = []
    for stmt in statements:
        target = ddl_target(stmt.sql)
        name = created_database(stmt.sql) or (target.database or default_database if target else None)
        if name and name not in seen:
            seen.append(name)
    return seen


def schema_scope(settings: Settings, project: Any, database: str | None) -> Scope:
    """The scope for this project (`project`: migrate/project.py's Project rendered for the connected engine)."""
    section = _section(settings.project_dir)
    if section.get("databases"):
        names = [project.renderer.render_text(d, f"{CONFIG_FILE} [{SECTION}] databases") for d in section["databases"]]
    else:
        statements: list[Statement] = []
        for script in project.scripts:
            if script.kind is not Kind.UNDO:
                statements += project.statements(script)
        names = databases_of(statements, database)
        if database and database not in names:
            names.insert(0, database)
    databases = tuple(dict.fromkeys(validate_identifier(n.strip(), f"[{SECTION}] database") for n in names if n.strip()))
    exclude = (settings.history_table, *ALWAYS_EXCLUDED, *section.get("exclude", []))
    return Scope(databases, tuple(exclude))


def qualify(target: DdlTarget, default_database: str | None) -> str | None:
    database = target.database or default_database
    return f"{database}.{target.name}" if database else None
