"""`migrate validate`: what in the history and the scripts a person must look at before `migrate up` runs on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from rockway.errors import InputError, ValidationFailed
from rockway.migrate.project import Project
from rockway.model import Kind, MigrationInfo, State


@dataclass(frozen=True)
class Problem:
    """One thing `validate` objects to."""

    kind: str
    label: str
    message: str


def problems(project: Project, infos: Sequence[MigrationInfo]) -> list[Problem]:
    """Checksum drift, missing files, failed rows, ignored versions, and scripts that do not render."""
    found: list[Problem] = []
    for i in infos:
        if i.state in (State.FAILED, State.INTERRUPTED):
            found.append(Problem("failed", i.label, f"{i.label} {i.description}: {i.state.value}"
                                 f" at statement {(i.row.error_statement or i.row.pending_statement) if i.row else '?'}"))
        elif i.state is State.MISSING:
            found.append(Problem("missing", i.label, f"{i.label} {i.description}: applied, but its script file is missing"))
        elif i.checksum_mismatch:
            found.append(Problem("checksum", i.label, f"{i.label} {i.description}: checksum {i.row.checksum if i.row else ''}"
                                 f" in history differs from the file's {i.script.checksum if i.script else ''}"))
        elif i.state is State.IGNORED:
            found.append(Problem("ignored", i.label, f"{i.label} {i.description}: not applied and lower than the newest"
                                 " applied version (use --out-of-order to apply it)"))
        elif i.row is not None and i.script is not None and i.state is State.APPLIED and i.kind is Kind.VERSIONED \
                and i.row.description != i.script.description:
            found.append(Problem("description", i.label, f"{i.label}: description in history {i.row.description!r}"
                                 f" differs from the file's {i.script.description!r}"))
    for script in project.scripts:
        try:
            project.statements(script)
        except InputError as exc:
            found.append(Problem("render", script.name, str(exc)))
    return found


def require_valid(found: Sequence[Problem]) -> None:
    """ValidationFailed (exit 1) listing the problems, if any."""
    if found:
        raise ValidationFailed(f"validate found {len(found)} problem(s):\n" + "\n".join(f"  - {p.message}" for p in found),
                               hint="`migrate repair` realigns checksums and removes failed rows once you have checked them.")
