"""Per-invocation CLI state: global options, lazily loaded settings and telemetry."""

from __future__ import annotations

import functools
import gc
from dataclasses import dataclass, field
from typing import Any, Callable, TypeVar, cast

import click

from rockway import __version__
from rockway.cli.params import SECONDS
from rockway.config import check_environment, load_settings


@dataclass
class CliState:
    """Global options and what they lead to."""

    project_dir: str = "."
    config_file: str | None = None
    env_name: str | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    traceback: bool = False
    log_format: str | None = None  # text | json (else ROCKWAY_LOG_FORMAT, else text)
    log_file: str | None = None  # JSON lines appended here too (else ROCKWAY_LOG_FILE)
    _settings: Any = None
    telemetry: Any = None
    _log_handlers: list[Any] = field(default_factory=list)

    def settings(self, **more: Any) -> Any:
        """Load settings once (CLI > env > rockway.toml > defaults) and start telemetry."""
        if self._settings is None or more:
            merged = {**self.overrides, **{k: v for k, v in more.items() if v is not None}}
            self._settings = load_settings(self.project_dir, env_name=self.env_name, overrides=merged,
                                           config_file=self.config_file)
            self.start_telemetry(self._settings.env)
        return self._settings

    def start_telemetry(self, environment: str | None) -> None:
        if self.telemetry is not None:
            return
        try:  # the OpenTelemetry SDK and exporters load only when a command runs
            from rockway.observability.logs import configure_logging
            from rockway.observability.sdk import setup_telemetry

            self._log_handlers = configure_logging(self.log_format, self.log_file)
            self.telemetry = setup_telemetry(__version__, environment)
        except Exception as exc:  # noqa: BLE001 - telemetry never fails a run
            click.echo(f"warning: telemetry disabled: {exc}", err=True)
            self.telemetry = False
            return
        if self.telemetry.exporting:
            # The SDK's objects live until exit and take the heap past the collector's threshold: frozen, they
            # are not rescanned by the full collection they would otherwise cost mid-run (bench/RESULTS.md,
            # "Tracing overhead").
            gc.freeze()

    def shutdown(self) -> None:
        if self.telemetry:
            self.telemetry.shutdown()
        if self._log_handlers:
            from rockway.observability.logs import close_logging

            close_logging(self._log_handlers)
            self._log_handlers = []


def state(ctx: click.Context) -> CliState:
    """The CliState of this invocation."""
    obj = ctx.find_root().obj
    if obj is None:
        obj = ctx.find_root().obj = CliState()
    return obj



F = TypeVar("F", bound=Callable[..., Any])


def _store(attr: str, key: str | None = None) -> Callable[[click.Context, click.Parameter, Any], Any]:
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if value is None or value is False:
            return value
        st = state(ctx)
        if key is not None:
            st.overrides[key] = value
        else:
            setattr(st, attr, value)
        return value
    return callback


COMMON_OPTIONS = [
    click.option("--dsn", expose_value=False, callback=_store("", "dsn"),
                 help="Database URL, e.g. starrocks://user@host:9030/db (or ROCKWAY_DSN)."),
    click.option("--env", expose_value=False, callback=_store("env_name"),
                 help="Environment section of rockway.toml, [env.NAME] (or ROCKWAY_ENV)."),
    click.option("--project-dir", "-C", expose_value=False, callback=_store("project_dir"), type=click.Path(exists=True, file_okay=False),
                 help="Project folder holding rockway.toml, migrations/ and repeatable/ (default: .)."),
    click.option("--config", expose_value=False, callback=_store("config_file"), type=click.Path(dir_okay=False),
                 help="Path of rockway.toml."),
    click.option("--history-table", expose_value=False, callback=_store("", "history_table"),
                 help="History table name (default rockway_schema_history)."),
    click.option("--lock-timeout", type=SECONDS, expose_value=False, callback=_store("", "lock_timeout"),
                 help="Seconds to wait for the run lock (default 60); then exit 4."),
    click.option("--traceback", is_flag=True, expose_value=False, callback=_store("traceback"),
                 help="Show the Python stack on errors."),
    click.option("--log-format", type=click.Choice(["text", "json"]), expose_value=False, callback=_store("log_format"),
                 help="Log lines on stderr: text (warnings, for people; default) or json (from INFO, with run_id, "
                      "trace_id, span_id) (or ROCKWAY_LOG_FORMAT)."),
    click.option("--log-file", type=click.Path(dir_okay=False), expose_value=False, callback=_store("log_file"),
                 help="Also append JSON log lines to this file (or ROCKWAY_LOG_FILE)."),
]


def _checks_env(fn: F) -> F:
    """fn, first rejecting an --env that rockway.toml does not define (exit 2, naming the defined ones), also in
    commands that never load Settings (docs, schedule): rockway.config.check_environment is the one check."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        st = state(click.get_current_context())
        if st.env_name:
            check_environment(st.env_name, st.project_dir, st.config_file)
        return fn(*args, **kwargs)
    return cast(F, wrapper)


def common_options(fn: F) -> F:
    """Add the connection/config options to a command or group (usable at any level)."""
    fn = _checks_env(fn)
    for option in reversed(COMMON_OPTIONS):
        fn = option(fn)
    return fn
