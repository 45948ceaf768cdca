"""Opaque, tamper-evident tokens (sync tokens and page tokens).

A token is the URL-safe base64 of a compact JSON payload followed by a truncated HMAC-SHA256 of
its kind and payload, keyed with a per-process random key. Any change to a token, or a token from
another process (or from before an admin reset, which rotates the key), fails to decode.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Any

__all__ = ["PageToken", "SyncToken", "TokenCodec", "TokenError"]

_MAC_BYTES = 12


class TokenError(ValueError):
    """A token that is garbled, forged or of the wrong kind."""


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _b64decode(text: str) -> bytes:
    padded = text + "=" * (-len(text) % 4)
    try:
        return base64.urlsafe_b64decode(padded.encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError) as exc:
        raise TokenError("not base64") from exc


@dataclass(frozen=True)
class SyncToken:
    """Where an incremental list resumes: a calendar's change-log position."""

    calendar_id: str
    seq: int
    generation: int
    issued_ms: int
    fingerprint: str


@dataclass(frozen=True)
class PageToken:
    """Where the next page of a list starts."""

    snapshot: str
    offset: int
    seq: int
    fingerprint: str


class TokenCodec:
    """Signs and verifies tokens with one secret key."""

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key if key is not None else secrets.token_bytes(32)

    def _mac(self, kind: str, payload: bytes) -> bytes:
        digest = hmac.new(self._key, kind.encode() + b"\0" + payload, hashlib.sha256).digest()
        return digest[:_MAC_BYTES]

    def encode(self, kind: str, payload: Any) -> str:
        raw = json.dumps(payload, separators=(",", ":")).encode()
        return _b64encode(raw + self._mac(kind, raw))

    def decode(self, kind: str, token: str) -> Any:
        data = _b64decode(token)
        if len(data) <= _MAC_BYTES:
            raise TokenError("too short")
        raw, mac = data[:-_MAC_BYTES], data[-_MAC_BYTES:]
        if not hmac.compare_digest(mac, self._mac(kind, raw)):
            raise TokenError("bad signature")
        try:
            return json.loads(raw)
        except ValueError as exc:  # pragma: no cover - only a forged MAC gets here
            raise TokenError("bad payload") from exc

    def encode_sync(self, token: SyncToken) -> str:
        return self.encode(
            "sync",
            [token.calendar_id, token.seq, token.generation, token.issued_ms, token.fingerprint],
        )

    def decode_sync(self, text: str) -> SyncToken:
        payload = self.decode("sync", text)
        try:
            calendar_id, seq, generation, issued_ms, fingerprint = payload
            return SyncToken(
                str(calendar_id), int(seq), int(generation), int(issued_ms), str(fingerprint)
            )
        except (TypeError, ValueError) as exc:
            raise TokenError("bad sync token payload") from exc

    def encode_page(self, token: PageToken) -> str:
        return self.encode("page", [token.snapshot, token.offset, token.seq, token.fingerprint])

    def decode_page(self, text: str) -> PageToken:
        payload = self.decode("page", text)
        try:
            snapshot, offset, seq, fingerprint = payload
            return PageToken(str(snapshot), int(offset), int(seq), str(fingerprint))
        except (TypeError, ValueError) as exc:
            raise TokenError("bad page token payload") from exc
