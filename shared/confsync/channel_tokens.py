"""Channel tokens: minted at watch time, verified by intake without a database read.

Google echoes a channel's ``token`` in every notification (``X-Goog-Channel-Token``, at most 256
characters, not meant to be secret). confsync's token is::

    v2.<key id>.<calendar key>.<expires>.<signature>

where ``expires`` is the unix second after which the token is refused (the expiration asked for
the channel plus :data:`EXPIRY_SLACK`) and the signature is the unpadded base64url HMAC-SHA256,
under the key named by ``key id``, of
``"v2\\n<key id>\\n<channel id>\\n<calendar key>\\n<expires>"``.
It binds the token to its channel id (the ``X-Goog-Channel-ID`` header), so a token copied onto
another channel id is refused; it carries the calendar key, so intake knows which calendar to sync
without reading Firestore; it carries its expiry inside the signed part, so a leaked token dies
with its channel; and it names its key, so keys rotate (docs/runbooks/rotate-channel-token-keys.md).

Tokens minted before expiries existed (``v1.<key id>.<calendar key>.<signature>``, signing
``"v1\\n<key id>\\n<channel id>\\n<calendar key>"``) verify only before
:attr:`ChannelTokenKeys.v1_until`, by default :data:`V1_ACCEPTED_UNTIL`; see
docs/decisions/2026-12-04-channel-token-expiry.md.

Key ids and calendar keys contain no ``.``; comparisons are constant-time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from confsync.errors import ConfigurationError

__all__ = [
    "EXPIRY_SLACK",
    "MAX_TOKEN_LENGTH",
    "V1_ACCEPTED_UNTIL",
    "ChannelTokenKeys",
    "InvalidChannelToken",
    "mint_channel_token",
    "verify_channel_token",
]

_V1, _V2 = "v1", "v2"
_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}\Z")
_CALENDAR_KEY = re.compile(r"^[A-Za-z0-9_-]{1,64}\Z")
_EXPIRES = re.compile(r"^[0-9]{1,12}\Z")
MAX_TOKEN_LENGTH = 256  # Google's limit on a channel token
EXPIRY_SLACK = timedelta(hours=1)
"""How long a token outlives the expiration asked for its channel (clock skew, late retries)."""
V1_ACCEPTED_UNTIL = datetime(2027, 1, 4, tzinfo=UTC)
"""Until when tokens without an expiry (``v1``, minted before this release) are accepted: this
release plus the longest channel lifetime ``CONFSYNC_CHANNEL_TTL_SECONDS`` allows (30 days), by
when every channel opened before it has been renewed with a ``v2`` token."""


class InvalidChannelToken(ValueError):  # noqa: N818 - reads as a verdict, like the others
    """The token is malformed, unknown, forged or expired; the message says which, no secrets."""


@dataclass(frozen=True, slots=True)
class ChannelTokenKeys:
    """The HMAC keys by id, the id of the one new tokens are minted with, and until when tokens
    without an expiry (``v1``) are still accepted (None: never)."""

    keys: Mapping[str, bytes]
    active: str
    v1_until: datetime | None = V1_ACCEPTED_UNTIL

    @classmethod
    def parse(
        cls,
        spec: str,
        active: str,
        variable: str = "CONFSYNC_CHANNEL_TOKEN_KEYS",
        v1_until: datetime | None = V1_ACCEPTED_UNTIL,
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
        return cls(keys=keys, active=active, v1_until=v1_until)


def _signature(secret: bytes, *fields: str) -> str:
    message = "\n".join(fields).encode()
    digest = hmac.new(secret, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def mint_channel_token(
    keys: ChannelTokenKeys, channel_id: str, calendar_key: str, *, expires: datetime
) -> str:
    """The token to give ``events.watch`` for a new channel of ``calendar_key``; refused by
    intake after ``expires`` (pass the channel's expiration plus :data:`EXPIRY_SLACK`)."""
    if not _CALENDAR_KEY.match(calendar_key):
        raise ValueError("calendar key must be letters, digits, - or _")
    stamp = str(max(0, int(expires.timestamp())))
    kid = keys.active
    signature = _signature(keys.keys[kid], _V2, kid, channel_id, calendar_key, stamp)
    token = f"{_V2}.{kid}.{calendar_key}.{stamp}.{signature}"
    assert len(token) <= MAX_TOKEN_LENGTH
    return token


def verify_channel_token(
    keys: ChannelTokenKeys, channel_id: str, token: str, *, now: datetime | None = None
) -> str:
    """The calendar key a genuine, unexpired token names; raise InvalidChannelToken otherwise.

    ``now`` defaults to the current time."""
    at = now if now is not None else datetime.now(UTC)
    if len(token) > MAX_TOKEN_LENGTH:
        raise InvalidChannelToken("token too long")
    parts = token.split(".")
    fields: tuple[str, ...]
    if parts[0] == _V2 and len(parts) == 5:
        _, kid, calendar_key, stamp, signature = parts
        if not _EXPIRES.match(stamp):
            raise InvalidChannelToken("token carries a malformed expiry")
        fields = (_V2, kid, channel_id, calendar_key, stamp)
    elif parts[0] == _V1 and len(parts) == 4:
        _, kid, calendar_key, signature = parts
        stamp = None
        fields = (_V1, kid, channel_id, calendar_key)
    else:
        raise InvalidChannelToken("token is not a confsync v1 or v2 token")
    secret = keys.keys.get(kid)
    if secret is None:
        raise InvalidChannelToken("token names an unknown key id")
    if not _CALENDAR_KEY.match(calendar_key):
        raise InvalidChannelToken("token carries a malformed calendar key")
    if not hmac.compare_digest(_signature(secret, *fields).encode(), signature.encode()):
        raise InvalidChannelToken("token signature does not match its channel")
    if stamp is not None and int(stamp) <= at.timestamp():
        raise InvalidChannelToken("token expired")
    if stamp is None and (keys.v1_until is None or keys.v1_until <= at):
        raise InvalidChannelToken("token has no expiry and v1 tokens are no longer accepted")
    return calendar_key
