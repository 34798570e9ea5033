"""The click command tree as plain data: what rockway.docs documents (it does not import click) and the README
embeds (`docs update`, `rockway init`)."""

from __future__ import annotations

from typing import Any

import click

from rockway.cli.state import common_options

__all__ = ["command_tree", "root_tree"]

HELP_WIDTH = 100  # fixed, so the generated help text does not depend on the terminal


def _common_names() -> set[str]:
    @common_options
    def probe() -> None:  # pragma: no cover - only decorated, never called
        pass

    return {p.name for p in getattr(probe, "__click_params__", []) if p.name}


def _context(cmd: click.Command, name: str, parent: click.Context | None) -> click.Context:
    settings = {k: v for k, v in (cmd.context_settings or {}).items() if k not in ("terminal_width", "max_content_width")}
    return click.Context(cmd, info_name=name, parent=parent, terminal_width=HELP_WIDTH, max_content_width=HELP_WIDTH,
                         **settings)


def _help_text(cmd: click.Command, ctx: click.Context, skip: set[str]) -> str:
    formatter = ctx.make_formatter()
    cmd.format_usage(ctx, formatter)
    cmd.format_help_text(ctx, formatter)
    records = [r for p in cmd.get_params(ctx) if p.name not in skip for r in [p.get_help_record(ctx)] if r]
    if records:
        with formatter.section("Options"):
            formatter.write_dl(records)
    if isinstance(cmd, click.Group):
        cmd.format_commands(ctx, formatter)
    cmd.format_epilog(ctx, formatter)
    return formatter.getvalue()


def command_tree(cmd: click.Command, name: str = "rockway", parent: click.Context | None = None,
                 path: list[str] | None = None) -> dict[str, Any]:
    """The click command tree as plain data for rockway.docs.cli_reference (which does not import click)."""
    ctx = _context(cmd, name, parent)
    path = (path or []) + [name]
    common = _common_names()
    options, arguments = [], []
    for param in cmd.get_params(ctx):
        if isinstance(param, click.Option):
            names = list(param.opts) + list(param.secondary_opts)
            options.append({"names": names, "flag": bool(param.is_flag or param.count)})
        elif isinstance(param, click.Argument):
            arguments.append({"name": param.name, "nargs": param.nargs, "required": param.required})
    node: dict[str, Any] = {
        "name": name, "path": path, "summary": cmd.get_short_help_str(limit=200), "doc": cmd.help or "",
        "help": _help_text(cmd, ctx, common), "hidden": bool(cmd.hidden), "group": isinstance(cmd, click.Group),
        "options": options, "arguments": arguments, "commands": [],
    }
    if isinstance(cmd, click.Group):
        for sub_name in sorted(cmd.list_commands(ctx)):  # get_command: the root group imports its commands on demand
            sub = cmd.get_command(ctx, sub_name)
            if sub is not None:
                node["commands"].append(command_tree(sub, sub_name, ctx, path))
    if parent is None:
        formatter = ctx.make_formatter()
        formatter.write_dl([r for p in cmd.get_params(ctx) if p.name in common for r in [p.get_help_record(ctx)] if r])
        node["common_help"] = formatter.getvalue()
    return node


def root_tree(ctx: click.Context) -> dict[str, Any]:
    """The command tree of the root command this invocation runs under (`rockway`)."""
    return command_tree(ctx.find_root().command, "rockway")
