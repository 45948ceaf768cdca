"""Conference records: what confsync remembers about each conference, and their Firestore form.

**One record per conference**, keyed by its id (:func:`conference_key`), whichever calendars
carry it. A record holds:

- the conference's ``owner`` as the conferencing system returned it, once looked up
  (``owner_known``; ``owner`` None with ``owner_known`` means the conference has none, and
  ``claimant`` names the subject that acts for it under the ``first-claimant`` policy);
- the **owner's references**, per enrolled calendar of the owner (:class:`CalendarRefs`: the live
  events carrying the conference, series masters included, the exceptions of those series, the
  events that left lately). The desired state is computed from them all
  (:func:`confsync.planner.desired_state`), so two calendars never send conflicting updates;
- ``references``: how many events of anyone else carry the conference. They never change or
  delete it and are only **counted**, so a record stays small however many people copy a
  conference; the store's event pointers say which event counts where. Of those, the latest
  :data:`DEPARTED_MAX` that their own calendar organises (a copy, or an event of the owner's
  moved there) are named in ``elsewhere``: a delete's grace asks whether one of them left the
  owner's calendar (:mod:`confsync.sync.grace`);
- the last state the conferencing system accepted (``sent``), an operation still pending after
  failures (or a delete the deletion brake holds: ``hold``), and the record's ``status``;
- its **home calendar** (``home_key``): the calendar whose runs retry its pending operation and
  whose deletion brake counts its delete, the calendar of the references that decide its state
  (or, once none is left, of the last one that left).

Several calendars' runs may write one record at the same time, so every write is conditional on
the record being as it was read (``version``, the store's opaque token; not part of equality): a
store refuses a stale write with :class:`~confsync.errors.RecordConflictError` and the run reads
again and plans again.

``to_document`` and ``from_document`` are the only places that know the stored shape; a document
with another ``schema_version`` is refused rather than misread (records of schema 1, one per
calendar and conference, are migrated: :mod:`confsync.record_migration`).

Schema 3 (written now) keeps the fields queries use at the top level and stores the rest, the
references and the sent state, as one compact JSON text, ``body``: Firestore indexes every field
of a nested map, so the nested form cost a write dozens of index entries no query reads, and each
read and write a deep value tree to encode. Schema 2 documents (the same content with
``calendars`` and ``sent`` as maps) are still read, and become schema 3 when next written.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal, cast

from confsync.conference import ConferenceState, Occurrence, is_conference_id
from confsync.errors import MalformedInputError
from confsync.ownership import Role

__all__ = [
    "DEPARTED_MAX",
    "KEY_PREFIX",
    "SCHEMA_VERSION",
    "CalendarRefs",
    "ConferenceRecord",
    "EventSnapshot",
    "HoldState",
    "OccurrenceSnapshot",
    "PendingOperation",
    "RecordStatus",
    "SentState",
    "conference_key",
    "from_document",
    "moved_scope",
    "to_document",
]

SCHEMA_VERSION = 3
_READABLE_VERSIONS = frozenset({2, SCHEMA_VERSION})
_BODY_FIELDS = ("calendars", "sent")

KEY_PREFIX = "conf_"

RecordStatus = Literal["active", "deleted", "failed", "transferred"]
"""``transferred``: the last event of the owner carrying the conference moved to a calendar
confsync does not act from (another organizer, or out of its sight); the conference was kept and
the record acts no more until an event of the owner carrying it comes back
(:mod:`confsync.sync.grace`)."""

DEPARTED_MAX = 20
"""How many departed events a calendar's references remember (the latest ones)."""

HoldState = Literal["held", "released"]
"""Where the deletion brake left a record's delete (see :mod:`confsync.sync.brake`): ``held``,
not sent until an operator releases it; ``released``, sent when due and exempt from the brake."""
_HOLD_STATES = frozenset({"held", "released"})
_STATUSES = frozenset({"active", "deleted", "failed", "transferred"})


def moved_scope(subject: str) -> str:
    """The attachment scope of the events of ``subject``'s calendars that moved away: when a
    delete's grace finds the owner's event moved to where confsync does not act for it (the
    record turns ``transferred``), the event is attached to the record in this scope, so a
    tombstone of it on another calendar of the same subject, which never saw it live (it was
    deleted there before that calendar synced), finds the record and deletes the conference
    (:mod:`confsync.folding`)."""
    digest = hashlib.sha256(subject.strip().casefold().encode()).hexdigest()
    return f"mv_{digest[:32]}"


def conference_key(conference_id: str) -> str:
    """The document id of the record of ``conference_id`` (ValueError for an id not of the
    form :data:`~confsync.conference.CONFERENCE_ID_PATTERN`, which never gets this far)."""
    if not is_conference_id(conference_id):
        raise ValueError(f"not a conference id: {conference_id!r}")
    return f"{KEY_PREFIX}{conference_id}"


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
    """The event's ``iCalUID`` (None when not known)."""


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

    ``join_url`` is the last join URL it answered for the conference (None: not known yet). The
    sync compares each answer with it, so only a URL that really changed costs reads of events
    not on the page, and an event seen showing another URL is repaired even when nothing is sent.
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
class CalendarRefs:
    """The owner's references to a conference on one enrolled calendar."""

    subject: str
    """The subject (user) the calendar is enrolled under."""
    calendar_id: str
    events: Mapping[str, EventSnapshot] = field(default_factory=dict)
    occurrences: Mapping[str, OccurrenceSnapshot] = field(default_factory=dict)
    primary_event_id: str | None = None
    departed: Mapping[str, str | None] = field(default_factory=dict)
    """The events that left (event id -> ``iCalUID``, None when not known), the latest
    :data:`DEPARTED_MAX`: when a delete falls due after its grace, the Calendar is asked about
    the last of them (:mod:`confsync.sync.grace`)."""

    @property
    def max_updated_ms(self) -> int:
        """The latest ``updated`` of any event content held here."""
        stamps = [s.updated_ms for s in self.events.values()]
        stamps += [o.updated_ms for o in self.occurrences.values()]
        return max(stamps, default=0)


@dataclass(frozen=True, slots=True)
class ConferenceRecord:
    """Everything confsync knows about one conference (see the module docstring)."""

    key: str
    conference_id: str
    home_key: str
    """The home calendar: its runs retry the pending operation and brake the delete."""
    calendars: Mapping[str, CalendarRefs] = field(default_factory=dict)
    references: int = 0
    """Events of anyone but the owner carrying the conference (counted, never stored)."""
    elsewhere: Mapping[str, str] = field(default_factory=dict)
    """Of the counted events, those their own calendar organises (event id -> calendar key),
    the latest :data:`DEPARTED_MAX`: another user's copy, or an event of the owner's that was
    moved to that user before the owner's calendar saw it (it then left the owner's calendar
    only a stub of its id). A delete's grace asks the owner's calendar about them."""
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
    claimant: str | None = None
    """For a conference without an owner, under the ``first-claimant`` policy: the subject
    whose calendars act for it (the first that carried it)."""
    version: str | None = field(default=None, compare=False)
    """The store's token of the stored version this record was read from (None: not stored
    yet); a write succeeds only while the stored record is still that version."""

    @property
    def actor(self) -> str | None:
        """Whose events change the conference: its owner, else its claimant (None: nobody, or
        not known yet)."""
        return self.owner if self.owner is not None else self.claimant

    @property
    def role(self) -> Role:
        """``unknown`` until the owner is known; then ``acting`` when someone's events act for
        the conference (its owner's, or for an ownerless one its claimant's), else
        ``reference`` (nobody acts: every event carrying it is counted only)."""
        if not self.owner_known:
            return "unknown"
        return "acting" if self.actor is not None else "reference"

    @property
    def held(self) -> bool:
        """A delete the brake holds: not retried, not counted as pending."""
        return self.hold == "held"

    @property
    def event_ids(self) -> set[str]:
        """Every event the record holds on any calendar, live or departed."""
        return {e for refs in self.calendars.values() for e in (*refs.events, *refs.departed)}

    @property
    def live_calendars(self) -> tuple[str, ...]:
        """Keys of the calendars with live events carrying the conference, sorted."""
        return tuple(sorted(key for key, refs in self.calendars.items() if refs.events))

    @property
    def max_updated_ms(self) -> int:
        """The latest ``updated`` of any event content this record holds."""
        return max((refs.max_updated_ms for refs in self.calendars.values()), default=0)

    @property
    def deciding_key(self) -> str | None:
        """The calendar whose references decide the conference's state: of the calendars with
        live events, the one updated last (ties: the greatest key); None when none is left."""
        live = [(key, refs) for key, refs in self.calendars.items() if refs.events]
        if not live:
            return None
        return max(live, key=lambda item: (item[1].max_updated_ms, item[0]))[0]

    def refs_of(self, calendar_key: str) -> CalendarRefs | None:
        """The references on one calendar, or None."""
        return self.calendars.get(calendar_key)

    def with_refs(self, calendar_key: str, refs: CalendarRefs | None) -> ConferenceRecord:
        """The record with the references of ``calendar_key`` replaced (None: removed)."""
        calendars = {k: v for k, v in self.calendars.items() if k != calendar_key}
        if refs is not None:
            calendars[calendar_key] = refs
        return replace(self, calendars=dict(sorted(calendars.items())))


# --- Firestore form -------------------------------------------------------------------------


def state_to_doc(state: ConferenceState) -> dict[str, Any]:
    """A conference state as stored (the contract's wire form)."""
    return state.to_wire()


def state_from_doc(doc: Mapping[str, Any]) -> ConferenceState:
    """A stored conference state (KeyError, TypeError for a broken shape)."""
    for name in ("attendees", "recurrence", "cancelledOccurrences", "modifiedOccurrences"):
        if not isinstance(doc[name], list):
            raise TypeError(f"{name} must be a list")
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


def event_to_doc(s: EventSnapshot) -> dict[str, Any]:
    """An event snapshot as stored (its id is the map key)."""
    return {
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


def event_from_doc(event_id: str, s: Mapping[str, Any]) -> EventSnapshot:
    """A stored event snapshot."""
    return EventSnapshot(
        event_id=event_id,
        title=s["title"],
        start=s["start"],
        end=s["end"],
        time_zone=s["time_zone"],
        recurrence=tuple(s["recurrence"]),
        attendees=tuple(s["attendees"]),
        organizer=s["organizer"],
        updated_ms=int(s["updated_ms"]),
        ical_uid=optional_str(s.get("ical_uid")),
    )


def occurrence_to_doc(o: OccurrenceSnapshot) -> dict[str, Any]:
    """An occurrence snapshot as stored (its instance id is the map key)."""
    return {
        "series_id": o.series_id,
        "original_start": o.original_start,
        "cancelled": o.cancelled,
        "start": o.start,
        "end": o.end,
        "title": o.title,
        "updated_ms": o.updated_ms,
    }


def occurrence_from_doc(instance_id: str, o: Mapping[str, Any]) -> OccurrenceSnapshot:
    """A stored occurrence snapshot."""
    return OccurrenceSnapshot(
        instance_id=instance_id,
        series_id=o["series_id"],
        original_start=o["original_start"],
        cancelled=bool(o["cancelled"]),
        start=o["start"],
        end=o["end"],
        title=o["title"],
        updated_ms=int(o["updated_ms"]),
    )


def sent_to_doc(sent: SentState | None) -> dict[str, Any] | None:
    """The sent state as stored."""
    if sent is None:
        return None
    return {
        "revision": sent.revision,
        "state": None if sent.state is None else state_to_doc(sent.state),
        "join_url": sent.join_url,
    }


def sent_from_doc(doc: Mapping[str, Any] | None) -> SentState | None:
    """A stored sent state."""
    if doc is None:
        return None
    return SentState(
        revision=int(doc["revision"]),
        state=None if doc["state"] is None else state_from_doc(doc["state"]),
        join_url=optional_str(doc.get("join_url")),
    )


def pending_to_doc(pending: PendingOperation | None) -> dict[str, Any] | None:
    """A pending operation as stored."""
    if pending is None:
        return None
    return {
        "attempts": pending.attempts,
        "next_attempt_at": pending.next_attempt_at,
        "last_error": pending.last_error,
    }


def pending_from_doc(doc: Mapping[str, Any] | None) -> PendingOperation | None:
    """A stored pending operation."""
    if doc is None:
        return None
    due, error = doc["next_attempt_at"], doc["last_error"]
    if not isinstance(due, datetime) or not isinstance(error, str):
        raise TypeError("pending needs a time next_attempt_at and a text last_error")
    return PendingOperation(attempts=int(doc["attempts"]), next_attempt_at=due, last_error=error)


def _refs_to_doc(refs: CalendarRefs) -> dict[str, Any]:
    return {
        "subject": refs.subject,
        "calendar_id": refs.calendar_id,
        "primary_event_id": refs.primary_event_id,
        "departed": dict(refs.departed),
        "events": {event_id: event_to_doc(s) for event_id, s in refs.events.items()},
        "occurrences": {key: occurrence_to_doc(o) for key, o in refs.occurrences.items()},
    }


def _refs_from_doc(doc: Mapping[str, Any]) -> CalendarRefs:
    return CalendarRefs(
        subject=str(doc["subject"]),
        calendar_id=str(doc["calendar_id"]),
        primary_event_id=optional_str(doc["primary_event_id"]),
        departed=departed_from_doc(doc.get("departed")),
        events={event_id: event_from_doc(event_id, s) for event_id, s in doc["events"].items()},
        occurrences={key: occurrence_from_doc(key, o) for key, o in doc["occurrences"].items()},
    )


def to_document(record: ConferenceRecord) -> dict[str, Any]:
    """The Firestore document of ``record`` (its id is ``record.key``).

    ``calendar_keys`` (every calendar holding references, for ``array-contains`` queries) and
    ``has_pending`` (a pending operation a run retries) are derived, for queries only; ``body``
    is the JSON text of the references and the sent state (no query reads inside it).
    """
    body: dict[str, Any] = {
        "calendars": {key: _refs_to_doc(refs) for key, refs in sorted(record.calendars.items())},
        "sent": sent_to_doc(record.sent),
    }
    if record.elsewhere:
        body["elsewhere"] = dict(record.elsewhere)
    return {
        "schema_version": SCHEMA_VERSION,
        "conference_id": record.conference_id,
        "home_calendar_key": record.home_key,
        "calendar_keys": sorted(record.calendars),
        "status": record.status,
        "detached_ms": record.detached_ms,
        "has_pending": record.pending is not None and record.status == "active" and not record.held,
        "hold": record.hold,
        "owner": record.owner,
        "owner_known": record.owner_known,
        "claimant": record.claimant,
        "references": record.references,
        "body": json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        "pending": pending_to_doc(record.pending),
    }


def from_document(key: str, doc: Mapping[str, Any], version: str | None = None) -> ConferenceRecord:
    """Decode a stored record of schema 3 or 2 (``version``: the store's token of it); raise
    MalformedInputError for another schema or a broken shape."""
    found = doc.get("schema_version")
    if type(found) is not int or found not in _READABLE_VERSIONS:
        raise MalformedInputError(
            f"conference record {key} has schema_version {found!r}, expected {SCHEMA_VERSION}"
        )
    try:
        body = _body(doc) if found == SCHEMA_VERSION else {n: doc[n] for n in _BODY_FIELDS}
        return ConferenceRecord(
            key=key,
            conference_id=str(doc["conference_id"]),
            home_key=str(doc["home_calendar_key"]),
            calendars={k: _refs_from_doc(v) for k, v in dict(body["calendars"]).items()},
            references=int(doc["references"]),
            elsewhere=_elsewhere(body.get("elsewhere")),
            status=_status(doc["status"]),
            detached_ms=int(doc["detached_ms"]),
            hold=_hold(doc["hold"]),
            owner=optional_str(doc["owner"]),
            owner_known=bool(doc["owner_known"]),
            claimant=optional_str(doc["claimant"]),
            sent=sent_from_doc(body["sent"]),
            pending=pending_from_doc(doc["pending"]),
            version=version,
        )
    except (AttributeError, KeyError, OverflowError, TypeError, ValueError) as err:
        raise MalformedInputError(f"conference record {key} is malformed: {err!r}") from err
    except RecursionError as err:
        raise MalformedInputError(f"conference record {key} is malformed: nested too deep") from err


def _body(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The decoded ``body`` text of a schema-3 document (ValueError, TypeError if broken)."""
    text = doc["body"]
    if not isinstance(text, str):
        raise TypeError(f"body must be a JSON text, not {type(text).__name__}")
    body = json.loads(text, parse_constant=_no_constant)
    if not isinstance(body, dict):
        raise TypeError(f"body must hold a JSON object, not {type(body).__name__}")
    return body


def _elsewhere(value: Any) -> dict[str, str]:
    """A stored map of counted events organised elsewhere (absent: none)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise TypeError(f"elsewhere must be a map, not {type(value).__name__}")
    found: dict[str, str] = {}
    for event_id, key in value.items():
        if not isinstance(key, str):
            raise TypeError(f"elsewhere names a calendar key {key!r}, not a string")
        found[str(event_id)] = key
    return found


def _no_constant(name: str) -> Any:
    raise ValueError(f"body holds {name}, which JSON does not allow")


def _status(value: Any) -> RecordStatus:
    if value in _STATUSES:
        return cast(RecordStatus, value)
    raise ValueError(f"unknown status {value!r}")


def _hold(value: Any) -> HoldState | None:
    if value is None or value in _HOLD_STATES:
        return cast(HoldState | None, value)
    raise ValueError(f"unknown hold {value!r}")


def departed_from_doc(value: Any) -> dict[str, str | None]:
    """A stored map of departed events (absent: none)."""
    if value is None:
        return {}
    return {str(event_id): optional_str(uid) for event_id, uid in dict(value).items()}


def optional_str(value: Any) -> str | None:
    """``value`` when it is a string or None; TypeError otherwise."""
    if value is None or isinstance(value, str):
        return value
    raise TypeError(f"expected a string, not {type(value).__name__}")
