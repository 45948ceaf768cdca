"""Request signatures of the conferencing contract (standard library only).

A signed request carries two headers::

    X-Confsync-Timestamp: <unix seconds>
    X-Confsync-Signature: v1=<lowercase hex HMAC-SHA256(secret, b"<timestamp>." + raw body)>

The receiver recomputes the HMAC over the exact body bytes it received, compares in constant time
and refuses timestamps more than ``TOLERANCE_SECONDS`` away from its clock. The signature header
may hold several comma-separated ``v1=`` values (a sender rotating secrets); one match suffices.
The query string is not signed; a request without a body (GET, DELETE) signs the empty body.

This is the one implementation of the scheme: confsync's conferencing adapter signs with it and the
local emulator (``conferencing_emulator.signing`` re-exports it) verifies with it. The deployed
functions bundle only the ``confsync`` package, so keep this module free of third-party
dependencies.
"""

from __future__ import annotations

import hashlib
import hmac
import time

__all__ = [
    "SCHEME",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "TOLERANCE_SECONDS",
    "sign",
    "signed_headers",
    "verify",
]

SIGNATURE_HEADER = "X-Confsync-Signature"
TIMESTAMP_HEADER = "X-Confsync-Timestamp"
SCHEME = "v1"
TOLERANCE_SECONDS = 300


def _digest(secret: bytes, timestamp: int, body: bytes) -> str:
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """The ``X-Confsync-Signature`` value for ``body`` sent at ``timestamp`` (unix seconds)."""
    return f"{SCHEME}={_digest(secret, timestamp, body)}"


def signed_headers(secret: bytes, body: bytes, now: float | None = None) -> dict[str, str]:
    """Both headers for sending ``body`` now (or at ``now``, unix seconds)."""
    timestamp = int(time.time() if now is None else now)
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: sign(secret, timestamp, body)}


def _parse_timestamp(value: str | int | None) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 12:
        return int(value)
    return None


def verify(
    secret: bytes,
    timestamp: str | int | None,
    signature: str | None,
    body: bytes,
    *,
    now: float | None = None,
    tolerance_seconds: int = TOLERANCE_SECONDS,
) -> bool:
    """Whether ``signature`` (the header value) is valid for ``body`` at ``timestamp``.

    ``timestamp`` is the ``X-Confsync-Timestamp`` header value (decimal unix seconds). False when
    either header is missing or malformed, the timestamp is more than ``tolerance_seconds`` away
    from ``now`` (default: the current time), or no ``v1=`` value matches.
    """
    parsed = _parse_timestamp(timestamp)
    if parsed is None or not signature:
        return False
    current = time.time() if now is None else now
    if abs(current - parsed) > tolerance_seconds:
        return False
    expected = _digest(secret, parsed, body)
    matched = False
    for part in signature.split(","):
        scheme, sep, value = part.strip().partition("=")
        if sep and scheme == SCHEME:
            # Compare every candidate so the time taken does not depend on which one matches.
            matched |= hmac.compare_digest(value.encode(), expected.encode())
    return matched
