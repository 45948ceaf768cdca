"""Channel records: one per push channel (``events.watch``) confsync created.

Document ``channels/{channelId}``. States:

* ``active``: the calendar's live channel; renewed before it expires.
* ``superseded``: replaced by a newer channel (or its calendar stopped syncing); it must still be
  stopped with ``channels.stop``, then it is forgotten (garbage collection retries a failed stop).
* ``stopped``: stopped; kept only until the next garbage collection (the audit trail of an
  unenrollment is the calendar record itself).

The record keeps the channel's ``subject`` (the calendar's user, as the calendar record does):
``channels.stop`` must be called as that user, also when the calendar record is gone. Log lines
name channels by id and calendars by key, never by subject.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from confsync.errors import MalformedInputError

__all__ = [
    "CHANNEL_SCHEMA_VERSION",
    "CHANNEL_STATES",
    "ChannelDoc",
    "ChannelState",
    "channel_from_document",
    "channel_to_document",
]

CHANNEL_SCHEMA_VERSION = 1

ChannelState = Literal["active", "superseded", "stopped"]
CHANNEL_STATES: frozenset[str] = frozenset({"active", "superseded", "stopped"})


@dataclass(frozen=True, slots=True)
class ChannelDoc:
    """One push channel on one calendar."""

    id: str
    calendar_key: str
    subject: str
    resource_id: str
    expiration: datetime
    created_at: datetime
    state: ChannelState = "active"

    def live(self, now: datetime) -> bool:
        """Active and not yet expired."""
        return self.state == "active" and self.expiration > now


_FIELDS = ("calendar_key", "subject", "resource_id", "expiration", "created_at", "state")


def channel_to_document(doc: ChannelDoc) -> dict[str, Any]:
    """The Firestore document of ``doc`` (its id is ``doc.id``)."""
    body = {name: getattr(doc, name) for name in _FIELDS}
    body["schema_version"] = CHANNEL_SCHEMA_VERSION
    return body


def _aware(value: Any, name: str) -> datetime:
    if not isinstance(value, datetime):
        raise ValueError(f"{name} must be a timestamp")
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def channel_from_document(channel_id: str, body: Mapping[str, Any]) -> ChannelDoc:
    """Decode a stored channel; raise MalformedInputError for another schema or a broken shape."""
    version = body.get("schema_version")
    if version != CHANNEL_SCHEMA_VERSION:
        raise MalformedInputError(
            f"channel {channel_id} has schema_version {version!r}, "
            f"expected {CHANNEL_SCHEMA_VERSION}"
        )
    try:
        state = body.get("state")
        if state not in CHANNEL_STATES:
            raise ValueError(f"unknown state {state!r}")
        texts = {name: body.get(name) for name in ("calendar_key", "subject", "resource_id")}
        for name, value in texts.items():
            if not isinstance(value, str):
                raise ValueError(f"{name} must be a string")
        return ChannelDoc(
            id=channel_id,
            calendar_key=body["calendar_key"],
            subject=body["subject"],
            resource_id=body["resource_id"],
            expiration=_aware(body.get("expiration"), "expiration"),
            created_at=_aware(body.get("created_at"), "created_at"),
            state=state,
        )
    except (TypeError, ValueError) as err:
        raise MalformedInputError(f"channel {channel_id} is malformed: {err}") from err
