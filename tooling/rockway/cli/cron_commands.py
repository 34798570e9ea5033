"""The rockway calls in cron.d files: each must name an existing command with valid options, an environment
of rockway.toml and a pipeline of jobs/pipelines.yaml (`rockway schedule`, `rockway job validate`)."""

from __future__ import annotations

import warnings
from typing import Any, Sequence

import click

from rockway.config import check_environment
from rockway.errors import ConfigError
from rockway.yamlsrc import Problem

__all__ = ["resolve_command", "cron_command_problems"]


def resolve_command(root: click.Command, argv: Sequence[str]) -> str | None:
    """None when `rockway <argv>` names an existing command of `root` (the `rockway` group) with valid options,
    else why not."""
    cmd: click.Command = root
    args, name = list(argv), "rockway"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            while isinstance(cmd, click.Group):
                ctx = cmd.make_context(name, list(args), resilient_parsing=True)
                rest = list(ctx.protected_args) + list(ctx.args)
                if not rest:
                    return f"`{' '.join(['rockway', *argv])}`: names a command group, not a command"
                found, sub, args = cmd.resolve_command(ctx, rest)
                if sub is None:
                    return f"`{' '.join(['rockway', *argv])}`: no such command"
                cmd, name = sub, found or rest[0]
            cmd.make_context(name, list(args))
    except click.ClickException as exc:
        return f"`rockway {' '.join(argv)}`: {exc.format_message()}"
    return None


def cron_command_problems(st: Any, cron: Any) -> list[Any]:
    """Problems of the rockway calls in cron entries: unknown commands or options, pipelines, environments
    (inside a command: the commands are looked up in the root command this invocation runs under)."""
    root = click.get_current_context().find_root().command
    problems = []
    pipelines = _pipeline_names(st)
    for entry in cron.entries:
        for argv in entry.rockway_commands:
            why = resolve_command(root, argv) or _env_problem(st, argv)
            if why is None and argv[:1] == ("run",) and pipelines is not None:
                name = next((a for a in argv[1:] if not a.startswith("-")), None)
                if name is not None and name not in pipelines:
                    why = f"pipeline {name!r} is not in jobs/pipelines.yaml ({', '.join(sorted(pipelines))})"
            if why:
                problems.append(Problem(cron.path, entry.line, "command", why))
    return problems


def _env_problem(st: Any, argv: Sequence[str]) -> str | None:
    """Why the `--env NAME` of a scheduled call names no [env.NAME] of rockway.toml, else None."""
    for i, arg in enumerate(argv):
        name = argv[i + 1] if arg == "--env" and i + 1 < len(argv) else arg[6:] if arg.startswith("--env=") else None
        if name is None:
            continue
        try:
            check_environment(name, st.project_dir, st.config_file)
        except ConfigError as exc:
            return f"--env {name}: {exc.message}" + (f" ({exc.hint})" if exc.hint else "")
    return None


def _pipeline_names(st: Any) -> set[str] | None:
    try:
        from rockway.jobs.api import load_project

        return set(load_project(st.settings(), strict=False).pipelines)
    except Exception:  # noqa: BLE001 - the schedule can be listed without a readable jobs folder
        return None
