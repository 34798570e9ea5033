"""`rockway rehearse`: the release rehearsed on a throwaway schema (rehearse/api.py), for one CI job."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from rockway.cli.output import console, echo_table
from rockway.cli.state import common_options, state
from rockway.config import parse_dsn
from rockway.rehearse.container import DEFAULT_IMAGE, require_testcontainers, started_starrocks

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 110}
STEP_SUMMARY = "GITHUB_STEP_SUMMARY"


def _output_path(option: str, value: Path | None) -> Path | None:
    """A report path must be a file in an existing folder (exit 2 before anything runs)."""
    if value is None:
        return None
    if value.is_dir():
        raise click.BadParameter(f"{value} is a folder; give a file name", param_hint=option)
    if not value.parent.is_dir():
        raise click.BadParameter(f"the folder {value.parent} does not exist", param_hint=option)
    return value


@click.command("rehearse", context_settings=CONTEXT)
@common_options
@click.option("--start-starrocks", "image", is_flag=False, flag_value="default", default=None, metavar="[IMAGE]",
              help=f"Start a throwaway StarRocks with testcontainers (default image {DEFAULT_IMAGE}, the release line "
                   "of docker-compose.yml), wait for FE and BE, and remove it afterwards, also on failure and Ctrl-C. "
                   "Needs `pip install 'rockway[rehearse]'` and a Docker engine.")
@click.option("--pending", is_flag=True,
              help="Apply only what is pending on the server, as the release will (staging): no prefix, no undo round "
                   "trip, nothing dropped; the jobs' SQL writes no warehouse table (reads run WHERE 1 = 0).")
@click.option("--keep", is_flag=True, help="Keep the prefixed databases and roles for inspection (default: drop them).")
@click.option("--schema-dir", type=click.Path(exists=True, file_okay=False, path_type=Path), metavar="DIR",
              help="After the first up, compare the schema with the files of DIR (`rockway schema dump --out DIR`), "
                   "the prefixed names read as the project's own; a difference fails the rehearsal (the case "
                   "`schema files`, the unified diff in the summary).")
@click.option("--junit", "junit_path", type=click.Path(path_type=Path), metavar="FILE",
              help="Write JUnit XML here: one case per migration, round-trip check, lint script, MV, check file, job.")
@click.option("--markdown", "markdown_path", type=click.Path(path_type=Path), metavar="FILE",
              help=f"Write the Markdown summary here (also appended to ${STEP_SUMMARY} when that is set).")
@click.option("--quiet", "-q", is_flag=True, help="No progress lines.")
@click.pass_context
def rehearse_command(ctx: click.Context, image: str | None, pending: bool, keep: bool, schema_dir: Path | None,
                     junit_path: Path | None, markdown_path: Path | None, quiet: bool) -> None:
    """Rehearse the release: migrate from empty, undo round trip, then validate, lint, MVs, checks and job SQL.

    Everything is created under a unique prefix `rh_<8 hex>_` (every `*_db` variable, `role_prefix` and the
    DSN's database), so parallel CI jobs can share one server, and dropped at the end unless --keep.

    \b
    Exit codes: 0 the rehearsal passed; 1 a check failed (a migration, the schema files, the round trip, a lint
    error, a materialized view, a check, a job's SQL); 2 bad input; 3 server unreachable; 130 interrupted.

    \b
    Examples:
      rockway rehearse --dsn mysql://root@127.0.0.1:3306/warehouse --junit rehearse.xml
      rockway rehearse --start-starrocks --markdown rehearse.md --schema-dir schema
      rockway rehearse --dsn starrocks://deployer@staging-fe:9030/warehouse --pending --junit rehearse.xml
    """
    from rockway.rehearse.api import Options, rehearse
    from rockway.rehearse.report import junit_xml, markdown, write

    st = state(ctx)
    junit_path = _output_path("--junit", junit_path)
    markdown_path = _output_path("--markdown", markdown_path)
    if image is not None and "dsn" in st.overrides:
        raise click.UsageError("use --start-starrocks or --dsn, not both")
    if image is not None and pending:
        raise click.UsageError("--pending rehearses the release on a server that has the schema (staging); a "
                               "throwaway StarRocks has nothing applied")
    if keep and pending:
        raise click.UsageError("--keep applies to the prefixed copy; --pending uses the server's own databases")
    echo = (lambda _: None) if quiet else (lambda text: click.echo(f"rehearse: {text}", err=True))
    settings = st.settings()
    options = Options(pending=pending, keep=keep, schema_dir=schema_dir)
    if image is None:
        result = rehearse(settings, options, progress=echo)
    else:
        require_testcontainers()
        database = (parse_dsn(settings.dsn).database if settings.dsn else None) or "rockway"
        with started_starrocks(DEFAULT_IMAGE if image == "default" else image, progress=echo) as server:
            result = rehearse(st.settings(dsn=server.dsn(database)), options, progress=echo)
    text = markdown(result)
    if junit_path:
        write(junit_path, junit_xml(result))
    if markdown_path:
        write(markdown_path, text)
    if os.environ.get(STEP_SUMMARY):
        try:
            write(Path(os.environ[STEP_SUMMARY]), text, append=True)
        except OSError as exc:  # the rehearsal's verdict stands; the CI's summary file is not ours
            click.echo(f"warning: ${STEP_SUMMARY} not written: {exc}", err=True)
    _print(result)
    ctx.exit(0 if result.passed else 1)


def _print(result: Any) -> None:
    from rockway.rehearse.model import SUITES

    rows = []
    for suite in SUITES:
        cases = [c for c in result.cases if c.suite == suite]
        if cases:
            rows.append((suite, sum(c.status == "passed" for c in cases), sum(c.status == "failed" for c in cases),
                         sum(c.status == "skipped" for c in cases)))
    echo_table(f"rehearsal on {result.engine or 'the server'} ({result.mode})", ("check", "passed", "failed", "skipped"),
               rows)
    out = console(stderr=True)
    for case in result.failures:
        out.print(f"[red]FAILED[/red] {case.suite}: {case.name}: {case.failure}", markup=True)
        if case.detail and case.detail != case.failure:
            out.print(case.detail, markup=False)
    for d in result.schema_diff:
        click.echo(f"schema: {d.describe()}")
    if result.prefix:
        click.echo(f"kept everything named {result.prefix}*" if result.kept
                   else f"dropped {len(result.dropped)} database(s) and role(s) named {result.prefix}*")
    for note in result.notes:
        if note.startswith(("clean-up", "database ")):
            click.echo(f"warning: {note}", err=True)
    click.echo(f"rehearsal {'passed' if result.passed else 'FAILED'}: {len(result.cases)} cases, "
               f"{len(result.failures)} failed, {result.seconds:.1f} s")
