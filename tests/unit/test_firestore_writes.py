"""The record store's whole-document writes are the messages the client library would send.

:mod:`confsync.adapters.firestore_writes` encodes records and pointers as the REST API's JSON;
these tests parse that JSON into the protobuf message and hold it to the library's
``WriteBatch.set`` message for every kind of value a record stores, and to the preconditions the
store relies on. No emulator: building a batch sends nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from google.api_core.datetime_helpers import DatetimeWithNanoseconds
from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore
from google.cloud.firestore_v1.types import write as write_types
from google.protobuf import json_format  # type: ignore[import-untyped]

from confsync.adapters.firestore_http import Client
from confsync.adapters.firestore_writes import whole_write
from confsync.conference import ConferenceState, Occurrence
from confsync.records import (
    CalendarRefs,
    ConferenceRecord,
    EventSnapshot,
    OccurrenceSnapshot,
    PendingOperation,
    SentState,
    to_document,
)

T0 = datetime(2026, 12, 4, 9, 30, 15, 123456, tzinfo=UTC)


@pytest.fixture(name="library")
def library_fixture() -> firestore.Client:
    return firestore.Client(project="confsync-unit", credentials=AnonymousCredentials())


@pytest.fixture(name="client")
def client_fixture() -> Client:
    return Client("confsync-unit", http=None)


def _pb(write: dict[str, Any]) -> Any:
    return json_format.ParseDict(write, write_types.Write.pb()())


def _rich_record() -> ConferenceRecord:
    """A record with every kind of stored value: nested maps (empty ones too), lists, None,
    booleans, integers, a timestamp."""
    event = EventSnapshot(
        event_id="ev1",
        title="Weekly",
        start="2026-12-05T10:00:00Z",
        end="2026-12-05T10:30:00Z",
        time_zone="Europe/Paris",
        recurrence=("RRULE:FREQ=WEEKLY",),
        attendees=("a@example.com", "b@example.com"),
        organizer="owner@example.com",
        updated_ms=1_764_000_000_000,
        ical_uid="uid-1@google.com",
    )
    exception = OccurrenceSnapshot(
        instance_id="ev1_20261212T100000Z",
        series_id="ev1",
        original_start="2026-12-12T10:00:00Z",
        cancelled=False,
        start="2026-12-12T11:00:00Z",
        end="2026-12-12T11:30:00Z",
        title=None,
    )
    state = ConferenceState(
        title="Weekly",
        start="2026-12-05T10:00:00Z",
        end="2026-12-05T10:30:00Z",
        time_zone="Europe/Paris",
        attendees=("a@example.com",),
        recurrence=(),
        cancelled_occurrences=("2026-12-19T10:00:00Z",),
        modified_occurrences=(Occurrence("2026-12-12T10:00:00Z", "x", "y", None),),
        organizer="owner@example.com",
        calendar_id="owner@example.com",
        event_id="ev1",
    )
    return ConferenceRecord(
        key="conf_abc-defg-hij",
        conference_id="abc-defg-hij",
        home_key="cal_1",
        calendars={
            "cal_1": CalendarRefs(
                subject="owner@example.com",
                calendar_id="owner@example.com",
                events={"ev1": event},
                occurrences={exception.instance_id: exception},
                primary_event_id="ev1",
                departed={"ev0": None, "ev9": "uid-9@google.com"},
            ),
            "cal_2": CalendarRefs(subject="owner@example.com", calendar_id="second@example.com"),
        },
        references=3,
        sent=SentState(revision=1_764_000_000_000, state=state, join_url="https://j.example/1"),
        pending=PendingOperation(attempts=2, next_attempt_at=T0, last_error="unavailable: 503"),
        owner="owner@example.com",
        owner_known=True,
    )


def _library_set(library: firestore.Client, path: str, document: dict[str, Any]) -> Any:
    batch = library.batch()
    batch.set(library.document(path), document)
    return batch._write_pbs[0]._pb


def test_a_record_is_encoded_as_the_library_encodes_a_set(
    client: Client, library: firestore.Client
) -> None:
    ref = client.collection("conferences").document("conf_abc-defg-hij")
    document = to_document(_rich_record())

    assert _pb(whole_write(ref, document)) == _library_set(library, ref.path, document)


def test_timestamps_keep_their_precision_whatever_their_type(
    client: Client, library: firestore.Client
) -> None:
    ref = client.collection("c").document("d")
    with_nanos = DatetimeWithNanoseconds(2026, 12, 4, 9, 30, 15, nanosecond=123456789, tzinfo=UTC)
    document = {"aware": T0, "naive": T0.replace(tzinfo=None), "nanos": with_nanos, "f": 0.25}

    assert _pb(whole_write(ref, document)) == _library_set(library, ref.path, document)


def test_a_new_record_is_written_only_if_it_does_not_exist(client: Client) -> None:
    ref = client.collection("conferences").document("k")

    write = _pb(whole_write(ref, {"a": 1}, exists=False))

    assert write.current_document.HasField("exists")
    assert write.current_document.exists is False
    assert not write.HasField("update_mask")


def test_a_stored_record_is_written_only_if_unchanged_since_read(
    client: Client, library: firestore.Client
) -> None:
    ref = client.collection("conferences").document("k")
    version = "2026-12-04T09:30:15.123456Z"  # Firestore's update times are in microseconds
    option = library.write_option(last_update_time=DatetimeWithNanoseconds.from_rfc3339(version))
    batch = library.batch()
    batch.update(library.document(ref.path), {"a": 1}, option=option)  # the library's form

    write = _pb(whole_write(ref, {"a": 1}, update_time=version))

    assert write.current_document == batch._write_pbs[0]._pb.current_document


def test_a_pointer_is_written_whatever_was_there(client: Client) -> None:
    write = _pb(whole_write(client.collection("p").document("ev"), {"event_id": "e"}))

    assert not write.HasField("current_document")


def test_added_writes_are_committed_in_order(client: Client) -> None:
    refs = [client.collection("c").document(f"d{n}") for n in range(3)]
    batch = client.batch()

    for n, ref in enumerate(refs):
        batch.add_write(whole_write(ref, {"n": n}))

    assert [w["update"]["name"] for w in batch._writes] == [r.name for r in refs]


def test_a_value_firestore_cannot_hold_is_refused(client: Client) -> None:
    with pytest.raises(TypeError, match="timedelta"):
        whole_write(client.collection("c").document("d"), {"gap": timedelta(seconds=1)})
