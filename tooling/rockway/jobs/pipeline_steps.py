"""The bodies of a pipeline's steps other than `jobs` and `notify` (backup, refresh, sql, drift, mv, verify), each
on a pooled connection, and the scope a verify step checks. Which steps a pipeline has: jobs/pipeline_spec.py;
running them in order, with their spans and run rows: jobs/pipeline.py.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, TypeVar

from rockway import sqlsplit
from rockway.adapters.base import Adapter
from rockway.adapters.registry import job_ops
from rockway.clock import utcnow
from rockway.interfaces import CheckSummary
from rockway.jobs.backup import backup_request, run_backup
from rockway.jobs.pipeline_spec import PipelineStep
from rockway.jobs.retry import retrying
from rockway.jobs.runner import JobEnv

__all__ = ["StepDone", "on_connection", "run_step", "pipeline_scope"]

T = TypeVar("T")


@dataclass(frozen=True)
class StepDone:
    """What a step reports: its detail (starting with `FAILED` when the step failed) and the checks it ran."""

    detail: str
    checks: tuple[CheckSummary, ...] = ()


def on_connection(env: JobEnv, fn: Callable[[Adapter], T], *, retry: bool = True) -> T:
    """fn on a connection from the pool; transient errors (connection lost, timeouts) reconnect and retry."""
    holder = {"adapter": env.pool.get()}

    def call(attempt: int) -> T:
        return fn(holder["adapter"])

    def reconnect(attempt: int, exc: BaseException, wait_s: float) -> None:
        env.pool.discard(holder["adapter"])
        holder["adapter"] = env.pool.get()

    policy = env.jobs.retry if retry else replace(env.jobs.retry, attempts=1)
    try:
        value = retrying(call, policy, job_ops(holder["adapter"]).is_transient, on_retry=reconnect, sleep=env.sleep)
    except BaseException:
        env.pool.discard(holder["adapter"])
        raise
    env.pool.put(holder["adapter"])
    return value


def run_step(step: PipelineStep, pipeline: str, env: JobEnv, render: Callable[[str, str], str],
             backup_databases: list[str], run_id: str) -> StepDone:
    """One non-job step, on a pool connection (the pipeline adds the checks it reports to its run's). refresh, sql and verify are retried on transient errors (business
    SQL must therefore be idempotent, e.g. upserts); a backup is not (StarRocks runs one backup per database)."""
    if step.kind == "backup":
        args = step.args or {}
        databases = [render(d, "backup.databases") for d in args.get("databases", backup_databases)]
        req, retain = backup_request(env.jobs.backup, databases, Path(env.settings.project_dir), retain=args.get("retain"))
        return StepDone(on_connection(env, lambda a: run_backup(a, req, retain).summary(), retry=False))
    if step.kind == "refresh":
        def refresh(a: Adapter) -> str:
            ops, done = job_ops(a), []
            ops.setup_session(env.jobs.statement_timeout)
            for name in step.args:
                db, _, mv = render(name, "refresh").replace("`", "").partition(".")
                qualified = ops.qualified(db, mv) if mv else ops.q(db)
                done.append(f"{qualified}: {'refreshed' if ops.refresh(qualified) else 'nothing to refresh on this engine'}")
            return "; ".join(done)
        return StepDone(on_connection(env, refresh))
    if step.kind == "sql":
        path = env.jobs.jobs_dir / step.args
        text = render(path.read_text(encoding="utf-8"), f"{env.jobs.jobs_dir.name}/{step.args}")

        def run_sql(a: Adapter) -> str:
            ops = job_ops(a)
            statements = sqlsplit.split(text, hash_comments=ops.hash_comments)
            ops.setup_session(env.jobs.statement_timeout)
            for statement in statements:
                a.run_statement(statement.sql)
            return f"{len(statements)} statement(s) from {step.args}"
        return StepDone(on_connection(env, run_sql))
    if step.kind == "drift":  # schema drift, reported to the notifier like a failed check
        from rockway.schema.api import drift_check

        severity = str((step.args or {}).get("severity", "warning")).lower()
        check, fails, detail = on_connection(env, lambda a: drift_check(a, env.settings, severity))
        return StepDone(f"FAILED: {detail}" if fails else detail, (check,))
    if step.kind == "mv":  # materialized-view health: the reading of `rockway mv status` (mv/status.py status_check)
        from rockway.mv.status import status_check

        severity = str((step.args or {}).get("severity", "warning")).lower()
        check, fails, detail = on_connection(env, lambda a: status_check(a, env.settings, severity))
        return StepDone(f"FAILED: {detail}" if fails else detail, (check,))
    if step.kind == "verify":
        verifier = env.verifier
        if verifier is None:
            return StepDone("FAILED: no verifier configured")
        outcome = on_connection(env, lambda a: verifier.verify(a, checks=list(step.args),
                                                               scope=pipeline_scope(pipeline, env),
                                                               run_id=run_id, pipeline=pipeline))
        failed = ", ".join(f"{c.name} ({c.severity.value})" for c in outcome.failed)
        if outcome.blocks:
            return StepDone(f"FAILED: CRITICAL check(s) failed: {failed}", outcome.results)
        return StepDone(f"{len(outcome.results)} check(s), " + (f"failed: {failed}" if failed else "all passed"),
                        outcome.results)
    raise ValueError(step.kind)


def pipeline_scope(name: str, env: JobEnv) -> dict[str, Any]:
    """Scope of a pipeline's verify step: the previous business day as [window_start, window_end)."""
    from rockway.jobs.window import previous_business_day

    as_of = env.as_of or utcnow()
    start, end = previous_business_day(as_of, env.jobs.business_time_zone)
    return {"pipeline": name, "as_of": as_of.isoformat(" ", "seconds"),
            "window_start": start.isoformat(), "window_end": end.isoformat()}
