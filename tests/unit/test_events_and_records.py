"""Calendar events decode in one place; conference records survive their Firestore form, and
schema-1 records (one per calendar and conference) are read and merged into one per conference."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from confsync import legacy_records
from confsync.conference import ConferenceState, Occurrence
from confsync.errors import MalformedInputError
from confsync.events import decode_event
from confsync.legacy_records import LegacyRecord
from confsync.record_migration import merged
from confsync.records import (
    SCHEMA_VERSION,
    CalendarRefs,
    ConferenceRecord,
    EventSnapshot,
    OccurrenceSnapshot,
    PendingOperation,
    SentState,
    conference_key,
    from_document,
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


# --- conference records (schema 2: one per conference) ------------------------------------------

OWNER = "alice@example.com"
TEAM = "team@group.calendar.google.com"
WEEKLY = ("RRULE:FREQ=WEEKLY;COUNT=5",)


def _state(**changes: Any) -> ConferenceState:
    state = ConferenceState(
        title="Planning",
        start="2026-12-02T10:00:00Z",
        end="2026-12-02T11:00:00Z",
        time_zone="Europe/Paris",
        attendees=("bob@example.com",),
        recurrence=WEEKLY,
        cancelled_occurrences=("2026-12-09T10:00:00Z",),
        modified_occurrences=(
            Occurrence("2026-12-16T10:00:00Z", "2026-12-16T12:00:00Z", "2026-12-16T13:00:00Z", "x"),
        ),
        organizer=OWNER,
        calendar_id=OWNER,
        event_id="s1",
    )
    return replace(state, **changes)


def _snapshot(
    event_id: str = "s1", *, organizer: str = OWNER, updated_ms: int = 42
) -> EventSnapshot:
    return EventSnapshot(
        event_id=event_id,
        title="Planning",
        start="2026-12-02T10:00:00Z",
        end="2026-12-02T11:00:00Z",
        time_zone="Europe/Paris",
        recurrence=WEEKLY,
        attendees=("bob@example.com",),
        organizer=organizer,
        updated_ms=updated_ms,
        ical_uid=f"{event_id}@google.com",
    )


def _cancelled_instance() -> OccurrenceSnapshot:
    return OccurrenceSnapshot(
        instance_id="s1_x",
        series_id="s1",
        original_start="2026-12-09T10:00:00Z",
        cancelled=True,
        updated_ms=43,
    )


def _pending() -> PendingOperation:
    return PendingOperation(
        attempts=2, next_attempt_at=datetime(2026, 12, 1, tzinfo=UTC), last_error="503"
    )


def _record() -> ConferenceRecord:
    """conf c-1 of alice: a series with an exception on her primary calendar, a copy on her team
    calendar that left, three counted references of other people (one of them Bob's own
    event), an update pending."""
    primary = CalendarRefs(
        subject=OWNER,
        calendar_id=OWNER,
        events={"s1": _snapshot()},
        occurrences={"s1_x": _cancelled_instance()},
        primary_event_id="s1",
    )
    team = CalendarRefs(
        subject=OWNER, calendar_id=TEAM, departed={"t1": "t1@google.com", "t2": None}
    )
    return ConferenceRecord(
        key=conference_key("c-1"),
        conference_id="c-1",
        home_key="ck_primary",
        calendars={"ck_primary": primary, "ck_team": team},
        references=3,
        elsewhere={"b7": "ck_bob"},
        sent=SentState(revision=42, state=_state(), join_url="https://conf.example/j/c-1"),
        pending=_pending(),
        detached_ms=41,
        owner="Alice@Example.com",
        owner_known=True,
    )


def _claimed() -> ConferenceRecord:
    """An ownerless conference claimed by bob, its delete held by the brake."""
    return replace(
        _record(),
        owner=None,
        claimant="bob@example.com",
        sent=SentState(revision=50, state=None),
        hold="held",
        status="active",
    )


@pytest.mark.parametrize("record", [_record(), _claimed()], ids=["owned", "claimed"])
def test_record_round_trips_through_its_document(record: ConferenceRecord) -> None:
    decoded = from_document(record.key, to_document(record))

    assert decoded == record
    assert decoded.calendars["ck_primary"].events["s1"].updated_ms == 42
    assert decoded.calendars["ck_primary"].events["s1"].ical_uid == "s1@google.com"
    assert decoded.calendars["ck_primary"].occurrences["s1_x"].updated_ms == 43
    assert decoded.calendars["ck_team"].departed == {"t1": "t1@google.com", "t2": None}
    assert (decoded.references, decoded.home_key) == (3, "ck_primary")
    assert decoded.elsewhere == {"b7": "ck_bob"}
    assert (decoded.owner, decoded.claimant) == (record.owner, record.claimant)


def test_record_version_is_the_stores_token_passed_beside_the_document() -> None:
    record = _record()

    decoded = from_document(record.key, to_document(record), version="v7")

    assert decoded.version == "v7"
    assert "v7" not in str(to_document(decoded))
    assert decoded == replace(record, version="v1")  # a token is no part of the record's content


def test_record_document_names_its_calendars_and_pending_state_for_queries() -> None:
    document = to_document(_record())

    assert document["schema_version"] == SCHEMA_VERSION
    assert document["home_calendar_key"] == "ck_primary"
    assert document["calendar_keys"] == ["ck_primary", "ck_team"]
    assert document["has_pending"] is True
    assert to_document(_claimed())["has_pending"] is False  # a held delete waits for an operator


def _schema_2(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` as schema 2 stored it: the references and sent state as nested maps (and no
    ``elsewhere``: it only counted the events of other users)."""
    body: dict[str, Any] = json.loads(document["body"])
    body.pop("elsewhere", None)
    return {k: v for k, v in document.items() if k != "body"} | body | {"schema_version": 2}


def test_record_body_is_one_json_text_and_the_queried_fields_stay_top_level() -> None:
    document = to_document(_record())

    assert isinstance(document["body"], str)
    assert set(json.loads(document["body"])) == {"calendars", "elsewhere", "sent"}
    # Only ``pending`` stays a map: a query orders by pending.next_attempt_at.
    assert [name for name, value in document.items() if isinstance(value, dict)] == ["pending"]


@pytest.mark.parametrize("record", [_record(), _claimed()], ids=["owned", "claimed"])
def test_a_schema_2_document_decodes_to_the_same_record(record: ConferenceRecord) -> None:
    decoded = from_document(record.key, _schema_2(to_document(record)))

    assert decoded == replace(record, elsewhere={})


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(None, id="absent"),
        pytest.param({"calendars": {}, "sent": None}, id="a-map-not-a-text"),
        pytest.param("{calendars", id="not-json"),
        pytest.param("[]", id="not-an-object"),
        pytest.param('{"calendars": {}}', id="no-sent"),
        pytest.param('{"calendars": {}, "sent": {"revision": NaN, "state": null}}', id="nan"),
        pytest.param("[" * 100_000 + "]" * 100_000, id="nested-too-deep"),
    ],
)
def test_a_broken_body_is_refused(body: Any) -> None:
    document = to_document(_record()) | {"body": body}

    with pytest.raises(MalformedInputError, match="malformed"):
        from_document("conf_c-1", document)


def test_record_stored_before_join_urls_were_kept_decodes_with_none() -> None:
    record = _record()
    document = _schema_2(to_document(record))
    del document["sent"]["join_url"]

    decoded = from_document(record.key, document)

    assert record.sent is not None
    # Unknown, so the next answer counts as a new URL; everything else reads as before.
    assert decoded == replace(record, sent=replace(record.sent, join_url=None), elsewhere={})


@pytest.mark.parametrize("version", [1, SCHEMA_VERSION + 1, None, "3", 3.0, True])
def test_record_of_another_schema_version_is_refused(version: Any) -> None:
    document = to_document(_record()) | {"schema_version": version}

    with pytest.raises(MalformedInputError, match="schema_version"):
        from_document("conf_c-1", document)


def test_schema_1_document_is_refused_rather_than_misread() -> None:
    legacy = legacy_records.to_document(_legacy("ck_primary", events={"s1": _snapshot()}))

    with pytest.raises(MalformedInputError, match="schema_version 1"):
        from_document("conf_c-1", legacy)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param({"status": "paused"}, "status", id="unknown-status"),
        pytest.param({"hold": "maybe"}, "hold", id="unknown-hold"),
        pytest.param({"references": "many"}, "malformed", id="uncountable-references"),
        pytest.param(
            {"body": json.dumps({"calendars": {"ck_primary": {"subject": OWNER}}, "sent": None})},
            "malformed",
            id="refs",
        ),
        pytest.param({"owner": 7}, "malformed", id="owner-not-a-string"),
    ],
)
def test_broken_record_document_is_refused(change: dict[str, Any], message: str) -> None:
    document = to_document(_record()) | change

    with pytest.raises(MalformedInputError, match=message):
        from_document("conf_c-1", document)


@pytest.mark.parametrize("name", ["body", "references", "home_calendar_key", "claimant"])
def test_record_document_missing_a_field_is_refused(name: str) -> None:
    document = to_document(_record())
    del document[name]

    with pytest.raises(MalformedInputError, match="malformed"):
        from_document("conf_c-1", document)


def test_record_key_is_the_conference_whatever_calendar_carries_it() -> None:
    assert conference_key("c-1") == "conf_c-1"
    assert conference_key("c-1") != conference_key("c-2")
    with pytest.raises(ValueError, match="not a conference id"):
        conference_key("../c-1")


# Anything a document may hold: what Firestore stores (no NaN), nested a few levels.
_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
_JSON = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


@st.composite
def _broken_documents(draw: st.DrawFn) -> dict[str, Any]:
    """A valid record document with some fields, at any depth (the body's too), replaced or
    removed; of schema 3 or 2."""
    document: dict[str, Any] = to_document(draw(st.sampled_from([_record(), _claimed()])))
    as_text = draw(st.booleans())
    if as_text:
        document["body"] = json.loads(document["body"])
    else:
        document = _schema_2(document)
    for _ in range(draw(st.integers(1, 3))):
        node: Any = document
        while isinstance(node, dict) and node:
            name = draw(st.sampled_from(sorted(node)))
            if not isinstance(node[name], dict) or not node[name] or draw(st.booleans()):
                if draw(st.booleans()):
                    del node[name]
                else:
                    node[name] = draw(_JSON)
                break
            node = node[name]
    if as_text and isinstance(document.get("body"), dict):
        document["body"] = json.dumps(document["body"])
    return document


@settings(database=None, max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    document=_broken_documents()
    | st.dictionaries(st.text(), _JSON).map(lambda d: {**d, "schema_version": SCHEMA_VERSION})
    | st.dictionaries(st.text(), _JSON)
)
def test_any_document_decodes_or_is_refused_as_malformed(document: dict[str, Any]) -> None:
    try:
        record = from_document("conf_c-1", document)
    except MalformedInputError:
        return
    assert isinstance(record, ConferenceRecord)


_ODD_VALUES = st.sampled_from([float("inf"), float("-inf"), 2**70, -1, 0.5, "", [], {}, [[1, 2]]])


@settings(database=None, max_examples=300)
@given(
    name=st.sampled_from(sorted(to_document(_record()))),
    value=_ODD_VALUES | _SCALARS | _JSON,
)
def test_a_field_of_any_value_decodes_or_is_refused_as_malformed(name: str, value: Any) -> None:
    document = to_document(_record()) | {name: value}

    try:
        record = from_document("conf_c-1", document)
    except MalformedInputError:
        return
    assert isinstance(record, ConferenceRecord)


# --- schema-1 records: read, and merged into one per conference ---------------------------------


def _legacy(calendar_key: str, **fields: Any) -> LegacyRecord:
    return LegacyRecord(
        key=legacy_records.record_key(calendar_key, "c-1"),
        calendar_key=calendar_key,
        conference_id="c-1",
        **fields,
    )


def test_legacy_record_round_trips_through_its_document() -> None:
    record = _legacy(
        "ck_primary",
        events={"s1": _snapshot()},
        occurrences={"s1_x": _cancelled_instance()},
        primary_event_id="s1",
        sent=SentState(revision=42, state=_state(), join_url="https://conf.example/j/c-1"),
        pending=_pending(),
        detached_ms=41,
        hold="released",
        owner=OWNER,
        owner_known=True,
        role="acting",
        departed={"e9": None},
    )

    assert legacy_records.from_document(record.key, legacy_records.to_document(record)) == record


def test_oldest_legacy_document_reads_with_the_defaults_of_later_fields() -> None:
    oldest = {
        "schema_version": 1,
        "calendar_key": "ck_primary",
        "conference_id": "c-1",
        "event_ids": ["s1"],
        "primary_event_id": "s1",
        "status": "active",
        "has_pending": False,
        "events": {
            "s1": json.loads(to_document(_record())["body"])["calendars"]["ck_primary"]["events"][
                "s1"
            ]
        },
        "occurrences": {},
        "sent": {"revision": 42, "state": None},
        "pending": None,
    }

    record = legacy_records.from_document("cf_old", oldest)

    assert (record.detached_ms, record.hold, record.departed) == (0, None, {})
    assert (record.owner, record.owner_known, record.role) == (None, False, "unknown")
    assert record.sent == SentState(revision=42, state=None, join_url=None)
    assert record.events["s1"] == _snapshot()


def test_legacy_record_with_an_unknown_role_is_refused() -> None:
    document = legacy_records.to_document(_legacy("ck_primary")) | {"role": "anyone"}

    with pytest.raises(MalformedInputError, match="role"):
        legacy_records.from_document("cf_x", document)


def test_legacy_record_with_an_infinite_time_is_refused() -> None:
    document = legacy_records.to_document(_legacy("ck_primary")) | {"detached_ms": float("inf")}

    with pytest.raises(MalformedInputError, match="malformed"):
        legacy_records.from_document("cf_x", document)


def test_legacy_reader_refuses_a_schema_2_document() -> None:
    with pytest.raises(MalformedInputError, match="schema_version"):
        legacy_records.from_document("cf_x", to_document(_record()))


def test_legacy_keys_were_opaque_and_scoped_to_the_calendar() -> None:
    assert legacy_records.record_key("ck_1", "c-1") != legacy_records.record_key("ck_2", "c-1")
    assert "c-1" not in legacy_records.record_key("ck_1", "c-1")


def _merge(*legacy: LegacyRecord, subject: str = OWNER) -> ConferenceRecord:
    record = None
    for old in legacy:
        calendar_id = TEAM if old.calendar_key == "ck_team" else subject
        record = merged(
            record, old, subject=subject, calendar_id=calendar_id, policy="first-claimant"
        )
    assert record is not None
    return record


def _primary_legacy() -> LegacyRecord:
    return _legacy(
        "ck_primary",
        events={"s1": _snapshot()},
        sent=SentState(revision=42, state=_state()),
        owner=OWNER,
        owner_known=True,
        role="acting",
    )


def _team_legacy() -> LegacyRecord:
    return _legacy(
        "ck_team",
        events={"t1": _snapshot("t1", organizer=TEAM, updated_ms=60)},
        sent=SentState(revision=60, state=_state(title="Team planning", calendar_id=TEAM)),
        pending=_pending(),
        owner=OWNER,
        owner_known=True,
        role="acting",
    )


@pytest.mark.parametrize("order", ["primary-first", "team-first"])
def test_two_schema_1_records_of_the_owners_calendars_merge_into_one(order: str) -> None:
    legacy = [_primary_legacy(), _team_legacy()]

    record = _merge(*(legacy if order == "primary-first" else reversed(legacy)))

    assert record.key == conference_key("c-1")
    assert set(record.calendars["ck_primary"].events) == {"s1"}
    assert set(record.calendars["ck_team"].events) == {"t1"}
    assert record.calendars["ck_team"].calendar_id == TEAM
    assert (record.owner, record.owner_known, record.references) == (OWNER, True, 0)
    assert record.sent is not None
    assert record.sent.revision == 60  # the higher revision sent wins
    assert record.pending == _pending()
    assert record.home_key == "ck_team"  # the pending operation's calendar retries it


def test_a_pending_operation_moves_the_home_to_its_calendar() -> None:
    primary = replace(_primary_legacy(), pending=None)
    team = _team_legacy()

    assert _merge(primary).home_key == "ck_primary"
    assert _merge(primary, team).home_key == "ck_team"


def test_a_schema_1_reference_record_becomes_a_count() -> None:
    bobs = _legacy(
        "ck_bob",
        events={"b1": _snapshot("b1", organizer="bob@example.com"), "b2": _snapshot("b2")},
        owner=OWNER,
        owner_known=True,
        role="reference",
    )

    record = _merge(_primary_legacy(), bobs)

    assert record.references == 2
    assert set(record.calendars) == {"ck_primary"}
    assert record.home_key == "ck_primary"


def test_merging_the_same_schema_1_record_again_keeps_one_copy_of_its_references() -> None:
    once = _merge(_primary_legacy(), _team_legacy())

    again = _merge(_primary_legacy(), _team_legacy(), _team_legacy())

    assert again == once
