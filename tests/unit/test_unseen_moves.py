"""Events of the owner's that her calendar never saw live, and the delete grace.

Chaos seed 56: Alice creates an event with her conference and moves it to Bob between two runs
of her calendar. Her calendar then lists only the move's stub, an id it cannot place; Bob's
calendar counts the moved event as another user's. When Alice deletes her last event she knows
of, the grace must still find the meeting going on at Bob's: the record names the counted
events their own calendar organises (``elsewhere``), and the grace asks her calendar about them.
(:mod:`confsync.sync.grace`; docs/decisions/2026-12-03-delete-grace.md, its 2026-12-05 update.)
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from confsync.calendars import calendar_key
from confsync.errors import CalendarUnavailableError, ProviderUnavailableError
from confsync.records import DEPARTED_MAX, conference_key, from_document, to_document
from confsync.sync.grace import CANCELLED_MESSAGE, SIBLING_WAIT_MAX
from confsync.testing.settings import sync_settings
from tests.unit.test_ownership_sync import ALICE, BOB, TEAM, World

GRACE = timedelta(seconds=120)
BOB_KEY = calendar_key(BOB, BOB)
TEAM_KEY = calendar_key(ALICE, TEAM)
CAROL = "carol@example.com"


@pytest.fixture(name="world")
def world_fixture() -> World:
    world = World(settings={"delete_grace": GRACE})
    world.enroll(ALICE, ALICE)
    world.enroll(BOB, BOB)
    world.enroll(ALICE, TEAM)  # Alice's second calendar
    world.provider.create("c1", owner=ALICE)
    world.put(ALICE, "a1", "c1", ALICE)
    world.sync(ALICE, ALICE)
    world.sync(BOB, BOB)
    world.sync(ALICE, TEAM)
    return world


def _after_grace(world: World) -> None:
    world.clock.now += GRACE + timedelta(seconds=1)


def _moved_to_bob_unseen(world: World) -> None:
    """Alice's second event with the conference, moved to Bob before her calendar's next run;
    Bob's calendar has synced it (counted: he organises it now)."""
    world.put(ALICE, "a2", "c1", ALICE)
    world.calendar.move(ALICE, "a2", BOB)
    world.sync(BOB, BOB)


def test_an_event_moved_to_bob_before_alices_calendar_saw_it_keeps_the_conference(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="confsync.sync")
    _moved_to_bob_unseen(world)
    world.calendar.delete(ALICE, "a1")
    world.sync(ALICE, ALICE)  # a1's tombstone and a2's stub, in one page
    _after_grace(world)

    world.sync(ALICE, ALICE)

    assert world.calls("delete") == []
    assert not world.provider.conferences["c1"].deleted
    record = world.record()
    assert (record.status, record.pending, record.references) == ("transferred", None, 1)
    lines = [r.getMessage() for r in caplog.records]
    [line] = [text for text in lines if text.startswith(CANCELLED_MESSAGE)]
    assert "a2 moved from calendar" in line
    assert BOB_KEY in line
    world.clock.now += GRACE
    world.sync(ALICE, ALICE)
    assert world.calls("delete") == []


def test_a_copy_bob_made_of_alices_meeting_keeps_nothing_and_costs_a_question_per_calendar(
    world: World,
) -> None:
    """Bob's own event with Alice's conference was never on her calendars (404 on each): the
    meeting ends when she deletes hers, as before."""
    world.put(BOB, "b1", "c1", BOB)
    world.sync(BOB, BOB)
    assert dict(world.record().elsewhere) == {"b1": BOB_KEY}
    world.calendar.delete(ALICE, "a1")
    world.sync(ALICE, ALICE)
    _after_grace(world)
    gets = world.calendar.get_calls

    world.sync(ALICE, ALICE)

    assert world.calendar.get_calls - gets == 3  # a1, then b1 on her primary and her other one
    assert [c.outcome for c in world.calls("delete")] == ["applied"]
    assert world.record().status == "deleted"


def test_a_calendar_error_while_asking_about_bobs_event_keeps_the_delete_pending(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    _moved_to_bob_unseen(world)
    world.calendar.delete(ALICE, "a1")
    world.sync(ALICE, ALICE)
    _after_grace(world)
    asked = world.calendar.get_event

    def unavailable_for_a2(calendar_id: str, event_id: str) -> object:
        if event_id == "a2":
            raise CalendarUnavailableError("events.get: HTTP 503")
        return asked(calendar_id, event_id)

    with monkeypatch.context() as patched:
        patched.setattr(world.calendar, "get_event", unavailable_for_a2)
        world.sync(ALICE, ALICE)

    assert world.calls("delete") == []
    record = world.record()
    assert (record.status, record.pending is not None) == ("active", True)
    world.sync(ALICE, ALICE)  # asked again later: the move is found
    assert world.calls("delete") == []
    assert world.record().status == "transferred"


def test_the_record_names_only_events_their_own_calendar_organises(world: World) -> None:
    """Bob's own events are named (a move leaves the calendar it went to as organizer); an
    invitation from Carol carrying Alice's conference is not (not even counted while confsync
    reads owned events only, the default); an event that stops carrying the conference, or is
    deleted, is named no more."""
    world.put(BOB, "b1", "c1", BOB)
    world.put(BOB, "carol1", "c1", CAROL, organizer_self=False)
    world.put(BOB, "b2", "c1", BOB)
    world.sync(BOB, BOB)
    record = world.record()
    assert (dict(record.elsewhere), record.references) == ({"b1": BOB_KEY, "b2": BOB_KEY}, 2)

    world.calendar.delete(BOB, "b1")
    world.put(BOB, "b2", "c2", BOB)  # Bob replaced the conference
    world.sync(BOB, BOB)

    record = world.record()
    assert (dict(record.elsewhere), record.references) == ({}, 0)


def test_the_record_names_at_most_the_latest_events_organised_elsewhere(world: World) -> None:
    for n in range(DEPARTED_MAX + 3):
        world.put(BOB, f"b{n:02}", "c1", BOB)
        world.sync(BOB, BOB)

    record = world.record()
    assert list(record.elsewhere) == [f"b{n:02}" for n in range(3, DEPARTED_MAX + 3)]
    assert record.references == DEPARTED_MAX + 3
    stored = from_document(record.key, to_document(record))
    assert stored.elsewhere == record.elsewhere


def test_an_earlier_event_moved_to_alices_other_calendar_is_what_its_tombstone_finds(
    world: World,
) -> None:
    """Two of Alice's events carry the conference; one moves to her other calendar (not synced
    yet), the other is deleted. The grace keeps the conference for the moved one, and attaches
    that one (not the last that left) where her other calendar's run looks: deleted there
    before that calendar synced, its tombstone finds the record and the delete follows. (The
    attachment named the deleted event before, so the meeting's end was missed.)"""
    world.put(ALICE, "a2", "c1", ALICE)
    world.sync(ALICE, ALICE)
    world.calendar.move(ALICE, "a1", TEAM)
    world.sync(ALICE, ALICE)
    world.calendar.delete(ALICE, "a2")
    world.sync(ALICE, ALICE)
    _after_grace(world)
    world.sync(ALICE, ALICE)
    assert world.record().status == "transferred"
    assert world.attached(TEAM, ALICE, "a1") is None  # not synced there yet
    world.calendar.delete(TEAM, "a1")

    world.sync(ALICE, TEAM)
    _after_grace(world)
    world.sync(ALICE, TEAM)

    assert [c.outcome for c in world.calls("delete")] == ["applied"]
    assert world.record().status == "deleted"
    assert conference_key("c1") == world.record().key


def test_an_invitation_counted_when_every_event_is_read_is_not_named() -> None:
    """With ``CONFSYNC_OWNED_EVENTS_ONLY`` off, Carol's invitation on Bob's calendar is counted,
    but never named: a move leaves the calendar it went to as organizer, an invitation never."""
    world = World(settings={"delete_grace": GRACE, "owned_only": False})
    world.enroll(ALICE, ALICE)
    world.enroll(BOB, BOB)
    world.provider.create("c1", owner=ALICE)
    world.put(ALICE, "a1", "c1", ALICE)
    world.sync(ALICE, ALICE)
    world.put(BOB, "carol1", "c1", CAROL, organizer_self=False)
    world.put(BOB, "b1", "c1", BOB)

    world.sync(BOB, BOB)

    record = world.record()
    assert (dict(record.elsewhere), record.references) == ({"b1": BOB_KEY}, 2)


def test_bobs_events_kept_while_the_owner_was_unknown_are_named_once_it_is_known() -> None:
    """Bob's calendar met the conference first, and its owner could not be read then: his
    events were kept undecided. Once Alice's run learns she owns it, they are counted, and the
    one Bob's calendar organises is named like any counted one."""
    world = World(settings={"delete_grace": GRACE})
    world.enroll(ALICE, ALICE)
    world.enroll(BOB, BOB)
    world.provider.create("c1", owner=ALICE)
    world.put(BOB, "a2", "c1", BOB)
    world.provider.failures.append(ProviderUnavailableError("owners: HTTP 503"))
    world.sync(BOB, BOB)
    assert world.record().owner_known is False
    world.put(ALICE, "a1", "c1", ALICE)

    world.sync(ALICE, ALICE)

    record = world.record()
    assert (record.owner, record.references, dict(record.elsewhere)) == (ALICE, 1, {"a2": BOB_KEY})


def test_an_event_moved_to_alices_other_calendar_before_either_saw_it_keeps_the_conference(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """Chaos seed 72: Alice creates a second event with her conference and moves it to her
    other calendar before either calendar syncs, then deletes her first one. Her primary sees a
    tombstone and a stub it cannot place; only her other calendar's pull finds the event. The
    run that queues the delete asks that calendar to pull; when the delete falls due before
    it has, the delete waits and asks again: the meeting goes on there."""
    caplog.set_level(logging.INFO, logger="confsync.sync")
    world.clock.now += timedelta(seconds=1)  # her other calendar last pulled before all this
    world.put(ALICE, "a2", "c1", ALICE)
    world.calendar.move(ALICE, "a2", TEAM)
    world.calendar.delete(ALICE, "a1")
    world.sync(ALICE, ALICE)
    asked = [(r.calendar_key, r.reason) for r in world.publisher.published]
    _after_grace(world)  # that request is not delivered yet (a slow or lost delivery)

    world.sync(ALICE, ALICE)

    assert asked == [(TEAM_KEY, "grace")]
    assert world.calls("delete") == []
    assert "waits for the subject's other calendars to pull" in caplog.text
    assert world.deliver() == [TEAM_KEY]
    world.sync(ALICE, ALICE)
    assert world.calls("delete") == []
    assert not world.provider.conferences["c1"].deleted
    record = world.record()
    assert (record.status, record.home_key, world.events(TEAM, ALICE)) == (
        "active",
        TEAM_KEY,
        ["a2"],
    )


def test_a_delete_falls_due_with_its_siblings_pulled_when_they_were_asked_at_once(
    world: World,
) -> None:
    """The usual order: the other calendar pulls while the grace runs (it was asked when the
    delete was queued), so the delete goes when it falls due, with no wait."""
    world.clock.now += timedelta(seconds=1)
    world.calendar.delete(ALICE, "a1")
    world.sync(ALICE, ALICE)
    assert world.deliver() == [TEAM_KEY]
    _after_grace(world)

    world.sync(ALICE, ALICE)

    assert [c.outcome for c in world.calls("delete")] == ["applied"]
    assert world.publisher.published == []  # nothing asked again


def test_a_delete_waits_for_a_sibling_that_never_pulls_only_so_long() -> None:
    """A calendar of Alice's whose pulls keep failing must not keep her meeting's end from its
    conference for ever: past SIBLING_WAIT_MAX after it fell due, the delete goes."""
    world = World(settings={"delete_grace": GRACE})
    world.enroll(ALICE, ALICE)
    world.enroll(ALICE, TEAM)  # never pulls
    world.provider.create("c1", owner=ALICE)
    world.put(ALICE, "a1", "c1", ALICE)
    world.sync(ALICE, ALICE)
    world.calendar.delete(ALICE, "a1")
    world.sync(ALICE, ALICE)
    _after_grace(world)
    world.sync(ALICE, ALICE)
    assert world.calls("delete") == []

    world.clock.now += SIBLING_WAIT_MAX
    world.sync(ALICE, ALICE)

    assert [c.outcome for c in world.calls("delete")] == ["applied"]


def test_an_event_moved_to_bob_from_alices_other_calendar_before_it_saw_it_keeps_the_conference(
    world: World,
) -> None:
    """The same move, from Alice's other calendar: her event there with her conference went to
    Bob before that calendar's run saw it live. Her other calendar's pull lists only the stub;
    her primary's grace, asking only the primary, found nothing (404) and ended the meeting
    that goes on at Bob's. The grace asks each of her syncing calendars."""
    world.put(TEAM, "t2", "c1", TEAM)
    world.calendar.move(TEAM, "t2", BOB)
    world.sync(BOB, BOB)
    assert dict(world.record().elsewhere) == {"t2": BOB_KEY}
    world.calendar.delete(ALICE, "a1")
    world.sync(ALICE, ALICE)
    world.deliver()  # her other calendar pulls: the stub, which it cannot place
    _after_grace(world)

    world.sync(ALICE, ALICE)

    assert world.calls("delete") == []
    assert not world.provider.conferences["c1"].deleted
    assert world.record().status == "transferred"


def _moved_to_bob_who_has_not_pulled(world: World) -> None:
    """Chaos seed 246: Alice's second event with the conference went to Bob before her
    calendar's run saw it live, and Bob's calendar has not pulled since (its notification lost,
    its pulls slowed): the record names nothing. She deletes her first event."""
    world.clock.now += timedelta(seconds=1)
    world.put(ALICE, "a2", "c1", ALICE)
    world.calendar.move(ALICE, "a2", BOB)
    world.calendar.delete(ALICE, "a1")
    world.sync(ALICE, ALICE)  # a1's tombstone and a2's stub, which it cannot place
    world.deliver()  # her other calendar pulls, as asked: nothing of hers there
    _after_grace(world)


def test_a_delete_waits_while_bobs_calendar_has_not_counted_an_event_moved_to_him_unseen(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """The grace found nothing to ask about (the record names nothing yet) and sent the DELETE
    while the meeting went on at Bob's. The stub Alice's calendar lost lately holds the delete
    until Bob's calendar counts the event; the retry then finds the move."""
    caplog.set_level(logging.INFO, logger="confsync.sync")
    _moved_to_bob_who_has_not_pulled(world)

    world.sync(ALICE, ALICE)

    assert world.calls("delete") == []
    assert "waits for a calendar to count an event moved away lately (a2 from" in caplog.text
    assert world.record().pending is not None
    world.sync(BOB, BOB)  # late, within the wait
    world.clock.now += timedelta(minutes=5)
    world.sync(ALICE, ALICE)
    assert world.calls("delete") == []
    assert not world.provider.conferences["c1"].deleted
    assert world.record().status == "transferred"


def test_a_delete_held_by_a_stub_nobody_counts_goes_once_the_wait_is_over(world: World) -> None:
    """A stub that no calendar ever counts (a move out of confsync's sight, an invitation
    cancelled by its organizer) delays the delete by at most the wait, then it goes."""
    _moved_to_bob_who_has_not_pulled(world)
    wait = sync_settings().move_wait
    world.sync(ALICE, ALICE)
    assert world.calls("delete") == []

    world.clock.now += wait + timedelta(seconds=1)
    world.sync(ALICE, ALICE)

    assert [c.outcome for c in world.calls("delete")] == ["applied"]


def test_a_delete_goes_at_once_when_nothing_left_alices_calendars_lately(world: World) -> None:
    """The common case: one listing of changes per calendar of Alice's, no stub in it (her
    own deletion keeps its details and names her), and the delete goes when it falls due."""
    world.clock.now += timedelta(seconds=1)
    world.calendar.delete(ALICE, "a1")
    world.sync(ALICE, ALICE)
    world.deliver()
    _after_grace(world)
    listed = world.calendar.changed_calls

    world.sync(ALICE, ALICE)

    assert [c.outcome for c in world.calls("delete")] == ["applied"]
    assert world.calendar.changed_calls - listed == 2  # her primary and her other calendar


def test_a_calendar_that_cannot_list_its_changes_keeps_the_delete_pending(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.calendar.delete(ALICE, "a1")
    world.sync(ALICE, ALICE)
    world.deliver()
    _after_grace(world)

    def unavailable(calendar_id: str, since: object) -> object:
        raise CalendarUnavailableError("events.list: HTTP 503")

    with monkeypatch.context() as patched:
        patched.setattr(world.calendar, "list_changed", unavailable)
        world.sync(ALICE, ALICE)

    assert world.calls("delete") == []
    assert world.record().pending is not None
    world.sync(ALICE, ALICE)
    assert [c.outcome for c in world.calls("delete")] == ["applied"]
