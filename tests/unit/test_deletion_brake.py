"""The deletion brake (confsync.sync.brake) and its release, against in-memory fakes of every port.

A run that would delete more conferences of one calendar than ``delete_brake`` (20 by default)
sends none of them: they are held until ``confsync release-deletes`` sends them or ``--discard``
drops them (docs/decisions/2026-12-03-deletion-brake.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest

from confsync.cli.deletes import settle_held_deletes
from confsync.errors import ProviderUnavailableError, StoreUnavailableError
from confsync.messages import SyncRequest
from confsync.records import ConferenceRecord, conference_key
from confsync.sync.brake import HELD_MESSAGE
from tests.support.calendar_events import conference_data, event
from tests.support.record_stores import PassThroughRecords
from tests.unit.test_sync_runner import (
    CALENDAR,
    KEY,
    World,
    world_fixture,  # noqa: F401  (the `world` fixture)
)

DEFAULT_BRAKE = 20


def _event(event_id: str, conference_id: str, **fields: Any) -> dict[str, Any]:
    return event(
        event_id,
        start="2026-12-02T10:00:00Z",
        end="2026-12-02T11:00:00Z",
        organizer=CALENDAR,
        conference=conference_data(
            conference_id, join_url=f"https://conf.example/j/{conference_id}"
        ),
        **fields,
    )


def _meetings(world: World, count: int, first: int = 0) -> list[str]:
    """``count`` events with a conference each (``e<i>`` carries ``c<i>``), synced."""
    ids = [f"{i:03d}" for i in range(first, first + count)]
    for i in ids:
        world.provider.create(f"c{i}")
        world.calendar.put(CALENDAR, _event(f"e{i}", f"c{i}"))
    assert world.sync().status == "synced"
    return ids


def _delete(world: World, ids: Iterable[str]) -> None:
    for i in ids:
        world.calendar.delete(CALENDAR, f"e{i}")


def _deletes_sent(world: World) -> list[str]:
    return [c.conference_id for c in world.provider.calls if c.kind == "delete"]


def _events(record: ConferenceRecord) -> list[str]:
    """The ids of the calendar's live events the record holds."""
    refs = record.refs_of(KEY)
    return sorted(refs.events) if refs is not None else []


def _held(world: World) -> list[ConferenceRecord]:
    return [r for r in world.records.all().values() if r.hold == "held"]


def _held_count(world: World) -> int:
    doc = world.calendars.get(KEY)
    assert doc is not None
    return doc.held_deletes


def _brake_errors(caplog: pytest.LogCaptureFixture) -> list[Any]:
    return [r for r in caplog.records if r.getMessage().startswith(HELD_MESSAGE)]


def _settle(world: World, *, discard: bool) -> int:
    return settle_held_deletes(
        world.calendars,
        world.records,
        KEY,
        discard=discard,
        clock=world.clock,
        sleep=world.sleeper,
    )


def test_the_default_brake_is_20() -> None:
    assert World().runner().settings.delete_brake == DEFAULT_BRAKE


def test_25_deletions_in_one_sync_are_all_held_and_none_is_sent(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    ids = _meetings(world, 25)
    _delete(world, ids)

    outcome = world.sync()

    assert outcome.status == "synced"
    assert _deletes_sent(world) == []
    assert not any(c.deleted for c in world.provider.conferences.values())
    assert len(_held(world)) == 25
    assert all(r.live_calendars == () and r.pending is not None for r in _held(world))
    assert all(r.home_key == KEY for r in _held(world))
    assert outcome.stats.held == 25
    assert outcome.stats.deletes == 0
    assert _held_count(world) == 25
    doc = world.calendars.get(KEY)
    assert doc is not None
    assert doc.pending_count == 0  # held deletes do not make the sweep come back
    [error] = _brake_errors(caplog)
    assert error.levelname == "ERROR"
    assert error.labels == {"calendar_key": KEY}
    assert KEY in error.getMessage()
    assert error.brake == {"held": 25, "new": 25, "limit": DEFAULT_BRAKE}


def test_held_deletes_are_never_sent_by_later_syncs(world: World) -> None:
    _delete(world, _meetings(world, 25))
    world.sync()

    world.clock.now += timedelta(days=1)
    outcome = world.sync()

    assert _deletes_sent(world) == []
    assert outcome.stats.pending_retried == 0
    assert _held_count(world) == 25


def test_20_deletions_are_all_sent_in_the_same_run(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    ids = _meetings(world, 20)
    _delete(world, ids)

    outcome = world.sync()

    assert sorted(_deletes_sent(world)) == [f"c{i}" for i in ids]
    assert all(c.deleted for c in world.provider.conferences.values())
    assert outcome.stats.deletes == 20
    assert outcome.stats.held == 0
    assert _held(world) == []
    assert _held_count(world) == 0
    assert _brake_errors(caplog) == []
    assert all(r.status == "deleted" and r.pending is None for r in world.records.all().values())


def test_a_brake_of_0_holds_every_deletion(world: World) -> None:
    [i] = _meetings(world, 1)
    _delete(world, [i])

    world.sync(delete_brake=0)

    assert _deletes_sent(world) == []
    assert _held_count(world) == 1


def test_reconciliation_after_a_410_with_25_events_missing_holds_them(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    ids = _meetings(world, 30)
    _delete(world, ids[:25])
    world.calendar.invalidate_tokens(CALENDAR)

    outcome = world.sync()

    assert outcome.stats.full_sync
    assert outcome.stats.reconciled == 25
    assert _deletes_sent(world) == []
    assert len(_held(world)) == 25
    assert _held_count(world) == 25
    assert len(_brake_errors(caplog)) == 1


def test_updates_in_the_same_run_as_held_deletes_are_still_sent(world: World) -> None:
    ids = _meetings(world, 26)
    _delete(world, ids[:25])
    world.calendar.put(CALENDAR, _event(f"e{ids[25]}", f"c{ids[25]}", summary="Renamed"))

    outcome = world.sync()

    assert _deletes_sent(world) == []
    assert outcome.stats.updates == 1
    assert world.provider.conferences[f"c{ids[25]}"].state["title"] == "Renamed"  # type: ignore[index]
    assert _held_count(world) == 25


def test_release_sends_the_held_deletes_with_the_next_sync(world: World) -> None:
    ids = _meetings(world, 25)
    _delete(world, ids)
    world.sync()

    assert _settle(world, discard=False) == 25
    assert _held_count(world) == 0
    assert all(r.hold == "released" for r in world.records.all().values())
    outcome = world.sync()

    assert sorted(_deletes_sent(world)) == [f"c{i}" for i in ids]
    assert all(c.deleted for c in world.provider.conferences.values())
    assert outcome.stats.held == 0
    assert all(r.status == "deleted" and r.hold is None for r in world.records.all().values())
    assert _held_count(world) == 0


def test_release_is_idempotent_and_releases_the_lease(world: World) -> None:
    _delete(world, _meetings(world, 25))
    world.sync()
    _settle(world, discard=False)

    assert _settle(world, discard=False) == 0

    doc = world.calendars.get(KEY)
    assert doc is not None
    assert doc.lease_owner is None
    assert world.sync().status == "synced"


def test_discard_sends_nothing_and_keeps_the_conferences(world: World) -> None:
    ids = _meetings(world, 25)
    _delete(world, ids)
    world.sync()

    assert _settle(world, discard=True) == 25
    assert _settle(world, discard=True) == 0
    world.clock.now += timedelta(hours=1)
    outcome = world.sync()

    assert _deletes_sent(world) == []
    assert not any(c.deleted for c in world.provider.conferences.values())
    assert outcome.stats.held == 0
    assert _held_count(world) == 0
    for record in world.records.all().values():
        assert (record.status, record.hold, record.pending, record.live_calendars) == (
            "active",
            None,
            None,
            (),
        )


def test_a_discarded_conference_reattaches_when_its_event_comes_back(world: World) -> None:
    ids = _meetings(world, 25)
    _delete(world, ids)
    world.sync()
    _settle(world, discard=True)

    world.calendar.put(CALENDAR, _event(f"e{ids[0]}", f"c{ids[0]}", summary="Back"))
    world.sync()

    record = world.records.all()[conference_key(f"c{ids[0]}")]
    assert _events(record) == [f"e{ids[0]}"]
    assert world.provider.conferences[f"c{ids[0]}"].state["title"] == "Back"  # type: ignore[index]


def test_a_held_delete_whose_event_comes_back_is_cancelled(world: World) -> None:
    ids = _meetings(world, 25)
    _delete(world, ids)
    world.sync()
    calls = len(world.provider.calls)

    world.calendar.put(CALENDAR, _event(f"e{ids[0]}", f"c{ids[0]}"))  # access restored, say
    world.sync()

    record = world.records.all()[conference_key(f"c{ids[0]}")]
    assert (record.hold, record.pending, _events(record)) == (None, None, [f"e{ids[0]}"])
    assert len(world.provider.calls) == calls  # the state is what the system has: nothing sent
    assert _held_count(world) == 24
    assert not world.provider.conferences[f"c{ids[0]}"].deleted


def test_a_deletion_while_deletions_are_held_is_held_too(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    ids = _meetings(world, 26)
    _delete(world, ids[:25])
    world.sync()

    _delete(world, ids[25:])
    world.sync()

    assert _deletes_sent(world) == []
    assert _held_count(world) == 26
    assert [e.brake["new"] for e in _brake_errors(caplog)] == [25, 1]


class _FailingPending(PassThroughRecords):
    """The record store with its pending query failing: a run that dies after its pages were
    saved and before its pending retry (a crash, a timeout). Everything else reaches ``store``."""

    def pending(self, calendar_key: str, due: datetime, limit: int) -> list[ConferenceRecord]:
        raise StoreUnavailableError("Firestore pending records query failed: 503")


def test_a_crashed_run_s_leftovers_and_new_deletions_over_the_brake_are_all_held(
    world: World,
) -> None:
    ids = _meetings(world, 25)
    _delete(world, ids[:15])
    runner = world.runner()
    broken = runner.with_ports(replace(runner.ports, records=_FailingPending(world.records)))
    with pytest.raises(StoreUnavailableError):
        broken.run(_request(world))
    # What the crashed run left: 15 queued deletes, none sent.
    assert sum(1 for r in world.records.all().values() if r.pending is not None) == 15
    assert _deletes_sent(world) == []

    _delete(world, ids[15:])  # 10 more: 25 unsent in all
    world.clock.now += timedelta(minutes=10)  # the crashed run's lease has expired
    world.sync()

    assert _deletes_sent(world) == []
    assert len(_held(world)) == 25
    assert _held_count(world) == 25


def test_a_crashed_run_s_leftovers_within_the_brake_are_sent_by_the_next_run(
    world: World,
) -> None:
    ids = _meetings(world, 15)
    _delete(world, ids)
    runner = world.runner()
    with pytest.raises(StoreUnavailableError):
        runner.with_ports(replace(runner.ports, records=_FailingPending(world.records))).run(
            _request(world)
        )
    assert sum(1 for r in world.records.all().values() if r.pending is not None) == 15
    assert _deletes_sent(world) == []

    world.clock.now += timedelta(minutes=10)
    world.sync()

    assert sorted(_deletes_sent(world)) == [f"c{i}" for i in ids]


def test_pending_deletes_waiting_for_their_backoff_count_against_the_brake(world: World) -> None:
    ids = _meetings(world, 25)
    _delete(world, ids[:15])
    world.provider.failures = [ProviderUnavailableError("503")] * 15
    world.sync()  # 15 deletes tried, all pending with backoff
    assert _held_count(world) == 0

    _delete(world, ids[15:])  # 10 more before the backoff is over
    world.sync()

    assert [c for c in world.provider.calls if c.outcome == "applied" and c.kind == "delete"] == []
    assert _held_count(world) == 25


def test_deletions_across_rounds_of_one_run_count_together(world: World) -> None:
    ids = _meetings(world, 25)
    _delete(world, ids[:15])
    # Just after the first pull listed its page, 10 more deletions and their notification
    # arrive: the run pulls again, having let 15 deletes through already.
    original = world.calendar.list_page
    calls: list[str] = []

    def list_page(calendar_id: str, **kwargs: Any) -> Any:
        page = original(calendar_id, **kwargs)
        calls.append(calendar_id)
        if len(calls) == 1:
            _delete(world, ids[15:])
            assert world.request(world.clock()).status == "coalesced"
        return page

    world.calendar.list_page = list_page  # type: ignore[method-assign]
    outcome = world.sync()

    assert outcome.stats.rounds == 2
    assert outcome.stats.deletes == 15
    assert outcome.stats.held == 10
    assert _held_count(world) == 10


def test_deletes_wait_when_the_pending_list_is_longer_than_one_query(world: World) -> None:
    ids = _meetings(world, 8)
    for i in ids[:6]:
        world.calendar.put(CALENDAR, _event(f"e{i}", f"c{i}", summary="Renamed"))
    world.provider.failures = [ProviderUnavailableError("503")] * 6
    world.sync(pending_batch=5, delete_brake=3)  # 6 updates pending: more than 5 per query
    _delete(world, ids[6:])

    world.sync(pending_batch=5, delete_brake=3)

    assert _deletes_sent(world) == []  # the brake cannot count every unsent delete: they wait
    assert _held(world) == []
    world.clock.now += timedelta(minutes=2)  # the updates' backoff is over: they drain
    for _ in range(3):
        world.sync(pending_batch=5, delete_brake=3)
    assert sorted(_deletes_sent(world)) == [f"c{i}" for i in ids[6:]]


def _request(world: World) -> SyncRequest:
    return SyncRequest(calendar_key=KEY, reason="notification", notified_at=world.clock())
