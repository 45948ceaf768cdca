"""When a sync run looks for the calendar's pending operations (a query per look): every sweep,
and a notification only when something could be due (see ``confsync.sync.runner``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from confsync.errors import ProviderUnavailableError
from confsync.messages import SyncReason, SyncRequest
from confsync.records import ConferenceRecord
from confsync.sync import SyncOutcome
from tests.support.record_stores import PassThroughRecords
from tests.unit.test_sync_runner import CALENDAR, KEY, World, _event, world_fixture

__all__ = ["world_fixture"]

BACKOFF = timedelta(seconds=60)  # the default first backoff (CONFSYNC_PENDING_BASE_DELAY_SECONDS)


class LookCounter(PassThroughRecords):
    looks = 0

    def pending(self, calendar_key: str, due: datetime, limit: int) -> list[ConferenceRecord]:
        self.looks += 1
        return super().pending(calendar_key, due, limit)


def _run(world: World, reason: SyncReason = "notification") -> tuple[SyncOutcome, int]:
    """One run; its outcome and how many times it looked for pending operations."""
    runner = world.runner(pending_base_delay=BACKOFF)
    counter = LookCounter(world.records)
    runner = runner.with_ports(replace(runner.ports, records=counter))
    request = SyncRequest(calendar_key=KEY, reason=reason, notified_at=world.clock())
    return runner.run(request), counter.looks


@pytest.fixture(name="synced")
def synced_fixture(world: World) -> World:
    """A calendar with one adopted conference; its first run looked for pending operations."""
    world.conference_event("e1", "c1")
    outcome, looks = _run(world, "enroll")
    assert (outcome.status, looks) == ("synced", 1)
    return world


def test_a_notification_soon_after_a_look_does_not_look_again(synced: World) -> None:
    synced.clock.now += BACKOFF / 2
    synced.calendar.put(CALENDAR, _event("e1", "c1", summary="Renamed"))

    outcome, looks = _run(synced)

    assert (outcome.status, outcome.stats.updates, looks) == ("synced", 1, 0)
    assert synced.provider.conferences["c1"].state["title"] == "Renamed"  # type: ignore[index]


def test_a_notification_a_backoff_after_the_last_look_looks(synced: World) -> None:
    synced.clock.now += BACKOFF
    synced.calendar.put(CALENDAR, _event("e1", "c1", summary="Renamed"))

    assert _run(synced)[1] == 1


def test_a_sweep_always_looks(synced: World) -> None:
    assert _run(synced, "sweep")[1] == 1


def test_a_run_that_left_an_operation_pending_looks(synced: World) -> None:
    synced.calendar.put(CALENDAR, _event("e1", "c1", summary="Renamed"))
    synced.provider.failures = [ProviderUnavailableError("503")]

    outcome, looks = _run(synced)

    assert (outcome.stats.pending, looks) == (1, 1)
    assert _run(synced)[1] == 1  # the calendar's count says one is pending: the next looks too


def test_an_operation_left_pending_unknown_to_the_calendar_is_retried_once_due(
    synced: World,
) -> None:
    """As another calendar's run leaves one on a record homed here: the calendar's pending count
    does not show it, and its first retry falls due one backoff after it failed."""
    synced.calendar.put(CALENDAR, _event("e1", "c1", summary="Renamed"))
    synced.provider.failures = [ProviderUnavailableError("503")]
    _run(synced)
    doc = synced.calendars.get(KEY)
    assert doc is not None
    synced.calendars.put(replace(doc, pending_count=0))

    early, early_looks = _run(synced)
    synced.clock.now += BACKOFF
    due, due_looks = _run(synced)

    assert (early.stats.pending_retried, early_looks) == (0, 0)
    assert (due.stats.pending_retried, due_looks) == (1, 1)
    assert synced.provider.conferences["c1"].state["title"] == "Renamed"  # type: ignore[index]
