"""`rockway schema dump|diff` and `rockway drift`: schema files per object and drift from the migrations' record."""

from __future__ import annotations

from pathlib import Path

import click

from rockway.cli.output import echo_json
from rockway.cli.state import common_options, state

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 110}


@click.group(name="schema", context_settings=CONTEXT)
@common_options
def schema_group() -> None:
    """One file per table, view and materialized view, and their comparison with the live schema.

    \b
    Examples:
      rockway schema dump --out schema/
      rockway schema diff schema/ --env prod
    """


@schema_group.command("dump", context_settings=CONTEXT)
@common_options
@click.option("--out", "out_dir", default="schema", show_default=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write <database>/<object>.sql into.")
@click.option("--live", is_flag=True, help="Also write each object's row count (a `-- Rows:` line that diff ignores).")
@click.option("--json", "as_json", is_flag=True, help="Print the files written and removed as JSON.")
@click.pass_context
def dump_cmd(ctx: click.Context, out_dir: Path, live: bool, as_json: bool) -> None:
    """Write the server's DDL of every managed object, normalised and headed by what it is for, the migrations
    that made it, the jobs that write it and the views that read it.

    Files of objects that no longer exist are removed from the dumped databases' folders.

    \b
    Examples:
      rockway schema dump
      rockway schema dump --out schema/ --env prod --live
    """
    from rockway.schema.api import dump

    result = dump(state(ctx).settings(), out_dir, live=live)
    if as_json:
        echo_json({"out": str(out_dir), "files": [f.path for f in result.files], "written": result.written,
                   "removed": result.removed})
        return
    for path in result.written:
        click.echo(f"wrote {out_dir / path}")
    for path in result.removed:
        click.echo(f"removed {out_dir / path}")
    click.echo(f"{len(result.files)} object(s) in {out_dir}: {len(result.written)} written, "
               f"{len(result.removed)} removed, {len(result.files) - len(result.written)} unchanged")


@schema_group.command("diff", context_settings=CONTEXT)
@common_options
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the differences as JSON.")
@click.pass_context
def diff_cmd(ctx: click.Context, directory: Path, as_json: bool) -> None:
    """Compare the live schema with the files of DIRECTORY; exit 1 with a unified diff when they differ.

    `-- Rows:` lines (dump --live) are ignored.

    \b
    Examples:
      rockway schema diff schema/
      rockway schema diff schema/ --env prod --json
    """
    from rockway.schema.api import diff

    result = diff(state(ctx).settings(), directory)
    if as_json:
        echo_json({"directory": str(directory), "databases": list(result.databases), "objects": result.files,
                   "same": not result.differences, "differences": [d.as_json() for d in result.differences]})
    else:
        for item in result.differences:
            click.echo(item.diff, nl=False)
        if result.differences:
            click.echo(f"{len(result.differences)} file(s) differ from the live schema: "
                       + ", ".join(f"{d.path} ({d.status})" for d in result.differences), err=True)
        else:
            click.echo(f"same: {result.files} object(s) match {directory}")
    if result.differences:
        ctx.exit(1)


@click.command(name="drift", context_settings=CONTEXT)
@common_options
@click.option("--json", "as_json", is_flag=True, help="Print the drift as JSON.")
@click.option("--accept", is_flag=True, help="Record the live schema as it is (under the run lock), accepting the "
              "drift shown; exit 0.")
@click.pass_context
def drift_command(ctx: click.Context, as_json: bool, accept: bool) -> None:
    """Compare the live schema with the record of the migrations; exit 1 on drift.

    Reports objects changed, added or dropped outside the migrations (an ALTER run by hand), each with a
    unified diff of its normalised DDL. A migration re-records only the objects it changes, so drift stays
    reported until it is reverted, made part of a migration, or accepted with --accept. Exit 2 when no
    migration has recorded the schema yet.

    \b
    Examples:
      rockway drift
      rockway drift --env prod --json
      rockway drift --env prod --accept
    """
    from rockway.schema.api import accept as accept_drift, drift

    if accept:
        accepted = accept_drift(state(ctx).settings())
        if as_json:
            echo_json({"accepted": [d.as_json() for d in accepted.objects]})
            return
        for item in accepted.objects:
            click.echo(f"accepted {item.status}: {item.kind} {item.name}")
        click.echo(f"the schema record now holds the live schema ({len(accepted.objects)} drifted object(s) accepted)")
        return
    report = drift(state(ctx).settings())
    if as_json:
        echo_json({"drift": report.drifted, "recorded_run_id": report.recorded_run_id, "checked": report.checked,
                   "objects": [d.as_json() for d in report.objects]})
    else:
        for item in report.objects:
            click.echo(f"{item.status}: {item.kind} {item.name}")
            click.echo(item.diff, nl=False)
        click.echo(report.summary(), err=bool(report.objects))
    if report.drifted:
        ctx.exit(1)
