"""What production configuration must not hold: plain-HTTP endpoints and weak secrets, pure.

:mod:`confsync.config` applies these to every function's settings unless the configuration is
explicitly local (``CONFSYNC_CALENDAR_CREDENTIALS=emulator``; intake, which reads no credential
mode, always). Each check answers a problem naming its variable, never the secret's value, or
None; the loaders collect the problems and fail fast with one
:class:`~confsync.errors.ConfigurationError`.

- a URL must be ``https://``; ``http://`` only to a loopback host (``localhost``,
  ``127.0.0.0/8``, ``::1``): a stand-in on the same machine;
- a secret must hold at least :data:`MIN_SECRET_BYTES` bytes (HMAC keys: as long as the
  SHA-256 output, so guessing the key is no easier than forging a signature).
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

__all__ = [
    "LOCAL_MODE",
    "MIN_SECRET_BYTES",
    "is_loopback",
    "require_https",
    "require_secret_strength",
]

MIN_SECRET_BYTES = 32
LOCAL_MODE = "emulator"
"""The ``CONFSYNC_CALENDAR_CREDENTIALS`` value that marks a local stack (no check applies)."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a URL's host name, brackets removed) is this machine."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def require_https(variable: str, url: str | None) -> str | None:
    """A problem when ``url`` is plain HTTP to another machine than this one (None: fine)."""
    if url is None:
        return None
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:  # not a URL at all (the variable's parser reports it too)
        parts, host = None, ""
    if parts is not None and (parts.scheme == "https" or is_loopback(host)):
        return None
    return f"{variable} must be an https:// URL (http:// only to localhost, 127.0.0.0/8 or ::1)"


def require_secret_strength(variable: str, value: bytes | str | None) -> str | None:
    """A problem when the secret ``value`` is missing or shorter than :data:`MIN_SECRET_BYTES`
    bytes; never shows the value."""
    if not value:
        return f"{variable} is required unless CONFSYNC_CALENDAR_CREDENTIALS={LOCAL_MODE}"
    length = len(value.encode() if isinstance(value, str) else value)
    if length < MIN_SECRET_BYTES:
        return f"{variable} must hold at least {MIN_SECRET_BYTES} bytes, not {length}"
    return None
