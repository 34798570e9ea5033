"""How the `rockway migrate …` commands print: progress lines, the dry-run listing, materialized-view findings,
table rewrites and the JSON of a run or of `migrate info`. Values in secret positions print as *** unless
--show-secrets was given (observability/redaction.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Sequence

import click

from rockway.cli.output import to_jsonable
from rockway.observability.redaction import display_sql, redact_secrets

if TYPE_CHECKING:
    from rockway.adapters.base import LockOwner
    from rockway.lint.rewrites import Rewrite
    from rockway.migrate.api import UpResult
    from rockway.migrate.executor import Event
    from rockway.migrate.release import StepPreview
    from rockway.model import MigrationInfo, Step
    from rockway.mv.health import MvHealthReport

__all__ = ["Progress", "SHOW_SECRETS", "shows_secrets", "run_json", "print_mv_health", "print_dry_run",
           "print_rewrites", "info_json"]


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


def _remember_show_secrets(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    ctx.meta["rockway.show_secrets"] = value


def shows_secrets(ctx: click.Context) -> bool:
    """True when --show-secrets was given: print values in secret positions instead of *** (redaction.py)."""
    return bool(ctx.meta.get("rockway.show_secrets"))


SHOW_SECRETS = click.option(
    "--show-secrets", is_flag=True, expose_value=False, callback=_remember_show_secrets,
    help="Print values in secret positions (IDENTIFIED BY '…', \"password\" = \"…\" properties) instead of ***.")


def run_json(result: UpResult, *, dry_run: bool, preview: Iterable[StepPreview] | None) -> dict[str, Any]:
    """`migrate up/rollback --json`: what ran (or, for a dry run, would run) and the MV health after it."""
    report = result.report
    return {
        "dry_run": dry_run, "run_id": report.run_id if report else None, "trace_id": report.trace_id if report else None,
        "notes": list(result.plan.notes),
        "applied": [{"script": a.script.name, "label": a.script.display, "action": a.action.value,
                     "statements": a.statements_run, "seconds": round(a.seconds, 3), "async_jobs": list(a.async_jobs)}
                    for a in (report.applied if report else [])],
        "statements": [_statements_json(s) for s in result.plan.steps] if dry_run else None,
        "rewrites": {p.step.script.name: [r.to_dict() for r in p.rewrites] for p in preview} if preview is not None
        else None,
        "bookkeeping": result.dry_run_sql if dry_run else None,
        "mv_health": result.mv_health,
    }


def print_mv_health(ctx: click.Context, health: MvHealthReport) -> None:
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


def print_dry_run(ctx: click.Context, result: UpResult, preview: Iterable[StepPreview]) -> None:
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
            click.echo(f"-- table rewrites: {rewrite_summary(item.rewrites)}")
        for stmt in item.statements:
            click.echo(f"{stmt.sql if shows_secrets(ctx) else redact_secrets(stmt.sql)};")
    writes = [s for s in result.dry_run_sql if not s.lstrip().upper().startswith("CREATE TABLE")]
    if writes:
        click.echo("\n-- history bookkeeping")
        for sql in writes:
            click.echo(f"{sql};")


def rewrite_summary(found: Sequence[Rewrite]) -> str:
    """`orders COLUMN (statements 1, 2); dim ROLLUP (statement 4)` for a list of rewrites.Rewrite."""
    groups: dict[tuple[str, str], list[int]] = {}
    for r in found:
        groups.setdefault((r.table, r.job.value), []).append(r.statement)
    return "; ".join(f"{table} {job} ×{len(idx)} (statement{'s' if len(idx) > 1 else ''} {', '.join(map(str, idx))})"
                     for (table, job), idx in groups.items())


def print_rewrites(per_script: list[tuple[str, list[Rewrite]]]) -> None:
    if not per_script:
        return
    click.echo("Table rewrites the pending migrations start (on StarRocks each is a job that rewrites the table):")
    for label, found in per_script:
        click.echo(f"  {label}: {rewrite_summary(found)}")


def info_json(i: MigrationInfo) -> dict[str, Any]:
    return {"category": i.kind.value, "version": str(i.version) if i.version else None, "description": i.description,
            "state": i.state.value, "script": i.script.name if i.script else (i.row.script if i.row else None),
            "checksum": i.script.checksum if i.script else None, "applied_checksum": i.row.checksum if i.row else None,
            "checksum_mismatch": i.checksum_mismatch, "note": i.note,
            "installed_on": to_jsonable(i.row.installed_on) if i.row else None,
            "statements_applied": i.row.statements_applied if i.row else None,
            "statements_total": i.row.statements_total if i.row else None}
