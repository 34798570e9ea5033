"""What the job commands (`rockway run`, `rockway job …`, `rockway dev seed`) share: the injected Verifier and
Notifier, JSON job logs, progress lines and `--as-of`."""

from __future__ import annotations

import importlib
import logging
import sys
from datetime import datetime, timezone
from typing import Any

import click

from rockway.errors import ConfigError

__all__ = ["AS_OF", "setup_job_logging", "build_verifier", "build_notifier", "parse_as_of", "progress_echo"]


def setup_job_logging() -> None:
    """Job events as JSON lines on stderr (observability/logs.py JsonFormatter): start, end, rows, status, run_id,
    trace_id.

    With a log file (--log-file, ROCKWAY_LOG_FILE; observability/logs.py configure_logging attached it to
    `rockway`) the JSON lines go to that file only: job records propagate to `rockway`, whose stderr handler
    shows each message once, for people (text) or not at all (json).
    """
    from rockway.observability.logs import JsonFormatter

    logger = logging.getLogger("rockway.jobs")
    if any(isinstance(h, logging.FileHandler) for h in logging.getLogger("rockway").handlers):
        for handler in [h for h in logger.handlers if getattr(h, "_rockway_jobs", False)]:
            logger.removeHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = True
        return
    if not any(getattr(h, "_rockway_jobs", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        handler._rockway_jobs = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def _factory(path: str, what: str) -> Any:
    module, _, attr = path.partition(":")
    if not module or not attr:
        raise click.UsageError(f"{what} = {path!r}: write it as module:callable")
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"{what} = {path!r} cannot be imported: {exc}") from None


def _verify_settings(settings: Any) -> Any:
    from rockway.verify import load_verify_settings

    return load_verify_settings(settings.project_dir, settings.env)


def build_verifier(settings: Any, jobs: Any) -> Any:
    """The Verifier the runner calls: [jobs] verifier = "module:factory" (called with Settings), else
    rockway.verify's CheckRunner (checks referenced by file, `file#name` or name)."""
    if jobs.verifier:
        return _factory(jobs.verifier, "verifier")(settings)
    try:
        from rockway.verify import CheckRunner
    except ImportError:
        return None
    return CheckRunner.from_settings(settings, _verify_settings(settings))


def build_notifier(settings: Any, jobs: Any) -> Any:
    """The Notifier of the pipeline summary: [jobs] notifier = "module:factory", else rockway.verify's
    RockwayNotifier with the [verify.notify] routes."""
    if jobs.notifier:
        return _factory(jobs.notifier, "notifier")(settings)
    try:
        from rockway.verify.notify import RockwayNotifier
    except ImportError:
        return None
    return RockwayNotifier(_verify_settings(settings).notify)


def parse_as_of(value: str | None) -> datetime | None:
    """--as-of as naive UTC (an offset is converted; a naive value is taken as UTC)."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO date/time, e.g. 2026-03-02T05:00:00Z",
                                 param_hint="--as-of") from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(timezone.utc).replace(tzinfo=None)
    return parsed


def progress_echo(job: str, message: str) -> None:
    click.echo(f"{job}: {message}", err=True)


AS_OF = click.option("--as-of", "as_of", metavar="TIME",
                     help="Reference time for window ends (UTC ISO, default now): datetime windows end at it minus "
                          "[jobs] settle, date windows at the previous day.")
