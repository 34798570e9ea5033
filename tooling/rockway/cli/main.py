"""Entry points `rockway` and `migrate`, global options and the one error boundary."""

from __future__ import annotations

import importlib
import sys
import traceback as tb
from typing import Any, Mapping

import click

from rockway import __version__
from rockway.cli.state import CliState, common_options
from rockway.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE, RockwayError
from rockway.observability.redaction import redact_secrets

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 110}

# rockway's commands by name, each as "module:attribute". A command's module is imported when the command is run or
# listed, so `rockway migrate up` does not import the jobs, verify or docs commands (`--help`, `docs update` and
# `rockway init`, which list every command, import them all).
COMMANDS: Mapping[str, str] = {
    "migrate": "rockway.cli.migrate_cmds:migrate_group",
    "lock": "rockway.cli.lock_cmds:lock_group",
    "lint": "rockway.cli.lint_cmd:lint_command",
    "mv": "rockway.cli.mv_cmds:mv_group",
    "job": "rockway.cli.job_cmds:job_group",
    "run": "rockway.cli.run_cmds:run_command",
    "schedule": "rockway.cli.run_cmds:schedule_command",
    "verify": "rockway.cli.verify_cmds:verify_command",
    "signoz": "rockway.cli.signoz_cmds:signoz_group",
    "docs": "rockway.cli.docs_cmds:docs_group",
    "dev": "rockway.cli.dev_cmds:dev_group",
    "init": "rockway.cli.init_cmd:init_command",
    "schema": "rockway.cli.schema_cmds:schema_group",
    "drift": "rockway.cli.schema_cmds:drift_command",
    "rehearse": "rockway.cli.rehearse_cmd:rehearse_command",
}


class LazyGroup(click.Group):
    """A group whose commands are imported when first asked for (click's "Lazily Loading Subcommands")."""

    def __init__(self, *args: Any, lazy_commands: Mapping[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy_commands:
            module, _, attribute = self.lazy_commands[cmd_name].partition(":")
            self.add_command(getattr(importlib.import_module(module), attribute), cmd_name)
        return super().get_command(ctx, cmd_name)


@click.group(name="rockway", cls=LazyGroup, lazy_commands=COMMANDS, context_settings=CONTEXT)
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
    from rockway.cli.migrate_cmds import migrate_cli

    sys.exit(_run(migrate_cli, argv))
