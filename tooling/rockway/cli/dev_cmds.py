"""`rockway dev seed`: the local rehearsal of the pipelines (jobs/rehearsal.py does the work)."""

from __future__ import annotations

import click

from rockway.cli.job_setup import AS_OF, build_verifier, parse_as_of, progress_echo, setup_job_logging
from rockway.cli.output import echo_json
from rockway.cli.state import common_options, state

CONTEXT = {"help_option_names": ["-h", "--help"]}


@click.group(name="dev", context_settings=CONTEXT)
@common_options
def dev_group() -> None:
    """The local rehearsal: the pipelines against a MariaDB warehouse and a seeded ERP on the same server.

    \b
    Example:
      rockway dev seed && rockway run evening && rockway run morning
    """


@dev_group.command("seed", context_settings=CONTEXT)
@common_options
@AS_OF
@click.option("--json", "as_json", is_flag=True, help="Print what was done as JSON.")
@click.pass_context
def seed_cmd(ctx: click.Context, as_of: str | None, as_json: bool) -> None:
    """Make the rehearsal complete; a second run changes nothing.

    Applies the migrations, creates the ERP source database its DSN names (jobs/jobs.toml) from
    jobs/sources/erp_schema.sql with 28 days of deterministic sample data ending yesterday, the DSN's user
    with SELECT on that database only (password: ROCKWAY_SOURCE_ERP_PASSWORD), and loads every sample day
    before yesterday into the jobs that have no watermark yet. `rockway run evening` and `rockway run
    morning` then run as on any other day.

    \b
    Example:
      rockway dev seed
    """
    from rockway.migrate.api import migrate
    from rockway.jobs.api import load_project
    from rockway.jobs.rehearsal import erp_dsn, initialise_watermarks, seed_erp

    settings = state(ctx).settings()
    setup_job_logging()
    moment = parse_as_of(as_of)
    erp_dsn(settings)  # a configuration the rehearsal cannot use fails here, before anything is written
    up = migrate(settings)
    applied = len(up.report.applied) if up.report else 0
    click.echo(f"warehouse: {applied} script(s) applied" if applied else "warehouse: up to date", err=True)
    report = seed_erp(settings, as_of=moment)
    first, last = report.loaded_days
    verifier = build_verifier(settings, load_project(settings).jobs)
    loads = initialise_watermarks(settings, first, last, verifier=verifier,
                                  on_event=lambda m: progress_echo("seed", m))
    if as_json:
        echo_json({"migrations_applied": applied, "erp_database": report.database, "erp_user": report.user,
                   "sample_days": [report.first_day.isoformat(), report.last_day.isoformat()],
                   "created": report.created, "loaded": loads})
        return
    click.echo(report.describe())
    click.echo("watermarks: " + ("; ".join(loads) if loads else "every job has one already"))
