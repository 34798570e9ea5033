"""`rockway mv status|activate`: asynchronous materialized views on StarRocks."""

from __future__ import annotations

from typing import Any

import click

from rockway.cli.output import echo_json, echo_table
from rockway.cli.state import common_options, state

CONTEXT = {"help_option_names": ["-h", "--help"]}
_DATABASE = click.option("--database", "-d", "databases", multiple=True,
                         help="Only materialized views of this database (repeatable; default: all visible).")


@click.group(name="mv", context_settings=CONTEXT)
@common_options
def mv_group() -> None:
    """Check and re-activate StarRocks asynchronous materialized views.

    \b
    Examples:
      rockway mv status --env prod
      rockway mv activate --env prod --refresh
    """


def _when(value: Any) -> str:
    return value.isoformat(sep=" ", timespec="seconds") if value is not None else ""


def _no_mvs(engine: str) -> str:
    return (f"{engine}: this engine has no materialized views (the warehouse uses plain views in their place); "
            "nothing to check")


@mv_group.command("status", context_settings=CONTEXT)
@common_options
@_DATABASE
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@click.pass_context
def status_cmd(ctx: click.Context, databases: tuple[str, ...], as_json: bool) -> None:
    """Show each MV's state, last refresh and staleness; exit 1 if one is inactive or staler than its limit.

    Limits are declared where the MV is defined: mv.materialized_view(…, max_staleness='2h') in a repeatable
    script. Staleness is the server's now() minus the end of the last successful refresh. On MySQL/MariaDB
    (no materialized views) it says so and exits 0.

    \b
    Examples:
      rockway mv status --env prod
      rockway mv status --env prod -d sales_dw --json
    """
    from rockway.durations import format_duration
    from rockway.mv.status import status

    report = status(state(ctx).settings(), databases)
    if as_json:
        echo_json({"engine": report.engine, "supported": report.supported, "server_time": report.server_time,
                   "problems": report.problems, "materialized_views": report.views,
                   "declared_but_missing": report.undeclared})
    elif not report.supported:
        click.echo(_no_mvs(report.engine))
    else:
        rows = [(f"{v.database}.{v.name}", "yes" if v.active else "NO", v.refresh_type or "",
                 v.last_refresh_state or "", _when(v.last_refresh_finished),
                 f"{v.last_refresh_duration_seconds:g}s" if v.last_refresh_duration_seconds is not None else "",
                 format_duration(v.staleness_seconds), format_duration(v.max_staleness_seconds),
                 "PROBLEM" if v.problems else "ok") for v in report.views]
        echo_table(f"materialized views at {_when(report.server_time)} (server time)",
                   ["materialized view", "active", "refresh", "last state", "last refreshed", "took",
                    "staleness", "limit", "status"], rows)
        for v in report.views:  # full texts on their own lines: table cells wrap
            for text in v.problems:
                click.echo(f"problem: {v.database}.{v.name}: {text}")
            for text in v.notes:
                click.echo(f"note: {v.database}.{v.name}: {text}")
        for name in report.undeclared:
            click.echo(f"missing: {name} has a declared staleness limit but no such materialized view exists", err=True)
        click.echo(f"{len(report.views)} materialized view(s), {report.problems} problem(s)")
    if not report.ok:
        ctx.exit(1)


@mv_group.command("activate", context_settings=CONTEXT)
@common_options
@_DATABASE
@click.option("--refresh", is_flag=True, help="Refresh each MV after activating it (waits like a migration).")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
@click.pass_context
def activate_cmd(ctx: click.Context, databases: tuple[str, ...], refresh: bool, as_json: bool) -> None:
    """Re-activate inactive MVs (ALTER MATERIALIZED VIEW … ACTIVE); exit 1 if any stays inactive.

    MVs go inactive when a base table is dropped and re-created, swapped or changed (including the SWAP that
    redefines a base MV). MVs built on other MVs are retried once their bases are active again.

    \b
    Examples:
      rockway mv activate --env prod
      rockway mv activate --env prod -d sales_dw --refresh
    """
    from rockway.mv.status import activate

    report = activate(state(ctx).settings(), databases, refresh=refresh)
    if as_json:
        echo_json(report)
    elif not report.supported:
        click.echo(_no_mvs(report.engine))
    else:
        for name in report.activated:
            click.echo(f"activated {name}" + (" and refreshed it" if name in report.refreshed else ""))
        for name, message in report.failed.items():
            click.echo(f"still inactive: {name}: {message}", err=True)
        if not report.activated and not report.failed:
            click.echo("no inactive materialized views")
    if not report.ok:
        ctx.exit(1)
