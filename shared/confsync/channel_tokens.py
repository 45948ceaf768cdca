"""Channel tokens: minted at watch time, verified by intake without a database read.

Google echoes a channel's ``token`` in every notification (``X-Goog-Channel-Token``, at most 256
characters, not meant to be secret). confsync's token is::

    v1.<key id>.<calendar key>.<signature>

where the signature is the unpadded base64url HMAC-SHA256, under the key named by ``key id``, of
``"v1\\n<key id>\\n<channel id>\\n<calendar key>"``. It binds the token to its channel id (the
``X-Goog-Channel-ID`` header), so a token copied onto another channel id is refused; it carries the
calendar key, so intake knows which calendar to sync without reading Firestore; and it names its
key, so keys rotate: add a new key, make it active (new channels use it), and drop the old one
once every channel minted with it has been renewed (``CONFSYNC_CHANNEL_TTL_SECONDS``: days).

Key ids and calendar keys contain no ``.``; comparisons are constant-time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass

from confsync.errors import ConfigurationError

__all__ = ["ChannelTokenKeys", "InvalidChannelToken", "mint_channel_token", "verify_channel_token"]

_VERSION = "v1"
_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}\Z")
_CALENDAR_KEY = re.compile(r"^[A-Za-z0-9_-]{1,64}\Z")
MAX_TOKEN_LENGTH = 256  # Google's limit on a channel token


class InvalidChannelToken(ValueError):  # noqa: N818 - reads as a verdict, like the others
    """The token is malformed, unknown or forged; the message says which, without secrets."""


@dataclass(frozen=True, slots=True)
class ChannelTokenKeys:
    """The HMAC keys by id, and the id of the one new tokens are minted with."""

    keys: Mapping[str, bytes]
    active: str

    @classmethod
    def parse(
        cls, spec: str, active: str, variable: str = "CONFSYNC_CHANNEL_TOKEN_KEYS"
    ) -> ChannelTokenKeys:
        """Keys from ``"kid1:secret1,kid2:secret2"``; ConfigurationError names ``variable``."""
        keys: dict[str, bytes] = {}
        for part in (p.strip() for p in spec.split(",") if p.strip()):
            kid, sep, secret = part.partition(":")
            if not sep or not _KEY_ID.match(kid) or len(secret) < 16:
                raise ConfigurationError(
                    f"{variable}: each entry must be KEY_ID:SECRET with a key id of letters, "
                    "digits, - or _ and a secret of at least 16 characters"
                )
            keys[kid] = secret.encode()
        if not keys:
            raise ConfigurationError(f"{variable} holds no key")
        if active not in keys:
            raise ConfigurationError(
                f"CONFSYNC_CHANNEL_TOKEN_ACTIVE_KEY={active!r} is not in {variable}"
            )
        return cls(keys=keys, active=active)


def _signature(secret: bytes, kid: str, channel_id: str, calendar_key: str) -> str:
    message = f"{_VERSION}\n{kid}\n{channel_id}\n{calendar_key}".encode()
    digest = hmac.new(secret, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def mint_channel_token(keys: ChannelTokenKeys, channel_id: str, calendar_key: str) -> str:
    """The token to give ``events.watch`` for a new channel of ``calendar_key``."""
    if not _CALENDAR_KEY.match(calendar_key):
        raise ValueError("calendar key must be letters, digits, - or _")
    signature = _signature(keys.keys[keys.active], keys.active, channel_id, calendar_key)
    token = f"{_VERSION}.{keys.active}.{calendar_key}.{signature}"
    assert len(token) <= MAX_TOKEN_LENGTH
    return token


def verify_channel_token(keys: ChannelTokenKeys, channel_id: str, token: str) -> str:
    """The calendar key a genuine token names; raise InvalidChannelToken otherwise."""
    if len(token) > MAX_TOKEN_LENGTH:
        raise InvalidChannelToken("token too long")
    parts = token.split(".")
    if len(parts) != 4 or parts[0] != _VERSION:
        raise InvalidChannelToken("token is not a confsync v1 token")
    _, kid, calendar_key, signature = parts
    secret = keys.keys.get(kid)
    if secret is None:
        raise InvalidChannelToken("token names an unknown key id")
    if not _CALENDAR_KEY.match(calendar_key):
        raise InvalidChannelToken("token carries a malformed calendar key")
    expected = _signature(secret, kid, channel_id, calendar_key)
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise InvalidChannelToken("token signature does not match its channel")
    return calendar_key
