"""Conference records of schema 1, one per (calendar, conference): read only, to migrate them.

Before one record per conference (:mod:`confsync.records`), confsync kept a record per calendar
and conference, keyed ``cf_`` + a hash of both (:func:`record_key`), with the calendar's live
events carrying the conference, their series' exceptions, what was last sent, a pending
operation and, since ownership, the conference's owner and that calendar's ``role`` for it.
:mod:`confsync.record_migration` folds them into records of schema 2; :func:`to_document` exists
so tests can build an old database.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from confsync.errors import MalformedInputError
from confsync.ownership import Role
from confsync.records import (
    EventSnapshot,
    HoldState,
    OccurrenceSnapshot,
    PendingOperation,
    RecordStatus,
    SentState,
    departed_from_doc,
    event_from_doc,
    event_to_doc,
    occurrence_from_doc,
    occurrence_to_doc,
    optional_str,
    pending_from_doc,
    pending_to_doc,
    sent_from_doc,
    sent_to_doc,
)

__all__ = ["LEGACY_SCHEMA_VERSION", "LegacyRecord", "from_document", "record_key", "to_document"]

LEGACY_SCHEMA_VERSION = 1
_ROLES = frozenset({"unknown", "acting", "reference"})


def record_key(calendar_key: str, conference_id: str) -> str:
    """The document id a schema-1 record of ``conference_id`` in ``calendar_key`` had."""
    digest = hashlib.sha256(f"{calendar_key}\x00{conference_id}".encode()).hexdigest()
    return f"cf_{digest[:40]}"


@dataclass(frozen=True, slots=True)
class LegacyRecord:
    """Everything a schema-1 record knew about one conference in one calendar."""

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
    hold: HoldState | None = None
    owner: str | None = None
    owner_known: bool = False
    role: Role = "unknown"
    departed: Mapping[str, str | None] = field(default_factory=dict)


def to_document(record: LegacyRecord) -> dict[str, Any]:
    """The schema-1 document of ``record`` (for tests that build an old database)."""
    return {
        "schema_version": LEGACY_SCHEMA_VERSION,
        "calendar_key": record.calendar_key,
        "conference_id": record.conference_id,
        "event_ids": sorted(record.events),
        "primary_event_id": record.primary_event_id,
        "status": record.status,
        "detached_ms": record.detached_ms,
        "has_pending": record.pending is not None and record.status == "active",
        "hold": record.hold,
        "owner": record.owner,
        "owner_known": record.owner_known,
        "role": record.role,
        "reference_logged": False,
        "departed": dict(record.departed),
        "events": {event_id: event_to_doc(s) for event_id, s in record.events.items()},
        "occurrences": {key: occurrence_to_doc(o) for key, o in record.occurrences.items()},
        "sent": sent_to_doc(record.sent),
        "pending": pending_to_doc(record.pending),
    }


def from_document(key: str, doc: Mapping[str, Any]) -> LegacyRecord:
    """Decode a schema-1 record; MalformedInputError for another schema or a broken shape.

    Fields added over schema 1's life (``detached_ms``, ``hold``, the ownership fields,
    ``departed``) are absent from the oldest documents and read as their defaults."""
    version = doc.get("schema_version")
    if version != LEGACY_SCHEMA_VERSION:
        raise MalformedInputError(f"record {key} has schema_version {version!r}, expected 1")
    try:
        return LegacyRecord(
            key=key,
            calendar_key=str(doc["calendar_key"]),
            conference_id=str(doc["conference_id"]),
            primary_event_id=optional_str(doc["primary_event_id"]),
            status=cast(RecordStatus, doc["status"]),
            detached_ms=int(doc.get("detached_ms", 0)),
            hold=cast(HoldState | None, doc.get("hold")),
            owner=optional_str(doc.get("owner")),
            owner_known=bool(doc.get("owner_known", False)),
            role=_role(doc.get("role", "unknown")),
            departed=departed_from_doc(doc.get("departed")),
            events={k: event_from_doc(k, s) for k, s in doc["events"].items()},
            occurrences={k: occurrence_from_doc(k, o) for k, o in doc["occurrences"].items()},
            sent=sent_from_doc(doc["sent"]),
            pending=pending_from_doc(doc["pending"]),
        )
    except (AttributeError, KeyError, OverflowError, TypeError, ValueError) as err:
        raise MalformedInputError(f"record {key} is malformed: {err!r}") from err


def _role(value: Any) -> Role:
    if value in _ROLES:
        return cast(Role, value)
    raise ValueError(f"unknown role {value!r}")
