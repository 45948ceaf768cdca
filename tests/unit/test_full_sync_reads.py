"""What a full sync reads from the record store: the calendar's attachments once, whole, rather
than one pointer per listed event, and at reconciliation only the records of the attached events
it did not list, rather than every record of the calendar (Firestore bills each document read,
and a full sync lists thousands of events that carry no conference)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace

from confsync.messages import SyncRequest
from confsync.records import ConferenceRecord, conference_key
from confsync.sync import SyncOutcome
from confsync.testing import FakeCalendar
from tests.support.record_stores import PassThroughRecords
from tests.unit.test_sync_runner import CALENDAR, KEY, World, _event, world_fixture

__all__ = ["world_fixture"]


class _Spy(PassThroughRecords):
    """Remembers the event ids whose pointers were read one by one, the calendars whose
    attachments were read whole, the record keys read, and the calendars queried whole."""

    def __init__(self, world: World) -> None:
        super().__init__(world.records)
        self.pointer_reads: list[str] = []
        self.whole_reads: list[str] = []
        self.keys_read: list[list[str]] = []
        self.calendar_queries: list[str] = []

    def attachments(self, calendar_key: str, event_ids: Iterable[str]) -> dict[str, str]:
        ids = list(event_ids)
        self.pointer_reads += ids
        return self.store.attachments(calendar_key, ids)

    def attached_to(self, calendar_key: str) -> dict[str, str]:
        self.whole_reads.append(calendar_key)
        return self.store.attached_to(calendar_key)

    def by_keys(self, keys: Iterable[str]) -> list[ConferenceRecord]:
        wanted = list(keys)
        self.keys_read.append(wanted)
        return self.store.by_keys(wanted)

    def of_calendar(self, calendar_key: str) -> Iterator[ConferenceRecord]:
        self.calendar_queries.append(calendar_key)
        return self.store.of_calendar(calendar_key)


def _sync(world: World, spy: _Spy) -> SyncOutcome:
    runner = world.runner()
    request = SyncRequest(calendar_key=KEY, reason="notification", notified_at=world.clock())
    return runner.with_ports(replace(runner.ports, records=spy)).run(request)


def test_a_full_sync_reads_the_calendars_attachments_once_not_a_pointer_per_event(
    world: World,
) -> None:
    world.calendar = FakeCalendar(page_size=100)  # three pages
    for n in range(250):
        if n % 50 == 0:
            world.conference_event(f"e{n}", f"c{n}")
        else:
            world.calendar.put(CALENDAR, _event(f"e{n}", None))
    spy = _Spy(world)

    outcome = _sync(world, spy)

    assert outcome.status == "synced"
    assert outcome.stats.full_sync
    assert outcome.stats.pages == 3
    assert spy.pointer_reads == []
    assert spy.whole_reads == [KEY]
    assert sorted(c.conference_id for c in world.provider.applied()) == [
        f"c{n}" for n in (0, 100, 150, 200, 50)
    ]
    assert world.records.attached_to(KEY) == {
        f"e{n}": conference_key(f"c{n}") for n in range(0, 250, 50)
    }


def test_a_full_sync_detaches_an_event_that_lost_its_conference_from_the_whole_read(
    world: World,
) -> None:
    world.conference_event("e1", "c1")
    world.conference_event("e2", "c2")
    world.sync()
    world.calendar.put(CALENDAR, _event("e1", None))  # its conference removed
    world.calendar.invalidate_tokens(CALENDAR)
    spy = _Spy(world)

    outcome = _sync(world, spy)

    assert outcome.stats.full_sync
    assert spy.pointer_reads == []
    assert world.records.attached_to(KEY) == {"e2": conference_key("c2")}
    assert world.provider.conferences["c1"].deleted
    assert not world.provider.conferences["c2"].deleted


def test_reconciliation_reads_only_the_records_of_attached_events_not_listed(
    world: World,
) -> None:
    for n in range(1, 4):
        world.conference_event(f"e{n}", f"c{n}")
    world.sync()
    world.calendar.delete(CALENDAR, "e1")  # while no token is valid: no tombstone comes back
    world.calendar.invalidate_tokens(CALENDAR)
    spy = _Spy(world)

    outcome = _sync(world, spy)

    assert outcome.stats.reconciled == 1
    assert spy.calendar_queries == []  # not every record of the calendar
    assert [conference_key("c1")] in spy.keys_read
    assert world.provider.conferences["c1"].deleted
    assert not world.provider.conferences["c2"].deleted
    assert not world.provider.conferences["c3"].deleted
