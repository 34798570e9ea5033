"""Log formatting with run and trace correlation (OpenTelemetry API only): JSON lines, and text for people."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from typing import Any

from rockway.observability.telemetry import current_run_id, current_span_id, current_trace_id, error_type, redact_exception, redact_secrets

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
