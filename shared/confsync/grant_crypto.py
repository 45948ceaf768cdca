"""Encryption of stored OAuth refresh tokens (``oauth`` credentials): AES-256-GCM, pure.

A refresh token is a long-lived credential to a user's calendar, so it is never written to
Firestore in clear. :func:`seal_grant` turns it into one opaque blob::

    version (1 byte, 0x01) | key id (4 bytes) | nonce (12 random bytes) | ciphertext + GCM tag

The key id is the first 4 bytes of a SHA-256 over the key (with a label), not the key itself. It
lets :func:`open_grant` pick the right key from several (a rotation keeps the old key readable
while new grants use the new one) and tell "sealed with another key" apart from "tampered with".
The associated data is the blob's header plus the normalised subject, so a blob copied onto
another user's document, or with its header edited, does not decrypt.

:class:`GrantKeys` is the configured key set (``CONFSYNC_OAUTH_TOKEN_KEY``): the one key new
grants are sealed with, and older keys that are still read; :func:`needs_resealing` tells whether
a blob is sealed with another key than the sealing one (``confsync re-encrypt-grants``).

Every failure raises :class:`GrantCryptoError` with a message that names the cause and never
includes the token, the key or the subject; nothing partially decrypted is ever returned.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from confsync.errors import PermanentError

__all__ = [
    "FORMAT_VERSION",
    "KEY_BYTES",
    "GrantCryptoError",
    "GrantKeys",
    "StoredGrant",
    "key_id",
    "needs_resealing",
    "normalize_subject",
    "open_grant",
    "seal_grant",
]

FORMAT_VERSION = 1
KEY_BYTES = 32
_KEY_ID_BYTES = 4
_NONCE_BYTES = 12
_TAG_BYTES = 16
_HEADER_BYTES = 1 + _KEY_ID_BYTES
_KEY_ID_LABEL = b"confsync/oauth-grant-key-id\x00"
_AAD_LABEL = b"confsync/oauth-grant\x00"


class GrantCryptoError(PermanentError):
    """A stored grant cannot be sealed or opened: wrong key, tampered blob, unknown format."""


@dataclass(frozen=True, slots=True)
class GrantKeys:
    """The grants' keys: ``sealing`` seals new grants; ``older`` keys are only read (a rotation
    keeps them until every grant has been sealed again with ``sealing``)."""

    sealing: bytes
    older: tuple[bytes, ...] = ()

    def __post_init__(self) -> None:
        for key in self.opening:
            _check_key(key)
        ids = [key_id(key) for key in self.opening]
        if len(set(ids)) != len(ids):
            raise GrantCryptoError("the grant keys must be distinct")

    @classmethod
    def of(cls, keys: Sequence[bytes]) -> GrantKeys:
        """The key set of ``CONFSYNC_OAUTH_TOKEN_KEY``'s keys: the first seals, all are read."""
        if not keys:
            raise GrantCryptoError("no grant key is configured")
        return cls(sealing=keys[0], older=tuple(keys[1:]))

    @property
    def opening(self) -> tuple[bytes, ...]:
        """Every key a stored grant may be sealed with, the sealing key first."""
        return (self.sealing, *self.older)


@dataclass(frozen=True, slots=True)
class StoredGrant:
    """A sealed grant as the grant store read it: its document id, the subject it is sealed for
    (empty, like ``sealed``, when the document is not a grant) and ``version``, the store's
    token for writing it back only if it is unchanged."""

    document: str
    subject: str
    sealed: bytes
    version: Any = None


def normalize_subject(subject: str) -> str:
    """The form of a subject that grants are bound to: e-mail addresses compare case-blind."""
    return subject.strip().lower()


def key_id(key: bytes) -> bytes:
    """The 4-byte identifier of ``key`` written into each blob (not secret, not the key)."""
    _check_key(key)
    return hashlib.sha256(_KEY_ID_LABEL + key).digest()[:_KEY_ID_BYTES]


def _check_key(key: bytes) -> None:
    if len(key) != KEY_BYTES:
        raise GrantCryptoError(f"the grant key must be {KEY_BYTES} bytes (AES-256)")


def _aad(header: bytes, subject: str) -> bytes:
    return _AAD_LABEL + header + normalize_subject(subject).encode()


def seal_grant(
    refresh_token: str, subject: str, key: bytes, *, nonce: bytes | None = None
) -> bytes:
    """Encrypt ``refresh_token`` for ``subject`` with ``key``; ``nonce`` only for tests."""
    if not refresh_token:
        raise GrantCryptoError("refusing to seal an empty refresh token")
    if not normalize_subject(subject):
        raise GrantCryptoError("refusing to seal a grant without a subject")
    header = bytes([FORMAT_VERSION]) + key_id(key)
    nonce = os.urandom(_NONCE_BYTES) if nonce is None else nonce
    if len(nonce) != _NONCE_BYTES:
        raise GrantCryptoError(f"the nonce must be {_NONCE_BYTES} bytes")
    sealed = AESGCM(key).encrypt(nonce, refresh_token.encode(), _aad(header, subject))
    return header + nonce + sealed


def open_grant(blob: bytes, subject: str, keys: Sequence[bytes]) -> str:
    """The refresh token sealed in ``blob`` for ``subject``, using whichever of ``keys`` sealed
    it; GrantCryptoError when none did, the blob was altered, or it belongs to another subject."""
    if len(blob) < _HEADER_BYTES + _NONCE_BYTES + _TAG_BYTES:
        raise GrantCryptoError("stored grant is truncated or not a sealed grant")
    header, nonce, sealed = (
        blob[:_HEADER_BYTES],
        blob[_HEADER_BYTES : _HEADER_BYTES + _NONCE_BYTES],
        blob[_HEADER_BYTES + _NONCE_BYTES :],
    )
    if header[0] != FORMAT_VERSION:
        raise GrantCryptoError(f"stored grant has unknown format version {header[0]}")
    wanted = header[1:]
    key = next((k for k in keys if key_id(k) == wanted), None)
    if key is None:
        raise GrantCryptoError(
            f"stored grant was sealed with another key (key id {wanted.hex()}); "
            "CONFSYNC_OAUTH_TOKEN_KEY holds no key with that id (was a key dropped before "
            "`confsync re-encrypt-grants` had sealed every grant again?)"
        )
    try:
        plain = AESGCM(key).decrypt(nonce, sealed, _aad(header, subject))
    except InvalidTag:
        raise GrantCryptoError(
            "stored grant failed authentication: it was altered or belongs to another user"
        ) from None
    try:
        return plain.decode()
    except UnicodeDecodeError:  # authenticated, so only a sealing bug could get here
        raise GrantCryptoError("stored grant does not hold a text token") from None


def needs_resealing(blob: bytes, keys: GrantKeys) -> bool:
    """Whether ``blob`` is sealed with another key than ``keys.sealing`` (header only: nothing is
    decrypted; :func:`open_grant` still authenticates the blob)."""
    return blob[:_HEADER_BYTES] != bytes([FORMAT_VERSION]) + key_id(keys.sealing)
