"""Conference records: what confsync remembers about each conference, and their Firestore form.

One record per (calendar, conference): the live events that reference the conference (standalone
events and series masters), the exceptions of those series, what was last sent to the conferencing
system, and an operation still pending after failures (or a delete waiting for the deletion
brake: ``hold``, see :mod:`confsync.sync.brake`). Records are keyed deterministically
(:func:`record_key`) so an event carrying a conference finds its record with a direct read; a
deletion tombstone, which carries only an id, finds it through the store's event lookup
(``RecordStore.by_event_ids``; in Firestore, one small pointer document per event). The stored
``event_ids`` list is for people inspecting the database.

Ownership (:mod:`confsync.ownership`): a record keeps the conference's ``owner`` as the
conferencing system returned it, once looked up (``owner_known``; ``owner`` None with
``owner_known`` means the conference has no owner), and its calendar's ``role`` for it:
``acting`` (its events change and delete the conference), ``reference`` (they never do) or
``unknown`` (not decided yet: nothing is sent). Documents stored before ownership read as
"not yet known".

``to_document`` and ``from_document`` are the only places that know the stored shape; a document
with another ``schema_version`` is refused rather than misread.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, cast

from confsync.conference import ConferenceState, Occurrence
from confsync.errors import MalformedInputError
from confsync.ownership import Role

__all__ = [
    "DEPARTED_MAX",
    "SCHEMA_VERSION",
    "ConferenceRecord",
    "EventSnapshot",
    "HoldState",
    "OccurrenceSnapshot",
    "PendingOperation",
    "RecordStatus",
    "SentState",
    "from_document",
    "record_key",
    "to_document",
]

SCHEMA_VERSION = 1

RecordStatus = Literal["active", "deleted", "failed", "transferred"]
"""``transferred``: the calendar's last event carrying the conference moved to another user's
enrolled calendar (a new organizer); the conference was kept, this record acts no more until an
event carrying it comes back (:mod:`confsync.sync.grace`)."""

DEPARTED_MAX = 20
"""How many departed events a record remembers (the latest ones)."""

HoldState = Literal["held", "released"]
"""Where the deletion brake left a record's delete (see :mod:`confsync.sync.brake`): ``held``,
not sent until an operator releases it; ``released``, sent when due and exempt from the brake."""
_HOLD_STATES = frozenset({"held", "released"})
_ROLES = frozenset({"unknown", "acting", "reference"})


def record_key(calendar_key: str, conference_id: str) -> str:
    """The document id of the record of ``conference_id`` in the calendar ``calendar_key``."""
    digest = hashlib.sha256(f"{calendar_key}\x00{conference_id}".encode()).hexdigest()
    return f"cf_{digest[:40]}"


@dataclass(frozen=True, slots=True)
class EventSnapshot:
    """The relevant fields of one live event (or series master) that references the conference.

    ``updated_ms`` does not take part in equality: an edit that changes no relevant field leaves
    the snapshot equal, so the record is not rewritten.
    """

    event_id: str
    title: str | None
    start: str
    end: str
    time_zone: str | None
    recurrence: tuple[str, ...]
    attendees: tuple[str, ...]
    organizer: str | None
    updated_ms: int = field(default=0, compare=False)
    ical_uid: str | None = field(default=None, compare=False)
    """The event's ``iCalUID`` (None in records stored before it was kept)."""


@dataclass(frozen=True, slots=True)
class OccurrenceSnapshot:
    """An exception of a tracked series: one instance moved, renamed or cancelled."""

    instance_id: str
    series_id: str
    original_start: str
    cancelled: bool
    start: str | None = None
    end: str | None = None
    title: str | None = None
    updated_ms: int = field(default=0, compare=False)

    def as_occurrence(self) -> Occurrence:
        """The modified occurrence as the conference state lists it."""
        return Occurrence(
            original_start=self.original_start,
            start=self.start or self.original_start,
            end=self.end or "",
            title=self.title,
        )


@dataclass(frozen=True, slots=True)
class SentState:
    """The last state the conferencing system accepted (``state`` None: deleted).

    ``join_url`` is the last join URL it answered for the conference (None: not known yet, as in
    records stored before it was kept). The sync compares each answer with it, so only a URL that
    really changed costs reads of events not on the page, and an event seen showing another URL
    is repaired even when nothing is sent.
    """

    revision: int
    state: ConferenceState | None
    join_url: str | None = None


@dataclass(frozen=True, slots=True)
class PendingOperation:
    """An operation that failed and waits for a later sync to retry it."""

    attempts: int
    next_attempt_at: datetime
    last_error: str


@dataclass(frozen=True, slots=True)
class ConferenceRecord:
    """Everything confsync knows about one conference in one calendar."""

    key: str
    calendar_key: str
    conference_id: str
    events: Mapping[str, EventSnapshot] = field(default_factory=dict)
    occurrences: Mapping[str, OccurrenceSnapshot] = field(default_factory=dict)
    primary_event_id: str | None = None
    sent: SentState | None = None
    pending: PendingOperation | None = None
    status: RecordStatus = "active"
    detached_ms: int = 0
    """The latest ``updated`` of an event that left the conference (moved to another, lost it,
    or was deleted). Revisions never go below it: when the last event leaves, the DELETE must
    outrank any update of ours the system applied but whose answer was lost."""
    hold: HoldState | None = None
    """The deletion brake's mark on a pending delete: ``held`` (never sent by the sync; the
    record is not counted as pending) or ``released`` by an operator (sent, exempt from the
    brake). None otherwise; cleared once the delete is sent or no longer needed."""
    owner: str | None = None
    """The conference's owner as the conferencing system returned it (compare ignoring case);
    None while not known, or when it has none (``owner_known``)."""
    owner_known: bool = False
    """Whether the owner was looked up: False means "not yet known" (ask the system)."""
    role: Role = "unknown"
    """This calendar's part in the conference (:data:`confsync.ownership.Role`); only an
    ``acting`` record ever produces an operation or a write-back."""
    reference_logged: bool = False
    """Whether the INFO line about this calendar carrying someone else's conference was logged."""
    departed: Mapping[str, str | None] = field(default_factory=dict)
    """The events that left the record (event id -> ``iCalUID``, None when not known), the latest
    :data:`DEPARTED_MAX`: when its delete falls due after the grace, the same event found carrying
    the conference on another enrolled calendar cancels it (:mod:`confsync.sync.grace`)."""

    @property
    def held(self) -> bool:
        """A delete the brake holds: not retried, not counted as pending."""
        return self.hold == "held"

    @property
    def event_ids(self) -> tuple[str, ...]:
        """Ids of the live events referencing the conference (the tombstone lookup field)."""
        return tuple(sorted(self.events))

    @property
    def max_updated_ms(self) -> int:
        """The latest ``updated`` of any event content this record holds."""
        stamps = [s.updated_ms for s in self.events.values()]
        stamps += [o.updated_ms for o in self.occurrences.values()]
        return max(stamps, default=0)


# --- Firestore form -------------------------------------------------------------------------


def _state_to_doc(state: ConferenceState) -> dict[str, Any]:
    return state.to_wire()


def _state_from_doc(doc: Mapping[str, Any]) -> ConferenceState:
    return ConferenceState(
        title=doc["title"],
        start=doc["start"],
        end=doc["end"],
        time_zone=doc["timeZone"],
        attendees=tuple(doc["attendees"]),
        recurrence=tuple(doc["recurrence"]),
        cancelled_occurrences=tuple(doc["cancelledOccurrences"]),
        modified_occurrences=tuple(
            Occurrence(
                original_start=o["originalStart"], start=o["start"], end=o["end"], title=o["title"]
            )
            for o in doc["modifiedOccurrences"]
        ),
        organizer=doc["organizer"],
        calendar_id=doc["calendarId"],
        event_id=doc["eventId"],
    )


def to_document(record: ConferenceRecord) -> dict[str, Any]:
    """The Firestore document of ``record`` (its id is ``record.key``)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "calendar_key": record.calendar_key,
        "conference_id": record.conference_id,
        "event_ids": list(record.event_ids),
        "primary_event_id": record.primary_event_id,
        "status": record.status,
        "detached_ms": record.detached_ms,
        "has_pending": record.pending is not None and record.status == "active" and not record.held,
        "hold": record.hold,
        "owner": record.owner,
        "owner_known": record.owner_known,
        "role": record.role,
        "reference_logged": record.reference_logged,
        "departed": dict(record.departed),
        "events": {
            event_id: {
                "title": s.title,
                "start": s.start,
                "end": s.end,
                "time_zone": s.time_zone,
                "recurrence": list(s.recurrence),
                "attendees": list(s.attendees),
                "organizer": s.organizer,
                "updated_ms": s.updated_ms,
                "ical_uid": s.ical_uid,
            }
            for event_id, s in record.events.items()
        },
        "occurrences": {
            instance_id: {
                "series_id": o.series_id,
                "original_start": o.original_start,
                "cancelled": o.cancelled,
                "start": o.start,
                "end": o.end,
                "title": o.title,
                "updated_ms": o.updated_ms,
            }
            for instance_id, o in record.occurrences.items()
        },
        "sent": None
        if record.sent is None
        else {
            "revision": record.sent.revision,
            "state": None if record.sent.state is None else _state_to_doc(record.sent.state),
            "join_url": record.sent.join_url,
        },
        "pending": None
        if record.pending is None
        else {
            "attempts": record.pending.attempts,
            "next_attempt_at": record.pending.next_attempt_at,
            "last_error": record.pending.last_error,
        },
    }


def from_document(key: str, doc: Mapping[str, Any]) -> ConferenceRecord:
    """Decode a stored record; raise MalformedInputError for another schema or a broken shape."""
    version = doc.get("schema_version")
    if version != SCHEMA_VERSION:
        raise MalformedInputError(
            f"conference record {key} has schema_version {version!r}, expected {SCHEMA_VERSION}"
        )
    try:
        sent_doc = doc["sent"]
        pending_doc = doc["pending"]
        return ConferenceRecord(
            key=key,
            calendar_key=doc["calendar_key"],
            conference_id=doc["conference_id"],
            primary_event_id=doc["primary_event_id"],
            status=doc["status"],
            detached_ms=int(doc.get("detached_ms", 0)),  # absent from records stored before it
            hold=_hold(doc.get("hold")),  # absent from records stored before the brake
            # The four ownership fields are absent from records stored before ownership.
            owner=_optional_str(doc.get("owner")),
            owner_known=bool(doc.get("owner_known", False)),
            role=_role(doc.get("role", "unknown")),
            reference_logged=bool(doc.get("reference_logged", False)),
            departed=_departed(doc.get("departed")),  # absent from records stored before it
            events={
                event_id: EventSnapshot(
                    event_id=event_id,
                    title=s["title"],
                    start=s["start"],
                    end=s["end"],
                    time_zone=s["time_zone"],
                    recurrence=tuple(s["recurrence"]),
                    attendees=tuple(s["attendees"]),
                    organizer=s["organizer"],
                    updated_ms=int(s["updated_ms"]),
                    ical_uid=_optional_str(s.get("ical_uid")),
                )
                for event_id, s in doc["events"].items()
            },
            occurrences={
                instance_id: OccurrenceSnapshot(
                    instance_id=instance_id,
                    series_id=o["series_id"],
                    original_start=o["original_start"],
                    cancelled=bool(o["cancelled"]),
                    start=o["start"],
                    end=o["end"],
                    title=o["title"],
                    updated_ms=int(o["updated_ms"]),
                )
                for instance_id, o in doc["occurrences"].items()
            },
            sent=None
            if sent_doc is None
            else SentState(
                revision=int(sent_doc["revision"]),
                state=None if sent_doc["state"] is None else _state_from_doc(sent_doc["state"]),
                join_url=sent_doc.get("join_url"),  # absent from records stored before it
            ),
            pending=None
            if pending_doc is None
            else PendingOperation(
                attempts=int(pending_doc["attempts"]),
                next_attempt_at=pending_doc["next_attempt_at"],
                last_error=pending_doc["last_error"],
            ),
        )
    except (AttributeError, KeyError, TypeError, ValueError) as err:
        raise MalformedInputError(f"conference record {key} is malformed: {err!r}") from err


def _hold(value: Any) -> HoldState | None:
    if value is None or value in _HOLD_STATES:
        return cast(HoldState | None, value)
    raise ValueError(f"unknown hold {value!r}")


def _departed(value: Any) -> dict[str, str | None]:
    if value is None:
        return {}
    return {str(event_id): _optional_str(uid) for event_id, uid in dict(value).items()}


def _role(value: Any) -> Role:
    if value in _ROLES:
        return cast(Role, value)
    raise ValueError(f"unknown role {value!r}")


def _optional_str(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise TypeError(f"expected a string, not {type(value).__name__}")
