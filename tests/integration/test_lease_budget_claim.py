"""The Calendar budget's claim sent ahead with a sync run's lease, on the Firestore emulator: the
claim the run's first Calendar call would make rides in the lease's commit (one round trip for
both), and is made only when the lease is taken
(docs/decisions/2026-12-04-project-calendar-budget.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from confsync.adapters import firestore_http as firestore
from confsync.adapters.firestore_budget import COLLECTION, FirestoreCalendarBudget, shard_count
from confsync.adapters.firestore_errors import UnavailableError
from confsync.adapters.firestore_store import FirestoreCalendarStore
from confsync.calendar_budget import WINDOW_S, CalendarAllowance, chunk_for
from confsync.calendars import CalendarDoc
from confsync.round_trips import counting
from devstack.gcloud_emulators import EmulatorEndpoints

pytestmark = pytest.mark.emulators

T0 = datetime(2026, 12, 1, 9, tzinfo=UTC)
UNTIL = T0 + timedelta(minutes=5)
MOMENT = 1_796_000_041.0
WINDOW = int(MOMENT // WINDOW_S)
PER_WINDOW = 1333


@pytest.fixture(name="client")
def client_fixture(firestore_emulator: EmulatorEndpoints) -> Iterator[firestore.Client]:
    client = firestore.Client.from_environment(firestore_emulator.project)
    yield client
    client.close()


def _wired(client: firestore.Client) -> tuple[FirestoreCalendarStore, CalendarAllowance]:
    """A calendar store and an allowance wired as the sync function wires them."""
    allowance = CalendarAllowance(FirestoreCalendarBudget(client, PER_WINDOW), clock=lambda: MOMENT)
    store = FirestoreCalendarStore(client, claims_ahead=lambda: allowance.ahead("user"))
    store.put(CalendarDoc(key="ck_1", subject="alice@example.com", calendar_id="primary"))
    return store, allowance


def _asked(client: firestore.Client) -> int:
    docs = client.collection(COLLECTION).stream()
    return sum(
        int((doc.to_dict() or {})["asked"]) for doc in docs if doc.id.startswith(f"{WINDOW}-")
    )


def test_the_first_calls_claim_rides_in_the_lease_s_commit(client: firestore.Client) -> None:
    store, allowance = _wired(client)
    seen = store.get("ck_1")
    assert seen is not None

    with counting() as tally:
        leased = store.acquire_lease("ck_1", "run-a", until=UNTIL, now=T0, seen=seen)
        spent = [allowance.try_spend("user") for _ in range(chunk_for(PER_WINDOW) - 1)]
        nothing_ahead = allowance.ahead("user")  # a call is left: nothing to claim yet
        spent.append(allowance.try_spend("user"))

    assert leased is not None
    assert leased.lease_owner == "run-a"
    assert all(spent)
    assert tally.count == 1  # the lease and the claim, one commit; the calls claim nothing
    assert allowance.claims == 1
    assert _asked(client) == chunk_for(PER_WINDOW)
    assert nothing_ahead is None


def test_a_lease_write_refused_sends_no_claim(client: firestore.Client) -> None:
    """The run's reading is stale (another run wrote the calendar since): the refused commit
    claimed nothing; the attempt on a fresh reading claims once."""
    store, allowance = _wired(client)
    seen = store.get("ck_1")
    assert seen is not None
    assert store.notify("ck_1", T0) is not None  # the calendar changed after the reading

    leased = store.acquire_lease("ck_1", "run-a", until=UNTIL, now=T0, seen=seen)

    assert leased is not None
    assert allowance.claims == 1
    assert _asked(client) == chunk_for(PER_WINDOW)


def test_no_claim_is_sent_when_another_run_holds_the_lease(client: firestore.Client) -> None:
    store, allowance = _wired(client)
    assert FirestoreCalendarStore(client).acquire_lease("ck_1", "run-b", UNTIL, T0) is not None

    taken = store.acquire_lease("ck_1", "run-a", until=UNTIL, now=T0)

    assert taken is None
    assert (allowance.claims, _asked(client)) == (0, 0)


def test_a_hand_back_that_fails_leaves_the_lease_taken_and_the_grant_standing(
    client: firestore.Client, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A shard with fewer calls left than the chunk grants part of it and hands the rest back
    with a second write. That write failing must not fail the lease's acquisition, which is
    written already (the run would hold a lease it does not know of until it expires)."""
    store, allowance = _wired(client)
    budget = FirestoreCalendarBudget(client, PER_WINDOW)
    for shard in range(shard_count(PER_WINDOW)):  # two calls left on every shard
        asked = budget.shard_cap(shard, 1.0) - 2
        client.collection(COLLECTION).document(f"{WINDOW}-{shard}").set({"asked": asked})

    def unavailable(*_args: object, **_kwargs: object) -> None:
        raise UnavailableError("down", "UNAVAILABLE", 503)

    monkeypatch.setattr(firestore.DocumentReference, "update", unavailable)

    leased = store.acquire_lease("ck_1", "run-a", until=UNTIL, now=T0)

    assert leased is not None
    assert [allowance.try_spend("user") for _ in range(2)] == [True, True]
    assert "not handed back" in caplog.text
