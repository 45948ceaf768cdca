"""One owner, two enrolled calendars, through the whole local stack: a conference lives as long as
one of the owner's calendars carries it.

* The move: Alice moves her meeting from her primary calendar to her second calendar (a group
  calendar she owns, enrolled under her) with ``events.move``. The primary keeps only a tombstone,
  yet the conference stays active (no DELETE, even once the delete grace has passed) and a later
  edit of the meeting on the second calendar reaches it.
* The duplicate: the same conference's ``conferenceData`` is copied into an event on Alice's
  second calendar. Deleting the first copy keeps the conference (no DELETE after the grace);
  deleting the last one deletes it.

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
    secondary,
    sent_since,
    settle,
    status,
    wait_past_grace,
)
from tests.e2e.test_whole_stack import Stack, running_stack, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


@pytest.fixture(scope="module", name="owner_stack")
def owner_stack_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("moves")) as stack:
        yield stack


@dataclass(frozen=True)
class Owner:
    """Alice's primary calendar and her second calendar (enrolled under her), each with a
    marker event of its own, both synced."""

    alice: str
    team: str
    markers: dict[str, Adopted]


def _alice_with_two_calendars(stack: Stack) -> Owner:
    alice = enrolled(stack, "alice")
    team = secondary(stack, alice)
    markers = {
        alice: adopted(stack, alice, "Marker"),
        team: adopted(stack, team, "Marker", owner=alice),
    }
    return Owner(alice, team, markers)


def _settle_both(stack: Stack, owner: Owner) -> None:
    for calendar_id in (owner.alice, owner.team):
        settle(stack, calendar_id, owner.markers[calendar_id])


def _methods(log: list[dict[str, Any]]) -> list[str]:
    return [r["method"] for r in log]


def _assert_calendars_clean(stack: Stack, owner: Owner) -> None:
    """Both calendars syncing, nothing pending, failed or held."""
    for calendar_id in (owner.alice, owner.team):
        row = status(stack, calendar_id, subject=owner.alice)
        assert (row["state"], row["pendingCount"], row["failedRecords"], row["heldDeletes"]) == (
            "active",
            0,
            0,
            0,
        ), row


def test_a_move_to_the_owners_other_calendar_keeps_the_conference_and_it_follows_edits(
    owner_stack: Stack,
) -> None:
    stack = owner_stack
    owner = _alice_with_two_calendars(stack)
    event_id, conference_id = adopted(stack, owner.alice, "Quarterly planning")
    _settle_both(stack, owner)
    mark = len(stack.provider_requests())

    moved = move_as(stack, owner.alice, owner.alice, event_id, owner.team)
    moved_at = time.monotonic()
    assert moved["id"] == event_id
    assert moved["conferenceData"]["conferenceId"] == conference_id
    wait_past_grace(moved_at)
    _settle_both(stack, owner)

    log = sent_since(stack, mark, {conference_id})
    assert "DELETE" not in _methods(log), log
    conference = stack.conference(conference_id)
    assert (conference["status"], conference["title"]) == ("active", "Quarterly planning")
    _assert_calendars_clean(stack, owner)

    stack.patch_event(owner.team, event_id, summary="Quarterly planning, team calendar")
    wait_for(
        lambda: stack.conference(conference_id)["title"] == "Quarterly planning, team calendar",
        "the edit on the second calendar",
        timeout=30,
    )
    conference = stack.conference(conference_id)
    assert (conference["status"], conference["calendarId"]) == ("active", owner.team), conference
    assert "DELETE" not in _methods(sent_since(stack, mark, {conference_id}))


def test_a_duplicated_conference_lives_until_its_last_copy_is_deleted(owner_stack: Stack) -> None:
    stack = owner_stack
    owner = _alice_with_two_calendars(stack)
    event_id, conference_id = adopted(stack, owner.alice, "Weekly sync")

    # Alice's own event on her second calendar, the same conference (as copying it would).
    copy = stack.insert(
        owner.team,
        {
            "summary": "Weekly sync",
            "start": {"dateTime": "2027-03-01T10:00:00Z"},
            "end": {"dateTime": "2027-03-01T11:00:00Z"},
            "conferenceData": conference_data_of(stack, owner.alice, event_id),
        },
    )
    assert copy["conferenceData"]["conferenceId"] == conference_id
    _settle_both(stack, owner)
    mark = len(stack.provider_requests())

    stack.delete_event(owner.alice, event_id)
    deleted_at = time.monotonic()
    wait_past_grace(deleted_at)
    _settle_both(stack, owner)

    log = sent_since(stack, mark, {conference_id})
    assert "DELETE" not in _methods(log), log
    assert stack.conference(conference_id)["status"] == "active"
    _assert_calendars_clean(stack, owner)

    stack.delete_event(owner.team, copy["id"])
    wait_for(
        lambda: stack.conference(conference_id)["status"] == "deleted",
        "the last copy's deletion",
        timeout=30,
    )
    deletes = [r for r in sent_since(stack, mark, {conference_id}) if r["method"] == "DELETE"]
    assert [(r["status"], r["outcome"]) for r in deletes] == [(200, "applied")], deletes
    _settle_both(stack, owner)
    _assert_calendars_clean(stack, owner)
