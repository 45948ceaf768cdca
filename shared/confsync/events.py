"""Typed models of the Google Calendar event fields confsync uses, decoded in one place.

``decode_event`` turns one item of an ``events.list`` / ``events.get`` answer into a
:class:`CalendarEvent`. It is deliberately tolerant of what Google documents as partial: a deletion
tombstone carries only ``id`` (and ``recurringEventId`` + ``originalStartTime`` for a cancelled
instance of a live series), so every other field is optional. It is strict about types: a field of
the wrong type raises :class:`~confsync.errors.MalformedInputError` instead of leaking into the
planner.

A ``conferenceData.conferenceId`` that is not of the form
:data:`~confsync.conference.CONFERENCE_ID_PATTERN` (1 to 128 of ``A-Z a-z 0-9 _ -``) is dropped
here, with one WARNING naming the event (both values clipped): the event then carries no
conference id, so no matcher takes it for one of ours and the id never reaches a URL path.

Reference: https://developers.google.com/workspace/calendar/api/v3/reference/events
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from confsync.conference import is_conference_id
from confsync.errors import MalformedInputError

__all__ = [
    "EARLIEST",
    "LATEST",
    "CalendarEvent",
    "ConferenceRef",
    "ConferenceSolution",
    "EventTime",
    "decode_event",
    "parse_rfc3339",
]

_LOGGER = logging.getLogger(__name__)

_LOGGED_CHARACTERS: Final = 80  # of an id in a log line; the rest is cut


@dataclass(frozen=True, slots=True)
class EventTime:
    """An event boundary: ``date_time`` (RFC3339) for timed events, ``date`` for all-day ones."""

    date_time: str | None = None
    date: str | None = None
    time_zone: str | None = None

    @property
    def value(self) -> str:
        """The boundary as one string: the date-time, or the date for all-day events."""
        return self.date_time or self.date or ""


@dataclass(frozen=True, slots=True)
class ConferenceSolution:
    """Which conferencing product an event's conference belongs to."""

    key_type: str
    name: str | None


@dataclass(frozen=True, slots=True)
class ConferenceRef:
    """The parts of an event's ``conferenceData`` that identify and reach a conference."""

    conference_id: str | None
    solution: ConferenceSolution | None
    video_uri: str | None = None
    parameters: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CalendarEvent:
    """One event, series master, instance exception or tombstone from the Calendar API.

    ``ical_uid`` is shared by a series master and every instance of it (each instance has its own
    ``id``), so it finds a series' exceptions with one ``events.list(iCalUID=...)``.
    """

    id: str
    status: str = "confirmed"
    etag: str | None = None
    updated: datetime | None = None
    summary: str | None = None
    start: EventTime | None = None
    end: EventTime | None = None
    recurrence: tuple[str, ...] = ()
    recurring_event_id: str | None = None
    original_start: EventTime | None = None
    attendees: tuple[str, ...] = ()
    organizer_email: str | None = None
    organizer_self: bool = False
    conference: ConferenceRef | None = None
    ical_uid: str | None = None

    @property
    def cancelled(self) -> bool:
        """Deleted (a tombstone), or a cancelled instance of a series."""
        return self.status == "cancelled"

    @property
    def is_instance(self) -> bool:
        """An exception object of a recurring series (modified or cancelled instance)."""
        return self.recurring_event_id is not None

    def organised_by(self, calendar_id: str) -> bool:
        """Whether the calendar ``calendar_id`` is the event's organizer (what a move leaves at
        the calendar it went to), not an attendee holding a copy."""
        return self.organizer_self or self.organizer_email == calendar_id.lower()

    @property
    def updated_ms(self) -> int:
        """``updated`` as Unix milliseconds (0 when absent, as on tombstones)."""
        if self.updated is None:
            return 0
        return int(self.updated.timestamp() * 1000)


EARLIEST: Final = datetime(1970, 1, 1, tzinfo=UTC)
"""The earliest moment :func:`parse_rfc3339` accepts (the Unix epoch)."""
LATEST: Final = datetime(9000, 1, 1, tzinfo=UTC)
"""The first moment :func:`parse_rfc3339` refuses: centuries from ``datetime.max``, so adding or
subtracting any duration confsync uses (seconds to years) never leaves datetime's range."""

_SHOWN_CHARACTERS: Final = 80  # of a refused timestamp in an error message


def parse_rfc3339(value: str) -> datetime:
    """Parse an RFC3339 timestamp with an offset or ``Z`` into an aware UTC datetime.

    Every timestamp confsync reads from outside (Calendar events, SyncRequests, channel commands)
    goes through here. Anything that is not such a timestamp, or names a moment outside
    [:data:`EARLIEST`, :data:`LATEST`) (``0001-01-01T00:00:00+01:00`` lies before
    ``datetime.min`` once moved to UTC), raises :class:`~confsync.errors.MalformedInputError`,
    never OverflowError: the message is then rejected, not retried until it is dead-lettered.
    """
    shown = repr(value[:_SHOWN_CHARACTERS]) + ("..." if len(value) > _SHOWN_CHARACTERS else "")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        if parsed.tzinfo is None:
            raise MalformedInputError(f"RFC3339 timestamp without offset: {shown}")
        moment = parsed.astimezone(UTC)
    except (ValueError, OverflowError) as err:
        raise MalformedInputError(f"not an RFC3339 timestamp: {shown}") from err
    if not EARLIEST <= moment < LATEST:
        raise MalformedInputError(f"timestamp out of range (1970 to 8999): {shown}")
    return moment


def _str(raw: Mapping[str, Any], key: str, where: str) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise MalformedInputError(f"{where}.{key} must be a string, got {type(value).__name__}")
    return value


def _mapping(raw: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any] | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise MalformedInputError(f"{where}.{key} must be an object")
    return value


def _list(raw: Mapping[str, Any], key: str, where: str) -> list[Any]:
    value = raw.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise MalformedInputError(f"{where}.{key} must be a list")
    return value


def _event_time(raw: Mapping[str, Any], key: str) -> EventTime | None:
    value = _mapping(raw, key, "event")
    if value is None:
        return None
    where = f"event.{key}"
    return EventTime(
        date_time=_str(value, "dateTime", where),
        date=_str(value, "date", where),
        time_zone=_str(value, "timeZone", where),
    )


def _clipped(value: str) -> str:
    """``value`` for a log line: quoted (control characters escaped) and cut when long."""
    if len(value) <= _LOGGED_CHARACTERS:
        return repr(value)
    return f"{value[:_LOGGED_CHARACTERS]!r}... ({len(value)} characters)"


def _conference_id(data: Mapping[str, Any], where: str, event_id: str) -> str | None:
    """The conference id, or None when absent or not of the accepted form (logged once)."""
    conference_id = _str(data, "conferenceId", where)
    if conference_id is None or is_conference_id(conference_id):
        return conference_id
    _LOGGER.warning(
        "event %s: ignoring its conference: conferenceData.conferenceId %s is not 1 to 128 of "
        "A-Z a-z 0-9 _ -",
        _clipped(event_id),
        _clipped(conference_id),
    )
    return None


def _conference(raw: Mapping[str, Any], event_id: str) -> ConferenceRef | None:
    data = _mapping(raw, "conferenceData", "event")
    if data is None:
        return None
    where = "event.conferenceData"
    solution_raw = _mapping(data, "conferenceSolution", where)
    solution = None
    if solution_raw is not None:
        key = _mapping(solution_raw, "key", f"{where}.conferenceSolution") or {}
        solution = ConferenceSolution(
            key_type=_str(key, "type", f"{where}.conferenceSolution.key") or "",
            name=_str(solution_raw, "name", f"{where}.conferenceSolution"),
        )
    video_uri = None
    for entry in _list(data, "entryPoints", where):
        if isinstance(entry, Mapping) and entry.get("entryPointType") == "video":
            video_uri = _str(entry, "uri", f"{where}.entryPoints[]")
            break
    parameters: dict[str, str] = {}
    add_on = _mapping(_mapping(data, "parameters", where) or {}, "addOnParameters", where) or {}
    for name, value in (_mapping(add_on, "parameters", where) or {}).items():
        if isinstance(value, str):
            parameters[str(name)] = value
    return ConferenceRef(
        conference_id=_conference_id(data, where, event_id),
        solution=solution,
        video_uri=video_uri,
        parameters=parameters,
    )


def _attendees(raw: Mapping[str, Any]) -> tuple[str, ...]:
    emails: set[str] = set()
    for attendee in _list(raw, "attendees", "event"):
        if not isinstance(attendee, Mapping):
            raise MalformedInputError("event.attendees[] must be objects")
        email = _str(attendee, "email", "event.attendees[]")
        if email and not attendee.get("resource"):
            emails.add(email.lower())
    return tuple(sorted(emails))


def decode_event(raw: Mapping[str, Any]) -> CalendarEvent:
    """Decode one Calendar API event resource (or tombstone) into a :class:`CalendarEvent`."""
    if not isinstance(raw, Mapping):
        raise MalformedInputError("event must be an object")
    event_id = _str(raw, "id", "event")
    if not event_id:
        raise MalformedInputError("event.id is missing")
    updated_raw = _str(raw, "updated", "event")
    organizer = _mapping(raw, "organizer", "event") or {}
    recurrence = _list(raw, "recurrence", "event")
    if not all(isinstance(line, str) for line in recurrence):
        raise MalformedInputError("event.recurrence[] must be strings")
    return CalendarEvent(
        id=event_id,
        status=_str(raw, "status", "event") or "confirmed",
        etag=_str(raw, "etag", "event"),
        updated=parse_rfc3339(updated_raw) if updated_raw else None,
        summary=_str(raw, "summary", "event"),
        start=_event_time(raw, "start"),
        end=_event_time(raw, "end"),
        recurrence=tuple(recurrence),
        recurring_event_id=_str(raw, "recurringEventId", "event"),
        original_start=_event_time(raw, "originalStartTime"),
        attendees=_attendees(raw),
        organizer_email=(_str(organizer, "email", "event.organizer") or "").lower() or None,
        organizer_self=organizer.get("self") is True,
        conference=_conference(raw, event_id),
        ical_uid=_str(raw, "iCalUID", "event"),
    )
