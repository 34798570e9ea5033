"""`rockway verify`: run data checks, print results, record them, notify, exit by the worst failure."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from rockway.cli.output import echo_json, echo_table
from rockway.cli.state import common_options, state

if TYPE_CHECKING:
    from rockway.verify.compiler import Plan
    from rockway.verify.notify import ChannelOutcome
    from rockway.verify.report import VerifyRun

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 110}


def _scope(items: tuple[str, ...]) -> dict[str, str]:
    scope: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip().isidentifier():
            raise click.UsageError(f"--scope {item!r}: expected KEY=VALUE, e.g. --scope window_start=2026-11-25")
        scope[key.strip()] = value
    return scope


def _yesterday(settings: Any) -> dict[str, str]:
    """window_start/window_end of yesterday in [jobs] business_time_zone (jobs/jobs.toml), as the pipelines' verify
    step passes them (rockway.jobs.pipeline_steps.pipeline_scope); printed on stderr so the default is never silent."""
    from rockway.jobs.api import yesterday  # the jobs wing, only when no window is given

    start, end, zone = yesterday(settings)
    click.echo(f"scope: window_start={start} window_end={end} (yesterday in {zone}; override with --scope "
               "window_start=YYYY-MM-DD --scope window_end=YYYY-MM-DD)", err=True)
    return {"window_start": start.isoformat(), "window_end": end.isoformat()}


def _fmt(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else f"{value:.4g}"


@click.command("verify", context_settings=CONTEXT)
@common_options
@click.argument("tables", nargs=-1)
@click.option("--pipeline", help="Run the check files that list this pipeline under `pipelines:`.")
@click.option("--checks", "refs", multiple=True, metavar="REF",
              help="A check file, FILE#CHECK or a check name (repeatable). Default: every file in the check folders.")
@click.option("--scope", "scope_items", multiple=True, metavar="KEY=VALUE",
              help="A scope variable for the checks' filters, e.g. window_start=2026-11-25 (repeatable). Without "
                   "window_start and window_end: yesterday in [jobs] business_time_zone.")
@click.option("--explain", is_flag=True, help="Print the compiled SQL and exit; no database connection.")
@click.option("--json", "as_json", is_flag=True, help="Print the run (or the plan) as JSON.")
@click.option("--fail-on", type=click.Choice(["critical", "warning", "info"], case_sensitive=False),
              help="Lowest failed severity that exits 1 (default from [verify] fail_on, else critical).")
@click.option("--no-record", is_flag=True, help="Do not write etl_check_result / etl_metric_history rows.")
@click.option("--reports-dir", help="Folder for the JSON and CSV reports (default: [verify] reports_dir, else reports/).")
@click.option("--notify", is_flag=True, help="Send notifications as routed in [verify.notify].")
@click.option("--run-id", help="Run id to record (default: a new UUID).")
@click.pass_context
def verify_command(ctx: click.Context, tables: tuple[str, ...], pipeline: str | None, refs: tuple[str, ...],
                   scope_items: tuple[str, ...], explain: bool, as_json: bool, fail_on: str | None, no_record: bool,
                   reports_dir: str | None, notify: bool, run_id: str | None) -> None:
    """Run data checks: one aggregate query per table and scope; exit 1 on a CRITICAL failure or any error.

    TABLE limits the run to checks on that table (`db.table` or `table`). WARNING failures are printed
    and exit 0 unless --fail-on warning. Results go to etl_check_result / etl_metric_history and to a
    JSON and a CSV report.

    \b
    Examples:
      rockway verify --explain --scope window_start=2026-11-25 --scope window_end=2026-11-26
      rockway verify --pipeline morning --scope window_start=2026-11-25 --scope window_end=2026-11-26
      rockway verify fact_sales --checks jobs/checks/sales.yaml --fail-on warning --json
      rockway verify --checks jobs/checks/sales.yaml#fact_sales_rows --no-record
    """
    from rockway.verify import api  # the verify wing, only when this command runs
    from rockway.verify.report import to_dict

    if pipeline and refs:
        raise click.UsageError("use --pipeline or --checks, not both")
    st = state(ctx)
    settings = st.settings()
    runner = api.checks_runner(settings, st.config_file, reports_dir=reports_dir)
    entries = api.select(runner, refs, pipeline=pipeline)
    scope = _scope(scope_items)
    if "window_start" not in scope and "window_end" not in scope:
        scope = {**_yesterday(settings), **scope}
    try:
        if explain:
            _explain(api.explain(runner, entries, scope, tables=tables), as_json)
            return
        done = api.verify(settings, runner, entries, scope, tables=tables, run_id=run_id, pipeline=pipeline,
                          record=False if no_record else None, fail_on=fail_on,
                          notify=notify)
    except api.NothingSelected as exc:
        raise click.UsageError(exc.message) from None
    if as_json:
        echo_json({**to_dict(done.run), "exit_code": done.exit_code, "reports": [str(p) for p in done.run.reports],
                   "notifications": [o.__dict__ for o in done.notifications]})
    else:
        _print_run(done.run, done.notifications)
    ctx.exit(done.exit_code)


def _explain(plan: Plan, as_json: bool) -> None:
    from rockway.verify.compiler import inline_params

    names = {c.key: c.name for c in plan.checks}
    if as_json:
        echo_json([{"id": q.id, "kind": q.kind, "table": q.table, "scope": q.scope, "where": q.where,
                    "checks": [names[k] for k in q.checks], "sql_hash": q.sql_hash, "sql": inline_params(q.sql, q.params)}
                   for q in plan.queries])
        return
    scans = sum(1 for q in plan.queries if q.kind == "aggregate")
    click.echo(f"-- {len(plan.checks)} checks, {len(plan.queries)} statements ({scans} aggregate scans)")
    for q in plan.queries:
        click.echo(f"\n-- {q.id} {q.kind} {q.table} [scope: {q.scope}] sha256 {q.sql_hash[:16]}")
        click.echo(f"-- checks: {', '.join(names[k] for k in q.checks)}")
        click.echo(inline_params(q.sql, q.params) + ";")


def _print_run(run: VerifyRun, outcomes: tuple[ChannelOutcome, ...]) -> None:
    rows = [(r.name, r.table, r.kind, r.severity.value, r.status.upper() if r.status != "pass" else "pass",
             _fmt(r.value), r.bounds, r.message[:160]) for r in run.results]
    echo_table(f"checks of run {run.run_id}", ["check", "table", "type", "severity", "status", "value", "bounds", "note"],
               rows)
    counts: dict[str, int] = {}
    for r in run.results:
        counts[r.status] = counts.get(r.status, 0) + 1
    worst = run.outcome.worst_failed
    click.echo(f"{len(run.results)} checks: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
               + (f"; worst failed: {worst.value}" if worst else "") + f"; {len(run.executed)} statements")
    for r in run.results:
        if r.status == "error":
            click.echo(f"error: {r.name} ({r.file}:{r.line}): {r.message}", err=True)
    if run.trace_id:
        click.echo(f"trace_id: {run.trace_id}")
    for path in run.reports:
        click.echo(f"report: {path}")
    for o in outcomes:
        click.echo(f"notify {o.channel}: {o.status}" + (f" ({o.error})" if o.error else ""), err=o.status == "failed")
