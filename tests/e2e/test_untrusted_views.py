"""Untrusted views of a calendar through the whole local stack: nothing reaches the conferencing
system that a partial or foreign view of a calendar would cause.

* A calendar whose own user is downgraded (free/busy on a full sync after a 410, reader on an
  incremental one) is disconnected with the reason ``access_role``: no PUT and no DELETE, and
  after the role is restored and the calendar re-enrolled, the changes made meanwhile arrive.
* An attendee's copy of an invitation (same event id on their calendar) is not theirs: deleting
  it or answering the invitation sends nothing.

The evidence is the conferencing emulator's request log (every PUT and DELETE). A sync is known to
have run by a public signal: the calendar's ``confsync status`` (disconnected), or a marker event
of the calendar's own whose renames reach the conferencing system
(:func:`tests.e2e.stack_steps.settle`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.stack_steps import adopted, enrolled, new_user, sent_since, settle, status
from tests.e2e.test_whole_stack import Stack, running_stack, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


@pytest.fixture(scope="module", name="untrusted")
def untrusted_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("untrusted")) as stack:
        yield stack


def _patch_as(stack: Stack, user: str, calendar_id: str, event_id: str, **fields: Any) -> None:
    """``events.patch`` of ``fields`` made by ``user`` (``Authorization: Bearer user:<email>``)."""
    stack.http.patch(
        f"{stack.calendar}/calendar/v3/calendars/{calendar_id}/events/{event_id}",
        headers={"Authorization": f"Bearer user:{user}"},
        json=fields,
        timeout=stack.timeout,
    ).raise_for_status()


def _disconnected_or_sent(
    stack: Stack, calendar_id: str, mark: int, conference_ids: set[str]
) -> None:
    """Wait until the sync has disconnected the calendar, or has sent something (which the caller
    then refuses with the requests in its message)."""
    wait_for(
        lambda: (
            bool(sent_since(stack, mark, conference_ids))
            or status(stack, calendar_id)["state"] == "disconnected"
        ),
        "the calendar to be disconnected",
        timeout=30,
    )


def _assert_disconnected_for_access_role(stack: Stack, calendar_id: str) -> dict[str, Any]:
    row = status(stack, calendar_id)
    assert row["state"] == "disconnected", row
    assert str(row["lastOutcome"]).startswith("access_role"), row
    return row


def _reenroll(stack: Stack, calendar_id: str) -> None:
    """What the operator does once the role is restored: `confsync enroll`, waiting until ready."""
    answer = stack.confsync_json(
        "enroll", "--subject", calendar_id, "--calendar", calendar_id, "--wait", "30", "--json"
    )
    assert answer["ready"] is True, answer
    assert answer["status"]["state"] == "active", answer


def test_a_calendar_downgraded_to_free_busy_deletes_nothing(untrusted: Stack) -> None:
    stack = untrusted
    alice = enrolled(stack, "alice")
    first = adopted(stack, alice, "Planning")
    second = adopted(stack, alice, "Review")
    ours = {first[1], second[1]}
    # A delegate keeps writer access, so the calendar still changes while alice sees free/busy.
    assistant = new_user("assistant")
    stack.set_calendar_role(alice, assistant, "writer")
    mark = len(stack.provider_requests())

    # The stack's requests name no user: they act as alice, who now sees times only.
    stack.set_calendar_role(alice, alice, "freeBusyReader")
    stack.invalidate_sync_tokens(alice)  # the next pull gets 410, then lists in full
    _patch_as(stack, assistant, alice, first[0], summary="Planning (assistant)")
    _disconnected_or_sent(stack, alice, mark, ours)

    assert sent_since(stack, mark, ours) == []
    _assert_disconnected_for_access_role(stack, alice)
    assert all(stack.conference(c)["status"] == "active" for c in ours)

    stack.set_calendar_role(alice, alice, "owner")
    _reenroll(stack, alice)
    stack.patch_event(alice, second[0], summary="Review (after the restore)")

    wait_for(
        lambda: stack.conference(second[1])["title"] == "Review (after the restore)",
        "the edit after the restore",
    )
    wait_for(  # the full sync after the 410 also brings the change made while downgraded
        lambda: stack.conference(first[1])["title"] == "Planning (assistant)",
        "the delegate's edit",
    )
    sent = sent_since(stack, mark, ours)
    assert [r["method"] for r in sent if r["conferenceId"] == second[1]] == ["PUT"], sent
    assert all(r["method"] == "PUT" for r in sent), sent
    assert all(stack.conference(c)["status"] == "active" for c in ours)


def test_a_calendar_downgraded_to_reader_sends_nothing_and_keeps_its_token(
    untrusted: Stack,
) -> None:
    stack = untrusted
    alice = enrolled(stack, "alice")
    event_id, conference_id = adopted(stack, alice, "Retro")
    assistant = new_user("assistant")
    stack.set_calendar_role(alice, assistant, "writer")
    mark = len(stack.provider_requests())

    stack.set_calendar_role(alice, alice, "reader")  # sees everything, may write nothing
    _patch_as(stack, assistant, alice, event_id, summary="Retro (while reader)")
    _disconnected_or_sent(stack, alice, mark, {conference_id})

    assert sent_since(stack, mark, {conference_id}) == []
    row = _assert_disconnected_for_access_role(stack, alice)
    assert row["syncToken"] is True
    assert stack.conference(conference_id)["title"] == "Retro"

    stack.set_calendar_role(alice, alice, "owner")
    _reenroll(stack, alice)

    # An incremental pull from the token kept before the downgrade: the rename is still in it.
    wait_for(
        lambda: stack.conference(conference_id)["title"] == "Retro (while reader)",
        "the change made while downgraded",
    )
    sent = sent_since(stack, mark, {conference_id})
    assert [r["method"] for r in sent] == ["PUT"], sent
    assert stack.conference(conference_id)["status"] == "active"


def _alice_invites_bob(
    stack: Stack,
) -> tuple[str, str, dict[str, tuple[str, str]], tuple[str, str]]:
    """Alice and Bob enrolled, each with a marker event (``markers`` by calendar id); alice's
    event with its conference invites bob and his calendar holds the copy (same id), and every
    sync that caused has run. Answers alice, bob, the markers, and the invitation's event id and
    conference id."""
    alice = enrolled(stack, "alice")
    bob = enrolled(stack, "bob")
    markers = {cal: adopted(stack, cal, "Marker") for cal in (alice, bob)}
    invitation = adopted(stack, alice, "Design review", attendees=[{"email": bob}])
    wait_for(
        lambda: any(e["id"] == invitation[0] for e in stack.list_events(bob)),
        "bob's copy of the invitation",
    )
    for cal in (alice, bob):
        settle(stack, cal, markers[cal])
    return alice, bob, markers, invitation


def _copy(stack: Stack, calendar_id: str, event_id: str) -> dict[str, Any]:
    [event] = [e for e in stack.list_events(calendar_id, show_deleted=True) if e["id"] == event_id]
    return event


def test_an_attendee_deleting_their_copy_changes_nothing(untrusted: Stack) -> None:
    stack = untrusted
    alice, bob, markers, (event_id, conference_id) = _alice_invites_bob(stack)
    mark = len(stack.provider_requests())

    stack.delete_event(bob, event_id)  # a request naming no user, on bob's calendar: bob
    assert _copy(stack, bob, event_id)["status"] == "cancelled"
    assert _copy(stack, alice, event_id)["status"] == "confirmed"  # the organizer's event
    for cal in (bob, alice):
        settle(stack, cal, markers[cal])

    assert sent_since(stack, mark, {conference_id}) == []
    conference = stack.conference(conference_id)
    assert (conference["status"], conference["title"]) == ("active", "Design review")
    row = status(stack, bob)
    assert (row["state"], row["heldDeletes"], row["pendingCount"]) == ("active", 0, 0), row


def test_an_attendee_answering_the_invitation_sends_nothing(untrusted: Stack) -> None:
    stack = untrusted
    alice, bob, markers, (event_id, conference_id) = _alice_invites_bob(stack)
    mark = len(stack.provider_requests())

    attendees = _copy(stack, bob, event_id)["attendees"]
    answered = [{**a, "responseStatus": "accepted"} if a["email"] == bob else a for a in attendees]
    stack.patch_event(bob, event_id, attendees=answered)
    # The answer is written to the organizer's event, so both calendars change.
    [mine] = [a for a in _copy(stack, alice, event_id)["attendees"] if a["email"] == bob]
    assert mine["responseStatus"] == "accepted"
    for cal in (bob, alice):
        settle(stack, cal, markers[cal])

    assert sent_since(stack, mark, {conference_id}) == []
    conference = stack.conference(conference_id)
    assert (conference["status"], conference["title"]) == ("active", "Design review")
