"""One contract for the stores, run against the in-memory fakes and the Firestore adapters.

The ``memory`` variant needs nothing; the ``firestore`` variant runs against the emulator (started
by the harness in ``tests/conftest.py`` when absent). Both must pass the same assertions: the
fakes are the reference semantics the unit tests of the sync runner rely on.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore

from confsync.adapters.firestore_store import FirestoreCalendarStore, FirestoreRecordStore
from confsync.calendars import CalendarDoc, epoch_ms
from confsync.conference import ConferenceState
from confsync.errors import LeaseLostError
from confsync.ports import CalendarStore, RecordStore
from confsync.records import (
    ConferenceRecord,
    EventSnapshot,
    PendingOperation,
    RecordStatus,
    SentState,
    record_key,
)
from confsync.testing import InMemoryCalendarStore, InMemoryRecordStore

T0 = datetime(2026, 12, 1, 9, 0, 0, 123456, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
FAR_FUTURE = datetime.max.replace(tzinfo=UTC)


@dataclass
class Stores:
    calendars: CalendarStore
    records: RecordStore


@pytest.fixture(
    name="stores",
    params=[
        pytest.param("memory", id="memory"),
        pytest.param("firestore", id="firestore", marks=pytest.mark.emulators),
    ],
)
def stores_fixture(request: pytest.FixtureRequest) -> Iterator[Stores]:
    if request.param == "memory":
        yield Stores(InMemoryCalendarStore(), InMemoryRecordStore())
        return
    endpoints = request.getfixturevalue("firestore_emulator")
    client = firestore.Client(project=endpoints.project, credentials=AnonymousCredentials())
    try:
        yield Stores(FirestoreCalendarStore(client), FirestoreRecordStore(client))
    finally:
        client.close()


def _calendar(key: str = "ck_1", **fields: Any) -> CalendarDoc:
    return CalendarDoc(key=key, subject="alice@example.com", calendar_id="primary", **fields)


def _leased(stores: Stores, owner: str = "run-a", key: str = "ck_1") -> CalendarDoc:
    stores.calendars.put(_calendar(key, notify_seq=3))
    doc = stores.calendars.acquire_lease(key, owner, until=T0 + 5 * MINUTE, now=T0)
    assert doc is not None
    return doc


# --- calendars: get / put ----------------------------------------------------------------------


def test_put_then_get_round_trips_every_field(stores: Stores) -> None:
    doc = _calendar(
        state="poll-only",
        sync_token="tok-1",
        token_obtained_at=T0,
        lease_owner="run-a",
        lease_until=T0 + MINUTE,
        notify_seq=7,
        notified_max_ms=epoch_ms(T0 - 3 * MINUTE),
        pulled_from=T0 - 2 * MINUTE,
        last_attempt_at=T0 - MINUTE,
        last_success_at=T0 - 2 * MINUTE,
        last_outcome="synced",
        pending_count=2,
        full_syncs=1,
    )

    stores.calendars.put(doc)

    assert stores.calendars.get("ck_1") == doc
    assert stores.calendars.get("ck_unknown") is None


def test_put_replaces_the_whole_record(stores: Stores) -> None:
    stores.calendars.put(_calendar(sync_token="tok-1", notify_seq=4))

    stores.calendars.put(_calendar())

    assert stores.calendars.get("ck_1") == _calendar()


# --- calendars: the lease -----------------------------------------------------------------------


def test_acquire_lease_when_free_takes_it_and_returns_the_record(stores: Stores) -> None:
    stores.calendars.put(_calendar(notify_seq=3))

    doc = stores.calendars.acquire_lease("ck_1", "run-a", until=T0 + 5 * MINUTE, now=T0)

    expected = _calendar(
        notify_seq=3, lease_owner="run-a", lease_until=T0 + 5 * MINUTE, last_attempt_at=T0
    )
    assert doc == expected
    assert stores.calendars.get("ck_1") == expected


def test_acquire_lease_held_by_a_live_owner_is_refused(stores: Stores) -> None:
    before = _leased(stores, "run-a")

    assert stores.calendars.acquire_lease("ck_1", "run-b", until=T0 + 6 * MINUTE, now=T0) is None
    assert stores.calendars.get("ck_1") == before


def test_acquire_lease_after_expiry_goes_to_the_new_owner(stores: Stores) -> None:
    _leased(stores, "run-a")
    later = T0 + 5 * MINUTE  # lease_until is not > now: expired

    doc = stores.calendars.acquire_lease("ck_1", "run-b", until=later + 5 * MINUTE, now=later)

    assert doc is not None
    assert (doc.lease_owner, doc.lease_until, doc.last_attempt_at) == (
        "run-b",
        later + 5 * MINUTE,
        later,
    )
    assert stores.calendars.get("ck_1") == doc


def test_acquire_lease_again_by_the_same_owner_extends_it(stores: Stores) -> None:
    _leased(stores, "run-a")
    now = T0 + MINUTE

    doc = stores.calendars.acquire_lease("ck_1", "run-a", until=now + 5 * MINUTE, now=now)

    assert doc is not None
    assert (doc.lease_owner, doc.lease_until, doc.last_attempt_at) == (
        "run-a",
        now + 5 * MINUTE,
        now,
    )


def test_acquire_lease_of_an_unknown_calendar_is_refused(stores: Stores) -> None:
    assert stores.calendars.acquire_lease("ck_x", "run-a", until=T0 + MINUTE, now=T0) is None
    assert stores.calendars.get("ck_x") is None


def test_extend_lease_only_for_its_owner(stores: Stores) -> None:
    _leased(stores, "run-a")

    assert stores.calendars.extend_lease("ck_1", "run-b", until=T0 + 9 * MINUTE) is False
    assert stores.calendars.extend_lease("ck_unknown", "run-a", until=T0 + 9 * MINUTE) is False
    doc = stores.calendars.get("ck_1")
    assert doc is not None
    assert doc.lease_until == T0 + 5 * MINUTE

    assert stores.calendars.extend_lease("ck_1", "run-a", until=T0 + 9 * MINUTE) is True
    doc = stores.calendars.get("ck_1")
    assert doc is not None
    assert (doc.lease_owner, doc.lease_until) == ("run-a", T0 + 9 * MINUTE)


def test_release_only_for_its_owner(stores: Stores) -> None:
    leased = _leased(stores, "run-a")

    stores.calendars.release("ck_1", "run-b", now=T0, outcome="error")
    stores.calendars.release("ck_unknown", "run-a", now=T0, outcome="error")
    assert stores.calendars.get("ck_1") == leased
    assert stores.calendars.get("ck_unknown") is None

    stores.calendars.release("ck_1", "run-a", now=T0, outcome="error")
    assert stores.calendars.get("ck_1") == replace(
        leased, lease_owner=None, lease_until=None, last_outcome="error"
    )


# --- calendars: notify and commit ---------------------------------------------------------------


def test_notify_increments_the_counter_and_returns_the_record(stores: Stores) -> None:
    leased = _leased(stores, "run-a")

    first = stores.calendars.notify("ck_1", T0)
    second = stores.calendars.notify("ck_1", T0 + MINUTE)

    assert first == replace(leased, notify_seq=4, notified_max_ms=epoch_ms(T0))
    assert second == replace(leased, notify_seq=5, notified_max_ms=epoch_ms(T0 + MINUTE))
    assert stores.calendars.get("ck_1") == second


def test_notify_keeps_the_latest_notification_time_whatever_the_arrival_order(
    stores: Stores,
) -> None:
    leased = _leased(stores, "run-a")
    latest = T0 + 2 * MINUTE

    stores.calendars.notify("ck_1", latest)
    stores.calendars.notify("ck_1", T0)  # delivered late: older than the one before
    last = stores.calendars.notify("ck_1", T0 + MINUTE)

    assert last == replace(leased, notify_seq=6, notified_max_ms=epoch_ms(latest))
    assert stores.calendars.get("ck_1") == last


def test_notify_of_an_unknown_calendar_returns_none_and_creates_nothing(stores: Stores) -> None:
    assert stores.calendars.notify("ck_unknown", T0) is None
    assert stores.calendars.get("ck_unknown") is None


@pytest.mark.parametrize("full_sync", [False, True])
def test_commit_with_an_unchanged_counter_releases_and_records_success(
    stores: Stores, full_sync: bool
) -> None:
    leased = _leased(stores, "run-a")
    now = T0 + 2 * MINUTE

    released = stores.calendars.commit(
        "ck_1",
        "run-a",
        leased.notify_seq,
        sync_token="tok-2",
        pulled_from=T0 + MINUTE,
        now=now,
        full_sync=full_sync,
        pending_count=4,
    )

    assert released is True
    assert stores.calendars.get("ck_1") == replace(
        leased,
        sync_token="tok-2",
        pulled_from=T0 + MINUTE,
        token_obtained_at=now,
        lease_owner=None,
        lease_until=None,
        last_success_at=now,
        last_outcome="synced",
        pending_count=4,
        full_syncs=1 if full_sync else 0,
    )


def test_commit_after_a_notification_stores_the_token_and_keeps_the_lease(
    stores: Stores,
) -> None:
    leased = _leased(stores, "run-a")
    stores.calendars.notify("ck_1", T0 + MINUTE)
    now = T0 + 2 * MINUTE

    released = stores.calendars.commit(
        "ck_1",
        "run-a",
        leased.notify_seq,
        sync_token="tok-2",
        pulled_from=T0 + MINUTE / 2,
        now=now,
        full_sync=True,
        pending_count=4,
    )

    assert released is False
    assert stores.calendars.get("ck_1") == replace(
        leased,
        notify_seq=leased.notify_seq + 1,
        notified_max_ms=epoch_ms(T0 + MINUTE),
        sync_token="tok-2",
        pulled_from=T0 + MINUTE / 2,
        token_obtained_at=now,
        full_syncs=1,
    )


def test_commit_by_a_run_that_lost_the_lease_stores_nothing(stores: Stores) -> None:
    leased = _leased(stores, "run-a")
    later = T0 + 6 * MINUTE
    taken = stores.calendars.acquire_lease("ck_1", "run-b", until=later + 5 * MINUTE, now=later)
    assert taken is not None

    with pytest.raises(LeaseLostError):
        stores.calendars.commit(
            "ck_1",
            "run-a",
            leased.notify_seq,
            sync_token="tok-a",
            pulled_from=later,
            now=later,
            full_sync=True,
            pending_count=0,
        )

    assert stores.calendars.get("ck_1") == taken  # run-b's lease, and no older token


def test_commit_for_a_calendar_that_is_gone_returns_false(stores: Stores) -> None:
    released = stores.calendars.commit(
        "ck_gone",
        "run-a",
        0,
        sync_token="t",
        pulled_from=T0,
        now=T0,
        full_sync=False,
        pending_count=0,
    )

    assert released is False


def test_set_state_of_an_unknown_calendar_changes_nothing(stores: Stores) -> None:
    stores.calendars.set_state("ck_gone", "disconnected", now=T0, outcome="401")

    assert stores.calendars.get("ck_gone") is None


def test_set_state_changes_the_state_and_records_why(stores: Stores) -> None:
    stores.calendars.put(_calendar(sync_token="tok-1"))

    stores.calendars.set_state("ck_1", "disconnected", now=T0, outcome="invalid_grant")

    doc = stores.calendars.get("ck_1")
    assert doc == _calendar(sync_token="tok-1", state="disconnected", last_outcome="invalid_grant")
    assert doc is not None
    assert not doc.syncing


# --- calendars: the sweep -----------------------------------------------------------------------


def test_due_for_sweep_selects_stale_never_attempted_and_pending_calendars(stores: Stores) -> None:
    before = T0
    calendars = [
        _calendar("ck_recent", last_attempt_at=T0 + MINUTE),
        _calendar("ck_stale", last_attempt_at=T0 - 10 * MINUTE),
        _calendar("ck_staler", state="poll-only", last_attempt_at=T0 - 20 * MINUTE),
        _calendar("ck_never"),
        _calendar("ck_pending", last_attempt_at=T0 + 2 * MINUTE, pending_count=1),
        _calendar("ck_at_cutoff", last_attempt_at=T0),
        _calendar("ck_disconnected", state="disconnected", last_attempt_at=T0 - 30 * MINUTE),
        _calendar("ck_unenrolled", state="unenrolled", pending_count=3),
    ]
    for doc in calendars:
        stores.calendars.put(doc)

    due = stores.calendars.due_for_sweep(before, limit=10)

    assert [d.key for d in due] == ["ck_never", "ck_staler", "ck_stale", "ck_pending"]
    assert due[0] == _calendar("ck_never")


def test_due_for_sweep_returns_at_most_limit_least_recently_attempted_first(
    stores: Stores,
) -> None:
    for i in range(6):
        stores.calendars.put(_calendar(f"ck_{i}", last_attempt_at=T0 - i * MINUTE))
    stores.calendars.put(_calendar("ck_p", last_attempt_at=T0 - 30 * MINUTE, pending_count=2))
    stores.calendars.put(_calendar("ck_p2", last_attempt_at=T0 + 30 * MINUTE, pending_count=2))

    due = stores.calendars.due_for_sweep(T0 - 2 * MINUTE, limit=3)

    assert [d.key for d in due] == ["ck_p", "ck_5", "ck_4"]
    assert stores.calendars.due_for_sweep(T0, limit=0) == []
    assert [d.key for d in stores.calendars.due_for_sweep(T0 - 100 * MINUTE, limit=5)] == [
        "ck_p",
        "ck_p2",
    ]


# --- conference records -------------------------------------------------------------------------


def _snapshot(event_id: str) -> EventSnapshot:
    return EventSnapshot(
        event_id=event_id,
        title="Planning",
        start="2026-12-02T10:00:00Z",
        end="2026-12-02T11:00:00Z",
        time_zone="Europe/Paris",
        recurrence=(),
        attendees=("bob@example.com",),
        organizer="alice@example.com",
        updated_ms=7,
    )


def _record(
    conference_id: str,
    event_ids: tuple[str, ...] = (),
    *,
    calendar_key: str = "ck_1",
    status: RecordStatus = "active",
    due: datetime | None = None,
) -> ConferenceRecord:
    return ConferenceRecord(
        key=record_key(calendar_key, conference_id),
        calendar_key=calendar_key,
        conference_id=conference_id,
        events={e: _snapshot(e) for e in event_ids},
        primary_event_id=event_ids[0] if event_ids else None,
        pending=None
        if due is None
        else PendingOperation(attempts=1, next_attempt_at=due, last_error="503"),
        status=status,
    )


def _keys(records: list[ConferenceRecord]) -> list[str]:
    return sorted(r.key for r in records)


def test_save_then_by_keys_round_trips_in_the_requested_order(stores: Stores) -> None:
    a = _record("c-a", ("e1",), due=T0)
    b = _record("c-b", ("e2", "e3"))
    stores.records.save([a, b])

    found = stores.records.by_keys([b.key, "cf_missing", a.key])

    assert found == [b, a]
    assert stores.records.by_keys([]) == []


def test_save_keeps_what_was_sent_and_the_join_url_answered(stores: Stores) -> None:
    a = _record("c-a", ("e1",))
    state = ConferenceState(
        title="Planning",
        start="2026-12-02T10:00:00Z",
        end="2026-12-02T11:00:00Z",
        time_zone=None,
        attendees=("bob@example.com",),
        recurrence=(),
        cancelled_occurrences=(),
        modified_occurrences=(),
        organizer="alice@example.com",
        calendar_id="primary",
        event_id="e1",
    )
    sent = replace(a, sent=SentState(revision=7, state=state, join_url="https://conf.example/j/a"))
    stores.records.save([sent])

    assert stores.records.by_keys([a.key]) == [sent]


def test_save_replaces_a_record(stores: Stores) -> None:
    a = _record("c-a", ("e1",), due=T0)
    stores.records.save([a])
    changed = replace(a, pending=None, events={"e9": _snapshot("e9")})

    stores.records.save([changed])

    assert stores.records.by_keys([a.key]) == [changed]
    assert stores.records.by_event_ids("ck_1", ["e1"]) == []


def test_by_event_ids_finds_records_of_the_calendar_across_many_ids(stores: Stores) -> None:
    ids = [f"ev{i:03d}" for i in range(75)]  # more than one array-contains-any chunk
    spread = _record("c-spread", (ids[0], ids[40], ids[74]))  # matches in several chunks
    late = _record("c-late", (ids[70],))
    unrelated = _record("c-other", ("zz1",))
    elsewhere = _record("c-else", (ids[0],), calendar_key="ck_2")
    stores.records.save([spread, late, unrelated, elsewhere])

    found = stores.records.by_event_ids("ck_1", ids)

    assert _keys(found) == _keys([spread, late])
    assert len(found) == 2  # each record once, although it matches in several chunks
    assert stores.records.by_event_ids("ck_1", []) == []
    assert stores.records.by_event_ids("ck_1", iter(["zz1"])) == [unrelated]


def test_pending_returns_due_active_records_of_the_calendar(stores: Stores) -> None:
    due_early = _record("c-1", ("e1",), due=T0 - MINUTE)
    due_now = _record("c-2", ("e2",), due=T0)
    later = _record("c-3", ("e3",), due=T0 + MINUTE)
    settled = _record("c-4", ("e4",))
    failed = _record("c-5", ("e5",), status="failed", due=T0 - MINUTE)
    deleted = _record("c-6", (), status="deleted", due=T0 - MINUTE)
    elsewhere = _record("c-7", ("e7",), calendar_key="ck_2", due=T0 - MINUTE)
    stores.records.save([due_early, due_now, later, settled, failed, deleted, elsewhere])

    assert _keys(stores.records.pending("ck_1", T0, limit=10)) == _keys([due_early, due_now])
    assert _keys(stores.records.pending("ck_1", FAR_FUTURE, limit=10)) == _keys(
        [due_early, due_now, later]
    )
    assert len(stores.records.pending("ck_1", FAR_FUTURE, limit=2)) == 2
    assert stores.records.pending("ck_1", T0 - 2 * MINUTE, limit=10) == []
    found = stores.records.pending("ck_1", T0, limit=10)
    assert sorted(found, key=lambda r: r.key) == sorted([due_early, due_now], key=lambda r: r.key)


def test_active_of_calendar_excludes_deleted_records_and_other_calendars(stores: Stores) -> None:
    active = _record("c-1", ("e1",))
    failed = _record("c-2", ("e2",), status="failed")
    deleted = _record("c-3", (), status="deleted")
    elsewhere = _record("c-4", ("e4",), calendar_key="ck_2")
    stores.records.save([active, failed, deleted, elsewhere])

    found = list(stores.records.active_of_calendar("ck_1"))

    assert _keys(found) == _keys([active, failed])
    assert list(stores.records.active_of_calendar("ck_unknown")) == []


def test_by_event_ids_follows_an_event_that_moved_to_another_record(stores: Stores) -> None:
    first = _record("c-1", ("e1", "e2"))
    second = _record("c-2", ("e3",))
    stores.records.save([first, second])
    moved_from = replace(first, events={"e2": first.events["e2"]})
    moved_to = replace(second, events={**second.events, "e1": first.events["e1"]})

    stores.records.save([moved_from, moved_to], before={first.key: first, second.key: second})

    assert _keys(stores.records.by_event_ids("ck_1", ["e1"])) == _keys([second])
    assert _keys(stores.records.by_event_ids("ck_1", ["e2"])) == _keys([first])


def test_by_event_ids_forgets_an_event_that_left_every_record(stores: Stores) -> None:
    record = _record("c-1", ("e1", "e2"))
    stores.records.save([record])

    left = replace(record, events={"e2": record.events["e2"]})
    stores.records.save([left], before={record.key: record})

    assert stores.records.by_event_ids("ck_1", ["e1"]) == []


def test_saving_without_before_still_indexes_every_event(stores: Stores) -> None:
    record = _record("c-1", ("e1",))
    stores.records.save([record])
    grown = replace(record, events={**record.events, **_record("c-x", ("e9",)).events})

    stores.records.save([grown])

    assert _keys(stores.records.by_event_ids("ck_1", ["e9"])) == _keys([record])


# --- calendars: clear_sync_token (the command line's resync) ----------------------------------


def test_clear_sync_token_forgets_only_the_token_even_under_a_lease(stores: Stores) -> None:
    leased = _leased(stores)
    stores.calendars.put(replace(leased, sync_token="tok-1", token_obtained_at=T0))

    assert stores.calendars.clear_sync_token("ck_1") is True

    after = stores.calendars.get("ck_1")
    assert after == replace(leased, sync_token=None, token_obtained_at=T0)


def test_clear_sync_token_of_an_unknown_calendar_returns_false_and_creates_nothing(
    stores: Stores,
) -> None:
    assert stores.calendars.clear_sync_token("ck_missing") is False
    assert stores.calendars.get("ck_missing") is None


# --- the deletion brake: held deletes and their count --------------------------------------------


def test_held_deletes_count_round_trips_and_is_set_alone(stores: Stores) -> None:
    leased = _leased(stores)
    stores.calendars.put(replace(leased, held_deletes=3))
    assert stores.calendars.get("ck_1") == replace(leased, held_deletes=3)

    stores.calendars.set_held_deletes("ck_1", 25)

    assert stores.calendars.get("ck_1") == replace(leased, held_deletes=25)
    stores.calendars.set_held_deletes("ck_missing", 1)
    assert stores.calendars.get("ck_missing") is None


def test_a_calendar_stored_before_the_brake_holds_no_deletes(stores: Stores) -> None:
    stores.calendars.put(_calendar())

    doc = stores.calendars.get("ck_1")

    assert doc is not None
    assert doc.held_deletes == 0


def test_hold_round_trips_and_held_deletes_are_found_apart_from_pending(stores: Stores) -> None:
    queued = _record("c-1", due=T0 - MINUTE)
    held = replace(_record("c-2", due=T0 - MINUTE), hold="held")
    released = replace(_record("c-3", due=T0 - MINUTE), hold="released")
    elsewhere = replace(_record("c-4", calendar_key="ck_2", due=T0), hold="held")
    stores.records.save([queued, held, released, elsewhere])

    assert stores.records.by_keys([held.key, released.key]) == [held, released]
    assert _keys(stores.records.pending("ck_1", FAR_FUTURE, limit=10)) == _keys([queued, released])
    assert stores.records.held("ck_1") == [held]
    assert stores.records.held("ck_unknown") == []


def test_a_held_delete_no_longer_held_is_pending_again(stores: Stores) -> None:
    held = replace(_record("c-1", due=T0), hold="held")
    stores.records.save([held])

    stores.records.save([replace(held, hold="released")], before={held.key: held})

    assert _keys(stores.records.pending("ck_1", T0, limit=10)) == _keys([held])
    assert stores.records.held("ck_1") == []


def test_ownership_round_trips(stores: Stores) -> None:
    unknown = _record("c-1", ("e1",))
    acting = replace(
        _record("c-2", ("e2",)), owner="Alice@Example.com", owner_known=True, role="acting"
    )
    ownerless = replace(
        _record("c-3", ("e3",)), owner_known=True, role="reference", reference_logged=True
    )
    stores.records.save([unknown, acting, ownerless])

    found = stores.records.by_keys([unknown.key, acting.key, ownerless.key])

    assert found == [unknown, acting, ownerless]
    assert (found[0].owner_known, found[0].role) == (False, "unknown")


def test_by_conference_finds_its_records_on_every_calendar(stores: Stores) -> None:
    alice = _record("c-1", ("e1",), calendar_key="ck_1")
    bob = replace(_record("c-1", ("e7",), calendar_key="ck_2"), role="reference")
    gone = _record("c-1", calendar_key="ck_3", status="deleted")
    other = _record("c-2", ("e2",), calendar_key="ck_1")
    stores.records.save([alice, bob, gone, other])

    assert _keys(stores.records.by_conference("c-1")) == _keys([alice, bob, gone])
    assert stores.records.by_conference("c-2") == [other]
    assert stores.records.by_conference("c-unknown") == []


def test_save_keeps_departed_events_their_ical_uids_and_a_transferred_status(
    stores: Stores,
) -> None:
    """The delete grace's fields: the events that left a record (id -> iCalUID, None when not
    known), an event's iCalUID, and ``transferred``, which is neither pending nor live."""
    moved = replace(
        _record("c-1", calendar_key="ck_1", status="transferred"),
        departed={"e1": "uid-1@google.com", "e2": None},
    )
    live = _record("c-2", ("e3",), calendar_key="ck_1")
    live = replace(live, events={"e3": replace(_snapshot("e3"), ical_uid="uid-3@google.com")})
    stores.records.save([moved, live])

    [found_moved, found_live] = stores.records.by_keys([moved.key, live.key])

    assert found_moved == moved
    assert found_moved.departed == {"e1": "uid-1@google.com", "e2": None}
    assert found_moved.status == "transferred"
    assert found_live.events["e3"].ical_uid == "uid-3@google.com"  # not part of equality
    assert _keys(list(stores.records.active_of_calendar("ck_1"))) == [live.key]
    assert stores.records.pending("ck_1", T0 + MINUTE, 10) == []
    assert _keys(stores.records.by_conference("c-1")) == [moved.key]


def test_pending_returns_the_earliest_due_first_up_to_the_limit(stores: Stores) -> None:
    late = _record("c-1", ("e1",), due=T0)
    early = _record("c-2", ("e2",), due=T0 - 2 * MINUTE)
    middle = _record("c-3", ("e3",), due=T0 - MINUTE)
    stores.records.save([late, early, middle])

    found = stores.records.pending("ck_1", FAR_FUTURE, limit=2)

    assert [r.key for r in found] == [early.key, middle.key]
