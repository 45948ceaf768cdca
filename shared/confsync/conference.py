"""The desired state of a conference, as confsync sends it to the conferencing system.

A :class:`ConferenceState` is derived from the Calendar events that reference the conference (see
:mod:`confsync.planner`) and sent with ``PUT /v1/conferences/{id}`` of the conferencing contract
(``docs/conferencing-api.yaml``). Field names on the wire are the contract's camelCase names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

__all__ = [
    "ALWAYS_RELEVANT",
    "CONFERENCE_ID_PATTERN",
    "STATE_FIELDS",
    "ConferenceState",
    "Occurrence",
    "is_conference_id",
]

CONFERENCE_ID_PATTERN: Final = re.compile(r"[A-Za-z0-9_-]{1,128}")
"""The form of a conference id confsync accepts (whole string): 1 to 128 ASCII letters, digits,
``_`` and ``-`` (the contract's ``ConferenceId``). An id of any other form is never ours: it is
ignored where ``conferenceData`` is decoded and refused by the HTTP adapter before any request,
so it never reaches a URL path."""


def is_conference_id(value: object) -> bool:
    """Whether ``value`` is a string of the form :data:`CONFERENCE_ID_PATTERN`."""
    return isinstance(value, str) and CONFERENCE_ID_PATTERN.fullmatch(value) is not None


# Wire names of the state fields, in the contract's order.
STATE_FIELDS = (
    "title",
    "start",
    "end",
    "timeZone",
    "attendees",
    "recurrence",
    "cancelledOccurrences",
    "modifiedOccurrences",
    "organizer",
    "calendarId",
    "eventId",
)

# Changes to these always lead to an update, whatever the configured relevant fields: they describe
# which occurrences exist and which event the conference follows.
ALWAYS_RELEVANT = frozenset({"cancelledOccurrences", "modifiedOccurrences", "eventId"})


@dataclass(frozen=True, slots=True, order=True)
class Occurrence:
    """One occurrence of a series that was moved or renamed (a modified instance)."""

    original_start: str
    start: str
    end: str
    title: str | None

    def to_wire(self) -> dict[str, Any]:
        """The contract's ``modifiedOccurrences[]`` object."""
        return {
            "originalStart": self.original_start,
            "start": self.start,
            "end": self.end,
            "title": self.title,
        }


@dataclass(frozen=True, slots=True)
class ConferenceState:
    """What the conference should look like, derived from its Calendar event(s)."""

    title: str | None
    start: str
    end: str
    time_zone: str | None
    attendees: tuple[str, ...]
    recurrence: tuple[str, ...]
    cancelled_occurrences: tuple[str, ...]
    modified_occurrences: tuple[Occurrence, ...]
    organizer: str | None
    calendar_id: str
    event_id: str

    def to_wire(self) -> dict[str, Any]:
        """The state as the contract's JSON object (without ``revision``)."""
        return {
            "title": self.title,
            "start": self.start,
            "end": self.end,
            "timeZone": self.time_zone,
            "attendees": list(self.attendees),
            "recurrence": list(self.recurrence),
            "cancelledOccurrences": list(self.cancelled_occurrences),
            "modifiedOccurrences": [o.to_wire() for o in self.modified_occurrences],
            "organizer": self.organizer,
            "calendarId": self.calendar_id,
            "eventId": self.event_id,
        }

    def changed_fields(self, before: ConferenceState | None) -> tuple[str, ...]:
        """Wire names of the fields that differ from ``before`` (all of them when None)."""
        mine = self.to_wire()
        if before is None:
            return STATE_FIELDS
        theirs = before.to_wire()
        return tuple(name for name in STATE_FIELDS if mine[name] != theirs[name])
