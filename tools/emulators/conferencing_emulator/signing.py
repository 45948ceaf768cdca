"""Request signatures of the conferencing contract: a re-export of :mod:`confsync.signing`.

The scheme has one implementation, in ``confsync.signing`` (standard library only), because the
deployed functions bundle only the ``confsync`` package and confsync's adapter must sign with it.
The emulator verifies with the very same functions, imported from here.
"""

from __future__ import annotations

from confsync.signing import (
    MAX_SECRETS,
    SCHEME,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    TOLERANCE_SECONDS,
    parse_secrets,
    sign,
    signed_headers,
    verify,
)

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
