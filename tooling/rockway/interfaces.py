"""Small interfaces between the jobs runner and the check runner of verify/ (neither imports the other).

The CLI builds a `Verifier` from `rockway.verify` and a `Notifier` from `rockway.verify.notify` and hands
them to the jobs runner, which only knows these types.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping, Protocol, Sequence

if TYPE_CHECKING:  # types only: the kernel does not import adapters
    from rockway.adapters.base import Adapter


class Severity(str, enum.Enum):
    """What a failed check does: CRITICAL blocks downstream, WARNING notifies, INFO records."""

    CRITICAL = "CRITICAL"
    WARNING = "WARNING"
    INFO = "INFO"

    @property
    def rank(self) -> int:
        return {"CRITICAL": 3, "WARNING": 2, "INFO": 1}[self.value]

    @classmethod
    def named(cls, text: object) -> "Severity | None":
        """The severity a text names in any case, blanks around it ignored (`warning`); None for anything else."""
        return cls.__members__.get(text.strip().upper()) if isinstance(text, str) else None


@dataclass(frozen=True)
class CheckSummary:
    """One check's outcome as other parts of rockway see it."""

    name: str
    table: str | None
    severity: Severity
    status: str  # pass | fail | error
    value: float | None = None
    bounds: str = ""
    message: str = ""


@dataclass(frozen=True)
class VerificationOutcome:
    """All check outcomes of one verification."""

    results: tuple[CheckSummary, ...] = ()

    @property
    def failed(self) -> tuple[CheckSummary, ...]:
        return tuple(r for r in self.results if r.status != "pass")

    @property
    def worst_failed(self) -> Severity | None:
        """The highest severity among failed checks, or None when all passed."""
        failed = self.failed
        return max((r.severity for r in failed), key=lambda s: s.rank) if failed else None

    @property
    def blocks(self) -> bool:
        """True when a CRITICAL check failed: downstream must stop and watermarks must not advance."""
        return self.worst_failed is Severity.CRITICAL


class Verifier(Protocol):
    """Runs the checks attached to a table, job or pipeline."""

    def verify(self, adapter: Adapter, *, checks: Sequence[str], scope: Mapping[str, Any], run_id: str,
               pipeline: str | None = None) -> VerificationOutcome:
        """Run the named checks (check names or check-file paths) for scope (e.g. the loaded window)."""
        ...


@dataclass(frozen=True)
class RunSummary:
    """What a pipeline or job run reports to people."""

    pipeline: str
    status: str  # success | failed | partial
    run_id: str
    trace_id: str | None
    rows: Mapping[str, int] = field(default_factory=dict)  # table -> rows written
    jobs: Mapping[str, str] = field(default_factory=dict)  # job -> status
    checks: VerificationOutcome = VerificationOutcome()
    error: str | None = None


class JobOutcome(Protocol):
    """What a run summary reads of one job's result."""

    @property
    def status(self) -> str:
        ...

    @property
    def rows_written(self) -> int | None:
        ...


def run_summary(pipeline: str, status: str, run_id: str, trace_id: str | None, *,
                checks: VerificationOutcome = VerificationOutcome(), jobs: Mapping[str, JobOutcome] | None = None,
                error: str | None = None) -> RunSummary:
    """The RunSummary of a pipeline run or a verification: rows written and status per job, and the checks."""
    jobs = jobs or {}
    return RunSummary(pipeline=pipeline, status=status, run_id=run_id, trace_id=trace_id,
                      rows={name: job.rows_written or 0 for name, job in jobs.items()},
                      jobs={name: job.status for name, job in jobs.items()}, checks=checks, error=error)


class Notifier(Protocol):
    """Sends a run summary to the configured channels; never raises."""

    def notify(self, summary: RunSummary) -> None:
        ...
