"""The log-leak probe: every test fails when a log line it caused carries an e-mail address, a
Calendar sync or page token, or a Calendar request URL (see ``confsync.redaction``).

:func:`no_secrets_in_logs` (autouse, imported by ``tests/conftest.py``) looks at every record of
every logger down to DEBUG, without changing what the test sees: the root logger is set to the
probe level (1) so DEBUG records are made, and ``Logger.callHandlers`` is wrapped so that handlers
(``caplog`` among them) only receive the records they would have received without the probe.

A record passes when its message and ``extra`` fields hold none of the :data:`LEAKS` patterns
(call sites must name a calendar by its opaque key), and its Cloud Logging entry, as
``CloudLoggingFormatter`` writes it (traceback included, redacted), holds none either. Records of
the libraries :func:`~confsync.cloud_logging.setup_logging` holds at WARNING
(:data:`~confsync.cloud_logging.QUIET_LOGGERS`) are looked at only from WARNING on, as in
production; those of the local stand-ins for Google and the conferencing system
(:data:`STAND_INS`, never deployed) not at all: their request logs name calendars by design.
A test that logs such a value on purpose (a test of the redaction itself) opts out with
``@pytest.mark.logs_secrets``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

import pytest

from confsync.cloud_logging import QUIET_LOGGERS, CloudLoggingFormatter
from confsync.redaction import SERVICE_ACCOUNT_DOMAIN

__all__ = [
    "ALLOW_MARKER",
    "LEAKS",
    "PROBE_LEVEL",
    "STAND_INS",
    "leaks_in",
    "no_secrets_in_logs",
    "probing",
]

ALLOW_MARKER: Final = "logs_secrets"
PROBE_LEVEL: Final = 1
"""The root logger's level during a test: below DEBUG, and a value no test sets."""

LEAKS: Final = {
    "e-mail address": re.compile(r"[\w.+-]+(?:@|%40)[\w-]+\.[\w.-]*[A-Za-z]", re.ASCII),
    "named sync or page token": re.compile(
        r"(?:sync|page)_?token[\"']?\s*[=:]\s*[\"']?(?!<redacted>|None\b|[\"'{\[])[^\s\"'&,)}]",
        re.IGNORECASE,
    ),
    "Calendar emulator token or JWT": re.compile(r"\beyJ[A-Za-z0-9_-]{16,}"),
    "Calendar request URL": re.compile(
        r"(?:https?://[A-Za-z0-9.-]*googleapis\.com(?::\d+)?|/calendar/v3)/(?!<redacted>)[^\s\"'<>]",
        re.IGNORECASE,
    ),
}
"""What no log line may hold, by name."""

STAND_INS: Final = (
    "calendar_emulator",
    "conferencing_emulator",
    "google_auth_emulator",
    "emulator_kit",
    "devstack",
    "werkzeug",
    "gcal_sync",
)
"""Loggers of tools/emulators and tools/devstack: test infrastructure, not confsync's output;
``werkzeug`` is the access log of the emulators the tests serve in-process (a function's own
request lines are written by its server process, never in a test's), and ``gcal_sync`` the
third-party Calendar client whose conformance run checks the Calendar emulator (a dev dependency,
in no function)."""

_STANDARD: Final = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys() | {"message", "asctime"}
)
_FORMATTER: Final = CloudLoggingFormatter()


def leaks_in(text: str) -> list[str]:
    """The names of the :data:`LEAKS` patterns found in ``text``, each with what matched (a service
    account's address is no leak: it names the deployment, not a user)."""
    return [
        f"{name}: {found!r}"
        for name, pattern in LEAKS.items()
        for found in dict.fromkeys(m.group(0) for m in pattern.finditer(text))
        if not found.lower().endswith(SERVICE_ACCOUNT_DOMAIN)
    ]


def _under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


def _record_leaks(record: logging.LogRecord) -> list[str]:
    if _under(record.name, STAND_INS) or (
        record.levelno < logging.WARNING and _under(record.name, QUIET_LOGGERS)
    ):
        return []
    try:
        texts = [record.getMessage()]
    except Exception:  # a broken record is logging's problem (it reports it), not a leak
        return []
    texts += [f"{key}={value!r}" for key, value in vars(record).items() if key not in _STANDARD]
    texts.append(_FORMATTER.format(record))
    return [f"{record.name} {record.levelname}: {leak}" for t in texts for leak in leaks_in(t)]


def _threshold(logger: logging.Logger, saved_root: int) -> int:
    """The level ``logger`` would have without the probe (the root's saved level in its place)."""
    current: logging.Logger | None = logger
    while current is not None:
        if current.level:
            if current is logging.root and current.level == PROBE_LEVEL:
                return saved_root
            return current.level
        current = current.parent
    return saved_root


@contextmanager
def probing() -> Iterator[list[str]]:
    """Within the block, every record down to DEBUG is looked at; the list yielded fills with the
    leaks found. Handlers receive exactly the records they would without the probe."""
    root = logging.getLogger()
    saved_root = root.level
    found: list[str] = []
    call_handlers = logging.Logger.callHandlers

    def probed(self: logging.Logger, record: logging.LogRecord) -> None:
        found.extend(_record_leaks(record))
        if record.levelno >= _threshold(self, saved_root):
            call_handlers(self, record)

    logging.Logger.callHandlers = probed  # type: ignore[method-assign]
    root.setLevel(PROBE_LEVEL)
    try:
        yield found
    finally:
        logging.Logger.callHandlers = call_handlers  # type: ignore[method-assign]
        if root.level == PROBE_LEVEL:
            root.setLevel(saved_root)


@pytest.fixture(autouse=True)
def no_secrets_in_logs(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail the test when a log record it caused leaks what :data:`LEAKS` names."""
    if request.node.get_closest_marker(ALLOW_MARKER) is not None:
        yield
        return
    with probing() as found:
        yield
    if found:
        shown = "\n  ".join(dict.fromkeys(found))
        pytest.fail(f"log lines leak secrets (see tests/support/log_leaks.py):\n  {shown}")
