"""Settings: CLI > ROCKWAY_* environment > rockway.toml [env.<name>] > [rockway] > defaults.

Secrets (the database password) come only from the environment or the DSN, never from rockway.toml.
"""

from __future__ import annotations

import math
import os
import re
import sys
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import unquote, urlsplit

from rockway.errors import ConfigError
from rockway.observability.redaction import redact_dsn

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

CONFIG_FILE = "rockway.toml"
# Tables read by other parts of rockway (verification, jobs) from [NAME] and [env.<env>.NAME]; not Settings.
EXTENSION_SECTIONS = ("verify", "jobs", "docs", "signoz", "schema")
VAR_PREFIX = "ROCKWAY_VAR_"
_IDENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,63}$")
MV_HEALTH_MODES = ("warn", "fail", "activate")  # mv/health.py
MAX_POLL_LATENESS = 0.5  # the poll_lateness setting's bound (adapters/poll_schedule.py): a wait at most half the time waited


def _setting(default: Any, env: str | None, doc: str, *, secret: bool = False, kind: type = str) -> Any:
    return field(default=default, metadata={"env": env, "doc": doc, "secret": secret, "kind": kind})


@dataclass(frozen=True)
class Settings:
    """Every setting rockway reads; the metadata feeds `--help` and the README's variable table."""

    dsn: str | None = _setting(None, "ROCKWAY_DSN", "Database URL: starrocks://user@host:9030/db or mysql://user@host:3306/db")
    password: str | None = _setting(None, "ROCKWAY_PASSWORD", "Database password (overrides one in the DSN)", secret=True)
    ssl_mode: str | None = _setting(None, "ROCKWAY_SSL_MODE", "TLS to the database: disabled, preferred (default), required,"
                                    " verify_ca or verify_identity (overrides ?ssl_mode= in the DSN)")
    ssl_ca: str | None = _setting(None, "ROCKWAY_SSL_CA", "CA certificate (PEM file) for verify_ca / verify_identity"
                                  " (overrides ?ssl_ca= in the DSN)")
    env: str | None = _setting(None, "ROCKWAY_ENV", "Environment section of rockway.toml to use ([env.NAME])")
    migrations_dir: str = _setting("migrations", "ROCKWAY_MIGRATIONS_DIR", "Folder of V/U scripts")
    repeatable_dir: str = _setting("repeatable", "ROCKWAY_REPEATABLE_DIR", "Folder of R scripts")
    history_table: str = _setting("rockway_schema_history", "ROCKWAY_HISTORY_TABLE", "Name of the history table")
    lock_timeout: float = _setting(60.0, "ROCKWAY_LOCK_TIMEOUT", "Seconds to wait for the run lock before exit 4", kind=float)
    lock_lease: float = _setting(900.0, "ROCKWAY_LOCK_LEASE", "StarRocks lock lease in seconds (renewed while running)", kind=float)
    connect_timeout: float = _setting(10.0, "ROCKWAY_CONNECT_TIMEOUT", "Seconds to establish a connection", kind=float)
    read_timeout: float = _setting(1800.0, "ROCKWAY_READ_TIMEOUT", "Seconds to wait for a server reply", kind=float)
    write_timeout: float = _setting(60.0, "ROCKWAY_WRITE_TIMEOUT", "Seconds to send a request", kind=float)
    async_timeout: float = _setting(3600.0, "ROCKWAY_ASYNC_TIMEOUT", "Seconds to wait for a StarRocks ALTER/MV job", kind=float)
    poll_interval: float = _setting(1.0, "ROCKWAY_POLL_INTERVAL", "Shortest wait in seconds between two polls of an async"
                                    " job (later waits grow with the time waited)", kind=float)
    poll_lateness: float = _setting(0.05, "ROCKWAY_POLL_LATENESS", "How late rockway may notice that an async job has"
                                    " finished, as a share of its duration (0 < x <= 0.5): an hour-long job takes ~127"
                                    " polls at 0.05, ~60 at 0.13", kind=float)
    replication_num: int | None = _setting(None, "ROCKWAY_REPLICATION_NUM", "replication_num for rockway's own StarRocks tables", kind=int)
    backends: int | None = _setting(None, "ROCKWAY_BACKENDS", "StarRocks backends the environment runs; `rockway lint` flags a"
                                    " replication_num above it (`migrate up` asks the live cluster)", kind=int)
    out_of_order: bool = _setting(False, "ROCKWAY_OUT_OF_ORDER", "Apply versions lower than the newest applied one", kind=bool)
    validate_on_migrate: bool = _setting(True, "ROCKWAY_VALIDATE_ON_MIGRATE", "Refuse `migrate up`/`rollback` while an applied"
                                         " versioned script has changed (--no-validate turns it off for one run)", kind=bool)
    clean_enabled: bool = _setting(False, "ROCKWAY_CLEAN_ENABLED", "Allow `migrate clean` in this environment", kind=bool)
    wait_for_mv: bool = _setting(True, "ROCKWAY_WAIT_FOR_MV", "Wait for CREATE/REFRESH MATERIALIZED VIEW to finish", kind=bool)
    mv_health: str = _setting("warn", "ROCKWAY_MV_HEALTH", "After `migrate up`/`rollback`, materialized views the run made"
                              " inactive (or whose refresh failed): warn (report), fail (report, exit 1) or activate"
                              " (ALTER … ACTIVE them, report what stays inactive)")
    create_database: bool = _setting(False, "ROCKWAY_CREATE_DATABASE", "Create the DSN's database if it does not exist", kind=bool)
    installed_by: str | None = _setting(None, "ROCKWAY_INSTALLED_BY", "Name recorded as installed_by (default: the database user)")
    vars: Mapping[str, Any] = field(default_factory=dict, metadata={"env": VAR_PREFIX + "<NAME>", "doc": "Template variable NAME (lower-cased)", "secret": False, "kind": dict})
    project_dir: Path = field(default=Path("."), metadata={"env": None, "doc": "Project folder", "secret": False, "kind": Path})

    @property
    def migrations_path(self) -> Path:
        return self.project_dir / self.migrations_dir

    @property
    def repeatable_path(self) -> Path:
        return self.project_dir / self.repeatable_dir

    def describe(self) -> dict[str, Any]:
        """Settings with secrets masked, for logs and `--json` output."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.metadata.get("secret") and value:
                value = "***"
            elif f.name == "dsn" and value:
                value = redact_dsn(value)
            out[f.name] = str(value) if isinstance(value, Path) else value
        return out


def setting_docs() -> list[dict[str, Any]]:
    """Name, environment variable, default, meaning and secrecy of each setting."""
    rows = []
    for f in fields(Settings):
        if f.metadata.get("env") is None:
            continue
        default = f.default if f.default is not None and not callable(f.default) else None
        if f.name == "vars":
            default = None
        rows.append({"name": f.name, "env": f.metadata["env"], "default": default, "doc": f.metadata["doc"], "secret": f.metadata["secret"]})
    return rows


def _coerce(name: str, kind: type, value: Any, source: str) -> Any:
    if value is None:
        return None
    try:
        if kind is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off", ""):
                return False
            raise ValueError(value)
        if kind in (int, float):
            if isinstance(value, bool):
                raise ValueError(value)
            number = float(value)
            if not math.isfinite(number) or number < 0:
                raise ConfigError(f"{source}: {name} = {value!r} must be a number, zero or positive")
            if kind is int and not number.is_integer():
                raise ConfigError(f"{source}: {name} = {value!r} must be a whole number")
            if name == "poll_lateness" and not 0 < number <= MAX_POLL_LATENESS:
                raise ConfigError(f"{source}: poll_lateness = {value!r} must be above 0 and at most {MAX_POLL_LATENESS:g}"
                                  " (a share of the job's duration: 0.05 is 5%)")
            return kind(number)
        if kind is dict:
            if not isinstance(value, Mapping):
                raise ValueError(value)
            return dict(value)
        text = str(value)
        if name == "history_table":
            validate_identifier(text, f"{source}: history_table")
        elif name == "mv_health" and text.strip().lower() not in MV_HEALTH_MODES:
            raise ConfigError(f"{source}: mv_health = {value!r} must be one of {', '.join(MV_HEALTH_MODES)}")
        elif name == "mv_health":
            return text.strip().lower()
        elif name == "dsn" and text:
            try:
                parse_dsn(text)
            except ConfigError as exc:
                raise ConfigError(f"{source}: {exc.message}", hint=exc.hint) from None
        return text
    except (TypeError, ValueError):
        raise ConfigError(f"{source}: {name} = {value!r} is not a valid {kind.__name__}") from None


def _table(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where} must be a table of variables, e.g. [env.dev.vars], not {value!r}")
    return value


def read_toml(path: Path | str) -> dict[str, Any]:
    """A TOML file as parsed ({} when there is no such file); ConfigError naming the file when it is not TOML."""
    path = Path(path)
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def read_project_toml(project_dir: Path | str, config_file: Path | str | None = None) -> dict[str, Any]:
    """rockway.toml of the project (or config_file) as parsed; {} without one."""
    return read_toml(Path(config_file) if config_file else Path(project_dir) / CONFIG_FILE)


def merge_tables(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """base with over's keys set on it; a table in both is merged key by key (over wins)."""
    out = dict(base)
    for key, value in over.items():
        current = out.get(key)
        out[key] = merge_tables(current, value) if isinstance(value, Mapping) and isinstance(current, Mapping) else value
    return out


def env_tables(data: Mapping[str, Any], name: str, env: str | None) -> list[tuple[str, Mapping[str, Any]]]:
    """(`[name]` or `[env.<env>.name]`, table) of a parsed rockway.toml-shaped document, those that are tables,
    the environment's last (it wins when they are merged)."""
    out: list[tuple[str, Mapping[str, Any]]] = []
    if isinstance(data.get(name), Mapping):
        out.append((f"[{name}]", data[name]))
    envs = data.get("env")
    env_table = envs.get(env) if env and isinstance(envs, Mapping) else None
    if isinstance(env_table, Mapping) and isinstance(env_table.get(name), Mapping):
        out.append((f"[env.{env}.{name}]", env_table[name]))
    return out


def env_section(data: Mapping[str, Any], name: str, env: str | None) -> dict[str, Any]:
    """`[name]` with `[env.<env>.name]` merged over it (see env_tables)."""
    merged: dict[str, Any] = {}
    for _, table in env_tables(data, name, env):
        merged = merge_tables(merged, table)
    return merged


def load_settings(project_dir: Path | str = ".", *, env_name: str | None = None, overrides: Mapping[str, Any] | None = None,
                  environ: Mapping[str, str] | None = None, config_file: Path | str | None = None) -> Settings:
    """Merge defaults, rockway.toml, ROCKWAY_* variables and CLI overrides into Settings."""
    environ = os.environ if environ is None else environ
    project = Path(project_dir)
    path = Path(config_file) if config_file else project / CONFIG_FILE
    if config_file and not path.exists():
        raise ConfigError(f"{path}: configuration file not found")
    data = read_toml(path)
    known = {f.name: f for f in fields(Settings)}
    base = data.get("rockway", {})
    envs = data.get("env", {})
    for section_name, section in (("[rockway]", base), *((f"[env.{k}]", v) for k, v in envs.items())):
        if not isinstance(section, dict):
            raise ConfigError(f"{path}: {section_name} must be a table")
        for key in section:
            if section_name != "[rockway]" and key in EXTENSION_SECTIONS:
                continue
            if key not in known or key in ("project_dir",):
                raise ConfigError(f"{path}: {section_name} has unknown setting {key!r}",
                                  hint="Known settings: " + ", ".join(sorted(k for k in known if k != "project_dir")))
            if key == "password":
                raise ConfigError(f"{path}: {section_name} sets a password; secrets come only from ROCKWAY_PASSWORD or the DSN")
    unknown_top = set(data) - {"rockway", "env", *EXTENSION_SECTIONS}
    if unknown_top:
        raise ConfigError(f"{path}: unknown section(s) {', '.join(sorted(unknown_top))}; use [rockway], [env.NAME]"
                          f" and {', '.join(f'[{n}]' for n in EXTENSION_SECTIONS)}")

    chosen_env = (overrides or {}).get("env") or env_name or environ.get("ROCKWAY_ENV") or base.get("env")
    values: dict[str, Any] = {}
    variables: dict[str, Any] = dict(_table(base.get("vars", {}), f"{path} [rockway] vars"))
    for key, value in base.items():
        if key != "vars":
            values[key] = _coerce(key, known[key].metadata["kind"], value, f"{path} [rockway]")
    if chosen_env:
        if chosen_env not in envs:
            raise unknown_environment(chosen_env, envs, path)
        for key, value in envs[chosen_env].items():
            if key in EXTENSION_SECTIONS:
                continue
            if key == "vars":
                variables.update(_table(value, f"{path} [env.{chosen_env}] vars"))
            else:
                values[key] = _coerce(key, known[key].metadata["kind"], value, f"{path} [env.{chosen_env}]")
        values["env"] = chosen_env
    for f in fields(Settings):
        env_key = f.metadata.get("env")
        if env_key and not env_key.endswith(">") and environ.get(env_key, "") != "" and f.name != "env":
            values[f.name] = _coerce(f.name, f.metadata["kind"], environ[env_key], env_key)
    for key, value in environ.items():
        if key.startswith(VAR_PREFIX) and len(key) > len(VAR_PREFIX):
            variables[key[len(VAR_PREFIX):].lower()] = value
    for key, value in (overrides or {}).items():
        if value is None or key == "env":
            continue
        if key not in known:
            raise ConfigError(f"unknown setting {key!r}")
        values[key] = _coerce(key, known[key].metadata["kind"], value, f"--{key.replace('_', '-')}")
    values["vars"] = variables
    values["project_dir"] = project
    settings = Settings(**values)
    validate_identifier(settings.history_table, "history_table")
    return settings


def unknown_environment(name: str, envs: Mapping[str, Any], path: Path) -> ConfigError:
    """The error for an environment that rockway.toml does not define (every command reports it alike)."""
    where = f"{path}" if path.exists() else f"{path} (missing)"
    return ConfigError(f"environment {name!r} is not defined in {where}",
                       hint=("Defined: " + ", ".join(sorted(envs))) if envs else "Add an [env.NAME] section.")


def check_environment(name: str, project_dir: Path | str = ".", config_file: Path | str | None = None) -> None:
    """Raise ConfigError unless rockway.toml defines [env.<name>]; for commands that do not load Settings."""
    path = Path(config_file) if config_file else Path(project_dir) / CONFIG_FILE
    envs = read_toml(path).get("env", {})
    if not isinstance(envs, Mapping) or name not in envs:
        raise unknown_environment(name, envs if isinstance(envs, Mapping) else {}, path)


def validate_identifier(name: str, what: str) -> str:
    """Accept a plain SQL identifier from configuration; reject anything that would need escaping."""
    if not _IDENT_RE.match(name or ""):
        raise ConfigError(f"{what} = {name!r} is not a valid identifier (letters, digits, _ and $, at most 64 characters)")
    return name


@dataclass(frozen=True)
class Dsn:
    """A parsed database URL."""

    scheme: str  # starrocks | mysql
    host: str
    port: int
    user: str
    password: str | None = field(default=None, repr=False)
    database: str | None = None
    http_port: int | None = None  # StarRocks FE HTTP port for Stream Load
    ssl_mode: str = "preferred"  # one of SSL_MODES
    ssl_ca: str | None = None  # CA certificate (PEM) for verify_ca / verify_identity

    def with_password(self, password: str | None) -> "Dsn":
        return replace(self, password=password) if password else self

    def with_tls(self, ssl_mode: str | None, ssl_ca: str | None) -> "Dsn":
        """This DSN with the TLS settings that are given (settings override the DSN's query options)."""
        return _checked_tls(replace(self, ssl_mode=(ssl_mode or self.ssl_mode).strip().lower(),
                                    ssl_ca=ssl_ca or self.ssl_ca))

    def __str__(self) -> str:
        db = f"/{self.database}" if self.database else ""
        return f"{self.scheme}://{self.user}@{self.host}:{self.port}{db}"


_DEFAULT_PORTS = {"starrocks": 9030, "mysql": 3306}


def parse_dsn(text: str) -> Dsn:
    """Parse `starrocks://user[:pw]@host[:port]/db` or `mysql://…` (also `mariadb://`).

    Errors show the DSN with its password masked (`redact_dsn`) and never echo a piece of it that
    might belong to the password (a port, option or database parsed out of a password holding
    `/`, `#`, `?` or `@`); such DSNs get a hint to percent-encode the password instead.
    """
    if not text:
        raise ConfigError("no database given: pass --dsn or set ROCKWAY_DSN (or dsn in rockway.toml)")
    try:
        dsn = _parse_dsn(text)
    except (ConfigError, ValueError) as exc:
        if _password_may_be_split(text):
            raise ConfigError(f"DSN {redact_dsn(text)!r} cannot be read: a character in the user or password ends"
                              " that part of the URL early", hint=DSN_ENCODING_HINT) from None
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(f"DSN {redact_dsn(text)!r} is not a valid URL", hint=DSN_ENCODING_HINT) from None
    if "#" in text:  # a DSN has no fragment: the `#` is in a password, and the URL parser dropped all after it
        raise ConfigError(f"DSN {redact_dsn(text)!r} cannot be read: '#' ends the URL", hint=DSN_ENCODING_HINT)
    return dsn


DSN_ENCODING_HINT = ("Percent-encode special characters in the password (e.g. # as %23, @ as %40, / as %2F, ? as %3F,"
                     " : as %3A), or leave the password out of the DSN and set it in the environment (ROCKWAY_PASSWORD;"
                     " for a job source ROCKWAY_SOURCE_<NAME>_PASSWORD).")
_URL_ERRORS = (("could not be cast", "the port is not a number"), ("out of range", "the port is not in 0-65535"),
               ("IPv6", "the host is not valid ('[' starts an IPv6 address)"))


def _parse_dsn(text: str) -> Dsn:
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:  # its text quotes the port, which may be (part of) the password
        what = next((said for cause, said in _URL_ERRORS if cause in str(exc)), "it is not a valid URL")
        raise ConfigError(f"DSN {redact_dsn(text)!r}: {what}", hint=DSN_ENCODING_HINT) from None
    scheme = parts.scheme.lower()
    if scheme == "mariadb":
        scheme = "mysql"
    if scheme not in _DEFAULT_PORTS:
        raise ConfigError(f"DSN scheme {parts.scheme!r} is not supported; use starrocks:// or mysql://"
                          f" (DSN {redact_dsn(text)!r})")
    if not parts.hostname:
        raise ConfigError(f"DSN {redact_dsn(text)!r} has no host")
    database = unquote(parts.path.lstrip("/")) or None
    if database:
        validate_identifier(database, "DSN database")
    http_port = None
    tls: dict[str, str] = {}
    for item in filter(None, parts.query.split("&")):
        key, _, value = item.partition("=")
        if key == "http_port" and value.isdigit():
            http_port = int(value)
        elif key in ("ssl_mode", "ssl_ca") and value:
            tls[key] = unquote(value)
        else:
            raise ConfigError(f"DSN option {key!r} is not supported (known: http_port, ssl_mode, ssl_ca)")
    return _checked_tls(Dsn(scheme=scheme, host=parts.hostname, port=port or _DEFAULT_PORTS[scheme],
                            user=unquote(parts.username or "root"),
                            password=unquote(parts.password) if parts.password else None,
                            database=database, http_port=http_port,
                            ssl_mode=tls.get("ssl_mode", "preferred").lower(), ssl_ca=tls.get("ssl_ca")))


def _password_may_be_split(text: str) -> bool:
    """True when an `@` follows the end of the URL's host part, or `[`/`]` precede the last `@`.

    A password holding `/`, `?` or `#` ends the host part early, so the real `@host` lands in the
    path, query or fragment; one holding `[` or `]` reads as an IPv6 address.
    """
    rest = text.partition("://")[2] or text
    end = next((i for i, c in enumerate(rest) if c in "/?#"), len(rest))
    at = rest.rfind("@")
    return at > end or any(c in rest[: max(at, 0)] for c in "[]")


SSL_MODES = ("disabled", "preferred", "required", "verify_ca", "verify_identity")


def _checked_tls(dsn: Dsn) -> Dsn:
    """dsn, if its TLS mode is known and a verifying mode names a CA certificate; else ConfigError."""
    if dsn.ssl_mode not in SSL_MODES:
        raise ConfigError(f"ssl_mode {dsn.ssl_mode!r} is not one of {', '.join(SSL_MODES)}")
    if dsn.ssl_mode.startswith("verify_") and not dsn.ssl_ca:
        raise ConfigError(f"ssl_mode {dsn.ssl_mode} needs ssl_ca: the CA certificate (PEM file) that signed the server's"
                          " certificate (ROCKWAY_SSL_CA or ?ssl_ca= in the DSN)")
    return dsn


