"""`rockway lock status|release`."""

from __future__ import annotations

import click

from rockway.cli.output import echo_json
from rockway.cli.state import common_options, state

CONTEXT = {"help_option_names": ["-h", "--help"]}


@click.group(name="lock", context_settings=CONTEXT)
@common_options
def lock_group() -> None:
    """Inspect or release the run lock.

    \b
    Examples:
      rockway lock status
      rockway lock release
    """


@lock_group.command("status", context_settings=CONTEXT)
@common_options
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """Show who holds the run lock (exit 4 when held).

    \b
    Example:
      rockway lock status --env prod
    """
    from rockway.migrate.api import lock_status

    holder = lock_status(state(ctx).settings())
    if as_json:
        echo_json({"held": holder is not None, "holder": holder})
    else:
        click.echo(f"held by {holder.describe()}" if holder else "free")
    if holder is not None:
        ctx.exit(4)


@lock_group.command("release", context_settings=CONTEXT)
@common_options
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def release(ctx: click.Context, yes: bool) -> None:
    """Remove a stale run lock (a crashed run's lease on StarRocks).

    \b
    Example:
      rockway lock release --yes
    """
    from rockway.migrate.api import lock_release, lock_status

    settings = state(ctx).settings()
    holder = lock_status(settings)
    if holder is None:
        click.echo("the lock is free")
        return
    if not yes:
        click.confirm(f"Release the lock held by {holder.describe()}?", abort=True)
    lock_release(settings)
    click.echo(f"released the lock held by {holder.describe()}")
