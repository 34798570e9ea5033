"""What a rehearsal found: test cases grouped in suites (the shape of JUnit XML), plus what the report lists."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# suites, in the order a rehearsal runs them (report.py writes one <testsuite> each)
MIGRATIONS = "migrations"
SCHEMA_FILES = "schema files"  # with --schema-dir: the schema after the first up against the project's schema files
ROUND_TRIP = "round trip"
VALIDATE = "validate"
LINT = "lint"
MVS = "materialized views"
CHECKS = "checks"
JOBS = "jobs"
SUITES = (MIGRATIONS, SCHEMA_FILES, ROUND_TRIP, VALIDATE, LINT, MVS, CHECKS, JOBS)


@dataclass
class Case:
    """One test case: passed unless `failure` is set; `skipped` says why it did not run."""

    suite: str
    name: str
    seconds: float = 0.0
    failure: str | None = None
    detail: str = ""  # the long text: a statement, a diff, a hint
    skipped: str | None = None

    @property
    def status(self) -> str:
        return "failed" if self.failure else "skipped" if self.skipped else "passed"


@dataclass
class Applied:
    """One script a `migrate up` (or the rollback) ran."""

    phase: str  # first up | rollback | second up | pending
    script: str
    seconds: float
    statements: int
    async_jobs: tuple[str, ...] = ()


@dataclass
class Rehearsal:
    """The outcome of `rockway rehearse`."""

    mode: str  # from-empty | pending
    engine: str = ""
    server: str = ""  # the DSN without password
    prefix: str | None = None
    cases: list[Case] = field(default_factory=list)
    applied: list[Applied] = field(default_factory=list)
    lint_findings: list[str] = field(default_factory=list)
    schema_diff: list[Any] = field(default_factory=list)  # snapshot.Difference
    schema_dir: str | None = None  # --schema-dir, as given
    schema_files_diff: str = ""  # its files against the rehearsed schema (unified, the project's database names)
    notes: list[str] = field(default_factory=list)
    kept: bool = False
    dropped: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def add(self, case: Case) -> Case:
        self.cases.append(case)
        return case

    @property
    def failures(self) -> list[Case]:
        return [c for c in self.cases if c.failure]

    @property
    def passed(self) -> bool:
        return not self.failures
