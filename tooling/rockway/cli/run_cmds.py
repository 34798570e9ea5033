"""`rockway run PIPELINE` and `rockway schedule`, plus what the job commands share: the injected Verifier and
Notifier, JSON job logs, and `--as-of`."""

from __future__ import annotations

import importlib
import logging
import sys
import warnings
from datetime import datetime, timezone
from typing import Any, Sequence

import click

from rockway.cli.output import echo_json, echo_table
from rockway.cli.params import Bounded
from rockway.cli.state import common_options, state

CONTEXT = {"help_option_names": ["-h", "--help"]}


# --- shared by the job commands ------------------------------------------------------------------
def setup_job_logging() -> None:
    """Job events as JSON lines on stderr (rockway.logs.JsonFormatter): start, end, rows, status, run_id, trace_id.

    With a log file (--log-file, ROCKWAY_LOG_FILE; cli/otel.configure_logging attached it to `rockway`) the JSON
    lines go to that file only: job records propagate to `rockway`, whose stderr handler shows each message once,
    for people (text) or not at all (json).
    """
    from rockway.observability.logs import JsonFormatter

    logger = logging.getLogger("rockway.jobs")
    if any(isinstance(h, logging.FileHandler) for h in logging.getLogger("rockway").handlers):
        for handler in [h for h in logger.handlers if getattr(h, "_rockway_jobs", False)]:
            logger.removeHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = True
        return
    if not any(getattr(h, "_rockway_jobs", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        handler._rockway_jobs = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def _factory(path: str, what: str) -> Any:
    module, _, attr = path.partition(":")
    if not module or not attr:
        raise click.UsageError(f"{what} = {path!r}: write it as module:callable")
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        from rockway.errors import ConfigError

        raise ConfigError(f"{what} = {path!r} cannot be imported: {exc}") from None


def _verify_settings(settings: Any) -> Any:
    from rockway.verify import load_verify_settings

    return load_verify_settings(settings.project_dir, settings.env)


def build_verifier(settings: Any, jobs: Any) -> Any:
    """The Verifier the runner calls: [jobs] verifier = "module:factory" (called with Settings), else
    rockway.verify's CheckEngine (checks referenced by file, `file#name` or name)."""
    if jobs.verifier:
        return _factory(jobs.verifier, "verifier")(settings)
    try:
        from rockway.verify import CheckEngine
    except ImportError:
        return None
    return CheckEngine.from_settings(settings, _verify_settings(settings))


def build_notifier(settings: Any, jobs: Any) -> Any:
    """The Notifier of the pipeline summary: [jobs] notifier = "module:factory", else rockway.verify's
    RockwayNotifier with the [verify.notify] routes."""
    if jobs.notifier:
        return _factory(jobs.notifier, "notifier")(settings)
    try:
        from rockway.verify.notify import RockwayNotifier
    except ImportError:
        return None
    return RockwayNotifier(_verify_settings(settings).notify)


def parse_as_of(value: str | None) -> datetime | None:
    """--as-of as naive UTC (an offset is converted; a naive value is taken as UTC)."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO date/time, e.g. 2026-03-02T05:00:00Z",
                                 param_hint="--as-of") from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(timezone.utc).replace(tzinfo=None)
    return parsed


def progress_echo(job: str, message: str) -> None:
    click.echo(f"{job}: {message}", err=True)


AS_OF = click.option("--as-of", "as_of", metavar="TIME",
                     help="Reference time for window ends (UTC ISO, default now): datetime windows end at it minus "
                          "[jobs] settle, date windows at the previous day.")


# --- rockway run ----------------------------------------------------------------------------------
@click.command("run", context_settings=CONTEXT)
@common_options
@click.argument("pipeline")
@AS_OF
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def run_command(ctx: click.Context, pipeline: str, as_of: str | None, as_json: bool) -> None:
    """Run a pipeline of jobs/pipelines.yaml (exit 1 when a step fails, 4 when it is already running).

    \b
    Examples:
      rockway run evening --env prod
      rockway run morning --as-of 2026-03-02T05:00:00Z
    """
    from rockway.jobs.api import load_project, run_named_pipeline
    from rockway.cli.preflight import require_valid_project

    settings = state(ctx).settings()
    require_valid_project(state(ctx))
    setup_job_logging()
    project = load_project(settings)
    verifier, notifier = build_verifier(settings, project.jobs), build_notifier(settings, project.jobs)
    result = run_named_pipeline(settings, pipeline, verifier=verifier, notifier=notifier, as_of=parse_as_of(as_of),
                                on_event=progress_echo)
    if as_json:
        echo_json(result)
    else:
        echo_table(f"pipeline {result.name}: {result.status} (run {result.run_id})", ["step", "name", "status", "detail"],
                   [(s.kind, s.name, s.status, s.detail) for s in result.steps])
        if result.jobs:
            echo_table("jobs", ["job", "status", "window", "rows read", "rows written", "error"],
                       [(n, r.status, r.window.describe() if r.window else "", r.rows_read, r.rows_written, r.error or "")
                        for n, r in result.jobs.items()])
    if result.status != "success":
        from rockway.jobs.runner import JobFailed

        raise JobFailed(f"pipeline {pipeline} failed: {result.error}",
                        hint="See `rockway job status`; failed jobs did not move their watermarks.")


# --- rockway schedule -----------------------------------------------------------------------------
def resolve_command(argv: Sequence[str]) -> str | None:
    """None when `rockway <argv>` names an existing command with valid options, else why not."""
    from rockway.cli.main import cli

    cmd: Any = cli
    args, name = list(argv), "rockway"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            while isinstance(cmd, click.Group):
                ctx = cmd.make_context(name, list(args), resilient_parsing=True)
                rest = list(ctx.protected_args) + list(ctx.args)
                if not rest:
                    return f"`{' '.join(['rockway', *argv])}`: names a command group, not a command"
                found, sub, args = cmd.resolve_command(ctx, rest)
                if sub is None:
                    return f"`{' '.join(['rockway', *argv])}`: no such command"
                cmd, name = sub, found or rest[0]
            cmd.make_context(name, list(args))
    except click.ClickException as exc:
        return f"`rockway {' '.join(argv)}`: {exc.format_message()}"
    return None


@click.command("schedule", context_settings=CONTEXT)
@common_options
@click.option("--count", default=3, show_default=True, type=Bounded(int, minimum=1, maximum=50), help="Next runs per entry.")
@click.option("--file", "cron_file", type=click.Path(dir_okay=False), help="cron.d file (default cron.d/rockway).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def schedule_command(ctx: click.Context, count: int, cron_file: str | None, as_json: bool) -> None:
    """List cron.d/rockway entries with their next runs; check every line and command (exit 2 on problems).

    \b
    Example:
      rockway schedule --count 5
    """
    from pathlib import Path

    from rockway.jobs.schedule import describe, load_cron, next_runs
    from rockway.jobs.yamlsrc import SpecError

    st = state(ctx)
    project_dir = Path(st.project_dir)
    cron = load_cron(project_dir, Path(cron_file) if cron_file else None)
    problems = list(cron.problems) + cron_command_problems(st, cron)
    rows = [{**describe(e), "next_runs": [t.isoformat() for t in next_runs(e, count)]} for e in cron.entries
            if not any(p.line == e.line for p in problems)]
    if as_json:
        echo_json({"file": cron.path, "entries": rows, "problems": [str(p) for p in problems]})
    else:
        echo_table(f"{cron.path} ({cron.env.get('CRON_TZ', 'system time zone')})",
                   ["line", "schedule", "user", "command", "next runs"],
                   [(r["line"], r["schedule"], r["user"], r["command"], "\n".join(r["next_runs"])) for r in rows])
    if problems:
        raise SpecError(problems)


def cron_command_problems(st: Any, cron: Any) -> list[Any]:
    """Problems of the rockway calls in cron entries: unknown commands or options, pipelines, environments."""
    from rockway.jobs.yamlsrc import Problem

    problems = []
    pipelines = _pipeline_names(st)
    for entry in cron.entries:
        for argv in entry.rockway_commands:
            why = resolve_command(argv) or _env_problem(st, argv)
            if why is None and argv[:1] == ("run",) and pipelines is not None:
                name = next((a for a in argv[1:] if not a.startswith("-")), None)
                if name is not None and name not in pipelines:
                    why = f"pipeline {name!r} is not in jobs/pipelines.yaml ({', '.join(sorted(pipelines))})"
            if why:
                problems.append(Problem(cron.path, entry.line, "command", why))
    return problems


def _env_problem(st: Any, argv: Sequence[str]) -> str | None:
    """Why the `--env NAME` of a scheduled call names no [env.NAME] of rockway.toml, else None."""
    from rockway.config import check_environment
    from rockway.errors import ConfigError

    for i, arg in enumerate(argv):
        name = argv[i + 1] if arg == "--env" and i + 1 < len(argv) else arg[6:] if arg.startswith("--env=") else None
        if name is None:
            continue
        try:
            check_environment(name, st.project_dir, st.config_file)
        except ConfigError as exc:
            return f"--env {name}: {exc.message}" + (f" ({exc.hint})" if exc.hint else "")
    return None


def _pipeline_names(st: Any) -> set[str] | None:
    try:
        from rockway.jobs.api import load_project

        return set(load_project(st.settings(), strict=False).pipelines)
    except Exception:  # noqa: BLE001 - the schedule can be listed without a readable jobs folder
        return None
