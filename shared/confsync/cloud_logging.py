"""Structured JSON logs for Cloud Logging, one object per line on stdout.

Only entry points call :func:`setup_logging`; library modules log through
``logging.getLogger(__name__)``. A record's ``extra={"labels": {...}}`` becomes the entry's
``logging.googleapis.com/labels`` (indexed, filterable); other ``extra`` keys are kept as
structured fields (``jsonPayload``). Never pass e-mail addresses, tokens or secrets: calendars are
named by their opaque key.

Reference: https://cloud.google.com/logging/docs/structured-logging
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

__all__ = ["CloudLoggingFormatter", "setup_logging"]

_STANDARD = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys() | {"message", "asctime"}
)
_LABELS = "logging.googleapis.com/labels"


class CloudLoggingFormatter(logging.Formatter):
    """Formats a record as a Cloud Logging structured entry."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "severity": record.levelname,
            "message": record.getMessage(),
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "logger": record.name,
        }
        if record.exc_info:
            entry["message"] += "\n" + self.formatException(record.exc_info)
        for key, value in record.__dict__.items():
            if key in _STANDARD or key.startswith("_"):
                continue
            if key == "labels" and isinstance(value, dict):
                entry[_LABELS] = {str(k): str(v) for k, v in value.items()}
            else:
                entry[key] = value
        return json.dumps(entry, default=str, separators=(",", ":"))


def setup_logging(level: str = "INFO", stream: TextIO | None = None) -> None:
    """Send every log record to ``stream`` (stdout) as JSON, at ``level`` and above."""
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(CloudLoggingFormatter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("urllib3", "googleapiclient.discovery_cache", "google.auth"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
