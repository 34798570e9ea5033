"""A project's scripts and how they render, and the session a command runs in (connection, history, project)."""

from __future__ import annotations

import getpass
import os
import socket
import subprocess
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Callable, Iterator, Sequence

from rockway import __version__
from rockway.adapters import Adapter, connect, engine_for_dsn
from rockway.config import Settings, parse_dsn
from rockway.errors import InputError, UsageError
from rockway.extensions import template_globals
from rockway.migrate.discovery import discover
from rockway.migrate.executor import RunContext
from rockway.migrate.history import HistoryStore, table_properties
from rockway.model import Kind, Script, Statement
from rockway.templating import Renderer, has_sql


@dataclass
class Project:
    """The scripts of one project folder and how to render them."""

    settings: Settings
    engine: str = "starrocks"
    database: str | None = None
    _rendered: dict[tuple[str, str], list[Statement]] = field(default_factory=dict, repr=False)
    _has_sql: dict[tuple[str, str], bool] = field(default_factory=dict, repr=False)

    @cached_property
    def scripts(self) -> list[Script]:
        """Scripts on disk; the migrations folder must exist (a typo must not look like "nothing to do")."""
        folder = self.settings.migrations_path
        if not folder.is_dir():
            what = "is not a folder" if folder.exists() else "does not exist"
            raise InputError(str(folder), f"the migrations folder {what}",
                             hint="Create it, or set migrations_dir in rockway.toml / ROCKWAY_MIGRATIONS_DIR.")
        return discover(self.settings.migrations_path, self.settings.repeatable_path, self.settings.project_dir)

    @cached_property
    def renderer(self) -> Renderer:
        renderer = Renderer(self.settings.project_dir, self.settings.vars, env_name=self.settings.env, engine=self.engine,
                            database=self.database)
        renderer.globals.update(template_globals(self.settings, self.engine))
        return renderer

    def statements(self, script: Script) -> list[Statement]:
        """Rendered and split statements of a script (rendered once per run)."""
        key = (script.name, script.checksum)
        if key not in self._rendered:
            self._rendered[key] = self.renderer.statements(script)
        return self._rendered[key]

    def has_sql(self, script: Script) -> bool:
        """Whether the script's text holds a statement before rendering (templating.has_sql; judged once per run)."""
        key = (script.name, script.checksum)
        if key not in self._has_sql:
            self._has_sql[key] = has_sql(script.source)
        return self._has_sql[key]

    def use_scripts(self, scripts: list[Script]) -> None:
        """Reuse scripts already discovered (no second scan)."""
        self.__dict__["scripts"] = scripts

    def find(self, ref: str) -> list[Script]:
        """Scripts matching a file name, path, `V1.2`, `U1.2`, `1.2` or a repeatable description."""
        out = []
        for s in self.scripts:
            labels = {s.name, s.path.name, s.description}
            if s.version is not None:
                labels |= {f"{s.kind.value}{s.version}"} | ({str(s.version)} if s.kind is Kind.VERSIONED else set())
            if ref in labels or Path(ref).resolve() == s.path.resolve():
                out.append(s)
        if not out:
            raise UsageError(f"no script matches {ref!r}", hint="Use a file name, V<version>, U<version> or an R description.")
        return out

    def select(self, refs: Sequence[str]) -> list[Script]:
        """The scripts the references name, in their order (Project.find for each)."""
        return [s for ref in refs for s in self.find(ref)]


def offline_project(settings: Settings, engine: str | None = None) -> Project:
    """The project rendered without connecting: for `engine`, else the engine the DSN's scheme names, and the
    database the DSN names."""
    database = parse_dsn(settings.dsn).database if settings.dsn else None
    return Project(settings, engine=engine or dsn_engine(settings), database=database)


def dsn_engine(settings: Settings) -> str:
    """The engine the DSN's scheme names (`mysql` for mysql:// or mariadb://), else `starrocks`."""
    return engine_for_dsn(settings.dsn)


@dataclass
class Session:
    """An open connection plus the history store of the configured table."""

    settings: Settings
    adapter: Adapter
    history: HistoryStore
    project: Project

    def close(self) -> None:
        self.adapter.close()


@contextmanager
def open_session(settings: Settings, *, sink: Callable[[str], None] | None = None) -> Iterator[Session]:
    """Connect, build the history store and project; close on exit."""
    adapter = connect(settings)
    try:
        history = HistoryStore(adapter, settings.history_table, properties=table_properties(settings), sink=sink)
        yield Session(settings, adapter, history, Project(settings, adapter.engine, adapter.database))
    finally:
        adapter.close()


def git_sha(project_dir: Path) -> str | None:
    """The commit being deployed: from CI variables, else `git rev-parse HEAD`, else None."""
    for var in ("ROCKWAY_GIT_SHA", "GITHUB_SHA", "CI_COMMIT_SHA", "GIT_COMMIT"):
        if os.environ.get(var):
            return os.environ[var][:64]
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=project_dir, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def run_context(session: Session, run_id: str) -> RunContext:
    """Who is running, for history rows."""
    user = session.settings.installed_by or session.adapter.user or getpass.getuser()
    return RunContext(run_id=run_id, installed_by=user, host=socket.gethostname(), tool_version=__version__,
                      git_sha=git_sha(session.settings.project_dir))
