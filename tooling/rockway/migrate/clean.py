"""`migrate clean`: drop every object the applied scripts created, newest first, then rockway's own tables."""

from __future__ import annotations

from typing import Sequence

from rockway.config import Settings
from rockway.errors import UsageError
from rockway.migrate.dependencies import created_object
from rockway.migrate.lock import migration_lock
from rockway.migrate.project import Session
from rockway.model import RowType


def refuse_unless_enabled(settings: Settings) -> None:
    """UsageError unless clean_enabled is set for this environment."""
    if not settings.clean_enabled:
        raise UsageError(f"clean is disabled for environment {settings.env or '(default)'}",
                         hint="Set clean_enabled = true in that [env.NAME] section (never for production).")


def clean(session: Session, run_id: str, *, own_tables: Sequence[str], dry_run: bool = False) -> list[str]:
    """The DROP statements, run unless `dry_run`: the applied scripts' objects, then `own_tables` (rockway's
    tables other than the history), then the history table."""
    settings, adapter, project = session.settings, session.adapter, session.project
    dropped: list[str] = []
    with migration_lock(adapter, settings, run_id):
        by_name = {s.name: s for s in project.scripts}
        objects: list[tuple[str, str]] = []
        for row in session.history.rows():
            script = by_name.get(row.script)
            if script is None or row.type is not RowType.SQL:
                continue
            for stmt in project.statements(script):
                created = created_object(stmt.sql)
                if created:
                    objects.append((created.kind, created.name))
        seen: set[tuple[str, str]] = set()
        for kind, name in reversed(objects):
            if (kind, name) in seen:
                continue
            seen.add((kind, name))
            sql = f"DROP {kind} IF EXISTS {name}"
            dropped.append(sql)
            if not dry_run:
                adapter.execute(sql)
        for table in own_tables:
            sql = f"DROP TABLE IF EXISTS {adapter.qualified(table)}"
            dropped.append(sql)
            if not dry_run:
                adapter.execute(sql)
        sql = f"DROP TABLE IF EXISTS {adapter.qualified(settings.history_table)}"
        dropped.append(sql)
        if not dry_run:
            session.history.drop()
    return dropped
