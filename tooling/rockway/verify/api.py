"""`rockway verify` as plain functions: each reads settings, calls the check runner and returns what it did.

The CLI parses options and prints the results; jobs reach verification through rockway.interfaces.Verifier.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Mapping, Sequence

from rockway.adapters import connect
from rockway.config import Settings
from rockway.errors import UsageError
from rockway.interfaces import Severity, run_summary
from rockway.observability import spans
from rockway.verify.compiler import Plan
from rockway.verify.notify import ChannelOutcome, RockwayNotifier
from rockway.verify.report import VerifyRun
from rockway.verify.runner import CheckRunner, exit_code
from rockway.verify.settings import load_verify_settings
from rockway.verify.suite import Entry


class NothingSelected(UsageError):
    """The references, pipeline and tables given select no check."""


@dataclass(frozen=True)
class Verification:
    """One verification: the run, the exit code it earns and the notifications sent."""

    run: VerifyRun
    exit_code: int
    notifications: tuple[ChannelOutcome, ...] = ()


def checks_runner(settings: Settings, config_file: Path | str | None = None, *,
                  reports_dir: str | None = None) -> CheckRunner:
    """The project's check runner with its [verify] settings (`reports_dir` overrides theirs)."""
    verify_settings = load_verify_settings(settings.project_dir, settings.env, config_file)
    if reports_dir:
        verify_settings = replace(verify_settings, reports_dir=reports_dir)
    return CheckRunner.from_settings(settings, verify_settings)


def select(runner: CheckRunner, refs: Sequence[str], *, pipeline: str | None = None) -> list[Entry]:
    """Checks by reference (each may be a comma-separated list), by pipeline, or every check file's."""
    names = tuple(part.strip() for ref in refs for part in ref.split(",") if part.strip())
    return runner.entries(names, pipeline=pipeline)


def explain(runner: CheckRunner, entries: Sequence[Entry], scope: Mapping[str, Any], *,
            tables: Sequence[str] = ()) -> Plan:
    """The statements a run would send; no database connection."""
    plan = runner.compile(entries, scope, tables=tables)
    if not plan.checks:
        raise NothingSelected("no checks selected")
    return plan


def verify(settings: Settings, runner: CheckRunner, entries: Sequence[Entry], scope: Mapping[str, Any], *,
           tables: Sequence[str] = (), run_id: str | None = None, pipeline: str | None = None,
           record: bool | None = None, fail_on: Severity | str | None = None, notify: bool = False) -> Verification:
    """Run the checks in a run span, judge the exit code (by `fail_on`, a Severity or its name in any case;
    default [verify] fail_on), notify."""
    if isinstance(fail_on, str):
        named = Severity.named(fail_on)
        if named is None:
            raise UsageError(f"fail_on must be critical, warning or info, not {fail_on!r}")
        fail_on = named
    if not runner.bind(entries, scope, tables=tables):
        raise NothingSelected("no checks selected" + (f" for table(s) {', '.join(tables)}" if tables else ""))
    run_id = run_id or spans.new_run_id()
    adapter = connect(settings)
    try:
        with spans.run_span("verify", run_id, **{"rockway.pipeline": pipeline}):
            run = runner.run(adapter, entries, scope, run_id, pipeline=pipeline, tables=tables, record=record)
            code = exit_code(run.outcome, fail_on or runner.settings.fail_on)
            sent = _notify(runner, run, code) if notify else ()
    finally:
        adapter.close()
    return Verification(run=run, exit_code=code, notifications=sent)


def _notify(runner: CheckRunner, run: VerifyRun, code: int) -> tuple[ChannelOutcome, ...]:
    summary = run_summary(run.pipeline or "verify", "failed" if code else "success", run.run_id, run.trace_id,
                          checks=run.outcome)
    return RockwayNotifier(runner.settings.notify).send(summary)
