"""Request signatures of the conferencing contract (standard library only).

A signed request carries two headers::

    X-Confsync-Timestamp: <unix seconds>
    X-Confsync-Signature: v1=<lowercase hex HMAC-SHA256(secret, message)>

where ``message`` is the bytes::

    b"<timestamp>\\n<METHOD>\\n<request target>\\n" + raw body

``<METHOD>`` is the HTTP method in upper case and ``<request target>`` is the origin-form request
target exactly as sent on the wire: the path, plus ``?`` and the raw query string when there is
one, percent-encoding as sent and never normalised (``/v1/conferences/a%2Fb?revision=5``). It must
be printable ASCII without spaces and start with ``/``, as HTTP requires. A request without a body
(GET, DELETE) signs the empty body. Signing the method and target binds a signature to one
operation on one resource: a captured ``DELETE /v1/conferences/A?revision=5`` cannot be replayed
with another revision, against another conference or as another method.

The receiver recomputes the HMAC from the method, the raw request target and the exact body bytes it
received, compares in constant time and refuses timestamps more than ``TOLERANCE_SECONDS`` away from
its clock. The signature header may hold several comma-separated ``v1=`` values (a sender rotating
secrets); one match suffices.

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

# RFC 9110 token characters: what an HTTP method may consist of.
_TOKEN_CHARS = frozenset(
    "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)


def _valid_method(method: object) -> bool:
    return isinstance(method, str) and bool(method) and all(c in _TOKEN_CHARS for c in method)


def _valid_target(target: object) -> bool:
    # Origin form: starts with "/", visible ASCII only (no spaces, controls or line breaks), so the
    # newline separators of the message stay unambiguous.
    return (
        isinstance(target, str)
        and target.startswith("/")
        and target.isascii()
        and all("!" <= c <= "~" for c in target)
    )


def _digest(secret: bytes, timestamp: int, method: str, target: str, body: bytes) -> str:
    message = f"{timestamp}\n{method.upper()}\n{target}\n".encode() + body
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def sign(secret: bytes, timestamp: int, body: bytes, *, method: str, target: str) -> str:
    """The ``X-Confsync-Signature`` value for a request sent at ``timestamp`` (unix seconds).

    ``method`` is the HTTP method (upper-cased here); ``target`` is the request target exactly as
    it goes on the wire (path, then ``?query`` when there is one). Raises ValueError for a method
    that is not an HTTP token or a target that is not origin-form printable ASCII.
    """
    if not _valid_method(method):
        raise ValueError(f"not an HTTP method: {method!r}")
    if not _valid_target(target):
        raise ValueError(
            f"not an origin-form request target (printable ASCII starting with '/'): {target!r}"
        )
    return f"{SCHEME}={_digest(secret, timestamp, method, target, body)}"


def signed_headers(
    secret: bytes, body: bytes, *, method: str, target: str, now: float | None = None
) -> dict[str, str]:
    """Both headers for sending ``method target`` with ``body`` now (or at ``now``, unix seconds).

    Raises ValueError like :func:`sign`.
    """
    timestamp = int(time.time() if now is None else now)
    return {
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(secret, timestamp, body, method=method, target=target),
    }


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
    method: str,
    target: str,
    now: float | None = None,
    tolerance_seconds: int = TOLERANCE_SECONDS,
) -> bool:
    """Whether ``signature`` (the header value) is valid for this request at ``timestamp``.

    ``timestamp`` is the ``X-Confsync-Timestamp`` header value (decimal unix seconds); ``method``,
    ``target`` and ``body`` are the request as received (the raw request target, not a decoded or
    normalised path). False when either header is missing or malformed, the method or target is
    malformed, the timestamp is more than ``tolerance_seconds`` away from ``now`` (default: the
    current time), or no ``v1=`` value matches.
    """
    parsed = _parse_timestamp(timestamp)
    if parsed is None or not signature:
        return False
    if not _valid_method(method) or not _valid_target(target):
        return False
    current = time.time() if now is None else now
    if abs(current - parsed) > tolerance_seconds:
        return False
    expected = _digest(secret, parsed, method, target, body)
    matched = False
    for part in signature.split(","):
        scheme, sep, value = part.strip().partition("=")
        if sep and scheme == SCHEME:
            # Compare every candidate so the time taken does not depend on which one matches.
            matched |= hmac.compare_digest(value.encode(), expected.encode())
    return matched
