"""Ownership in the sync, on fakes: only the owner's calendars change or delete a conference.

Bob, enrolled, copies the conference of Alice's meeting into an event of his own (every invitee
sees its id, and the Calendar API lets anyone write ``conferenceData``). Nothing of his may reach
the conferencing system: not his title, not his times, not the deletion of his event.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from confsync.calendars import CalendarDoc, calendar_key
from confsync.errors import ProviderUnavailableError
from confsync.messages import SyncRequest
from confsync.planner import ConferenceMatcher
from confsync.ports import RecordStore
from confsync.records import CalendarRefs, ConferenceRecord, EventSnapshot, conference_key
from confsync.sync import SyncOutcome, SyncRunner
from confsync.sync.owners import REFERENCE_MESSAGE
from confsync.testing import (
    FakeCalendar,
    InMemoryCalendarStore,
    InMemoryRecordStore,
    RecordingProvider,
    RecordingPublisher,
)
from confsync.testing.settings import sync_settings
from tests.support.calendar_events import conference_data, event

ALICE = "alice@example.com"
BOB = "bob@example.com"
TEAM = "team-abc@group.calendar.google.com"  # a secondary calendar enrolled under Alice
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now


@dataclass
class World:
    calendar: FakeCalendar = field(default_factory=FakeCalendar)
    calendars: InMemoryCalendarStore = field(default_factory=InMemoryCalendarStore)
    records: InMemoryRecordStore = field(default_factory=InMemoryRecordStore)
    provider: RecordingProvider = field(default_factory=RecordingProvider)
    publisher: RecordingPublisher = field(default_factory=RecordingPublisher)
    clock: Clock = field(default_factory=Clock)
    settings: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.calendar.clock = self.clock  # changes happen on the world's clock

    def enroll(self, subject: str, calendar_id: str) -> str:
        key = calendar_key(subject, calendar_id)
        self.calendars.put(CalendarDoc(key=key, subject=subject, calendar_id=calendar_id))
        return key

    def sync(
        self, subject: str, calendar_id: str, *, records: RecordStore | None = None
    ) -> SyncOutcome:
        """One run of the calendar, as production wires it (schema-1 records migrate from the
        same store); ``records``: another view of the store (a wrapper), for this run only."""
        runner = SyncRunner(
            calendar_api=self.calendar,
            calendar_store=self.calendars,
            records=records or self.records,
            legacy=self.records,
            provider=self.provider,
            publisher=self.publisher,
            settings=sync_settings(
                matcher=ConferenceMatcher(solution_names=frozenset({"My Web Conference"})),
                # No delete grace unless a test asks for one (tests/unit/test_delete_grace.py).
                **{"delete_grace": timedelta(0), **self.settings},
            ),
            now=self.clock,
            sleep=lambda _: None,
        )
        key = calendar_key(subject, calendar_id)
        return runner.run(SyncRequest(calendar_key=key, reason="manual", notified_at=self.clock()))

    def deliver(self) -> list[str]:
        """Run the syncs the runs requested since the last delivery (Pub/Sub's part), once per
        calendar; the keys of the calendars that ran, in order."""
        requested = list(dict.fromkeys(r.calendar_key for r in self.publisher.published))
        self.publisher.published.clear()
        for key in requested:
            doc = self.calendars.get(key)
            assert doc is not None, f"a request for a calendar never enrolled: {key}"
            self.sync(doc.subject, doc.calendar_id)
        return requested

    def put(
        self, calendar_id: str, event_id: str, conference_id: str, organizer: str, **fields: Any
    ) -> None:
        body: dict[str, Any] = {
            "start": "2026-12-02T10:00:00Z",
            "end": "2026-12-02T11:00:00Z",
            "organizer": organizer,
            "conference": conference_data(
                conference_id, join_url=f"https://conf.example/j/{conference_id}"
            ),
            "summary": "Planning",
        }
        body.update(fields)
        self.calendar.put(calendar_id, event(event_id, **body))

    def calls(self, kind: str, conference_id: str = "c1") -> list[Any]:
        return [
            c
            for c in self.provider.calls
            if c.kind == kind and c.conference_id == conference_id and c.outcome != "read"
        ]

    def record(self, conference_id: str = "c1") -> ConferenceRecord:
        """The one record of the conference, whichever calendars carry it."""
        return self.records.all()[conference_key(conference_id)]

    def refs(
        self, calendar_id: str, subject: str, conference_id: str = "c1"
    ) -> CalendarRefs | None:
        """The references the calendar holds in the conference's record (None: it acts not)."""
        return self.record(conference_id).refs_of(calendar_key(subject, calendar_id))

    def events(self, calendar_id: str, subject: str, conference_id: str = "c1") -> list[str]:
        """The ids of the calendar's live events the conference's record holds."""
        refs = self.refs(calendar_id, subject, conference_id)
        return sorted(refs.events) if refs is not None else []

    def attached(self, calendar_id: str, subject: str, event_id: str) -> str | None:
        """The record the calendar's event is attached to (kept or counted), or None."""
        return self.records.all_attachments().get((calendar_key(subject, calendar_id), event_id))


@pytest.fixture(name="world")
def world_fixture() -> World:
    world = World()
    world.enroll(ALICE, ALICE)
    world.enroll(BOB, BOB)
    return world


def _references(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage().startswith(REFERENCE_MESSAGE)]


def test_bobs_copy_of_alices_conference_never_changes_or_deletes_it(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="confsync.sync")
    world.provider.create("c1", owner=ALICE)
    world.put(ALICE, "a1", "c1", ALICE)
    world.sync(ALICE, ALICE)
    assert [c.outcome for c in world.calls("update")] == ["applied"]
    patches = world.calendar.patch_calls

    # Bob copies the conference into his own event, edits it, then deletes it.
    world.put(BOB, "b1", "c1", BOB, summary="Mine now", start="2026-12-09T08:00:00Z")
    first = world.sync(BOB, BOB)
    counted = world.record()
    assert (counted.references, counted.refs_of(calendar_key(BOB, BOB))) == (1, None)
    assert world.attached(BOB, BOB, "b1") == conference_key("c1")
    world.put(BOB, "b1", "c1", BOB, summary="Still mine", attendees=["eve@example.com"])
    second = world.sync(BOB, BOB)
    world.calendar.delete(BOB, "b1")
    third = world.sync(BOB, BOB)

    assert len(world.calls("update")) == 1  # Alice's only
    assert world.calls("delete") == []
    assert world.calendar.patch_calls == patches  # no write-back onto Bob's copy either
    # Counted once, when it first carries the conference (an edit of it is not counted again).
    assert (first.stats.references, second.stats.references) == (1, 0)
    assert (third.stats.updates, third.stats.deletes, third.stats.held) == (0, 0, 0)
    [line] = _references(caplog)
    assert line.levelname == "INFO"
    message = line.getMessage()
    assert "c1" in message
    assert calendar_key(BOB, BOB) in message  # the calendar carrying it
    assert calendar_key(ALICE, ALICE) in message  # the owner's, by its opaque key
    assert ALICE not in message  # never an e-mail address
    assert BOB not in message
    # One record: Alice's references decide; Bob's copy was only counted, and no longer is.
    record = world.record()
    assert (record.role, record.owner, record.pending) == ("acting", ALICE, None)
    assert list(record.calendars) == [calendar_key(ALICE, ALICE)]
    assert world.events(ALICE, ALICE) == ["a1"]
    assert record.home_key == calendar_key(ALICE, ALICE)
    assert record.references == 0
    assert world.attached(BOB, BOB, "b1") is None

    # Alice's own edit still updates her conference.
    world.put(ALICE, "a1", "c1", ALICE, summary="Planning, moved")
    world.sync(ALICE, ALICE)
    updates = world.calls("update")
    assert len(updates) == 2
    state = world.provider.conferences["c1"].state
    assert state is not None
    assert state["title"] == "Planning, moved"


def test_the_owner_is_compared_ignoring_case(world: World) -> None:
    world.provider.create("c1", owner="Alice@Example.COM")
    world.put(ALICE, "a1", "c1", ALICE)
    world.sync(ALICE, ALICE)
    world.calendar.delete(ALICE, "a1")
    world.sync(ALICE, ALICE)

    assert [c.kind for c in world.provider.applied()] == ["update", "delete"]
    record = world.record()
    assert (record.role, record.owner, record.status) == ("acting", "Alice@Example.COM", "deleted")


def test_a_secondary_calendar_enrolled_under_the_owner_acts(world: World) -> None:
    world.enroll(ALICE, TEAM)
    world.provider.create("c1", owner=ALICE)
    world.put(TEAM, "t1", "c1", TEAM)  # a secondary calendar's events have it as organizer

    outcome = world.sync(ALICE, TEAM)

    assert outcome.stats.updates == 1
    record = world.record()
    assert record.role == "acting"
    assert world.events(TEAM, ALICE) == ["t1"]
    assert record.home_key == calendar_key(ALICE, TEAM)
    assert record.references == 0


def test_a_calendar_owned_by_the_organizer_acts_even_under_another_subject(world: World) -> None:
    # A conference created for a secondary calendar (the owner is the calendar itself).
    world.enroll(BOB, TEAM)
    world.provider.create("c1", owner=TEAM.upper())
    world.put(TEAM, "t1", "c1", TEAM)

    assert world.sync(BOB, TEAM).stats.updates == 1


def test_the_owner_is_read_once_per_conference_not_per_run(world: World) -> None:
    world.provider.create("c1", owner=ALICE)
    world.provider.create("c2", owner=ALICE)
    world.put(ALICE, "a1", "c1", ALICE)
    world.put(ALICE, "a2", "c2", ALICE)
    first = world.sync(ALICE, ALICE)
    for title in ("two", "three"):
        world.put(ALICE, "a1", "c1", ALICE, summary=title)
        world.sync(ALICE, ALICE)

    reads = [c.conference_id for c in world.provider.calls if c.kind == "owner_of"]
    assert sorted(reads) == ["c1", "c2"]
    assert first.stats.owner_lookups == 2
    assert len(world.calls("update")) == 3


def test_an_unavailable_owner_sends_nothing_and_is_asked_again_later(world: World) -> None:
    world.provider.create("c1", owner=ALICE)
    world.put(ALICE, "a1", "c1", ALICE)
    world.provider.failures = [ProviderUnavailableError("503")]

    first = world.sync(ALICE, ALICE)

    assert world.calls("update") == []
    assert world.calls("delete") == []
    record = world.record()
    assert (record.role, record.owner_known) == ("unknown", False)
    assert world.events(ALICE, ALICE) == ["a1"]  # kept, undecided
    assert record.home_key == calendar_key(ALICE, ALICE)  # its runs ask again
    assert record.pending is not None
    assert "owner unavailable" in record.pending.last_error
    assert first.stats.pending == 1
    doc = world.calendars.get(calendar_key(ALICE, ALICE))
    assert doc is not None
    assert doc.pending_count == 1

    world.clock.now += timedelta(minutes=5)
    second = world.sync(ALICE, ALICE)

    assert second.stats.owner_lookups == 1
    assert [c.outcome for c in world.calls("update")] == ["applied"]
    record = world.record()
    assert (record.role, record.owner, record.pending) == ("acting", ALICE, None)
    assert world.events(ALICE, ALICE) == ["a1"]


def test_an_unavailable_owner_never_lets_a_copy_delete(world: World) -> None:
    world.provider.create("c1", owner=ALICE)
    world.put(BOB, "b1", "c1", BOB)
    world.provider.failures = [ProviderUnavailableError("503")]
    world.sync(BOB, BOB)
    assert world.events(BOB, BOB) == ["b1"]  # undecided: kept, nothing sent
    world.calendar.delete(BOB, "b1")
    world.clock.now += timedelta(minutes=5)
    world.sync(BOB, BOB)

    assert world.calls("update") == []
    assert world.calls("delete") == []
    record = world.record()
    assert (record.owner, record.pending, record.references) == (ALICE, None, 0)
    assert world.refs(BOB, BOB) is None  # Bob's calendar does not act for Alice's conference


def test_a_conference_gone_at_the_lookup_is_not_asked_about_again(world: World) -> None:
    world.put(ALICE, "a1", "c9", ALICE)  # the conferencing system does not know c9
    world.sync(ALICE, ALICE)
    world.put(ALICE, "a1", "c9", ALICE, summary="again")
    world.sync(ALICE, ALICE)

    assert [c.outcome for c in world.provider.calls] == ["gone"]
    assert world.record("c9").status == "deleted"


def test_ownerless_first_claimant_acts_and_later_copies_are_references(world: World) -> None:
    world.provider.create("c1")  # created before the contract had owners
    world.put(ALICE, "a1", "c1", ALICE)
    world.sync(ALICE, ALICE)
    world.put(BOB, "b1", "c1", BOB, summary="Mine now")
    world.sync(BOB, BOB)
    world.calendar.delete(BOB, "b1")
    world.sync(BOB, BOB)
    world.put(ALICE, "a1", "c1", ALICE, summary="Planning, moved")
    world.sync(ALICE, ALICE)

    assert [c.kind for c in world.provider.applied()] == ["update", "update"]
    state = world.provider.conferences["c1"].state
    assert state is not None
    assert state["title"] == "Planning, moved"
    record = world.record()
    assert (record.role, record.owner, record.claimant) == ("acting", None, ALICE)
    assert world.refs(BOB, BOB) is None
    assert record.references == 0  # Bob's copy was counted, and left
    # Alice's other calendar is the same user: it may act too.
    world.enroll(ALICE, TEAM)
    world.put(TEAM, "t1", "c1", TEAM)
    world.sync(ALICE, TEAM)
    assert world.events(TEAM, ALICE) == ["t1"]
    assert world.events(ALICE, ALICE) == ["a1"]


def test_ownerless_hands_off_never_changes_or_deletes(world: World) -> None:
    world.settings["ownerless_policy"] = "hands-off"
    world.provider.create("c1")
    world.put(ALICE, "a1", "c1", ALICE)
    world.sync(ALICE, ALICE)
    record = world.record()
    assert (record.role, record.claimant, record.references) == ("reference", None, 1)
    world.calendar.delete(ALICE, "a1")
    world.sync(ALICE, ALICE)

    assert world.provider.applied() == []
    record = world.record()
    assert (record.role, record.references, dict(record.calendars)) == ("reference", 0, {})


def test_a_record_stored_before_owners_is_resolved_when_its_event_changes(world: World) -> None:
    world.provider.create("c1", owner=ALICE)
    world.put(BOB, "b1", "c1", BOB)
    world.sync(BOB, BOB)
    # As a record stored before ownership (a migrated one): the owner not known, Bob's event
    # kept undecided on his calendar's references.
    old = world.record()
    snapshot = EventSnapshot(
        event_id="b1",
        title="Planning",
        start="2026-12-02T10:00:00Z",
        end="2026-12-02T11:00:00Z",
        time_zone=None,
        recurrence=(),
        attendees=(),
        organizer=BOB,
    )
    refs = CalendarRefs(
        subject=BOB, calendar_id=BOB, events={"b1": snapshot}, primary_event_id="b1"
    )
    unknown = replace(
        old.with_refs(calendar_key(BOB, BOB), refs), owner=None, owner_known=False, references=0
    )
    world.records.save([unknown])
    world.calendar.delete(BOB, "b1")
    outcome = world.sync(BOB, BOB)

    assert outcome.stats.owner_lookups == 1
    assert world.calls("delete") == []
    assert world.calls("update") == []
    record = world.record()
    assert (record.owner, record.owner_known, record.references) == (ALICE, True, 0)
    assert (dict(record.calendars), record.pending) == ({}, None)


def test_a_page_counting_a_copy_and_adopting_a_new_conference_does_both(world: World) -> None:
    """One page of Bob's: his copy of Alice's conference (counted) and an event of his own with
    a new conference (saved before it is sent). The page is applied whole, both recorded."""
    world.provider.create("c1", owner=ALICE)
    world.provider.create("c2", owner=BOB)
    world.put(ALICE, "a1", "c1", ALICE)
    world.sync(ALICE, ALICE)
    world.put(BOB, "b1", "c1", BOB, summary="Mine now")
    world.put(BOB, "b2", "c2", BOB, summary="Bob's own")

    outcome = world.sync(BOB, BOB)

    assert (outcome.status, outcome.stats.references, outcome.stats.updates) == ("synced", 1, 1)
    assert world.record("c1").references == 1
    assert len(world.calls("update", "c1")) == 1  # Alice's only
    assert [c.outcome for c in world.calls("update", "c2")] == ["applied"]
    assert world.record("c2").pending is None  # sent, and recorded as sent
