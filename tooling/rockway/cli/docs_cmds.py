"""`rockway docs update|check|sections`: the README's generated sections."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from rockway.cli.command_tree import root_tree
from rockway.cli.output import echo_table
from rockway.cli.state import common_options, state
from rockway.errors import InputError, RockwayError

CONTEXT = {"help_option_names": ["-h", "--help"]}


def _readme(ctx: click.Context, readme: str) -> tuple[Path, Path, str]:
    st = state(ctx)
    project = Path(st.project_dir)
    path = Path(readme) if Path(readme).is_absolute() else project / readme
    if not path.is_file():
        raise InputError(str(path), "not found", hint="Pass --readme PATH, or -C the project folder.")
    return project, path, readme


def _docs_context(ctx: click.Context, project: Path, readme: str, live: Any = None) -> Any:
    from rockway.docs import DocsContext

    st = state(ctx)
    return DocsContext.load(project, config_file=Path(st.config_file) if st.config_file else None, cli=root_tree(ctx),
                            live=live, readme=readme)


def _live(ctx: click.Context, project: Path) -> Any:
    """Row counts of the catalog's tables in the CLI's environment, and the next cron runs from now."""
    from rockway.docs.live import read_live

    return read_live(project, state(ctx).settings())


def _report_problems(found: list[str]) -> None:
    for problem in found:
        click.echo(f"problem: {problem}", err=True)
    if found:
        raise RockwayError(f"{len(found)} problem(s) in the generated documentation",
                           hint="Fix the sources named above, then run `rockway docs update`.")


@click.group(name="docs", context_settings=CONTEXT)
@common_options
def docs_group() -> None:
    """Generate the README's sections from the project; check them in CI.

    Only the text between rockway:docs:begin NAME and rockway:docs:end NAME markers (HTML comments, each
    alone on its line) is generated; all other text is kept. The result depends only on the repository's
    files, so `docs check` gives the same answer on every machine and every day.

    \b
    Examples:
      rockway docs update
      rockway docs check
      rockway docs sections
    """


@docs_group.command("update", context_settings=CONTEXT)
@common_options
@click.option("--readme", default="README.md", show_default=True, metavar="PATH",
              help="Markdown file to rewrite, relative to the project folder.")
@click.option("--live", is_flag=True,
              help="Also fill the live-snapshot section: row counts from the database (--env/--dsn) and the next "
                   "cron runs from now.")
@click.pass_context
def update_cmd(ctx: click.Context, readme: str, live: bool) -> None:
    """Rewrite the generated sections of the README (exit 2 naming the line for bad markers).

    \b
    Examples:
      rockway docs update
      rockway docs update --live --env prod
    """
    from rockway.docs import generate, problems

    project, path, shown = _readme(ctx, readme)
    live_data = _live(ctx, project) if live else None
    docs = _docs_context(ctx, project, shown, live_data)
    old = path.read_text(encoding="utf-8")
    new = generate(old, docs, path=shown)
    if new != old:
        path.write_text(new, encoding="utf-8")
        click.echo(f"{shown}: updated")
    else:
        click.echo(f"{shown}: up to date")
    _report_problems(problems(new, docs, path=shown))


@docs_group.command("check", context_settings=CONTEXT)
@common_options
@click.option("--readme", default="README.md", show_default=True, metavar="PATH",
              help="Markdown file to check, relative to the project folder.")
@click.pass_context
def check_cmd(ctx: click.Context, readme: str) -> None:
    """Exit 1 when the README differs from what `docs update` would write, printing the unified diff.

    Never connects to a database: the live-snapshot section is kept as it is. Also exits 1 for a Mermaid
    diagram that does not parse, a generated `rockway …` command that does not exist, or a top-level folder
    without a documented purpose; exit 2 for bad markers.

    \b
    Example:
      rockway docs check
    """
    from rockway.docs import diff, generate, problems

    project, path, shown = _readme(ctx, readme)
    docs = _docs_context(ctx, project, shown)
    old = path.read_text(encoding="utf-8")
    new = generate(old, docs, path=shown)
    found = problems(new, docs, path=shown)
    if new != old:
        click.echo(diff(old, new, shown), nl=False)
        for problem in found:
            click.echo(f"problem: {problem}", err=True)
        raise RockwayError(f"{shown} is out of date with the project (diff above)",
                           hint="Run `rockway docs update` and commit the result.")
    _report_problems(found)
    click.echo(f"{shown}: up to date")


@docs_group.command("sections", context_settings=CONTEXT)
@common_options
@click.option("--readme", default="README.md", show_default=True, metavar="PATH",
              help="Markdown file whose markers to list.")
@click.pass_context
def sections_cmd(ctx: click.Context, readme: str) -> None:
    """List the sections a README can contain, and the lines of those it does contain.

    \b
    Example:
      rockway docs sections
    """
    from rockway.docs import SECTIONS, section_names
    from rockway.docs.markers import parse

    st = state(ctx)
    path = Path(st.project_dir) / readme
    present = {}
    if path.is_file():
        present = {s.name: s for s in parse(path.read_text(encoding="utf-8"), path=readme, known=frozenset(SECTIONS))}
    echo_table(f"sections ({readme})", ["section", "in README", "what it holds"],
               [(name, f"lines {present[name].begin_line}-{present[name].end_line}" if name in present else "-",
                 summary + (" [live]" if live else "")) for name, summary, live in section_names()])


__all__ = ["docs_group"]
