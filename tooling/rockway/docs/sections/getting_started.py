"""Getting started: the set-up steps of a StarRocks environment (`setup`) and every environment variable rockway
reads (`environment-variables`)."""

from __future__ import annotations

from pathlib import Path

from rockway.config import setting_docs
from rockway.docs.context import DocsContext
from rockway.docs.sections.markdown import code, default_value, fence, table

__all__ = ["setup", "environment_variables", "OTHER_VARIABLES"]


def setup(ctx: DocsContext) -> str:
    sr = ctx.env_with_engine("starrocks")
    dev = ctx.env_with_engine("mysql")
    env = ctx.env_flag()
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
    rows = [(code(r["env"]), default_value(r["default"]), r["doc"], "**yes**" if r["secret"] else "no")
            for r in setting_docs()]
    out = "Settings (`rockway.config.Settings`; also `[rockway]` / `[env.NAME]` keys of rockway.toml, by name):\n\n"
    out += table(["Variable", "Default", "Meaning", "Secret"], rows)
    out += "\nRead by the jobs, notifications and telemetry (environment only):\n\n"
    out += table(["Variable", "Default", "Meaning", "Secret"],
                 [(code(n), d, m, "**yes**" if s else "no") for n, d, m, s in OTHER_VARIABLES])
    return out
