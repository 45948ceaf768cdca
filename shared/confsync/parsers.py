"""Parsers of configuration text: each returns the value or raises ValueError saying what is
wrong (never repeating the text: the caller decides whether it may be shown).

:class:`Number`, :class:`Choice` and :class:`Subset` carry their allowed range or choices, so the
README and the Terraform checks can read them from the declarations in :mod:`confsync.settings`.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

__all__ = [
    "Choice",
    "Number",
    "Subset",
    "aes_key",
    "aes_keys",
    "api_url",
    "boolean",
    "calendar_url",
    "host_names",
    "http_url",
    "names",
    "optional",
    "scheduler_job",
    "text",
]


@dataclass(frozen=True, slots=True)
class Number:
    """A number from ``low`` to ``high`` (more than ``low`` when ``low_open``); whole or not."""

    low: int
    high: int
    whole: bool = True
    low_open: bool = False

    def __call__(self, text: str) -> int | float:
        value: int | float = int(text) if self.whole else float(text)
        if self.low_open and not self.low < value <= self.high:
            raise ValueError(f"must be more than {self.low} and at most {self.high}")
        if not self.low_open and not self.low <= value <= self.high:
            raise ValueError(f"must be between {self.low} and {self.high}")
        return value

    @property
    def allowed(self) -> str:
        if self.low_open:
            return f"more than {self.low}, at most {self.high}"
        return f"{self.low} to {self.high}" + ("" if self.whole else ", fractions too")


@dataclass(frozen=True, slots=True)
class Choice:
    """One of ``options`` (compared in upper case when ``upper``)."""

    options: tuple[str, ...]
    upper: bool = False

    def __call__(self, text: str) -> str:
        value = text.upper() if self.upper else text
        if value not in self.options:
            raise ValueError(f"must be one of {', '.join(self.options)}")
        return value

    @property
    def allowed(self) -> str:
        return ", ".join(f"`{option}`" for option in self.options)


def names(text: str) -> frozenset[str]:
    return frozenset(part.strip() for part in text.split(",") if part.strip())


_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST_NAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")


def host_names(text: str) -> frozenset[str]:
    """Comma-separated DNS host names (no scheme, port, path or wildcard), in lower case and
    without a trailing dot; the empty text is the empty set."""
    hosts = frozenset(part.lower().rstrip(".") for part in names(text))
    if not all(len(host) <= 253 and _HOST_NAME.fullmatch(host) for host in hosts):
        raise ValueError("must be comma-separated host names (letters, digits, - and .)")
    return hosts


@dataclass(frozen=True, slots=True)
class Subset:
    """A comma-separated list of some of ``options``."""

    options: tuple[str, ...]

    def __call__(self, text: str) -> frozenset[str]:
        chosen = names(text)
        unknown = sorted(chosen - set(self.options))
        if unknown:
            raise ValueError(f"unknown field(s) {', '.join(unknown)}")
        return chosen

    @property
    def allowed(self) -> str:
        return "any of " + ", ".join(f"`{option}`" for option in self.options)


def text(value: str) -> str:
    """Any text (the reader has stripped it; an empty one means the default)."""
    return value


def optional(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """``parse``, but the empty text (an empty default) means None."""

    def optional(text: str) -> Any:
        return parse(text) if text else None

    return optional


def boolean(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise ValueError("must be true or false")


def http_url(text: str) -> str:
    parsed = urlparse(text)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError("must be an http:// or https:// URL")
    return text.rstrip("/")


def calendar_url(text: str) -> str:
    http_url(text)
    if not text.endswith("/calendar/v3/"):
        raise ValueError("must end with /calendar/v3/ (the client drops the path otherwise)")
    return text


def api_url(text: str) -> str:
    http_url(text)
    return text if text.endswith("/") else text + "/"


def aes_key(text: str) -> bytes:
    try:
        key = base64.b64decode(text, validate=True)
    except binascii.Error as err:
        raise ValueError("must be base64") from err
    if len(key) != 32:
        raise ValueError(f"must decode to 32 bytes (AES-256), not {len(key)}")
    return key


def aes_keys(text: str) -> tuple[bytes, ...]:
    """Comma-separated keys, each one an :func:`aes_key`, distinct; the first is the active one."""
    entries = [entry.strip() for entry in text.split(",")]
    keys: list[bytes] = []
    for number, entry in enumerate(entries, start=1):
        try:
            key = aes_key(entry)
        except ValueError as err:
            where = f"key {number}: " if len(entries) > 1 else ""
            raise ValueError(f"{where}{err}") from None
        if key in keys:
            raise ValueError(f"key {number} repeats an earlier key")
        keys.append(key)
    return tuple(keys)


def scheduler_job(text: str) -> str:
    parts = text.split("/")
    if len(parts) != 6 or parts[0::2] != ["projects", "locations", "jobs"] or not all(parts):
        raise ValueError("must be projects/PROJECT/locations/LOCATION/jobs/JOB")
    return text
