"""Frozen value types shared by discovery, planning, history and execution."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import total_ordering
from pathlib import Path

_VERSION_RE = re.compile(r"^[0-9]+(\.[0-9]+)*$")


@total_ordering
@dataclass(frozen=True)
class Version:
    """A Flyway version: `_` means `.`, parts compare numerically, trailing zero parts and leading zeros vanish."""

    parts: tuple[int, ...]

    @classmethod
    def parse(cls, text: str) -> "Version":
        """Parse `1_2`, `1.2`, `001.10`; raise ValueError on anything else."""
        normal = text.replace("_", ".")
        if not _VERSION_RE.match(normal):
            raise ValueError(f"version {text!r} may only contain digits separated by '.' or '_'")
        parts = [int(p) for p in normal.split(".")]
        while len(parts) > 1 and parts[-1] == 0:
            parts.pop()
        return cls(tuple(parts))

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        mine, theirs = self.parts, other.parts
        if len(mine) != len(theirs):  # compared as if padded with zeros; planning sorts every version twice
            width = max(len(mine), len(theirs))
            mine, theirs = mine + (0,) * (width - len(mine)), theirs + (0,) * (width - len(theirs))
        return mine < theirs

    def __str__(self) -> str:
        return ".".join(str(p) for p in self.parts)


class Kind(str, enum.Enum):
    """Script kinds by file prefix."""

    VERSIONED = "V"
    UNDO = "U"
    REPEATABLE = "R"


@dataclass(frozen=True)
class Script:
    """A migration file found on disk (not yet rendered)."""

    kind: Kind
    version: Version | None
    description: str
    path: Path
    name: str  # path relative to the project folder, with forward slashes
    checksum: str  # sha256 hex of the raw file with LF endings (plus included files for repeatables)
    source: str  # decoded text, BOM removed, LF endings

    @property
    def display(self) -> str:
        """Short label such as `V1.2 add orders` or `R create views`."""
        if self.version is None:
            return f"R {self.description}"
        return f"{self.kind.value}{self.version} {self.description}"


@dataclass(frozen=True)
class Statement:
    """One SQL statement of a rendered script."""

    index: int  # 1-based position in the script
    sql: str  # text as sent, without the terminating ';'
    line: int  # 1-based line of the statement's first non-comment line in the rendered script
    directives: tuple[tuple[str, str], ...] = ()  # `-- rockway:key=value` annotations before it

    @property
    def first_line(self) -> str:
        """The first line of the statement, for messages."""
        return self.sql.strip().splitlines()[0] if self.sql.strip() else ""

    def directive(self, key: str, default: str | None = None) -> str | None:
        """Value of a `-- rockway:` directive, or default."""
        for k, v in self.directives:
            if k == key:
                return v
        return default


class RowType(str, enum.Enum):
    """Values of the history table's `type` column (Flyway-compatible where Flyway has one)."""

    SQL = "SQL"
    UNDO_SQL = "UNDO_SQL"
    BASELINE = "BASELINE"
    DELETE = "DELETE"
    SCHEMA = "SCHEMA"


class RowStatus(str, enum.Enum):
    """Progress state of one history row."""

    RUNNING = "running"  # started; if no run holds the lock, the process died
    FAILED = "failed"  # statement `error_statement` raised `error`
    SUCCESS = "success"


@dataclass(frozen=True)
class AppliedRow:
    """One row of the history table."""

    installed_rank: int
    version: Version | None
    description: str
    type: RowType
    script: str
    checksum: str | None
    installed_by: str
    installed_on: datetime | None
    execution_time: int
    success: bool
    status: RowStatus = RowStatus.SUCCESS
    statements_total: int = 0
    statements_applied: int = 0
    statement_hashes: tuple[str, ...] = ()
    pending_statement: int | None = None  # sent, outcome not confirmed
    error: str | None = None
    error_statement: int | None = None
    statement_sql: str | None = None  # first line of the pending or failed statement, literals redacted
    async_jobs: tuple[str, ...] = ()
    run_id: str | None = None
    trace_id: str | None = None
    git_sha: str | None = None
    host: str | None = None
    tool_version: str | None = None


class State(str, enum.Enum):
    """Migration states shown by `migrate info` (Flyway's names where they exist)."""

    PENDING = "pending"
    APPLIED = "applied"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    OUTDATED = "outdated"
    MISSING = "missing"
    FUTURE = "future"
    IGNORED = "ignored"
    UNDONE = "undone"
    BASELINE = "baseline"
    BELOW_BASELINE = "below baseline"
    ABOVE_TARGET = "above target"
    DELETED = "deleted"
    AVAILABLE = "available"  # undo scripts


@dataclass(frozen=True)
class MigrationInfo:
    """One line of `migrate info`: a script and/or its latest history row, and its state."""

    kind: Kind
    version: Version | None
    description: str
    state: State
    script: Script | None = None
    row: AppliedRow | None = None
    checksum_mismatch: bool = False
    note: str = ""

    @property
    def label(self) -> str:
        """`V1.2`, `U1.2` or `R`."""
        return self.kind.value if self.version is None else f"{self.kind.value}{self.version}"


class Action(str, enum.Enum):
    """What the executor does with one script."""

    APPLY = "apply"  # run from statement 1, new history row
    CONTINUE = "continue"  # run from `start_at` on an existing row
    UNDO = "undo"


@dataclass(frozen=True)
class Step:
    """One unit of work in a plan."""

    action: Action
    script: Script
    row: AppliedRow | None = None  # the row being continued, for CONTINUE
    start_at: int = 1  # first statement to execute


@dataclass(frozen=True)
class Plan:
    """What `migrate up` or `migrate rollback` would do, and the state of everything."""

    steps: tuple[Step, ...]
    infos: tuple[MigrationInfo, ...]
    blockers: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())
    missing_files: tuple[str, ...] = ()  # scripts the plan needs that do not exist: bad input, not history trouble
