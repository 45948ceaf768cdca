"""A sync process that dies between the conferencing system's answer and Firestore's save (of
the records on their own, or of the last page's records with the run's commit).

Pub/Sub redelivers the request and the run pulls again from the stored token, but the Calendar
collapses changes: an event changed and then deleted in between comes back as a bare tombstone,
which names no conference. Whatever the dead run sent must still be followed to the end.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

import pytest

from confsync.errors import StoreUnavailableError
from confsync.ports import CalendarStore, RecordStore
from confsync.records import ConferenceRecord
from tests.integration.test_sync_scenarios import new_requests
from tests.support.calendar_events import conference_data
from tests.support.sync_stack import SyncStack


class _Death:
    """The process's death: due at its first store write after the conferencing system was
    called (once)."""

    def __init__(self, stack: SyncStack) -> None:
        self._stack = stack
        self._before = len(stack.provider_requests())
        self.died = False

    def at_write(self) -> None:
        if not self.died and len(self._stack.provider_requests()) > self._before:
            self.died = True
            raise StoreUnavailableError("injected: the process died after the provider answered")


class _DiesAfterSending:
    """A record store whose first save after the conferencing system was called fails: the
    process dies between the provider's answer and the save that would record it."""

    def __init__(self, inner: RecordStore, death: _Death) -> None:
        self._inner = inner
        self._death = death

    def save(
        self, records: Iterable[ConferenceRecord], *args: Any, **kwargs: Any
    ) -> dict[str, str]:
        self._death.at_write()
        return self._inner.save(records, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _CommitDiesAfterSending:
    """A calendar store whose commit dies the same way: the last page's records, staged for the
    commit (one write with the token), are never written, nor is the token."""

    def __init__(self, inner: CalendarStore, death: _Death) -> None:
        self._inner = inner
        self._death = death

    def commit(self, *args: Any, **kwargs: Any) -> bool:
        self._death.at_write()
        return self._inner.commit(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _replace_conference(stack: SyncStack, event_id: str, title: str) -> dict[str, Any]:
    """The user picks a new conference for the event (the add-on creates it)."""
    new = stack.create_conference(title)
    stack.patch_event(event_id, conferenceData=conference_data(new["id"], join_url=new["joinUrl"]))
    return new


def _sync_dying_after_sending(stack: SyncStack) -> list[dict[str, Any]]:
    """A sync that dies right after the conferencing system answered; what it sent."""
    runner = stack.runner()
    death = _Death(stack)
    records = _DiesAfterSending(runner.ports.records, death)
    calendars = _CommitDiesAfterSending(runner.ports.calendar_store, death)
    dying = runner.with_ports(replace(runner.ports, records=records, calendar_store=calendars))
    before = len(stack.provider_requests())
    with pytest.raises(StoreUnavailableError):
        stack.sync(dying)
    assert death.died
    return new_requests(stack, before)


def test_a_conference_a_dead_run_adopted_is_deleted_when_its_event_is_deleted_meanwhile(
    sync_stack: SyncStack,
) -> None:
    first = sync_stack.create_conference("Planning")
    event = sync_stack.insert_event(first, summary="Planning")
    sync_stack.sync()
    second = _replace_conference(sync_stack, event["id"], "Planning, new room")

    sent = _sync_dying_after_sending(sync_stack)
    assert ("PUT", second["id"], "applied") in {
        (r["method"], r["conferenceId"], r["outcome"]) for r in sent
    }
    sync_stack.delete_event(event["id"])  # before Pub/Sub redelivers the request

    sync_stack.sync()

    assert sync_stack.conference(second["id"])["status"] == "deleted"
    assert sync_stack.conference(first["id"])["status"] == "deleted"
    sync_stack.assert_no_stale_operations()


def test_a_new_event_s_conference_a_dead_run_adopted_is_deleted_with_the_event(
    sync_stack: SyncStack,
) -> None:
    sync_stack.sync()
    conference = sync_stack.create_conference("Retro")
    event = sync_stack.insert_event(conference, summary="Retro")

    sent = _sync_dying_after_sending(sync_stack)
    assert [(r["method"], r["outcome"]) for r in sent] == [("PUT", "applied")]
    sync_stack.delete_event(event["id"])

    sync_stack.sync()

    assert sync_stack.conference(conference["id"])["status"] == "deleted"
    sync_stack.assert_no_stale_operations()


def test_a_conference_a_dead_run_adopted_is_recorded_when_its_event_stays(
    sync_stack: SyncStack,
) -> None:
    sync_stack.sync()
    conference = sync_stack.create_conference("Review")
    sync_stack.insert_event(conference, summary="Review")
    sent = _sync_dying_after_sending(sync_stack)
    applied = [r for r in sent if r["method"] == "PUT"]

    sync_stack.sync()

    assert sync_stack.conference(conference["id"])["title"] == "Review"
    later = [r for r in sync_stack.requests_for(conference["id"]) if r not in applied]
    assert all(r["outcome"] == "repeat" for r in later), later
    sync_stack.assert_no_stale_operations()


def test_an_edit_a_dead_run_sent_does_not_block_the_delete_when_its_event_is_deleted_meanwhile(
    sync_stack: SyncStack,
) -> None:
    conference = sync_stack.create_conference("Standup")
    event = sync_stack.insert_event(conference, summary="Standup")
    sync_stack.sync()
    sync_stack.patch_event(event["id"], summary="Standup, moved to the big room")

    sent = _sync_dying_after_sending(sync_stack)
    assert [(r["method"], r["outcome"]) for r in sent] == [("PUT", "applied")]
    sync_stack.delete_event(event["id"])  # before Pub/Sub redelivers the request

    sync_stack.sync()

    assert sync_stack.conference(conference["id"])["status"] == "deleted"
    # The record never learned the edit's revision: its first DELETE is refused as stale (the
    # one stale request this crash window costs), then sent again above the edit.
    edit, refused, deleted = [
        (r["method"], r["revision"], r["outcome"])
        for r in sync_stack.requests_for(conference["id"])
        if r["outcome"] != "repeat" and r["method"] != "GET"
    ][-3:]
    assert edit[0::2] == ("PUT", "applied")
    assert refused[0::2] == ("DELETE", "stale")
    assert deleted == ("DELETE", edit[1] + 1, "applied")
