"""Roles: ``accessRole``, what a reader and a free/busy reader may do, invitation copies
(reference 1.3 ``accessRole``; the emulator README's "Callers and roles" and "Invitations").
Roles are given with ``acl.insert`` on the scratch calendar and taken back at the end."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from conformance.calendar import Calendar, timed_event, window

from .conftest import Target


def test_the_creator_of_a_calendar_is_its_owner(calendar: Calendar) -> None:
    answer = calendar.list(maxResults=1)

    assert answer.status == 200
    assert answer["accessRole"] == "owner"


@pytest.fixture(name="as_second")
def fixture_as_second(target: Target, calendar: Calendar) -> Iterator[Calendar]:
    """The scratch calendar as the second user; their ACL entry is removed afterwards."""
    assert target.second is not None
    assert target.second_user is not None
    yield calendar.as_user(target.second)
    calendar.revoke(target.second_user)


@pytest.mark.second_user
@pytest.mark.unconfirmed(
    section="-",
    point="a reader's write answers 403 requiredAccessLevel",
    emulator="403 requiredAccessLevel",
)
def test_a_reader_sees_their_role_and_may_not_write(
    target: Target, calendar: Calendar, as_second: Calendar
) -> None:
    assert target.second_user is not None
    assert calendar.grant(target.second_user, "reader").status == 200

    listed = as_second.list(maxResults=1)
    written = as_second.insert(timed_event("not allowed", day=700))

    assert listed.status == 200
    assert listed["accessRole"] == "reader"
    assert written.status == 403
    assert written.reason == "requiredAccessLevel"


@pytest.mark.second_user
@pytest.mark.unconfirmed(
    section="-",
    point="a freeBusyReader sees an event's times and status, not its summary",
    emulator="times and status only",
)
def test_a_free_busy_reader_sees_only_times(
    target: Target, calendar: Calendar, as_second: Calendar
) -> None:
    assert target.second_user is not None
    event = calendar.must_insert(timed_event("private title", day=701))
    assert calendar.grant(target.second_user, "freeBusyReader").status == 200

    listed, last = as_second.list_all(**window(701, 701))

    assert last["accessRole"] == "freeBusyReader"
    [seen] = [item for item in listed if item["id"] == event["id"]]
    assert "summary" not in seen
    assert seen["start"]["dateTime"].startswith(event["start"]["dateTime"][:16])


@pytest.mark.second_user
def test_a_user_without_a_role_sees_no_details(calendar: Calendar, as_second: Calendar) -> None:
    """404 (the emulator, and Google without sharing), or the free/busy view a Workspace domain
    may give everyone in it by default."""
    answer = as_second.list(maxResults=1)

    assert answer.status == 404 or answer["accessRole"] == "freeBusyReader", answer.body


@pytest.mark.second_user
def test_an_attendee_gets_a_copy_of_the_event_on_their_calendar(
    target: Target, calendar: Calendar
) -> None:
    assert target.second is not None
    assert target.second_user is not None
    theirs = Calendar(target.second, "primary")
    assert theirs.list(maxResults=1).status == 200  # (the emulator learns of their calendar)
    event = calendar.must_insert(
        timed_event("invitation", day=702, attendees=[{"email": target.second_user}])
    )

    copy = theirs.get(event["id"])
    for _ in range(10):  # Google may deliver the invitation a moment later
        if copy.status == 200:
            break
        time.sleep(1)
        copy = theirs.get(event["id"])

    assert copy.status == 200, copy.body
    assert copy["organizer"]["email"] == calendar.calendar_id
    assert copy["summary"] == "invitation"
    assert calendar.delete(event["id"]).status == 204  # the copy goes with it
