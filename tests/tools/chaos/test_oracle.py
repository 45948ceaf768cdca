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


# --- ownership: only events organised by the conference's owner count ---------------------------

BOB = "bob@example.com"
TEAM = "alice-team@example.com"  # a secondary calendar of Alice's, enrolled under her


def _copy_by(user: str, event_id: str, conference_id: str, **fields: Any) -> dict[str, Any]:
    """``user``'s own event carrying Alice's conference (conferenceData copied)."""
    return _event(event_id, conference_id, organizer={"email": user, "self": True}, **fields)


def _owned_world(
    by_calendar: dict[str, list[dict[str, Any]]],
    conferences: list[dict[str, Any]],
    users: dict[str, str] | None = None,
) -> OracleInput:
    owned = [{"owner": CAL, **c} for c in conferences]
    attached = frozenset(str(c["id"]) for c in conferences)
    return OracleInput(by_calendar, owned, attached=attached, users=users or {})


def test_another_users_copy_does_not_keep_the_conference_alive() -> None:
    world = _owned_world(
        {
            CAL: [_event("ev1", "conf_a", status="cancelled")],
            BOB: [_copy_by(BOB, "ev9", "conf_a", summary="Bob's copy")],
        },
        [_conference("conf_a", "ev1")],
    )

    assert [(m.conference_id, m.kind) for m in compare(world)] == [("conf_a", "missing-deletion")]


def test_another_users_copy_does_not_give_the_conference_its_state() -> None:
    by_calendar = {
        CAL: [_event("ev1", "conf_a")],
        BOB: [_copy_by(BOB, "ev9", "conf_a", summary="Bob's copy")],
    }
    took_over = _conference("conf_a", "ev9", title="Bob's copy", organizer=BOB, calendarId=BOB)

    [mismatch] = compare(_owned_world(by_calendar, [took_over]))
    owners_state = compare(_owned_world(by_calendar, [_conference("conf_a", "ev1")]))

    assert mismatch.kind == "wrong-state"
    assert "Bob's copy" in mismatch.detail
    assert owners_state == []


def test_an_event_moved_to_another_user_keeps_its_conference_frozen() -> None:
    """Transferred (decision record "delete grace"): kept while the moved event lives, in the
    state it had; the new organizer's edits are not followed."""
    moved = _event("ev1", "conf_a", organizer={"email": BOB, "self": True}, summary="Bob's now")
    by_calendar = {CAL: [{"id": "ev1", "status": "cancelled"}], BOB: [moved]}

    frozen = compare(_owned_world(by_calendar, [_conference("conf_a", "ev1")]))
    deleted = compare(_owned_world(by_calendar, [_conference("conf_a", "ev1", status="deleted")]))

    assert frozen == []
    assert [m.kind for m in deleted] == ["extra-deletion"]


def test_a_moved_event_deleted_by_its_new_organizer_may_leave_its_conference_either_way() -> None:
    by_calendar = {
        CAL: [{"id": "ev1", "status": "cancelled"}],
        BOB: [{"id": "ev1", "status": "cancelled"}],
    }
    kept = compare(_owned_world(by_calendar, [_conference("conf_a", "ev1")]))
    deleted = compare(_owned_world(by_calendar, [_conference("conf_a", "ev1", status="deleted")]))

    assert kept == deleted == []


def test_a_moved_event_deleted_by_its_new_organizer_is_recognised_by_its_kept_details() -> None:
    """Chaos seed 221 (5 calendars): two of Alice's events carried the conference, the one it
    last followed was deleted, the other moved to Bob, who deleted it later. The conference's
    ``eventId`` names the first one; Bob's tombstone keeps its details (its organizer's calendar,
    reference 1.5), the conference among them, so the transfer is still recognised."""
    by_calendar = {
        CAL: [
            {"id": "ev1", "status": "cancelled"},
            _event("ev2", "conf_a", status="cancelled"),
        ],
        BOB: [_copy_by(BOB, "ev1", "conf_a", status="cancelled")],
    }
    kept = compare(_owned_world(by_calendar, [_conference("conf_a", "ev2")]))
    deleted = compare(_owned_world(by_calendar, [_conference("conf_a", "ev2", status="deleted")]))

    assert kept == deleted == []


def test_a_conference_replaced_then_moved_to_another_user_may_be_left_either_way() -> None:
    """Chaos seed 7: the owner's calendar may have seen only the move's stub, which cannot tell
    this move from one that took the conference along (decision record "delete grace")."""
    moved = _event("ev1", "conf_b", organizer={"email": BOB, "self": True})
    by_calendar = {CAL: [{"id": "ev1", "status": "cancelled"}], BOB: [moved]}
    conferences = [_conference("conf_b", "ev1", revision=0), _conference("conf_a", "ev1")]

    kept = compare(_owned_world(by_calendar, conferences))
    conferences[1] = _conference("conf_a", "ev1", status="deleted")
    deleted = compare(_owned_world(by_calendar, conferences))

    assert kept == deleted == []


def test_a_conference_replaced_on_the_owners_own_calendar_must_still_be_deleted() -> None:
    replaced = _event("ev1", "conf_b")
    world = _owned_world(
        {CAL: [replaced]}, [_conference("conf_a", "ev1"), _conference("conf_b", "ev1")]
    )

    assert [m.kind for m in compare(world)] == ["missing-deletion"]


def test_a_copy_with_another_id_is_no_transfer() -> None:
    copy = _copy_by(BOB, "ev9", "conf_a")
    world = _owned_world(
        {CAL: [{"id": "ev1", "status": "cancelled"}], BOB: [copy]},
        [_conference("conf_a", "ev1")],
    )

    assert [m.kind for m in compare(world)] == ["missing-deletion"]


def test_an_attendees_copy_never_counts() -> None:
    invitation = _event("ev1", "conf_a", organizer={"email": CAL})  # no self: Bob's copy
    world = _owned_world(
        {CAL: [_event("ev1", "conf_a", status="cancelled")], BOB: [invitation]},
        [_conference("conf_a", "ev1")],
    )

    assert [m.kind for m in compare(world)] == ["missing-deletion"]


def test_the_owners_secondary_calendar_counts_through_its_subject() -> None:
    on_team = _event("ev2", "conf_a", organizer={"email": TEAM, "self": True}, summary="Team")
    by_calendar = {CAL: [_event("ev1", "conf_a", status="cancelled")], TEAM: [on_team]}
    follows_team = _conference("conf_a", "ev2", title="Team", organizer=TEAM, calendarId=TEAM)

    with_subject = compare(_owned_world(by_calendar, [follows_team], users={TEAM: CAL}))
    without = compare(_owned_world(by_calendar, [follows_team]))

    assert with_subject == []
    assert [m.kind for m in without] == ["missing-deletion"]


def test_a_conference_shared_by_the_owners_events_lives_until_the_last_of_them_goes() -> None:
    copy = _copy_by(BOB, "ev9", "conf_a", summary="Bob's copy")
    one_left = {
        CAL: [_event("ev1", "conf_a", status="cancelled"), _event("ev2", "conf_a")],
        BOB: [copy],
    }
    none_left = {
        CAL: [
            _event("ev1", "conf_a", status="cancelled"),
            _event("ev2", "conf_a", status="cancelled"),
        ],
        BOB: [copy],
    }
    deleted = _conference("conf_a", "ev2", status="deleted")

    assert [m.kind for m in compare(_owned_world(one_left, [deleted]))] == ["extra-deletion"]
    assert compare(_owned_world(one_left, [_conference("conf_a", "ev2")])) == []
    assert compare(_owned_world(none_left, [deleted])) == []
    assert [m.kind for m in compare(_owned_world(none_left, [_conference("conf_a", "ev2")]))] == [
        "missing-deletion"
    ]
