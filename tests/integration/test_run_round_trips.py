"""What a common sync run costs in Firestore round trips, counted at the adapter's edge (every RPC
the client sends) and reported on the run's summary: a count, never a time."""

from __future__ import annotations

import logging

import pytest

from confsync.budgeted_clients import BudgetedCalendarFactory
from confsync.cloud_logging import SYNC_LOGGER
from confsync.records import conference_key
from confsync.round_trips import counting
from confsync.sync import SyncRunner
from tests.support.sync_stack import SyncStack

pytestmark = [pytest.mark.emulators, pytest.mark.timeout(60)]

COMMON_RUN_ROUND_TRIPS = 4
"""Read the calendar; take the lease on that reading; read the page's records; commit, on the
version the lease wrote, the token, the release and the page's records in one batch (the pending
query is skipped: nothing can be due). Plus, when the
instance's share of the project's Calendar budget is spent, one claim of the next chunk (one
write per 13 Calendar calls by default; counted apart below, because it is the instance's, not
the run's)."""


def _budget_claims(runner: SyncRunner) -> int:
    factory = runner.ports.calendar_api
    assert isinstance(factory, BudgetedCalendarFactory)
    return factory.allowance.claims


def _three_known_conferences(sync_stack: SyncStack, runner: SyncRunner) -> list[str]:
    """Three events carrying conferences confsync already knows; their ids."""
    events = [
        sync_stack.insert_event(sync_stack.create_conference(f"Meeting {n}"), summary=f"m{n}")
        for n in range(3)
    ]
    assert sync_stack.sync(runner).status == "synced"  # adopts them, looks for pending work
    return [event["id"] for event in events]


def test_a_notification_with_three_changed_events_costs_four_round_trips(
    sync_stack: SyncStack, caplog: pytest.LogCaptureFixture
) -> None:
    runner = sync_stack.runner()  # one per instance, as deployed
    event_ids = _three_known_conferences(sync_stack, runner)
    for n, event_id in enumerate(event_ids):
        sync_stack.patch_event(event_id, summary=f"renamed {n}")
    claims = _budget_claims(runner)

    with caplog.at_level(logging.INFO, logger=SYNC_LOGGER):
        outcome = sync_stack.sync(runner)

    claims = _budget_claims(runner) - claims
    assert claims <= 1  # at most a new budget window's first claim
    assert (outcome.status, outcome.stats.events, outcome.stats.updates) == ("synced", 3, 3)
    assert outcome.stats.firestore_round_trips == COMMON_RUN_ROUND_TRIPS + claims
    summaries = [r for r in caplog.records if getattr(r, "sync", None)]
    logged = summaries[-1].sync["firestore_round_trips"]  # type: ignore[attr-defined]
    assert logged == COMMON_RUN_ROUND_TRIPS + claims
    titles = {sync_stack.get_event(e)["conferenceData"]["conferenceId"] for e in event_ids}
    assert {sync_stack.conference(c)["title"] for c in titles} == {
        "renamed 0",
        "renamed 1",
        "renamed 2",
    }
    doc = sync_stack.calendars.get(sync_stack.key)
    assert doc is not None
    assert doc.lease_owner is None
    sync_stack.assert_no_stale_operations()


def test_a_sweep_still_looks_for_pending_operations(sync_stack: SyncStack) -> None:
    runner = sync_stack.runner()
    event_ids = _three_known_conferences(sync_stack, runner)
    sync_stack.patch_event(event_ids[0], summary="renamed")
    claims = _budget_claims(runner)

    outcome = sync_stack.sync(runner, reason="sweep")

    claims = _budget_claims(runner) - claims
    assert outcome.stats.updates == 1
    # the page's records saved on their own before the pending retry reads records, the pending
    # query, and at most a new budget window's first claim
    assert outcome.stats.firestore_round_trips == COMMON_RUN_ROUND_TRIPS + 2 + claims


def test_requests_sent_several_at_once_count_on_the_caller_s_tally(sync_stack: SyncStack) -> None:
    """A batched get of 700 records is three requests (300 at most each), sent at once by worker
    threads: each is counted on the tally of the run that asked."""
    keys = [conference_key(f"conf_{n:04d}") for n in range(700)]

    with counting() as tally:
        assert sync_stack.records.by_keys(keys) == []

    assert tally.count == 3
