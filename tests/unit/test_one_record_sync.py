"""One record per conference in the sync, on fakes: runs of the owner's calendars share it.

Every calendar of the owner folds its events into the conference's one record, so two calendars'
runs may write it at the same time: a save is conditional on the record being as it was read,
and a run whose record changed meanwhile plans its page again from what is stored now. Records of
schema 1 (one per calendar and conference) are migrated by each calendar's first run.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest

from confsync.calendars import RECORDS_SCHEMA, CalendarDoc, calendar_key
from confsync.events import decode_event
from confsync.legacy_records import LegacyRecord, record_key
from confsync.ownership import Role
from confsync.planner import desired_state
from confsync.ports import StagedSave
from confsync.records import (
    CalendarRefs,
    ConferenceRecord,
    EventSnapshot,
    SentState,
    conference_key,
)
from confsync.testing import InMemoryRecordStore
from tests.support.record_stores import PassThroughRecords
from tests.unit.test_ownership_sync import ALICE, BOB, TEAM, World

ALICE_KEY = calendar_key(ALICE, ALICE)
TEAM_KEY = calendar_key(ALICE, TEAM)
BOB_KEY = calendar_key(BOB, BOB)
C1 = conference_key("c1")


@pytest.fixture(name="world")
def world_fixture() -> World:
    world = World()
    world.enroll(ALICE, ALICE)
    world.enroll(ALICE, TEAM)  # Alice's second calendar
    world.enroll(BOB, BOB)
    return world


def _title(world: World, conference_id: str = "c1") -> Any:
    state = world.provider.conferences[conference_id].state
    assert state is not None
    return state["title"]


def _kept_title(world: World, calendar_id: str, event_id: str) -> str | None:
    """The title of an event of Alice's the conference's record holds."""
    refs = world.refs(calendar_id, ALICE)
    assert refs is not None
    return refs.events[event_id].title


def _applied_revisions(world: World, conference_id: str = "c1") -> list[int | None]:
    return [
        c.revision
        for c in world.provider.calls
        if c.conference_id == conference_id and c.outcome == "applied"
    ]


def _increasing(revisions: list[int | None]) -> bool:
    return all(a is not None and b is not None and a < b for a, b in itertools.pairwise(revisions))


class _Interleaved(PassThroughRecords):
    """The record store as one run sees it: ``meanwhile`` runs once, right before the run's first
    save of a page (on its own, or staged for the commit), as another calendar's run writing the
    same records between this run's read and its write."""

    def __init__(self, store: InMemoryRecordStore, meanwhile: Callable[[], object]) -> None:
        super().__init__(store)
        self.meanwhile: Callable[[], object] | None = meanwhile

    def save(
        self,
        records: Iterable[ConferenceRecord],
        *,
        calendar_key: str | None = None,
        attachments: Mapping[str, str | None] | None = None,
    ) -> dict[str, str]:
        if calendar_key is not None:
            self._meanwhile_once()
        return self.store.save(records, calendar_key=calendar_key, attachments=attachments)

    def stage(
        self,
        records: Iterable[ConferenceRecord],
        *,
        calendar_key: str,
        attachments: Mapping[str, str | None],
    ) -> StagedSave | None:
        """The page's save staged for the commit: ``meanwhile`` runs right before it is written."""
        staged = self.store.stage(records, calendar_key=calendar_key, attachments=attachments)
        return None if staged is None else _StagedAfter(staged, self._meanwhile_once)

    def _meanwhile_once(self) -> None:
        if self.meanwhile is not None:
            meanwhile, self.meanwhile = self.meanwhile, None
            meanwhile()


@dataclass(frozen=True, slots=True)
class _StagedAfter:
    """A staged save that runs ``before`` right before it is written."""

    staged: StagedSave
    before: Callable[[], None]

    def save(self) -> None:
        self.before()
        self.staged.save()


def _duplicate(world: World) -> None:
    """Alice's meeting c1 on both of her calendars (a1, t1), both synced."""
    world.provider.create("c1", owner=ALICE)
    world.put(ALICE, "a1", "c1", ALICE)
    world.put(TEAM, "t1", "c1", TEAM)
    world.sync(ALICE, ALICE)
    world.sync(ALICE, TEAM)
    assert (world.events(ALICE, ALICE), world.events(TEAM, ALICE)) == (["a1"], ["t1"])


# --- two calendars' runs at once --------------------------------------------------------------


def test_a_page_whose_record_changed_meanwhile_is_planned_again_and_the_later_edit_wins(
    world: World,
) -> None:
    _duplicate(world)
    world.put(TEAM, "t1", "c1", TEAM, summary="Team's edit")  # first
    world.put(ALICE, "a1", "c1", ALICE, summary="Alice's edit")  # later: it decides
    interleaved = _Interleaved(world.records, lambda: world.sync(ALICE, TEAM))

    outcome = world.sync(ALICE, ALICE, records=interleaved)

    assert interleaved.meanwhile is None  # the other run did run in between
    assert outcome.status == "synced"
    assert outcome.stats.conflicts == 1
    assert world.records.conflicts == 1
    assert _title(world) == "Alice's edit"
    record = world.record()
    # Nothing lost: each calendar's edit is in its references, in the one record.
    assert _kept_title(world, ALICE, "a1") == "Alice's edit"
    assert _kept_title(world, TEAM, "t1") == "Team's edit"
    assert (record.home_key, record.pending, record.status) == (ALICE_KEY, None, "active")
    assert record.sent is not None
    assert record.sent.state is not None
    assert record.sent.state.title == "Alice's edit"
    assert record.sent.revision == world.provider.conferences["c1"].revision
    assert _increasing(_applied_revisions(world))
    assert world.calls("delete") == []
    # A later run of either calendar finds nothing to send.
    calls = len(world.provider.calls)
    world.sync(ALICE, TEAM)
    world.sync(ALICE, ALICE)
    assert len(world.provider.calls) == calls


def test_a_commit_whose_staged_record_changed_applies_the_page_again_without_a_second_pull(
    world: World,
) -> None:
    """The page's records, staged for the commit, are refused there: the page is read, planned
    and saved again at once, in the same round, and the commit is made without them."""
    _duplicate(world)
    world.put(TEAM, "t1", "c1", TEAM, summary="Team's edit")  # first
    world.put(ALICE, "a1", "c1", ALICE, summary="Alice's edit")  # later: it decides
    interleaved = _Interleaved(world.records, lambda: world.sync(ALICE, TEAM))
    lists = world.calendar.list_calls

    outcome = world.sync(ALICE, ALICE, records=interleaved)

    assert interleaved.meanwhile is None
    assert (outcome.status, outcome.stats.rounds, outcome.stats.conflicts) == ("synced", 1, 1)
    assert world.calendar.list_calls == lists + 2  # this run's one pull, and the other run's
    assert _title(world) == "Alice's edit"
    doc = world.calendars.get(ALICE_KEY)
    assert doc is not None
    assert doc.lease_owner is None
    calls = len(world.provider.calls)
    world.sync(ALICE, ALICE)  # nothing left to send: the page's records were saved
    assert len(world.provider.calls) == calls


def test_an_earlier_edit_planned_again_does_not_undo_the_later_one(world: World) -> None:
    _duplicate(world)
    world.put(ALICE, "a1", "c1", ALICE, summary="Alice's edit")  # first
    world.put(TEAM, "t1", "c1", TEAM, summary="Team's edit")  # later: it decides
    interleaved = _Interleaved(world.records, lambda: world.sync(ALICE, TEAM))

    outcome = world.sync(ALICE, ALICE, records=interleaved)

    assert outcome.stats.conflicts == 1
    assert _title(world) == "Team's edit"
    record = world.record()
    assert _kept_title(world, ALICE, "a1") == "Alice's edit"
    assert _kept_title(world, TEAM, "t1") == "Team's edit"
    assert record.home_key == TEAM_KEY
    assert record.sent is not None
    assert record.sent.state is not None
    assert record.sent.state.title == "Team's edit"
    assert _increasing(_applied_revisions(world))


def test_a_conflict_on_a_new_conference_adopts_it_once_and_keeps_both_calendars(
    world: World,
) -> None:
    """Both calendars meet the conference for the first time: the record is created by one run
    while the other planned from none."""
    world.provider.create("c1", owner=ALICE)
    world.put(ALICE, "a1", "c1", ALICE)
    world.put(TEAM, "t1", "c1", TEAM)
    interleaved = _Interleaved(world.records, lambda: world.sync(ALICE, TEAM))

    outcome = world.sync(ALICE, ALICE, records=interleaved)

    assert outcome.stats.conflicts == 1
    assert len(world.records.all()) == 1
    assert (world.events(ALICE, ALICE), world.events(TEAM, ALICE)) == (["a1"], ["t1"])
    assert world.attached(ALICE, ALICE, "a1") == C1
    assert world.attached(TEAM, ALICE, "t1") == C1
    assert _increasing(_applied_revisions(world))
    assert world.calls("delete") == []
    assert _title(world) == "Planning"


# --- migration of schema-1 records ------------------------------------------------------------


def _snapshot(world: World, calendar_id: str, event_id: str) -> EventSnapshot:
    """The event as a schema-1 record kept it (the same fields the fold keeps)."""
    event = decode_event(world.calendar.event(calendar_id, event_id))
    assert event.start is not None
    assert event.end is not None
    return EventSnapshot(
        event_id=event.id,
        title=event.summary,
        start=event.start.value,
        end=event.end.value,
        time_zone=event.start.time_zone,
        recurrence=event.recurrence,
        attendees=event.attendees,
        organizer=event.organizer_email,
        updated_ms=event.updated_ms,
        ical_uid=event.ical_uid,
    )


def _legacy(
    world: World, subject: str, calendar_id: str, event_id: str, *, role: Role = "acting"
) -> LegacyRecord:
    """The schema-1 record an older deployment left for the event's calendar: an acting one
    sent the event's state (and the conferencing system holds it), a reference sent nothing."""
    key = calendar_key(subject, calendar_id)
    snapshot = _snapshot(world, calendar_id, event_id)
    sent = None
    if role == "acting":
        refs = CalendarRefs(subject=subject, calendar_id=calendar_id, events={event_id: snapshot})
        state = desired_state(
            ConferenceRecord(key=C1, conference_id="c1", home_key=key, calendars={key: refs})
        )
        assert state is not None
        conference = world.provider.conferences["c1"]
        conference.revision = max(conference.revision, snapshot.updated_ms)
        conference.state = state.to_wire()
        sent = SentState(revision=snapshot.updated_ms, state=state, join_url=conference.join_url)
    legacy = LegacyRecord(
        key=record_key(key, "c1"),
        calendar_key=key,
        conference_id="c1",
        events={event_id: snapshot},
        primary_event_id=event_id,
        sent=sent,
        owner=ALICE,
        owner_known=True,
        role=role,
    )
    world.records.put_legacy(legacy)
    return legacy


def _enroll_schema_1(world: World, subject: str, calendar_id: str) -> None:
    """The calendar as an older deployment left it: synced (its token is current), records of
    schema 1."""
    page = world.calendar.list_page(calendar_id, sync_token=None, page_token=None, time_min=None)
    assert page.next_sync_token is not None
    world.calendars.put(
        CalendarDoc(
            key=calendar_key(subject, calendar_id),
            subject=subject,
            calendar_id=calendar_id,
            sync_token=page.next_sync_token,
            records_schema=1,
        )
    )


def _records_schema(world: World, key: str) -> int:
    doc = world.calendars.get(key)
    assert doc is not None
    return doc.records_schema


def test_the_first_run_migrates_the_calendar_s_schema_1_records(world: World) -> None:
    world.provider.create("c1", owner=ALICE)
    world.put(ALICE, "a1", "c1", ALICE)
    old = _legacy(world, ALICE, ALICE, "a1")
    _enroll_schema_1(world, ALICE, ALICE)

    outcome = world.sync(ALICE, ALICE)

    assert outcome.status == "synced"
    assert outcome.stats.migrated == 1
    assert world.records.legacy_of_calendar(ALICE_KEY) == []
    assert _records_schema(world, ALICE_KEY) == RECORDS_SCHEMA
    assert list(world.records.all()) == [C1]
    record = world.record()
    assert (record.owner, record.role, record.home_key) == (ALICE, "acting", ALICE_KEY)
    assert world.events(ALICE, ALICE) == ["a1"]
    assert record.sent == old.sent
    assert world.records.all_attachments() == {(ALICE_KEY, "a1"): C1}
    assert [c for c in world.provider.calls if c.kind != "owner_of"] == []  # nothing to send

    # A second run migrates nothing again.
    assert world.sync(ALICE, ALICE).stats.migrated == 0


def test_an_edit_and_a_delete_after_the_migration_are_sent_once_each(world: World) -> None:
    world.provider.create("c1", owner=ALICE)
    world.put(ALICE, "a1", "c1", ALICE)
    _legacy(world, ALICE, ALICE, "a1")
    _enroll_schema_1(world, ALICE, ALICE)
    world.sync(ALICE, ALICE)

    world.put(ALICE, "a1", "c1", ALICE, summary="Planning, moved")
    world.sync(ALICE, ALICE)

    [update] = world.calls("update")
    assert (update.outcome, update.changed_fields) == ("applied", ("title",))  # not adopted again
    assert world.calls("delete") == []
    assert _title(world) == "Planning, moved"

    world.calendar.delete(ALICE, "a1")
    world.sync(ALICE, ALICE)  # the delete waits for her team calendar to pull, and asks it to
    assert world.deliver() == [TEAM_KEY]
    world.sync(ALICE, ALICE)

    assert [c.outcome for c in world.calls("delete")] == ["applied"]
    assert world.record().status == "deleted"
    assert _increasing(_applied_revisions(world))


def test_two_calendars_of_the_owner_migrating_one_after_the_other_end_in_one_record(
    world: World,
) -> None:
    world.provider.create("c1", owner=ALICE)
    world.put(ALICE, "a1", "c1", ALICE)
    world.put(TEAM, "t1", "c1", TEAM, summary="Team copy")  # edited later: its state was sent last
    world.put(BOB, "b1", "c1", BOB)  # Bob's copy: a reference
    _legacy(world, ALICE, ALICE, "a1")
    team = _legacy(world, ALICE, TEAM, "t1")
    _legacy(world, BOB, BOB, "b1", role="reference")
    for subject, calendar_id in ((ALICE, ALICE), (ALICE, TEAM), (BOB, BOB)):
        _enroll_schema_1(world, subject, calendar_id)

    world.sync(ALICE, ALICE)
    assert _records_schema(world, TEAM_KEY) == 1  # not migrated until its own run
    assert len(world.records.legacy_of_calendar(TEAM_KEY)) == 1
    world.sync(ALICE, TEAM)
    world.sync(BOB, BOB)

    assert list(world.records.all()) == [C1]
    record = world.record()
    assert (world.events(ALICE, ALICE), world.events(TEAM, ALICE)) == (["a1"], ["t1"])
    assert world.refs(BOB, BOB) is None
    assert record.references == 1
    assert record.sent == team.sent  # the later of the two sent states
    assert record.owner == ALICE
    for key in (ALICE_KEY, TEAM_KEY, BOB_KEY):
        assert world.records.legacy_of_calendar(key) == []
        assert _records_schema(world, key) == RECORDS_SCHEMA
    assert world.records.all_attachments() == {
        (ALICE_KEY, "a1"): C1,
        (TEAM_KEY, "t1"): C1,
        (BOB_KEY, "b1"): C1,
    }
    assert [c for c in world.provider.calls if c.kind != "owner_of"] == []

    # After the migration the copies behave as one record's: no delete until the last goes.
    world.calendar.delete(BOB, "b1")
    world.sync(BOB, BOB)
    world.calendar.delete(ALICE, "a1")
    world.sync(ALICE, ALICE)
    assert world.calls("delete") == []
    assert world.record().references == 0
    world.calendar.delete(TEAM, "t1")
    world.sync(ALICE, TEAM)
    assert [c.outcome for c in world.calls("delete")] == ["applied"]
    assert world.calls("update") == []


class _PendingReadThenMeanwhile(PassThroughRecords):
    """The record store as one run sees it: ``meanwhile`` runs once, right after the run's
    pending retry read its records, as another calendar's run writing one of them between the
    read and the sends."""

    def __init__(self, store: InMemoryRecordStore, meanwhile: Callable[[], object]) -> None:
        super().__init__(store)
        self.meanwhile: Callable[[], object] | None = meanwhile

    def pending(self, calendar_key: str, due: datetime, limit: int) -> list[ConferenceRecord]:
        found = self.store.pending(calendar_key, due, limit)
        if found and self.meanwhile is not None:
            meanwhile, self.meanwhile = self.meanwhile, None
            meanwhile()
        return found


def test_a_delete_is_never_sent_from_a_record_another_run_wrote_after_it_was_read(
    world: World,
) -> None:
    """Alice deletes her meeting on her primary while its copy on her other calendar is being
    synced: that run writes the record after her primary's pending retry read it. The delete,
    planned from the stale read, is not sent; the copy keeps the conference."""
    world.provider.create("c1", owner=ALICE)
    world.put(ALICE, "a1", "c1", ALICE)
    world.sync(ALICE, ALICE)
    world.put(TEAM, "t1", "c1", TEAM)  # her copy, not synced yet
    world.calendar.delete(ALICE, "a1")
    racing = _PendingReadThenMeanwhile(world.records, lambda: world.sync(ALICE, TEAM))

    outcome = world.sync(ALICE, ALICE, records=racing)

    assert world.calls("delete") == []
    assert outcome.stats.conflicts >= 1
    record = world.records.by_keys([conference_key("c1")])[0]
    assert (record.status, record.live_calendars, record.pending) == (
        "active",
        (calendar_key(ALICE, TEAM),),
        None,
    )
