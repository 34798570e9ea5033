"""The schema after each `migrate up` of the undo round trip, and what differs between them.

The snapshot is the normalised per-object DDL of schema/live.py (`read_live`) over the project's managed
databases (schema/scope.py `schema_scope`), the same text `rockway schema dump` writes. The round trip
compares the schema before each V script with the schema after its U script (`undo_differences`, named by
the U script), and the schema after the first and the second up (`compare`: a difference is named by the U
script of the newest V that creates or alters the object, else by the R script that defines it).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

from rockway.adapters.base import Adapter
from rockway.config import Settings
from rockway.model import Kind
from rockway.schema.live import read_live
from rockway.schema.scope import Scope, ddl_target, qualify, schema_scope


@dataclass(frozen=True)
class Snapshot:
    """qualified name -> normalised DDL (or `-- unreadable: …`)."""

    objects: dict[str, str]
    kinds: dict[str, str] = field(default_factory=dict)


def take(adapter: Adapter, settings: Settings, project: Any) -> Snapshot:
    scope: Scope = schema_scope(settings, project, adapter.database)
    objects: dict[str, str] = {}
    kinds: dict[str, str] = {}
    for item in read_live(adapter, scope):
        objects[item.qualified] = item.ddl
        kinds[item.qualified] = item.kind
    return Snapshot(objects, kinds)


@dataclass(frozen=True)
class Difference:
    """One object the round trip changed: `changed`, `missing` (after the second up) or `left behind`
    (still there after rolling back to zero)."""

    name: str
    status: str
    script: str | None  # the script to look at
    diff: str = ""

    def describe(self) -> str:
        blame = f" (look at {self.script})" if self.script and self.script not in self.status else ""
        return f"{self.name}: {self.status}{blame}"


def blame_map(project: Any) -> tuple[dict[str, str], dict[str, str]]:
    """(object -> U script of the newest V that creates or alters it, object -> R script that defines it)."""
    scripts = project.scripts
    undo = {s.version: s.name for s in scripts if s.kind is Kind.UNDO}
    by_undo: dict[str, str] = {}
    versioned = sorted((s for s in scripts if s.kind is Kind.VERSIONED), key=lambda s: s.version)
    for script in versioned:
        for stmt in project.statements(script):
            target = ddl_target(stmt.sql)
            name = qualify(target, project.database) if target else None
            if name and target and target.verb in ("created", "altered"):
                by_undo[name.lower()] = undo.get(script.version, f"U{script.version} (missing)")
    by_repeatable: dict[str, str] = {}
    for script in scripts:
        if script.kind is Kind.REPEATABLE:
            for stmt in project.statements(script):
                target = ddl_target(stmt.sql)
                name = qualify(target, project.database) if target else None
                if name and target and target.verb == "created":
                    by_repeatable[name.lower()] = script.name
    return by_undo, by_repeatable


def _diff(name: str, before: str, after: str, sides: tuple[str, str] = ("first up", "second up")) -> str:
    lines = difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                 fromfile=f"{sides[0]}/{name}", tofile=f"{sides[1]}/{name}")
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def undo_differences(before: Snapshot, after: Snapshot, undo_script: str, version: str,
                     repeatable_objects: set[str]) -> list[Difference]:
    """What differs between the schema before V<version> ran and after its U script ran; objects that R scripts
    define are left out (a rollback keeps views, and `migrate up --target` runs no R script)."""
    out: list[Difference] = []
    for name in sorted(set(before.objects) | set(after.objects)):
        if name.lower() in repeatable_objects:
            continue
        old, new = before.objects.get(name), after.objects.get(name)
        if old == new:
            continue
        status = (f"left behind by {undo_script}" if old is None else f"dropped by {undo_script}, V{version} did not"
                  " create it" if new is None else f"not restored by {undo_script}")
        out.append(Difference(name, status, undo_script,
                              _diff(name, old or "", new or "", (f"before V{version}", f"after {undo_script}"))))
    return out


def compare(first: Snapshot, second: Snapshot, project: Any, *, sides: tuple[str, str] = ("first up", "second up"),
            blame: bool = True) -> list[Difference]:
    """Objects whose DDL differs between two snapshots (the first and the second `migrate up`, or before and
    after a release); with blame, each is named by the script to look at."""
    by_undo, by_repeatable = blame_map(project) if blame else ({}, {})
    out: list[Difference] = []
    for name in sorted(set(first.objects) | set(second.objects)):
        before, after = first.objects.get(name), second.objects.get(name)
        if before == after:
            continue
        status = f"missing after the {sides[1]}" if after is None else (
            f"new after the {sides[1]}" if before is None else "changed")
        script = by_undo.get(name.lower()) or by_repeatable.get(name.lower())
        out.append(Difference(name, status, script, _diff(name, before or "", after or "", sides)))
    return out
