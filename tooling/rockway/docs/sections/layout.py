"""How the project is put together: the data-flow diagram (`architecture`) and the purpose of each folder and
top-level file (`directory-structure`)."""

from __future__ import annotations

import fnmatch
from pathlib import Path

from rockway.docs.architecture import diagram
from rockway.docs.context import DocsContext
from rockway.docs.sections.markdown import fence

__all__ = ["architecture", "directory_structure", "FOLDER_PURPOSES", "SUBFOLDER_PURPOSES", "FILE_PURPOSES",
           "undocumented_folders"]


def architecture(ctx: DocsContext) -> str:
    v = ctx.vars
    steps = []
    for name, p in ctx.pipelines.items():
        kinds = [next(iter(s)) for s in p.get("steps") or [] if isinstance(s, dict) and s]
        steps.append(f"`{name}` ({' → '.join(kinds)})")
    text = (f"Generated from rockway.toml's variables, jobs/ and repeatable/ (documented environment: "
            f"`{ctx.env or 'default'}`).")
    if steps:
        text += " Pipelines: " + ", ".join(steps) + "."
    roles = [(var, what) for var, what in (("raw_db", "extracts land in"), ("dw_db", "the dimensional model lives in"),
                                           ("etl_db", "job runs, watermarks and check results go to"),
                                           ("secure_db", "analysts query only the row-level-security views of"))
             if var in v]
    tail = "; ".join(f"{what} `{v[var]}`" for var, what in roles)
    return text + "\n\n" + fence(diagram(ctx), "mermaid") + (f"\n{tail[0].upper() + tail[1:]}.\n" if tail else "")


FOLDER_PURPOSES: dict[str, str] = {
    ".ci": "CI entry point `.ci/run`: installs, starts MariaDB, runs import-linter and the tests",
    ".github": "GitHub Actions: `.ci/run` on MariaDB; the StarRocks suite and `rockway rehearse` (testcontainers)",
    "bench": "benchmarks; latest results in bench/RESULTS.md",
    "cron.d": "cron.d files that schedule the pipelines (copied to /etc/cron.d)",
    "deploy": "deployment: StarRocks configuration, OpenTelemetry Collector, Google Cloud, SigNoz",
    "jobs": "job specs (YAML + SQL), pipelines.yaml, jobs.toml (sources, retries, backups), data checks",
    "macros": "Jinja macros shared by the scripts: the StarRocks/MariaDB dialect differences",
    "migrations": "versioned V scripts and their U (undo) scripts",
    "observability": "SigNoz dashboards, alert rules and downtime windows as JSON (`rockway signoz push`)",
    "reference-data": "CSV reference data with YAML manifests, loaded by R scripts",
    "repeatable": "repeatable R scripts: views, materialized views, row-level-security views",
    "schema": "schema files, one per table, view and materialized view (`rockway schema dump`, `schema diff`)",
    "scripts": "helper shell scripts (ensure-mariadb.sh)",
    "templates": "Jinja templates included by scripts",
    "tests": "the tests, in folders by what they need (`tests/conftest.py`); `python3 -m pytest` runs them all",
    "tooling": "the rockway Python package",
}
SUBFOLDER_PURPOSES: dict[str, str] = {
    "deploy/ci": "CI to copy: `rockway rehearse` on a throwaway StarRocks (GitHub, GitLab; `rockway init --ci`)",
    "deploy/gcp": "Google Cloud VM, disk, firewall, bucket (reviewed gcloud scripts, dry run by default)",
    "deploy/otel-collector": "OpenTelemetry Collector configuration (OTLP in, SigNoz out)",
    "deploy/signoz": "how to install SigNoz or use SigNoz Cloud",
    "deploy/starrocks": "fe.conf and be.conf overrides, each value with its reason",
    "jobs/checks": "data checks run by `rockway verify` and the morning pipeline",
    "jobs/sources": "DDL of the source tables the jobs read (local ERP rehearsal)",
    "jobs/sql": "SQL steps of the pipelines",
    "observability/signoz": "SigNoz assets: dashboards/, alerts/, downtime/",
    "tests/mariadb": "tests that need the MariaDB server of `ROCKWAY_TEST_DSN` (marker `mariadb`)",
    "tests/project": "checks of this repository's own files: warehouse, README, deployment, CI, package",
    "tests/starrocks": "testcontainers suite (marker `starrocks`), skipped without Docker",
    "tests/support": "what the tests share: CLI runner, throwaway warehouse, recorded StarRocks answers",
    "tests/unit": "tests that need no server: `python3 -m pytest tests/unit`",
    "tooling/rockway": "the package (core never imports the CLI; only adapters/ imports pymysql)",
    "tooling/rockway/adapters": "MySQL/MariaDB and StarRocks adapters behind one Adapter interface",
    "tooling/rockway/cli": "click commands; the only place that imports click/rich and sets up the OpenTelemetry SDK",
    "tooling/rockway/docs": "the README's generated sections (`rockway docs update` / `rockway docs check`)",
    "tooling/rockway/jobs": "job specs, watermarks, runner, pipelines, backups, cron checks",
    "tooling/rockway/rehearse": "`rockway rehearse`: migrations, undo round trip, checks and job SQL on a throwaway "
                                "schema; JUnit XML and Markdown",
    "tooling/rockway/scaffold": "`rockway init`: the templates of a new warehouse project (also the source of "
                                "this one's deployment files)",
    "tooling/rockway/schema": "schema files per object (`schema dump`, `schema diff`) and drift (`rockway drift`)",
    "tooling/rockway/verify": "data checks: compiler, check runner, anomaly detection, notifications",
}
FILE_PURPOSES: dict[str, str] = {
    "rockway.toml": "environments and template variables",
    "docker-compose.yml": "StarRocks FE + BE and the OpenTelemetry Collector for one VM",
    ".env.example": "every variable docker-compose.yml reads, documented",
    "pyproject.toml": "package metadata, dependencies, import-linter contracts",
    "MANIFEST.in": "what the sdist holds besides the package: the framework only, no warehouse",
    "README.md": "this file; sections between rockway:docs markers are generated",
}
_ALWAYS_IGNORED = ("__pycache__", "*.egg-info", "node_modules", "build", "dist", "venv", "reports")


def _gitignored_dirs(root: Path) -> list[str]:
    path = root / ".gitignore"
    if not path.is_file():
        return []
    out = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        line = line.strip()
        if line and not line.startswith(("#", "!")):
            out.append(line.strip("/"))
    return out


def undocumented_folders(root: Path) -> list[str]:
    """Top-level folders of the project that FOLDER_PURPOSES does not describe (hidden folders other than
    those it names, and ignored folders, are skipped)."""
    root = Path(root)
    ignored = list(_ALWAYS_IGNORED) + _gitignored_dirs(root)
    out = []
    for path in sorted(root.iterdir()):
        name = path.name
        if not path.is_dir() or name in FOLDER_PURPOSES:
            continue
        if name.startswith(".") or any(fnmatch.fnmatch(name, pattern) for pattern in ignored):
            continue
        out.append(name)
    return out


def directory_structure(ctx: DocsContext) -> str:
    root = ctx.project_dir
    rows: list[tuple[str, str]] = []
    for name in sorted(FOLDER_PURPOSES, key=lambda n: n.lstrip(".").lower()):
        if not (root / name).is_dir():
            continue
        rows.append((f"{name}/", FOLDER_PURPOSES[name]))
        for sub in sorted(SUBFOLDER_PURPOSES):
            if sub.startswith(name + "/") and (root / sub).is_dir():
                rows.append(("  " * sub.count("/") + sub.rsplit("/", 1)[1] + "/", SUBFOLDER_PURPOSES[sub]))
    for name in sorted(FILE_PURPOSES, key=lambda n: n.lstrip(".").lower()):
        if (root / name).is_file():
            rows.append((name, FILE_PURPOSES[name]))
    width = max(len(r[0]) for r in rows) + 2 if rows else 0
    body = "\n".join(f"{path.ljust(width)}{purpose}" for path, purpose in rows)
    return fence(body, "text")
