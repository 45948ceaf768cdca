"""The delete grace (confsync.sync.grace), on fakes: a conference whose last event left a calendar
is deleted only after ``delete_grace``, and not at all when the meeting goes on elsewhere.

A move (``events.move``) leaves the source calendar a tombstone and the same event (same id and
iCalUID) on the destination; a duplicate on two of the owner's calendars is one record holding
both calendars' references; a new organizer makes the destination another user's, whose event is
only counted. docs/decisions/2026-12-03-delete-grace.md.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any, NoReturn

import pytest

from confsync.calendars import CalendarDoc, calendar_key
from confsync.errors import CalendarUnavailableError, ProviderUnavailableError
from confsync.ports import HeldConference
from confsync.records import conference_key
from confsync.sync import SyncOutcome
from confsync.sync.grace import CANCELLED_MESSAGE
from confsync.testing.settings import sync_settings
from tests.unit.test_ownership_sync import ALICE, BOB, TEAM, World
from tests.unit.test_sync_runner import CALENDAR, KEY
from tests.unit.test_sync_runner import World as RunnerWorld

GRACE = timedelta(seconds=120)
ALICE_KEY = calendar_key(ALICE, ALICE)
TEAM_KEY = calendar_key(ALICE, TEAM)


@pytest.fixture(name="world")
def world_fixture() -> World:
    world = World(settings={"delete_grace": GRACE})
    world.enroll(ALICE, ALICE)
    world.enroll(BOB, BOB)
    world.enroll(ALICE, TEAM)  # Alice's second calendar
    return world


def _meeting(world: World, conference_id: str = "c1", event_id: str = "a1") -> None:
    world.provider.create(conference_id, owner=ALICE)
    world.put(ALICE, event_id, conference_id, ALICE)
    world.sync(ALICE, ALICE)


def _after_grace(world: World) -> None:
    world.clock.now += GRACE + timedelta(seconds=1)


def _retried_once_team_pulled(world: World) -> SyncOutcome:
    """Alice's retry of her due delete: it waits while her other calendar has not pulled since
    the delete was queued (an event moved there unseen would be attached by that pull), and asks
    it to; Pub/Sub delivers that request, and her next run decides. That run's outcome."""
    waited = world.sync(ALICE, ALICE)
    assert waited.stats.deletes == 0
    assert world.deliver() == [TEAM_KEY]
    return world.sync(ALICE, ALICE)


def _move(world: World, event_id: str, destination: str) -> None:
    """``events.move``: a stub with only the id on Alice's calendar, the same event (id, iCalUID)
    on the destination, organised by it."""
    world.calendar.move(ALICE, event_id, destination)


def _state(world: World, conference_id: str = "c1") -> dict[str, Any]:
    state = world.provider.conferences[conference_id].state
    assert state is not None
    return state


def test_a_real_delete_is_sent_only_after_the_grace(world: World) -> None:
    _meeting(world)
    world.calendar.delete(ALICE, "a1")

    first = world.sync(ALICE, ALICE)
    world.clock.now += GRACE - timedelta(seconds=1)
    before = world.sync(ALICE, ALICE)

    assert world.calls("delete") == []
    assert (first.stats.deletes, before.stats.deletes) == (0, 0)
    record = world.record()
    assert record.pending is not None
    assert record.home_key == ALICE_KEY
    refs = world.refs(ALICE, ALICE)
    assert refs is not None
    assert (dict(refs.events), dict(refs.departed)) == ({}, {"a1": "a1@fake"})
    doc = world.calendars.get(calendar_key(ALICE, ALICE))
    assert doc is not None
    assert doc.pending_count == 1

    world.clock.now += timedelta(seconds=2)
    after = _retried_once_team_pulled(world)

    assert [c.outcome for c in world.calls("delete")] == ["applied"]
    assert after.stats.deletes == 1
    assert world.record().status == "deleted"


def test_a_delete_refused_as_stale_is_not_taken_for_done(world: World) -> None:
    """Chaos seed 20: a newer state reached the conferencing system while the delete waited
    (another calendar's run sent it); the DELETE is refused as stale. The conference is alive,
    so the record must not say deleted (nothing would ever be sent for it again): it stays
    pending, and is planned again from the record as stored then."""
    _meeting(world)
    world.calendar.delete(ALICE, "a1")
    world.sync(ALICE, ALICE)
    _newer_state_held(world, TEAM, "t1")  # her other calendar's run sent it, not saved yet
    _after_grace(world)

    _retried_once_team_pulled(world)

    _assert_stale_and_pending(world)


def _assert_stale_and_pending(world: World) -> None:
    """The one DELETE was refused as stale, and the record waits to plan it again."""
    assert [c.outcome for c in world.calls("delete")] == ["stale"]
    record = world.record()
    assert record.status == "active"
    assert record.pending is not None
    assert "stale" in record.pending.last_error


def _newer_state_held(world: World, calendar_id: str, event_id: str) -> int:
    """The conferencing system holds a newer state of c1, from ``event_id`` on ``calendar_id``,
    that no stored record knows (its run died before saving); its revision."""
    held = world.provider.conferences["c1"]
    assert held.state is not None
    held.revision += 10_000
    held.state = {**held.state, "calendarId": calendar_id, "eventId": event_id}
    return held.revision


def test_a_delete_stale_against_the_deleted_event_s_own_edit_goes_again_above_it(
    world: World,
) -> None:
    """Chaos seed 34: a run sent an edit of the event and died before saving; the event was
    deleted before the redelivery, which saw a bare tombstone. The record never learned the
    edit's revision, so its DELETE is stale; the state held is that of the event that left, so
    the delete goes again just above it (else it stayed pending until its attempts ran out)."""
    _meeting(world)
    newer = _newer_state_held(world, ALICE, "a1")
    world.calendar.delete(ALICE, "a1")
    world.sync(ALICE, ALICE)
    _after_grace(world)

    _retried_once_team_pulled(world)

    deletes = [(c.revision, c.outcome) for c in world.calls("delete")]
    assert deletes == [(deletes[0][0], "stale"), (newer + 1, "applied")]
    assert world.record().status == "deleted"
    assert world.provider.conferences["c1"].deleted


def test_a_stale_delete_never_goes_above_the_state_of_an_event_of_another_calendar(
    world: World,
) -> None:
    """Her team calendar's copy left the meeting once (it is in that calendar's departed
    events), then came back with it, and that calendar's run sent its state and has not saved
    yet. Only the team calendar's runs know whether its event is live: Alice's run must not
    read "departed" from its copy of the record and delete above that state."""
    _meeting(world)
    world.put(TEAM, "t1", "c1", ALICE)
    world.sync(ALICE, TEAM)
    world.calendar.delete(TEAM, "t1")
    world.sync(ALICE, TEAM)
    refs = world.refs(TEAM, ALICE)
    assert refs is not None
    assert "t1" in refs.departed
    world.calendar.delete(ALICE, "a1")
    world.sync(ALICE, ALICE)
    _newer_state_held(world, TEAM, "t1")  # t1 restored on her team calendar, its run unsaved
    _after_grace(world)

    world.sync(ALICE, ALICE)

    _assert_stale_and_pending(world)


def test_a_stale_delete_of_a_conference_deleted_meanwhile_settles_without_sending_again(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deleted between the 409 and the read (another run's delete of the same departure)."""
    _meeting(world)
    newer = _newer_state_held(world, TEAM, "t1")
    world.calendar.delete(ALICE, "a1")
    world.sync(ALICE, ALICE)
    _after_grace(world)
    deleted = HeldConference(newer + 1, deleted=True, calendar_id=ALICE, event_id="a1")
    monkeypatch.setattr(world.provider, "held", lambda conference_id: deleted)

    _retried_once_team_pulled(world)

    assert [c.outcome for c in world.calls("delete")] == ["stale"]
    record = world.record()
    assert (record.status, record.pending) == ("deleted", None)


def test_a_stale_delete_stays_pending_when_the_system_cannot_say_what_it_holds(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    _meeting(world)
    _newer_state_held(world, ALICE, "a1")
    world.calendar.delete(ALICE, "a1")
    world.sync(ALICE, ALICE)
    _after_grace(world)

    def unavailable(conference_id: str) -> NoReturn:
        raise ProviderUnavailableError(f"HTTP 503 reading {conference_id}")

    monkeypatch.setattr(world.provider, "held", unavailable)
    _retried_once_team_pulled(world)

    _assert_stale_and_pending(world)


def test_a_move_to_alices_other_calendar_keeps_the_conference_and_follows_it(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="confsync.sync")
    _meeting(world)
    _move(world, "a1", TEAM)
    world.sync(ALICE, ALICE)
    assert world.record().pending is not None  # the source alone: a delete, waiting its grace
    world.sync(ALICE, TEAM)
    # The destination's event joins the same record: no delete is planned any more.
    record = world.record()
    assert (record.status, record.pending, record.home_key) == ("active", None, TEAM_KEY)
    _after_grace(world)

    world.sync(ALICE, ALICE)
    world.sync(ALICE, TEAM)

    assert world.calls("delete") == []
    assert not world.provider.conferences["c1"].deleted
    record = world.record()
    assert (record.status, record.pending, record.role) == ("active", None, "acting")
    assert (world.events(ALICE, ALICE), world.events(TEAM, ALICE)) == ([], ["a1"])
    assert _state(world)["calendarId"] == TEAM
    # Nothing was left for the grace to decide: no probe, no line.
    assert [r for r in caplog.records if r.getMessage().startswith(CANCELLED_MESSAGE)] == []

    # Later edits on the new calendar update the conference.
    world.put(TEAM, "a1", "c1", TEAM, summary="Planning, moved")
    world.sync(ALICE, TEAM)
    assert _state(world)["title"] == "Planning, moved"
    world.clock.now += GRACE
    world.sync(ALICE, ALICE)
    assert world.calls("delete") == []


def test_a_duplicate_on_two_of_alices_calendars_is_deleted_with_the_last_copy(
    world: World,
) -> None:
    _meeting(world)
    world.put(TEAM, "t1", "c1", TEAM)
    world.sync(ALICE, TEAM)
    assert (world.events(ALICE, ALICE), world.events(TEAM, ALICE)) == (["a1"], ["t1"])
    assert len(world.records.all()) == 1

    world.calendar.delete(ALICE, "a1")
    world.sync(ALICE, ALICE)
    _after_grace(world)
    world.sync(ALICE, ALICE)
    world.sync(ALICE, TEAM)
    assert world.calls("delete") == []
    record = world.record()
    assert (record.pending, record.home_key) == (None, TEAM_KEY)

    world.calendar.delete(TEAM, "t1")
    world.sync(ALICE, TEAM)
    assert world.calls("delete") == []  # the grace again
    _after_grace(world)
    world.sync(ALICE, TEAM)
    assert [c.outcome for c in world.calls("delete")] == ["applied"]


def test_a_move_to_alices_other_calendar_synced_first_sends_no_delete(world: World) -> None:
    """The destination's run comes first: the record holds the event on both calendars for a
    while, and the source's tombstone then only takes it off the source."""
    _meeting(world)
    _move(world, "a1", TEAM)

    world.sync(ALICE, TEAM)
    assert (world.events(ALICE, ALICE), world.events(TEAM, ALICE)) == (["a1"], ["a1"])
    assert world.record().home_key == TEAM_KEY  # the moved copy is the latest: it decides
    assert _state(world)["calendarId"] == TEAM
    world.sync(ALICE, ALICE)

    record = world.record()
    assert (record.pending, record.status, record.home_key) == (None, "active", TEAM_KEY)
    source = world.refs(ALICE, ALICE)
    assert source is not None
    assert (dict(source.events), list(source.departed)) == ({}, ["a1"])
    _after_grace(world)
    world.sync(ALICE, ALICE)
    world.sync(ALICE, TEAM)
    assert world.calls("delete") == []
    assert not world.provider.conferences["c1"].deleted
    assert world.record().pending is None


def test_the_latest_edited_copy_decides_and_the_last_copy_deletes(world: World) -> None:
    _meeting(world)
    world.put(TEAM, "t1", "c1", TEAM, summary="Team copy")
    world.sync(ALICE, TEAM)
    assert (_state(world)["title"], _state(world)["calendarId"]) == ("Team copy", TEAM)

    world.put(ALICE, "a1", "c1", ALICE, summary="Alice's copy")
    world.sync(ALICE, ALICE)
    assert (_state(world)["title"], _state(world)["calendarId"]) == ("Alice's copy", ALICE)
    assert world.record().home_key == ALICE_KEY

    # The deciding copy goes: the other one, still live, decides; nothing is deleted.
    world.calendar.delete(ALICE, "a1")
    world.sync(ALICE, ALICE)
    assert (_state(world)["title"], _state(world)["calendarId"]) == ("Team copy", TEAM)
    record = world.record()
    assert (record.pending, record.home_key) == (None, TEAM_KEY)
    _after_grace(world)
    world.sync(ALICE, ALICE)
    world.sync(ALICE, TEAM)
    assert world.calls("delete") == []

    world.calendar.delete(TEAM, "t1")
    world.sync(ALICE, TEAM)
    assert world.calls("delete") == []  # its own grace
    _after_grace(world)
    world.sync(ALICE, TEAM)
    assert [c.outcome for c in world.calls("delete")] == ["applied"]
    revisions = [c.revision or 0 for c in world.provider.calls if c.outcome == "applied"]
    assert revisions == sorted(set(revisions))  # every operation outranks the one before


def test_a_transfer_to_bob_keeps_the_conference_and_marks_the_record_transferred(
    world: World,
) -> None:
    _meeting(world)
    _move(world, "a1", BOB)
    world.sync(ALICE, ALICE)
    world.sync(BOB, BOB)  # a reference: the owner is still Alice
    _after_grace(world)

    world.sync(ALICE, ALICE)

    assert world.calls("delete") == []
    assert not world.provider.conferences["c1"].deleted
    record = world.record()
    assert (record.status, record.pending, record.owner) == ("transferred", None, ALICE)
    assert world.refs(BOB, BOB) is None  # Bob's event is only counted
    assert record.references == 1
    assert world.attached(BOB, BOB, "a1") == conference_key("c1")
    world.clock.now += GRACE
    world.sync(ALICE, ALICE)
    assert world.calls("delete") == []

    # Not followed: the new organizer's calendar is a reference (the decision record says why).
    world.put(BOB, "a1", "c1", BOB, summary="Bob's now")
    world.sync(BOB, BOB)
    assert _state(world)["title"] == "Planning"
    assert len(world.calls("update")) == 1
    assert (world.record().status, world.record().references) == ("transferred", 1)


def test_the_same_ical_uid_on_bobs_calendar_does_not_keep_a_meeting_its_owner_deleted(
    world: World,
) -> None:
    """Alice deleted her event (its tombstone still names her): the meeting is gone, whatever
    another user's event with the same iCalUID says. Bob's event is counted, never stored, so
    it is a copy like any other (the delete grace's decision record, its update)."""
    _meeting(world)
    world.calendar.delete(ALICE, "a1")
    world.put(BOB, "b-import", "c1", BOB, iCalUID="a1@fake")
    world.sync(ALICE, ALICE)
    world.sync(BOB, BOB)
    assert world.calls("delete") == []
    _after_grace(world)

    _retried_once_team_pulled(world)

    assert [c.outcome for c in world.calls("delete")] == ["applied"]
    assert world.record().references == 1


def test_a_copy_on_bobs_calendar_does_not_keep_a_deleted_meeting(world: World) -> None:
    _meeting(world)
    world.put(BOB, "b1", "c1", BOB)  # his own event with Alice's conference: another event
    world.sync(BOB, BOB)
    world.calendar.delete(ALICE, "a1")
    world.sync(ALICE, ALICE)
    assert world.calls("delete") == []
    _after_grace(world)

    _retried_once_team_pulled(world)

    assert [c.outcome for c in world.calls("delete")] == ["applied"]


def test_a_move_to_a_calendar_confsync_does_not_see_is_kept_and_transferred(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """The stub a move leaves names no organizer: a meeting that goes on out of sight."""
    caplog.set_level(logging.INFO, logger="confsync.sync")
    _meeting(world)
    _move(world, "a1", "elsewhere@example.com")
    world.sync(ALICE, ALICE)
    assert world.calls("delete") == []
    _after_grace(world)

    world.sync(ALICE, ALICE)

    assert world.calls("delete") == []
    assert not world.provider.conferences["c1"].deleted
    record = world.record()
    assert (record.status, record.pending, dict(record.calendars)) == ("transferred", None, {})
    [line] = [r for r in caplog.records if r.getMessage().startswith(CANCELLED_MESSAGE)]
    assert "moved away" in line.getMessage()
    world.clock.now += GRACE
    world.sync(ALICE, ALICE)
    assert world.calls("delete") == []


def test_a_move_to_bob_is_kept_before_his_calendar_has_synced(world: World) -> None:
    _meeting(world)
    _move(world, "a1", BOB)
    world.sync(ALICE, ALICE)
    _after_grace(world)  # Bob's notification was dropped: his sync has not run

    world.sync(ALICE, ALICE)

    assert world.calls("delete") == []
    assert world.record().status == "transferred"
    world.sync(BOB, BOB)  # the sweep, later: a reference, nothing sent
    assert world.calls("delete") == []
    assert len(world.calls("update")) == 1
    record = world.record()
    assert (record.status, record.references, world.refs(BOB, BOB)) == ("transferred", 1, None)


def test_a_move_to_alices_other_calendar_is_kept_before_it_has_synced(world: World) -> None:
    _meeting(world)
    _move(world, "a1", TEAM)
    world.sync(ALICE, ALICE)
    _after_grace(world)

    world.sync(ALICE, ALICE)

    assert world.calls("delete") == []
    assert world.record().status == "transferred"
    world.sync(ALICE, TEAM)  # later: Alice's other calendar acts for it
    record = world.record()
    assert (record.status, record.role, record.home_key) == ("active", "acting", TEAM_KEY)
    assert world.events(TEAM, ALICE) == ["a1"]
    assert _state(world)["calendarId"] == TEAM


def test_a_move_to_alices_other_calendar_deleted_there_before_it_synced_deletes_it(
    world: World,
) -> None:
    """Chaos seed 17: Alice moves her meeting to her other calendar and deletes it there
    before that calendar syncs. Her primary's grace finds the move's stub and keeps the
    conference (transferred); her other calendar sees only a tombstone of an event it never
    saw live, which finds the record through the moved-away attachment: the delete follows."""
    _meeting(world)
    world.sync(ALICE, TEAM)  # enrolled and synced before: it lists changes, tombstones too
    _move(world, "a1", TEAM)
    world.sync(ALICE, ALICE)
    _after_grace(world)
    world.sync(ALICE, ALICE)
    assert world.record().status == "transferred"
    world.calendar.delete(TEAM, "a1")

    world.sync(ALICE, TEAM)
    assert world.calls("delete") == []  # its own grace first
    _after_grace(world)
    world.sync(ALICE, TEAM)

    assert [c.outcome for c in world.calls("delete")] == ["applied"]
    assert world.record().status == "deleted"


def test_a_move_deleted_on_alices_other_calendar_before_the_grace_ran_deletes_it(
    world: World,
) -> None:
    """Chaos seed 4, the other order: her other calendar lists only the tombstone, before her
    primary's grace has found the move (nothing to find it by yet). The grace's check, seeing
    the move's stub, asks her other enrolled calendars and finds the event deleted there."""
    _meeting(world)
    world.sync(ALICE, TEAM)
    _move(world, "a1", TEAM)
    world.sync(ALICE, ALICE)  # the delete is queued, due after the grace
    world.calendar.delete(TEAM, "a1")
    world.sync(ALICE, TEAM)  # a tombstone of an event it never saw live: nothing yet
    _after_grace(world)

    world.sync(ALICE, ALICE)

    assert [c.outcome for c in world.calls("delete")] == ["applied"]
    assert world.record().status == "deleted"


def test_a_move_still_live_on_alices_other_calendar_is_transferred_until_it_syncs(
    world: World,
) -> None:
    """The grace's check finds the moved event live on her other calendar, not synced yet:
    kept (transferred) rather than deleted; that calendar's run then takes it over."""
    _meeting(world)
    _move(world, "a1", TEAM)
    world.sync(ALICE, ALICE)
    _after_grace(world)
    world.sync(ALICE, ALICE)

    assert world.calls("delete") == []
    assert world.record().status == "transferred"


def test_an_earlier_event_that_moved_away_keeps_the_conference_when_the_last_is_deleted(
    world: World,
) -> None:
    """Chaos seed 9: two of Alice's events carry the conference; one moves away while the other
    still carries it, then the other is deleted for real. The meeting goes on where the first
    one went, so asking about the last departed event alone would delete a live meeting."""
    _meeting(world)
    world.put(ALICE, "a2", "c1", ALICE)
    world.sync(ALICE, ALICE)
    _move(world, "a1", "elsewhere@example.com")
    world.sync(ALICE, ALICE)
    world.calendar.delete(ALICE, "a2")
    world.sync(ALICE, ALICE)
    _after_grace(world)

    world.sync(ALICE, ALICE)

    assert world.calls("delete") == []
    assert world.record().status == "transferred"


def test_bob_deleting_an_event_moved_to_him_never_deletes_alices_conference(
    world: World,
) -> None:
    """The moved-away attachment is Alice's: a tombstone on Bob's calendar never finds it."""
    _meeting(world)
    world.sync(BOB, BOB)
    _move(world, "a1", BOB)
    world.sync(ALICE, ALICE)
    _after_grace(world)
    world.sync(ALICE, ALICE)
    world.calendar.delete(BOB, "a1")

    world.sync(BOB, BOB)
    _after_grace(world)
    world.sync(BOB, BOB)

    assert world.calls("delete") == []
    assert world.record().status == "transferred"


def test_a_conference_replaced_before_the_move_is_deleted(world: World) -> None:
    """The event lives on with another conference: the stub its later move leaves says nothing
    of the first one, which no event carries any more (chaos seed 7). Nothing tells the stub
    from a move of an event carrying the first conference unseen, so the delete waits for the
    calendar it went to (``move_wait``), then goes."""
    _meeting(world)
    world.provider.create("c2", owner=ALICE)
    world.put(ALICE, "a1", "c2", ALICE)
    world.sync(ALICE, ALICE)
    _move(world, "a1", "elsewhere@example.com")
    world.sync(ALICE, ALICE)
    _after_grace(world)
    _retried_once_team_pulled(world)
    assert world.calls("delete", "c1") == []

    world.clock.now += sync_settings().move_wait
    world.sync(ALICE, ALICE)

    assert [c.outcome for c in world.calls("delete", "c1")] == ["applied"]
    assert world.calls("delete", "c2") == []
    assert not world.provider.conferences["c2"].deleted


def test_a_real_delete_asks_the_calendar_once_then_is_sent(world: World) -> None:
    _meeting(world)
    world.calendar.delete(ALICE, "a1")  # the organizer's calendar keeps the details
    world.sync(ALICE, ALICE)
    _after_grace(world)
    world.sync(ALICE, TEAM)  # her other calendar has pulled since: the delete need not wait
    gets = world.calendar.get_calls

    world.sync(ALICE, ALICE)

    assert world.calendar.get_calls - gets == 1
    assert [c.outcome for c in world.calls("delete")] == ["applied"]
    assert world.record().status == "deleted"


def test_a_calendar_error_while_asking_keeps_the_delete_pending(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    _meeting(world)
    world.calendar.delete(ALICE, "a1")
    world.sync(ALICE, ALICE)
    _after_grace(world)
    world.sync(ALICE, TEAM)  # her other calendar has pulled since: the delete need not wait

    def unavailable(calendar_id: str, event_id: str) -> None:
        raise CalendarUnavailableError("events.get: HTTP 503")

    with monkeypatch.context() as patched:
        patched.setattr(world.calendar, "get_event", unavailable)
        world.sync(ALICE, ALICE)

    assert world.calls("delete") == []
    record = world.record()
    assert (record.status, record.pending is not None) == ("active", True)
    world.sync(ALICE, ALICE)  # retried later
    assert [c.outcome for c in world.calls("delete")] == ["applied"]


def test_an_event_recreated_within_the_grace_cancels_the_delete(world: World) -> None:
    _meeting(world)
    world.calendar.delete(ALICE, "a1")
    world.sync(ALICE, ALICE)
    world.put(ALICE, "a2", "c1", ALICE, summary="Planning, again")
    world.sync(ALICE, ALICE)
    _after_grace(world)

    world.sync(ALICE, ALICE)

    assert world.calls("delete") == []
    assert _state(world)["title"] == "Planning, again"
    assert world.record().pending is None
    assert world.events(ALICE, ALICE) == ["a2"]


def test_the_brake_counts_deletes_waiting_out_their_grace(world: World) -> None:
    world.settings["delete_brake"] = 2
    for i in range(3):
        world.provider.create(f"c{i}", owner=ALICE)
        world.put(ALICE, f"a{i}", f"c{i}", ALICE)
    world.sync(ALICE, ALICE)
    world.calendar.delete(ALICE, "a0")
    world.calendar.delete(ALICE, "a1")
    first = world.sync(ALICE, ALICE)
    assert first.stats.held == 0  # two: within the brake, waiting out the grace

    world.calendar.delete(ALICE, "a2")
    second = world.sync(ALICE, ALICE)
    _after_grace(world)
    world.sync(ALICE, ALICE)

    assert second.stats.held == 3
    assert [c for c in world.provider.calls if c.kind == "delete"] == []
    assert sum(1 for r in world.records.all().values() if r.held) == 3


def test_a_short_grace_is_waited_out_by_the_run_itself() -> None:
    """The local stack's grace (at most 5 s): no tick needed, the run sends the delete."""
    world = RunnerWorld()
    world.calendars.put(CalendarDoc(key=KEY, subject="alice@example.com", calendar_id=CALENDAR))
    world.conference_event("e1", "c1")
    world.sync(delete_grace=timedelta(seconds=2))
    world.calendar.delete(CALENDAR, "e1")

    outcome = world.sync(delete_grace=timedelta(seconds=2))

    assert outcome.stats.deletes == 1
    assert [c.kind for c in world.provider.applied()] == ["update", "delete"]
    assert 2.0 in world.sleeper.pauses


def test_a_conference_replaced_then_moved_to_alices_other_calendar_unseen_is_deleted(
    world: World,
) -> None:
    """Chaos seed 7, the faster order: Alice replaces the conference and moves the event to her
    other calendar before her primary syncs, so it sees only the move's stub. Her other calendar
    holds the event with the new conference: the first one did not go along."""
    _meeting(world)
    world.provider.create("c2", owner=ALICE)
    world.put(ALICE, "a1", "c2", ALICE)
    _move(world, "a1", TEAM)
    world.sync(ALICE, ALICE)  # only the tombstone: the delete of c1 waits out its grace
    _after_grace(world)

    _retried_once_team_pulled(world)

    assert [c.outcome for c in world.calls("delete", "c1")] == ["applied"]
    world.sync(ALICE, TEAM)
    assert world.calls("delete", "c2") == []
    assert not world.provider.conferences["c2"].deleted
    assert world.events(TEAM, ALICE, "c2") == ["a1"]


def test_an_unrelated_event_with_the_same_id_on_alices_other_calendar_deletes_nothing(
    world: World,
) -> None:
    """Only the moved event itself (a move keeps its ``iCalUID``) says the conference was left
    behind: another event that happens to have its id keeps the meeting that went on elsewhere."""
    _meeting(world)
    _move(world, "a1", "elsewhere@example.com")
    world.provider.create("c9", owner=ALICE)
    world.put(TEAM, "a1", "c9", ALICE, iCalUID="another@fake")
    world.sync(ALICE, ALICE)
    _after_grace(world)

    world.sync(ALICE, ALICE)

    assert world.calls("delete") == []
    assert world.record().status == "transferred"


def test_a_removed_invitation_on_alices_other_calendar_does_not_delete_a_moved_meeting(
    world: World,
) -> None:
    """Alice's other calendar held an invitation to her meeting (the same id and iCalUID,
    organised by her) and was removed from it: its copy is cancelled. Then she moved the
    meeting to Bob. That tombstone names her, but it is no deletion of the moved event, which
    a move would have left organised by that calendar itself: the meeting goes on at Bob's."""
    _meeting(world)
    world.put(TEAM, "a1", "c1", ALICE, iCalUID="a1@fake", organizer_self=False)  # a copy
    world.sync(ALICE, TEAM)
    world.calendar.delete(TEAM, "a1")  # removed from the attendees
    world.sync(ALICE, TEAM)
    _move(world, "a1", BOB)
    world.sync(ALICE, ALICE)
    _after_grace(world)

    world.sync(ALICE, ALICE)

    assert world.calls("delete") == []
    assert not world.provider.conferences["c1"].deleted
    assert world.record().status == "transferred"


def test_an_invitation_removed_before_alices_other_calendar_synced_does_not_delete_it(
    world: World,
) -> None:
    """The same copy, invited and removed between two runs of her other calendar: that
    calendar lists only its tombstone, after the move's grace marked the record transferred.
    A tombstone organised by someone else is no event that moved there and was deleted."""
    _meeting(world)
    world.sync(ALICE, TEAM)
    world.put(TEAM, "a1", "c1", ALICE, iCalUID="a1@fake", organizer_self=False)  # a copy
    world.calendar.delete(TEAM, "a1")  # removed from the attendees before TEAM synced
    _move(world, "a1", BOB)
    world.sync(ALICE, ALICE)
    _after_grace(world)
    world.sync(ALICE, ALICE)
    assert world.record().status == "transferred"

    world.sync(ALICE, TEAM)
    _after_grace(world)
    world.sync(ALICE, TEAM)

    assert world.calls("delete") == []
    assert world.record().status == "transferred"
