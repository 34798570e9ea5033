"""`rockway signoz …`: check and install the SigNoz dashboards and alert rules kept in observability/signoz/."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click

from rockway.cli.output import echo_json
from rockway.cli.params import Bounded
from rockway.cli.state import common_options, state
from rockway.errors import ConfigError, InputError, UsageError

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 110}


@click.group(name="signoz", context_settings=CONTEXT)
@common_options
def signoz_group() -> None:
    """SigNoz dashboards, alert rules and downtime windows kept in the repository.

    \b
    Files: observability/signoz/{dashboards,alerts,downtime}/*.json
    Environment: SIGNOZ_URL (e.g. http://signoz:8080), SIGNOZ_API_KEY (Settings -> API Keys, Editor role)

    \b
    Examples:
      rockway signoz check
      rockway signoz push --dry-run
    """


def _folder(ctx: click.Context, folder: str | None) -> Path:
    from rockway.observability.signoz.assets import ASSET_DIR

    return Path(folder) if folder else Path(state(ctx).project_dir) / ASSET_DIR


def _assets(ctx: click.Context, folder: str | None, only: tuple[str, ...]) -> list[Any]:
    from rockway.observability.signoz.assets import load_assets

    where = _folder(ctx, folder)
    if not where.is_dir():
        raise InputError(where, "no such folder", hint="Run from the project folder, or pass --dir / -C.")
    assets = [a for a in load_assets(where) if not only or a.kind in only]
    if not assets:
        raise InputError(where, "holds no dashboards/*.json, alerts/*.json or downtime/*.json")
    return assets


@signoz_group.command("check", context_settings=CONTEXT)
@common_options
@click.option("--dir", "folder", type=click.Path(file_okay=False), help="Asset folder (default: observability/signoz).")
@click.pass_context
def check_cmd(ctx: click.Context, folder: str | None) -> None:
    """Validate every asset file offline: structure, and that each metric and span name is one rockway emits.

    \b
    Examples:
      rockway signoz check
    """
    from rockway.observability.signoz.assets import check_asset

    bad = 0
    for asset in _assets(ctx, folder, ()):
        problems = check_asset(asset)
        bad += bool(problems)
        click.echo(f"{'ok ' if not problems else 'BAD'} {asset.kind:<9} {asset.path}  ({asset.title})")
        for problem in problems:
            click.echo(f"      - {problem}")
    if bad:
        raise UsageError(f"{bad} asset file(s) are not valid")


@signoz_group.command("push", context_settings=CONTEXT)
@common_options
@click.option("--dir", "folder", type=click.Path(file_okay=False), help="Asset folder (default: observability/signoz).")
@click.option("--only", type=click.Choice(["dashboard", "alert", "downtime"]), multiple=True,
              help="Push only this kind (repeatable).")
@click.option("--channel", "channels", multiple=True,
              help="SigNoz notification channel for every alert (repeatable; or SIGNOZ_ALERT_CHANNELS, comma-separated). "
                   "Default: the channels written in the files.")
@click.option("--timeout", type=Bounded(float, minimum=0.1, unit="seconds"), default=10.0, show_default=True,
              help="Seconds per HTTP request.")
@click.option("--dry-run", is_flag=True,
              help="Print the requests instead of sending them (only the listing GETs are sent, and none without "
                   "SIGNOZ_URL and SIGNOZ_API_KEY).")
@click.option("--json", "as_json", is_flag=True, help="Print the requests/result as JSON.")
@click.pass_context
def push_cmd(ctx: click.Context, folder: str | None, only: tuple[str, ...], channels: tuple[str, ...], timeout: float,
             dry_run: bool, as_json: bool) -> None:
    """Create or update the dashboards, alert rules and downtime windows in SigNoz (matched by title).

    \b
    Examples:
      SIGNOZ_URL=http://signoz:8080 SIGNOZ_API_KEY=… rockway signoz push
      rockway signoz push --dry-run
      rockway signoz push --only alert --channel data-oncall
    """
    from rockway.observability.signoz.push import SigNozClient, push

    assets = _assets(ctx, folder, only)
    url, key = os.environ.get("SIGNOZ_URL", "").strip(), os.environ.get("SIGNOZ_API_KEY", "").strip()
    if not channels and os.environ.get("SIGNOZ_ALERT_CHANNELS", "").strip():
        channels = tuple(c.strip() for c in os.environ["SIGNOZ_ALERT_CHANNELS"].split(",") if c.strip())
    missing = [name for name, value in (("SIGNOZ_URL", url), ("SIGNOZ_API_KEY", key)) if not value]
    if missing and not dry_run:
        raise ConfigError(f"set {' and '.join(missing)} to push to SigNoz",
                          hint="Or run with --dry-run to see the requests without sending them.")
    client = SigNozClient(url, key, timeout=timeout) if not missing else None
    base = client.base_url if client else "$SIGNOZ_URL"
    shown: list[dict[str, Any]] = []

    def show(request: Any) -> None:
        if as_json:
            shown.append({"method": request.method, "url": base + request.path, "title": request.title,
                          "body": request.body})
        elif dry_run:
            click.echo(f"{request.method} {base}{request.path}")
            click.echo("SIGNOZ-API-KEY: ***")
            click.echo("Content-Type: application/json")
            click.echo("")
            click.echo(json.dumps(request.body, indent=2, ensure_ascii=False))
            click.echo("")
        else:
            verb = "updating" if request.method == "PUT" else "creating"
            click.echo(f"{verb} {request.title!r} ({request.method} {request.path})", err=True)

    result = push(assets, client, dry_run=dry_run, channels=channels, on_request=show)
    if as_json:
        echo_json({"dry_run": dry_run, "checked_existing": result.checked, "requests": shown})
        return
    if dry_run:
        if not result.checked:
            click.echo("note: SIGNOZ_URL/SIGNOZ_API_KEY not set, so existing items were not looked up; "
                       "those would be updated (PUT) instead of created", err=True)
        click.echo(f"dry run: {len(result.created)} to create, {len(result.updated)} to update; nothing sent", err=True)
        return
    click.echo(f"SigNoz at {base}: created {len(result.created)}, updated {len(result.updated)}")
