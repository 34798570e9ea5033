"""`rockway migrate …` commands: each parses its options, calls rockway.migrate.api and prints the result
(how: cli/migrate_output.py)."""

from __future__ import annotations

import sys
from typing import Any

import click

from rockway import __version__
from rockway.cli.migrate_output import (SHOW_SECRETS, Progress, info_json, print_dry_run, print_mv_health,
                                        print_rewrites, run_json, shows_secrets)
from rockway.cli.output import echo_csv, echo_json, echo_table, to_jsonable
from rockway.cli.params import Bounded
from rockway.cli.state import CliState, common_options, state
from rockway.observability.redaction import redact_secrets

# Each command imports the migrate wing when it runs, as the other command groups do theirs: it loads sqlglot
# (rockway.lint), which `rockway --help` and every other command would otherwise pay for.

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 110}


@click.group(name="migrate", context_settings=CONTEXT)
@common_options
def migrate_group() -> None:
    """Versioned (V/U) and repeatable (R) migrations with a statement journal.

    \b
    Examples:
      rockway migrate up --env dev
      rockway migrate info
    """


NO_VALIDATE = click.option(
    "--no-validate", is_flag=True,
    help="Run although an applied versioned script has changed since it ran (default: refuse with exit 2;"
         " validate_on_migrate in rockway.toml, ROCKWAY_VALIDATE_ON_MIGRATE).")


MV_HEALTH = click.option(
    "--mv-health", type=click.Choice(["warn", "fail", "activate"]), default=None,
    help="Materialized views this run made inactive (or whose refresh failed): warn (report), fail (report, exit 1)"
         " or activate (ALTER … ACTIVE them, report what stays inactive). Default: mv_health in rockway.toml,"
         " ROCKWAY_MV_HEALTH, else warn.")


@migrate_group.command("up", context_settings=CONTEXT)
@common_options
@click.option("--target", help="Apply versions up to and including this one.")
@click.option("--resume", is_flag=True, help="Continue a failed/interrupted migration at its first unapplied statement.")
@click.option("--auto-resolve", is_flag=True,
              help="When an interrupted statement's outcome shows in the catalog (CREATE/DROP, ADD/DROP COLUMN, RENAME),"
                   " record it as applied or re-run it accordingly, then continue.")
@click.option("--out-of-order", is_flag=True, default=None, help="Also apply pending versions lower than the newest applied.")
@click.option("--dry-run", is_flag=True, help="Print rendered statements and history bookkeeping; change nothing, take no lock.")
@SHOW_SECRETS
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--quiet", "-q", is_flag=True, help="No progress output.")
@NO_VALIDATE
@MV_HEALTH
@click.pass_context
def up(ctx: click.Context, target: str | None, resume: bool, auto_resolve: bool, out_of_order: bool | None, dry_run: bool,
       as_json: bool, quiet: bool, no_validate: bool, mv_health: str | None) -> None:
    """Apply pending migrations, then changed repeatables in dependency order.

    \b
    Examples:
      rockway migrate up --env prod
      rockway migrate up --target 1.4 --dry-run
      rockway migrate up --resume
      rockway migrate up --auto-resolve
    """
    if resume and auto_resolve:
        raise click.UsageError("use --resume or --auto-resolve, not both (--resume re-runs the pending statement"
                               " whatever the catalog shows)")
    _run_migrate(ctx, rollback=False, target=target, resume=resume, out_of_order=out_of_order, dry_run=dry_run,
                 as_json=as_json, quiet=quiet, no_validate=no_validate, auto_resolve=auto_resolve, mv_health=mv_health)


@migrate_group.command("rollback", context_settings=CONTEXT)
@common_options
@click.option("--steps", type=Bounded(int, minimum=1), help="How many applied versions to undo (default 1).")
@click.option("--to", "to_version", help="Undo every applied version above this one.")
@click.option("--resume", is_flag=True, help="Continue an interrupted undo at its first unapplied statement.")
@click.option("--dry-run", is_flag=True, help="Print what would run; change nothing, take no lock.")
@SHOW_SECRETS
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--quiet", "-q", is_flag=True, help="No progress output.")
@NO_VALIDATE
@click.pass_context
def rollback(ctx: click.Context, steps: int | None, to_version: str | None, resume: bool, dry_run: bool, as_json: bool,
             quiet: bool, no_validate: bool) -> None:
    """Run U scripts of the newest applied versions, newest first.

    Refuses (exit 2) while an applied versioned script has changed since it ran: its U script was written
    for the old text. A missing U script also exits 2, naming the file expected.

    \b
    Examples:
      rockway migrate rollback              # undo the newest version
      rockway migrate rollback --steps 3
      rockway migrate rollback --to 1.2     # undo everything above 1.2
    """
    if steps is not None and to_version is not None:
        raise click.UsageError("use --steps or --to, not both")
    _run_migrate(ctx, rollback=True, rollback_steps=steps, rollback_to=to_version, resume=resume, dry_run=dry_run,
                 as_json=as_json, quiet=quiet, no_validate=no_validate)


def _run_migrate(ctx: click.Context, *, rollback: bool, dry_run: bool, as_json: bool, quiet: bool,
                 out_of_order: bool | None = None, no_validate: bool = False, mv_health: str | None = None,
                 **kwargs: Any) -> None:
    from rockway.migrate.api import dry_run_preview, migrate

    if shows_secrets(ctx) and not dry_run:
        raise click.UsageError("--show-secrets applies only with --dry-run (progress lines never show secrets)")
    settings = state(ctx).settings(out_of_order=out_of_order, validate_on_migrate=False if no_validate else None,
                                   mv_health=mv_health)
    progress = Progress(quiet=quiet or as_json or dry_run)
    result = migrate(settings, rollback=rollback, dry_run=dry_run, on_event=progress, on_lock_wait=progress.lock_wait,
                     **kwargs)
    report = result.report
    if result.snapshot_problem:  # the run succeeded; see schema/api.py record_after_migrate
        click.echo(f"warning: {result.snapshot_problem}", err=True)
    if as_json:
        echo_json(run_json(result, dry_run=dry_run,
                           preview=dry_run_preview(result) if dry_run else None))
        if result.mv_health is not None and result.mv_health.fails_run:
            ctx.exit(1)
        return
    for note in result.plan.notes:
        click.echo(f"note: {note}", err=True)
    if dry_run:
        print_dry_run(ctx, result, dry_run_preview(result))
        return
    n = len(report.applied) if report else 0
    verb = "rolled back" if rollback else "applied"
    if report is None or n == 0:
        click.echo("Nothing to do: the database is up to date." if not rollback else "Nothing to roll back.")
    else:
        click.echo(f"{verb} {n} script{'s' if n != 1 else ''} (run {report.run_id}, trace {report.trace_id})")
    if result.mv_health is not None:
        print_mv_health(ctx, result.mv_health)


@migrate_group.command("info", context_settings=CONTEXT)
@common_options
@click.option("--target", help="Show versions above this one as 'above target'.")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_context
def info_cmd(ctx: click.Context, target: str | None, as_json: bool) -> None:
    """Show every migration and its state (pending, applied, failed, outdated, missing, …).

    \b
    Examples:
      rockway migrate info
      rockway migrate info --json | jq '.[] | select(.state=="pending")'
    """
    from rockway.migrate.api import info, pending_rewrites

    settings = state(ctx).settings()
    infos = info(settings, target=target)
    rewrites = pending_rewrites(settings, infos)
    if as_json:
        echo_json([info_json(i) | ({"rewrites": [r.to_dict() for r in rewrites[i.script.name]]}
                                   if i.script and i.script.name in rewrites else {}) for i in infos])
        return
    rows = []
    for i in infos:
        row = i.row
        rows.append((
            {"V": "Versioned", "U": "Undo", "R": "Repeatable"}[i.kind.value], str(i.version) if i.version else "",
            i.description, row.type.value if row else "", row.installed_on.strftime("%Y-%m-%d %H:%M:%S") if row and row.installed_on else "",
            i.state.value, i.note))
    echo_table("Migrations", ("Category", "Version", "Description", "Type", "Installed on (UTC)", "State", "Note"), rows)
    print_rewrites([(i.script.display, rewrites[i.script.name]) for i in infos
                    if i.script and rewrites.get(i.script.name)])


@migrate_group.command("validate", context_settings=CONTEXT)
@common_options
@click.option("--json", "as_json", is_flag=True, help="Print problems as JSON.")
@click.pass_context
def validate_cmd(ctx: click.Context, as_json: bool) -> None:
    """Check for checksum drift, missing files, failed rows and scripts that do not render (exit 1 on problems).

    \b
    Example:
      rockway migrate validate --env prod
    """
    from rockway.migrate.api import require_valid, validate

    problems = validate(state(ctx).settings())
    if as_json:
        echo_json({"valid": not problems, "problems": problems})
        if problems:
            sys.exit(1)
        return
    require_valid(problems)
    click.echo("valid: history matches the scripts")


@migrate_group.command("repair", context_settings=CONTEXT)
@common_options
@click.option("--statement-done", metavar="VERSION",
              help="Mark the pending statement of an interrupted migration as applied (after you checked it took effect).")
@click.option("--json", "as_json", is_flag=True, help="Print what was repaired as JSON.")
@click.pass_context
def repair_cmd(ctx: click.Context, statement_done: str | None, as_json: bool) -> None:
    """Remove failed rows, realign checksums and descriptions, mark missing scripts deleted.

    \b
    Examples:
      rockway migrate repair
      rockway migrate repair --statement-done 1.4
    """
    from rockway.migrate.api import repair

    result = repair(state(ctx).settings(), statement_done=statement_done)
    if as_json:
        echo_json(result)
        return
    for what, items in (("removed failed row", result.removed_failed), ("realigned", result.realigned),
                        ("marked deleted", result.deleted_missing), ("marked done", result.marked_done)):
        for item in items:
            click.echo(f"{what}: {item}")
    if not any((result.removed_failed, result.realigned, result.deleted_missing, result.marked_done)):
        click.echo("nothing to repair")


@migrate_group.command("baseline", context_settings=CONTEXT)
@common_options
@click.option("--version", "version", required=True, help="Version the existing database corresponds to.")
@click.option("--description", default="<< baseline >>", show_default=True)
@click.pass_context
def baseline_cmd(ctx: click.Context, version: str, description: str) -> None:
    """Mark an existing database as being at VERSION; older scripts are then skipped.

    \b
    Example:
      rockway migrate baseline --version 3
    """
    from rockway.migrate.api import baseline

    row = baseline(state(ctx).settings(), version=version, description=description)
    click.echo(f"baselined at version {row.version}")


HISTORY_COLUMNS = ("installed_rank", "version", "description", "type", "script", "checksum", "installed_by", "installed_on",
                   "host", "execution_time", "success", "status", "statements_applied", "statements_total", "git_sha",
                   "run_id", "trace_id", "error")
HISTORY_TIMES = ["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]


@migrate_group.command("history", context_settings=CONTEXT)
@common_options
@click.option("--json", "as_json", is_flag=True, help="Print every column as JSON.")
@click.option("--csv", "as_csv", is_flag=True, help="Print every column as CSV.")
@click.option("--since", type=click.DateTime(HISTORY_TIMES), help="Only rows installed at or after this UTC time "
              "(a date alone is its midnight).")
@click.option("--until", type=click.DateTime(HISTORY_TIMES), help="Only rows installed before this UTC time.")
@click.option("--last", type=int, metavar="N", help="Only the last N rows (after --since/--until).")
@click.pass_context
def history_cmd(ctx: click.Context, as_json: bool, as_csv: bool, since: Any, until: Any, last: int | None) -> None:
    """Audit view of the history table: who, when, where, how long, checksum, git sha, trace id.

    \b
    Examples:
      rockway migrate history
      rockway migrate history --csv > audit.csv
      rockway migrate history --since 2026-01-01 --until 2026-04-01 --csv > q1.csv
      rockway migrate history --last 5
    """
    from rockway.migrate.api import history

    if as_json and as_csv:
        raise click.UsageError("use --json or --csv, not both")
    rows = history(state(ctx).settings(), since=since, until=until, last=last)
    if not rows and not (as_json or as_csv):
        bounds = " ".join(f"{flag} {value:%Y-%m-%d %H:%M:%S}" for flag, value in (("since", since), ("until", until))
                          if value is not None)
        click.echo(f"no history rows{' installed ' + bounds if bounds else ''}")
        return
    if as_json:
        echo_json(rows)
        return
    if as_csv:
        echo_csv(HISTORY_COLUMNS, ([to_jsonable(getattr(r, c)) for c in HISTORY_COLUMNS] for r in rows))
        return
    echo_table("History", ("#", "Version", "Description", "Type", "By", "On (UTC)", "Host", "ms", "Status", "Checksum",
                           "Git", "Trace"),
               ((r.installed_rank, r.version or "", r.description, r.type.value, r.installed_by,
                 r.installed_on.strftime("%Y-%m-%d %H:%M:%S") if r.installed_on else "", r.host or "", r.execution_time,
                 r.status.value, (r.checksum or "")[:12], (r.git_sha or "")[:10], r.trace_id or "") for r in rows))


@migrate_group.command("new", context_settings=CONTEXT)
@common_options
@click.argument("description")
@click.pass_context
def new_cmd(ctx: click.Context, description: str) -> None:
    """Scaffold the next V script and its U script.

    \b
    Example:
      rockway migrate new "add orders table"
    """
    from rockway.migrate.api import new

    for path in new(state(ctx).settings(), description):
        click.echo(f"created {path}")


@migrate_group.command("render", context_settings=CONTEXT)
@common_options
@click.argument("scripts", nargs=-1)
@SHOW_SECRETS
@click.option("--undo", is_flag=True, help="Print every U script instead, in rollback order (newest version first).")
@click.pass_context
def render_cmd(ctx: click.Context, scripts: tuple[str, ...], undo: bool) -> None:
    """Print scripts' SQL exactly as it would run for the environment, each statement ending with `;`.

    Values in secret positions (IDENTIFIED BY '…', "password" = "…" properties, …) print as ***
    unless --show-secrets is given.

    Without SCRIPTS: what `migrate up` runs on an empty database, in its order (V scripts by version, then R
    scripts in dependency order); no U scripts unless --undo. With SCRIPTS: those scripts, in the order given.

    \b
    Examples:
      rockway migrate render --env prod V3
      rockway migrate render repeatable/R__sales_views.sql
      rockway migrate render --env dev > schema.sql
      rockway migrate render --undo
    """
    from rockway.migrate.api import render

    for script, statements in render(state(ctx).settings(), scripts, undo=undo):
        click.echo(f"-- {script.name}")
        for stmt in statements:
            click.echo(f"{stmt.sql if shows_secrets(ctx) else redact_secrets(stmt.sql)};")


@migrate_group.command("clean", context_settings=CONTEXT)
@common_options
@click.option("--dry-run", is_flag=True, help="Print the DROP statements only.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def clean_cmd(ctx: click.Context, dry_run: bool, yes: bool) -> None:
    """Drop every object the applied scripts created and the history table (only where clean_enabled).

    \b
    Example:
      rockway migrate clean --env ci --yes
    """
    from rockway.migrate.api import clean

    settings = state(ctx).settings()
    if not settings.clean_enabled:
        clean(settings, dry_run=True)  # raises the explanation
    if not dry_run and not yes:
        click.confirm(f"Drop everything rockway created in {settings.env or 'this environment'}?", abort=True)
    for sql in clean(settings, dry_run=dry_run):
        click.echo(f"{sql};")


from rockway.cli.lint_cmd import lint_command  # noqa: E402

migrate_group.add_command(lint_command, "lint")


@click.group(context_settings=CONTEXT, name="migrate")
@common_options
@click.version_option(__version__, prog_name="migrate")
@click.pass_context
def migrate_cli(ctx: click.Context) -> None:
    """Flyway-style migrations for StarRocks (same as `rockway migrate`).

    \b
    Examples:
      migrate up
      migrate rollback --steps 1
    """
    ctx.obj = ctx.obj or CliState()


for _name, _cmd in migrate_group.commands.items():
    migrate_cli.add_command(_cmd, _name)
