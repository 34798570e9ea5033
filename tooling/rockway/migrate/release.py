"""The table rewrites a release starts (lint/rewrites.py), as `lint`, `migrate info` and `migrate up --dry-run`
report them, and the column changes `lint --fix` merges.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

from rockway.errors import InputError, UsageError
from rockway.lint.rewrites import (Kept, Merge, Rewrite, merge_column_changes, repeated_rewrites, script_rewrites,
                                   unified_diff)
from rockway.migrate.project import Project
from rockway.model import Kind, MigrationInfo, Script, State, Statement, Step


@dataclass(frozen=True)
class ScriptFix:
    """Merges `lint --fix` makes (or, with --check, would make) in one versioned script; `diff` is unified."""

    script: Script
    merges: tuple[Merge, ...]
    kept: tuple[Kept, ...]
    diff: str
    text: str  # the script with the merges made


@dataclass(frozen=True)
class ReleaseRewrites:
    """The table rewrites of a release and the fixes merging would make."""

    scripts: tuple[str, ...]  # the release: script names, in the order migrate up runs them
    rewrites: tuple[Rewrite, ...]  # in release order
    repeated: dict[str, list[Rewrite]]  # table -> its rewrites, for tables rewritten more than once
    fixes: tuple[ScriptFix, ...] = ()
    written: bool = False  # the fixes were written to the scripts

    def to_dict(self) -> dict[str, object]:
        """Plain data for --json."""
        return {"scripts": list(self.scripts), "rewrites": len(self.rewrites),
                "tables_rewritten_more_than_once": {t: [r.to_dict() for r in found]
                                                    for t, found in self.repeated.items()},
                "fixes": [{"script": f.script.name, "merges": [m.to_dict() for m in f.merges],
                           "kept": [k.to_dict() for k in f.kept], "diff": f.diff} for f in self.fixes],
                "written": self.written}


def release_rewrites(project: Project, refs: Sequence[str] = (), *,
                     pending_infos: Callable[[], Sequence[MigrationInfo]] | None = None, fix: bool = False,
                     write: bool = False, assume_pending: bool = False) -> ReleaseRewrites:
    """Table rewrites across a release: with `pending_infos` (the environment's `migrate info`), the scripts its
    history has not applied (V pending, R pending or changed); otherwise the named scripts, or every V script.

    With `fix`, merge adjacent column changes in the release's versioned scripts that are certainly not applied:
    pending in the history, or vouched for by the caller (`assume_pending`); with `write`, save them.
    """
    named = project.select(refs) if refs else None  # a script that does not exist is named first (exit 2)
    if fix and not (pending_infos is not None or assume_pending):
        raise UsageError("--fix/--check edit versioned scripts, and an applied script must never change (its checksum "
                         "is history)", hint="Add --pending (reads the environment's history) or --assume-pending "
                                             "(you vouch that the scripts linted were never applied anywhere).")
    if pending_infos is not None:
        chosen = [i.script for i in pending_infos()
                  if i.script is not None and i.state in (State.PENDING, State.OUTDATED) and i.kind is not Kind.UNDO]
        scripts = [s for s in chosen if named is None or s in named]
    else:
        scripts = named if named is not None else [s for s in project.scripts if s.kind is Kind.VERSIONED]
        scripts = [s for s in scripts if s.kind is not Kind.UNDO]
    versioned = sorted((s for s in scripts if s.kind is Kind.VERSIONED),
                       key=lambda s: s.version)  # type: ignore[arg-type,return-value]  # a V script has one
    scripts = versioned + [s for s in scripts if s.kind is Kind.REPEATABLE]
    fixes: list[ScriptFix] = []
    if fix:
        for script in versioned:
            result = merge_column_changes(script.source)
            if result.changed or result.kept:
                diff = unified_diff(script.name, script.source, result.text) if result.changed else ""
                fixes.append(ScriptFix(script, result.merges, result.kept, diff, result.text))
        if write:
            for item in fixes:
                if item.merges:
                    _write_script(item.script, item.text)
            project = Project(project.settings, project.engine, project.database)  # the scripts as written
            by_name = {s.name: s for s in project.scripts}
            scripts = [by_name[s.name] for s in scripts]
    found = [r for s in scripts for r in script_rewrites(s.name, project.statements(s))]
    return ReleaseRewrites(tuple(s.name for s in scripts), tuple(found), repeated_rewrites(found),
                           tuple(fixes), write and any(f.merges for f in fixes))


def _write_script(script: Script, text: str) -> None:
    """Save a script's new text, keeping its byte-order mark and line endings (discovery reads LF, BOM-less)."""
    raw = script.path.read_bytes()
    body = text.replace("\n", "\r\n") if b"\r\n" in raw else text
    script.path.write_bytes((b"\xef\xbb\xbf" if raw.startswith(b"\xef\xbb\xbf") else b"") + body.encode("utf-8"))


def pending_rewrites(project: Project, infos: Sequence[MigrationInfo]) -> dict[str, list[Rewrite]]:
    """Rewrites each pending migration of `migrate info` starts, by script name.

    A script that does not render is left out: `migrate info` must still show the states; `migrate validate`
    and `lint` report the template error.
    """
    out: dict[str, list[Rewrite]] = {}
    for i in infos:
        if i.script is None or i.state not in (State.PENDING, State.OUTDATED) or i.kind is Kind.UNDO:
            continue
        try:
            out[i.script.name] = script_rewrites(i.script.name, project.statements(i.script))
        except InputError:
            continue
    return out


@dataclass(frozen=True)
class StepPreview:
    """What a dry run shows of one step: its statements from where it starts, and the table rewrites they start."""

    step: Step
    statements: list[Statement]
    rewrites: list[Rewrite]


def preview(project: Project, steps: Sequence[Step]) -> Iterator[StepPreview]:
    """Each step's statements (from `start_at` on) and their table rewrites, rendered as they are asked for."""
    for step in steps:
        statements = project.statements(step.script)[step.start_at - 1:]
        yield StepPreview(step, statements, script_rewrites(step.script.name, statements))
