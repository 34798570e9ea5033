"""The README's generated sections: one function per section, each returning Markdown text.

Every function takes the DocsContext (the project's files, read once) and returns the text that goes between
the section's markers. None of them reads the clock or a database, except `live_snapshot` when the context
carries live data (`rockway docs update --live`).
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from rockway.config import setting_docs
from rockway.cron import rockway_argv
from rockway.model import Kind, Version
from rockway.docs import cli_reference
from rockway.docs.architecture import diagram
from rockway.docs.context import DocsContext
from rockway.docs.cron import describe_schedule
from rockway.docs.runbook import runbook

__all__ = ["SECTIONS", "SectionSpec", "FOLDER_PURPOSES", "undocumented_folders", "toc"]


# --- helpers ------------------------------------------------------------------------------------------
def cell(text: Any) -> str:
    """Text fit for a Markdown table cell."""
    return str(text if text is not None else "").replace("|", "\\|").replace("\n", " ").strip()


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(out) + "\n"


def code(text: str) -> str:
    return f"`{text}`" if text else ""


def fence(text: str, lang: str = "bash") -> str:
    return f"```{lang}\n{text.rstrip()}\n```\n"


def _fmt_default(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return code("true" if value else "false")
    if isinstance(value, float) and value.is_integer():
        return code(str(int(value)))
    return code(str(value))


def _starrocks_env(ctx: DocsContext) -> str | None:
    return ctx.env_with_engine("starrocks")


def _dev_env(ctx: DocsContext) -> str | None:
    return ctx.env_with_engine("mysql")


def _env_flag(ctx: DocsContext) -> str:
    env = _starrocks_env(ctx)
    return f" --env {env}" if env else ""


# --- contents -----------------------------------------------------------------------------------------
def _anchor(title: str, seen: dict[str, int]) -> str:
    slug = re.sub(r"[^\w\- ]", "", title.strip().lower().replace("`", "")).replace(" ", "-")
    n = seen.get(slug, 0)
    seen[slug] = n + 1
    return slug if n == 0 else f"{slug}-{n}"


def toc(markdown: str) -> str:
    """A list of the document's `##` headings (outside code fences) with GitHub's anchors."""
    out, seen = [], {}  # type: ignore[var-annotated]
    fence_open: str | None = None
    for line in markdown.splitlines():
        m = re.match(r"^\s{0,3}(`{3,}|~{3,})", line)
        if m:
            if fence_open is None:
                fence_open = m.group(1)
            elif m.group(1).startswith(fence_open[0]) and len(m.group(1)) >= len(fence_open):
                fence_open = None
            continue
        if fence_open is not None:
            continue
        h = re.match(r"^(#{1,6})\s+(.+?)\s*#*\s*$", line)
        if not h:
            continue
        anchor = _anchor(h.group(2), seen)
        if len(h.group(1)) == 2 and h.group(2).strip().lower() != "contents":
            out.append(f"- [{h.group(2).strip()}](#{anchor})")
    return "\n".join(out) + "\n"


# --- architecture -------------------------------------------------------------------------------------
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


# --- directory structure ------------------------------------------------------------------------------
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
    "tests": "unit tests, MariaDB integration and reliability tests, recorded StarRocks responses",
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
    "tests/starrocks": "testcontainers suite (marker `starrocks`), skipped without Docker",
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
    "tooling/rockway/verify": "data checks: compiler, engine, anomaly detection, notifications",
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


# --- setup --------------------------------------------------------------------------------------------
def setup(ctx: DocsContext) -> str:
    sr = _starrocks_env(ctx)
    dev = _dev_env(ctx)
    env = f" --env {sr}" if sr else ""
    parts = []
    intro = "The two commands at the top set up"
    intro += f" the local rehearsal (`{dev}`: MariaDB) and the tests." if dev else " rockway and the tests."
    if sr:
        intro += f" A StarRocks environment (`{sr}` in rockway.toml) takes these steps:"
    parts.append(intro + "\n")
    step = 0

    def add(title: str, body: str) -> None:
        nonlocal step
        step += 1
        indented = "\n".join(("   " + line) if line else "" for line in body.rstrip("\n").splitlines())
        parts.append(f"{step}. **{title}**\n\n{indented}\n")

    root = ctx.project_dir
    services: list[str] = []
    compose = root / "docker-compose.yml"
    if compose.is_file():
        import yaml

        try:
            data = yaml.safe_load(compose.read_text(encoding="utf-8")) or {}
            services = list((data.get("services") or {}).keys())
        except yaml.YAMLError:
            services = []
        copy_env = "cp .env.example .env && ${EDITOR:-vi} .env\n" if (root / ".env.example").is_file() else ""
        add("Start the stack.",
            (f"Services of docker-compose.yml: {', '.join(f'`{s}`' for s in services)}. Every setting comes from "
             ".env (documented in .env.example; secrets have no default).\n\n" if services else "")
            + fence(f"{copy_env}docker compose up -d\ndocker compose ps    # wait until every service is healthy"))
    if sr:
        dsn = str(ctx.environments[sr].get("dsn", ""))
        add("Apply the migrations.",
            f"rockway.toml's `{sr}` DSN is `{dsn}`; on the VM itself point `ROCKWAY_DSN` at the local FE. The "
            "password is read from the environment only. Its `replication_num` settings must not exceed the "
            "backends the cluster runs (the BE services of docker-compose.yml; rockway.toml says how to raise them): `migrate "
            "up` refuses, naming the setting, when they exceed the alive backends. On the first run let rockway "
            "create its history database.\n\n"
            + fence("export ROCKWAY_DSN=starrocks://root@127.0.0.1:9030/warehouse\n"
                    "read -rs ROCKWAY_PASSWORD && export ROCKWAY_PASSWORD\n"
                    "export ROCKWAY_CREATE_DATABASE=true\n"
                    f"rockway migrate validate{env}\n"
                    f"rockway lint{env}\n"
                    f"rockway migrate up{env} --dry-run\n"
                    f"rockway migrate up{env}\n"
                    f"rockway migrate info{env}"))
    if ctx.jobs or ctx.pipelines:
        sources = (ctx.jobs_toml.get("jobs") or {}).get("sources") or {}
        catalogs = sorted({str(s.get("catalog")) for s in sources.values() if isinstance(s, dict) and s.get("catalog")})
        text = ""
        if catalogs:
            text = ("Production reads the ERP through the StarRocks external catalog "
                    + ", ".join(f"`{c}`" for c in catalogs)
                    + " (jobs/jobs.toml); create it once with `CREATE EXTERNAL CATALOG`. ")
        text += "Check the job specs offline, then run the pipelines once, in order:\n\n"
        cmds = ["rockway job validate --offline", "rockway job list"]
        cmds += [f"rockway run {name}{env}" for name in ctx.pipelines]
        add("Run the pipelines once.", text + fence("\n".join(cmds)))
    if ctx.cron_files:
        cmds = [f"sudo cp {f.path} /etc/cron.d/{Path(f.path).name}" for f in ctx.cron_files]
        cmds.append("rockway schedule    # checks every line and command, lists the next runs")
        add("Schedule them.", fence("\n".join(cmds)))
    if ctx.signoz.get("dashboards") or ctx.signoz.get("alerts"):
        add("Send telemetry to SigNoz and install the dashboards and alert rules.",
            "The collector of docker-compose.yml listens on 127.0.0.1:4317 (gRPC) and :4318 (HTTP); "
            "`rockway signoz push` needs `SIGNOZ_URL` and `SIGNOZ_API_KEY`.\n\n"
            + fence("export OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318\n"
                    "rockway signoz check\n"
                    "rockway signoz push --dry-run\n"
                    "rockway signoz push"))
    return "\n".join(parts)


# --- environment variables ----------------------------------------------------------------------------
OTHER_VARIABLES: list[tuple[str, str, str, bool]] = [
    ("ROCKWAY_GIT_SHA", "`git rev-parse HEAD`", "Commit recorded in history (`GITHUB_SHA`, `CI_COMMIT_SHA`, `GIT_COMMIT` also read)", False),
    ("ROCKWAY_LOG_FORMAT", "`text`", "Log lines on stderr: `text` or `json` (as `--log-format`)", False),
    ("ROCKWAY_LOG_FILE", "", "Also append JSON log lines to this file (as `--log-file`)", False),
    ("ROCKWAY_LOG_LEVEL", "", "Overrides the level of both log outputs", False),
    ("ROCKWAY_OTEL_SHUTDOWN_TIMEOUT", "`5`", "Seconds exit may wait for telemetry to be exported", False),
    ("ROCKWAY_JOBS_DIR", "`jobs`", "Folder of job specs", False),
    ("ROCKWAY_JOBS_CONCURRENCY", "[jobs] concurrency", "Jobs of one pipeline step run at once", False),
    ("ROCKWAY_SOURCE_<NAME>_DSN", "", "DSN of a `dsn` job source", False),
    ("ROCKWAY_SOURCE_<NAME>_PASSWORD", "", "Password of a job source", True),
    ("ROCKWAY_SOURCE_<NAME>_DATABASE", "", "Database of a job source", False),
    ("ROCKWAY_SOURCE_<NAME>_CATALOG", "", "StarRocks external catalog of a `catalog` job source", False),
    ("ROCKWAY_BACKUP_FOLDER", "[jobs.backup] folder", "Folder of MySQL/MariaDB dump files", False),
    ("ROCKWAY_SLACK_WEBHOOK_URL", "", "Slack incoming-webhook URL for notifications", True),
    ("ROCKWAY_WEBHOOK_URL", "", "Generic webhook URL for notifications", True),
    ("ROCKWAY_PAGERDUTY_ROUTING_KEY", "", "PagerDuty Events v2 routing key", True),
    ("ROCKWAY_PAGERDUTY_EVENTS_URL", "PagerDuty's", "PagerDuty Events API URL", False),
    ("ROCKWAY_SMTP_HOST", "", "Mail server for e-mail notifications", False),
    ("ROCKWAY_SMTP_PORT", "`587`", "Mail server port", False),
    ("ROCKWAY_SMTP_USER", "", "Mail server user", False),
    ("ROCKWAY_SMTP_PASSWORD", "", "Mail server password", True),
    ("ROCKWAY_SMTP_FROM", "", "Sender address", False),
    ("ROCKWAY_SMTP_TO", "", "Recipient addresses", False),
    ("ROCKWAY_SMTP_CA_FILE", "", "CA bundle for the mail server's TLS certificate", False),
    ("ROCKWAY_TRACE_URL_TEMPLATE", "", "Trace link in notifications (`{trace_id}`, `{run_id}`)", False),
    ("OTEL_EXPORTER_OTLP_ENDPOINT", "", "OTLP endpoint; none: nothing leaves the machine", False),
    ("OTEL_EXPORTER_OTLP_PROTOCOL", "`http/protobuf`", "`http/protobuf` or `grpc`", False),
    ("OTEL_EXPORTER_OTLP_TIMEOUT", "`3`", "Export timeout per request, in seconds", False),
    ("ROCKWAY_OTEL_SHUTDOWN_TIMEOUT", "`5`", "Most seconds a down or hung collector may delay exit", False),
    ("ROCKWAY_LOG_FORMAT", "`text`", "`text` (warnings to stderr) or `json` (every line, with run/trace ids)", False),
    ("ROCKWAY_LOG_FILE", "", "Write log lines to this file instead of stderr", False),
    ("OTEL_BSP_SCHEDULE_DELAY", "`1000`", "Milliseconds between span exports (rockway's default; the SDK's is 5000)", False),
    ("OTEL_TRACES_SAMPLER", "`parentbased_always_on`", "Sampler of exported traces, read by the SDK (`traceidratio` with `OTEL_TRACES_SAMPLER_ARG`, …)", False),
    ("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "delta", "Metric temporality (delta suits SigNoz)", False),
    ("OTEL_SERVICE_NAME", "`rockway`", "Service name of the telemetry", False),
    ("OTEL_RESOURCE_ATTRIBUTES", "", "Extra resource attributes, e.g. `deployment.environment=prod`", False),
    ("OTEL_SDK_DISABLED", "`false`", "Turn telemetry off entirely", False),
]


def environment_variables(ctx: DocsContext) -> str:
    rows = [(code(r["env"]), _fmt_default(r["default"]), r["doc"], "**yes**" if r["secret"] else "no")
            for r in setting_docs()]
    out = "Settings (`rockway.config.Settings`; also `[rockway]` / `[env.NAME]` keys of rockway.toml, by name):\n\n"
    out += table(["Variable", "Default", "Meaning", "Secret"], rows)
    out += "\nRead by the jobs, notifications and telemetry (environment only):\n\n"
    out += table(["Variable", "Default", "Meaning", "Secret"],
                 [(code(n), d, m, "**yes**" if s else "no") for n, d, m, s in OTHER_VARIABLES])
    return out


# --- running pipelines --------------------------------------------------------------------------------
BACKFILL_FROM, BACKFILL_TO = "2025-01-01", "2025-12-31"


def running_pipelines(ctx: DocsContext) -> str:
    env = _env_flag(ctx)
    out: list[str] = []
    if ctx.pipelines:
        rows = []
        for name, p in ctx.pipelines.items():
            steps = []
            for s in p.get("steps") or []:
                if not isinstance(s, dict) or not s:
                    continue
                kind, value = next(iter(s.items()))
                if isinstance(value, list) and value:
                    steps.append(f"{kind} ({', '.join(ctx.render_name(str(x)) for x in value)})")
                elif isinstance(value, str):
                    steps.append(f"{kind} ({value})")
                else:
                    steps.append(kind)
            rows.append((code(name), p.get("description", ""), " → ".join(steps)))
        out.append("Pipelines of jobs/pipelines.yaml:\n\n" + table(["Pipeline", "What it does", "Steps"], rows))
    if ctx.jobs:
        job_rows = []
        for name, j in ctx.jobs.items():
            wm = j.get("watermark") or {}
            job_rows.append((code(name), j.get("kind", ""), j.get("source", ""), code(ctx.render_name(str(j.get("target", "")))),
                         j.get("mode", ""), f"{wm.get('column', '')} ({wm.get('type', '')})" if wm else "",
                         ", ".join(ctx.pipelines_of(name)) or "-"))
        out.append("Jobs of jobs/*.yaml:\n\n" + table(["Job", "Kind", "Source", "Target", "Mode", "Watermark", "Pipelines"], job_rows))
    incremental = [n for n, j in ctx.jobs.items() if j.get("mode") == "incremental"]
    verify_pipelines = [name for name, p in ctx.pipelines.items()
                        if any(isinstance(s, dict) and "verify" in s for s in p.get("steps") or [])]
    dated = [n for n in incremental if (ctx.jobs[n].get("watermark") or {}).get("type") in ("date", "datetime")]
    if dated:
        cmds = [f"rockway job backfill {n} --from {BACKFILL_FROM} --to {BACKFILL_TO}{env}" for n in _dependency_order(ctx, dated)]
        out.append("**Historical load.** Load a date range in chunks (the spec's `chunk`, or `--chunk day|month`); chunks "
                   "recorded as done are skipped, so an interrupted backfill is resumed by running it again. Load the "
                   "jobs in dependency order:\n\n" + fence("\n".join(cmds)))
    if ctx.pipelines or incremental:
        cmds = [f"rockway run {name}{env}" for name in ctx.pipelines]
        if incremental:
            cmds.append(f"rockway job run {incremental[0]}{env}    # one job: the next window after its watermark")
        cmds += [f"rockway job status{env}", f"rockway job watermarks{env}"]
        out.append("**Incremental load.** Each job loads the window after its watermark (minus its lookback) and moves "
                   "the watermark only after the load committed and its CRITICAL checks passed:\n\n" + fence("\n".join(cmds)))
    if dated:
        n = next((x for x in dated if ctx.jobs[x].get("kind") == "fact"), dated[0])
        check = ""
        if ctx.check_files and verify_pipelines:
            check = (f"\nrockway verify --pipeline {verify_pipelines[0]} --scope window_start=2026-03-01 "
                     f"--scope window_end=2026-03-04{env}")
        out.append("**Backfill** a few days again (after a source correction), then re-check them:\n\n"
                   + fence(f"rockway job render {n} --engine starrocks --from 2026-03-01 --to 2026-03-03    # the SQL, no database\n"
                           f"rockway job backfill {n} --from 2026-03-01 --to 2026-03-03{env}" + check))
    if ctx.check_files:
        lines = []
        scope = "--scope window_start=2026-03-01 --scope window_end=2026-03-02"
        for name in verify_pipelines:
            lines.append(f"rockway verify --pipeline {name} {scope}{env}")
        lines.append("rockway verify --explain --scope window_start=2026-03-01 --scope window_end=2026-03-02    # the SQL, no database")
        files = ", ".join(f for f, _ in ctx.check_files)
        out.append(f"**Verification.** The checks of {files} run as one aggregate query per table and scope; a "
                   "CRITICAL failure exits 1 and blocks the pipeline's later steps:\n\n" + fence("\n".join(lines)))
    return "\n".join(out)


def _dependency_order(ctx: DocsContext, names: list[str]) -> list[str]:
    order: list[str] = []
    kind_rank = {"staging": 0, "dimension": 1, "fact": 2}

    def visit(n: str, stack: tuple[str, ...] = ()) -> None:
        if n in order or n in stack or n not in names:
            return
        for d in ctx.jobs[n].get("depends_on") or []:
            visit(d, stack + (n,))
        order.append(n)

    for n in sorted(names, key=lambda x: (kind_rank.get(str(ctx.jobs[x].get("kind")), 1), x)):
        visit(n)
    return order


# --- cron schedule ------------------------------------------------------------------------------------
def cron_schedule(ctx: DocsContext) -> str:
    if not ctx.cron_files:
        return "No cron.d files.\n"
    out = []
    for f in ctx.cron_files:
        rows = []
        for e in f.entries:
            argv = rockway_argv(e.command)
            job = code(" ".join(argv)) if argv else code(e.command)
            purpose = e.comment
            if not purpose and argv and len(argv) > 2 and argv[1] == "run":
                purpose = str(ctx.pipelines.get(argv[2], {}).get("description", ""))
            rows.append((job, code(e.schedule), describe_schedule(e.schedule), e.time_zone or "system time zone",
                         e.user, purpose or "-"))
        text = f"`{f.path}`"
        if f.env.get("CRON_TZ"):
            text += f" (schedules read in `CRON_TZ={f.env['CRON_TZ']}`)"
        out.append(text + ":\n\n" + table(["Job", "Schedule", "When", "Time zone", "User", "Purpose"], rows))
        if f.problems:
            out.append("Problems: " + "; ".join(map(str, f.problems)) + "\n")
    out.append("Next run times depend on the clock, so they are not written here: `rockway schedule` lists them "
               "(and checks each line and command).\n")
    return "\n".join(out)


# --- table catalog ------------------------------------------------------------------------------------
def _key(e: Any) -> str:
    return f"{e.key_model} ({e.key_columns})" if e.key_model else ""


def table_catalog(ctx: DocsContext) -> str:
    rows = [(code(t.name), code(t.database), code(_key(t)) if t.key_model else "", code(t.partitioning) if t.partitioning else "-",
             code(t.distribution) if t.distribution else "", t.purpose, t.source, t.refresh, t.owner) for t in ctx.tables]
    out = (f"From each migration's header comment and its DDL rendered for StarRocks (environment "
           f"`{ctx.env or 'default'}`):\n\n")
    out += table(["Table", "Database", "Key model", "Partitioning", "Distribution", "Description", "Source",
                  "Refresh", "Owner"], rows)
    if ctx.views:
        out += "\nViews and materialized views (repeatable/):\n\n"
        out += table(["Name", "Database", "Kind", "Description", "Source", "Refresh", "Owner"],
                     [(code(v.name), code(v.database), v.kind, v.purpose, v.source, v.refresh, v.owner) for v in ctx.views])
    return out


def live_snapshot(ctx: DocsContext) -> str:
    live = ctx.live
    if live is None:
        return ("Not taken yet: `rockway docs update --live" + _env_flag(ctx) + "` writes row counts and the next cron "
                "runs here (`rockway docs check` never queries a database and keeps this section as it is).\n")
    stamp = live.taken_at.strftime("%Y-%m-%d %H:%M UTC")
    out = f"Taken {stamp} from environment `{live.env or 'default'}` by `rockway docs update --live`.\n\n"
    if live.error:
        out += f"Row counts unavailable: {live.error}\n\n"
    else:
        out += table(["Table", "Rows"], [(code(k), f"{v:,}" if isinstance(v, int) else v) for k, v in live.row_counts.items()])
    if live.next_runs:
        rows = []
        for f in ctx.cron_files:
            for e in f.entries:
                argv = rockway_argv(e.command)
                runs = live.next_runs.get((f.path, e.line), [])
                rows.append((code(" ".join(argv) if argv else e.command), ", ".join(t.strftime("%a %Y-%m-%d %H:%M %Z") for t in runs)))
        out += "\nNext runs:\n\n" + table(["Job", "Next runs"], rows)
    return out


# --- migration history --------------------------------------------------------------------------------
def migration_history(ctx: DocsContext) -> str:
    v, u, r = (ctx.scripts_of(k) for k in (Kind.VERSIONED, Kind.UNDO, Kind.REPEATABLE))
    v = sorted(v, key=lambda s: s.version or Version.parse("0"))  # a V script always has a version
    undone = {s.version for s in u}
    newest = v[-1] if v else None
    missing_undo = [s for s in v if s.version not in undone]
    env = _env_flag(ctx)
    rows = [("Versioned (V)", len(v), f"newest: `V{newest.version}` {newest.description}" if newest else "-"),
            ("Undo (U)", len(u), "every V has its U" if v and not missing_undo else
             ("without U: " + ", ".join(f"V{s.version}" for s in missing_undo)) if missing_undo else "-"),
            ("Repeatable (R)", len(r), ", ".join(s.description for s in r) or "-")]
    out = table(["Scripts", "Count", "Notes"], rows)
    if v:
        out += "\nVersions: " + " · ".join(f"`V{s.version}` {s.description}" for s in v) + "\n"
    previous = v[-2].version if len(v) >= 2 else None
    out += ("\nHow a reviewer audits a release: `migrate history` lists every applied script with who ran it, when, "
            "from which host, how long it took, its status, the sha256 checksum of the file, the git commit and the "
            "OpenTelemetry trace id (open the trace in SigNoz to see each statement and async job). `migrate validate` "
            "exits 1 when a file no longer matches its recorded checksum.\n\n")
    cmds = [f"rockway migrate history{env} --csv > audit.csv", f"rockway migrate info{env}", f"rockway migrate validate{env}"]
    if previous is not None:
        cmds.append(f"rockway migrate rollback --to {previous}{env} --dry-run    # what undoing the newest release would run")
    out += fence("\n".join(cmds))
    return out


# --- monitoring ---------------------------------------------------------------------------------------
def monitoring(ctx: DocsContext) -> str:
    s = ctx.signoz
    out = []
    if s.get("dashboards"):
        out.append("Dashboards (observability/signoz/dashboards/):\n\n" + table(
            ["Dashboard", "Panels", "Shows", "File"],
            [(d["title"], d["panels"] if d["panels"] is not None else "", d["description"], code(d["file"])) for d in s["dashboards"]]))
    if s.get("alerts"):
        out.append("Alert rules (observability/signoz/alerts/):\n\n" + table(
            ["Alert", "Severity", "Fires when", "File"],
            [(a["title"], a["severity"], a["description"], code(a["file"])) for a in s["alerts"]]))
    if s.get("downtime"):
        out.append("Planned downtime windows (observability/signoz/downtime/):\n\n" + table(
            ["Window", "What it does", "File"], [(d["title"], d["description"], code(d["file"])) for d in s["downtime"]]))
    if not out:
        return "No SigNoz assets in observability/signoz/.\n"
    out.append("Install or update them (matched by title), after an offline check:\n\n"
               + fence("rockway signoz check\nrockway signoz push --dry-run\nrockway signoz push"))
    return "\n".join(out)


# --- CLI reference ------------------------------------------------------------------------------------
def cli_reference_section(ctx: DocsContext) -> str:
    if ctx.cli is None:
        return "(the command reference is generated by `rockway docs update`)\n"
    return cli_reference.reference(ctx.cli)


# --- registry -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SectionSpec:
    name: str
    summary: str
    render: Callable[[DocsContext], str]
    live: bool = False  # kept as it is unless `docs update --live`


SECTIONS: dict[str, SectionSpec] = {s.name: s for s in [
    SectionSpec("contents", "the README's `##` headings with links", lambda ctx: ""),
    SectionSpec("architecture", "Mermaid data-flow diagram from rockway.toml, jobs/ and repeatable/", architecture),
    SectionSpec("directory-structure", "top-level folders and files with their purpose", directory_structure),
    SectionSpec("setup", "step-by-step environment set-up: compose, first migration, first pipeline run", setup),
    SectionSpec("environment-variables", "environment variables from rockway.config.setting_docs() and the jobs/telemetry ones",
                environment_variables),
    SectionSpec("running-pipelines", "historical, incremental and backfill loads, verification", running_pipelines),
    SectionSpec("cron-schedule", "cron.d entries: command, schedule in words, time zone, purpose", cron_schedule),
    SectionSpec("table-catalog", "tables from migration headers and DDL; views and MVs from repeatable/", table_catalog),
    SectionSpec("live-snapshot", "row counts and next cron runs (only `docs update --live` rewrites it)", live_snapshot,
                live=True),
    SectionSpec("migration-history", "V/U/R counts, newest version, how to audit", migration_history),
    SectionSpec("monitoring", "SigNoz dashboards, alert rules and downtime windows", monitoring),
    SectionSpec("runbook", "on-call troubleshooting and release rollback (rockway/docs/runbook.md)", runbook),
    SectionSpec("cli-reference", "every command's --help", cli_reference_section),
]}
