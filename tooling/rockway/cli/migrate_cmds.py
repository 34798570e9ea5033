"""`rockway migrate …` commands."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, Iterable, Sequence

import click

from rockway.cli.output import echo_csv, echo_json, echo_table, to_jsonable
from rockway.cli.params import Bounded
from rockway.cli.state import common_options, state
from rockway.observability.redaction import display_sql, redact_secrets

# Each command imports the migrate wing when it runs, as the other command groups do theirs: it loads sqlglot
# (rockway.lint), which `rockway --help` and every other command would otherwise pay for.
if TYPE_CHECKING:
    from rockway.adapters.base import LockOwner
    from rockway.lint.rewrites import Rewrite
    from rockway.migrate.api import UpResult
    from rockway.migrate.executor import Event
    from rockway.migrate.release import StepPreview
    from rockway.model import MigrationInfo, Step
    from rockway.mv.health import MvHealthReport

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


class Progress:
    """Prints executor events to stderr."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet

    def __call__(self, event: Event) -> None:
        if self.quiet:
            return
        if event.kind == "migration":
            assert event.script is not None
            extra = f" ({event.message})" if event.message else ""
            click.secho(f"→ {event.script.display}  [{event.total} statement{'s' if event.total != 1 else ''}]{extra}",
                        err=True, bold=True)
        elif event.kind == "statement":
            # secrets masked: a statement such as CREATE USER … IDENTIFIED BY '…' must not reach CI logs
            click.echo(f"  [{event.index}/{event.total}] {display_sql(event.sql, 100)}", err=True)
        elif event.kind == "progress":
            click.echo(f"      … {event.message}", err=True)
        elif event.kind == "migration_done":
            click.echo(f"  done in {event.seconds:.2f} s", err=True)

    def lock_wait(self, holder: LockOwner | None, remaining: float) -> None:
        if not self.quiet:
            who = holder.describe() if holder else "another session"
            click.echo(f"waiting for the run lock held by {who} ({remaining:.0f} s left)", err=True)


NO_VALIDATE = click.option(
    "--no-validate", is_flag=True,
    help="Run although an applied versioned script has changed since it ran (default: refuse with exit 2;"
         " validate_on_migrate in rockway.toml, ROCKWAY_VALIDATE_ON_MIGRATE).")


def _remember_show_secrets(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    ctx.meta["rockway.show_secrets"] = value


def shows_secrets(ctx: click.Context) -> bool:
    """True when --show-secrets was given: print values in secret positions instead of *** (redaction.py)."""
    return bool(ctx.meta.get("rockway.show_secrets"))


SHOW_SECRETS = click.option(
    "--show-secrets", is_flag=True, expose_value=False, callback=_remember_show_secrets,
    help="Print values in secret positions (IDENTIFIED BY '…', \"password\" = \"…\" properties) instead of ***.")


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
    if result.snapshot_problem:  # the migration succeeded; `rockway drift` compares with the previous record
        click.echo(f"warning: {result.snapshot_problem}", err=True)
    if as_json:
        echo_json({
            "dry_run": dry_run, "run_id": report.run_id if report else None, "trace_id": report.trace_id if report else None,
            "notes": list(result.plan.notes),
            "applied": [{"script": a.script.name, "label": a.script.display, "action": a.action.value,
                         "statements": a.statements_run, "seconds": round(a.seconds, 3), "async_jobs": list(a.async_jobs)}
                        for a in (report.applied if report else [])],
            "statements": [_statements_json(s) for s in result.plan.steps] if dry_run else None,
            "rewrites": {p.step.script.name: [r.to_dict() for r in p.rewrites]
                         for p in dry_run_preview(settings, result.plan.steps)} if dry_run else None,
            "bookkeeping": result.dry_run_sql if dry_run else None,
            "mv_health": result.mv_health,
        })
        if result.mv_health is not None and result.mv_health.fails_run:
            ctx.exit(1)
        return
    for note in result.plan.notes:
        click.echo(f"note: {note}", err=True)
    if dry_run:
        _print_dry_run(ctx, result, dry_run_preview(settings, result.plan.steps))
        return
    n = len(report.applied) if report else 0
    verb = "rolled back" if rollback else "applied"
    if report is None or n == 0:
        click.echo("Nothing to do: the database is up to date." if not rollback else "Nothing to roll back.")
    else:
        click.echo(f"{verb} {n} script{'s' if n != 1 else ''} (run {report.run_id}, trace {report.trace_id})")
    if result.mv_health is not None:
        _print_mv_health(ctx, result.mv_health)


def _print_mv_health(ctx: click.Context, health: MvHealthReport) -> None:
    """The MVs the run left inactive or failed to refresh, each with its fix (mv/health.py); exit 1 in mode fail."""
    if health.error:
        click.echo(f"warning: {health.error}; `rockway mv status` shows their state", err=True)
    for f in health.activated:
        click.echo(f"materialized view {f.label} was made inactive by this run ({f.reason}); re-activated", err=True)
    for f in health.problems:
        level = "error" if health.mode == "fail" else "warning"
        click.echo(f"{level}: materialized view {f.label}: {f.problem}: {f.reason}", err=True)
        if f.activation_error:
            click.echo(f"  ALTER MATERIALIZED VIEW … ACTIVE failed: {f.activation_error}", err=True)
        click.echo(f"  fix: {f.fix}", err=True)
    if health.already_inactive:
        click.echo(f"note: {len(health.already_inactive)} materialized view(s) were inactive before this run already"
                   f" ({', '.join(health.already_inactive)}): see `rockway mv status`", err=True)
    if health.fails_run:
        ctx.exit(1)


def _statements_json(step: Step) -> dict[str, Any]:
    return {"script": step.script.name, "action": step.action.value, "start_at": step.start_at}


def _print_dry_run(ctx: click.Context, result: UpResult, preview: Iterable[StepPreview]) -> None:
    click.echo("-- dry run: nothing was executed and no lock was taken")
    if not result.plan.steps:
        click.echo("-- nothing to do")
    for sql in result.dry_run_sql:
        if sql.lstrip().upper().startswith("CREATE TABLE"):
            click.echo(f"-- history table\n{sql};")
    for item in preview:
        step = item.step
        click.echo(f"\n-- {step.script.display} ({step.script.name}), {step.action.value}"
                   + (f" from statement {step.start_at}" if step.start_at > 1 else ""))
        if item.rewrites:
            click.echo(f"-- table rewrites: {_rewrite_summary(item.rewrites)}")
        for stmt in item.statements:
            click.echo(f"{stmt.sql if shows_secrets(ctx) else redact_secrets(stmt.sql)};")
    writes = [s for s in result.dry_run_sql if not s.lstrip().upper().startswith("CREATE TABLE")]
    if writes:
        click.echo("\n-- history bookkeeping")
        for sql in writes:
            click.echo(f"{sql};")


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
        echo_json([_info_json(i) | ({"rewrites": [r.to_dict() for r in rewrites[i.script.name]]}
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
    _print_rewrites([(i.script.display, rewrites[i.script.name]) for i in infos
                     if i.script and rewrites.get(i.script.name)])


def _rewrite_summary(found: Sequence[Rewrite]) -> str:
    """`orders COLUMN (statements 1, 2); dim ROLLUP (statement 4)` for a list of rewrites.Rewrite."""
    groups: dict[tuple[str, str], list[int]] = {}
    for r in found:
        groups.setdefault((r.table, r.job.value), []).append(r.statement)
    return "; ".join(f"{table} {job} ×{len(idx)} (statement{'s' if len(idx) > 1 else ''} {', '.join(map(str, idx))})"
                     for (table, job), idx in groups.items())


def _print_rewrites(per_script: list[tuple[str, list[Rewrite]]]) -> None:
    if not per_script:
        return
    click.echo("Table rewrites the pending migrations start (on StarRocks each is a job that rewrites the table):")
    for label, found in per_script:
        click.echo(f"  {label}: {_rewrite_summary(found)}")


def _info_json(i: MigrationInfo) -> dict[str, Any]:
    return {"category": i.kind.value, "version": str(i.version) if i.version else None, "description": i.description,
            "state": i.state.value, "script": i.script.name if i.script else (i.row.script if i.row else None),
            "checksum": i.script.checksum if i.script else None, "applied_checksum": i.row.checksum if i.row else None,
            "checksum_mismatch": i.checksum_mismatch, "note": i.note,
            "installed_on": to_jsonable(i.row.installed_on) if i.row else None,
            "statements_applied": i.row.statements_applied if i.row else None,
            "statements_total": i.row.statements_total if i.row else None}


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


@migrate_group.command("history", context_settings=CONTEXT)
@common_options
@click.option("--json", "as_json", is_flag=True, help="Print every column as JSON.")
@click.option("--csv", "as_csv", is_flag=True, help="Print every column as CSV.")
@click.pass_context
def history_cmd(ctx: click.Context, as_json: bool, as_csv: bool) -> None:
    """Audit view of the history table: who, when, where, how long, checksum, git sha, trace id.

    \b
    Examples:
      rockway migrate history
      rockway migrate history --csv > audit.csv
    """
    from rockway.migrate.api import history

    if as_json and as_csv:
        raise click.UsageError("use --json or --csv, not both")
    rows = history(state(ctx).settings())
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
