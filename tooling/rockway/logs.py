"""JSON-lines log formatting with run and trace correlation (OpenTelemetry API only)."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from typing import Any

from rockway.telemetry import current_run_id, current_span_id, current_trace_id, error_type, redact_exception

# Attributes every LogRecord has; anything else on a record came from `extra=` and is emitted.
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """One JSON object per record: timestamp, level, logger, message, run_id, trace_id, span_id.

    `extra=` fields are added as they are (non-JSON values as text). An attached exception is
    reported as `error.type` and a redacted `error.message`, never with its raw text.
    """

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, tz=timezone.utc)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "run_id": getattr(record, "run_id", None) or current_run_id(),
            "trace_id": current_trace_id(),
            "span_id": current_span_id(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and key not in doc:
                doc[key] = value
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            doc["error.type"] = error_type(exc)
            doc["error.message"] = redact_exception(exc)
        return json.dumps(doc, default=str, ensure_ascii=False)
