"""The project's Calendar budget in Firestore (emulator), shared by several instances at once: each
a thread with its own Firestore client, adapter and allowance, as separate function instances
would be. What a window grants never exceeds its budget, and an instance holding claims it has
not spent keeps at most one chunk from the others."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from confsync.adapters import firestore_http as firestore
from confsync.adapters.firestore_budget import COLLECTION, FirestoreCalendarBudget, shard_count
from confsync.calendar_budget import WINDOW_S, CalendarAllowance, Priority, chunk_for
from devstack.gcloud_emulators import EmulatorEndpoints

pytestmark = pytest.mark.emulators

WINDOW_START = 1_796_000_040.0
WINDOW = int(WINDOW_START // WINDOW_S)


def _instance(endpoints: EmulatorEndpoints, per_window: int) -> CalendarAllowance:
    client = firestore.Client.from_environment(endpoints.project)
    return CalendarAllowance(
        FirestoreCalendarBudget(client, per_window), clock=lambda: WINDOW_START + 1
    )


def _drain(allowance: CalendarAllowance, priority: Priority = "user") -> int:
    spent = 0
    while allowance.try_spend(priority):
        spent += 1
    return spent


def _stored_asked(endpoints: EmulatorEndpoints) -> int:
    client = firestore.Client.from_environment(endpoints.project)
    docs = client.collection(COLLECTION).stream()
    return sum(
        int((doc.to_dict() or {})["asked"]) for doc in docs if doc.id.startswith(f"{WINDOW}-")
    )


def test_a_claim_is_one_write_and_grants_a_chunk(firestore_emulator: EmulatorEndpoints) -> None:
    client = firestore.Client.from_environment(firestore_emulator.project)
    budget = FirestoreCalendarBudget(client, 1333)

    granted = budget.claim(WINDOW, 13, 1.0)

    assert granted == 13
    assert budget.writes == 1
    assert _stored_asked(firestore_emulator) == 13


def test_concurrent_instances_never_get_more_than_the_window_allows(
    firestore_emulator: EmulatorEndpoints,
) -> None:
    per_window = 1200  # chunks of 12 over ten shards
    instances = [_instance(firestore_emulator, per_window) for _ in range(6)]
    start = threading.Barrier(len(instances))

    def run(allowance: CalendarAllowance) -> int:
        start.wait()
        return _drain(allowance)

    with ThreadPoolExecutor(len(instances)) as pool:
        spent = list(pool.map(run, instances))

    shards, chunk = shard_count(per_window), chunk_for(per_window)
    assert (shards, chunk) == (10, 12)
    assert sum(spent) <= per_window
    # refusals met while another instance's surplus was being handed back may leave a few
    # calls of a shard unclaimed, never more than a chunk per other instance
    assert sum(spent) >= per_window - shards * (len(instances) - 1) * chunk
    assert all(n > 0 for n in spent)  # nobody starved
    assert _stored_asked(firestore_emulator) == sum(spent)  # every surplus was handed back


def test_an_instance_holding_claims_keeps_at_most_one_chunk_from_the_others(
    firestore_emulator: EmulatorEndpoints,
) -> None:
    per_window = 1000  # chunks of 10
    holder, first, second = (_instance(firestore_emulator, per_window) for _ in range(3))
    holder.spend("user")  # claims a chunk, spends one call of it

    others = _drain(first) + _drain(second)

    assert others == per_window - chunk_for(per_window)


def test_background_instances_leave_the_users_their_share(
    firestore_emulator: EmulatorEndpoints,
) -> None:
    per_window = 2000
    sweeper, user = _instance(firestore_emulator, per_window), _instance(firestore_emulator, 2000)

    background = _drain(sweeper, "background")
    users = _drain(user, "user")

    assert background == 1600
    assert users == 400
