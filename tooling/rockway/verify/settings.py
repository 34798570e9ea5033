"""Verification settings: `[verify]` and `[env.NAME.verify]` of rockway.toml (or a `verify.toml` beside it).

Secrets are never read from these files: channels name the environment variable that holds them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from rockway.config import CONFIG_FILE, merge_tables, read_toml
from rockway.interfaces import Severity
from rockway.errors import ConfigError
from rockway.verify.notify import NotifyConfig
from rockway.verify.model import HistoryDefaults

SIDECAR_FILE = "verify.toml"
_KEYS = {"checks_dirs", "reports_dir", "results_db", "record", "max_expressions", "fail_on", "history", "notify"}


@dataclass(frozen=True)
class VerifySettings:
    """Where checks and reports live, where results go, and how failures are routed."""

    checks_dirs: tuple[str, ...] = ("jobs/checks",)
    reports_dir: str = "reports"
    results_db: str | None = None  # may be a template such as "{{ etl_db }}"; default: the etl_db variable
    record: bool = True  # write etl_check_result / etl_metric_history rows
    max_expressions: int = 50
    fail_on: Severity = Severity.CRITICAL  # lowest failed severity that makes `rockway verify` exit 1
    history: HistoryDefaults = HistoryDefaults()
    notify: NotifyConfig = field(default_factory=NotifyConfig)


def parse_section(data: Mapping[str, Any], where: str = "[verify]") -> VerifySettings:
    """Validate one merged `[verify]` table."""
    unknown = set(data) - _KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}", hint="Known: " + ", ".join(sorted(_KEYS)))
    values: dict[str, Any] = {}
    dirs = data.get("checks_dirs", ["jobs/checks"])
    if isinstance(dirs, str):
        dirs = [dirs]
    if not isinstance(dirs, list) or not all(isinstance(d, str) and d for d in dirs):
        raise ConfigError(f"{where}: checks_dirs must be a list of folders")
    values["checks_dirs"] = tuple(dirs)
    for key in ("reports_dir", "results_db"):
        if key in data:
            if not isinstance(data[key], str) or not data[key]:
                raise ConfigError(f"{where}: {key} must be non-empty text")
            values[key] = data[key]
    if "record" in data:
        if not isinstance(data["record"], bool):
            raise ConfigError(f"{where}: record must be true or false")
        values["record"] = data["record"]
    if "max_expressions" in data:
        n = data["max_expressions"]
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ConfigError(f"{where}: max_expressions must be a positive integer")
        values["max_expressions"] = n
    if "fail_on" in data:
        fail_on = Severity.named(data["fail_on"])
        if fail_on is None:
            raise ConfigError(f"{where}: fail_on must be CRITICAL, WARNING or INFO, not {data['fail_on']!r}")
        values["fail_on"] = fail_on
    if "history" in data:
        hist = data["history"]
        if not isinstance(hist, Mapping) or set(hist) - {"window", "min_history"}:
            raise ConfigError(f"{where}.history takes window and min_history")
        window, minimum = hist.get("window", 14), hist.get("min_history", 7)
        if any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in (window, minimum)) or minimum > window:
            raise ConfigError(f"{where}.history: window and min_history must be positive integers, min_history <= window")
        values["history"] = HistoryDefaults(window=window, min_history=minimum)
    if "notify" in data:
        if not isinstance(data["notify"], Mapping):
            raise ConfigError(f"{where}.notify must be a table")
        values["notify"] = NotifyConfig.from_mapping(data["notify"], f"{where}.notify")
    return VerifySettings(**values)


def sections(data: Mapping[str, Any], env_name: str | None, path: Path) -> dict[str, Any]:
    """`[verify]` merged with `[env.<env_name>.verify]` of one parsed file."""
    merged: dict[str, Any] = {}
    base = data.get("verify", {})
    if not isinstance(base, Mapping):
        raise ConfigError(f"{path}: [verify] must be a table")
    merged = merge_tables(merged, base)
    env_section = (data.get("env") or {}).get(env_name or "", {}) if env_name else {}
    if isinstance(env_section, Mapping) and isinstance(env_section.get("verify"), Mapping):
        merged = merge_tables(merged, env_section["verify"])
    return merged


def load_verify_settings(project_dir: Path | str, env_name: str | None = None,
                         config_file: Path | str | None = None) -> VerifySettings:
    """Read `[verify]` (+ `[env.NAME.verify]`) from rockway.toml, else from verify.toml in the project folder."""
    project = Path(project_dir)
    main = Path(config_file) if config_file else project / CONFIG_FILE
    if main.is_file():
        data = read_toml(main)
        if "verify" in data or any(isinstance(v, Mapping) and "verify" in v for v in (data.get("env") or {}).values()):
            return parse_section(sections(data, env_name, main), f"{main} [verify]")
    sidecar = project / SIDECAR_FILE
    if sidecar.is_file():
        return parse_section(sections(read_toml(sidecar), env_name, sidecar), f"{sidecar} [verify]")
    return VerifySettings()
