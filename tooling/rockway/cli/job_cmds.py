"""`rockway job run|list|status|watermarks|render|backfill|reset-watermark|validate`."""

from __future__ import annotations

import sys
from datetime import date
from typing import Any

import click

from rockway.cli.job_setup import AS_OF, build_verifier, parse_as_of, progress_echo, setup_job_logging
from rockway.cli.output import console, echo_json, echo_table
from rockway.cli.params import Bounded, EngineChoice
from rockway.cli.preflight import project_problems, require_valid_project
from rockway.cli.state import common_options, state
from rockway.yamlsrc import SpecError

CONTEXT = {"help_option_names": ["-h", "--help"]}


def _date(value: str, what: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)", param_hint=what) from None


@click.group(name="job", context_settings=CONTEXT)
@common_options
def job_group() -> None:
    """Incremental and historical loads of the jobs in jobs/.

    \b
    Examples:
      rockway job list
      rockway job run fact_sales
      rockway job backfill fact_sales --from 2025-01-01 --to 2025-12-31
      rockway job render dim_customer --engine starrocks --from "2026-01-01 00:00:00" --to "2026-01-02 00:00:00"
    """


@job_group.command("list", context_settings=CONTEXT)
@common_options
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def list_cmd(ctx: click.Context, as_json: bool) -> None:
    """List the job specs (no database needed).

    \b
    Examples:
      rockway job list
      rockway job list --json
    """
    from rockway.jobs.api import list_jobs

    rows = list_jobs(state(ctx).settings())
    if as_json:
        echo_json(rows)
        return
    echo_table("jobs", ["job", "kind", "mode", "source", "strategy", "watermark", "depends on", "pipelines"],
               [(r["job"], r["kind"], r["mode"], r["source"], r["strategy"], r["watermark"], ", ".join(r["depends_on"]),
                 ", ".join(r["pipelines"])) for r in rows])


@job_group.command("validate", context_settings=CONTEXT)
@common_options
@click.option("--offline", is_flag=True, help="Skip the checks against the live target tables.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def validate_cmd(ctx: click.Context, offline: bool, as_json: bool) -> None:
    """Check jobs.toml, job specs and their SQL, pipelines.yaml, check files and cron.d/rockway (exit 2 naming
    file, line and field).

    \b
    Example:
      rockway job validate
    """

    problems = project_problems(state(ctx), cron=True, live=not offline)
    if as_json:
        echo_json({"problems": [str(p) for p in problems]})
    elif not problems:
        click.echo("all job specs, pipelines, check files and cron lines are valid")
    if problems:
        raise SpecError(problems)


@job_group.command("run", context_settings=CONTEXT)
@common_options
@click.argument("name")
@AS_OF
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def run_cmd(ctx: click.Context, name: str, as_of: str | None, as_json: bool) -> None:
    """Load the next window of one job (its checks run; exit 1 if it fails).

    \b
    Examples:
      rockway job run fact_sales
      rockway job run dim_customer --env prod
    """
    from rockway.jobs.api import load_project, run_one

    settings = state(ctx).settings()
    require_valid_project(state(ctx))
    setup_job_logging()
    verifier = build_verifier(settings, load_project(settings).jobs)
    result = run_one(settings, name, verifier=verifier, as_of=parse_as_of(as_of), on_event=progress_echo)
    if as_json:
        echo_json(result)
    else:
        click.echo(f"{result.job}: {result.status}, window {result.window.describe() if result.window else '-'}, "
                   f"{result.rows_written} rows written" + (f" ({result.error})" if result.error else ""))


@job_group.command("backfill", context_settings=CONTEXT)
@common_options
@click.argument("name")
@click.option("--from", "first", required=True, metavar="DATE", help="First day to load (YYYY-MM-DD).")
@click.option("--to", "last", required=True, metavar="DATE", help="Last day to load, inclusive.")
@click.option("--chunk", type=click.Choice(["day", "month"]), help="Chunk size (default: the spec's chunk).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def backfill_cmd(ctx: click.Context, name: str, first: str, last: str, chunk: str | None, as_json: bool) -> None:
    """Historical load in chunks; chunks recorded as done in etl_job_run are skipped, so it can be resumed.

    \b
    Example:
      rockway job backfill fact_sales --from 2026-01-01 --to 2026-06-30
    """
    from rockway.jobs.api import backfill, load_project

    settings = state(ctx).settings()
    start, end = _date(first, "--from"), _date(last, "--to")
    require_valid_project(state(ctx))
    setup_job_logging()
    verifier = build_verifier(settings, load_project(settings).jobs)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   console=console(stderr=True), transient=False)
    task = bar.add_task(f"backfill {name}", total=None)

    def on_chunk(i: int, total: int, window: Any, status: str) -> None:
        bar.start()  # at the first chunk: input the API refuses (a bad name or range) shows no bar
        bar.update(task, total=total, completed=i, description=f"backfill {name}: {window.describe()} {status}")

    try:
        result = backfill(settings, name, start, end, chunk=chunk, verifier=verifier, on_chunk=on_chunk)
    finally:
        if bar.live.is_started:
            bar.stop()
    loaded = sum(1 for _, status, _r in result.chunks if status == "success")
    skipped = sum(1 for _, status, _r in result.chunks if status == "done before")
    if as_json:
        echo_json({"job": name, "chunks": [{"window": w.describe(), "status": s, "rows_written": r.rows_written if r else None}
                                           for w, s, r in result.chunks]})
    else:
        click.echo(f"{name}: {loaded} chunk(s) loaded, {skipped} already done, {len(result.chunks)} in total")


@job_group.command("render", context_settings=CONTEXT)
@common_options
@click.argument("name")
@click.option("--from", "lo", metavar="VALUE", help="Window start (exclusive), a value of the watermark's type.")
@click.option("--to", "hi", metavar="VALUE", help="Window end (inclusive).")
@click.option("--engine", type=EngineChoice(), help="Render without connecting, for this engine.")
@AS_OF
@click.pass_context
def render_cmd(ctx: click.Context, name: str, lo: str | None, hi: str | None, engine: str | None, as_of: str | None) -> None:
    """Print a job's statements for a window exactly as they would run (each ends with `;`).

    \b
    Examples:
      rockway job render fact_sales --from 2026-11-01 --to 2026-11-02
      rockway job render fact_sales --env prod --from 2026-11-01 --to 2026-11-02
    """
    from rockway.jobs.api import render_job

    click.echo(render_job(state(ctx).settings(), name, engine=engine, lo=lo, hi=hi, as_of=parse_as_of(as_of)), nl=False)


@job_group.command("status", context_settings=CONTEXT)
@common_options
@click.argument("name", required=False)
@click.option("--limit", default=20, show_default=True, type=Bounded(int, minimum=1, maximum=1000))
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def status_cmd(ctx: click.Context, name: str | None, limit: int, as_json: bool) -> None:
    """Recent runs from etl_job_run: the newest per job, or the last runs of NAME.

    \b
    Examples:
      rockway job status
      rockway job status fact_sales
    """
    from rockway.jobs.api import job_status

    runs = job_status(state(ctx).settings(), name, limit=limit)
    if as_json:
        echo_json(runs)
        return
    echo_table("job runs", ["job", "pipeline", "status", "started", "ended", "read", "written", "window", "error", "run_id"],
               [(r.job_name, r.pipeline, r.status, r.started_at, r.ended_at, r.rows_read, r.rows_written,
                 f"({r.window_start}, {r.window_end}]" if r.window_end else "", r.error_message or "", r.run_id)
                for r in runs])


@job_group.command("watermarks", context_settings=CONTEXT)
@common_options
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def watermarks_cmd(ctx: click.Context, as_json: bool) -> None:
    """The shared watermark table.

    \b
    Examples:
      rockway job watermarks
      rockway job watermarks --json
    """
    from rockway.jobs.api import watermarks

    rows = watermarks(state(ctx).settings())
    if as_json:
        echo_json(rows)
        return
    echo_table("watermarks", ["job", "source", "watermark", "type", "last window", "rows", "run_id", "updated"],
               [(r.job_name, r.source_name, r.watermark_value, r.watermark_type, f"({r.window_start}, {r.window_end}]",
                 r.rows_loaded, r.run_id, r.updated_at) for r in rows])


@job_group.command("reset-watermark", context_settings=CONTEXT)
@common_options
@click.argument("name")
@click.option("--to", "value", required=True, metavar="VALUE", help="The new watermark (of the job's watermark type).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def reset_cmd(ctx: click.Context, name: str, value: str, yes: bool) -> None:
    """Move a job's watermark (audited: an etl_job_run row with status `reset` names who, when, old and new).

    \b
    Example:
      rockway job reset-watermark fact_sales --to 2026-11-01
    """
    from rockway.jobs.api import check_reset, reset_watermark

    settings = state(ctx).settings()
    target = check_reset(settings, name, value)  # a bad NAME or --to: exit 2 before anyone is asked
    if not yes:
        if not sys.stdin.isatty():
            raise click.UsageError(f"no terminal to confirm moving the watermark of {name}: pass --yes")
        click.confirm(f"Set the watermark of {name} to {target}?", abort=True)
    setup_job_logging()
    old, new = reset_watermark(settings, name, value)
    click.echo(f"{name}: watermark {old if old is not None else '(none)'} -> {new}")
