"""Conferences without an owner, and meetings handed to another user, through the whole local stack.

* First claimant (``CONFSYNC_OWNERLESS_POLICY``'s default): a conference created without an owner
  and put into Alice's own event is adopted (her title reaches it). Bob, enrolled, copies its
  ``conferenceData`` into an event of his own, edits and deletes it: nothing of it reaches the
  conferencing system (no PUT, no DELETE); Alice's later edit does (one PUT).
* The transfer: Alice moves her meeting with ``events.move`` to Bob's enrolled calendar (Bob gave
  her writer access). Once the delete grace has passed the conference is still active (no
  DELETE), and Bob's edit of the moved event is not followed (no PUT since the move).

The evidence is the conferencing emulator's request log (every PUT and DELETE) and ``confsync
status``. A calendar is known to have synced when a marker event of its own, renamed twice, shows
at the provider (:func:`tests.e2e.stack_steps.settle`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.e2e.stack_steps import (
    Adopted,
    adopted,
    conference_data_of,
    enrolled,
    move_as,
    sent_since,
    settle,
    status,
    wait_past_grace,
)
from tests.e2e.test_whole_stack import Stack, running_stack, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


@pytest.fixture(scope="module", name="two_users")
def two_users_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("ownerless")) as stack:
        yield stack


@dataclass(frozen=True)
class Users:
    """Alice's and Bob's enrolled calendars, each with a marker event of its own, both synced."""

    alice: str
    bob: str
    markers: dict[str, Adopted]


def _alice_and_bob(stack: Stack) -> Users:
    alice = enrolled(stack, "alice")
    bob = enrolled(stack, "bob")
    return Users(alice, bob, {cal: adopted(stack, cal, "Marker") for cal in (alice, bob)})


def _settle_all(stack: Stack, users: Users) -> None:
    for calendar_id in (users.bob, users.alice):
        settle(stack, calendar_id, users.markers[calendar_id])


def _methods(log: list[dict[str, Any]]) -> list[str]:
    return [r["method"] for r in log]


def _assert_conference(stack: Stack, conference_id: str, title: str) -> None:
    conference = stack.conference(conference_id)
    assert (conference["status"], conference["title"]) == ("active", title), conference


def _assert_calendars_clean(stack: Stack, users: Users) -> None:
    """Both calendars syncing, nothing pending, failed or held."""
    for calendar_id in (users.alice, users.bob):
        row = status(stack, calendar_id)
        assert (row["state"], row["pendingCount"], row["failedRecords"], row["heldDeletes"]) == (
            "active",
            0,
            0,
            0,
        ), row


def test_an_ownerless_conference_follows_its_first_claimant_only(two_users: Stack) -> None:
    stack = two_users
    users = _alice_and_bob(stack)

    conference = stack.create_conference(owner=None)
    conference_id = conference["id"]
    assert stack.conference(conference_id)["owner"] is None
    meeting = stack.insert_event(users.alice, conference, summary="Ownerless review")
    wait_for(
        lambda: stack.conference(conference_id)["title"] == "Ownerless review",
        "Alice's claim",
        timeout=30,
    )
    _settle_all(stack, users)
    mark = len(stack.provider_requests())

    copy = stack.insert(
        users.bob,
        {
            "summary": "Mine now",
            "start": {"dateTime": "2027-03-02T14:00:00Z"},
            "end": {"dateTime": "2027-03-02T15:00:00Z"},
            "conferenceData": conference_data_of(stack, users.alice, meeting["id"]),
        },
    )
    assert copy["organizer"]["email"] == users.bob
    assert copy["conferenceData"]["conferenceId"] == conference_id
    _settle_all(stack, users)
    assert sent_since(stack, mark, {conference_id}) == []
    _assert_conference(stack, conference_id, "Ownerless review")

    stack.patch_event(
        users.bob,
        copy["id"],
        summary="Mine now, moved",
        start={"dateTime": "2027-03-03T16:00:00Z"},
        end={"dateTime": "2027-03-03T17:30:00Z"},
    )
    _settle_all(stack, users)
    assert sent_since(stack, mark, {conference_id}) == []
    _assert_conference(stack, conference_id, "Ownerless review")

    stack.delete_event(users.bob, copy["id"])
    wait_past_grace(time.monotonic())
    _settle_all(stack, users)
    assert sent_since(stack, mark, {conference_id}) == []
    _assert_conference(stack, conference_id, "Ownerless review")
    _assert_calendars_clean(stack, users)

    stack.patch_event(users.alice, meeting["id"], summary="Ownerless review, Alice's")
    wait_for(
        lambda: stack.conference(conference_id)["title"] == "Ownerless review, Alice's",
        "Alice's edit",
        timeout=30,
    )
    _settle_all(stack, users)
    log = sent_since(stack, mark, {conference_id})
    assert _methods(log) == ["PUT"], log
    _assert_conference(stack, conference_id, "Ownerless review, Alice's")
    _assert_calendars_clean(stack, users)


def test_a_meeting_moved_to_another_user_is_kept_and_not_followed(two_users: Stack) -> None:
    stack = two_users
    users = _alice_and_bob(stack)
    stack.set_calendar_role(users.bob, users.alice, "writer")
    event_id, conference_id = adopted(stack, users.alice, "Handover")
    _settle_all(stack, users)
    mark = len(stack.provider_requests())

    moved = move_as(stack, users.alice, users.alice, event_id, users.bob)
    moved_at = time.monotonic()
    assert moved["id"] == event_id
    assert moved["organizer"]["email"] == users.bob
    assert moved["conferenceData"]["conferenceId"] == conference_id
    wait_past_grace(moved_at)
    _settle_all(stack, users)

    log = sent_since(stack, mark, {conference_id})
    assert "DELETE" not in _methods(log), log
    _assert_conference(stack, conference_id, "Handover")
    _assert_calendars_clean(stack, users)

    stack.patch_event(users.bob, event_id, summary="Handover, Bob's now")
    _settle_all(stack, users)
    log = sent_since(stack, mark, {conference_id})
    assert log == [], log
    _assert_conference(stack, conference_id, "Handover")
    _assert_calendars_clean(stack, users)
