"""Versioned Pub/Sub payloads between confsync's functions, encoded and decoded only here.

A function triggered by Pub/Sub receives a CloudEvent whose data is
``{"message": {"data": <base64>, "attributes": {...}, "messageId": ..., "publishTime": ...}}``,
whether Eventarc delivered it (binary CloudEvent) or functions-framework converted a raw Pub/Sub
push envelope (the local stack). :func:`pubsub_message` reads exactly those four fields, so the same
code runs in both places.

Payloads are compact JSON objects with a version field ``v``. A decoder accepts its own version
only; anything else is a :class:`~confsync.errors.MalformedInputError`, which the entry point acks
and logs (retrying a message that can never decode would only fill the dead-letter topic later).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, cast, get_args

from confsync.errors import MalformedInputError
from confsync.events import parse_rfc3339

__all__ = [
    "CHANNEL_COMMAND_VERSION",
    "MAX_FANOUT_KEYS",
    "SYNC_REQUEST_VERSION",
    "ChannelCommand",
    "EnrollCommand",
    "EnrollSource",
    "PubsubMessage",
    "RenewCommand",
    "SweepCommand",
    "SyncReason",
    "SyncRequest",
    "TickCommand",
    "UnenrollCommand",
    "decode_channel_command",
    "decode_sync_request",
    "encode_channel_command",
    "encode_sync_request",
    "pubsub_message",
]

SYNC_REQUEST_VERSION = 1
SyncReason = Literal["notification", "sweep", "enroll", "republish", "manual", "grace"]
_REASONS = frozenset(get_args(SyncReason))
_MAX_PAYLOAD = 64 * 1024
_MAX_INT64 = 2**63 - 1  # Google's message numbers are int64, and so are Firestore's integers


@dataclass(frozen=True, slots=True)
class PubsubMessage:
    """The parts of a Pub/Sub message that survive every delivery path."""

    data: bytes
    attributes: Mapping[str, str] = field(default_factory=dict)
    message_id: str | None = None
    publish_time: str | None = None


def pubsub_message(cloud_event_data: Any) -> PubsubMessage:
    """Extract the Pub/Sub message from a ``messagePublished`` CloudEvent's data."""
    if not isinstance(cloud_event_data, Mapping):
        raise MalformedInputError("CloudEvent data is not an object")
    message = cloud_event_data.get("message")
    if not isinstance(message, Mapping):
        raise MalformedInputError("CloudEvent data has no Pub/Sub 'message' object")
    encoded = message.get("data", "")
    if not isinstance(encoded, str):
        raise MalformedInputError("Pub/Sub message.data is not a base64 string")
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as err:
        raise MalformedInputError("Pub/Sub message.data is not valid base64") from err
    attributes = message.get("attributes") or {}
    if not isinstance(attributes, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in attributes.items()
    ):
        raise MalformedInputError("Pub/Sub message.attributes must map strings to strings")
    message_id = message.get("messageId")
    publish_time = message.get("publishTime")
    return PubsubMessage(
        data=data,
        attributes=dict(attributes),
        message_id=message_id if isinstance(message_id, str) else None,
        publish_time=publish_time if isinstance(publish_time, str) else None,
    )


@dataclass(frozen=True, slots=True)
class SyncRequest:
    """Ask the sync function to sync one calendar (coalesced with any sync in progress)."""

    calendar_key: str
    reason: SyncReason
    notified_at: datetime
    channel_id: str | None = None
    message_number: int | None = None


def encode_sync_request(request: SyncRequest) -> bytes:
    """The Pub/Sub payload of ``request``."""
    body: dict[str, Any] = {
        "v": SYNC_REQUEST_VERSION,
        "calendarKey": request.calendar_key,
        "reason": request.reason,
        "notifiedAt": request.notified_at.isoformat(timespec="milliseconds"),
    }
    if request.channel_id is not None:
        body["channelId"] = request.channel_id
    if request.message_number is not None:
        body["messageNumber"] = request.message_number
    return json.dumps(body, separators=(",", ":")).encode()


def _load(payload: bytes) -> Mapping[str, Any]:
    if len(payload) > _MAX_PAYLOAD:
        raise MalformedInputError(f"payload of {len(payload)} bytes exceeds {_MAX_PAYLOAD}")
    try:
        body = json.loads(payload)
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        # ValueError: JSONDecodeError, and an integer of more digits than Python converts;
        # RecursionError: arrays or objects nested deeper than the interpreter's stack
        raise MalformedInputError(f"payload is not JSON: {type(err).__name__}") from err
    if not isinstance(body, Mapping):
        raise MalformedInputError("payload is not a JSON object")
    try:  # a lone surrogate (an escaped "\ud800") decodes, but no UTF-8 store or topic takes it
        json.dumps(body, ensure_ascii=False).encode()
    except UnicodeEncodeError as err:
        raise MalformedInputError("payload holds a lone surrogate, which is not text") from err
    return body


def decode_sync_request(payload: bytes) -> SyncRequest:
    """Decode a SyncRequest payload; raise MalformedInputError naming what is wrong."""
    body = _load(payload)
    if body.get("v") != SYNC_REQUEST_VERSION:
        raise MalformedInputError(
            f"SyncRequest version {body.get('v')!r} is not {SYNC_REQUEST_VERSION}"
        )
    calendar_key = body.get("calendarKey")
    if not isinstance(calendar_key, str) or not calendar_key:
        raise MalformedInputError("SyncRequest.calendarKey must be a non-empty string")
    reason = body.get("reason")
    if not isinstance(reason, str) or reason not in _REASONS:
        raise MalformedInputError(f"SyncRequest.reason {reason!r} is not one of {sorted(_REASONS)}")
    notified_at = body.get("notifiedAt")
    if not isinstance(notified_at, str):
        raise MalformedInputError("SyncRequest.notifiedAt must be an RFC3339 string")
    channel_id = body.get("channelId")
    if channel_id is not None and not isinstance(channel_id, str):
        raise MalformedInputError("SyncRequest.channelId must be a string")
    message_number = body.get("messageNumber")
    if message_number is not None and (
        not isinstance(message_number, int)
        or isinstance(message_number, bool)
        or not 0 <= message_number <= _MAX_INT64
    ):
        raise MalformedInputError("SyncRequest.messageNumber must be an integer of 0 to 2^63-1")
    return SyncRequest(
        calendar_key=calendar_key,
        reason=cast(SyncReason, reason),
        notified_at=parse_rfc3339(notified_at),
        channel_id=channel_id,
        message_number=message_number,
    )


# --- channel commands (topic ``channel-commands``) --------------------------------------------

CHANNEL_COMMAND_VERSION = 1
MAX_FANOUT_KEYS = 1000
"""Most calendar keys one ``renew`` / ``sweep`` command may carry (about 40 kB of JSON)."""


EnrollSource = Literal["operator", "addon"]
_ENROLL_SOURCES = frozenset(get_args(EnrollSource))


@dataclass(frozen=True, slots=True)
class EnrollCommand:
    """Start syncing a calendar: ``{"v": 1, "command": "enroll", "subject", "calendarId",
    "source"?}``.

    ``source`` is who asked: ``operator`` (``confsync enroll``; the default, also for commands
    published before it existed) or ``addon`` (intake's ``/v1/enroll``, for the user of a
    verified Google ID token). An add-on's enrolment never re-enrolls a calendar an operator
    blocked; an operator's does."""

    subject: str
    calendar_id: str
    source: EnrollSource = "operator"


@dataclass(frozen=True, slots=True)
class UnenrollCommand:
    """Stop syncing a calendar: ``{"v": 1, "command": "unenroll", "calendarKey", "forget"?,
    "block"?}`` (each flag written only when true).

    ``forget`` also deletes the calendar's conference records (never the conferences). ``block``
    (``confsync unenroll --block``) leaves the calendar ``blocked`` instead of ``unenrolled``: an
    add-on's enrolment is then ignored until an operator enrolls it again."""

    calendar_key: str
    forget: bool = False
    block: bool = False


@dataclass(frozen=True, slots=True)
class TickCommand:
    """The periodic maintenance pass: ``{"v": 1, "command": "tick"}``, as Cloud Scheduler publishes
    it (a fixed body: it cannot carry the time), optionally with ``"issuedAt": RFC3339`` (the local
    scheduler stand-in and the CLI add it, so a late delivery can be noticed)."""

    issued_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class RenewCommand:
    """A fan-out batch of a tick: renew the due channels of these calendars."""

    calendar_keys: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SweepCommand:
    """A fan-out batch of a tick: request a sync of these calendars."""

    calendar_keys: tuple[str, ...]


ChannelCommand = EnrollCommand | UnenrollCommand | TickCommand | RenewCommand | SweepCommand
"""Every command the ``channels`` function accepts."""


def encode_channel_command(command: ChannelCommand) -> bytes:
    """The Pub/Sub payload of ``command``."""
    body: dict[str, Any] = {"v": CHANNEL_COMMAND_VERSION}
    match command:
        case EnrollCommand(subject=subject, calendar_id=calendar_id, source=source):
            body.update(command="enroll", subject=subject, calendarId=calendar_id, source=source)
        case UnenrollCommand(calendar_key=key, forget=forget, block=block):
            body.update(command="unenroll", calendarKey=key)
            if forget:
                body["forget"] = True
            if block:
                body["block"] = True
        case TickCommand(issued_at=issued_at):
            body["command"] = "tick"
            if issued_at is not None:
                stamp = issued_at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
                body["issuedAt"] = stamp
        case RenewCommand(calendar_keys=keys):
            body.update(command="renew", calendarKeys=list(keys))
        case SweepCommand(calendar_keys=keys):
            body.update(command="sweep", calendarKeys=list(keys))
    return json.dumps(body, separators=(",", ":")).encode()


def _text(body: Mapping[str, Any], name: str, command: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise MalformedInputError(f"ChannelCommand {command}.{name} must be a non-empty string")
    return value


def _keys(body: Mapping[str, Any], command: str) -> tuple[str, ...]:
    value = body.get("calendarKeys")
    if not isinstance(value, list) or not all(isinstance(k, str) and k for k in value):
        raise MalformedInputError(
            f"ChannelCommand {command}.calendarKeys must be a list of non-empty strings"
        )
    if len(value) > MAX_FANOUT_KEYS:
        raise MalformedInputError(
            f"ChannelCommand {command}.calendarKeys holds {len(value)} keys, "
            f"more than {MAX_FANOUT_KEYS}"
        )
    return tuple(value)


def decode_channel_command(payload: bytes) -> ChannelCommand:
    """Decode a channel command; raise MalformedInputError naming what is wrong."""
    body = _load(payload)
    if body.get("v") != CHANNEL_COMMAND_VERSION:
        raise MalformedInputError(
            f"ChannelCommand version {body.get('v')!r} is not {CHANNEL_COMMAND_VERSION}"
        )
    command = body.get("command")
    if command == "enroll":
        source = body.get("source", "operator")
        if not isinstance(source, str) or source not in _ENROLL_SOURCES:
            raise MalformedInputError(
                f"ChannelCommand enroll.source {str(source)[:40]!r} is not one of "
                f"{', '.join(sorted(_ENROLL_SOURCES))}"
            )
        return EnrollCommand(
            subject=_text(body, "subject", command),
            calendar_id=_text(body, "calendarId", command),
            source=cast(EnrollSource, source),
        )
    if command == "unenroll":
        flags = {name: body.get(name, False) for name in ("forget", "block")}
        for name, value in flags.items():
            if not isinstance(value, bool):
                raise MalformedInputError(f"ChannelCommand unenroll.{name} must be a boolean")
        return UnenrollCommand(
            calendar_key=_text(body, "calendarKey", command),
            forget=flags["forget"],
            block=flags["block"],
        )
    if command == "tick":
        if body.get("issuedAt") is None:
            return TickCommand()
        issued_at = _text(body, "issuedAt", command)
        try:
            return TickCommand(issued_at=parse_rfc3339(issued_at))
        except (ValueError, MalformedInputError) as err:
            raise MalformedInputError(
                f"ChannelCommand tick.issuedAt {issued_at!r} is not RFC3339"
            ) from err
    if command == "renew":
        return RenewCommand(calendar_keys=_keys(body, command))
    if command == "sweep":
        return SweepCommand(calendar_keys=_keys(body, command))
    raise MalformedInputError(
        f"ChannelCommand.command {command!r} is not one of enroll, unenroll, tick, renew, sweep"
    )
