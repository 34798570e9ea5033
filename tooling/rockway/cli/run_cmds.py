"""`rockway run PIPELINE` and `rockway schedule`."""

from __future__ import annotations

from pathlib import Path

import click

from rockway.cli.cron_commands import cron_command_problems
from rockway.cli.job_setup import AS_OF, build_notifier, build_verifier, parse_as_of, progress_echo, setup_job_logging
from rockway.cli.output import echo_json, echo_table
from rockway.cli.params import Bounded
from rockway.cli.preflight import require_valid_project
from rockway.cli.state import common_options, state
from rockway.yamlsrc import SpecError

CONTEXT = {"help_option_names": ["-h", "--help"]}


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
    from rockway.jobs.schedule import describe, load_cron

    st = state(ctx)
    project_dir = Path(st.project_dir)
    cron = load_cron(project_dir, Path(cron_file) if cron_file else None)
    problems = list(cron.problems) + cron_command_problems(st, cron)
    rows = [describe(e, count) for e in cron.entries
            if not any(p.line == e.line for p in problems)]
    if as_json:
        echo_json({"file": cron.path, "entries": rows, "problems": [str(p) for p in problems]})
    else:
        echo_table(f"{cron.path} ({cron.env.get('CRON_TZ', 'system time zone')})",
                   ["line", "schedule", "user", "command", "next runs"],
                   [(r["line"], r["schedule"], r["user"], r["command"], "\n".join(r["next_runs"])) for r in rows])
    if problems:
        raise SpecError(problems)
