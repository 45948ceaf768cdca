"""Ownership through the whole local stack: a conference changes only from its owner's events.

* The takeover: Bob, enrolled, copies the ``conferenceData`` of Alice's meeting into an event of
  his own (``conferenceDataVersion=1``, as anyone who saw it could), edits its title, times and
  guests, and deletes it. Nothing of it reaches the conferencing system; Alice's later edit does.
* The same conference on two enrolled users' calendars: Alice's event (she owns the conference)
  decides what it shows, whatever Bob's copy says before or after her edit.

The evidence is the conferencing emulator's request log (every PUT and DELETE). A calendar is
known to have synced when a marker event of its own, renamed twice, shows at the provider
(:func:`tests.e2e.stack_steps.settle`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.e2e.stack_steps import (
    Adopted,
    adopted,
    enrolled,
    new_user,
    sent_since,
    settle,
    status,
)
from tests.e2e.test_whole_stack import Stack, running_stack, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


@pytest.fixture(scope="module", name="owners")
def owners_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("ownership")) as stack:
        yield stack


@dataclass(frozen=True)
class Takeover:
    """Alice's meeting and Bob's event carrying a copy of its conference, both synced."""

    alice: str
    bob: str
    markers: dict[str, Adopted]
    meeting: Adopted  # Alice's event and her conference
    copy_id: str  # Bob's event
    mark: int  # the provider's log length before Bob's copy was made


def _conference_data(stack: Stack, calendar_id: str, event_id: str) -> dict[str, Any]:
    [event] = [e for e in stack.list_events(calendar_id) if e["id"] == event_id]
    data: dict[str, Any] = event["conferenceData"]
    return data


def _settle_all(stack: Stack, takeover: Takeover) -> None:
    for calendar_id in (takeover.bob, takeover.alice):
        settle(stack, calendar_id, takeover.markers[calendar_id])


def _bob_copies_alices_conference(stack: Stack) -> Takeover:
    alice = enrolled(stack, "alice")
    bob = enrolled(stack, "bob")
    markers = {cal: adopted(stack, cal, "Marker") for cal in (alice, bob)}
    meeting = adopted(stack, alice, "Design review")
    assert stack.conference(meeting[1])["owner"] == alice
    for cal in (alice, bob):
        settle(stack, cal, markers[cal])
    mark = len(stack.provider_requests())

    # Bob's own event (a request naming no user on his calendar acts as bob), Alice's conference.
    copy = stack.insert(
        bob,
        {
            "summary": "Mine now",
            "start": {"dateTime": "2027-03-02T14:00:00Z"},
            "end": {"dateTime": "2027-03-02T15:00:00Z"},
            "conferenceData": _conference_data(stack, alice, meeting[0]),
        },
    )
    assert copy["organizer"]["email"] == bob
    assert copy["conferenceData"]["conferenceId"] == meeting[1]
    takeover = Takeover(alice, bob, markers, meeting, copy["id"], mark)
    _settle_all(stack, takeover)
    return takeover


def _assert_untouched(stack: Stack, takeover: Takeover, title: str, sent: list[str]) -> None:
    """Since the copy was made the provider got exactly the methods ``sent`` for Alice's
    conference, which is active with ``title``; Bob's calendar is healthy, nothing pending."""
    conference_id = takeover.meeting[1]
    log = sent_since(stack, takeover.mark, {conference_id})
    assert [r["method"] for r in log] == sent, log
    conference = stack.conference(conference_id)
    assert (conference["status"], conference["title"]) == ("active", title), conference
    row = status(stack, takeover.bob)
    assert (row["state"], row["pendingCount"], row["failedRecords"], row["heldDeletes"]) == (
        "active",
        0,
        0,
        0,
    ), row


def test_a_copy_of_anothers_conference_is_never_sent_and_the_owners_edit_is(owners: Stack) -> None:
    stack = owners
    takeover = _bob_copies_alices_conference(stack)
    _assert_untouched(stack, takeover, "Design review", [])

    guest = new_user("guest")
    stack.patch_event(
        takeover.bob,
        takeover.copy_id,
        summary="Mine now, moved",
        start={"dateTime": "2027-03-03T16:00:00Z"},
        end={"dateTime": "2027-03-03T17:30:00Z"},
        attendees=[{"email": guest}],
    )
    _settle_all(stack, takeover)
    _assert_untouched(stack, takeover, "Design review", [])

    stack.delete_event(takeover.bob, takeover.copy_id)
    _settle_all(stack, takeover)
    _assert_untouched(stack, takeover, "Design review", [])

    stack.patch_event(takeover.alice, takeover.meeting[0], summary="Design review, moved")
    wait_for(
        lambda: stack.conference(takeover.meeting[1])["title"] == "Design review, moved",
        "Alice's edit",
        timeout=30,
    )
    _settle_all(stack, takeover)
    _assert_untouched(stack, takeover, "Design review, moved", ["PUT"])


def test_the_owners_event_decides_what_a_duplicated_conference_shows(owners: Stack) -> None:
    stack = owners
    takeover = _bob_copies_alices_conference(stack)

    stack.patch_event(takeover.alice, takeover.meeting[0], summary="Design review, Alice's")
    wait_for(
        lambda: stack.conference(takeover.meeting[1])["title"] == "Design review, Alice's",
        "Alice's edit",
        timeout=30,
    )
    _settle_all(stack, takeover)
    _assert_untouched(stack, takeover, "Design review, Alice's", ["PUT"])

    # Bob's copy changing afterwards does not win either.
    stack.patch_event(takeover.bob, takeover.copy_id, summary="Bob's, after Alice's edit")
    _settle_all(stack, takeover)
    _assert_untouched(stack, takeover, "Design review, Alice's", ["PUT"])
