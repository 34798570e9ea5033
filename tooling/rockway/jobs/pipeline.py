"""Running a pipeline (jobs/pipelines.yaml, read by jobs/pipeline_spec.py): its steps in order under a
per-pipeline run lock, the jobs of a `jobs` step concurrently in dependency order, each step recorded in
etl_job_run, and the RunSummary to the notifier at the end.

A step after a failed one is skipped (notify still runs). Each job runs under its own lock as well, so a
manual `rockway job run` of the same job cannot overlap a pipeline's. The bodies of the other steps (backup,
refresh, sql, drift, mv, verify) are in jobs/pipeline_steps.py.

Telemetry: a run is one `pipeline <name>` span (spans.pipeline_span) with rockway.run_id and
rockway.pipeline, ended with spans.set_outcome: `success`, `failed` (a step failed: the run exits 1), or
`partial` (every step that matters succeeded, but the notification failed). Each job is a `job <name>` span
directly below it, also when jobs run concurrently in worker threads (each worker runs in a copy of the
submitting thread's context, which holds the current span); every other step is a `step <kind>` span
(rockway.step, rockway.step.name, rockway.status), with the checks' `verify` spans and the notifier's
`notify <channel>` spans below their steps, and the statements of each below that.
"""

from __future__ import annotations

import contextvars
import logging
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping

from rockway.adapters.base import Adapter
from rockway.adapters.registry import job_ops
from rockway.clock import utcnow
from rockway.config import Settings
from rockway.interfaces import Notifier, VerificationOutcome, run_summary
from rockway.jobs.pipeline_spec import PipelineSpec, PipelineStep
from rockway.jobs.pipeline_steps import on_connection, run_step
from rockway.jobs.pool import statement_numbering
from rockway.jobs.runner import JobEnv, JobResult, run_job
from rockway.jobs.spec import JobSpec
from rockway.jobs.store import JobRun, Store
from rockway.migrate.lock import RunLock, run_lock
from rockway.observability import attributes, metrics, redaction, spans

__all__ = ["StepResult", "PipelineResult", "job_lock", "dag", "run_jobs", "run_pipeline"]

log = logging.getLogger("rockway.jobs")


@dataclass
class StepResult:
    kind: str
    name: str
    status: str  # success | failed | skipped
    detail: str = ""


@dataclass
class PipelineResult:
    name: str
    run_id: str
    status: str = "success"
    steps: list[StepResult] = field(default_factory=list)
    jobs: dict[str, JobResult] = field(default_factory=dict)
    checks: VerificationOutcome = field(default_factory=VerificationOutcome)
    error: str | None = None


@contextmanager
def job_lock(control: Adapter, job: str, run_id: str, settings: Settings) -> Iterator[None]:
    """The per-job run lock, held on its own connection (StarRocks renews the lease on yet another)."""
    twin = control.clone()
    try:
        with run_lock(twin, f"rockway_job_{job}", settings, run_id):
            yield
    finally:
        twin.close()


def dag(names: list[str], specs: Mapping[str, JobSpec]) -> dict[str, set[str]]:
    """Waits-for edges inside one step: depends_on, plus every fact waits for every dimension."""
    deps = {n: {d for d in specs[n].depends_on if d in names} for n in names}
    dims = {n for n in names if specs[n].kind == "dimension"}
    for n in names:
        if specs[n].kind == "fact":
            deps[n] |= dims
    return deps


def run_jobs(names: list[str], specs: Mapping[str, JobSpec], env: JobEnv, control: Adapter, run_id: str) -> dict[str, JobResult]:
    """Run the jobs of one step, independent ones concurrently (at most env.jobs.concurrency)."""
    deps = dag(names, specs)
    results: dict[str, JobResult] = {}
    pending = list(names)
    running: dict[Future[JobResult], str] = {}
    settings = env.settings

    def one(name: str) -> JobResult:
        with job_lock(control, name, run_id, settings):
            return run_job(specs[name], env, trigger=f"pipeline {env.pipeline}")

    def submit(name: str) -> Future[JobResult]:
        # The worker runs in a copy of this thread's context: the current span (the pipeline's, so each
        # `job <name>` span is its child in the same trace), the bound run id and the statement numbering.
        return pool.submit(contextvars.copy_context().run, one, name)

    with ThreadPoolExecutor(max_workers=env.jobs.concurrency, thread_name_prefix="rockway-job") as pool:
        while pending or running:
            for name in list(pending):
                blocked = [d for d in deps[name] if d in results and results[d].status != "success"]
                if blocked:
                    pending.remove(name)
                    results[name] = _skip(name, env, f"dependency {blocked[0]} {results[blocked[0]].status}")
                elif all(d in results for d in deps[name]):
                    pending.remove(name)
                    running[submit(name)] = name
            if not running:
                for name in pending:  # only reachable with a cycle the validator missed
                    results[name] = _skip(name, env, "dependencies never finished")
                break
            done, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for fut in done:
                name = running.pop(fut)
                exc = fut.exception()
                if exc is None:
                    results[name] = fut.result()
                else:
                    results[name] = JobResult(name, "", "failed", error=f"{type(exc).__name__}: "
                                                                        f"{getattr(exc, 'message', str(exc))}")
    return results


def _record(env: JobEnv, run: JobRun) -> None:
    try:
        on_connection(env, lambda a: Store(a, job_ops(a), env.etl_db).record(run))
    except Exception:  # noqa: BLE001 - a step/skip record is information; the outcome stands
        log.error("record_failed %s", run.job_name, extra={"event": "record_failed", "job": run.job_name})


def _skip(name: str, env: JobEnv, why: str) -> JobResult:
    """A job that does not run (a dependency did not succeed): its run row, log line and a `job <name>` span."""
    run_id = spans.new_run_id()
    now = utcnow()
    with spans.job_span(name, run_id=run_id, pipeline=env.pipeline, **{"rockway.skip_reason": why}) as span:
        _record(env, JobRun(run_id, name, env.pipeline, now, "skipped", now, error_message=why,
                            trace_id=spans.current_trace_id()))
        log.warning("job_skipped %s", name, extra={"event": "job_skipped", "job": name, "pipeline": env.pipeline,
                                                   "status": "skipped", "error": why})
        spans.set_outcome(span, "skipped")
    metrics.record_load(0.0, name, "skipped")
    return JobResult(name, run_id, "skipped", error=why)


def run_pipeline(spec: PipelineSpec, specs: Mapping[str, JobSpec], env: JobEnv, control: Adapter, *,
                 notifier: Notifier | None, render: Callable[[str, str], str], backup_databases: list[str]) -> PipelineResult:
    """Run every step in order under the pipeline's lock; return what happened (never raises for a failed job)."""
    run_id = spans.current_run_id() or spans.new_run_id()
    result = PipelineResult(spec.name, run_id)
    settings = env.settings
    with spans.pipeline_span(spec.name, run_id=run_id, **{"rockway.pipeline.steps": len(spec.steps)}) as span:
        try:
            lock = run_lock(control, f"rockway_pipeline_{spec.name}", settings, run_id)
            with lock:
                for step in spec.steps:
                    _run_one_step(step, spec, specs, env, control, lock, result, notifier=notifier, render=render,
                                  backup_databases=backup_databases)
        except Exception as exc:  # the lock not granted, a lost control connection: the run fails
            spans.set_outcome(span, "failed", f"{type(exc).__name__}: {getattr(exc, 'message', str(exc))}")
            raise
        _pipeline_outcome(span, result)
    return result


def _run_one_step(step: PipelineStep, spec: PipelineSpec, specs: Mapping[str, JobSpec], env: JobEnv, control: Adapter,
                  lock: RunLock, result: PipelineResult, *, notifier: Notifier | None,
                  render: Callable[[str, str], str], backup_databases: list[str]) -> None:
    if result.status == "failed" and step.kind != "notify":
        result.steps.append(StepResult(step.kind, _step_name(step), "skipped", "an earlier step failed"))
        with _step_span(spec, step) as current:
            spans.set_outcome(current, "skipped")
        return
    if step.kind == "jobs":  # no step span: each job's span is a child of the pipeline's
        lock.check()
        jobs = run_jobs(list(step.args), specs, env, control, result.run_id)
        result.jobs.update(jobs)
        failed = [n for n, r in jobs.items() if r.status == "failed"
                  or (r.status == "skipped" and (r.error or "").startswith("dependency"))]
        status = "failed" if failed else "success"
        detail = ", ".join(f"{n}: {r.status}" + (f" ({r.error})" if r.error else "") for n, r in jobs.items())
        _add(result, step, status, detail)
        return
    with _step_span(spec, step) as current, statement_numbering():
        lock.check()
        if step.kind == "notify":
            result.steps.append(_notify(result, notifier))
        else:
            _recorded(result, step, env, lambda: _step_detail(step, spec, env, render, backup_databases, result))
        done = result.steps[-1]
        spans.set_outcome(current, done.status, done.detail or None)


@contextmanager
def _step_span(spec: PipelineSpec, step: PipelineStep) -> Iterator[Any]:
    """Span `step <kind>` of one non-job step (backup, refresh, sql, verify, notify)."""
    with spans.span(f"step {step.kind}", {attributes.PIPELINE: spec.name, "rockway.step": step.kind,
                                                "rockway.step.name": _step_name(step)}) as current:
        yield current


def _pipeline_status(result: PipelineResult) -> str:
    """The pipeline span's rockway.status: failed (the run failed), partial (it succeeded but a step around the
    data did not, i.e. the notification failed), else success."""
    if result.status == "failed":
        return "failed"
    if any(s.status == "failed" for s in result.steps):
        return "partial"
    return "success"


def _pipeline_outcome(span: Any, result: PipelineResult) -> None:
    jobs = result.jobs.values()
    span.set_attribute("rockway.jobs", len(result.jobs))
    span.set_attribute("rockway.jobs.failed", sum(1 for r in jobs if r.status == "failed"))
    span.set_attribute("rockway.rows.written", sum(r.rows_written or 0 for r in jobs))
    if result.checks.results:
        span.set_attribute("rockway.checks.failed", len(result.checks.failed))
    failed = next((s for s in result.steps if s.status == "failed"), None)
    error = result.error or (f"step {failed.kind} {failed.name} failed: {failed.detail}" if failed else None)
    spans.set_outcome(span, _pipeline_status(result), error)


def _step_name(step: PipelineStep) -> str:
    if step.kind in ("jobs", "refresh", "verify"):
        return ",".join(step.args)
    return step.args if isinstance(step.args, str) else step.kind


def _add(result: PipelineResult, step: PipelineStep, status: str, detail: str) -> None:
    result.steps.append(StepResult(step.kind, _step_name(step), status, detail))
    if status == "failed":
        result.status = "failed"
        result.error = result.error or f"step {step.kind} {_step_name(step)} failed: {detail}"


def _step_detail(step: PipelineStep, spec: PipelineSpec, env: JobEnv, render: Callable[[str, str], str],
                 backup_databases: list[str], result: PipelineResult) -> str:
    """Run one non-job step (pipeline_steps.run_step); the checks it ran join the run's (a drift step's check stays
    when a verify step follows)."""
    done = run_step(step, spec.name, env, render, backup_databases, result.run_id)
    if done.checks:
        result.checks = VerificationOutcome(result.checks.results + done.checks)
    return done.detail


def _recorded(result: PipelineResult, step: PipelineStep, env: JobEnv, fn: Callable[[], str]) -> None:
    """Run a non-job step and record it in etl_job_run as `step:<kind>`."""
    run = JobRun(spans.new_run_id(), f"step:{step.kind}"[:64], env.pipeline, utcnow(),
                 trace_id=spans.current_trace_id())
    try:
        detail = fn()
        status = "failed" if detail.startswith("FAILED") else "success"
    except Exception as exc:  # noqa: BLE001 - the step fails, the pipeline reports it
        detail, status = f"{type(exc).__name__}: {getattr(exc, 'message', str(exc))}", "failed"
    run.status, run.ended_at, run.error_message = status, utcnow(), detail if status == "failed" else None
    _record(env, run)
    log.log(logging.INFO if status == "success" else logging.ERROR, "step_end %s", step.kind,
            extra={"event": "step_end", "step": step.kind, "pipeline": env.pipeline, "status": status, "detail": detail})
    _add(result, step, status, detail)


def _notify(result: PipelineResult, notifier: Notifier | None) -> StepResult:
    """Send the RunSummary; the notify step's result (failed when the notifier raised: the run's outcome stands)."""
    if notifier is None:
        return StepResult("notify", "notify", "skipped", "no notifier configured")
    summary = run_summary(result.name, result.status, result.run_id, spans.current_trace_id(), jobs=result.jobs,
                          checks=result.checks, error=result.error)
    try:
        notifier.notify(summary)
    except Exception as exc:  # noqa: BLE001 - a Notifier never raises; if one does, the run's outcome stands
        error = redaction.redact_exception(exc)
        log.error("notify_failed", extra={"event": "notify_failed", "pipeline": result.name, "error": error})
        metrics.count_error("notify_failed", **{attributes.PIPELINE: result.name})
        return StepResult("notify", "notify", "failed", f"{redaction.error_type(exc)}: {error}")
    return StepResult("notify", "notify", "success")
