"""`rockway lint`: StarRocks rules plus a sqlglot parse where sqlglot truly parses."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from rockway.cli.output import echo_json
from rockway.cli.state import common_options, state
from rockway.observability.redaction import redact_secrets

if TYPE_CHECKING:
    from rockway.migrate.release import ReleaseRewrites


@click.command("lint", context_settings={"help_option_names": ["-h", "--help"]})
@common_options
@click.argument("scripts", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Print findings as JSON.")
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too.")
@click.option("--show-secrets", is_flag=True,
              help="Print values in secret positions (IDENTIFIED BY '…', \"password\" = \"…\") instead of ***.")
@click.option("--pending", is_flag=True,
              help="Lint only the release: the scripts the environment's history has not applied (connects to it).")
@click.option("--fix", is_flag=True,
              help="Merge adjacent column changes of one table in not-yet-applied V scripts into one ALTER TABLE"
                   " (one rewrite instead of several); prints the diff. Needs --pending or --assume-pending.")
@click.option("--check", is_flag=True, help="Like --fix, but write nothing; exit 1 when a merge is possible (for CI).")
@click.option("--assume-pending", is_flag=True,
              help="With --fix/--check and no database: you vouch that the V scripts linted were never applied.")
@click.pass_context
def lint_command(ctx: click.Context, scripts: tuple[str, ...], as_json: bool, strict: bool, show_secrets: bool,
                 pending: bool, fix: bool, check: bool, assume_pending: bool) -> None:
    """Check scripts, rendered for the environment, for SQL StarRocks rejects (exit 1 on errors).

    Each statement is reported as checked (parsed by sqlglot's StarRocks dialect and no rule fired),
    unverified (no rule fired, but sqlglot could not really parse it) or error.

    Across the release (--pending; else the named scripts, or every V script) it also lists every table
    rewritten more than once: each column, bucket or rollup change is a StarRocks job that rewrites the
    table's data. --fix merges adjacent ADD/DROP/MODIFY COLUMN statements on one table into one ALTER TABLE.

    \b
    Examples:
      rockway lint --env prod
      rockway lint migrations/V3__orders.sql --json
      rockway lint --pending --env prod --check
      rockway lint --fix --assume-pending migrations/V18__contacts.sql
    """
    from rockway.lint import summarize
    from rockway.migrate.api import lint, release_rewrites

    if fix and check:
        raise click.UsageError("use --fix or --check, not both (--check writes nothing)")
    if assume_pending and not (fix or check):
        raise click.UsageError("--assume-pending applies only with --fix or --check")
    if assume_pending and pending:
        raise click.UsageError("use --pending (the history decides) or --assume-pending (you decide), not both")
    settings = state(ctx).settings()
    release = release_rewrites(settings, scripts, pending=pending, fix=fix or check, write=fix,
                               assume_pending=assume_pending)
    if pending:
        reports = lint(settings, release.scripts) if release.scripts else []
    else:
        reports = lint(settings, scripts)
    if not show_secrets:
        reports = [r.without_secrets() for r in reports]
    summary = summarize(reports)
    if as_json:
        release_data = release.to_dict()
        if not show_secrets:  # the diff and first lines quote the scripts
            release_data = _redacted(release_data)
        echo_json({"summary": summary, "scripts": [r.to_dict() for r in reports], "release": release_data})
    else:
        for report in reports:
            for st in report.statements:
                mark = {"checked": "ok ", "unverified": "?? ", "error": "ERR"}[st.status]
                if st.status != "checked" or st.findings:
                    click.echo(f"{mark} {report.path}:{st.line}  [{st.index}] {st.first_line[:90]}")
                for f in st.findings:
                    click.echo(f"      {f.severity} {f.rule} line {f.line}: {f.message}")
            for f in report.findings:
                click.echo(f"    {report.path}:{f.line}: {f.severity} {f.rule}: {f.message}")
        click.echo(" ".join(f"{k}={v}" for k, v in summary.items()))
        _print_release(release, written=fix, show_secrets=show_secrets)
    if check and any(f.merges for f in release.fixes):
        sys.exit(1)
    failed = summary.get("errors", 0) or (strict and summary.get("warnings", 0))
    if failed:
        sys.exit(1)


def _redacted(data: Any) -> Any:
    """`data` with values in secret positions of every string masked (redaction.py)."""
    if isinstance(data, str):
        return redact_secrets(data)
    if isinstance(data, dict):
        return {k: _redacted(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_redacted(v) for v in data]
    return data


def _print_release(release: ReleaseRewrites, *, written: bool, show_secrets: bool) -> None:
    """The release's repeated table rewrites, then each script's merges (a diff) and statements kept apart."""
    shown = (lambda text: text) if show_secrets else _redacted
    for table, found in release.repeated.items():
        click.echo(f"rewrites: {table} is rewritten {len(found)} times in this release; combine its changes"
                   " (StarRocks runs one job per table at a time, each rewriting the data)")
        for r in found:
            click.echo(f"      {r.job.value:<8} {r.script}:{r.line}  [{r.statement}] {shown(r.first_line)[:80]}")
    for item in release.fixes:
        if item.merges:
            verb = "merged" if written else "can merge"
            for m in item.merges:
                click.echo(f"fix: {item.script.name}: {verb} statements {', '.join(map(str, m.statements))} on"
                           f" {m.table} into one ALTER TABLE ({len(m.statements)} rewrites -> 1)")
            click.echo(shown(item.diff), nl=False)
        for k in item.kept:
            what = f"statement {k.statement} stays apart" if k.statement else "not merged"
            click.echo(f"fix: {item.script.name}:{k.line}: {what}: {k.reason}")
    click.echo(f"rewrites={len(release.rewrites)} tables_rewritten_more_than_once={len(release.repeated)}")
