"""Jobs settings: the `[jobs]` and `[env.NAME.jobs]` tables (sources, concurrency, retries, backups).

They are read from `jobs/jobs.toml` of the project. rockway.toml's loader (rockway.config) rejects
sections it does not know, so the same tables are read from rockway.toml too once it accepts them; a
table in jobs/jobs.toml wins over the same table in rockway.toml. Environment variables override both:

    ROCKWAY_JOBS_DIR                  folder of job specs (default `jobs`)
    ROCKWAY_JOBS_CONCURRENCY          jobs run at once in a pipeline step
    ROCKWAY_SOURCE_<NAME>_DSN         DSN of a `dsn` source (e.g. mysql://etl@erp-db:3306/erp)
    ROCKWAY_SOURCE_<NAME>_PASSWORD    its password (secrets never come from files)
    ROCKWAY_SOURCE_<NAME>_DATABASE    the source's database (both kinds; a `dsn` source otherwise reads the
                                      database its DSN names, and `database` only when the DSN names none)
    ROCKWAY_SOURCE_<NAME>_CATALOG     a `catalog` source's StarRocks external catalog
    ROCKWAY_BACKUP_FOLDER             folder of MySQL/MariaDB dump files
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any, Mapping

from rockway.config import CONFIG_FILE, Settings, env_tables, merge_tables, parse_dsn, read_toml
from rockway.observability.redaction import redact_dsn
from rockway.durations import parse_duration
from rockway.errors import ConfigError
from rockway.jobs.retry import RetryPolicy

JOBS_FILE = "jobs.toml"
WAREHOUSE = "warehouse"  # the built-in source: the target database itself
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


@dataclass(frozen=True)
class Source:
    """Where a job's extract query runs.

    kind `catalog`: in the target engine. `{{ source('erp', 'orders') }}` renders `catalog`.`database`.`orders`
    on StarRocks (an external catalog, e.g. JDBC) and `database`.`orders` on MySQL/MariaDB (same server).
    kind `dsn`: on its own MySQL-protocol connection; rockway reads the rows in batches and bulk-loads them
    into a work table of the warehouse; `source()` renders `database`.`orders` for that connection.
    """

    name: str
    kind: str  # catalog | dsn | warehouse
    database: str | None = None
    catalog: str | None = None
    dsn: str | None = None
    password: str | None = field(default=None, repr=False)
    batch_size: int = 5000

    @property
    def password_env(self) -> str:
        """The environment variable holding this source's password (never rockway's own ROCKWAY_PASSWORD)."""
        return f"ROCKWAY_SOURCE_{self.name.upper()}_PASSWORD"

    def describe(self) -> str:
        if self.kind == "dsn":
            return f"{self.name}: read by rockway from {redact_dsn(self.dsn or '')}"
        if self.kind == "catalog":
            return f"{self.name}: catalog {self.catalog or '-'} database {self.database}"
        return f"{self.name}: the warehouse itself"


@dataclass(frozen=True)
class BackupSettings:
    """What the evening backup step backs up and how many backups it keeps."""

    databases: tuple[str, ...] = ("{{ dw_db }}",)
    retain: int = 7
    folder: str = ".rockway/backups"  # MySQL/MariaDB dump files (relative to the project)
    dump_command: str = "mariadb-dump"
    repository: str | None = None  # StarRocks repository (CREATE REPOSITORY … ON LOCATION "s3a://…")
    location: str | None = None  # that repository's LOCATION, for retention
    delete_command: tuple[str, ...] = ()  # StarRocks retention, e.g. ["gcloud", "storage", "rm", "--recursive", "{path}"]
    timeout: float = 7200.0
    poll_interval: float = 10.0


@dataclass(frozen=True)
class JobsSettings:
    """Everything the job runner reads besides rockway's own Settings."""

    jobs_dir: Path
    concurrency: int = 4
    retry: RetryPolicy = RetryPolicy()
    statement_timeout: float = 3600.0
    settle: timedelta = timedelta(minutes=1)  # datetime windows end this long before now (commit lag)
    business_time_zone: str = "UTC"  # "the previous day" of date-watermark jobs is taken in this zone
    etl_database: str = "{{ etl_db }}"
    work_database: str = "{{ etl_db }}"
    batch_size: int = 5000
    verifier: str | None = None  # "module:callable" building the Verifier (default: rockway.verify)
    notifier: str | None = None  # "module:callable" building the Notifier
    sources: Mapping[str, Source] = field(default_factory=dict)
    backup: BackupSettings = BackupSettings()

    def source(self, name: str) -> Source | None:
        if name == WAREHOUSE:
            return Source(WAREHOUSE, "warehouse")
        return self.sources.get(name)


_TOP_KEYS = {"concurrency", "retry_attempts", "retry_initial_delay", "retry_max_delay", "statement_timeout", "settle",
             "business_time_zone", "etl_database", "work_database", "batch_size", "verifier", "notifier", "sources",
             "backup"}
_SOURCE_KEYS = {"kind", "database", "catalog", "dsn", "batch_size"}
_BACKUP_KEYS = {"databases", "retain", "folder", "dump_command", "repository", "location", "delete_command", "timeout",
                "poll_interval"}


def _tables(path: Path, env: str | None) -> list[tuple[str, Mapping[str, Any]]]:
    """(`path [table]`, table) of [jobs] and [env.<env>.jobs] of one TOML file (none without the file)."""
    return [(f"{path} {name}", table) for name, table in env_tables(read_toml(path), "jobs", env)]


def _at(origin: str, key: str) -> str:
    """`path [table]` as `path:line [table]`, the line being the first `key = …` of the file (when there is one)."""
    path, sep, table = origin.partition(" [")
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return origin
    pattern = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
    line = next((i for i, text in enumerate(lines, start=1) if pattern.match(text)), None)
    return f"{path}:{line}{sep}{table}" if line else origin


def _number(where: str, key: str, value: Any, kind: type = float, minimum: float = 0) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
        raise ConfigError(f"{where}: {key} = {value!r} must be a number >= {minimum:g}")
    if kind is int and int(value) != value:
        raise ConfigError(f"{where}: {key} = {value!r} must be a whole number")
    return kind(value)


def load_jobs_settings(settings: Settings, environ: Mapping[str, str] | None = None) -> JobsSettings:
    """Merge jobs/jobs.toml (and rockway.toml's [jobs] tables, when present) with ROCKWAY_* overrides."""
    environ = os.environ if environ is None else environ
    project = Path(settings.project_dir)
    jobs_dir = project / environ.get("ROCKWAY_JOBS_DIR", "jobs")
    merged: dict[str, Any] = {}
    where = str(jobs_dir / JOBS_FILE)
    for origin, table in _tables(project / CONFIG_FILE, settings.env) + _tables(jobs_dir / JOBS_FILE, settings.env):
        unknown = set(table) - _TOP_KEYS
        if unknown:
            raise ConfigError(f"{_at(origin, min(unknown))}: unknown setting(s) {', '.join(sorted(unknown))}",
                              hint="Known: " + ", ".join(sorted(_TOP_KEYS)))
        merged = merge_tables(merged, table)
    out = JobsSettings(jobs_dir=jobs_dir)
    retry = out.retry
    for key, value in merged.items():
        if key == "concurrency":
            out = replace(out, concurrency=_number(where, key, value, int, 1))
        elif key == "retry_attempts":
            retry = replace(retry, attempts=_number(where, key, value, int, 1))
        elif key == "retry_initial_delay":
            retry = replace(retry, initial_delay=_number(where, key, value))
        elif key == "retry_max_delay":
            retry = replace(retry, max_delay=_number(where, key, value))
        elif key in ("statement_timeout",):
            out = replace(out, statement_timeout=_number(where, key, value, float, 1))
        elif key == "batch_size":
            out = replace(out, batch_size=_number(where, key, value, int, 1))
        elif key == "settle":
            try:
                out = replace(out, settle=timedelta(seconds=parse_duration(value)))
            except ValueError:
                raise ConfigError(f"{where}: settle = {value!r} is not a duration like 90s, 5m, 1h") from None
        elif key in ("business_time_zone", "etl_database", "work_database", "verifier", "notifier"):
            if not isinstance(value, str) or not value:
                raise ConfigError(f"{where}: {key} must be a non-empty string")
            text: dict[str, Any] = {key: value}
            out = replace(out, **text)
    if "business_time_zone" in merged:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(out.business_time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"{where}: business_time_zone = {out.business_time_zone!r} is not a time zone") from None
    out = replace(out, retry=retry, sources=_sources(where, merged.get("sources", {}), environ, out.batch_size),
                  backup=_backup(where, merged.get("backup", {}), environ))
    if environ.get("ROCKWAY_JOBS_CONCURRENCY"):
        try:
            out = replace(out, concurrency=max(1, int(environ["ROCKWAY_JOBS_CONCURRENCY"])))
        except ValueError:
            raise ConfigError("ROCKWAY_JOBS_CONCURRENCY must be a whole number") from None
    return out


def _sources(where: str, table: Any, environ: Mapping[str, str], batch_size: int) -> dict[str, Source]:
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where}: sources must be a table of [jobs.sources.NAME] tables")
    out: dict[str, Source] = {}
    for name, spec in table.items():
        here = f"{where} [jobs.sources.{name}]"
        if not _NAME.match(str(name)) or name == WAREHOUSE:
            raise ConfigError(f"{here}: a source name is lower-case letters, digits and _ (and not {WAREHOUSE!r})")
        if not isinstance(spec, Mapping):
            raise ConfigError(f"{here}: must be a table")
        unknown = set(spec) - _SOURCE_KEYS
        if unknown:
            raise ConfigError(f"{_at(here, min(unknown))}: unknown key(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(_SOURCE_KEYS))}")
        env = f"ROCKWAY_SOURCE_{str(name).upper()}_"
        kind = spec.get("kind", "catalog")
        if kind not in ("catalog", "dsn"):
            raise ConfigError(f"{here}: kind = {kind!r}; use 'catalog' (read in the warehouse engine) or 'dsn' (read by rockway)")
        src = Source(name=str(name), kind=kind, database=environ.get(env + "DATABASE") or spec.get("database"),
                     catalog=environ.get(env + "CATALOG") or spec.get("catalog"),
                     dsn=environ.get(env + "DSN") or spec.get("dsn"), password=environ.get(env + "PASSWORD"),
                     batch_size=_number(here, "batch_size", spec.get("batch_size", batch_size), int, 1))
        if kind == "dsn":
            if not src.dsn:
                raise ConfigError(f"{here}: a dsn source needs dsn (or {env}DSN)")
            try:
                dsn = parse_dsn(src.dsn)
            except ConfigError as exc:  # name where the DSN came from; the message already masks its password
                origin = f"{env}DSN" if environ.get(env + "DSN") else f"{here} dsn"
                raise ConfigError(f"{origin}: {exc.message}", hint=exc.hint) from None
            if dsn.password and "dsn" in spec and not environ.get(env + "DSN"):
                raise ConfigError(f"{here}: the dsn holds a password; put it in {env}PASSWORD")
            # The database the DSN names is the one the connection reads: it wins over a `database` the table
            # inherits (jobs/jobs.toml's [jobs.sources.erp] names the production catalog's database).
            src = replace(src, database=environ.get(env + "DATABASE") or dsn.database or src.database)
        if not src.database:
            raise ConfigError(f"{here}: database is required (or {env}DATABASE)")
        out[src.name] = src
    return out


def _backup(where: str, table: Any, environ: Mapping[str, str]) -> BackupSettings:
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where}: backup must be a table ([jobs.backup])")
    unknown = set(table) - _BACKUP_KEYS
    if unknown:
        raise ConfigError(f"{where} [jobs.backup]: unknown key(s) {', '.join(sorted(unknown))}")
    out = BackupSettings()
    for key, value in table.items():
        change: dict[str, Any] = {}  # one field, checked for its type below
        if key in ("databases", "delete_command"):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{where} [jobs.backup]: {key} must be a list of strings")
            change[key] = tuple(value)
        elif key == "retain":
            change[key] = _number(where, "backup.retain", value, int, 1)
        elif key in ("timeout", "poll_interval"):
            change[key] = _number(where, f"backup.{key}", value, float, 0.1)
        else:
            if not isinstance(value, str):
                raise ConfigError(f"{where} [jobs.backup]: {key} must be a string")
            change[key] = value
        out = replace(out, **change)
    if environ.get("ROCKWAY_BACKUP_FOLDER"):
        out = replace(out, folder=environ["ROCKWAY_BACKUP_FOLDER"])
    return out
