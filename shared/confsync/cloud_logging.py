"""Structured JSON logs for Cloud Logging, one object per line on stdout.

Only entry points call :func:`setup_logging`. Logger names follow one rule:

- a module of ``confsync`` logs through ``logging.getLogger(__name__)`` (held in ``_LOGGER``);
- except where the name is part of the monitoring contract, declared once here and used through
  the constant: :data:`SYNC_LOGGER` (every line of the sync, its summary among them) and
  :data:`CHANNELS_LOGGER` (every line of the channel commands, their report among them). The
  log-based metrics (terraform/monitoring.tf) read fields of those lines, and their tests
  (tests/terraform/test_monitoring.py, tests/unit/test_sync_summary_metric_contract.py) select the
  lines by these names: never rename them;
- an entry point (``functions/*/main.py``, whose ``__name__`` is ``main``) logs through
  :func:`function_logger`: ``confsync.functions.<function>``.

Every name starts with ``confsync``, which :func:`setup_logging` relies on to keep them enabled.
tests/unit/test_logger_names.py checks the rule.

A record's ``extra={"labels": {...}}`` becomes the entry's ``logging.googleapis.com/labels``
(indexed, filterable); other ``extra`` keys are kept as structured fields (``jsonPayload``). Never
pass e-mail addresses, tokens or secrets: calendars are named by their opaque key. As a second
line of defence, the formatter scrubs every entry (message, labels, fields and the exception's
traceback, where ``googleapiclient``'s ``HttpError`` quotes the request URI) with
:func:`confsync.redaction.redact`: e-mail addresses, named sync and page tokens and the path and
query of Google API URLs never reach the log. :func:`setup_logging` also keeps the
:data:`QUIET_LOGGERS` (``googleapiclient.discovery`` logs every request URL at DEBUG, the Firestore
client every request) at WARNING.

Each entry of a request carries its trace and execution id, so Logs Explorer groups a request's
lines: entry points wrap their work in :func:`traced`, which adds
``logging.googleapis.com/trace`` from the request's ``X-Cloud-Trace-Context`` (or W3C
``traceparent``) header. The execution id label and span id are added by functions-framework
(``LOG_EXECUTION_ID=true``, set by Terraform), which swaps ``sys.stdout`` for a wrapper during each
request: the handler therefore writes to whatever ``sys.stdout`` is at the time of the record,
never to the stream that was current when logging was set up.

Reference: https://cloud.google.com/logging/docs/structured-logging
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Final, TextIO

from confsync.redaction import redact, redact_value

__all__ = [
    "CHANNELS_LOGGER",
    "QUIET_LOGGERS",
    "SYNC_LOGGER",
    "CloudLoggingFormatter",
    "function_logger",
    "setup_logging",
    "trace_of",
    "traced",
]

SYNC_LOGGER: Final = "confsync.sync"
"""The logger of every part of the sync: the metrics read its summary line (monitoring contract)."""

CHANNELS_LOGGER: Final = "confsync.channels"
"""The logger of every channel command: the metrics read its report line (monitoring contract)."""

_FUNCTION_LOGGERS: Final = "confsync.functions"

QUIET_LOGGERS: Final = (
    "urllib3",
    "googleapiclient",
    "google",
    "google_auth_httplib2",
    "grpc",
)
"""Libraries' loggers held at WARNING or above whatever the level: below it they log request URLs
(``googleapiclient.discovery``: calendar ids, sync tokens), request payloads (the Firestore
client's gRPC transport: calendar documents with their subject and sync token) and token
refreshes (``google.auth``)."""

_STANDARD = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys() | {"message", "asctime"}
)
_LABELS = "logging.googleapis.com/labels"
_TRACE_FIELD = "logging.googleapis.com/trace"
_TRACE: ContextVar[str | None] = ContextVar("confsync_trace", default=None)
_CLOUD_TRACE = re.compile(r"^([0-9a-fA-F]{32})(?:/\d+)?(?:;o=[01])?\Z")
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}\Z")


def trace_of(project: str, headers: Mapping[str, str]) -> str | None:
    """The Cloud Logging trace name of a request (``projects/P/traces/ID``), or None when its
    headers carry no well-formed trace context (a malformed header is ignored, never an error)."""
    lowered = {name.lower(): value.strip() for name, value in headers.items()}
    for header, pattern in (("x-cloud-trace-context", _CLOUD_TRACE), ("traceparent", _TRACEPARENT)):
        match = pattern.match(lowered.get(header, ""))
        if match and match.group(1).strip("0"):
            return f"projects/{project}/traces/{match.group(1).lower()}"
    return None


@contextmanager
def traced(project: str, headers: Mapping[str, str]) -> Iterator[None]:
    """Within the block, every entry carries the request's trace (if its headers have one)."""
    token = _TRACE.set(trace_of(project, headers))
    try:
        yield
    finally:
        _TRACE.reset(token)


def function_logger(function: str) -> logging.Logger:
    """The logger of an entry point: ``confsync.functions.<function>``."""
    return logging.getLogger(f"{_FUNCTION_LOGGERS}.{function}")


class CloudLoggingFormatter(logging.Formatter):
    """Formats a record as a Cloud Logging structured entry."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "severity": record.levelname,
            "message": record.getMessage(),
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "logger": record.name,
        }
        trace = _TRACE.get()
        if trace is not None:
            entry[_TRACE_FIELD] = trace
        if record.exc_info:
            entry["message"] += "\n" + self.formatException(record.exc_info)
        elif record.exc_text:
            entry["message"] += "\n" + record.exc_text
        entry["message"] = redact(entry["message"])
        for key, value in record.__dict__.items():
            if key in _STANDARD or key.startswith("_"):
                continue
            if key == "labels" and isinstance(value, dict):
                entry[_LABELS] = {redact(str(k)): redact(str(v)) for k, v in value.items()}
            else:
                entry[redact(key)] = redact_value(value)
        return json.dumps(entry, default=str, separators=(",", ":"))


class _CurrentStdoutHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler writing to the current ``sys.stdout`` (see the module docstring)."""

    @property
    def stream(self) -> TextIO:
        return sys.stdout

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        """Ignored: the stream is always the current ``sys.stdout``."""


def setup_logging(level: str = "INFO", stream: TextIO | None = None) -> None:
    """Send every log record to ``stream`` (default: the current stdout) as JSON, at ``level``
    and above."""
    handler: logging.Handler = (
        logging.StreamHandler(stream) if stream is not None else _CurrentStdoutHandler()
    )
    handler.setFormatter(CloudLoggingFormatter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    # functions-framework's LOG_EXECUTION_ID setup runs dictConfig, which disables every logger
    # that exists by then; confsync's own must keep logging whatever the import order.
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if name.startswith("confsync") and isinstance(logger, logging.Logger):
            logger.disabled = False
    for noisy in QUIET_LOGGERS:
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
