"""The oracle catches what the chaos suite exists to catch, and accepts a converged system."""

from __future__ import annotations

from typing import Any

from chaos.oracle import OracleInput, compare
from tests.support.calendar_events import conference_data
from tests.support.calendar_events import event as calendar_event

CAL = "alice@example.com"


def _event(event_id: str, conference_id: str | None, **fields: Any) -> dict[str, Any]:
    event = calendar_event(
        event_id,
        start="2027-03-01T10:00:00+01:00",
        end="2027-03-01T11:00:00+01:00",
        time_zone="Europe/Berlin",
        attendees=["Bob@Example.com", {"email": "room@example.com", "resource": True}],
        organizer=CAL,
        conference=None if conference_id is None else conference_data(conference_id),
    )
    event.update(fields)
    return event


def _conference(conference_id: str, event_id: str, **fields: Any) -> dict[str, Any]:
    """The conference as a correct confsync leaves it for ``_event(event_id, ...)``."""
    conference: dict[str, Any] = {
        "id": conference_id,
        "status": "active",
        "revision": 1700000000000,
        "title": "Planning",
        "start": "2027-03-01T09:00:00Z",  # the same instant, written in UTC
        "end": "2027-03-01T10:00:00Z",
        "timeZone": "Europe/Berlin",
        "attendees": ["bob@example.com"],
        "recurrence": [],
        "cancelledOccurrences": [],
        "modifiedOccurrences": [],
        "organizer": CAL,
        "calendarId": CAL,
        "eventId": event_id,
    }
    conference.update(fields)
    return conference


def _untouched(conference_id: str) -> dict[str, Any]:
    return {"id": conference_id, "status": "active", "revision": 0, "title": None}


def _world(
    events: list[dict[str, Any]], conferences: list[dict[str, Any]], attached: set[str]
) -> OracleInput:
    return OracleInput({CAL: events}, conferences, attached=frozenset(attached))


def test_a_converged_system_has_no_mismatch() -> None:
    world = _world(
        [_event("ev1", "conf_a"), _event("ev2", None)],
        [_conference("conf_a", "ev1"), _untouched("conf_decoy")],
        {"conf_a"},
    )

    assert compare(world) == []


def test_a_wrong_title_is_reported() -> None:
    world = _world(
        [_event("ev1", "conf_a", summary="Planning (moved)")],
        [_conference("conf_a", "ev1")],
        {"conf_a"},
    )

    [mismatch] = compare(world)

    assert mismatch.conference_id == "conf_a"
    assert mismatch.kind == "wrong-state"
    assert "title" in mismatch.detail


def test_wrong_times_attendees_and_occurrences_are_reported() -> None:
    series = _event("ev1", "conf_a", recurrence=["RRULE:FREQ=DAILY;COUNT=3"])
    cancelled = {
        "id": "ev1_20270302T090000Z",
        "status": "cancelled",
        "recurringEventId": "ev1",
        "originalStartTime": {"dateTime": "2027-03-02T10:00:00+01:00"},
    }
    stale = _conference(
        "conf_a",
        "ev1",
        start="2027-03-01T10:00:00Z",
        attendees=["bob@example.com", "carol@example.com"],
        recurrence=["RRULE:FREQ=DAILY;COUNT=3"],
    )

    [mismatch] = compare(_world([series, cancelled], [stale], {"conf_a"}))

    for name in ("start", "attendees", "cancelledOccurrences"):
        assert name in mismatch.detail
    assert "title" not in mismatch.detail


def test_a_missing_deletion_is_reported() -> None:
    deleted = _event("ev1", "conf_a", status="cancelled")
    world = _world([deleted], [_conference("conf_a", "ev1")], {"conf_a"})

    [mismatch] = compare(world)

    assert (mismatch.conference_id, mismatch.kind) == ("conf_a", "missing-deletion")


def test_a_conference_replaced_on_its_event_must_be_deleted() -> None:
    moved = _event("ev1", "conf_b")
    world = _world(
        [moved],
        [_conference("conf_a", "ev1"), _conference("conf_b", "ev1")],
        {"conf_a", "conf_b"},
    )

    assert [(m.conference_id, m.kind) for m in compare(world)] == [("conf_a", "missing-deletion")]


def test_an_extra_deletion_is_reported() -> None:
    world = _world(
        [_event("ev1", "conf_a")],
        [_conference("conf_a", "ev1", status="deleted")],
        {"conf_a"},
    )

    [mismatch] = compare(world)

    assert (mismatch.conference_id, mismatch.kind) == ("conf_a", "extra-deletion")


def test_a_shared_conference_must_survive_while_one_event_uses_it() -> None:
    events = [_event("ev1", "conf_a", status="cancelled"), _event("ev2", "conf_a", summary="Copy")]

    deleted = compare(_world(events, [_conference("conf_a", "ev1", status="deleted")], {"conf_a"}))
    follows_survivor = compare(
        _world(events, [_conference("conf_a", "ev2", title="Copy")], {"conf_a"})
    )

    assert [m.kind for m in deleted] == ["extra-deletion"]
    assert follows_survivor == []


def test_touching_a_conference_that_is_not_ours_is_reported() -> None:
    foreign = _event("ev1", None)
    foreign["conferenceData"] = conference_data("conf_f", solution="Other Video")
    world = _world([foreign], [{**_untouched("conf_f"), "status": "deleted", "revision": 5}], set())

    [mismatch] = compare(world)

    assert (mismatch.conference_id, mismatch.kind) == ("conf_f", "touched")


def test_an_event_organised_by_someone_else_does_not_count() -> None:
    copy = _event("ev1", "conf_a", organizer={"email": "carol@example.com"})
    world = _world([copy], [_conference("conf_a", "ev1")], {"conf_a"})

    assert [m.kind for m in compare(world)] == ["missing-deletion"]


def test_a_conference_never_adopted_may_stay_untouched_once_its_event_is_gone() -> None:
    gone = _event("ev1", "conf_a", status="cancelled")

    assert compare(_world([gone], [_untouched("conf_a")], {"conf_a"})) == []
