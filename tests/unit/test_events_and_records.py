"""Calendar events decode in one place; conference records survive their Firestore form."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from confsync.conference import ConferenceState, Occurrence
from confsync.errors import MalformedInputError
from confsync.events import decode_event
from confsync.records import (
    SCHEMA_VERSION,
    ConferenceRecord,
    EventSnapshot,
    OccurrenceSnapshot,
    PendingOperation,
    SentState,
    from_document,
    record_key,
    to_document,
)
from tests.support.calendar_events import conference_data
from tests.support.calendar_events import event as calendar_event


def test_deletion_tombstone_decodes_with_only_its_id() -> None:
    event = decode_event({"kind": "calendar#event", "id": "abc", "status": "cancelled"})

    assert event.cancelled
    assert not event.is_instance
    assert event.conference is None
    assert event.updated_ms == 0


def test_cancelled_instance_tombstone_keeps_its_series_and_original_start() -> None:
    event = decode_event(
        {
            "id": "abc_20260903T130000Z",
            "status": "cancelled",
            "recurringEventId": "abc",
            "originalStartTime": {"dateTime": "2026-09-03T09:00:00-04:00"},
        }
    )

    assert event.is_instance
    assert event.recurring_event_id == "abc"
    assert event.original_start is not None
    assert event.original_start.value == "2026-09-03T09:00:00-04:00"


def test_full_event_decodes_the_fields_confsync_uses() -> None:
    event = decode_event(
        calendar_event(
            "e1",
            etag='"123"',
            updated="2026-12-01T09:00:00.250Z",
            start="2026-12-02",
            end="2026-12-03",
            organizer="Alice@Example.com",
            attendees=[
                "bob@example.com",
                {"email": "room-1@resource.example.com", "resource": True},
                "BOB@example.com",
            ],
            conference=conference_data(
                "c-1",
                solution="My Web Conference",
                entry_points=[
                    {"entryPointType": "phone", "uri": "tel:+1"},
                    {"entryPointType": "video", "uri": "https://meet.example/c-1"},
                ],
                parameters={"addOnParameters": {"parameters": {"tenant": "t1"}}},
            ),
        )
    )

    assert event.updated == datetime(2026, 12, 1, 9, 0, 0, 250000, tzinfo=UTC)
    assert event.updated_ms == 1_796_115_600_250
    assert event.start is not None
    assert event.start.value == "2026-12-02"
    assert event.attendees == ("bob@example.com",)  # deduplicated, lower-cased, no rooms
    assert event.organizer_email == "alice@example.com"
    assert event.organizer_self
    assert event.conference is not None
    assert event.conference.conference_id == "c-1"
    assert event.conference.video_uri == "https://meet.example/c-1"
    assert event.conference.parameters == {"tenant": "t1"}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"status": "confirmed"}, "event.id is missing"),
        ({"id": "e1", "summary": 5}, "event.summary must be a string"),
        ({"id": "e1", "attendees": "bob"}, "event.attendees must be a list"),
        ({"id": "e1", "updated": "yesterday"}, "not an RFC3339 timestamp"),
        ({"id": "e1", "updated": "2026-12-01T09:00:00"}, "without offset"),
        ({"id": "e1", "recurrence": [1]}, "recurrence"),
    ],
)
def test_malformed_event_is_refused_with_a_clear_message(raw: Any, message: str) -> None:
    with pytest.raises(MalformedInputError, match=message):
        decode_event(raw)


def _record() -> ConferenceRecord:
    state = ConferenceState(
        title="Planning",
        start="2026-12-02T10:00:00Z",
        end="2026-12-02T11:00:00Z",
        time_zone="Europe/Paris",
        attendees=("bob@example.com",),
        recurrence=("RRULE:FREQ=WEEKLY;COUNT=5",),
        cancelled_occurrences=("2026-12-09T10:00:00Z",),
        modified_occurrences=(
            Occurrence("2026-12-16T10:00:00Z", "2026-12-16T12:00:00Z", "2026-12-16T13:00:00Z", "x"),
        ),
        organizer="alice@example.com",
        calendar_id="alice@example.com",
        event_id="s1",
    )
    return ConferenceRecord(
        key=record_key("ck_1", "c-1"),
        calendar_key="ck_1",
        conference_id="c-1",
        events={
            "s1": EventSnapshot(
                event_id="s1",
                title="Planning",
                start="2026-12-02T10:00:00Z",
                end="2026-12-02T11:00:00Z",
                time_zone="Europe/Paris",
                recurrence=("RRULE:FREQ=WEEKLY;COUNT=5",),
                attendees=("bob@example.com",),
                organizer="alice@example.com",
                updated_ms=42,
            )
        },
        occurrences={
            "s1_x": OccurrenceSnapshot(
                instance_id="s1_x",
                series_id="s1",
                original_start="2026-12-09T10:00:00Z",
                cancelled=True,
                updated_ms=43,
            )
        },
        primary_event_id="s1",
        detached_ms=41,
        sent=SentState(revision=42, state=state, join_url="https://conf.example/j/c-1"),
        pending=PendingOperation(
            attempts=2,
            next_attempt_at=datetime(2026, 12, 1, tzinfo=UTC),
            last_error="503",
        ),
    )


def test_record_round_trips_through_its_document() -> None:
    record = _record()

    document = to_document(record)
    decoded = from_document(record.key, document)

    assert decoded == record
    assert decoded.sent is not None
    assert decoded.sent.join_url == "https://conf.example/j/c-1"
    assert decoded.events["s1"].updated_ms == 42
    assert decoded.occurrences["s1_x"].updated_ms == 43
    assert decoded.detached_ms == 41
    assert document["event_ids"] == ["s1"]
    assert document["has_pending"] is True
    assert document["schema_version"] == SCHEMA_VERSION


def test_record_stored_before_join_urls_were_kept_decodes_with_none() -> None:
    record = _record()
    document = to_document(record)
    del document["sent"]["join_url"]

    decoded = from_document(record.key, document)

    assert record.sent is not None
    # Unknown, so the next answer counts as a new URL; everything else reads as before.
    assert decoded == replace(record, sent=replace(record.sent, join_url=None))


def test_record_stored_before_detached_times_were_kept_decodes_with_zero() -> None:
    record = _record()
    document = to_document(record)
    del document["detached_ms"]

    assert from_document(record.key, document) == replace(record, detached_ms=0)


def test_record_ownership_round_trips_through_its_document() -> None:
    owned = replace(_record(), owner="Alice@Example.com", owner_known=True, role="acting")
    ownerless = replace(_record(), owner_known=True, role="reference", reference_logged=True)

    for record in (owned, ownerless):
        assert from_document(record.key, to_document(record)) == record


def test_record_stored_before_owners_decodes_as_not_yet_known() -> None:
    record = _record()
    document = to_document(replace(record, owner="alice@example.com", owner_known=True))
    for name in ("owner", "owner_known", "role", "reference_logged"):
        del document[name]

    decoded = from_document(record.key, document)

    assert (decoded.owner, decoded.owner_known, decoded.role) == (None, False, "unknown")
    assert decoded == record


def test_record_with_an_unknown_role_is_refused() -> None:
    document = to_document(_record()) | {"role": "anyone"}

    with pytest.raises(MalformedInputError, match="role"):
        from_document("cf_x", document)


def test_record_of_another_schema_version_is_refused() -> None:
    document = to_document(_record()) | {"schema_version": SCHEMA_VERSION + 1}

    with pytest.raises(MalformedInputError, match="schema_version"):
        from_document("cf_x", document)


def test_broken_record_document_is_refused() -> None:
    document = to_document(_record())
    del document["events"]

    with pytest.raises(MalformedInputError, match="malformed"):
        from_document("cf_x", document)


def test_record_keys_are_opaque_and_scoped_to_the_calendar() -> None:
    assert record_key("ck_1", "c-1") != record_key("ck_2", "c-1")
    assert "c-1" not in record_key("ck_1", "c-1")
