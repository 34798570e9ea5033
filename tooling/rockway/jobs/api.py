"""The job commands as plain functions returning data; the CLI only parses, prints and injects the Verifier."""

from __future__ import annotations

import getpass
import logging
import socket
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, Callable, Iterator

from rockway.observability import spans
from rockway.adapters import connect
from rockway.adapters.base import Adapter
from rockway.adapters.registry import engine_for_dsn, engine_names, job_ops, offline_ops
from rockway.clock import utcnow
from rockway.config import Settings, validate_identifier
from rockway.interfaces import Notifier, Verifier
from rockway.errors import InputError, UsageError
from rockway.jobs.pipeline import PipelineResult, job_lock, run_pipeline
from rockway.jobs.pipeline_spec import PipelineSpec, load_pipelines
from rockway.jobs.pool import Pool
from rockway.jobs.runner import BACKFILL, JobEnv, JobFailed, JobResult, chunk_done, run_job
from rockway.jobs.schedule import load_cron
from rockway.jobs.settings import JobsSettings, load_jobs_settings
from rockway.jobs.spec import JobSpec, load_specs
from rockway.jobs.sqlgen import JobSql
from rockway.jobs.store import JobRun, Store, WatermarkRow
from rockway.jobs.validate import live_problems, pipeline_problems, render_problems
from rockway.jobs.window import Window, chunks, format_value, parse_value, previous_business_day
from rockway.yamlsrc import Problem, SpecError

LOGGER = "rockway.jobs"
log = logging.getLogger(LOGGER)


def _drop(record: logging.LogRecord) -> bool:
    return False


def _writes_the_same(handler: logging.Handler, others: list[logging.Handler], level: int) -> bool:
    """True when another handler writes every record `handler` would, in the same format, to the same stream."""
    if not isinstance(handler, logging.StreamHandler) or isinstance(handler, logging.FileHandler):
        return False
    floor = max(handler.level, level)
    return any(other is not handler and isinstance(other, logging.StreamHandler)
               and not isinstance(other, logging.FileHandler) and other.stream is handler.stream
               and type(other.formatter) is type(handler.formatter) and other.level <= floor and not other.filters
               for other in others)


@contextmanager
def shared_logging() -> Iterator[None]:
    """Job log records reach the shared `rockway` logger configuration inside the block.

    The CLI writes job events as JSON lines to stderr through a handler of its own on `rockway.jobs` and turns
    propagation off there; the records would then miss what it attaches to `rockway`: the `--log-file` JSON
    lines, the OTLP log exporter, `--log-format`. Inside the block they propagate (each one carries run_id,
    trace_id and span_id of the job or pipeline it was written in); a `rockway.jobs` handler is silenced while a
    `rockway` handler already writes the same records in the same format to the same stream
    (`--log-format json`), so no line is written twice. Outside a CLI (propagation on) nothing changes.
    """
    logger = logging.getLogger(LOGGER)
    saved = logger.propagate
    shared = logging.getLogger(spans.LOGGER_NAME).handlers
    muted = [h for h in logger.handlers if _writes_the_same(h, shared, logger.getEffectiveLevel())]
    for handler in muted:
        handler.addFilter(_drop)
    logger.propagate = True
    try:
        yield
    finally:
        logger.propagate = saved
        for handler in muted:
            handler.removeFilter(_drop)


@dataclass
class JobsProject:
    settings: Settings
    jobs: JobsSettings
    specs: dict[str, JobSpec]
    pipelines: dict[str, PipelineSpec]
    problems: list[Problem] = field(default_factory=list)

    def spec(self, name: str) -> JobSpec:
        if name not in self.specs:
            raise UsageError(f"no job named {name!r}", hint="Known: " + (", ".join(sorted(self.specs)) or "none"))
        return self.specs[name]

    def renderer(self, engine: str) -> Any:
        from rockway.extensions import template_globals
        from rockway.templating import Renderer

        r = Renderer(self.settings.project_dir, self.settings.vars, env_name=self.settings.env, engine=engine)
        r.globals.update(template_globals(self.settings, engine))
        return r

    def name(self, text: str, engine: str, what: str) -> str:
        return self.renderer(engine).render_text(text, what).strip()


def load_project(settings: Settings, *, strict: bool = True) -> JobsProject:
    """Job specs and pipelines of the project; with strict, any problem raises SpecError (exit 2)."""
    jobs = load_jobs_settings(settings)
    if not jobs.jobs_dir.is_dir():
        raise InputError(str(jobs.jobs_dir), "the jobs folder does not exist",
                         hint="Create it (job specs, SQL, pipelines.yaml, jobs.toml) or set ROCKWAY_JOBS_DIR.")
    specs, problems = load_specs(jobs.jobs_dir, jobs.sources, settings.project_dir)
    pipelines, more = load_pipelines(jobs.jobs_dir, specs, f"{jobs.jobs_dir.name}/pipelines.yaml")
    problems += more
    if strict and problems:
        raise SpecError(problems)
    return JobsProject(settings, jobs, specs, pipelines, problems)


def validate(settings: Settings, *, live: bool = True, cron: bool = True,
             engines: tuple[str, ...] | None = None) -> list[Problem]:
    """Every problem of jobs.toml, specs, their SQL, pipelines (the SQL and names their steps render) and, with
    cron, cron.d's lines, rendered for each engine; live checks against the server when connected."""
    project = load_project(settings, strict=False)
    problems = list(project.problems)
    for engine in engines or engine_names():
        ops = offline_ops(engine)
        for spec in project.specs.values():
            try:
                sql = JobSql(spec, settings, project.jobs, ops, run_id="validate", loaded_at=utcnow())
                found = render_problems(spec, sql)
            except InputError as exc:
                found = [spec.problem(exc.message, "extract")]
            problems += [p for p in found if p not in problems]

        def render(text: str, what: str, engine: str = engine) -> str:
            return project.renderer(engine).render_text(text, what).strip()

        found = pipeline_problems(project.pipelines, project.jobs.jobs_dir, f"{project.jobs.jobs_dir.name}/pipelines.yaml",
                                  render)
        problems += [p for p in found if p not in problems]
    from rockway.jobs.schedule import CRON_FILE

    if cron and (settings.project_dir / CRON_FILE).is_file():
        problems += load_cron(settings.project_dir).problems
    if live and settings.dsn and not problems:
        adapter = connect(settings)
        try:
            ops = job_ops(adapter)
            etl_db = project.name(project.jobs.etl_database, ops.engine, "etl_database")
            sqls = {n: JobSql(s, settings, project.jobs, ops, run_id="validate", loaded_at=utcnow())
                    for n, s in project.specs.items()}
            problems += live_problems(project.specs, sqls, adapter, ops, etl_db)
        finally:
            adapter.close()
    return problems


@dataclass
class Session:
    project: JobsProject
    control: Adapter
    pool: Pool
    etl_db: str

    def env(self, verifier: Verifier | None, pipeline: str | None, as_of: datetime | None,
            on_event: Callable[[str, str], None] | None = None) -> JobEnv:
        env = JobEnv(self.project.settings, self.project.jobs, self.pool, verifier, self.etl_db, pipeline, as_of,
                     specs=self.project.specs)
        if on_event is not None:
            env.on_event = on_event
        return env

    def store(self) -> Store:
        return Store(self.control, job_ops(self.control), self.etl_db)


@contextmanager
def open_session(project: JobsProject) -> Iterator[Session]:
    """Connect (the control connection: locks, run records of skipped jobs) and open the job pool."""
    adapter = connect(project.settings)
    try:
        ops = job_ops(adapter)
        ops.setup_session(project.jobs.statement_timeout)
        etl_db = validate_identifier(project.name(project.jobs.etl_database, ops.engine, "etl_database"), "etl_database")
        timeout = project.jobs.statement_timeout
        pool = Pool(adapter, project.jobs.concurrency, on_open=lambda a: job_ops(a).setup_session(timeout))
        try:
            yield Session(project, adapter, pool, etl_db)
        finally:
            pool.close()
    finally:
        adapter.close()


def _raise_if_failed(result: JobResult) -> JobResult:
    if result.status == "failed":
        raise JobFailed(f"job {result.job} failed: {result.error}",
                        hint=f"See `rockway job status {result.job}` (run {result.run_id}); the watermark did not move.")
    return result


def run_one(settings: Settings, name: str, *, verifier: Verifier | None, as_of: datetime | None = None,
            on_event: Callable[[str, str], None] | None = None) -> JobResult:
    """`rockway job run NAME`: the next window of one job, under the job's lock."""
    project = load_project(settings)
    spec = project.spec(name)
    run_id = spans.new_run_id()
    with shared_logging(), spans.run_span(f"job run {name}", run_id), open_session(project) as s:
        with job_lock(s.control, name, run_id, settings):
            return _raise_if_failed(run_job(spec, s.env(verifier, "manual", as_of, on_event), trigger="manual"))


def run_named_pipeline(settings: Settings, name: str, *, verifier: Verifier | None, notifier: Notifier | None,
                       as_of: datetime | None = None, on_event: Callable[[str, str], None] | None = None) -> PipelineResult:
    """`rockway run evening|morning`."""
    project = load_project(settings)
    if name not in project.pipelines:
        raise UsageError(f"no pipeline named {name!r}", hint="Defined in jobs/pipelines.yaml: "
                         + (", ".join(sorted(project.pipelines)) or "none"))
    spec = project.pipelines[name]
    run_id = spans.new_run_id()
    with shared_logging(), spans.run_span(f"run {name}", run_id), open_session(project) as s:
        engine = job_ops(s.control).engine
        backup_dbs = list(project.jobs.backup.databases)
        spec = rendered_names(spec, lambda text, what: project.name(text, engine, what))
        return run_pipeline(spec, project.specs, s.env(verifier, name, as_of, on_event), s.control, notifier=notifier,
                            render=lambda text, what: project.name(text, engine, what), backup_databases=backup_dbs)


def rendered_names(spec: PipelineSpec, render: Callable[[str, str], str]) -> PipelineSpec:
    """spec with its refresh steps' names rendered (`{{ dw_db }}.mv_sales_daily` -> `sales_dw.mv_sales_daily`), so
    progress, the summary, spans and etl_job_run show what ran, not the template."""
    steps = tuple(replace(step, args=[render(name, "refresh") for name in step.args]) if step.kind == "refresh" else step
                  for step in spec.steps)
    return replace(spec, steps=steps)


@dataclass
class BackfillResult:
    job: str
    chunks: list[tuple[Window, str, JobResult | None]] = field(default_factory=list)  # window, status, result


def backfill(settings: Settings, name: str, first: date, last: date, *, chunk: str | None = None,
             verifier: Verifier | None, on_chunk: Callable[[int, int, Window, str], None] | None = None,
             on_event: Callable[[str, str], None] | None = None) -> BackfillResult:
    """Load first..last in day/month chunks; chunks already `success` in etl_job_run are skipped (resume)."""
    project = load_project(settings)
    spec = project.spec(name)
    if spec.watermark is None or spec.watermark.type not in ("date", "datetime") or spec.mode != "incremental":
        raise UsageError(f"job {name}: a backfill needs an incremental job with a date or datetime watermark")
    try:
        windows = chunks(spec.watermark.type, first, last, chunk or spec.chunk)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    out = BackfillResult(name)
    run_id = spans.new_run_id()
    with shared_logging(), spans.run_span(f"job backfill {name}", run_id), open_session(project) as s:
        with job_lock(s.control, name, run_id, settings):
            done = s.store().done_windows(name)
            env = s.env(verifier, BACKFILL, None, on_event)
            for i, window in enumerate(windows, start=1):
                if chunk_done(spec, window, done):
                    out.chunks.append((window, "done before", None))
                    if on_chunk:
                        on_chunk(i, len(windows), window, "done before")
                    continue
                result = run_job(spec, env, window=window, advance="contiguous", trigger="backfill")
                out.chunks.append((window, result.status, result))
                if on_chunk:
                    on_chunk(i, len(windows), window, result.status)
                _raise_if_failed(result)
    return out


def yesterday(settings: Settings, as_of: datetime | None = None) -> tuple[date, date, str]:
    """[start, end) of the day before `as_of` (default now) in [jobs] business_time_zone, and that zone: the window
    the pipelines' verify step checks (pipeline_steps.pipeline_scope)."""
    zone = load_jobs_settings(settings).business_time_zone
    start, end = previous_business_day(as_of or utcnow(), zone)
    return start, end, zone


def dsn_engine(settings: Settings) -> str:
    """The engine the DSN's scheme names (starrocks:// or mysql://; StarRocks without a DSN), without connecting."""
    return engine_for_dsn(settings.dsn)


def render_job(settings: Settings, name: str, *, engine: str | None = None, lo: str | None = None,
               hi: str | None = None, as_of: datetime | None = None) -> str:
    """The statements of one run of a job, exactly as they would be sent."""
    project = load_project(settings)
    spec = project.spec(name)
    kind = spec.watermark.type if spec.watermark else "full"
    window = None
    if spec.mode == "full" or spec.watermark is None:
        window = Window(kind)
    elif lo is not None or hi is not None:
        if lo is None or hi is None:
            raise UsageError("give both --from and --to (the window is (from, to])")
        try:
            window = Window(kind, parse_value(kind, lo), parse_value(kind, hi))
        except ValueError as exc:
            raise UsageError(f"--from/--to must be {kind} values: {exc}") from None
    if engine is None and window is not None:  # an explicit window needs no server (like `migrate render`)
        engine = dsn_engine(settings)
    if engine is not None:
        if window is None:
            raise UsageError("rendering without a connection needs the window: --from VALUE --to VALUE")
        return JobSql(spec, settings, project.jobs, offline_ops(engine), run_id="render", loaded_at=utcnow()).render(window)
    with open_session(project) as s:
        ops = job_ops(s.control)
        sql = JobSql(spec, settings, project.jobs, ops, run_id="render", loaded_at=utcnow())
        if window is None:
            from rockway.jobs.runner import next_window, upper_bound

            row = s.store().watermark(spec.name, spec.source)
            env = s.env(None, None, as_of)
            window = next_window(spec, row.value() if row else None, upper_bound(spec, env, s.control, ops, sql))
        return sql.render(window)


def list_jobs(settings: Settings) -> list[dict[str, Any]]:
    project = load_project(settings)
    in_pipelines: dict[str, list[str]] = {}
    for p in project.pipelines.values():
        for step in p.steps:
            if step.kind == "jobs":
                for job in step.args:
                    in_pipelines.setdefault(job, []).append(p.name)
    return [{"job": s.name, "kind": s.kind, "mode": s.mode, "source": s.source, "target": s.target,
             "strategy": s.load.strategy, "watermark": f"{s.watermark.column} ({s.watermark.type})" if s.watermark else "",
             "depends_on": list(s.depends_on), "pipelines": in_pipelines.get(s.name, []), "checks": list(s.checks),
             "file": s.display} for s in sorted(project.specs.values(), key=lambda x: x.name)]


def job_status(settings: Settings, name: str | None = None, *, limit: int = 20) -> list[JobRun]:
    """Newest runs of one job, or the newest run of every job."""
    project = load_project(settings)
    if name is not None and not name.startswith("step:"):
        project.spec(name)  # an unknown job name is a usage error
    with open_session(project) as s:
        runs = s.store().runs(name, limit=limit if name else 1000)
    if name:
        return runs
    latest: dict[str, JobRun] = {}
    for run in runs:
        latest.setdefault(run.job_name, run)
    return sorted(latest.values(), key=lambda r: r.job_name)


def watermarks(settings: Settings) -> list[WatermarkRow]:
    project = load_project(settings)
    with open_session(project) as s:
        return s.store().watermarks()


def check_reset(settings: Settings, name: str, value: str) -> str:
    """The watermark `reset_watermark` would set, or UsageError (unknown job, no watermark, a bad --to): checked
    before anyone is asked to confirm."""
    return format_value(_reset_target(load_project(settings), name, value)[1])


def _reset_target(project: JobsProject, name: str, value: str) -> tuple[JobSpec, Any]:
    spec = project.spec(name)
    if spec.watermark is None:
        raise UsageError(f"job {name} has no watermark")
    try:
        return spec, parse_value(spec.watermark.type, value)
    except ValueError:
        raise UsageError(f"--to {value!r} is not a {spec.watermark.type}",
                         hint=f"e.g. --to {format_value(_example(spec.watermark.type))}") from None


def _example(kind: str) -> Any:
    return {"date": date(2026, 11, 1), "datetime": datetime(2026, 11, 1), "integer": 0}[kind]


def reset_watermark(settings: Settings, name: str, value: str, *, who: str | None = None) -> tuple[str | None, str]:
    """Set a job's watermark to value (any direction); audited as an etl_job_run row with status `reset`."""
    project = load_project(settings)
    spec, new = _reset_target(project, name, value)
    assert spec.watermark is not None
    who = who or getpass.getuser()
    run_id = spans.new_run_id()
    with shared_logging(), spans.run_span(f"job reset-watermark {name}", run_id), open_session(project) as s:
        with job_lock(s.control, name, run_id, settings):
            store = s.store()
            current = store.watermark(spec.name, spec.source)
            old = current.watermark_value if current else None
            now = utcnow()
            store.write_watermark(WatermarkRow(spec.name, spec.source, format_value(new), spec.watermark.type,
                                               current.window_start if current else None,
                                               current.window_end if current else None,
                                               current.rows_loaded if current else None, run_id, now))
            message = f"watermark reset by {who} on {socket.gethostname()} at {now.isoformat(' ', 'seconds')} UTC: " \
                      f"{old if old is not None else '(none)'} -> {format_value(new)}"
            store.record(JobRun(run_id, spec.name, "manual", now, "reset", now, error_message=message,
                                trace_id=spans.current_trace_id(), host=socket.gethostname()))
            log.warning("%s", message, extra={"event": "watermark_reset", "job": spec.name, "who": who, "old": old,
                                              "new": format_value(new), "run_id": run_id})
    return old, format_value(new)
