"""Entry points `rockway` and `migrate`, global options and the one error boundary."""

from __future__ import annotations

import sys
import traceback as tb

import click

from rockway import __version__
from rockway.cli.dev_cmds import dev_group
from rockway.cli.docs_cmds import docs_group
from rockway.cli.init_cmd import init_command
from rockway.cli.job_cmds import job_group
from rockway.cli.lint_cmd import lint_command
from rockway.cli.lock_cmds import lock_group
from rockway.cli.migrate_cmds import migrate_group
from rockway.cli.mv_cmds import mv_group
from rockway.cli.rehearse_cmd import rehearse_command
from rockway.cli.run_cmds import run_command, schedule_command
from rockway.cli.schema_cmds import drift_command, schema_group
from rockway.cli.signoz_cmds import signoz_group
from rockway.cli.state import CliState, common_options
from rockway.cli.verify_cmds import verify_command
from rockway.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE, RockwayError
from rockway.observability.redaction import redact_secrets

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 110}


@click.group(name="rockway", context_settings=CONTEXT)
@common_options
@click.version_option(__version__, prog_name="rockway")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """rockway: schema migrations, jobs and checks for StarRocks (and MySQL/MariaDB).

    \b
    Examples:
      rockway migrate up --env dev
      rockway migrate info --json
      rockway lint --env prod
    """
    ctx.obj = ctx.obj or CliState()


cli.add_command(migrate_group)
cli.add_command(lock_group)
cli.add_command(lint_command)
cli.add_command(mv_group)
cli.add_command(job_group)
cli.add_command(run_command)
cli.add_command(schedule_command)
cli.add_command(verify_command)
cli.add_command(signoz_group)
cli.add_command(docs_group)
cli.add_command(dev_group)
cli.add_command(init_command)
cli.add_command(schema_group)
cli.add_command(drift_command)
cli.add_command(rehearse_command)


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


def _run(group: click.Group, argv: list[str] | None = None) -> int:
    """Invoke a click group inside the error boundary; return the exit code."""
    st = CliState()
    args = list(sys.argv[1:] if argv is None else argv)
    st.traceback = "--traceback" in args
    code = 0
    try:
        returned = group.main(args=args, obj=st, standalone_mode=False, prog_name=group.name)
        if isinstance(returned, int):  # ctx.exit(n) inside a command
            code = returned
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else EXIT_FAILED
    except click.exceptions.Abort:
        click.echo("interrupted", err=True)
        code = EXIT_INTERRUPTED
    except click.ClickException as exc:
        exc.show()
        code = EXIT_USAGE if isinstance(exc, click.UsageError) else exc.exit_code
    except RockwayError as exc:
        if st.traceback:
            tb.print_exc()
        _print_error(exc)
        code = exc.exit_code
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        code = EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - the one error boundary
        if st.traceback:
            tb.print_exc()
        click.echo(f"error: unexpected {type(exc).__name__}: {exc} (run with --traceback for details)", err=True)
        code = EXIT_FAILED
    finally:
        st.shutdown()
    return code


def _print_error(exc: "Exception") -> None:
    # messages quote statements (a changed or failed one): secrets in them are masked here, the last stop
    message = redact_secrets(getattr(exc, "message", str(exc)))
    hint = redact_secrets(getattr(exc, "hint", None) or "")
    click.secho(f"error: {message}", fg="red", err=True)
    if hint:
        click.echo(hint, err=True)


def main(argv: list[str] | None = None) -> None:
    """`rockway` console script."""
    sys.exit(_run(cli, argv))


def migrate_main(argv: list[str] | None = None) -> None:
    """`migrate` console script."""
    sys.exit(_run(migrate_cli, argv))
