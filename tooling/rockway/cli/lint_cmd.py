"""`rockway lint`: StarRocks rules plus a sqlglot parse where sqlglot truly parses."""

from __future__ import annotations

import sys

import click

from .output import echo_json
from .state import common_options, state


@click.command("lint", context_settings={"help_option_names": ["-h", "--help"]})
@common_options
@click.argument("scripts", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Print findings as JSON.")
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too.")
@click.option("--show-secrets", is_flag=True,
              help="Print values in secret positions (IDENTIFIED BY '…', \"password\" = \"…\") instead of ***.")
@click.pass_context
def lint_command(ctx: click.Context, scripts: tuple[str, ...], as_json: bool, strict: bool, show_secrets: bool) -> None:
    """Check scripts, rendered for the environment, for SQL StarRocks rejects (exit 1 on errors).

    Each statement is reported as checked (parsed by sqlglot's StarRocks dialect and no rule fired),
    unverified (no rule fired, but sqlglot could not really parse it) or error.

    \b
    Examples:
      rockway lint --env prod
      rockway lint migrations/V3__orders.sql --json
    """
    from ..commands import lint

    reports = lint(state(ctx).settings(), scripts)
    if not show_secrets:
        reports = [r.without_secrets() for r in reports]
    from ..lint import summarize

    summary = summarize(reports)
    if as_json:
        echo_json({"summary": summary, "scripts": [r.to_dict() for r in reports]})
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
    failed = summary.get("errors", 0) or (strict and summary.get("warnings", 0))
    if failed:
        sys.exit(1)
