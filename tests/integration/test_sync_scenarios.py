"""The sync runner end to end on emulators: each scenario is something a user does."""

from __future__ import annotations

import pytest

from .sync_stack import SyncStack

pytestmark = [pytest.mark.emulators, pytest.mark.timeout(60)]


def test_event_carrying_our_conference_sends_its_state(sync_stack: SyncStack) -> None:
    conference = sync_stack.create_conference()
    sync_stack.insert_event(conference, summary="Quarterly planning")

    outcome = sync_stack.sync()

    assert outcome.status == "synced"
    state = sync_stack.conference(conference["id"])
    assert state["title"] == "Quarterly planning"
    assert state["start"] == "2027-03-01T10:00:00Z"
    assert state["attendees"] == ["bob@example.com"]
    assert state["calendarId"] == sync_stack.calendar_id


def test_moving_the_meeting_updates_the_conference(sync_stack: SyncStack) -> None:
    conference = sync_stack.create_conference()
    event = sync_stack.insert_event(conference)
    sync_stack.sync()

    sync_stack.patch_event(
        event["id"],
        start={"dateTime": "2027-03-02T14:00:00Z"},
        end={"dateTime": "2027-03-02T15:00:00Z"},
    )
    sync_stack.sync()

    state = sync_stack.conference(conference["id"])
    assert (state["start"], state["end"]) == ("2027-03-02T14:00:00Z", "2027-03-02T15:00:00Z")
    last = sync_stack.provider_requests()[-1]
    assert last["outcome"] == "applied"
    assert set(last["changedFields"]) == {"start", "end"}


def test_deleting_the_event_deletes_the_conference(sync_stack: SyncStack) -> None:
    conference = sync_stack.create_conference()
    event = sync_stack.insert_event(conference)
    sync_stack.sync()

    sync_stack.delete_event(event["id"])
    sync_stack.sync()

    assert sync_stack.conference(conference["id"])["status"] == "deleted"
