"""The data-flow diagram of the warehouse (Mermaid `flowchart LR`), built from the project's files.

Nodes: the job sources of jobs/jobs.toml (ERP through a StarRocks JDBC catalog in production, read directly
in the MySQL rehearsal), reference data, the databases named by rockway.toml's variables (`raw_db`, `dw_db`,
`etl_db`, `secure_db`) with the tables the migrations create in each, the views and materialized views of
repeatable/, the data checks, notifications, and the OpenTelemetry collector feeding SigNoz. Edges: each
job of jobs/*.yaml from its source to its target's database, labelled with the pipelines that run it, and
the other pipeline steps (backup, MV refresh, SQL, verification, notification).
"""

from __future__ import annotations

from typing import Any

from rockway.adapters import engine_named_by
from rockway.cron import rockway_argv
from rockway.docs.context import DocsContext
from rockway.docs.mermaid import edge, node

__all__ = ["diagram"]

_DB_VARS = (("raw", "raw_db", "raw / staging"), ("dw", "dw_db", "warehouse"), ("etl", "etl_db", "ETL metadata"),
            ("secure", "secure_db", "row-level security"))


def _short_list(names: list[str], limit: int = 6) -> str:
    if len(names) <= limit:
        return ", ".join(names)
    return ", ".join(names[:limit]) + f" +{len(names) - limit} more"


def _db_of(ctx: DocsContext, qualified: str) -> str | None:
    """Node id (raw, dw, etl, secure) of the database a `db.table` name lives in."""
    db = ctx.render_name(qualified).partition(".")[0] if "." in qualified else ""
    for node_id, var, _ in _DB_VARS:
        if db and str(ctx.vars.get(var, "")) == db:
            return node_id
    return None


def _sources(ctx: DocsContext) -> dict[str, str]:
    """Source name -> label, from jobs.toml's [jobs.sources.NAME] and [env.NAME.jobs.sources.NAME]."""
    jobs = ctx.jobs_toml.get("jobs", {}) if isinstance(ctx.jobs_toml.get("jobs"), dict) else {}
    base = jobs.get("sources", {}) if isinstance(jobs.get("sources"), dict) else {}
    per_env: dict[str, dict[str, dict[str, Any]]] = {}
    envs = ctx.jobs_toml.get("env", {}) if isinstance(ctx.jobs_toml.get("env"), dict) else {}
    for env_name, section in sorted(envs.items()):
        srcs = ((section or {}).get("jobs") or {}).get("sources") or {}
        for name, cfg in srcs.items():
            per_env.setdefault(name, {})[env_name] = cfg or {}
    names = sorted(set(base) | set(per_env) | {str(j.get("source")) for j in ctx.jobs.values()
                                                if j.get("source") and j.get("source") != "warehouse"})
    out = {}
    for name in names:
        parts = []

        def describe(cfg: dict[str, Any]) -> str:
            if cfg.get("kind") == "catalog":
                return f"JDBC catalog {cfg.get('catalog', '?')}"
            if cfg.get("kind") == "dsn":
                dsn = str(cfg.get("dsn", ""))
                return "MySQL source read by rockway" if engine_named_by(dsn) == "mysql" else "source read by rockway"
            return str(cfg.get("kind", "source"))

        if name in base:
            parts.append(f"{ctx.env or 'default'}: {describe(base[name])}" if name in per_env else describe(base[name]))
        for env_name, cfg in sorted(per_env.get(name, {}).items()):
            parts.append(f"{env_name}: {describe(cfg)}")
        title = "ERP" if name.lower() == "erp" else name
        out[name] = f"{title} source<br/>" + "<br/>".join(parts) if parts else f"{title} source"
    return out


def diagram(ctx: DocsContext) -> str:
    """The Mermaid text (without fences)."""
    lines = ["flowchart LR"]
    sources = _sources(ctx)
    src_ids = {name: f"src_{i}" for i, name in enumerate(sources)}
    for name, label in sources.items():
        lines.append("  " + node(src_ids[name], label, "[("))
    has_refdata = (ctx.project_dir / "reference-data").is_dir()
    if has_refdata:
        lines.append("  " + node("refdata", "reference-data/*.csv<br/>seed loads (R scripts)", "[/"))

    tables_by_db: dict[str, list[str]] = {}
    for t in ctx.tables:
        db_id = next((i for i, var, _ in _DB_VARS if str(ctx.vars.get(var, "")) == t.database), None)
        if db_id:
            tables_by_db.setdefault(db_id, []).append(t.name)
    views = [v for v in ctx.views if v.database != str(ctx.vars.get("secure_db", "\0"))]
    secure = [v for v in ctx.views if v.database == str(ctx.vars.get("secure_db", "\0"))]
    lines.append('  subgraph starrocks["StarRocks"]')
    present = set()
    for node_id, var, role in _DB_VARS:
        if var not in ctx.vars:
            continue
        present.add(node_id)
        label = f"{ctx.vars[var]} ({var}): {role}"
        if node_id == "secure":
            if secure:
                label += "<br/>RLS views: " + _short_list([v.name for v in secure])
            lines.append("    " + node(node_id, label, "[["))
            continue
        if tables_by_db.get(node_id):
            label += "<br/>" + _short_list(tables_by_db[node_id])
        lines.append("    " + node(node_id, label, "[("))
    if views:
        mvs = [v.name for v in views if v.kind == "materialized view"]
        plain = [v.name for v in views if v.kind == "view"]
        label = "views and MVs"
        if plain:
            label += "<br/>views: " + _short_list(plain)
        if mvs:
            label += "<br/>MVs: " + _short_list(mvs)
        lines.append("    " + node("views", label, "["))
    lines.append("  end")

    check_count = sum(len(t.get("checks") or []) for _, data in ctx.check_files for t in (data.get("tables") or [])
                      if isinstance(t, dict))
    if ctx.check_files:
        lines.append("  " + node("checks", f"rockway verify<br/>{check_count} checks in "
                                 + ", ".join(f for f, _ in ctx.check_files), "{{"))
    notifies = any("notify" in step for p in ctx.pipelines.values() for step in p.get("steps") or []
                   if isinstance(step, dict))
    if notifies or ctx.check_files:
        lines.append("  " + node("notify", "notifications<br/>Slack, e-mail, PagerDuty, webhook", "(["))
    backups = [name for name, p in ctx.pipelines.items() for step in p.get("steps") or []
               if isinstance(step, dict) and "backup" in step]
    if backups:
        lines.append("  " + node("backup", "backups<br/>BACKUP SNAPSHOT (StarRocks), dumps (MariaDB)", "[("))
    signoz = ctx.signoz
    scheduled = sorted({" ".join(argv[1:3]) for f in ctx.cron_files for e in f.entries
                        if (argv := rockway_argv(e.command)) and len(argv) > 1})
    runner = "rockway CLI" + ("<br/>cron: " + ", ".join(scheduled) if scheduled else "")
    lines.append("  " + node("rockway", runner, "{{"))
    lines.append("  " + node("otel", "OpenTelemetry Collector<br/>traces, metrics, logs of every run", "["))
    lines.append("  " + node("signoz", f"SigNoz<br/>{len(signoz.get('dashboards', []))} dashboards, "
                             f"{len(signoz.get('alerts', []))} alert rules", "["))
    if secure:
        lines.append("  " + node("analysts", "analysts and BI tools", "(["))

    # --- edges ---------------------------------------------------------------------------------
    edges: list[str] = []

    grouped: dict[tuple[str, str], dict[str, list[str]]] = {}

    def add_job(a: str, b: str, job: str) -> None:
        by_pipeline = grouped.setdefault((a, b), {})
        by_pipeline.setdefault(" + ".join(ctx.pipelines_of(job)) or "jobs", []).append(job)

    for name, spec in ctx.jobs.items():
        target = _db_of(ctx, str(spec.get("target", "")))
        if target is None:
            continue
        src = str(spec.get("source", ""))
        if src in src_ids:
            add_job(src_ids[src], target, name)
        else:  # warehouse-internal: from the databases of the jobs it depends on
            origins = {_db_of(ctx, str(ctx.jobs[d].get("target", ""))) for d in spec.get("depends_on") or []
                       if d in ctx.jobs} - {None, target}
            for origin in sorted(o for o in origins if o):
                add_job(origin, target, name)
    for (a, b), by_pipeline in grouped.items():
        edges.append(edge(a, b, "<br/>".join(f"{p}: {', '.join(jobs)}" for p, jobs in by_pipeline.items())))
    if has_refdata and "dw" in present:
        edges.append(edge("refdata", "dw", "migrate up: mapping tables"))
    for name, p in ctx.pipelines.items():
        for step in p.get("steps") or []:
            if not isinstance(step, dict):
                continue
            if "backup" in step and "dw" in present:
                edges.append(edge("dw", "backup", f"{name}: backup"))
            if "refresh" in step and views and "dw" in present:
                edges.append(edge("dw", "views", f"{name}: refresh MVs"))
            if "verify" in step and ctx.check_files and "dw" in present:
                edges.append(edge("dw", "checks", f"{name}: verify"))
            if "sql" in step and "dw" in present:
                edges.append(edge("dw", "dw", f"{name}: {step['sql']}"))
    if views and "dw" in present and not any(e.startswith("dw -->") and "| views" in e for e in edges):
        edges.append(edge("dw", "views"))
    if secure and "secure" in present:
        edges.append(edge("views" if views else "dw", "secure", "secure views"))
        edges.append(edge("secure", "analysts", "SELECT, rows of their entitlement"))
    if ctx.check_files:
        if "etl" in present:
            edges.append(edge("checks", "etl", "results, metric history"))
        edges.append(edge("checks", "notify", "failures"))
    elif notifies:
        edges.append(edge("etl" if "etl" in present else "dw", "notify", "pipeline summary"))
    if ctx.jobs and "etl" in present:
        edges.append(edge("rockway", "etl", "job runs, watermarks", arrow="-.->"))
    edges.append(edge("rockway", "starrocks", "migrate, run, verify", arrow="-.->"))
    edges.append(edge("rockway", "otel", "OTLP: spans, metrics, logs", arrow="-.->"))
    edges.append(edge("otel", "signoz"))
    seen: set[str] = set()
    for e in edges:
        if e not in seen:
            seen.add(e)
            lines.append("  " + e)
    return "\n".join(lines) + "\n"
