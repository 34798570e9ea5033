"""The `runbook` section: tooling/rockway/docs/runbook.md (a Jinja template) rendered with the project's facts.

Every `rockway …` command the template names must exist; tests/project/test_docs.py and `rockway docs check` resolve
each one against the command tree.
"""

from __future__ import annotations

from importlib import resources

from rockway.model import Kind
from rockway.docs.context import DocsContext

__all__ = ["runbook", "runbook_source"]


def runbook_source() -> str:
    """The template shipped with the package."""
    try:
        return resources.files("rockway.docs").joinpath("runbook.md").read_text(encoding="utf-8")
    except (FileNotFoundError, OSError) as exc:
        from rockway.errors import InputError

        raise InputError("rockway/docs/runbook.md", f"cannot be read from the installed package: {exc}",
                         hint="Ship it as package data (pyproject.toml: [tool.setuptools.package-data]).") from None


def runbook(ctx: DocsContext) -> str:
    """runbook.md rendered with rockway.toml's variables and examples taken from the project."""
    import jinja2

    v = [s.version for s in ctx.scripts_of(Kind.VERSIONED)]
    versions = sorted(v)  # type: ignore[type-var]
    env_name = ctx.env_with_engine("starrocks")
    mvs = [x for x in ctx.views if x.kind == "materialized view"]
    backup_pipeline = next((n for n, p in ctx.pipelines.items()
                            if any(isinstance(s, dict) and "backup" in s for s in p.get("steps") or [])), None)
    verify_pipeline = next((n for n, p in ctx.pipelines.items()
                            if any(isinstance(s, dict) and "verify" in s for s in p.get("steps") or [])), None)
    fact = next((n for n, j in ctx.jobs.items() if j.get("kind") == "fact"), next(iter(ctx.jobs), "JOB"))
    fact_table = next((t for t in ctx.tables if t.name == fact), ctx.tables[0] if ctx.tables else None)
    values = {
        **{name: name for name in ("raw_db", "dw_db", "etl_db", "secure_db")},  # placeholders where not configured
        **dict(ctx.vars),
        "env": env_name or "ENV", "envflag": f" --env {env_name}" if env_name else "",
        "newest": str(versions[-1]) if versions else "1", "previous": str(versions[-2]) if len(versions) > 1 else "1",
        "mv": mvs[0].qualified if mvs else "db.mv", "backup_pipeline": backup_pipeline or "evening",
        "verify_pipeline": verify_pipeline or "morning", "fact_job": fact,
        "fact_table": fact_table.qualified if fact_table else "db.table",
        "fact_db": fact_table.database if fact_table else "db", "fact_name": fact_table.name if fact_table else "table",
        "pipelines": list(ctx.pipelines), "backup_repository": _backup_repository(ctx, env_name),
    }
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)
    try:
        return env.from_string(runbook_source()).render(values)
    except jinja2.TemplateError as exc:
        from rockway.errors import InputError

        raise InputError("rockway/docs/runbook.md", f"template error: {exc}") from None


def _backup_repository(ctx: DocsContext, env_name: str | None) -> str:
    """The StarRocks backup repository of jobs.toml ([env.NAME.jobs.backup] over [jobs.backup])."""
    base = ((ctx.jobs_toml.get("jobs") or {}).get("backup") or {}).get("repository")
    env = ((((ctx.jobs_toml.get("env") or {}).get(env_name or "") or {}).get("jobs") or {}).get("backup") or {})
    return str(env.get("repository") or base or "REPOSITORY")
