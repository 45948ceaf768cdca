"""One contract for the stores, run against the in-memory fakes and the Firestore adapters.

The ``memory`` variant needs nothing; the ``firestore`` variant runs against the emulator (started
by the harness in ``tests/conftest.py`` when absent). Both must pass the same assertions: the
fakes are the reference semantics the unit tests of the sync runner rely on.

Records are one per conference (:mod:`confsync.records`): saves are conditional on each record's
``version``, event attachments are written with them, and the schema-1 records an older
deployment left are read and dropped (the LegacyRecords port) until migrated.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import pytest

from confsync import legacy_records
from confsync.adapters import firestore_http as firestore
from confsync.adapters.firestore_store import (
    FirestoreCalendarStore,
    FirestoreRecordStore,
    pointer_key,
)
from confsync.calendars import CalendarDoc, ChannelWindow, epoch_ms
from confsync.conference import ConferenceState
from confsync.errors import LeaseLostError, RecordConflictError
from confsync.legacy_records import LegacyRecord
from confsync.ports import (
    CalendarStore,
    LegacyRecords,
    PageCursor,
    RecordForgetter,
    RecordStore,
    StagedSave,
)
from confsync.records import (
    CalendarRefs,
    ConferenceRecord,
    EventSnapshot,
    HoldState,
    OccurrenceSnapshot,
    PendingOperation,
    RecordStatus,
    SentState,
    conference_key,
)
from confsync.sweep_policy import SweepPlan
from confsync.testing import InMemoryCalendarStore, InMemoryRecordStore

T0 = datetime(2026, 12, 1, 9, 0, 0, 123456, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
FAR_FUTURE = datetime.max.replace(tzinfo=UTC)


class Records(RecordStore, LegacyRecords, RecordForgetter, Protocol):
    """What both record stores implement: the three record ports."""


PutLegacy = Callable[[LegacyRecord, Iterable[str]], None]
"""Store a schema-1 record as an older deployment left it, with pointers naming it for its
events and for the extra event ids given (stale pointers)."""


@dataclass
class Stores:
    calendars: CalendarStore
    records: Records
    put_legacy: PutLegacy


def _firestore_put_legacy(client: firestore.Client) -> PutLegacy:
    def put(record: LegacyRecord, stale: Iterable[str]) -> None:
        client.collection("conferences").document(record.key).set(
            legacy_records.to_document(record)
        )
        for event_id in [*record.events, *stale]:
            pointer = {
                "calendar_key": record.calendar_key,
                "event_id": event_id,
                "record_key": record.key,
            }
            ref = client.collection("conference_events").document(
                pointer_key(record.calendar_key, event_id)
            )
            ref.set(pointer)

    return put


@pytest.fixture(
    name="stores",
    params=[
        pytest.param("memory", id="memory"),
        pytest.param("firestore", id="firestore", marks=pytest.mark.emulators),
    ],
)
def stores_fixture(request: pytest.FixtureRequest) -> Iterator[Stores]:
    if request.param == "memory":
        records = InMemoryRecordStore()
        yield Stores(InMemoryCalendarStore(), records, records.put_legacy)
        return
    endpoints = request.getfixturevalue("firestore_emulator")
    client = firestore.Client.from_environment(endpoints.project)
    try:
        yield Stores(
            FirestoreCalendarStore(client),
            FirestoreRecordStore(client),
            _firestore_put_legacy(client),
        )
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

    assert stores.calendars.extend_lease("ck_1", "run-b", until=T0 + 9 * MINUTE) is None
    assert stores.calendars.extend_lease("ck_unknown", "run-a", until=T0 + 9 * MINUTE) is None
    doc = stores.calendars.get("ck_1")
    assert doc is not None
    assert doc.lease_until == T0 + 5 * MINUTE

    kept = stores.calendars.extend_lease("ck_1", "run-a", until=T0 + 9 * MINUTE)
    doc = stores.calendars.get("ck_1")
    assert doc is not None
    assert (doc.lease_owner, doc.lease_until) == ("run-a", T0 + 9 * MINUTE)
    assert kept == doc


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


def test_channel_windows_are_noted_one_by_one_and_cleared(stores: Stores) -> None:
    """Each write touches its own channel's entry (ids as the channel service makes them, with
    dashes), so two writers never lose each other's channels (issue #13, M1)."""
    stores.calendars.put(_calendar())
    old, new = "4ba78bf0-6a47-11e2-bcfd-0800200c9a66", "a.b`c-0800200c9a66"
    assert stores.calendars.get("ck_1") == _calendar()  # channels None: nothing recorded

    stores.calendars.note_channel("ck_1", "gone", ChannelWindow(T0 - 9 * MINUTE, T0 - MINUTE))
    stores.calendars.note_channel("ck_1", old, ChannelWindow(T0, T0 + 60 * MINUTE))
    stores.calendars.note_channel(
        "ck_1", new, ChannelWindow(T0 + MINUTE, T0 + 90 * MINUTE), forget=["gone"]
    )
    stores.calendars.note_channel("ck_1", old, ChannelWindow(T0, T0 + 5 * MINUTE))
    stores.calendars.note_channel("ck_unknown", old, ChannelWindow(T0, T0 + MINUTE))  # no-op

    doc = stores.calendars.get("ck_1")
    assert doc is not None
    assert doc.channels == {
        old: ChannelWindow(T0, T0 + 5 * MINUTE),
        new: ChannelWindow(T0 + MINUTE, T0 + 90 * MINUTE),
    }
    assert doc.channel_live(new, T0 + 6 * MINUTE)
    assert not doc.channel_live(old, T0 + 6 * MINUTE)
    assert stores.calendars.get("ck_unknown") is None

    stores.calendars.clear_channels("ck_1")

    cleared = stores.calendars.get("ck_1")
    assert cleared is not None
    assert cleared.channels == {}
    assert not cleared.channel_live(new, T0 + 6 * MINUTE)


def test_set_state_changes_the_state_and_records_why(stores: Stores) -> None:
    stores.calendars.put(_calendar(sync_token="tok-1"))

    stores.calendars.set_state("ck_1", "disconnected", now=T0, outcome="invalid_grant")

    doc = stores.calendars.get("ck_1")
    assert doc == _calendar(
        sync_token="tok-1", state="disconnected", last_outcome="invalid_grant", disconnected_at=T0
    )
    assert doc is not None
    assert not doc.syncing


# --- calendars: offboarding ---------------------------------------------------------------------


def test_disconnected_at_is_the_first_disconnection_and_cleared_on_reconnection(
    stores: Stores,
) -> None:
    calendars = stores.calendars
    calendars.put(_calendar())

    calendars.set_state("ck_1", "disconnected", now=T0, outcome="events.list: HTTP 404 notFound")
    calendars.set_state("ck_1", "disconnected", now=T0 + MINUTE, outcome="events.watch: HTTP 401")
    repeated = calendars.get("ck_1")
    calendars.set_state("ck_1", "active", now=T0 + 2 * MINUTE, outcome="enrolled")
    reconnected = calendars.get("ck_1")
    calendars.set_state("ck_1", "disconnected", now=T0 + 3 * MINUTE, outcome="invalid_grant")
    again = calendars.get("ck_1")

    assert repeated is not None
    assert reconnected is not None
    assert again is not None
    assert (repeated.disconnected_at, repeated.last_outcome) == (T0, "events.watch: HTTP 401")
    assert (reconnected.state, reconnected.disconnected_at) == ("active", None)
    assert again.disconnected_at == T0 + 3 * MINUTE


def test_set_state_if_changes_only_from_the_expected_state(stores: Stores) -> None:
    calendars = stores.calendars
    calendars.put(_calendar("ck_gone"))
    calendars.put(_calendar("ck_back"))
    calendars.set_state("ck_gone", "disconnected", now=T0, outcome="invalid_grant")
    calendars.set_state("ck_back", "disconnected", now=T0, outcome="invalid_grant")
    calendars.set_state("ck_back", "active", now=T0 + MINUTE, outcome="enrolled")

    moved = calendars.set_state_if(
        "ck_gone",
        "disconnected",
        "unenrolled",
        now=T0 + 2 * MINUTE,
        outcome="retired",
        disconnected_before=T0 + MINUTE,
    )
    left = calendars.set_state_if(
        "ck_back", "disconnected", "unenrolled", now=T0 + 2 * MINUTE, outcome="retired"
    )
    unknown = calendars.set_state_if("ck_none", "disconnected", "unenrolled", now=T0, outcome="x")

    gone, back = calendars.get("ck_gone"), calendars.get("ck_back")
    assert (moved, left, unknown) == (True, False, False)
    assert gone is not None
    assert back is not None
    assert (gone.state, gone.last_outcome, gone.disconnected_at) == ("unenrolled", "retired", None)
    assert (back.state, back.last_outcome) == ("active", "enrolled")
    assert calendars.get("ck_none") is None


def test_set_state_if_disconnected_too_recently_changes_nothing(stores: Stores) -> None:
    stores.calendars.put(_calendar())
    stores.calendars.set_state("ck_1", "disconnected", now=T0, outcome="invalid_grant")

    moved = stores.calendars.set_state_if(
        "ck_1", "disconnected", "unenrolled", now=T0, outcome="retired", disconnected_before=T0
    )

    doc = stores.calendars.get("ck_1")
    assert moved is False
    assert doc is not None
    assert (doc.state, doc.disconnected_at) == ("disconnected", T0)


def _disconnect_at(stores: Stores, key: str, at: datetime) -> None:
    stores.calendars.put(_calendar(key))
    stores.calendars.set_state(key, "disconnected", now=at, outcome="invalid_grant")


def test_disconnected_before_finds_the_retention_expired_longest_disconnected_first(
    stores: Stores,
) -> None:
    for n in range(5):
        _disconnect_at(stores, f"ck_{n}", T0 - n * MINUTE)
    stores.calendars.put(_calendar("ck_active", last_attempt_at=T0 - 60 * MINUTE))
    _disconnect_at(stores, "ck_back", T0 - 90 * MINUTE)
    stores.calendars.set_state("ck_back", "active", now=T0, outcome="enrolled")
    stores.calendars.put(_calendar("ck_old_doc", state="disconnected"))  # stored before offboarding

    due = stores.calendars.disconnected_before(T0 - MINUTE, limit=10)
    bounded = stores.calendars.disconnected_before(T0 - MINUTE, limit=2)

    assert [d.key for d in due] == ["ck_4", "ck_3", "ck_2"]  # ck_1 is exactly at the cutoff
    assert [d.key for d in bounded] == ["ck_4", "ck_3"]
    assert stores.calendars.disconnected_before(T0, limit=0) == []


def test_disconnected_since_finds_the_recent_ones_most_recent_first(stores: Stores) -> None:
    for n in range(5):
        _disconnect_at(stores, f"ck_{n}", T0 - n * MINUTE)
    stores.calendars.put(_calendar("ck_active"))

    recent = stores.calendars.disconnected_since(T0 - 2 * MINUTE, limit=10)
    bounded = stores.calendars.disconnected_since(T0 - 2 * MINUTE, limit=2)

    assert [d.key for d in recent] == ["ck_0", "ck_1", "ck_2"]
    assert [d.key for d in bounded] == ["ck_0", "ck_1"]
    assert stores.calendars.disconnected_since(T0, limit=0) == []


# --- calendars: the sweep -----------------------------------------------------------------------


def test_due_for_sweep_selects_calendars_stored_before_sweeps_by_need_on_the_old_criterion(
    stores: Stores,
) -> None:
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

    due = stores.calendars.due_for_sweep(T0 + 10 * MINUTE, limit=10, stale_before=before)

    assert [d.key for d in due.items] == ["ck_never", "ck_staler", "ck_stale", "ck_pending"]
    assert due.items[0] == _calendar("ck_never")
    assert due.cursor is None


def test_due_for_sweep_gives_at_most_limit_of_those_stored_before_least_recently_attempted_first(
    stores: Stores,
) -> None:
    for i in range(6):
        stores.calendars.put(_calendar(f"ck_{i}", last_attempt_at=T0 - i * MINUTE))
    stores.calendars.put(_calendar("ck_p", last_attempt_at=T0 - 30 * MINUTE, pending_count=2))
    stores.calendars.put(_calendar("ck_p2", last_attempt_at=T0 + 30 * MINUTE, pending_count=2))

    due = stores.calendars.due_for_sweep(T0, limit=3, stale_before=T0 - 2 * MINUTE)

    assert [d.key for d in due.items] == ["ck_p", "ck_5", "ck_4"]
    assert stores.calendars.due_for_sweep(T0, limit=0, stale_before=T0).items == ()
    due_later = stores.calendars.due_for_sweep(T0, limit=5, stale_before=T0 - 100 * MINUTE)
    assert [d.key for d in due_later.items] == ["ck_p", "ck_p2"]


def test_due_for_sweep_selects_calendars_whose_planned_sweep_has_come_earliest_first(
    stores: Stores,
) -> None:
    calendars = [
        _calendar("ck_later", sweep_due_at=T0 + MINUTE, last_attempt_at=T0 - 90 * MINUTE),
        _calendar("ck_due", sweep_due_at=T0 - MINUTE, last_attempt_at=T0 - MINUTE),
        _calendar("ck_overdue", state="poll-only", sweep_due_at=T0 - 9 * MINUTE),
        _calendar("ck_at_now", sweep_due_at=T0, last_attempt_at=T0),
        _calendar("ck_pending_later", sweep_due_at=T0 + 5 * MINUTE, pending_count=2),
        _calendar("ck_gone", state="disconnected", sweep_due_at=T0 - 30 * MINUTE),
        _calendar("ck_legacy", last_attempt_at=T0 - 60 * MINUTE),
    ]
    for doc in calendars:
        stores.calendars.put(doc)

    due = stores.calendars.due_for_sweep(T0, limit=10, stale_before=T0 - 15 * MINUTE)
    first = stores.calendars.due_for_sweep(T0, limit=2, stale_before=T0 - 15 * MINUTE)

    assert [d.key for d in due.items] == ["ck_legacy", "ck_overdue", "ck_due", "ck_at_now"]
    assert [d.key for d in first.items] == ["ck_legacy", "ck_overdue"]
    assert first.cursor is not None


def test_due_for_sweep_finds_every_calendar_stored_before_sweeps_by_need_past_the_probe(
    stores: Stores,
) -> None:
    for i in range(14):  # more than the probe of the old criterion's query reads
        stores.calendars.put(_calendar(f"ck_old_{i:02d}", last_attempt_at=T0 - (60 + i) * MINUTE))
    stores.calendars.put(_calendar("ck_new", sweep_due_at=T0, last_attempt_at=T0 - 300 * MINUTE))

    due = stores.calendars.due_for_sweep(T0, limit=20, stale_before=T0 - 15 * MINUTE)

    assert [d.key for d in due.items] == [
        *(f"ck_old_{i:02d}" for i in reversed(range(14))),
        "ck_new",
    ]


def test_a_commit_stores_the_planned_sweep_with_the_release(stores: Stores) -> None:
    leased = _leased(stores, "run-a")
    plan = SweepPlan(T0 + 15 * MINUTE, timedelta(minutes=15), suspect=True)

    stores.calendars.commit(
        "ck_1",
        "run-a",
        leased.notify_seq,
        sync_token="tok-2",
        pulled_from=T0,
        now=T0 + MINUTE,
        full_sync=False,
        pending_count=0,
        sweep=plan,
    )

    stored = stores.calendars.get("ck_1")
    assert stored is not None
    assert (stored.sweep_due_at, stored.sweep_interval, stored.channel_suspect) == (
        T0 + 15 * MINUTE,
        timedelta(minutes=15),
        True,
    )
    assert stores.calendars.due_for_sweep(T0 + 15 * MINUTE, 5, stale_before=T0).items == (stored,)


def _sweep_pages(
    calendars: CalendarStore, now: datetime, limit: int, between: Callable[[int], None]
) -> list[list[str]]:
    """Every page of the sweep query, ``between(n)`` called after the n-th (from 1)."""
    pages: list[list[str]] = []
    cursor: PageCursor | None = None
    while True:
        page = calendars.due_for_sweep(now, limit, cursor, stale_before=now - 15 * MINUTE)
        pages.append([d.key for d in page.items])
        between(len(pages))
        if page.cursor is None:
            return pages
        cursor = page.cursor


def test_due_for_sweep_pages_give_every_due_calendar_once_in_order(stores: Stores) -> None:
    # ties on sweep_due_at, one stored before sweeps by need (first page only), one not due
    for i in range(7):
        stores.calendars.put(_calendar(f"ck_due{i}", sweep_due_at=T0 - (i // 3) * MINUTE))
    stores.calendars.put(_calendar("ck_old", last_attempt_at=T0 - 60 * MINUTE))
    stores.calendars.put(_calendar("ck_pending", sweep_due_at=T0 - 9 * MINUTE, pending_count=1))
    stores.calendars.put(_calendar("ck_later", sweep_due_at=T0 + MINUTE))

    pages = _sweep_pages(stores.calendars, T0, 3, lambda _n: None)

    assert all(len(page) <= 3 for page in pages)
    assert [key for page in pages for key in page] == [
        "ck_old",
        "ck_pending",
        "ck_due6",
        "ck_due3",
        "ck_due4",
        "ck_due5",
        "ck_due0",
        "ck_due1",
        "ck_due2",
    ]


def test_due_for_sweep_paging_skips_nothing_when_calendars_are_synced_meanwhile(
    stores: Stores,
) -> None:
    keys = [f"ck_{i:02d}" for i in range(10)]
    for i, key in enumerate(keys):
        stores.calendars.put(_calendar(key, sweep_due_at=T0 - (20 - i) * MINUTE))

    def sync_the_first_page(n: int) -> None:
        if n == 1:  # the syncs the first page requested commit while the tick reads on
            for key in keys[:4]:
                stores.calendars.put(_calendar(key, sweep_due_at=T0 + 15 * MINUTE))

    pages = _sweep_pages(stores.calendars, T0, 4, sync_the_first_page)

    assert [key for page in pages for key in page] == keys


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


# --- calendars: the records' schema (migration) -------------------------------------------------


def test_mark_records_migrated_sets_the_schema_alone(stores: Stores) -> None:
    leased = _leased(stores)
    stores.calendars.put(replace(leased, records_schema=1))
    assert stores.calendars.get("ck_1") == replace(leased, records_schema=1)

    stores.calendars.mark_records_migrated("ck_1", 2)

    assert stores.calendars.get("ck_1") == replace(leased, records_schema=2)


def test_of_subject_returns_every_calendar_of_that_subject_only(stores: Stores) -> None:
    primary = CalendarDoc(key="ck_a", subject="alice@example.com", calendar_id="alice@example.com")
    team = CalendarDoc(
        key="ck_b", subject="alice@example.com", calendar_id="team@example.com", state="poll-only"
    )
    gone = replace(team, key="ck_c", calendar_id="old@example.com", state="unenrolled")
    bobs = CalendarDoc(key="ck_d", subject="bob@example.com", calendar_id="bob@example.com")
    for doc in (bobs, gone, team, primary):
        stores.calendars.put(doc)

    assert stores.calendars.of_subject("alice@example.com") == [primary, team, gone]
    assert stores.calendars.of_subject("bob@example.com") == [bobs]
    assert stores.calendars.of_subject("carol@example.com") == []


def test_mark_records_migrated_of_an_unknown_calendar_creates_nothing(stores: Stores) -> None:
    stores.calendars.mark_records_migrated("ck_missing", 2)

    assert stores.calendars.get("ck_missing") is None


# --- conference records: helpers ---------------------------------------------------------------


def _snapshot(event_id: str, updated_ms: int = 7) -> EventSnapshot:
    return EventSnapshot(
        event_id=event_id,
        title="Planning",
        start="2026-12-02T10:00:00Z",
        end="2026-12-02T11:00:00Z",
        time_zone="Europe/Paris",
        recurrence=(),
        attendees=("bob@example.com",),
        organizer="alice@example.com",
        updated_ms=updated_ms,
    )


def _refs(*event_ids: str, subject: str = "alice@example.com") -> CalendarRefs:
    return CalendarRefs(
        subject=subject,
        calendar_id="primary",
        events={e: _snapshot(e) for e in event_ids},
        primary_event_id=event_ids[0] if event_ids else None,
    )


def _record(
    conference_id: str,
    calendars: dict[str, tuple[str, ...]] | None = None,
    *,
    home: str = "ck_1",
    references: int = 0,
    status: RecordStatus = "active",
    due: datetime | None = None,
    hold: HoldState | None = None,
) -> ConferenceRecord:
    """A new record (no version). ``calendars``: calendar key -> the owner's event ids there
    (default: ``e-<conference id>`` on the home calendar)."""
    refs = {home: (f"e-{conference_id}",)} if calendars is None else calendars
    return ConferenceRecord(
        key=conference_key(conference_id),
        conference_id=conference_id,
        home_key=home,
        calendars={key: _refs(*events) for key, events in sorted(refs.items())},
        references=references,
        pending=None
        if due is None
        else PendingOperation(attempts=1, next_attempt_at=due, last_error="503"),
        status=status,
        hold=hold,
    )


def _state(event_id: str) -> ConferenceState:
    return ConferenceState(
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
        event_id=event_id,
    )


def _stored(stores: Stores, record: ConferenceRecord) -> ConferenceRecord:
    """The stored version of ``record`` (it must exist)."""
    [found] = stores.records.by_keys([record.key])
    return found


def _keys(records: Iterable[ConferenceRecord]) -> list[str]:
    return [r.key for r in records]


def _legacy(
    calendar_key: str,
    conference_id: str,
    event_ids: tuple[str, ...] = (),
    *,
    due: datetime | None = None,
) -> LegacyRecord:
    return LegacyRecord(
        key=legacy_records.record_key(calendar_key, conference_id),
        calendar_key=calendar_key,
        conference_id=conference_id,
        events={e: _snapshot(e) for e in event_ids},
        primary_event_id=event_ids[0] if event_ids else None,
        pending=None
        if due is None
        else PendingOperation(attempts=2, next_attempt_at=due, last_error="503"),
    )


# --- conference records: round trip and conditional saves ---------------------------------------


def test_save_then_by_keys_round_trips_every_field_in_the_requested_order(stores: Stores) -> None:
    full = ConferenceRecord(
        key=conference_key("c-full"),
        conference_id="c-full",
        home_key="ck_2",
        calendars={
            "ck_1": CalendarRefs(
                subject="alice@example.com",
                calendar_id="primary",
                events={"s1": replace(_snapshot("s1"), recurrence=("RRULE:FREQ=WEEKLY",))},
                occurrences={
                    "s1_20261209T100000Z": OccurrenceSnapshot(
                        instance_id="s1_20261209T100000Z",
                        series_id="s1",
                        original_start="2026-12-09T10:00:00Z",
                        cancelled=False,
                        start="2026-12-09T11:00:00Z",
                        end="2026-12-09T12:00:00Z",
                        title="Moved",
                        updated_ms=9,
                    )
                },
                primary_event_id="s1",
                departed={"gone-1": "uid-1@google.com", "gone-2": None},
            ),
            "ck_2": _refs("e2", subject="carol@example.com"),
        },
        references=3,
        sent=SentState(revision=7, state=_state("s1"), join_url="https://conf.example/j/full"),
        pending=PendingOperation(attempts=2, next_attempt_at=T0, last_error="503"),
        status="active",
        detached_ms=42,
        hold="released",
        owner="Alice@Example.com",
        owner_known=True,
    )
    ownerless = replace(
        _record("c-ownerless"), owner_known=True, claimant="alice@example.com", status="failed"
    )
    deleted = replace(
        _record("c-deleted", {}), sent=SentState(revision=9, state=None), status="deleted"
    )
    stores.records.save([full, ownerless, deleted])

    found = stores.records.by_keys([deleted.key, "conf_missing", full.key, ownerless.key])

    assert found == [deleted, full, ownerless]
    assert found[1].calendars["ck_1"].departed == {"gone-1": "uid-1@google.com", "gone-2": None}
    assert all(r.version is not None for r in found)
    assert stores.records.by_keys([]) == []
    assert stores.records.by_keys(["conf_missing"]) == []


def test_a_record_without_a_version_is_only_created(stores: Stores) -> None:
    first = _record("c-1")
    stores.records.save([first])
    stored = _stored(stores, first)
    other = _record("c-2")

    with pytest.raises(RecordConflictError) as caught:
        stores.records.save(
            [replace(first, references=5), other],
            calendar_key="ck_1",
            attachments={"e-c-2": other.key},
        )

    assert caught.value.keys == [first.key]
    assert stores.records.by_keys([first.key, other.key]) == [first]
    assert _stored(stores, first).version == stored.version
    assert stores.records.attachments("ck_1", ["e-c-2"]) == {}


def test_an_update_from_a_stale_version_writes_nothing_of_its_save(stores: Stores) -> None:
    a, b = _record("c-a"), _record("c-b")
    stores.records.save([a, b], calendar_key="ck_1", attachments={"e-old": b.key})
    read_a, read_b = stores.records.by_keys([a.key, b.key])
    stores.records.save([replace(read_a, references=1)])  # another run, meanwhile
    new = _record("c-new")

    with pytest.raises(RecordConflictError) as caught:
        stores.records.save(
            [replace(read_b, references=2), replace(read_a, references=3), new],
            calendar_key="ck_1",
            attachments={"e-new": new.key, "e-old": None},
        )

    assert caught.value.keys == [a.key]
    assert stores.records.by_keys([a.key, b.key, new.key]) == [replace(a, references=1), b]
    assert _stored(stores, b).version == read_b.version
    assert stores.records.attachments("ck_1", ["e-new", "e-old"]) == {"e-old": b.key}


def _commit_staged(stores: Stores, seen_seq: int, staged: StagedSave) -> bool:
    return stores.calendars.commit(
        "ck_1",
        "run-a",
        seen_seq,
        sync_token="tok-2",
        pulled_from=T0 + MINUTE,
        now=T0 + 2 * MINUTE,
        full_sync=False,
        pending_count=0,
        records=staged,
    )


def test_a_save_staged_for_the_commit_is_written_with_the_token_and_the_release(
    stores: Stores,
) -> None:
    leased = _leased(stores, "run-a")
    a = _record("c-a")
    stores.records.save([a], calendar_key="ck_1", attachments={"e-a": a.key})
    [read_a] = stores.records.by_keys([a.key])
    new = _record("c-new")
    staged = stores.records.stage(
        [replace(read_a, references=2), new],
        calendar_key="ck_1",
        attachments={"e-new": new.key, "e-a": None},
    )
    assert staged is not None
    assert stores.records.by_keys([new.key]) == []  # staged: nothing written yet

    assert _commit_staged(stores, leased.notify_seq, staged) is True

    doc = stores.calendars.get("ck_1")
    assert doc is not None
    assert (doc.sync_token, doc.lease_owner, doc.last_outcome) == ("tok-2", None, "synced")
    assert stores.records.by_keys([a.key, new.key]) == [replace(a, references=2), new]
    assert _stored(stores, a).version != read_a.version
    assert stores.records.attachments("ck_1", ["e-a", "e-new"]) == {"e-new": new.key}


def test_a_staged_save_whose_record_changed_writes_neither_it_nor_the_token(
    stores: Stores,
) -> None:
    leased = _leased(stores, "run-a")
    a = _record("c-a")
    stores.records.save([a])
    [read_a] = stores.records.by_keys([a.key])
    new = _record("c-new")
    staged = stores.records.stage(
        [replace(read_a, references=3), new], calendar_key="ck_1", attachments={"e-new": new.key}
    )
    assert staged is not None
    stores.records.save([replace(read_a, references=1)])  # another calendar's run, meanwhile

    with pytest.raises(RecordConflictError) as caught:
        _commit_staged(stores, leased.notify_seq, staged)

    assert caught.value.keys == [a.key]
    assert stores.calendars.get("ck_1") == leased  # no token, the lease still held
    assert stores.records.by_keys([a.key, new.key]) == [replace(a, references=1)]
    assert stores.records.attachments("ck_1", ["e-new"]) == {}


def test_a_staged_save_goes_with_a_commit_that_keeps_the_lease_after_a_notification(
    stores: Stores,
) -> None:
    leased = _leased(stores, "run-a")
    stores.calendars.notify("ck_1", T0 + MINUTE)  # moves the calendar's version too
    new = _record("c-new")
    staged = stores.records.stage([new], calendar_key="ck_1", attachments={"e-new": new.key})
    assert staged is not None

    assert _commit_staged(stores, leased.notify_seq, staged) is False

    doc = stores.calendars.get("ck_1")
    assert doc is not None
    assert (doc.sync_token, doc.lease_owner) == ("tok-2", "run-a")
    assert stores.records.by_keys([new.key]) == [new]
    assert stores.records.attachments("ck_1", ["e-new"]) == {"e-new": new.key}


def test_a_staged_save_can_be_written_on_its_own(stores: Stores) -> None:
    new = _record("c-new")
    staged = stores.records.stage([new], calendar_key="ck_1", attachments={"e-new": new.key})
    assert staged is not None

    staged.save()

    assert stores.records.by_keys([new.key]) == [new]
    assert stores.records.attachments("ck_1", ["e-new"]) == {"e-new": new.key}


def test_every_save_that_changes_a_record_changes_its_version(stores: Stores) -> None:
    record = _record("c-1")
    stores.records.save([record])
    first = _stored(stores, record)

    stores.records.save([replace(first, references=1)])
    second = _stored(stores, record)
    stores.records.save([replace(second, status="failed")])
    third = _stored(stores, record)

    assert len({first.version, second.version, third.version}) == 3
    assert None not in {first.version, second.version, third.version}
    assert third == replace(record, references=1, status="failed")
    with pytest.raises(RecordConflictError):
        stores.records.save([replace(second, references=9)])  # read before the last save
    with pytest.raises(RecordConflictError):
        stores.records.save([replace(record, references=9)])  # never read: a create
    assert _stored(stores, record) == third


def test_a_record_read_back_after_its_save_can_be_saved_again(stores: Stores) -> None:
    record = _record("c-1")
    stores.records.save([record])

    for references in range(1, 4):
        stores.records.save([replace(_stored(stores, record), references=references)])

    assert _stored(stores, record) == replace(record, references=3)


# --- conference records: attachments -----------------------------------------------------------


def test_attachments_round_trip_per_calendar_and_detach(stores: Stores) -> None:
    a, b = _record("c-a"), _record("c-b")
    stores.records.save(
        [a, b], calendar_key="ck_1", attachments={"e1": a.key, "e2": a.key, "e3": b.key}
    )
    stores.records.save([], calendar_key="ck_2", attachments={"e1": b.key})

    assert stores.records.attachments("ck_1", ["e1", "e3", "e9"]) == {"e1": a.key, "e3": b.key}
    assert stores.records.attachments("ck_2", iter(["e1", "e2"])) == {"e1": b.key}
    assert stores.records.attachments("ck_1", []) == {}
    assert stores.records.attached_to("ck_1") == {"e1": a.key, "e2": a.key, "e3": b.key}

    stores.records.save([], calendar_key="ck_1", attachments={"e1": None, "e3": a.key, "e9": None})

    assert stores.records.attachments("ck_1", ["e1", "e2", "e3", "e9"]) == {
        "e2": a.key,
        "e3": a.key,
    }
    assert stores.records.attached_to("ck_1") == {"e2": a.key, "e3": a.key}
    assert stores.records.attached_to("ck_2") == {"e1": b.key}
    assert stores.records.attached_to("ck_unknown") == {}


def test_attachments_of_many_events_are_all_found(stores: Stores) -> None:
    record = _record("c-1")
    ids = [f"ev{i:03d}" for i in range(320)]  # more than one batch get
    stores.records.save([record], calendar_key="ck_1", attachments=dict.fromkeys(ids, record.key))

    found = stores.records.attachments("ck_1", [*ids, "unknown"])

    assert found == dict.fromkeys(ids, record.key)
    assert len(stores.records.attached_to("ck_1")) == len(ids)


def test_a_pointer_naming_a_schema_1_record_is_no_attachment_until_replaced(
    stores: Stores,
) -> None:
    old = _legacy("ck_1", "c-1", ("e1",))
    stores.put_legacy(old, ["e-stale"])
    assert stores.records.attachments("ck_1", ["e1", "e-stale"]) == {}
    assert stores.records.attached_to("ck_1") == {}

    record = _record("c-1", {"ck_1": ("e1",)})
    stores.records.save([record], calendar_key="ck_1", attachments={"e1": record.key})

    assert stores.records.attachments("ck_1", ["e1", "e-stale"]) == {"e1": record.key}
    assert stores.records.attached_to("ck_1") == {"e1": record.key}


# --- conference records: queries ---------------------------------------------------------------


def test_pending_returns_due_active_records_whose_home_is_the_calendar(stores: Stores) -> None:
    early = _record("c-early", due=T0 - 2 * MINUTE)
    at_due = _record("c-at-due", due=T0)
    later = _record("c-later", due=T0 + MINUTE)
    settled = _record("c-settled")
    failed = _record("c-failed", status="failed", due=T0 - MINUTE)
    deleted = _record("c-deleted", {}, status="deleted", due=T0 - MINUTE)
    transferred = _record("c-transferred", {}, status="transferred", due=T0 - MINUTE)
    held = _record("c-held", due=T0 - MINUTE, hold="held")
    released = _record("c-released", due=T0 - MINUTE, hold="released")
    home_elsewhere = _record("c-away", {"ck_1": ("e1",)}, home="ck_2", due=T0 - MINUTE)
    home_here = _record("c-home", {"ck_2": ("e2",)}, home="ck_1", due=T0 - 3 * MINUTE / 2)
    stores.records.save(
        [
            early,
            at_due,
            later,
            settled,
            failed,
            deleted,
            transferred,
            held,
            released,
            home_elsewhere,
            home_here,
        ]
    )
    stores.put_legacy(_legacy("ck_1", "c-legacy", ("e9",), due=T0 - 5 * MINUTE), [])

    found = stores.records.pending("ck_1", T0, limit=10)

    assert _keys(found) == _keys([early, home_here, released, at_due])
    assert found[0] == early
    assert _keys(stores.records.pending("ck_1", FAR_FUTURE, limit=10)) == _keys(
        [early, home_here, released, at_due, later]
    )
    assert _keys(stores.records.pending("ck_2", T0, limit=10)) == [home_elsewhere.key]
    assert stores.records.pending("ck_1", T0 - 3 * MINUTE, limit=10) == []
    assert stores.records.pending("ck_unknown", FAR_FUTURE, limit=10) == []


def test_pending_returns_the_earliest_due_first_up_to_the_limit(stores: Stores) -> None:
    late = _record("c-1", due=T0)
    early = _record("c-2", due=T0 - 2 * MINUTE)
    middle = _record("c-3", due=T0 - MINUTE)
    stores.records.save([late, early, middle])

    assert _keys(stores.records.pending("ck_1", FAR_FUTURE, limit=2)) == [early.key, middle.key]
    assert stores.records.pending("ck_1", FAR_FUTURE, limit=0) == []


def test_pending_follows_saves_that_settle_fail_hold_release_or_move_home(
    stores: Stores,
) -> None:
    records = [_record(f"c-{name}", due=T0) for name in ("settle", "fail", "hold", "move", "keep")]
    stores.records.save(records)
    settle, fail, hold, move, keep = stores.records.by_keys(_keys(records))

    stores.records.save(
        [
            replace(settle, pending=None),
            replace(fail, status="failed"),
            replace(hold, hold="held"),
            replace(move, home_key="ck_2"),
        ]
    )

    assert _keys(stores.records.pending("ck_1", T0, limit=10)) == [keep.key]
    assert _keys(stores.records.pending("ck_2", T0, limit=10)) == [move.key]
    assert _keys(stores.records.held("ck_1")) == [hold.key]

    stores.records.save([replace(_stored(stores, hold), hold="released")])

    assert sorted(_keys(stores.records.pending("ck_1", T0, limit=10))) == sorted(
        [hold.key, keep.key]
    )
    assert stores.records.held("ck_1") == []


def test_held_returns_the_held_deletes_whose_home_is_the_calendar(stores: Stores) -> None:
    held = _record("c-held", {}, due=T0, hold="held")
    held_refs_elsewhere = _record("c-held-2", {"ck_2": ("e2",)}, due=T0, hold="held")
    released = _record("c-released", due=T0, hold="released")
    queued = _record("c-queued", due=T0)
    home_elsewhere = _record("c-away", {"ck_1": ("e1",)}, home="ck_2", due=T0, hold="held")
    stores.records.save([held, held_refs_elsewhere, released, queued, home_elsewhere])

    found = stores.records.held("ck_1")

    assert sorted(found, key=lambda r: r.key) == [held, held_refs_elsewhere]
    assert stores.records.held("ck_2") == [home_elsewhere]
    assert stores.records.held("ck_unknown") == []


def test_of_calendar_returns_the_records_holding_references_on_it(stores: Stores) -> None:
    home_here = _record("c-home", {"ck_1": ("e1",)})
    shared = _record("c-shared", {"ck_1": ("e2",), "ck_2": ("e3",)}, home="ck_2")
    departed_only = replace(
        _record("c-departed", {}, home="ck_2").with_refs(
            "ck_1", replace(_refs(), departed={"e4": None})
        ),
        status="transferred",
    )
    deleted = _record("c-deleted", {"ck_1": ()}, status="deleted")
    home_only = _record("c-home-only", {"ck_2": ("e5",)}, home="ck_1")
    counted_only = _record("c-counted", {"ck_2": ("e6",)}, home="ck_2", references=2)
    stores.records.save([home_here, shared, departed_only, deleted, home_only, counted_only])
    stores.put_legacy(_legacy("ck_1", "c-legacy", ("e9",)), [])

    found = sorted(stores.records.of_calendar("ck_1"), key=lambda r: r.key)

    assert found == sorted([home_here, shared, departed_only, deleted], key=lambda r: r.key)
    assert sorted(_keys(stores.records.of_calendar("ck_2"))) == sorted(
        _keys([shared, home_only, counted_only])
    )
    assert list(stores.records.of_calendar("ck_unknown")) == []


def test_of_calendar_follows_references_that_leave(stores: Stores) -> None:
    shared = _record("c-shared", {"ck_1": ("e1",), "ck_2": ("e2",)})
    stores.records.save([shared])

    stores.records.save([_stored(stores, shared).with_refs("ck_1", None)])

    assert list(stores.records.of_calendar("ck_1")) == []
    assert _keys(stores.records.of_calendar("ck_2")) == [shared.key]


# --- schema-1 records (the LegacyRecords port) --------------------------------------------------


def test_legacy_of_calendar_returns_the_calendars_schema_1_records(stores: Stores) -> None:
    mine = replace(
        _legacy("ck_1", "c-1", ("e1", "e2"), due=T0),
        sent=SentState(revision=4, state=_state("e1"), join_url="https://conf.example/j/1"),
        hold="held",
        owner="alice@example.com",
        owner_known=True,
        role="acting",
        departed={"e0": "uid-0@google.com"},
        detached_ms=11,
    )
    reference = replace(_legacy("ck_1", "c-2", ("e3",)), owner_known=True, role="reference")
    theirs = _legacy("ck_2", "c-1", ("e7",))
    for legacy in (mine, reference, theirs):
        stores.put_legacy(legacy, [])
    stores.records.save([_record("c-1", {"ck_1": ("e1",)})])

    found = stores.records.legacy_of_calendar("ck_1")

    assert sorted(found, key=lambda r: r.key) == sorted([mine, reference], key=lambda r: r.key)
    assert stores.records.legacy_of_calendar("ck_2") == [theirs]
    assert stores.records.legacy_of_calendar("ck_unknown") == []


def test_drop_legacy_deletes_only_those_records(stores: Stores) -> None:
    first, second = _legacy("ck_1", "c-1", ("e1",)), _legacy("ck_1", "c-2", ("e2",))
    theirs = _legacy("ck_2", "c-1", ("e7",))
    for legacy in (first, second, theirs):
        stores.put_legacy(legacy, [])
    record = _record("c-1")
    stores.records.save([record])

    stores.records.drop_legacy([first.key, "cf_unknown"])
    stores.records.drop_legacy([])

    assert stores.records.legacy_of_calendar("ck_1") == [second]
    assert stores.records.legacy_of_calendar("ck_2") == [theirs]
    assert stores.records.by_keys([record.key]) == [record]


# --- forgetting a calendar (the RecordForgetter port) ------------------------------------------


def test_forget_calendar_removes_only_that_calendars_part(stores: Stores) -> None:
    # shared: the owner's events on ck_1 (e1) and ck_2 (e2), counted on ck_1 (e5) and ck_3 (e9).
    # Both counted events are organised by their own calendars (named in ``elsewhere``).
    shared = replace(
        _record("c-shared", {"ck_1": ("e1",), "ck_2": ("e2",)}, references=2),
        elsewhere={"e5": "ck_1", "e9": "ck_3"},
    )
    ours = _record("c-ours", {"ck_1": ("e3",)}, due=T0)
    # counted: held on ck_2 only, counted once on ck_1 (e6).
    counted = replace(
        _record("c-counted", {"ck_2": ("e4",)}, home="ck_2", references=1),
        elsewhere={"e6": "ck_1"},
    )
    theirs = _record("c-theirs", {"ck_2": ("e8",)}, home="ck_2", references=1)
    stores.records.save(
        [shared, ours, counted],
        calendar_key="ck_1",
        attachments={"e1": shared.key, "e5": shared.key, "e3": ours.key, "e6": counted.key},
    )
    stores.records.save(
        [theirs],
        calendar_key="ck_2",
        attachments={"e2": shared.key, "e4": counted.key, "e8": theirs.key},
    )
    stores.records.save([], calendar_key="ck_3", attachments={"e9": shared.key})
    old_mine, old_theirs = _legacy("ck_1", "c-old", ("e10",)), _legacy("ck_2", "c-old", ("e11",))
    stores.put_legacy(old_mine, ["e-stale"])
    stores.put_legacy(old_theirs, [])
    untouched = _stored(stores, theirs)

    forgotten = stores.records.forget_calendar("ck_1")

    assert forgotten == 4  # three records changed, one schema-1 record dropped
    assert stores.records.by_keys([shared.key, ours.key, counted.key, theirs.key]) == [
        # Its home moves to the calendar left holding its references ...
        replace(
            shared.with_refs("ck_1", None),
            references=1,
            home_key="ck_2",
            elsewhere={"e9": "ck_3"},
        ),
        # ... and with none left, nothing would ever retry its pending operation: dropped.
        replace(ours.with_refs("ck_1", None), pending=None),
        replace(counted, references=0, elsewhere={}),
        theirs,
    ]
    assert _stored(stores, theirs).version == untouched.version
    assert list(stores.records.of_calendar("ck_1")) == []
    assert stores.records.attached_to("ck_1") == {}
    assert stores.records.attachments("ck_1", ["e1", "e3", "e5", "e6", "e10", "e-stale"]) == {}
    assert stores.records.attached_to("ck_2") == {
        "e2": shared.key,
        "e4": counted.key,
        "e8": theirs.key,
    }
    assert stores.records.attached_to("ck_3") == {"e9": shared.key}
    assert stores.records.legacy_of_calendar("ck_1") == []
    assert stores.records.legacy_of_calendar("ck_2") == [old_theirs]


def test_forget_calendar_of_an_unknown_calendar_changes_nothing(stores: Stores) -> None:
    record = _record("c-1")
    stores.records.save([record], calendar_key="ck_1", attachments={"e-c-1": record.key})
    before = _stored(stores, record)

    assert stores.records.forget_calendar("ck_unknown") == 0

    assert _stored(stores, record).version == before.version
    assert stores.records.attached_to("ck_1") == {"e-c-1": record.key}


def test_forget_calendar_twice_forgets_nothing_more(stores: Stores) -> None:
    record = _record("c-1", {"ck_1": ("e1",), "ck_2": ("e2",)})
    stores.records.save([record], calendar_key="ck_1", attachments={"e1": record.key})
    assert stores.records.forget_calendar("ck_1") == 1

    assert stores.records.forget_calendar("ck_1") == 0

    assert stores.records.by_keys([record.key]) == [
        replace(record.with_refs("ck_1", None), home_key="ck_2")
    ]
