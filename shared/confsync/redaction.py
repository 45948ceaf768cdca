"""Scrubbing of what must never reach a log line: e-mail addresses, Calendar sync and page tokens,
and Google API URLs (which carry the calendar id, often an e-mail address, and the tokens).

Pure text functions, applied by :class:`~confsync.cloud_logging.CloudLoggingFormatter` to every
entry's message, structured fields and exception traceback, so a leak at a call site (or in a
library's exception text, such as ``googleapiclient``'s ``HttpError``, which quotes the request
URI) is caught before it is written. Call sites still must not log these: calendars are named by
their opaque key. The patterns are deliberately broad; a false positive only hides a word.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

__all__ = [
    "CALENDAR_PATH",
    "EMAIL",
    "GOOGLE_API_URL",
    "SERVICE_ACCOUNT_DOMAIN",
    "TOKEN_FIELD",
    "redact",
    "redact_value",
]

EMAIL: Final = re.compile(
    r"[A-Za-z0-9._%+-]+(?:@|%40|%2540)[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+",
    re.IGNORECASE,
)
"""An e-mail address, plain or percent-encoded (``%40``) as in a Calendar URL's path."""

SERVICE_ACCOUNT_DOMAIN: Final = ".gserviceaccount.com"
"""Addresses under this domain name the deployment's service accounts, not users: they are kept,
so an error can say which account lacks a role."""

GOOGLE_API_URL: Final = re.compile(
    r"(?P<origin>https?://[A-Za-z0-9.-]*googleapis\.com(?::\d+)?)[^\s\"'<>]*", re.IGNORECASE
)
"""A Google API URL: its path and query (calendar id, tokens) are dropped, its origin kept."""

CALENDAR_PATH: Final = re.compile(r"(?P<prefix>/calendar/v3/)[^\s\"'<>]*", re.IGNORECASE)
"""The path of a Calendar API request on any host (an emulator's too): it names the calendar."""

TOKEN_FIELD: Final = re.compile(
    r"(?P<name>(?:next)?(?:sync|page)[_ ]?token)(?P<sep>[\"']?\s*(?:=|:)\s*[\"']?)"
    r"(?P<value>[^\s&\"',;)}\]]+)",
    re.IGNORECASE,
)
"""A sync or page token given by name: ``syncToken=...`` (query), ``"nextSyncToken": "..."``
(JSON or a repr), ``sync_token=...`` (a dataclass repr)."""

_TOKEN_KEY: Final = re.compile(r"(?:next)?(?:sync|page)_?token", re.IGNORECASE)
EMAIL_MARK: Final = "<email>"
TOKEN_MARK: Final = "<redacted>"  # noqa: S105 - the mark put in place of a token
_MAX_DEPTH: Final = 8  # of nested structured fields scrubbed; deeper ones are replaced whole


def redact(text: str) -> str:
    """``text`` without e-mail addresses (but service accounts'), named sync or page tokens and
    Google API URL paths."""
    text = GOOGLE_API_URL.sub(lambda m: f"{m.group('origin')}/{TOKEN_MARK}", text)
    text = CALENDAR_PATH.sub(lambda m: f"{m.group('prefix')}{TOKEN_MARK}", text)
    text = TOKEN_FIELD.sub(lambda m: f"{m.group('name')}{m.group('sep')}{TOKEN_MARK}", text)
    return EMAIL.sub(_email_mark, text)


def _email_mark(match: re.Match[str]) -> str:
    address = match.group(0)
    return address if address.lower().endswith(SERVICE_ACCOUNT_DOMAIN) else EMAIL_MARK


def redact_value(value: Any, depth: int = 0) -> Any:
    """A structured log field with every string in it (keys included) redacted, and the value of
    a key naming a sync or page token replaced; other scalars as they are, anything else as its
    redacted text."""
    if depth > _MAX_DEPTH:
        return TOKEN_MARK
    if isinstance(value, str):
        return redact(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, Mapping):
        return {
            redact(str(k)): TOKEN_MARK
            if _TOKEN_KEY.fullmatch(str(k)) and v is not None
            else redact_value(v, depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [redact_value(item, depth + 1) for item in value]
    return redact(str(value))
