"""The channel store contract, run against the Firestore adapter (emulator) and the in-memory fake,
so the fake the unit tests rely on behaves like the real store. Plus the record forgetter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore

from confsync.adapters.firestore_channels import (
    CHANNEL_QUERY_SHAPES,
    FirestoreChannelStore,
    FirestoreRecordForgetter,
)
from confsync.adapters.firestore_store import FirestoreRecordStore
from confsync.channel_docs import ChannelDoc
from confsync.errors import MalformedInputError
from confsync.ports import ChannelStore
from confsync.records import ConferenceRecord
from confsync.testing import InMemoryChannelStore
from devstack.gcloud_emulators import EmulatorEndpoints

pytestmark = pytest.mark.emulators

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _client(endpoints: EmulatorEndpoints) -> firestore.Client:
    return firestore.Client(
        project=endpoints.project,
        credentials=AnonymousCredentials(),
    )


@pytest.fixture(name="store", params=["firestore", "memory"])
def store_fixture(request: pytest.FixtureRequest) -> ChannelStore:
    if request.param == "memory":
        return InMemoryChannelStore()
    endpoints: EmulatorEndpoints = request.getfixturevalue("firestore_emulator")
    return FirestoreChannelStore(_client(endpoints))


def _channel(channel_id: str, key: str = "ck_a", hours: float = 10, **fields: Any) -> ChannelDoc:
    return ChannelDoc(
        id=channel_id,
        calendar_key=key,
        subject="dave@example.com",
        resource_id=f"res-{key}",
        expiration=NOW + timedelta(hours=hours),
        created_at=NOW,
        **fields,
    )


def test_put_get_round_trips(store: ChannelStore) -> None:
    channel = _channel("ch-1")

    store.put(channel)

    assert store.get("ch-1") == channel
    assert store.get("ch-unknown") is None


def test_expiring_before_returns_active_channels_soonest_first(store: ChannelStore) -> None:
    store.put(_channel("late", hours=30))
    store.put(_channel("soon", hours=2))
    store.put(_channel("sooner", hours=1))
    store.put(_channel("replaced", hours=1, state="superseded"))

    due = store.expiring_before(NOW + timedelta(hours=24), limit=10)

    assert [c.id for c in due] == ["sooner", "soon"]
    assert [c.id for c in store.expiring_before(NOW + timedelta(hours=24), limit=1)] == ["sooner"]


def test_queries_by_calendar_and_collectable_states(store: ChannelStore) -> None:
    store.put(_channel("a1", key="ck_a"))
    store.put(_channel("a2", key="ck_a", state="superseded"))
    store.put(_channel("b1", key="ck_b", state="stopped"))

    assert [c.id for c in store.active_for("ck_a")] == ["a1"]
    assert sorted(c.id for c in store.of_calendar("ck_a")) == ["a1", "a2"]
    assert sorted(c.id for c in store.superseded_or_orphaned(10)) == ["a2", "b1"]
    assert len(store.superseded_or_orphaned(1)) == 1


def test_set_state_and_delete_are_idempotent(store: ChannelStore) -> None:
    store.put(_channel("ch-1"))

    store.set_state("ch-1", "superseded")
    store.set_state("ch-unknown", "stopped")
    assert store.active_for("ck_a") == []
    store.delete("ch-1")
    store.delete("ch-1")

    assert store.get("ch-1") is None


def test_a_document_of_another_schema_is_refused(firestore_emulator: EmulatorEndpoints) -> None:
    client = _client(firestore_emulator)
    client.collection("channels").document("ch-old").set({"schema_version": 0})

    with pytest.raises(MalformedInputError, match="schema_version"):
        FirestoreChannelStore(client).get("ch-old")


def test_query_shapes_are_registered() -> None:
    methods = {shape.method for shape in CHANNEL_QUERY_SHAPES}

    assert "FirestoreChannelStore.expiring_before" in methods
    assert "FirestoreRecordForgetter.forget_calendar" in methods


def test_forget_calendar_deletes_only_that_calendars_records_and_pointers(
    firestore_emulator: EmulatorEndpoints,
) -> None:
    client = _client(firestore_emulator)
    records = FirestoreRecordStore(client)
    ours = ConferenceRecord(key="r1", calendar_key="ck_a", conference_id="c1")
    theirs = ConferenceRecord(key="r2", calendar_key="ck_b", conference_id="c2")
    records.save([ours, theirs])
    client.collection("conference_events").document("p1").set(
        {"calendar_key": "ck_a", "event_id": "e1", "record_key": "r1"}
    )

    deleted = FirestoreRecordForgetter(client).forget_calendar("ck_a")

    assert deleted == 1
    assert [r.key for r in records.by_keys(["r1", "r2"])] == ["r2"]
    assert not client.collection("conference_events").document("p1").get().exists


def test_queries_skip_a_malformed_record_instead_of_failing(
    firestore_emulator: EmulatorEndpoints,
) -> None:
    client = _client(firestore_emulator)
    store = FirestoreChannelStore(client)
    store.put(_channel("good"))
    client.collection("channels").document("bad").set(
        {"schema_version": 1, "calendar_key": "ck_a", "state": "active", "expiration": "soon"}
    )

    assert [c.id for c in store.active_for("ck_a")] == ["good"]
