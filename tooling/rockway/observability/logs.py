"""Logs for people and machines, with run and trace correlation (OpenTelemetry API only).

`configure_logging`: the `rockway` logger writes text lines (warnings and errors) or JSON lines (from INFO)
to stderr, chosen by `--log-format` or ROCKWAY_LOG_FORMAT; ROCKWAY_LOG_FILE / `--log-file` appends JSON
lines to a file as well; ROCKWAY_LOG_LEVEL overrides the level. Never stdout: that is where `--json`
results go. The OTLP log handler is the SDK set-up's (observability/sdk.py).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import datetime, timezone
from typing import Any, TextIO

from rockway.observability.redaction import error_type, redact_exception, redact_secrets
from rockway.observability.spans import LOGGER_NAME, current_run_id, current_span_id, current_trace_id

LOG_FORMATS = ("text", "json")

_log = logging.getLogger("rockway.telemetry")

# Attributes every LogRecord has; anything else on a record came from `extra=` and is emitted.
STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """One JSON object per record: timestamp, level, logger, message, run_id, trace_id, span_id.

    `extra=` fields are added as they are (non-JSON values as text), text with secrets masked like the
    message. An attached exception is reported as `error.type` and a redacted `error.message`, never
    with its raw text.
    """

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, tz=timezone.utc)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact_secrets(record.getMessage()),
            "run_id": getattr(record, "run_id", None) or current_run_id(),
            "trace_id": current_trace_id(),
            "span_id": current_span_id(),
        }
        for key, value in vars(record).items():
            if key not in STANDARD_ATTRS and key not in doc:
                doc[key] = redact_secrets(value) if isinstance(value, str) else value
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            doc["error.type"] = error_type(exc)
            doc["error.message"] = redact_exception(exc)
        return json.dumps(doc, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """`HH:MM:SS LEVEL logger: message`, plus the run id when one is bound; exceptions redacted.

    The standard formatter would print the exception's text and a traceback with source lines,
    either of which can hold a literal from SQL; here an exception is its error.type and a
    redacted message.
    """

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        saved = record.exc_info, record.exc_text
        record.exc_info, record.exc_text = None, None
        try:
            text = redact_secrets(super().format(record))
        finally:
            record.exc_info, record.exc_text = saved
        exc = saved[0][1] if saved[0] else None
        if exc is not None:
            text += f" [{error_type(exc)}: {redact_exception(exc)}]"
        run_id = getattr(record, "run_id", None) or current_run_id()
        return f"{text} (run {run_id})" if run_id else text


def env_setting(name: str) -> str | None:
    """The environment variable `name`, stripped; None when unset or blank."""
    value = os.environ.get(name, "").strip()
    return value or None


def _level(name: str | None, default: int) -> int:
    if not name:
        return default
    level = logging.getLevelName(name.strip().upper())
    if isinstance(level, int):
        return level
    _log.warning("ROCKWAY_LOG_LEVEL=%r is not a log level; using %s", name, logging.getLevelName(default))
    return default


_LIFECYCLE_EVENTS = frozenset({"run_start", "run_end", "migration_start", "migration_end"})


def _not_lifecycle(record: logging.LogRecord) -> bool:
    """False for the run/migration start and end lines (machine-facing: JSON, file, OTLP)."""
    return getattr(record, "event", None) not in _LIFECYCLE_EVENTS


def configure_logging(log_format: str | None = None, log_file: str | None = None, *,
                      stream: TextIO | None = None) -> list[logging.Handler]:
    """Attach the CLI's handlers to the `rockway` logger; return them (close them at exit).

    log_format (else ROCKWAY_LOG_FORMAT, else text): `text` writes WARNING and above for people,
    `json` writes JSON lines from INFO, both to stream (default stderr); text leaves out the run and
    migration start/end lines, which people see as progress output already. log_file (else
    ROCKWAY_LOG_FILE) also receives JSON lines from INFO; with `json` and a file, stderr stays quiet.
    ROCKWAY_LOG_LEVEL overrides both levels. A file that cannot be opened is reported, never fatal.
    """
    fmt = (log_format or env_setting("ROCKWAY_LOG_FORMAT") or "text").strip().lower()
    if fmt not in LOG_FORMATS:
        _log.warning("log format %r is not one of %s; using text", fmt, ", ".join(LOG_FORMATS))
        fmt = "text"
    path = log_file or env_setting("ROCKWAY_LOG_FILE")
    override = env_setting("ROCKWAY_LOG_LEVEL")
    logger = logging.getLogger(LOGGER_NAME)
    handlers: list[logging.Handler] = []
    if path:
        try:
            file_handler = logging.FileHandler(path, mode="a", encoding="utf-8")
        except OSError as exc:
            _log.warning("cannot write the log file %s (%s); logging to stderr instead", path, exc.strerror or exc)
            path = None
        else:
            file_handler.setFormatter(JsonFormatter())
            file_handler.setLevel(_level(override, logging.INFO))
            handlers.append(file_handler)
    if not (path and fmt == "json"):
        stream_handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
        stream_handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
        stream_handler.setLevel(_level(override, logging.INFO if fmt == "json" else logging.WARNING))
        if fmt == "text" and not override:
            stream_handler.addFilter(_not_lifecycle)  # people already see progress and the error message
        handlers.append(stream_handler)
    for handler in handlers:
        logger.addHandler(handler)
    lowest = min(h.level for h in handlers)
    if logger.level == logging.NOTSET or logger.level > lowest:
        logger.setLevel(lowest)
    return handlers


def close_logging(handlers: list[logging.Handler]) -> None:
    """Detach and close handlers from `configure_logging`."""
    logger = logging.getLogger(LOGGER_NAME)
    for handler in handlers:
        logger.removeHandler(handler)
        try:
            handler.close()
        except Exception:  # noqa: BLE001 - closing a log file never fails the run
            pass


def configure_json_logging(stream: TextIO | None = None, level: int = logging.INFO) -> logging.Handler:
    """Write `rockway.*` log records to stream (default stderr) as JSON lines; return the handler."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.setLevel(level)
    logger = logging.getLogger(LOGGER_NAME)
    logger.addHandler(handler)
    if logger.level == logging.NOTSET or logger.level > level:
        logger.setLevel(level)
    return handler
