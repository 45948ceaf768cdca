"""What only the Firestore adapters can show: races, stored documents, error translation, the
query-shape registry. The shared behaviour is in ``tests/contracts/test_store_contract.py``."""

from __future__ import annotations

import inspect
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from confsync.adapters import firestore_http as firestore
from confsync.adapters.firestore_errors import AbortedError, FirestoreError, UnavailableError
from confsync.adapters.firestore_query import Query
from confsync.adapters.firestore_store import (
    QUERY_SHAPES,
    FirestoreCalendarStore,
    FirestoreRecordStore,
    QueryShape,
    pointer_key,
)
from confsync.calendars import CalendarDoc, calendar_to_document, epoch_ms
from confsync.errors import (
    LeaseLostError,
    MalformedInputError,
    RecordConflictError,
    StoreUnavailableError,
)
from confsync.legacy_records import LegacyRecord
from confsync.legacy_records import record_key as legacy_record_key
from confsync.legacy_records import to_document as legacy_to_document
from confsync.record_migration import migrate_calendar
from confsync.records import (
    SCHEMA_VERSION,
    CalendarRefs,
    ConferenceRecord,
    EventSnapshot,
    conference_key,
    to_document,
)
from confsync.round_trips import counting
from devstack.gcloud_emulators import EmulatorEndpoints

T0 = datetime(2026, 12, 1, 9, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
QUERY_METHODS = {
    "FirestoreCalendarStore.due_for_sweep",
    "FirestoreCalendarStore.of_subject",
    "FirestoreCalendarStore.disconnected_before",
    "FirestoreCalendarStore.disconnected_since",
    "FirestoreRecordStore.pending",
    "FirestoreRecordStore.of_calendar",
    "FirestoreRecordStore.held",
    "FirestoreRecordStore.attached_to",
    "FirestoreRecordStore.legacy_of_calendar",
}


@pytest.fixture(name="client")
def client_fixture(firestore_emulator: EmulatorEndpoints) -> Iterator[firestore.Client]:
    client = firestore.Client.from_environment(firestore_emulator.project)
    yield client
    client.close()


def _calendar(key: str = "ck_1", **fields: Any) -> CalendarDoc:
    return CalendarDoc(key=key, subject="alice@example.com", calendar_id="primary", **fields)


def _snapshot(event_id: str) -> EventSnapshot:
    return EventSnapshot(
        event_id, "t", "2026-12-02T10:00:00Z", "2026-12-02T11:00:00Z", None, (), (), None
    )


def _record(conference_id: str, event_ids: tuple[str, ...] = ("e1",)) -> ConferenceRecord:
    return ConferenceRecord(
        key=conference_key(conference_id),
        conference_id=conference_id,
        home_key="ck_1",
        calendars={
            "ck_1": CalendarRefs(
                subject="alice@example.com",
                calendar_id="primary",
                events={e: _snapshot(e) for e in event_ids},
            )
        },
    )


def _race(threads: int, target: Callable[[], object]) -> list[object]:
    """Run ``target`` in ``threads`` threads released together; return the results."""
    barrier = threading.Barrier(threads)
    results: list[object] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run() -> None:
        barrier.wait()
        try:
            result = target()
        except BaseException as err:  # reported below
            with lock:
                errors.append(err)
            return
        with lock:
            results.append(result)

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
    assert not errors, errors
    return results


# --- races --------------------------------------------------------------------------------------


@pytest.mark.emulators
def test_racing_acquire_lease_has_exactly_one_winner(client: firestore.Client) -> None:
    store = FirestoreCalendarStore(client)
    store.put(_calendar())
    owners = iter(f"run-{i}" for i in range(8))
    lock = threading.Lock()

    def acquire() -> CalendarDoc | None:
        with lock:
            owner = next(owners)
        return store.acquire_lease("ck_1", owner, until=T0 + 5 * MINUTE, now=T0)

    results = _race(8, acquire)

    winners = [r for r in results if r is not None]
    assert len(results) == 8
    assert len(winners) == 1
    assert store.get("ck_1") == winners[0]


@pytest.mark.emulators
def test_concurrent_notifies_are_all_counted(client: firestore.Client) -> None:
    store = FirestoreCalendarStore(client)
    store.put(_calendar(notify_seq=5))

    def notify_five_times() -> None:
        for _ in range(5):
            assert store.notify("ck_1", T0) is not None

    _race(6, notify_five_times)

    doc = store.get("ck_1")
    assert doc is not None
    assert doc.notify_seq == 5 + 6 * 5


@pytest.mark.emulators
def test_commit_decides_again_when_a_notify_lands_between_its_read_and_write(
    client: firestore.Client,
) -> None:
    class NotifiedDuringCommit(FirestoreCalendarStore):
        reads = 0

        def _read(self, key: str) -> Any:
            found = super()._read(key)
            self.reads += 1
            if self.reads == 2:  # the commit's first read: a notification arrives right after
                self.notify(key, T0)
            return found

    store = NotifiedDuringCommit(client)
    store.put(_calendar(notify_seq=1))
    leased = store.acquire_lease("ck_1", "run-a", until=T0 + 5 * MINUTE, now=T0)
    assert leased is not None

    released = store.commit(
        "ck_1",
        "run-a",
        1,
        sync_token="tok",
        pulled_from=T0 - MINUTE,
        now=T0,
        full_sync=True,
        pending_count=0,
    )

    assert released is False
    assert store.get("ck_1") == replace(
        leased,
        notify_seq=2,
        notified_max_ms=epoch_ms(T0),
        sync_token="tok",
        pulled_from=T0 - MINUTE,
        token_obtained_at=T0,
        full_syncs=1,
    )


class _Counted:
    """The store's round trips inside the block (``count``)."""

    def __enter__(self) -> _Counted:
        self._scope = counting()
        self._tally = self._scope.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._scope.__exit__(None, None, None)

    @property
    def count(self) -> int:
        return self._tally.count


@pytest.mark.emulators
def test_a_lease_taken_on_the_callers_reading_and_its_commit_cost_one_write_each(
    client: firestore.Client,
) -> None:
    store = FirestoreCalendarStore(client)
    store.put(_calendar(notify_seq=1))
    seen = store.get("ck_1")
    assert seen is not None

    with _Counted() as taking:
        leased = store.acquire_lease("ck_1", "run-a", until=T0 + 5 * MINUTE, now=T0, seen=seen)
    assert leased is not None
    with _Counted() as committing:
        released = store.commit(
            "ck_1",
            "run-a",
            1,
            sync_token="tok",
            pulled_from=T0 - MINUTE,
            now=T0,
            full_sync=False,
            pending_count=0,
            pending_checked_at=T0,
            seen=leased,
        )

    assert (taking.count, committing.count) == (1, 1)
    assert released is True
    stored = store.get("ck_1")
    assert stored is not None
    assert (stored.lease_owner, stored.sync_token, stored.pending_checked_at) == (None, "tok", T0)


@pytest.mark.emulators
def test_a_lease_is_not_taken_on_a_reading_another_run_has_made_stale(
    client: firestore.Client,
) -> None:
    store = FirestoreCalendarStore(client)
    store.put(_calendar())
    seen = store.get("ck_1")
    assert seen is not None
    assert store.acquire_lease("ck_1", "run-b", until=T0 + 5 * MINUTE, now=T0) is not None

    taken = store.acquire_lease("ck_1", "run-a", until=T0 + 5 * MINUTE, now=T0, seen=seen)

    assert taken is None
    stored = store.get("ck_1")
    assert stored is not None
    assert stored.lease_owner == "run-b"


@pytest.mark.emulators
def test_an_expired_lease_seen_is_taken_over_and_its_old_owner_cannot_commit(
    client: firestore.Client,
) -> None:
    store = FirestoreCalendarStore(client)
    store.put(_calendar())
    old = store.acquire_lease("ck_1", "run-old", until=T0 + MINUTE, now=T0)
    assert old is not None
    later = T0 + 2 * MINUTE
    seen = store.get("ck_1")

    taken = store.acquire_lease("ck_1", "run-new", until=later + 5 * MINUTE, now=later, seen=seen)

    assert taken is not None
    assert taken.lease_owner == "run-new"
    with pytest.raises(LeaseLostError):
        store.commit(
            "ck_1",
            "run-old",
            0,
            sync_token="old-token",
            pulled_from=T0,
            now=later,
            full_sync=False,
            pending_count=0,
            seen=old,
        )
    stored = store.get("ck_1")
    assert stored is not None
    assert (stored.lease_owner, stored.sync_token) == ("run-new", None)


@pytest.mark.emulators
def test_a_commit_on_the_runs_version_keeps_the_lease_when_notified_meanwhile(
    client: firestore.Client,
) -> None:
    store = FirestoreCalendarStore(client)
    store.put(_calendar(notify_seq=1))
    leased = store.acquire_lease("ck_1", "run-a", until=T0 + 5 * MINUTE, now=T0)
    assert leased is not None
    assert store.notify("ck_1", T0) is not None  # a notification arrives mid-run

    released = store.commit(
        "ck_1",
        "run-a",
        1,
        sync_token="tok",
        pulled_from=T0 - MINUTE,
        now=T0,
        full_sync=False,
        pending_count=0,
        seen=leased,
    )

    assert released is False  # the run must pull again
    stored = store.get("ck_1")
    assert stored is not None
    assert (stored.lease_owner, stored.sync_token, stored.notify_seq) == ("run-a", "tok", 2)


@pytest.mark.emulators
def test_a_lease_extended_on_the_runs_version_returns_the_new_one(
    client: firestore.Client,
) -> None:
    store = FirestoreCalendarStore(client)
    store.put(_calendar())
    leased = store.acquire_lease("ck_1", "run-a", until=T0 + MINUTE, now=T0)
    assert leased is not None

    kept = store.extend_lease("ck_1", "run-a", T0 + 9 * MINUTE, seen=leased)

    assert kept is not None
    assert kept.version != leased.version
    assert kept == store.get("ck_1")
    assert kept.lease_until == T0 + 9 * MINUTE


@pytest.mark.emulators
def test_racing_notifies_keep_the_latest_notification_time(client: firestore.Client) -> None:
    store = FirestoreCalendarStore(client)
    store.put(_calendar())
    times = iter(T0 + timedelta(milliseconds=n) for n in (7, 3, 11, 0, 5, 9))
    lock = threading.Lock()

    def notify() -> None:
        with lock:
            at = next(times)
        assert store.notify("ck_1", at) is not None

    _race(6, notify)

    doc = store.get("ck_1")
    assert doc is not None
    assert (doc.notify_seq, doc.notified_max_ms) == (6, epoch_ms(T0) + 11)


@pytest.mark.emulators
def test_a_calendar_stored_before_covered_notifications_gains_the_fields(
    client: firestore.Client,
) -> None:
    body = calendar_to_document(_calendar(sync_token="tok-1"))
    for name in ("notified_max_ms", "pulled_from"):
        del body[name]
    client.collection("calendars").document("ck_1").set(body)
    store = FirestoreCalendarStore(client)
    assert store.get("ck_1") == _calendar(sync_token="tok-1")

    after = store.notify("ck_1", T0)

    assert after == _calendar(sync_token="tok-1", notify_seq=1, notified_max_ms=epoch_ms(T0))


@pytest.mark.emulators
def test_notify_records_when_it_was_notified(client: firestore.Client) -> None:
    FirestoreCalendarStore(client).put(_calendar())

    FirestoreCalendarStore(client).notify("ck_1", T0)

    stored = client.collection("calendars").document("ck_1").get().to_dict()
    assert stored is not None
    assert stored["last_notified_at"] == T0
    assert stored["notify_seq"] == 1


@pytest.mark.emulators
def test_save_splits_large_writes_into_batches(client: firestore.Client) -> None:
    store = FirestoreRecordStore(client)
    records = [_record(f"c-{i}", (f"e{i}",)) for i in range(501)]
    pointers: dict[str, str | None] = {f"e{i}": r.key for i, r in enumerate(records)}

    store.save(records, calendar_key="ck_1", attachments=pointers)

    stored = store.by_keys(r.key for r in records)
    assert stored == records
    assert store.attachments("ck_1", pointers) == pointers
    store.save([replace(r, references=1) for r in stored])  # updates, batch by batch too
    assert store.by_keys(r.key for r in records) == [replace(r, references=1) for r in records]


@pytest.mark.emulators
def test_a_save_of_many_batches_stores_every_record_and_pointer(client: firestore.Client) -> None:
    """1,300 records and their pointers: two batches of records, one of both, three of
    pointers, and batch gets of 300 documents each, several of them sent at once."""
    store = FirestoreRecordStore(client)
    records = [_record(f"c-{i}", (f"e{i}",)) for i in range(1300)]
    pointers: dict[str, str | None] = {f"e{i}": r.key for i, r in enumerate(records)}

    versions = store.save(records, calendar_key="ck_1", attachments=pointers)

    assert versions.keys() == {r.key for r in records}
    assert store.by_keys(r.key for r in reversed(records)) == list(reversed(records))
    assert store.attachments("ck_1", pointers) == pointers


@pytest.mark.emulators
def test_a_refused_batch_of_a_large_save_names_its_changed_record(
    client: firestore.Client,
) -> None:
    store = FirestoreRecordStore(client)
    store.save([_record(f"c-{i}") for i in range(1200)])
    read = store.by_keys(conference_key(f"c-{i}") for i in range(1200))
    [meanwhile] = store.by_keys([conference_key("c-1100")])
    store.save([replace(meanwhile, references=9)])  # another calendar's run, in the last batch

    with pytest.raises(RecordConflictError) as caught:
        store.save([replace(r, references=1) for r in read])

    assert caught.value.keys == [conference_key("c-1100")]
    assert store.by_keys([conference_key("c-1100")])[0].references == 9


@pytest.mark.emulators
def test_racing_saves_of_one_version_have_exactly_one_winner(client: firestore.Client) -> None:
    store = FirestoreRecordStore(client)
    store.save([_record("c-1")])
    [read] = store.by_keys([conference_key("c-1")])
    counts = iter(range(1, 7))
    lock = threading.Lock()

    def save() -> int | list[str]:
        with lock:
            references = next(counts)
        try:
            store.save([replace(read, references=references)])
        except RecordConflictError as err:
            return err.keys
        return references

    results = _race(6, save)

    winners = [r for r in results if isinstance(r, int)]
    assert len(results) == 6
    assert len(winners) == 1
    assert [r for r in results if not isinstance(r, int)] == [[read.key]] * 5
    assert store.by_keys([read.key]) == [replace(read, references=winners[0])]


@pytest.mark.emulators
def test_a_refused_batch_with_no_record_changed_names_every_record_of_it(
    client: firestore.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refusal that no changed version explains (contention: ``Aborted``) is still a conflict:
    the caller reads every record of the batch again."""
    store = FirestoreRecordStore(client)
    store.save([_record("c-1")])
    [read] = store.by_keys([conference_key("c-1")])
    new = _record("c-2")

    def refuse(*_args: object, **_kwargs: object) -> Any:
        raise AbortedError("contention")

    monkeypatch.setattr(firestore.WriteBatch, "commit", refuse)
    with pytest.raises(RecordConflictError) as caught:
        store.save([replace(read, references=2), new])

    assert caught.value.keys == sorted([read.key, new.key])
    assert isinstance(caught.value.__cause__, AbortedError)


@pytest.mark.emulators
def test_stored_documents_carry_the_fields_the_queries_filter(client: firestore.Client) -> None:
    store = FirestoreRecordStore(client)
    record = replace(
        _record("c-1"),
        home_key="ck_2",
        calendars={**_record("c-1").calendars, "ck_3": _record("c-1").calendars["ck_1"]},
    )
    store.save([record], calendar_key="ck_1", attachments={"e1": record.key})

    body = client.collection("conferences").document(record.key).get().to_dict()
    pointer = client.collection("conference_events").document(pointer_key("ck_1", "e1"))
    assert body is not None
    assert (body["home_calendar_key"], body["calendar_keys"], body["has_pending"]) == (
        "ck_2",
        ["ck_1", "ck_3"],
        False,
    )
    assert "calendar_key" not in body  # the field schema-1 records are found by
    assert pointer.get().to_dict() == {
        "calendar_key": "ck_1",
        "event_id": "e1",
        "conference_key": record.key,
    }

    store.save([], calendar_key="ck_1", attachments={"e1": None})

    assert not pointer.get().exists


@pytest.mark.emulators
def test_migrating_a_calendar_rewrites_its_pointers_and_drops_its_schema_1_records(
    client: firestore.Client,
) -> None:
    legacy = LegacyRecord(
        key=legacy_record_key("ck_1", "c-1"),
        calendar_key="ck_1",
        conference_id="c-1",
        events={"e1": _snapshot("e1")},
        primary_event_id="e1",
        owner="alice@example.com",
        owner_known=True,
        role="acting",
    )
    client.collection("conferences").document(legacy.key).set(legacy_to_document(legacy))
    pointer = client.collection("conference_events").document(pointer_key("ck_1", "e1"))
    pointer.set({"calendar_key": "ck_1", "event_id": "e1", "record_key": legacy.key})
    store = FirestoreRecordStore(client)

    migrated = migrate_calendar(
        store,
        store,
        calendar_key="ck_1",
        subject="alice@example.com",
        calendar_id="primary",
        policy="first-claimant",
    )

    assert migrated == 1
    assert not client.collection("conferences").document(legacy.key).get().exists
    assert pointer.get().to_dict() == {
        "calendar_key": "ck_1",
        "event_id": "e1",
        "conference_key": conference_key("c-1"),
    }
    [record] = store.by_keys([conference_key("c-1")])
    assert (record.home_key, list(record.calendars), record.owner) == (
        "ck_1",
        ["ck_1"],
        "alice@example.com",
    )
    assert store.attachments("ck_1", ["e1"]) == {"e1": record.key}


@pytest.mark.emulators
def test_forget_calendar_deletes_the_pointers_naming_schema_1_records(
    client: firestore.Client,
) -> None:
    pointers = client.collection("conference_events")
    for calendar_key in ("ck_1", "ck_2"):
        pointers.document(pointer_key(calendar_key, "e1")).set(
            {"calendar_key": calendar_key, "event_id": "e1", "record_key": "cf_old"}
        )

    assert FirestoreRecordStore(client).forget_calendar("ck_1") == 0

    assert not pointers.document(pointer_key("ck_1", "e1")).get().exists
    assert pointers.document(pointer_key("ck_2", "e1")).get().exists


@pytest.mark.emulators
def test_a_record_stored_by_schema_2_is_read_and_written_back_as_schema_3(
    client: firestore.Client,
) -> None:
    record = _record("c-1")
    stored = to_document(record)
    schema_2 = {k: v for k, v in stored.items() if k != "body"} | json.loads(stored["body"])
    client.collection("conferences").document(record.key).set(schema_2 | {"schema_version": 2})
    store = FirestoreRecordStore(client)

    [read] = store.by_keys([record.key])
    assert [r.key for r in store.of_calendar("ck_1")] == [record.key]  # queries find it too
    store.save([replace(read, references=1)])

    written = client.collection("conferences").document(record.key).get().to_dict() or {}
    assert written["schema_version"] == SCHEMA_VERSION
    assert isinstance(written["body"], str)
    assert "calendars" not in written
    assert store.by_keys([record.key])[0].references == 1


# --- stored documents that do not decode ----------------------------------------------------------


@pytest.mark.emulators
def test_a_record_of_another_schema_version_is_refused_by_every_read(
    client: firestore.Client,
) -> None:
    record = _record("c-1")
    body = to_document(record) | {"schema_version": 99, "has_pending": True, "hold": "held"}
    body["pending"] = {"attempts": 1, "next_attempt_at": T0, "last_error": "x"}
    client.collection("conferences").document(record.key).set(body)
    store = FirestoreRecordStore(client)

    with pytest.raises(MalformedInputError, match="schema_version 99"):
        store.by_keys([record.key])
    with pytest.raises(MalformedInputError):
        store.pending("ck_1", T0, 10)
    with pytest.raises(MalformedInputError):
        list(store.of_calendar("ck_1"))
    with pytest.raises(MalformedInputError):
        store.held("ck_1")


@pytest.mark.emulators
def test_a_calendar_of_another_schema_version_is_refused(client: firestore.Client) -> None:
    body = calendar_to_document(_calendar()) | {"schema_version": 0}
    client.collection("calendars").document("ck_1").set(body)
    store = FirestoreCalendarStore(client)

    with pytest.raises(MalformedInputError, match="schema_version 0"):
        store.get("ck_1")
    with pytest.raises(MalformedInputError):
        store.acquire_lease("ck_1", "run-a", until=T0 + MINUTE, now=T0)
    with pytest.raises(MalformedInputError):
        store.due_for_sweep(T0, 10, stale_before=T0)


# --- error translation (no emulator: the client fails before reaching the network) --------------


@pytest.fixture(name="offline_client")
def offline_client_fixture() -> Iterator[firestore.Client]:
    client = firestore.Client("confsync-offline", http=None)  # every request is refused below
    yield client
    client.close()


@pytest.mark.parametrize(
    "error",
    [
        UnavailableError("down", "UNAVAILABLE", 503),
        UnavailableError("slow", "DEADLINE_EXCEEDED", 504),
        AbortedError("contention", "ABORTED", 409),
        UnavailableError("quota", "RESOURCE_EXHAUSTED", 429),
        FirestoreError("no index", "FAILED_PRECONDITION", 400),
        FirestoreError("denied", "PERMISSION_DENIED", 403),
    ],
    ids=lambda e: type(e).__name__,
)
def test_firestore_failures_become_store_unavailable(
    offline_client: firestore.Client, monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    def fail(*_args: object, **_kwargs: object) -> Any:
        raise error

    monkeypatch.setattr(firestore.DocumentReference, "get", fail)
    monkeypatch.setattr(Query, "stream", fail)
    monkeypatch.setattr(firestore.Client, "get_all", fail)
    monkeypatch.setattr(firestore.WriteBatch, "commit", fail)
    calendars = FirestoreCalendarStore(offline_client)
    records = FirestoreRecordStore(offline_client)
    stored = replace(_record("c-1"), version="2026-12-01T09:00:00.000001Z")

    for call in (
        lambda: calendars.get("ck_1"),
        lambda: calendars.acquire_lease("ck_1", "run-a", until=T0, now=T0),
        lambda: calendars.due_for_sweep(T0, 5, stale_before=T0),
        lambda: records.by_keys([stored.key]),
        lambda: records.attachments("ck_1", ["e1"]),
        lambda: records.attached_to("ck_1"),
        lambda: records.save([stored], calendar_key="ck_1", attachments={"e1": stored.key}),
        lambda: records.pending("ck_1", T0, 5),
        lambda: list(records.of_calendar("ck_1")),
        lambda: records.held("ck_1"),
        lambda: records.legacy_of_calendar("ck_1"),
        lambda: records.drop_legacy(["cf_old"]),
        lambda: records.forget_calendar("ck_1"),
    ):
        with pytest.raises(StoreUnavailableError) as caught:
            call()
        assert caught.value.__cause__ is error


# --- the query-shape registry ---------------------------------------------------------------------


def test_registry_names_every_query_method_and_only_existing_ones() -> None:
    classes = {
        "FirestoreCalendarStore": FirestoreCalendarStore,
        "FirestoreRecordStore": FirestoreRecordStore,
    }
    pointers = inspect.signature(FirestoreRecordStore).parameters["pointers"].default
    defaults = {"FirestoreCalendarStore": "calendars", "FirestoreRecordStore": "conferences"}
    collections = {"FirestoreRecordStore.attached_to": pointers}  # the event pointers

    assert {shape.method for shape in QUERY_SHAPES} == QUERY_METHODS
    for shape in QUERY_SHAPES:
        class_name, method = shape.method.split(".")
        assert callable(getattr(classes[class_name], method))
        assert shape.collection == collections.get(shape.method, defaults[class_name])
        assert shape.fields
    assert len(set(QUERY_SHAPES)) == len(QUERY_SHAPES)


@pytest.mark.emulators
def test_every_query_issued_is_built_from_a_registered_shape(
    client: firestore.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[QueryShape] = []
    streams = 0
    original_build = QueryShape.build
    original_stream = Query.stream

    def spy_build(shape: QueryShape, *args: Any) -> Any:
        built.append(shape)
        return original_build(shape, *args)

    def spy_stream(query: Query, *args: Any, **kwargs: Any) -> Any:
        nonlocal streams
        streams += 1
        return original_stream(query, *args, **kwargs)

    monkeypatch.setattr(QueryShape, "build", spy_build)
    monkeypatch.setattr(Query, "stream", spy_stream)
    calendars = FirestoreCalendarStore(client)
    records = FirestoreRecordStore(client)

    calendars.due_for_sweep(T0, 5, stale_before=T0)
    calendars.of_subject("alice@example.com")
    calendars.disconnected_before(T0, 5)
    calendars.disconnected_since(T0, 5)
    records.pending("ck_1", T0, 5)
    list(records.of_calendar("ck_1"))
    records.held("ck_1")
    records.attached_to("ck_1")
    records.legacy_of_calendar("ck_1")

    assert set(built) == set(QUERY_SHAPES)
    assert streams == len(built)

    built.clear()
    streams = 0
    records.forget_calendar("ck_1")  # forgetting queries through the same shapes

    assert built
    assert set(built) <= set(QUERY_SHAPES)
    assert streams == len(built)
