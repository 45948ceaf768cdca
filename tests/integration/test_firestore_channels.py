"""The channel store contract, run against the Firestore adapter (emulator) and the in-memory fake,
so the fake the unit tests rely on behaves like the real store. Plus the record forgetter."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from confsync.adapters import firestore_http as firestore
from confsync.adapters.firestore_channels import (
    CHANNEL_QUERY_SHAPES,
    FirestoreChannelStore,
    FirestoreRecordForgetter,
)
from confsync.adapters.firestore_store import FirestoreRecordStore
from confsync.channel_docs import ChannelDoc
from confsync.errors import MalformedInputError
from confsync.legacy_records import LegacyRecord, record_key, to_document
from confsync.ports import ChannelStore, PageCursor
from confsync.records import CalendarRefs, ConferenceRecord, EventSnapshot, conference_key
from confsync.testing import InMemoryChannelStore
from devstack.gcloud_emulators import EmulatorEndpoints

pytestmark = pytest.mark.emulators

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _client(endpoints: EmulatorEndpoints) -> firestore.Client:
    return firestore.Client.from_environment(endpoints.project)


@pytest.fixture(name="store", params=["firestore", "memory"])
def store_fixture(request: pytest.FixtureRequest) -> ChannelStore:
    if request.param == "memory":
        return InMemoryChannelStore()
    endpoints: EmulatorEndpoints = request.getfixturevalue("firestore_emulator")
    return FirestoreChannelStore(_client(endpoints))


def _conference(
    conference_id: str, calendars: dict[str, tuple[str, ...]], references: int = 0
) -> ConferenceRecord:
    return ConferenceRecord(
        key=conference_key(conference_id),
        conference_id=conference_id,
        home_key=next(iter(calendars)),
        calendars={
            key: CalendarRefs(
                subject="dave@example.com",
                calendar_id="primary",
                events={e: _event(e) for e in events},
            )
            for key, events in calendars.items()
        },
        references=references,
    )


def _event(event_id: str) -> EventSnapshot:
    return EventSnapshot(
        event_id, "t", "2026-12-02T10:00:00Z", "2026-12-02T11:00:00Z", None, (), (), None
    )


def _bodies(collection: firestore.CollectionReference) -> list[dict[str, Any]]:
    return [snapshot.to_dict() or {} for snapshot in collection.stream()]


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
    first = store.expiring_before(NOW + timedelta(hours=24), limit=1)

    assert [c.id for c in due.items] == ["sooner", "soon"]
    assert due.cursor is None
    assert [c.id for c in first.items] == ["sooner"]
    assert first.cursor is not None


def test_expiring_before_pages_through_every_due_channel_once(store: ChannelStore) -> None:
    # ties on expiration, and channels renewed (superseded) between pages
    ids = [f"ch-{i:02d}" for i in range(9)]
    for i, channel_id in enumerate(ids):
        store.put(_channel(channel_id, key=f"ck_{i}", hours=1 + i // 2))
    store.put(_channel("fresh", hours=48))

    seen: list[str] = []
    cursor: PageCursor | None = None
    while True:
        page = store.expiring_before(NOW + timedelta(hours=24), 2, cursor)
        assert len(page.items) <= 2
        seen += [c.id for c in page.items]
        for channel in page.items:
            store.set_state(channel.id, "superseded")
        if page.cursor is None:
            break
        cursor = page.cursor

    assert seen == ids


def test_active_for_many_finds_the_active_channels_of_many_calendars(store: ChannelStore) -> None:
    keys = [f"ck_{i:02d}" for i in range(40)]  # more than one ``in`` filter holds
    for key in keys:
        store.put(_channel(f"{key}-live", key=key))
    store.put(_channel("ck_00-second", key="ck_00"))
    store.put(_channel("ck_01-old", key="ck_01", state="superseded"))
    store.put(_channel("other-live", key="ck_other"))

    found = store.active_for_many([*keys, "ck_none", "ck_00"])

    assert sorted(found) == keys
    assert sorted(c.id for c in found["ck_00"]) == ["ck_00-live", "ck_00-second"]
    assert [c.id for c in found["ck_01"]] == ["ck_01-live"]
    assert store.active_for_many([]) == {}


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
    for method in methods:
        class_name, name = method.split(".")
        assert class_name == "FirestoreChannelStore"
        assert callable(getattr(FirestoreChannelStore, name))
    # The forgetter queries through the record store's registered shapes (QUERY_SHAPES).
    assert not any(m.startswith("FirestoreRecordForgetter.") for m in methods)


def test_forget_calendar_forgets_only_that_calendars_part_of_the_records(
    firestore_emulator: EmulatorEndpoints,
) -> None:
    client = _client(firestore_emulator)
    records = FirestoreRecordStore(client)
    shared = _conference("c1", {"ck_a": ("e1",), "ck_b": ("e2",)}, references=1)
    ours = _conference("c2", {"ck_a": ("e3",)})
    theirs = _conference("c3", {"ck_b": ("e4",)})
    records.save(
        [shared, ours],
        calendar_key="ck_a",
        attachments={"e1": shared.key, "e3": ours.key, "e5": shared.key},
    )
    records.save([theirs], calendar_key="ck_b", attachments={"e2": shared.key, "e4": theirs.key})
    old = LegacyRecord(key=record_key("ck_a", "c9"), calendar_key="ck_a", conference_id="c9")
    client.collection("conferences").document(old.key).set(to_document(old))
    pointers = client.collection("conference_events")
    pointers.document("p-old").set(
        {"calendar_key": "ck_a", "event_id": "e9", "record_key": old.key}
    )

    forgotten = FirestoreRecordForgetter(client).forget_calendar("ck_a")

    assert forgotten == 3  # two records changed, one schema-1 record deleted
    assert records.by_keys([shared.key, ours.key, theirs.key]) == [
        # Its home moves to the calendar left holding its references.
        replace(shared.with_refs("ck_a", None), references=0, home_key="ck_b"),
        ours.with_refs("ck_a", None),
        theirs,
    ]
    assert not client.collection("conferences").document(old.key).get().exists
    left = sorted((d.get("calendar_key"), d.get("event_id")) for d in _bodies(pointers))
    assert left == [("ck_b", "e2"), ("ck_b", "e4")]


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
