"""What the README is generated from: the project's files, read once, without a database and without "now".

The README must come out the same on every machine and every day, so `docs check` never flaps: settings are
those of the documentation environment (`[docs] env` in rockway.toml, else the first environment whose DSN is
`starrocks://`, else the default one) with no ROCKWAY_* variables applied, and nothing reads the clock.
Job specs, pipelines, checks and SigNoz assets are read as plain YAML/JSON/TOML files (the docs do not import
the jobs or verify packages).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any, Mapping

from rockway.adapters import engine_named_by
from rockway.config import Settings, load_settings, read_project_toml, read_toml
from rockway.cron import CronFile
from rockway.errors import InputError
from rockway.migrate.project import Project
from rockway.model import Kind, Script
from rockway.docs import catalog as _catalog
from rockway.docs.cron import load_cron_dir

__all__ = ["DocsContext", "LiveData", "docs_settings", "docs_env"]

JOBS_DIR = "jobs"
CRON_DIR = "cron.d"
SIGNOZ_DIR = Path("observability") / "signoz"


def docs_env(project_dir: Path, config_file: Path | None = None) -> str | None:
    """The environment the README documents (see the module docstring)."""
    data = read_project_toml(project_dir, config_file)
    docs = _table(data.get("docs"))
    if docs.get("env"):
        return str(docs["env"])
    envs = _table(data.get("env"))
    for name in envs:
        dsn = _table(envs[name]).get("dsn", "")
        if engine_named_by(str(dsn)) == "starrocks":
            return str(name)
    base = _table(data.get("rockway"))
    return str(base["env"]) if base.get("env") else None


def _table(value: Any) -> dict[str, Any]:
    """value when it is a TOML table, else an empty one."""
    return value if isinstance(value, dict) else {}


def docs_settings(project_dir: Path, config_file: Path | None = None) -> Settings:
    """Settings of the documentation environment, independent of the caller's ROCKWAY_* variables."""
    return load_settings(project_dir, env_name=docs_env(project_dir, config_file), environ={}, config_file=config_file)


@dataclass(frozen=True)
class LiveData:
    """What `docs update --live` adds: facts that depend on the database and the clock."""

    env: str | None
    taken_at: datetime
    row_counts: Mapping[str, int | str] = field(default_factory=dict)
    next_runs: Mapping[tuple[str, int], list[datetime]] = field(default_factory=dict)
    error: str | None = None


@dataclass
class DocsContext:
    """The inputs of every section; each is read on first use, so a README that omits a section never reads
    that section's files."""

    project_dir: Path
    settings: Settings
    cli: dict[str, Any] | None = None  # the command tree (rockway.docs.cli_reference), built by the CLI
    live: LiveData | None = None
    readme: str = "README.md"

    @classmethod
    def load(cls, project_dir: Path | str, *, config_file: Path | None = None, **kw: Any) -> "DocsContext":
        project_dir = Path(project_dir)
        return cls(project_dir, docs_settings(project_dir, config_file), **kw)

    # --- configuration ----------------------------------------------------------------------------
    @property
    def env(self) -> str | None:
        return self.settings.env

    @property
    def vars(self) -> Mapping[str, Any]:
        return self.settings.vars

    @cached_property
    def toml(self) -> dict[str, Any]:
        return read_project_toml(self.project_dir)

    @cached_property
    def environments(self) -> dict[str, dict[str, Any]]:
        envs = self.toml.get("env")
        return {k: v for k, v in envs.items() if isinstance(v, dict)} if isinstance(envs, dict) else {}

    def env_with_engine(self, engine: str) -> str | None:
        """The first environment of rockway.toml whose DSN's scheme names `engine` (`starrocks`, `mysql`)."""
        for name, env in self.environments.items():
            if engine_named_by(str(env.get("dsn", ""))) == engine:
                return name
        return None

    def env_flag(self) -> str:
        """` --env NAME` of the first StarRocks environment, for the commands the README shows ('' without one)."""
        env = self.env_with_engine("starrocks")
        return f" --env {env}" if env else ""

    # --- scripts ----------------------------------------------------------------------------------
    @cached_property
    def project(self) -> Project:
        from rockway.config import parse_dsn

        database = parse_dsn(self.settings.dsn).database if self.settings.dsn else None
        return Project(self.settings, engine="starrocks", database=database)

    @cached_property
    def scripts(self) -> list[Script]:
        return list(self.project.scripts)

    def render_header(self, script: Script, text: str) -> str:
        return self.project.renderer.render_text(text, script.name) if text else ""

    @cached_property
    def tables(self) -> list[_catalog.CatalogEntry]:
        return _catalog.table_catalog(self.scripts, self.render_header, self.project.statements)

    @cached_property
    def views(self) -> list[_catalog.CatalogEntry]:
        return _catalog.view_catalog(self.scripts, self.render_header)

    def scripts_of(self, kind: Kind) -> list[Script]:
        return [s for s in self.scripts if s.kind is kind]

    # --- schedule ---------------------------------------------------------------------------------
    @cached_property
    def cron_files(self) -> list[CronFile]:
        return load_cron_dir(self.project_dir / CRON_DIR, self.project_dir)

    # --- jobs (plain YAML/TOML) ---------------------------------------------------------------------
    def _yaml(self, path: Path) -> Any:
        import yaml

        try:
            return yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            raise InputError(self._rel(path), f"not valid YAML: {getattr(exc, 'problem', exc)}",
                             line=mark.line + 1 if mark else None) from None

    def _rel(self, path: Path) -> str:
        try:
            return path.relative_to(self.project_dir).as_posix()
        except ValueError:
            return path.as_posix()

    @cached_property
    def pipelines(self) -> dict[str, dict[str, Any]]:
        """jobs/pipelines.yaml's pipelines by name, in file order ({} without the file)."""
        path = self.project_dir / JOBS_DIR / "pipelines.yaml"
        if not path.is_file():
            return {}
        data = self._yaml(path) or {}
        pipelines = data.get("pipelines") if isinstance(data, dict) else None
        return {str(k): (v if isinstance(v, dict) else {}) for k, v in pipelines.items()} if isinstance(pipelines, dict) else {}

    @cached_property
    def jobs(self) -> dict[str, dict[str, Any]]:
        """Job specs (jobs/*.yaml with a `job:` key) by job name, sorted."""
        folder = self.project_dir / JOBS_DIR
        out: dict[str, dict[str, Any]] = {}
        if not folder.is_dir():
            return out
        for path in sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml")):
            if path.name in ("pipelines.yaml", "pipelines.yml"):
                continue
            data = self._yaml(path)
            if isinstance(data, dict) and data.get("job"):
                out[str(data["job"])] = {**data, "_file": self._rel(path)}
        return dict(sorted(out.items()))

    @cached_property
    def jobs_toml(self) -> dict[str, Any]:
        return read_toml(self.project_dir / JOBS_DIR / "jobs.toml")

    @cached_property
    def check_files(self) -> list[tuple[str, dict[str, Any]]]:
        """Check files (jobs/checks/*.yaml) with their parsed content."""
        folder = self.project_dir / JOBS_DIR / "checks"
        out = []
        for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
            data = self._yaml(path)
            out.append((self._rel(path), data if isinstance(data, dict) else {}))
        return out

    def pipelines_of(self, job: str) -> list[str]:
        return [name for name, spec in self.pipelines.items()
                if any(job in (step.get("jobs") or []) for step in spec.get("steps") or [] if isinstance(step, dict))]

    def render_name(self, text: str) -> str:
        """A `{{ var }}`-templated name from a job spec or pipeline, rendered with the project's variables."""
        if "{" not in str(text):
            return str(text)
        return self.project.renderer.render_text(str(text), "jobs")

    # --- SigNoz assets ------------------------------------------------------------------------------
    @cached_property
    def signoz(self) -> dict[str, list[dict[str, Any]]]:
        """observability/signoz/{dashboards,alerts,downtime}/*.json, each with `file`, `title`, `description`."""
        out: dict[str, list[dict[str, Any]]] = {}
        for kind in ("dashboards", "alerts", "downtime"):
            folder = self.project_dir / SIGNOZ_DIR / kind
            items = []
            for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
                try:
                    data = json.loads(path.read_text(encoding="utf-8"))
                except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                    raise InputError(self._rel(path), f"not valid JSON: {exc}") from None
                items.append(_asset(self._rel(path), data if isinstance(data, dict) else {}))
            out[kind] = items
        return out


def _asset(file: str, data: dict[str, Any]) -> dict[str, Any]:
    spec = _table(data.get("spec"))
    display = _table(spec.get("display"))
    title = display.get("name") or data.get("title") or data.get("alert") or data.get("name") or Path(file).stem
    description = display.get("description") or data.get("description") or ""
    panels = spec.get("panels") if spec else data.get("widgets")
    labels = _table(data.get("labels"))
    return {"file": file, "title": str(title), "description": str(description),
            "panels": len(panels) if isinstance(panels, (dict, list)) else None,
            "severity": str(labels.get("severity", "")), "type": str(data.get("alertType", ""))}
