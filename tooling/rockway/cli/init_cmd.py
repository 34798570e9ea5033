"""`rockway init [DIR]`: start a new warehouse project (the work is rockway.scaffold's)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from rockway.cli.command_tree import root_tree
from rockway.cli.params import Bounded
from rockway.scaffold import CI_CHOICES, MAX_BACKENDS, Options, create, default_name


@click.command("init", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("directory", default=".", metavar="[DIR]", type=click.Path(file_okay=False, path_type=Path))
@click.option("--name", help="Project name: prefixes its databases (default: DIR's name, "
                             "lower case, other characters as _).")
@click.option("--backends", default=1, show_default=True, type=Bounded(int, minimum=1, maximum=MAX_BACKENDS),
              help="StarRocks backends of the prod deployment: BE services in docker-compose.yml; prod's "
                   "replication_num is min(N, 3).")
@click.option("--no-compose", "no_compose", is_flag=True,
              help="Leave out docker-compose.yml, .env.example and deploy/.")
@click.option("--no-jobs", "no_jobs", is_flag=True,
              help="Leave out jobs/, cron.d/ and the migration of the dev source the job reads.")
@click.option("--ci", type=click.Choice(CI_CHOICES), default="none", show_default=True,
              help="CI workflow to write: .github/workflows/rockway.yml or .gitlab-ci.yml.")
@click.option("--force", is_flag=True, help="Replace files that exist (other files in DIR stay).")
def init_command(directory: Path, name: str | None, backends: int, no_compose: bool, no_jobs: bool, ci: str,
                 force: bool) -> None:
    """Write a new warehouse project into DIR (default: the current folder).

    Refuses, writing nothing, when a file to write exists already (--force replaces it). Right after it,
    `rockway migrate up --env dev` (local MariaDB), `rockway lint --env prod`, `rockway job validate`,
    `rockway schedule` and `rockway docs check` succeed (init fills the README's generated sections, as
    `rockway docs update` does); the new README says what to change first.

    \b
    Examples:
      rockway init shop
      rockway init shop --backends 3 --ci github
      rockway init . --name shop --no-compose --force
    """
    options = Options(name=name if name is not None else default_name(directory), backends=backends,
                      compose=not no_compose, jobs=not no_jobs, ci=ci, force=force)
    written = create(directory, options)
    _generate_readme(directory, root_tree(click.get_current_context()))
    for path in written:
        click.echo(f"wrote {path}")
    click.echo(f"{len(written)} files: project {options.name!r} in {directory}. Next: cd {directory} && "
               "rockway migrate up --env dev")


def _generate_readme(project: Path, cli_tree: dict[str, Any]) -> None:
    """Fill the new README's generated sections (as `rockway docs update` does), so `docs check` passes at once."""
    from rockway.docs import DocsContext, generate

    readme = project / "README.md"
    docs = DocsContext.load(project, cli=cli_tree, readme="README.md")
    readme.write_text(generate(readme.read_text(encoding="utf-8"), docs), encoding="utf-8")
