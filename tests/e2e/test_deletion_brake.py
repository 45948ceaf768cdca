"""The deletion brake through the whole local stack: one sync that would delete 25 conferences of
a calendar (more than the default brake of 20) deletes none of them until an operator decides.

Alice's 25 events, each with its own conference, are adopted; then all 25 are deleted while the
Calendar emulator drops her calendar's push notifications, so that no sync sees a part of them.
One notification afterwards (a rename of her marker event) makes one sync see all 25 tombstones.
Nothing is deleted and ``confsync status`` counts 25 held deletes, until
``confsync release-deletes`` sends all 25 DELETEs, or ``--discard`` drops them and the conferences
stay. The evidence is the conferencing emulator's request log (every PUT and DELETE).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from devstack.client import conference_data
from tests.e2e.stack_steps import (
    Adopted,
    adopted,
    calendar_key_of,
    enrolled,
    notifications,
    rename,
    sent_since,
    settle,
    status,
)
from tests.e2e.test_whole_stack import Stack, running_stack, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

MEETINGS = 25  # more than CONFSYNC_DELETE_BRAKE's default of 20


@pytest.fixture(scope="module", name="braked")
def braked_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("brake")) as stack:
        yield stack


@dataclass(frozen=True)
class Held:
    """A calendar whose 25 meetings were deleted and whose deletes the brake holds."""

    calendar_id: str
    key: str
    marker: Adopted
    conference_ids: set[str]
    mark: int  # the provider's log length before the deletions


def _conferences(stack: Stack, ids: set[str]) -> dict[str, dict[str, object]]:
    return {c["id"]: c for c in stack.conferences() if c["id"] in ids}


def _statuses(stack: Stack, ids: set[str]) -> Counter[object]:
    return Counter(c["status"] for c in _conferences(stack, ids).values())


def _adopt_meetings(stack: Stack, calendar_id: str) -> dict[str, str]:
    """25 events of the calendar's user, each with a new conference of theirs, loaded at once
    and adopted by the sync; their conference ids by event id."""
    conferences = [stack.create_conference(owner=calendar_id) for _ in range(MEETINGS)]
    titles = {c["id"]: f"Meeting {n}" for n, c in enumerate(conferences)}
    stack.load_events(
        calendar_id,
        [
            {
                "summary": titles[c["id"]],
                "start": {"dateTime": f"2027-04-{n + 1:02d}T10:00:00Z"},
                "end": {"dateTime": f"2027-04-{n + 1:02d}T11:00:00Z"},
                "conferenceData": conference_data(c),
            }
            for n, c in enumerate(conferences)
        ],
    )
    wait_for(
        lambda: all(c["title"] == titles[i] for i, c in _conferences(stack, set(titles)).items()),
        "the 25 meetings adopted",
        timeout=30,
    )
    return {
        e["id"]: e["conferenceData"]["conferenceId"]
        for e in stack.list_events(calendar_id)
        if e.get("conferenceData", {}).get("conferenceId") in titles
    }


def _all_deleted_in_one_sync(stack: Stack, name: str) -> Held:
    """A new enrolled calendar whose 25 adopted meetings are deleted, seen by one sync only."""
    calendar_id = enrolled(stack, name)
    marker = adopted(stack, calendar_id, "Marker")
    meetings = _adopt_meetings(stack, calendar_id)
    assert len(meetings) == MEETINGS
    settle(stack, calendar_id, marker)  # no sync of the calendar is left to run
    mark = len(stack.provider_requests())

    dropped = notifications(stack, calendar_id, "dropped")
    stack.drop_notifications(calendar_id)
    try:
        for event_id in meetings:
            stack.delete_event(calendar_id, event_id)
        wait_for(
            lambda: notifications(stack, calendar_id, "dropped") >= dropped + MEETINGS,
            "the deletions' notifications dropped",
        )
    finally:
        stack.clear_faults()
    ids = set(meetings.values())
    assert sent_since(stack, mark, ids) == []

    # One notification: the sync it starts pulls the 25 tombstones with the marker's rename.
    rename(stack, calendar_id, marker, "Marker, after the deletions")
    wait_for(
        lambda: bool(sent_since(stack, mark, ids)) or status(stack, calendar_id)["heldDeletes"] > 0,
        "the deletes held (or sent)",
        timeout=30,
    )
    settle(stack, calendar_id, marker)
    return Held(calendar_id, calendar_key_of(calendar_id), marker, ids, mark)


def _assert_held(stack: Stack, held: Held) -> None:
    sent = sent_since(stack, held.mark, held.conference_ids)
    assert [r["method"] for r in sent] == [], sent
    assert _statuses(stack, held.conference_ids) == {"active": MEETINGS}
    row = status(stack, held.calendar_id)
    assert (row["state"], row["heldDeletes"], row["pendingCount"]) == ("active", MEETINGS, 0), row


def test_25_deletions_in_one_sync_are_all_held_until_released(braked: Stack) -> None:
    stack = braked
    held = _all_deleted_in_one_sync(stack, "alice")
    _assert_held(stack, held)

    answer = stack.confsync_json("release-deletes", "--calendar-key", held.key, "--json")

    assert answer["released"] == MEETINGS, answer
    wait_for(
        lambda: _statuses(stack, held.conference_ids) == {"deleted": MEETINGS},
        "the 25 conferences deleted",
        timeout=30,
    )
    sent = sent_since(stack, held.mark, held.conference_ids)
    assert Counter((r["method"], r["conferenceId"]) for r in sent) == {
        ("DELETE", c): 1 for c in held.conference_ids
    }, sent
    assert {r["outcome"] for r in sent} == {"applied"}, sent
    wait_for(lambda: status(stack, held.calendar_id)["pendingCount"] == 0, "the deletes done", 30)
    row = status(stack, held.calendar_id)
    assert (row["state"], row["heldDeletes"], row["pendingCount"]) == ("active", 0, 0), row


def test_held_deletions_discarded_leave_every_conference(braked: Stack) -> None:
    stack = braked
    held = _all_deleted_in_one_sync(stack, "carol")
    _assert_held(stack, held)

    answer = stack.confsync_json(
        "release-deletes", "--calendar-key", held.key, "--discard", "--json"
    )

    assert answer["discarded"] == MEETINGS, answer
    settle(stack, held.calendar_id, held.marker)  # the sync the command requested has nothing
    assert sent_since(stack, held.mark, held.conference_ids) == []
    assert _statuses(stack, held.conference_ids) == {"active": MEETINGS}
    row = status(stack, held.calendar_id)
    assert (row["state"], row["heldDeletes"], row["pendingCount"]) == ("active", 0, 0), row
