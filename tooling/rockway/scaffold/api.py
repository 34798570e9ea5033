"""`rockway init`: write a new warehouse project from the templates of this package (no database).

The templates live in `templates/` next to this module (package data, so they ship in the wheel). A file
whose name ends in `.j2` is rendered with the options below and written without that suffix; every other
file is copied byte for byte. The copied files are rockway scripts and specs, themselves Jinja templates
that rockway renders at run time with rockway.toml's variables, which is why they are not rendered here.

Files that only some projects get are named by the prefixes below (_JOBS, _COMPOSE, _CI); `create` checks
every target path before it writes the first byte, so a refusal leaves the folder exactly as it was.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Iterator

from rockway import __version__
from rockway.errors import InputError, UsageError

if TYPE_CHECKING:
    import jinja2
    from importlib.abc import Traversable

__all__ = ["Options", "create", "default_name", "plan", "CI_CHOICES", "MAX_BACKENDS"]

CI_CHOICES = ("github", "gitlab", "none")
MAX_BACKENDS = 4  # BE services on the one VM of docker-compose.yml; each gets 22 GiB / N (see _context)
VM_GIB, FE_GIB, COLLECTOR_GIB, VM_BACKEND_GIB = 32, 6, 0.5, 22
NAME = re.compile(r"[a-z][a-z0-9_]{0,29}")  # prefixes the database names: <name>_dw, <name>_etl, …
TEMPLATE_SUFFIX = ".j2"
DOT = "dot-"

# Paths written (relative to the project) that belong to one option.
_JOBS = ("jobs/", "cron.d/", "migrations/V2__", "migrations/U2__")
_COMPOSE = ("docker-compose.yml", ".env.example", "deploy/")
_CI = {"github": ".github/", "gitlab": ".gitlab-ci.yml"}


@dataclass(frozen=True)
class Options:
    """What `rockway init` writes: the project's name, the deployment's size and the parts to leave out."""

    name: str
    backends: int = 1
    compose: bool = True
    jobs: bool = True
    ci: str = "none"
    force: bool = False

    @property
    def replication_num(self) -> int:
        """Replicas per tablet: one per backend up to StarRocks' default of 3 (more buys no safety here)."""
        return min(self.backends, 3)


def default_name(target: Path) -> str:
    """The project name a folder suggests: its name in lower case, other characters as `_`."""
    return re.sub(r"[^a-z0-9_]", "_", Path(target).resolve().name.lower())


def _check(options: Options) -> None:
    if not NAME.fullmatch(options.name):
        raise UsageError(f"--name {options.name!r}: not a valid project name (a letter, then up to 29 lower-case "
                         "letters, digits or _; it prefixes the database names)")
    if not 1 <= options.backends <= MAX_BACKENDS:
        raise UsageError(f"--backends {options.backends}: must be between 1 and {MAX_BACKENDS}")
    if options.ci not in CI_CHOICES:
        raise UsageError(f"--ci {options.ci!r}: must be one of {', '.join(CI_CHOICES)}")


def _templates() -> Iterator[tuple[str, Traversable]]:
    """(relative path, file) of every template, in a stable order."""
    def walk(node: Traversable, prefix: str) -> Iterator[tuple[str, Traversable]]:
        for child in sorted(node.iterdir(), key=lambda c: c.name):
            if child.name == "__pycache__":
                continue
            path = f"{prefix}{child.name}"
            if child.is_dir():
                yield from walk(child, path + "/")
            else:
                yield path, child

    yield from walk(resources.files(__package__) / "templates", "")


def _wanted(path: str, options: Options) -> bool:
    if not options.jobs and path.startswith(_JOBS):
        return False
    if not options.compose and path.startswith(_COMPOSE):
        return False
    return not any(path.startswith(prefix) and ci != options.ci for ci, prefix in _CI.items())


def _environment() -> jinja2.Environment:
    import jinja2  # when a project is written: `rockway --help` lists `init` without it

    return jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, trim_blocks=True,
                              lstrip_blocks=True, autoescape=False)  # noqa: S701 - config and SQL, not HTML


def _context(options: Options, reference_deployment: bool) -> dict[str, object]:
    # Memory of the 32 GB VM (arithmetic in docker-compose.yml): FE 6 GiB and collector 0.5 GiB stay, the
    # backends share 22 GiB; each BE's own mem_limit stays 2 GiB below its container limit.
    be_container_gib = VM_BACKEND_GIB // options.backends
    containers_gib = FE_GIB + COLLECTOR_GIB + options.backends * be_container_gib
    return {"name": options.name, "version": __version__, "backends": options.backends,
            "replication_num": options.replication_num, "jobs": options.jobs, "compose": options.compose, "ci": options.ci,
            "be_container_gib": be_container_gib, "be_mem_limit_gib": be_container_gib - 2,
            "containers_gib": f"{containers_gib:g}", "os_reserve_gib": f"{VM_GIB - containers_gib:g}",
            "reference_deployment": reference_deployment}


def plan(options: Options, *, reference_deployment: bool = False) -> dict[str, bytes]:
    """Every file `create` writes for these options: relative path -> content.

    `reference_deployment` renders the deployment files as this repository's own warehouse has them (its
    deploy/ also holds gcp/ and signoz/, and its tests check the files); tests/project/test_scaffold.py holds the
    files at the repository's root to that rendering, so the templates here are their one source.
    """
    _check(options)
    env, context, out = _environment(), _context(options, reference_deployment), {}
    for path, node in _templates():
        rendered = path.endswith(TEMPLATE_SUFFIX)
        target = _target_path(path[: -len(TEMPLATE_SUFFIX)] if rendered else path)
        if not _wanted(target, options):
            continue
        if rendered:
            out[target] = env.from_string(node.read_text(encoding="utf-8")).render(**context).encode("utf-8")
        else:
            out[target] = node.read_bytes()
    return out


def _target_path(template_path: str) -> str:
    """`dot-github/…` -> `.github/…`: templates keep no hidden names, which package-data globs would skip."""
    return "/".join("." + part[len(DOT):] if part.startswith(DOT) else part for part in template_path.split("/"))


def create(target: Path, options: Options) -> list[Path]:
    """Write the project into `target` (created if missing); return the written paths.

    Refuses (UsageError, exit 2) before writing anything when `target` is not a usable folder or, without
    `force`, when any file to write exists already.
    """
    target = Path(target)
    files = plan(options)
    for folder in [target, *target.parents]:  # the nearest one that exists must be a folder
        if folder.exists():
            if not folder.is_dir():
                raise InputError(folder, "not a folder; give a new or an existing folder for the project")
            break
    blocked = []
    for relative in files:
        path = target / PurePosixPath(relative)
        folders = list(path.parents)[: len(PurePosixPath(relative).parts) - 1]
        if path.is_dir() or any(folder.exists() and not folder.is_dir() for folder in folders):
            raise InputError(path, "a file stands where a folder belongs, or a folder where a file belongs; "
                                   "move it away")
        if path.exists() and not options.force:
            blocked.append(relative)
    if blocked:
        shown = ", ".join(blocked[:5]) + (f" and {len(blocked) - 5} more" if len(blocked) > 5 else "")
        raise InputError(target, f"{len(blocked)} file(s) exist already: {shown}",
                         hint="rockway init --force replaces them (other files stay as they are)")
    written = []
    for relative, content in files.items():
        path = target / PurePosixPath(relative)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        written.append(path)
    return written
