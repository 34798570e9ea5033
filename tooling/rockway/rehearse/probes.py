"""What a rehearsal runs against the schema the migrations left: validate, lint, MVs, checks and jobs' SQL.

Each probe returns test cases (model.Case) and never raises for what it finds; an unreachable server
(DatabaseUnavailable) still raises, so the rehearsal ends with exit 3.
"""

from __future__ import annotations

import time
from functools import partial
from typing import Any, Callable

from rockway.adapters import connect
from rockway.adapters.base import Adapter
from rockway.adapters.registry import job_ops
from rockway.clock import utcnow
from rockway.config import Settings
from rockway.errors import DatabaseUnavailable, RockwayError
from rockway.jobs.api import JobsProject, load_project
from rockway.jobs.settings import load_jobs_settings
from rockway.jobs.sqlgen import JobSql
from rockway.jobs.validate import sample_window
from rockway.migrate.api import lint, validate
from rockway.mv.status import collect_status
from rockway.observability.redaction import redact_secrets
from rockway.rehearse import model
from rockway.rehearse.model import Case
from rockway.verify import CheckRunner, load_verify_settings

# The zero-row window of the checks and the jobs: a day long before any data (the tables are empty anyway
# when rehearsing from empty; jobs/validate.py `sample_window` renders job templates with the same day).
CHECK_SCOPE = {"pipeline": "rehearse", "as_of": "2000-01-02 00:00:00", "window_start": "2000-01-01",
               "window_end": "2000-01-02"}


def _text(exc: BaseException) -> str:
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    hint = getattr(exc, "hint", None)
    return redact_secrets(message + (f"\n{hint}" if hint else ""))


def _timed(suite: str, name: str, body: Callable[[Case], None]) -> Case:
    """Run body(case); a RockwayError fails the case (its message and hint); unreachable servers propagate."""
    case = Case(suite, name)
    start = time.perf_counter()
    try:
        body(case)
    except DatabaseUnavailable:
        raise
    except RockwayError as exc:
        case.failure = _text(exc).splitlines()[0]
        case.detail = _text(exc)
    finally:
        case.seconds = time.perf_counter() - start
    return case


def validate_case(settings: Settings) -> Case:
    """`migrate validate`: checksums, failed rows, scripts that do not render."""
    def body(case: Case) -> None:
        problems = validate(settings)
        if problems:
            case.failure = f"validate found {len(problems)} problem(s)"
            case.detail = "\n".join(p.message for p in problems)

    return _timed(model.VALIDATE, "migrate validate", body)


def lint_cases(settings: Settings, engine: str | None = None) -> tuple[list[Case], list[str]]:
    """`rockway lint` for the connected engine (`engine`: the one the rehearsal's connection found, which the
    migrations were rendered for; a mysql:// DSN may reach StarRocks): one case per script; errors fail it. Also
    every finding as text."""
    findings: list[str] = []
    cases: list[Case] = []
    try:
        reports = [r.without_secrets() for r in lint(settings, engine=engine or None)]
    except RockwayError as exc:
        return [Case(model.LINT, "lint", failure=_text(exc).splitlines()[0], detail=_text(exc))], findings
    for report in reports:
        case = Case(model.LINT, report.path)
        errors = []
        for st in report.statements:
            for f in st.findings:
                findings.append(f"{report.path}:{f.line} {f.severity} {f.rule}: {f.message}")
                if f.severity == "error":
                    errors.append(findings[-1])
        for f in report.findings:
            findings.append(f"{report.path}:{f.line} {f.severity} {f.rule}: {f.message}")
            if f.severity == "error":
                errors.append(findings[-1])
        if errors:
            case.failure = f"{len(errors)} lint error(s), first: {errors[0]}"
            case.detail = "\n".join(errors)
        cases.append(case)
    return cases, findings


def mv_cases(adapter: Adapter, databases: list[str]) -> list[Case]:
    """Every materialized view of the rehearsed databases active and its last (first) refresh not FAILED.
    Engines without materialized views (MySQL/MariaDB) give one skipped case."""
    report = collect_status(adapter, None, databases)
    if not report.supported:
        return [Case(model.MVS, "materialized views", skipped=f"{adapter.engine} has no materialized views")]
    cases = []
    for view in report.views:
        case = Case(model.MVS, f"{view.database}.{view.name}")
        if not view.active:
            case.failure = f"inactive: {view.inactive_reason or 'no reason given'}"
            case.detail = f"Run `rockway mv activate -d {view.database}` or fix the script that defines it."
        elif view.last_refresh_state == "FAILED":
            case.failure = f"refresh FAILED: {view.last_refresh_error or 'no message'}"
        elif view.last_refresh_state not in ("SUCCESS", "SKIPPED"):
            case.detail = f"last refresh state: {view.last_refresh_state or 'none yet'}"
        cases.append(case)
    return cases


def check_cases(settings: Settings, adapter: Adapter) -> list[Case]:
    """Per check file: compile (`verify --explain`) and run each compiled statement once on the rehearsed tables."""
    runner = CheckRunner.from_settings(settings, load_verify_settings(settings.project_dir, settings.env))
    paths = runner.catalog.paths()
    if not paths:
        return [Case(model.CHECKS, "checks", skipped="no check files in " + ", ".join(runner.settings.checks_dirs))]
    cases = []
    for path in paths:
        name = path.relative_to(settings.project_dir).as_posix() if path.is_relative_to(settings.project_dir) else str(path)

        def body(case: Case, path: Any = path) -> None:
            plan = runner.compile(runner.entries([str(path)]), CHECK_SCOPE, engine=adapter.engine,
                                  database=adapter.database)
            failed = []
            for query in plan.queries:
                try:
                    adapter.execute(query.sql, query.params or None)
                except DatabaseUnavailable:
                    raise
                except RockwayError as exc:
                    failed.append(f"{query.id} ({query.kind} {query.table}): {_text(exc).splitlines()[0]}")
            if failed:
                case.failure = f"{len(failed)} of {len(plan.queries)} statement(s) failed: {failed[0]}"
                case.detail = "\n".join(failed)
            else:
                case.detail = f"{len(plan.checks)} checks, {len(plan.queries)} statements ran"

        cases.append(_timed(model.CHECKS, name, body))
    return cases


def job_cases(settings: Settings, *, writes: bool) -> list[Case]:
    """Per job: its SQL for the zero-row window executed against the rehearsed schema.

    With `writes` (a rehearsal from empty: throwaway tables) the load runs as `rockway job run` sends it, minus
    reading a `dsn` source: the work table is created empty and the load reads it. Without (`--pending` on a
    shared server) no table of the warehouse is written: what the load reads runs `WHERE 1 = 0`, and so does a
    SELECT of the target columns the load writes; a `dsn` source's work table (`rw_<job>_src`, re-created by
    every load) is created empty for it. A job reading an external catalog gets the target check only (the
    catalog may not exist on a rehearsal server).
    """
    jobs_dir = load_jobs_settings(settings).jobs_dir
    if not jobs_dir.is_dir():
        return [Case(model.JOBS, "jobs", skipped=f"no jobs folder ({jobs_dir.name})")]
    try:
        project = load_project(settings)
    except RockwayError as exc:
        return [Case(model.JOBS, "job specs", failure=_text(exc).splitlines()[0], detail=_text(exc))]
    adapter = connect(settings)
    try:
        return [_timed(model.JOBS, name, partial(_run_job_sql, settings=settings, project=project, spec=spec,
                                                 adapter=adapter, writes=writes))
                for name, spec in sorted(project.specs.items())]
    finally:
        adapter.close()


def _run_job_sql(case: Case, *, settings: Settings, project: JobsProject, spec: Any, adapter: Adapter,
                 writes: bool) -> None:
    ops = job_ops(adapter)
    sql = JobSql(spec, settings, project.jobs, ops, run_id="rehearse", loaded_at=utcnow())
    window = sample_window(spec)
    plan = sql.plan(window)
    statements: list[str] = []
    if sql.source.kind == "catalog":
        case.detail = f"reads external catalog {sql.source.catalog!r}: only the target's columns are checked"
        statements.append(_target_probe(sql, spec))
    elif writes:
        statements += list(plan.copy_ddl)  # the empty work table a `dsn` source's rows would be copied into
        statements += [step.sql for step in plan.steps if step.kind == "sql" and step.sql]
    else:
        statements += list(plan.copy_ddl)
        statements.append(f"SELECT * FROM {sql.relation(window, plan.copy)} AS rw_rehearse WHERE 1 = 0")
        statements.append(_target_probe(sql, spec))
    ops.setup_session(project.jobs.statement_timeout)
    for index, text in enumerate(statements, start=1):
        try:
            adapter.execute(text)
        except DatabaseUnavailable:
            raise
        except RockwayError as exc:
            case.failure = (f"job {spec.name} ({spec.display}): statement {index} of {len(statements)} failed: "
                            f"{_text(exc).splitlines()[0]}")
            bounds = "" if window.full else f" --from {window.lo} --to {window.hi}"
            case.detail = (f"{redact_secrets(text)[:4000]}\nNext: `rockway job render {spec.name}{bounds}` shows the"
                           " SQL; fix the job's SQL or the migration that changed its tables.")
            return
    case.detail = case.detail or f"{len(statements)} statement(s) for window {window.describe()} ran"


def _target_probe(sql: Any, spec: Any) -> str:
    quote = Adapter.quote_ident
    columns = ", ".join(quote(c) for c in spec.written_columns())
    return f"SELECT {columns} FROM {quote(sql.target_db)}.{quote(sql.target_table)} WHERE 1 = 0"


