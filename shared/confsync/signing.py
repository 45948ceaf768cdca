"""Request signatures of the conferencing contract, scheme ``v2`` (standard library only).

A signed request carries two headers::

    X-Confsync-Timestamp: <unix seconds>
    X-Confsync-Signature: v2=<lowercase hex HMAC-SHA256(secret, message)>[,v2=<hex>...]

where ``message`` is the ASCII bytes of these seven lines joined by one newline byte each::

    confsync-v2
    <timestamp>
    <METHOD>
    <request target>
    <host>
    <idempotency key>
    <lowercase hex SHA-256 of the raw body>

``<METHOD>`` is the HTTP method in upper case. ``<request target>`` is the origin-form request
target exactly as sent on the wire: the path, plus ``?`` and the raw query string when there is
one, percent-encoding as sent and never normalised (``/v1/conferences/a%2Fb?revision=5``).
``<host>`` is the ``Host`` header as sent, in lower case (``conf.example.com`` or
``127.0.0.1:8684``). ``<idempotency key>`` is the ``Idempotency-Key`` header, empty when the
request has none (a GET). A request without a body (GET, DELETE) signs the digest of the empty
body. Every field but the digest must be printable ASCII without spaces (the key may be empty), so
the newline separators stay unambiguous and no byte can move from one field to the next.

Signing the method, the target, the host and the key binds a signature to one operation on one
resource of one system: a captured ``DELETE /v1/conferences/A?revision=5`` cannot be replayed with
another revision, against another conference or host, as another method, or under a fresh
``Idempotency-Key`` (which would make the receiver apply it as a new request). A replay of the very
same request within the timestamp window carries the same key, so the receiver answers it as the
repeat it is (the contract requires keys to be kept longer than the window): the key is the nonce.

The receiver recomputes the HMAC from the request it received, compares in constant time and
refuses timestamps more than ``TOLERANCE_SECONDS`` away from its clock. The signature header may
hold several comma-separated ``v2=`` values: a sender rotating its signing secret signs with each
of its secrets (:func:`signed_headers` takes several), and a receiver accepts the request when any
value matches under any of its own secrets (:func:`verify` takes several). Values of any other
scheme (the retired ``v1``, which covered neither host nor key) are ignored, so a request signed
only with them is refused.

This is the one implementation of the scheme: confsync's conferencing adapter signs with it and the
local emulator (``conferencing_emulator.signing`` re-exports it) verifies with it. The deployed
functions bundle only the ``confsync`` package, so keep this module free of third-party
dependencies. Decision record: docs/decisions/2026-12-04-provider-signature-v2.md.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Sequence

__all__ = [
    "MAX_SECRETS",
    "SCHEME",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "TOLERANCE_SECONDS",
    "parse_secrets",
    "sign",
    "signed_headers",
    "verify",
]

SIGNATURE_HEADER = "X-Confsync-Signature"
TIMESTAMP_HEADER = "X-Confsync-Timestamp"
SCHEME = "v2"
TOLERANCE_SECONDS = 300
MAX_SECRETS = 4
"""The most signing secrets held at once (a rotation needs two)."""

_PREFIX = "confsync-v2"

# RFC 9110 token characters: what an HTTP method may consist of.
_TOKEN_CHARS = frozenset(
    "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)

Secrets = bytes | Sequence[bytes]
"""One secret, or several (a rotation)."""


def parse_secrets(text: str) -> tuple[bytes, ...]:
    """The signing secrets in ``text``: comma-separated, blanks around each ignored, repeats
    dropped, in order (the empty text: none). A single secret without a comma reads as itself.
    Raises ValueError for more than :data:`MAX_SECRETS`."""
    found: list[bytes] = []
    for part in text.split(","):
        secret = part.strip().encode()
        if secret and secret not in found:
            found.append(secret)
    if len(found) > MAX_SECRETS:
        raise ValueError(f"at most {MAX_SECRETS} comma-separated secrets")
    return tuple(found)


def _secrets(secrets: Secrets) -> tuple[bytes, ...]:
    return (secrets,) if isinstance(secrets, bytes) else tuple(secrets)


def _valid_method(method: object) -> bool:
    return isinstance(method, str) and bool(method) and all(c in _TOKEN_CHARS for c in method)


def _visible(value: object) -> bool:
    """Printable ASCII without spaces, controls or line breaks (possibly empty)."""
    return isinstance(value, str) and value.isascii() and all("!" <= c <= "~" for c in value)


def _valid_target(target: object) -> bool:
    # Origin form: starts with "/", visible ASCII only.
    return _visible(target) and isinstance(target, str) and target.startswith("/")


def _problem(method: object, target: object, host: object, key: object) -> str | None:
    """Why these fields cannot be signed, or None."""
    if not _valid_method(method):
        return f"not an HTTP method: {method!r}"
    if not _valid_target(target):
        return f"not an origin-form request target (printable ASCII starting with '/'): {target!r}"
    if not (_visible(host) and host):
        return f"not a Host header value (printable ASCII without spaces): {host!r}"
    if not _visible(key):
        return f"not an Idempotency-Key value (printable ASCII without spaces): {key!r}"
    return None


def _digest(
    secret: bytes, timestamp: int, body: bytes, *, method: str, target: str, host: str, key: str
) -> str:
    lines = (
        _PREFIX,
        str(timestamp),
        method.upper(),
        target,
        host.lower(),
        key,
        hashlib.sha256(body).hexdigest(),
    )
    return hmac.new(secret, "\n".join(lines).encode("ascii"), hashlib.sha256).hexdigest()


def sign(
    secret: bytes,
    timestamp: int,
    body: bytes,
    *,
    method: str,
    target: str,
    host: str,
    idempotency_key: str,
) -> str:
    """One ``v2=<hex>`` value for a request sent at ``timestamp`` (unix seconds).

    ``method`` is the HTTP method (upper-cased here); ``target`` the request target exactly as it
    goes on the wire; ``host`` the ``Host`` header (lower-cased here); ``idempotency_key`` the
    ``Idempotency-Key`` header, "" when none is sent. Raises ValueError for a field that cannot be
    signed (see the module docstring).
    """
    problem = _problem(method, target, host, idempotency_key)
    if problem is not None:
        raise ValueError(problem)
    digest = _digest(
        secret, timestamp, body, method=method, target=target, host=host, key=idempotency_key
    )
    return f"{SCHEME}={digest}"


def signed_headers(
    secrets: Secrets,
    body: bytes,
    *,
    method: str,
    target: str,
    host: str,
    idempotency_key: str,
    now: float | None = None,
) -> dict[str, str]:
    """Both headers for sending the request now (or at ``now``, unix seconds), signed with each of
    ``secrets`` (one ``v2=`` value each, in order). Raises ValueError like :func:`sign`, and for
    no secret at all."""
    keys = _secrets(secrets)
    if not keys or not all(keys):
        raise ValueError("at least one non-empty secret is needed to sign")
    timestamp = int(time.time() if now is None else now)
    values = [
        sign(
            secret,
            timestamp,
            body,
            method=method,
            target=target,
            host=host,
            idempotency_key=idempotency_key,
        )
        for secret in keys
    ]
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: ",".join(values)}


def _parse_timestamp(value: str | int | None) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 12:
        return int(value)
    return None


def _candidates(signature: str) -> list[bytes]:
    """The ``v2=`` values of a signature header (other schemes ignored)."""
    values: list[bytes] = []
    for part in signature.split(","):
        scheme, sep, value = part.strip().partition("=")
        if sep and scheme == SCHEME and value.isascii():
            values.append(value.encode("ascii"))
    return values


def verify(
    secrets: Secrets,
    timestamp: str | int | None,
    signature: str | None,
    body: bytes,
    *,
    method: str,
    target: str,
    host: str | None,
    idempotency_key: str | None,
    now: float | None = None,
    tolerance_seconds: int = TOLERANCE_SECONDS,
) -> bool:
    """Whether ``signature`` (the header value) is valid for this request at ``timestamp``.

    ``secrets`` are the receiver's (one, or several during a rotation); ``timestamp`` is the
    ``X-Confsync-Timestamp`` header value (decimal unix seconds); ``method``, ``target``,
    ``host``, ``idempotency_key`` (None: the header is absent) and ``body`` are the request as
    received (the raw request target, not a decoded or normalised path). False when either header
    is missing or malformed, a field cannot be signed, the timestamp is more than
    ``tolerance_seconds`` away from ``now`` (default: the current time), or no ``v2=`` value
    matches under any secret.
    """
    parsed = _parse_timestamp(timestamp)
    key = idempotency_key or ""
    if parsed is None or not signature or host is None:
        return False
    if _problem(method, target, host, key) is not None:
        return False
    current = time.time() if now is None else now
    if abs(current - parsed) > tolerance_seconds:
        return False
    candidates = _candidates(signature)
    matched = False
    for secret in _secrets(secrets):
        if not secret:
            continue
        expected = _digest(
            secret, parsed, body, method=method, target=target, host=host, key=key
        ).encode("ascii")
        for value in candidates:
            # Compare every candidate so the time taken does not depend on which one matches.
            matched |= hmac.compare_digest(value, expected)
    return matched
