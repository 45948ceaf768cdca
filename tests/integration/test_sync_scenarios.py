"""The sync runner end to end on emulators: each scenario is something a user does.

Every scenario ends with ``sync_stack.assert_no_stale_operations()``: invariant 5 (no operation is
applied with an older revision than one already applied) must hold whatever the scenario did.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pytest

from confsync.adapters.firestore_fields import DELETE_FIELD
from confsync.adapters.firestore_store import pointer_key
from confsync.calendars import CalendarDoc, calendar_key
from confsync.cli.deletes import settle_held_deletes
from confsync.errors import CalendarUnavailableError, StoreUnavailableError
from confsync.legacy_records import LegacyRecord
from confsync.legacy_records import record_key as legacy_key
from confsync.legacy_records import to_document as legacy_document
from confsync.messages import SyncRequest
from confsync.ports import CalendarClient, CalendarClientFactory, CalendarStore, EventPage
from confsync.records import conference_key
from confsync.sync import SyncOutcome, SyncRunner
from tests.support.calendar_events import conference_data
from tests.support.sync_stack import SyncStack, new_calendar_id

pytestmark = [pytest.mark.emulators, pytest.mark.timeout(60)]


# --- helpers -------------------------------------------------------------------------------------


def wait_until(predicate: Callable[[], bool], *, timeout: float, interval: float = 0.1) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` seconds pass (a bounded poll)."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def instant(text: str) -> datetime:
    """An RFC3339 date-time as an aware datetime, so ``Z`` and ``+01:00`` forms compare."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def video_uri(event: Mapping[str, Any]) -> str | None:
    for entry in event.get("conferenceData", {}).get("entryPoints", []):
        if entry.get("entryPointType") == "video":
            uri: str = entry["uri"]
            return uri
    return None


class FlakyCommit:
    """A calendar store whose first ``commit`` fails: the process dies after the provider calls,
    before the commit that writes the token with the last page's records (staged for it)."""

    def __init__(self, inner: CalendarStore) -> None:
        self._inner = inner
        self.failed = False

    def commit(self, *args: Any, **kwargs: Any) -> bool:
        if not self.failed:
            self.failed = True
            raise StoreUnavailableError("injected: Firestore went away at the commit")
        return self._inner.commit(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class HookedCalendarClient:
    """A Calendar client that runs ``before_patch`` once, just before the first write-back (to
    ``event_id`` only, when given)."""

    def __init__(
        self, inner: CalendarClient, before_patch: Callable[[], None], event_id: str | None = None
    ) -> None:
        self._inner = inner
        self._before_patch: Callable[[], None] | None = before_patch
        self._event_id = event_id

    def list_page(
        self,
        calendar_id: str,
        *,
        sync_token: str | None,
        page_token: str | None,
        time_min: datetime | None,
    ) -> EventPage:
        return self._inner.list_page(
            calendar_id, sync_token=sync_token, page_token=page_token, time_min=time_min
        )

    def get_event(self, calendar_id: str, event_id: str) -> Mapping[str, Any] | None:
        return self._inner.get_event(calendar_id, event_id)

    def list_series(self, calendar_id: str, ical_uid: str) -> tuple[Mapping[str, Any], ...]:
        return self._inner.list_series(calendar_id, ical_uid)

    def list_changed(self, calendar_id: str, since: datetime) -> tuple[Mapping[str, Any], ...]:
        return self._inner.list_changed(calendar_id, since)

    def patch_conference_data(
        self, calendar_id: str, event_id: str, etag: str, conference_data: Mapping[str, Any]
    ) -> Mapping[str, Any]:
        if self._event_id in (None, event_id):
            hook, self._before_patch = self._before_patch, None
            if hook is not None:
                hook()
        return self._inner.patch_conference_data(calendar_id, event_id, etag, conference_data)


class HookedCalendarFactory:
    def __init__(
        self,
        inner: CalendarClientFactory,
        before_patch: Callable[[], None],
        event_id: str | None = None,
    ) -> None:
        self._inner = inner
        self._before_patch = before_patch
        self._event_id = event_id

    def for_subject(self, subject: str) -> CalendarClient:
        return HookedCalendarClient(
            self._inner.for_subject(subject), self._before_patch, self._event_id
        )


def new_requests(sync_stack: SyncStack, since: int) -> list[dict[str, Any]]:
    return sync_stack.provider_requests()[since:]


def weekly_series(sync_stack: SyncStack) -> tuple[dict[str, Any], Any, list[dict[str, Any]]]:
    """A weekly series (5 occurrences, start.timeZone set) carrying our conference, synced."""
    conference = sync_stack.create_conference()
    series = sync_stack.insert_event(
        conference, summary="Weekly sync", recurrence=["RRULE:FREQ=WEEKLY;COUNT=5"]
    )
    sync_stack.sync()
    instances = sync_stack.instances(series["id"])
    assert len(instances) == 5
    return conference, series, instances


# --- the scenarios -------------------------------------------------------------------------------


def _two_events_sharing_a_conference(stack: SyncStack) -> tuple[Any, Any, Any]:
    """A conference attached to two events a week apart: (conference, first, second)."""
    conference = stack.create_conference()
    first = stack.insert_event(conference, summary="Kick-off")
    second = stack.insert_event(
        conference,
        summary="Follow-up",
        start={"dateTime": "2027-03-08T10:00:00Z", "timeZone": "Europe/Paris"},
        end={"dateTime": "2027-03-08T11:00:00Z", "timeZone": "Europe/Paris"},
    )
    return conference, first, second


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
    sync_stack.assert_no_stale_operations()


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
    sync_stack.assert_no_stale_operations()


def test_deleting_the_event_deletes_the_conference(sync_stack: SyncStack) -> None:
    conference = sync_stack.create_conference()
    event = sync_stack.insert_event(conference)
    sync_stack.sync()

    sync_stack.delete_event(event["id"])
    sync_stack.sync()

    assert sync_stack.conference(conference["id"])["status"] == "deleted"
    sync_stack.assert_no_stale_operations()


def test_renaming_the_meeting_sends_only_the_title(sync_stack: SyncStack) -> None:
    conference = sync_stack.create_conference()
    event = sync_stack.insert_event(conference)
    sync_stack.sync()
    before = len(sync_stack.provider_requests())

    sync_stack.patch_event(event["id"], summary="Planning, renamed")
    sync_stack.sync()

    sent = new_requests(sync_stack, before)
    assert [(r["method"], r["outcome"], r["changedFields"]) for r in sent] == [
        ("PUT", "applied", ["title"])
    ]
    assert sync_stack.conference(conference["id"])["title"] == "Planning, renamed"
    sync_stack.assert_no_stale_operations()


def test_inviting_a_guest_sends_only_the_attendees(sync_stack: SyncStack) -> None:
    conference = sync_stack.create_conference()
    event = sync_stack.insert_event(conference)
    sync_stack.sync()
    before = len(sync_stack.provider_requests())

    sync_stack.patch_event(
        event["id"], attendees=[{"email": "bob@example.com"}, {"email": "carol@example.com"}]
    )
    sync_stack.sync()

    sent = new_requests(sync_stack, before)
    assert [(r["method"], r["outcome"], r["changedFields"]) for r in sent] == [
        ("PUT", "applied", ["attendees"])
    ]
    state = sync_stack.conference(conference["id"])
    assert sorted(state["attendees"]) == ["bob@example.com", "carol@example.com"]
    sync_stack.assert_no_stale_operations()


@pytest.mark.parametrize(
    "edit",
    [
        {"colorId": "5"},
        {"reminders": {"useDefault": False, "overrides": [{"method": "popup", "minutes": 5}]}},
    ],
    ids=["colour", "reminders"],
)
def test_irrelevant_edit_sends_nothing(sync_stack: SyncStack, edit: dict[str, Any]) -> None:
    conference = sync_stack.create_conference()
    event = sync_stack.insert_event(conference)
    sync_stack.sync()
    before = sync_stack.provider_requests()

    sync_stack.patch_event(event["id"], **edit)
    outcome = sync_stack.sync()

    assert outcome.status == "synced"
    assert outcome.stats.events == 1  # the edit was seen ...
    assert sync_stack.provider_requests() == before  # ... and nothing was sent
    sync_stack.assert_no_stale_operations()


@pytest.mark.parametrize("how", ["patch-null", "update-without"])
def test_removing_the_conference_from_the_event_deletes_it(sync_stack: SyncStack, how: str) -> None:
    conference = sync_stack.create_conference()
    event = sync_stack.insert_event(conference)
    sync_stack.sync()

    if how == "patch-null":
        sync_stack.patch_event(event["id"], conferenceData=None)
    else:
        body = dict(sync_stack.get_event(event["id"]))
        del body["conferenceData"]
        sync_stack.update_event(event["id"], body)
    assert "conferenceData" not in sync_stack.get_event(event["id"])
    sync_stack.sync()

    assert sync_stack.conference(conference["id"])["status"] == "deleted"
    last = sync_stack.requests_for(conference["id"])[-1]
    assert (last["method"], last["outcome"]) == ("DELETE", "applied")
    sync_stack.assert_no_stale_operations()


def test_replacing_the_conference_deletes_the_old_and_adopts_the_new(
    sync_stack: SyncStack,
) -> None:
    old = sync_stack.create_conference()
    new = sync_stack.create_conference()
    event = sync_stack.insert_event(old, summary="Design review")
    sync_stack.sync()

    sync_stack.patch_event(
        event["id"], conferenceData=conference_data(new["id"], join_url=new["joinUrl"])
    )
    sync_stack.sync()

    assert sync_stack.conference(old["id"])["status"] == "deleted"
    adopted = sync_stack.conference(new["id"])
    assert adopted["status"] == "active"
    assert adopted["title"] == "Design review"
    assert adopted["eventId"] == event["id"]
    assert adopted["start"] == "2027-03-01T10:00:00Z"
    assert [(r["method"], r["outcome"]) for r in sync_stack.requests_for(new["id"])] == [
        ("PUT", "applied")
    ]
    sync_stack.assert_no_stale_operations()


def test_shared_conference_is_deleted_with_its_last_event(sync_stack: SyncStack) -> None:
    conference, first, second = _two_events_sharing_a_conference(sync_stack)
    sync_stack.sync()

    sync_stack.delete_event(first["id"])
    sync_stack.sync()

    kept = sync_stack.conference(conference["id"])
    assert kept["status"] == "active"
    assert kept["eventId"] == second["id"]
    assert "DELETE" not in [r["method"] for r in sync_stack.requests_for(conference["id"])]

    sync_stack.delete_event(second["id"])
    sync_stack.sync()

    assert sync_stack.conference(conference["id"])["status"] == "deleted"
    sync_stack.assert_no_stale_operations()


def test_moving_one_occurrence_updates_the_series_conference(sync_stack: SyncStack) -> None:
    conference, _series, instances = weekly_series(sync_stack)
    moved = instances[1]
    before = len(sync_stack.provider_requests())

    sync_stack.patch_event(
        moved["id"],
        start={"dateTime": "2027-03-08T15:00:00Z"},
        end={"dateTime": "2027-03-08T16:00:00Z"},
    )
    sync_stack.sync()

    sent = new_requests(sync_stack, before)
    assert [(r["method"], r["outcome"]) for r in sent] == [("PUT", "applied")]
    assert "modifiedOccurrences" in sent[0]["changedFields"]
    state = sync_stack.conference(conference["id"])
    assert state["status"] == "active"
    assert state["start"] == "2027-03-01T10:00:00Z"  # the series itself did not move
    assert state["recurrence"] == ["RRULE:FREQ=WEEKLY;COUNT=5"]
    assert state["timeZone"] == "Europe/Paris"
    assert len(state["modifiedOccurrences"]) == 1
    occurrence = state["modifiedOccurrences"][0]
    assert instant(occurrence["originalStart"]) == instant(moved["originalStartTime"]["dateTime"])
    assert instant(occurrence["start"]) == instant("2027-03-08T15:00:00Z")
    assert instant(occurrence["end"]) == instant("2027-03-08T16:00:00Z")
    sync_stack.assert_no_stale_operations()


def test_cancelling_one_occurrence_keeps_the_series_conference(sync_stack: SyncStack) -> None:
    conference, _series, instances = weekly_series(sync_stack)
    cancelled = instances[2]
    before = len(sync_stack.provider_requests())

    sync_stack.delete_event(cancelled["id"])
    sync_stack.sync()

    sent = new_requests(sync_stack, before)
    assert [(r["method"], r["outcome"]) for r in sent] == [("PUT", "applied")]
    assert "cancelledOccurrences" in sent[0]["changedFields"]
    state = sync_stack.conference(conference["id"])
    assert state["status"] == "active"
    assert [instant(t) for t in state["cancelledOccurrences"]] == [
        instant(cancelled["originalStartTime"]["dateTime"])
    ]
    sync_stack.assert_no_stale_operations()


def test_deleting_the_series_deletes_its_conference(sync_stack: SyncStack) -> None:
    conference, series, instances = weekly_series(sync_stack)
    # One occurrence moved and one cancelled first (exception objects), then the whole series.
    sync_stack.patch_event(instances[1]["id"], summary="Weekly sync (special edition)")
    sync_stack.delete_event(instances[3]["id"])
    sync_stack.sync()
    assert sync_stack.conference(conference["id"])["status"] == "active"

    sync_stack.delete_event(series["id"])
    sync_stack.sync()

    assert sync_stack.conference(conference["id"])["status"] == "deleted"
    last = sync_stack.requests_for(conference["id"])[-1]
    assert (last["method"], last["outcome"]) == ("DELETE", "applied")
    sync_stack.assert_no_stale_operations()


def test_deletions_while_the_token_was_invalid_are_reconciled_by_a_full_sync(
    sync_stack: SyncStack,
) -> None:
    conferences = [sync_stack.create_conference(f"Meeting {n}") for n in range(3)]
    events = [sync_stack.insert_event(c, summary=f"Meeting {n}") for n, c in enumerate(conferences)]
    sync_stack.sync()
    untouched = sync_stack.requests_for(conferences[2]["id"])

    sync_stack.delete_event(events[0]["id"])
    sync_stack.delete_event(events[1]["id"])
    sync_stack.invalidate_sync_tokens()
    outcome = sync_stack.sync()

    assert outcome.status == "synced"
    assert outcome.stats.full_sync
    assert outcome.stats.reconciled == 2
    assert sync_stack.conference(conferences[0]["id"])["status"] == "deleted"
    assert sync_stack.conference(conferences[1]["id"])["status"] == "deleted"
    assert sync_stack.conference(conferences[2]["id"])["status"] == "active"
    assert sync_stack.requests_for(conferences[2]["id"]) == untouched
    sync_stack.assert_no_stale_operations()


def test_occurrence_changes_while_the_token_was_invalid_are_seen_by_the_full_sync(
    sync_stack: SyncStack,
) -> None:
    conference, _series, instances = weekly_series(sync_stack)

    sync_stack.delete_event(instances[2]["id"])
    sync_stack.patch_event(instances[4]["id"], summary="Weekly sync (last one)")
    sync_stack.invalidate_sync_tokens()
    outcome = sync_stack.sync()

    assert outcome.stats.full_sync
    state = sync_stack.conference(conference["id"])
    assert state["status"] == "active"
    assert [instant(t) for t in state["cancelledOccurrences"]] == [
        instant(instances[2]["originalStartTime"]["dateTime"])
    ]
    assert [o["title"] for o in state["modifiedOccurrences"]] == ["Weekly sync (last one)"]
    sync_stack.assert_no_stale_operations()


def test_deletion_of_one_sharing_event_while_the_token_was_invalid_keeps_the_conference(
    sync_stack: SyncStack,
) -> None:
    conference, first, second = _two_events_sharing_a_conference(sync_stack)
    sync_stack.sync()

    sync_stack.delete_event(first["id"])
    sync_stack.invalidate_sync_tokens()
    outcome = sync_stack.sync()

    assert outcome.stats.full_sync
    assert outcome.stats.reconciled == 1
    state = sync_stack.conference(conference["id"])
    assert state["status"] == "active"
    assert state["eventId"] == second["id"]
    sync_stack.assert_no_stale_operations()


def set_calendar_role(sync_stack: SyncStack, role: str | None) -> None:
    """The calendar's own user (whom the runner acts as) sees it through ``role`` from now on, set
    in the Calendar emulator's ACL; None restores the default (``owner``)."""
    url = (
        f"{sync_stack.calendar_server.base_url}/emulator/v1/calendars/"
        f"{quote(sync_stack.calendar_id)}/acl/{quote(sync_stack.calendar_id)}"
    )
    if role is None:
        sync_stack.http.delete(url, timeout=10).raise_for_status()
    else:
        sync_stack.http.put(url, json={"role": role}, timeout=10).raise_for_status()


def test_free_busy_view_after_a_410_deletes_nothing_and_disconnects_until_enrolled_again(
    sync_stack: SyncStack,
) -> None:
    conferences = [sync_stack.create_conference(f"Meeting {n}") for n in range(2)]
    for n, conference in enumerate(conferences):
        sync_stack.insert_event(conference, summary=f"Meeting {n}")
    sync_stack.sync()
    before = sync_stack.calendars.get(sync_stack.key)
    assert before is not None
    sent = sync_stack.provider_requests()

    set_calendar_role(sync_stack, "freeBusyReader")  # listed without conferenceData from now on
    sync_stack.invalidate_sync_tokens()
    outcome = sync_stack.sync()

    assert outcome.status == "disconnected"
    assert sync_stack.provider_requests() == sent  # nothing deleted, nothing sent
    assert all(sync_stack.conference(c["id"])["status"] == "active" for c in conferences)
    doc = sync_stack.calendars.get(sync_stack.key)
    assert doc is not None
    assert doc.state == "disconnected"
    assert (doc.last_outcome or "").startswith("access_role")
    assert "freeBusyReader" in (doc.last_outcome or "")
    assert doc.sync_token == before.sync_token
    assert doc.lease_owner is None

    set_calendar_role(sync_stack, None)
    sync_stack.calendars.set_state(  # what enrollment does to a known calendar
        sync_stack.key, "active", now=datetime.now(UTC), outcome="enrolled"
    )
    outcome = sync_stack.sync()

    assert outcome.status == "synced"
    assert outcome.stats.full_sync  # the token was invalidated meanwhile
    assert sync_stack.provider_requests() == sent  # the full sync found every conference again
    assert all(sync_stack.conference(c["id"])["status"] == "active" for c in conferences)
    sync_stack.assert_no_stale_operations()


def test_reader_view_on_an_incremental_sync_sends_nothing_and_keeps_the_token(
    sync_stack: SyncStack,
) -> None:
    conference = sync_stack.create_conference()
    event = sync_stack.insert_event(conference)
    sync_stack.sync()
    before = sync_stack.calendars.get(sync_stack.key)
    assert before is not None
    sync_stack.patch_event(event["id"], summary="Renamed while shared read-only")

    set_calendar_role(sync_stack, "reader")
    outcome = sync_stack.sync()

    assert outcome.status == "disconnected"
    assert not outcome.stats.full_sync
    assert sync_stack.conference(conference["id"])["title"] == "Planning"
    doc = sync_stack.calendars.get(sync_stack.key)
    assert doc is not None
    assert doc.sync_token == before.sync_token
    assert (doc.last_outcome or "").startswith("access_role")

    set_calendar_role(sync_stack, "writer")
    sync_stack.calendars.set_state(
        sync_stack.key, "active", now=datetime.now(UTC), outcome="enrolled"
    )

    assert sync_stack.sync().status == "synced"
    assert sync_stack.conference(conference["id"])["title"] == "Renamed while shared read-only"
    sync_stack.assert_no_stale_operations()


@pytest.mark.parametrize(
    "fault",
    [
        {
            "method": "calendar.events.list",
            "status": 429,
            "reason": "rateLimitExceeded",
            "count": 2,
        },
        {"method": "calendar.events.list", "status": 503, "count": 2},
    ],
    ids=["429-rate-limit", "503"],
)
def test_calendar_rate_limits_and_outages_are_retried_within_the_run(
    sync_stack: SyncStack, fault: dict[str, Any]
) -> None:
    conference = sync_stack.create_conference()
    event = sync_stack.insert_event(conference)
    sync_stack.sync()
    sync_stack.patch_event(event["id"], summary="Renamed while Calendar struggles")
    lists_before = sync_stack.calendar_calls().get("calendar.events.list", 0)

    sync_stack.calendar_faults(fault)
    started = time.monotonic()
    outcome = sync_stack.sync()
    elapsed = time.monotonic() - started

    assert outcome.status == "synced"
    assert sync_stack.calendar_calls()["calendar.events.list"] == lists_before + 3
    assert sync_stack.conference(conference["id"])["title"] == "Renamed while Calendar struggles"
    assert elapsed < 3.0, f"the Calendar backoff made one sync take {elapsed:.1f} s"
    sync_stack.assert_no_stale_operations()


def test_calendar_outage_beyond_the_retries_loses_nothing(sync_stack: SyncStack) -> None:
    conference = sync_stack.create_conference()
    event = sync_stack.insert_event(conference)
    sync_stack.sync()
    sync_stack.patch_event(event["id"], summary="Renamed during the outage")
    token = sync_stack.calendars.get(sync_stack.key)
    assert token is not None

    sync_stack.calendar_faults({"method": "calendar.events.list", "status": 503, "count": 3})
    with pytest.raises(CalendarUnavailableError):
        sync_stack.sync()

    doc = sync_stack.calendars.get(sync_stack.key)
    assert doc is not None
    assert doc.lease_owner is None
    assert doc.sync_token == token.sync_token
    assert sync_stack.conference(conference["id"])["title"] == "Planning"

    outcome = sync_stack.sync()  # Pub/Sub redelivers

    assert outcome.status == "synced"
    assert sync_stack.conference(conference["id"])["title"] == "Renamed during the outage"
    sync_stack.assert_no_stale_operations()


def test_conferencing_outage_leaves_the_operation_pending_until_it_recovers(
    sync_stack: SyncStack,
) -> None:
    conference = sync_stack.create_conference()
    event = sync_stack.insert_event(conference)
    sync_stack.sync()
    before = sync_stack.calendars.get(sync_stack.key)
    assert before is not None
    sync_stack.patch_event(event["id"], summary="Renamed during the conferencing outage")

    sync_stack.provider_faults(
        {"method": "PUT", "conferenceId": conference["id"], "status": 503, "count": 50}
    )
    outcome = sync_stack.sync()

    assert outcome.status == "synced"
    assert outcome.stats.pending == 1
    after = sync_stack.calendars.get(sync_stack.key)
    assert after is not None
    assert after.sync_token != before.sync_token  # the token advanced past a durable pending op
    assert after.pending_count == 1
    assert sync_stack.conference(conference["id"])["title"] == "Planning"

    sync_stack.clear_faults()
    retried: list[SyncOutcome] = []

    def retried_once() -> bool:
        retried.append(sync_stack.sync())
        return retried[-1].stats.pending_retried > 0

    assert wait_until(retried_once, timeout=8.0, interval=0.25)
    assert retried[-1].stats.pending == 0
    state = sync_stack.conference(conference["id"])
    assert state["title"] == "Renamed during the conferencing outage"
    final = sync_stack.calendars.get(sync_stack.key)
    assert final is not None
    assert final.pending_count == 0
    sync_stack.assert_no_stale_operations()


def test_edit_during_a_conferencing_outage_wins_once_it_recovers(sync_stack: SyncStack) -> None:
    conference = sync_stack.create_conference()
    event = sync_stack.insert_event(conference)
    sync_stack.sync()
    sync_stack.provider_faults({"method": "PUT", "conferenceId": conference["id"], "status": 503})
    sync_stack.patch_event(event["id"], summary="First rename")
    assert sync_stack.sync().stats.pending == 1

    sync_stack.patch_event(event["id"], summary="Second rename")
    assert sync_stack.sync().stats.pending == 1
    sync_stack.clear_faults()

    assert wait_until(
        lambda: sync_stack.sync().stats.pending_retried > 0, timeout=8.0, interval=0.25
    )
    assert sync_stack.conference(conference["id"])["title"] == "Second rename"
    applied = [r for r in sync_stack.requests_for(conference["id"]) if r["outcome"] == "applied"]
    assert len(applied) == 2  # the adoption, then the latest state once (never "First rename")
    sync_stack.assert_no_stale_operations()


def test_conference_already_deleted_at_the_provider_counts_as_deleted(
    sync_stack: SyncStack,
) -> None:
    conference = sync_stack.create_conference()
    event = sync_stack.insert_event(conference)
    sync_stack.sync()
    sync_stack.delete_conference_at_provider(conference["id"])

    sync_stack.delete_event(event["id"])
    outcome = sync_stack.sync()

    assert outcome.status == "synced"
    assert (outcome.stats.pending, outcome.stats.failed) == (0, 0)
    last = sync_stack.requests_for(conference["id"])[-1]
    assert (last["method"], last["status"], last["outcome"]) == ("DELETE", 404, "deleted")
    doc = sync_stack.calendars.get(sync_stack.key)
    assert doc is not None
    assert doc.pending_count == 0
    before = sync_stack.provider_requests()
    sync_stack.sync()
    assert sync_stack.provider_requests() == before  # nothing left to retry
    sync_stack.assert_no_stale_operations()


def test_redelivered_request_applies_nothing_twice(sync_stack: SyncStack) -> None:
    conference = sync_stack.create_conference()
    event = sync_stack.insert_event(conference)
    sync_stack.sync()
    sync_stack.patch_event(event["id"], summary="Renamed once")
    runner = sync_stack.runner()
    request = SyncRequest(
        calendar_key=sync_stack.key, reason="notification", notified_at=datetime.now(UTC)
    )

    first = runner.run(request)
    before = len(sync_stack.provider_requests())
    second = runner.run(request)

    assert (first.status, second.status) == ("synced", "synced")
    assert first.stats.updates == 1
    again = new_requests(sync_stack, before)
    assert all(r["outcome"] == "repeat" for r in again), again
    assert sync_stack.conference(conference["id"])["title"] == "Renamed once"
    sync_stack.assert_no_stale_operations()


def test_concurrent_syncs_coalesce_and_a_change_during_the_pull_is_applied(
    sync_stack: SyncStack,
) -> None:
    conference = sync_stack.create_conference()
    event = sync_stack.insert_event(conference)
    sync_stack.sync()
    runner = sync_stack.runner()
    lists_before = sync_stack.calendar_calls().get("calendar.events.list", 0)
    sync_stack.calendar_faults({"method": "calendar.events.list", "delayMs": 1500, "count": 1})
    outcomes: dict[str, SyncOutcome] = {}

    def run(name: str) -> None:
        outcomes[name] = sync_stack.sync(runner)

    owner = threading.Thread(target=run, args=("owner",))
    owner.start()
    assert wait_until(
        lambda: sync_stack.calendar_calls().get("calendar.events.list", 0) > lists_before,
        timeout=3.0,
        interval=0.02,
    )
    # The owner's first list is being served: the user edits, and the notification's sync races.
    sync_stack.patch_event(event["id"], summary="Changed during the pull")
    notified = threading.Thread(target=run, args=("notified",))
    notified.start()
    notified.join(timeout=10)
    owner.join(timeout=10)

    assert not owner.is_alive()
    assert not notified.is_alive()
    assert outcomes["notified"].status == "coalesced"
    assert outcomes["owner"].status == "synced"
    assert outcomes["owner"].stats.rounds == 2  # the owner saw the marker move and pulled again
    assert sync_stack.conference(conference["id"])["title"] == "Changed during the pull"
    doc = sync_stack.calendars.get(sync_stack.key)
    assert doc is not None
    assert doc.lease_owner is None
    sync_stack.assert_no_stale_operations()


def test_crash_after_provider_calls_converges_on_redelivery(sync_stack: SyncStack) -> None:
    conferences = [sync_stack.create_conference(f"Meeting {n}") for n in range(3)]
    events = [sync_stack.insert_event(c, summary=f"Meeting {n}") for n, c in enumerate(conferences)]
    sync_stack.sync()
    for n, event in enumerate(events):
        sync_stack.patch_event(event["id"], summary=f"Meeting {n}, renamed")
    before = len(sync_stack.provider_requests())
    runner = sync_stack.runner()
    flaky = FlakyCommit(runner.ports.calendar_store)
    crashing = runner.with_ports(replace(runner.ports, calendar_store=flaky))

    with pytest.raises(StoreUnavailableError):
        sync_stack.sync(crashing)

    assert flaky.failed
    doc = sync_stack.calendars.get(sync_stack.key)
    assert doc is not None
    assert doc.lease_owner is None
    sent = new_requests(sync_stack, before)
    assert sorted((r["method"], r["outcome"]) for r in sent) == [("PUT", "applied")] * 3
    applied = {r["conferenceId"]: r["revision"] for r in sent}

    outcome = sync_stack.sync()  # Pub/Sub redelivers the request

    assert outcome.status == "synced"
    repeated = new_requests(sync_stack, before + len(sent))
    assert sorted(r["conferenceId"] for r in repeated) == sorted(applied)
    for entry in repeated:
        assert entry["outcome"] == "repeat", entry
        assert entry["revision"] == applied[entry["conferenceId"]]
    for n, conference in enumerate(conferences):
        assert sync_stack.conference(conference["id"])["title"] == f"Meeting {n}, renamed"
    sync_stack.assert_no_stale_operations()


def test_new_join_url_is_written_back_and_its_echo_is_a_no_op(sync_stack: SyncStack) -> None:
    conference = sync_stack.create_conference()
    event = sync_stack.insert_event(conference)
    sync_stack.sync()
    rotated = "https://conference.example/j/rotated-link"
    sync_stack.set_join_url(conference["id"], rotated)
    sync_stack.patch_event(event["id"], summary="Planning, new link")

    outcome = sync_stack.sync()

    assert outcome.stats.write_backs == 1
    written = sync_stack.get_event(event["id"])
    assert video_uri(written) == rotated
    assert written["summary"] == "Planning, new link"
    before = sync_stack.provider_requests()
    echo = sync_stack.sync()
    assert echo.stats.events == 1  # our own write came back as a change ...
    assert sync_stack.provider_requests() == before  # ... and caused no conference operation
    assert echo.stats.write_backs == 0
    sync_stack.assert_no_stale_operations()


def test_write_back_keeps_a_concurrent_user_edit(sync_stack: SyncStack) -> None:
    conference = sync_stack.create_conference()
    event = sync_stack.insert_event(conference)
    sync_stack.sync()
    rotated = "https://conference.example/j/rotated-link"
    sync_stack.set_join_url(conference["id"], rotated)
    sync_stack.patch_event(event["id"], summary="Planning, new link")
    plain = sync_stack.runner()

    def user_edits() -> None:
        sync_stack.patch_event(event["id"], summary="Renamed by the user meanwhile")

    hooked = HookedCalendarFactory(plain.ports.calendar_api, user_edits)
    runner = plain.with_ports(replace(plain.ports, calendar_api=hooked))
    patches_before = sync_stack.calendar_calls().get("calendar.events.patch", 0)

    outcome = sync_stack.sync(runner)

    assert outcome.stats.write_backs == 1
    # user's edit + the write-back refused with 412 + the write-back after re-reading the event
    assert sync_stack.calendar_calls()["calendar.events.patch"] == patches_before + 3
    written = sync_stack.get_event(event["id"])
    assert written["summary"] == "Renamed by the user meanwhile"
    assert video_uri(written) == rotated

    sync_stack.sync()  # the user's edit reaches the conference in its turn

    assert sync_stack.conference(conference["id"])["title"] == "Renamed by the user meanwhile"
    sync_stack.assert_no_stale_operations()


def test_interleaved_edits_and_syncs_never_send_a_stale_revision(sync_stack: SyncStack) -> None:
    conferences = [sync_stack.create_conference(f"Meeting {n}") for n in range(3)]
    events = [sync_stack.insert_event(c, summary=f"Meeting {n}") for n, c in enumerate(conferences)]
    runner = sync_stack.runner()
    sync_stack.sync(runner)
    titles = {c["id"]: f"Meeting {n}" for n, c in enumerate(conferences)}

    for step in range(9):
        for n in (step % 3, (step + 1) % 3):
            title = f"Meeting {n} v{step}"
            sync_stack.patch_event(events[n]["id"], summary=title)
            titles[conferences[n]["id"]] = title
        if step % 3 == 1:
            sync_stack.patch_event(
                events[step % 3]["id"],
                start={"dateTime": f"2027-03-0{step + 1}T09:00:00Z"},
                end={"dateTime": f"2027-03-0{step + 1}T10:00:00Z"},
            )
        if step == 4:
            sync_stack.invalidate_sync_tokens()  # a full sync with reconciliation in the middle
        if step % 2 == 0:
            sync_stack.sync(runner)
            sync_stack.sync(runner)  # a duplicate notification
        else:
            sync_stack.sync()
    sync_stack.sync(runner)

    for conference in conferences:
        assert sync_stack.conference(conference["id"])["title"] == titles[conference["id"]]
    for conference in conferences:
        applied = [
            r["revision"]
            for r in sync_stack.requests_for(conference["id"])
            if r["outcome"] == "applied"
        ]
        assert len(applied) >= 4
        assert applied == sorted(set(applied)), applied  # strictly increasing
    sync_stack.assert_no_stale_operations()


def test_write_back_interrupted_by_a_calendar_outage_is_completed_on_redelivery(
    sync_stack: SyncStack,
) -> None:
    conference = sync_stack.create_conference()
    event = sync_stack.insert_event(conference)
    sync_stack.sync()
    rotated = "https://conference.example/j/rotated-link"
    sync_stack.set_join_url(conference["id"], rotated)
    sync_stack.patch_event(event["id"], summary="Planning, new link")

    sync_stack.calendar_faults({"method": "calendar.events.patch", "status": 503, "count": 3})
    with pytest.raises(CalendarUnavailableError):
        sync_stack.sync()
    assert video_uri(sync_stack.get_event(event["id"])) == conference["joinUrl"]

    redelivered = sync_stack.sync()  # Pub/Sub redelivers the request

    assert redelivered.status == "synced"
    assert video_uri(sync_stack.get_event(event["id"])) == rotated
    sync_stack.assert_no_stale_operations()


def test_late_notifications_of_a_change_already_pulled_cost_no_pull(
    sync_stack: SyncStack,
) -> None:
    conference = sync_stack.create_conference()
    event = sync_stack.insert_event(conference)
    sync_stack.sync()
    sync_stack.patch_event(event["id"], summary="Renamed once")
    notified_at = datetime.now(UTC)  # when intake stamped the rename's notification
    time.sleep(1.1)  # the notification is delivered late: pulls begin more than the skew after
    runner = sync_stack.runner()
    lists_before = sync_stack.calendar_calls().get("calendar.events.list", 0)
    sync_stack.calendar_faults({"method": "calendar.events.list", "delayMs": 1500, "count": 1})
    outcomes: dict[str, SyncOutcome] = {}

    def late(name: str) -> None:
        request = SyncRequest(
            calendar_key=sync_stack.key, reason="notification", notified_at=notified_at
        )
        outcomes[name] = runner.run(request)

    owner = threading.Thread(target=lambda: outcomes.setdefault("owner", sync_stack.sync(runner)))
    owner.start()
    assert wait_until(
        lambda: sync_stack.calendar_calls().get("calendar.events.list", 0) > lists_before,
        timeout=3.0,
        interval=0.02,
    )
    late("during the pull")  # its change is in the list being served
    owner.join(timeout=10)
    requests_before = len(sync_stack.provider_requests())
    lists_after = sync_stack.calendar_calls().get("calendar.events.list", 0)
    late("after the pull")

    assert not owner.is_alive()
    assert outcomes["during the pull"].status == "coalesced"
    assert (outcomes["owner"].status, outcomes["owner"].stats.rounds) == ("synced", 1)
    assert outcomes["after the pull"].status == "covered"
    assert sync_stack.calendar_calls().get("calendar.events.list", 0) == lists_after
    assert len(sync_stack.provider_requests()) == requests_before
    assert sync_stack.conference(conference["id"])["title"] == "Renamed once"
    doc = sync_stack.calendars.get(sync_stack.key)
    assert doc is not None
    assert doc.lease_owner is None
    sync_stack.assert_no_stale_operations()


# --- a series' changed occurrences when its conference changes -----------------------------------


def _move_one_and_cancel_another(
    sync_stack: SyncStack, instances: list[dict[str, Any]]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The user moves the second occurrence and cancels the third: (moved, cancelled)."""
    moved, cancelled = instances[1], instances[2]
    sync_stack.patch_event(
        moved["id"],
        start={"dateTime": "2027-03-08T15:00:00Z"},
        end={"dateTime": "2027-03-08T16:00:00Z"},
    )
    sync_stack.delete_event(cancelled["id"])
    return moved, cancelled


def _assert_lists_the_changed_occurrences(
    state: Mapping[str, Any], moved: Mapping[str, Any], cancelled: Mapping[str, Any]
) -> None:
    assert state["status"] == "active"
    assert [instant(o["originalStart"]) for o in state["modifiedOccurrences"]] == [
        instant(moved["originalStartTime"]["dateTime"])
    ]
    assert instant(state["modifiedOccurrences"][0]["start"]) == instant("2027-03-08T15:00:00Z")
    assert [instant(t) for t in state["cancelledOccurrences"]] == [
        instant(cancelled["originalStartTime"]["dateTime"])
    ]


def test_series_given_our_conference_after_occurrences_changed_lists_them(
    sync_stack: SyncStack,
) -> None:
    series = sync_stack.insert_event(
        summary="Weekly sync", recurrence=["RRULE:FREQ=WEEKLY;COUNT=5"]
    )
    sync_stack.sync()
    moved, cancelled = _move_one_and_cancel_another(sync_stack, sync_stack.instances(series["id"]))
    sync_stack.sync()  # nothing of ours yet: the exceptions go by
    conference = sync_stack.create_conference()

    sync_stack.patch_event(
        series["id"],
        conferenceData=conference_data(conference["id"], join_url=conference["joinUrl"]),
    )
    outcome = sync_stack.sync()

    assert outcome.stats.series_lookups == 1
    _assert_lists_the_changed_occurrences(sync_stack.conference(conference["id"]), moved, cancelled)
    assert [r["outcome"] for r in sync_stack.requests_for(conference["id"])] == ["applied"]
    sync_stack.assert_no_stale_operations()


def test_series_conference_replaced_moves_its_changed_occurrences_to_the_new_one(
    sync_stack: SyncStack,
) -> None:
    old, series, instances = weekly_series(sync_stack)
    moved, cancelled = _move_one_and_cancel_another(sync_stack, instances)
    sync_stack.sync()
    _assert_lists_the_changed_occurrences(sync_stack.conference(old["id"]), moved, cancelled)
    new = sync_stack.create_conference()

    sync_stack.patch_event(
        series["id"], conferenceData=conference_data(new["id"], join_url=new["joinUrl"])
    )
    outcome = sync_stack.sync()

    assert outcome.stats.series_lookups == 1
    assert sync_stack.conference(old["id"])["status"] == "deleted"
    _assert_lists_the_changed_occurrences(sync_stack.conference(new["id"]), moved, cancelled)
    sync_stack.assert_no_stale_operations()


# --- a new join URL reaches every event sharing the conference -----------------------------------


def test_new_join_url_reaches_every_sharing_event_and_keeps_a_concurrent_edit(
    sync_stack: SyncStack,
) -> None:
    conference, first, second = _two_events_sharing_a_conference(sync_stack)
    sync_stack.sync()
    rotated = "https://conference.example/j/rotated-link"
    sync_stack.set_join_url(conference["id"], rotated)
    sync_stack.patch_event(first["id"], summary="Kick-off, new agenda")
    plain = sync_stack.runner()

    def user_edits_the_other_event() -> None:
        sync_stack.patch_event(second["id"], summary="Follow-up, renamed meanwhile")

    hooked = HookedCalendarFactory(
        plain.ports.calendar_api, user_edits_the_other_event, event_id=second["id"]
    )
    runner = plain.with_ports(replace(plain.ports, calendar_api=hooked))

    outcome = sync_stack.sync(runner)

    assert outcome.stats.write_backs == 2
    assert video_uri(sync_stack.get_event(first["id"])) == rotated
    other = sync_stack.get_event(second["id"])
    assert video_uri(other) == rotated
    assert other["summary"] == "Follow-up, renamed meanwhile"
    sync_stack.assert_no_stale_operations()


def test_new_join_url_answered_on_a_pending_retry_reaches_every_sharing_event(
    sync_stack: SyncStack,
) -> None:
    conference, first, second = _two_events_sharing_a_conference(sync_stack)
    sync_stack.sync()
    sync_stack.provider_faults(
        {"method": "PUT", "conferenceId": conference["id"], "status": 503, "count": 50}
    )
    sync_stack.patch_event(first["id"], summary="Kick-off, new agenda")
    assert sync_stack.sync().stats.pending == 1
    rotated = "https://conference.example/j/rotated-link"
    sync_stack.set_join_url(conference["id"], rotated)
    sync_stack.clear_faults()
    retried: list[SyncOutcome] = []

    def retried_once() -> bool:
        retried.append(sync_stack.sync())
        return retried[-1].stats.pending_retried > 0

    assert wait_until(retried_once, timeout=8.0, interval=0.25)

    assert retried[-1].stats.write_backs == 2
    assert video_uri(sync_stack.get_event(first["id"])) == rotated
    assert video_uri(sync_stack.get_event(second["id"])) == rotated
    assert sync_stack.conference(conference["id"])["title"] == "Kick-off, new agenda"
    sync_stack.assert_no_stale_operations()


def test_event_joining_with_the_old_join_url_after_a_rotation_is_repaired(
    sync_stack: SyncStack,
) -> None:
    conference = sync_stack.create_conference()
    first = sync_stack.insert_event(conference)
    sync_stack.sync()
    rotated = "https://conference.example/j/rotated-link"
    sync_stack.set_join_url(conference["id"], rotated)
    sync_stack.patch_event(first["id"], summary="Planning, new link")
    assert sync_stack.sync().stats.write_backs == 1
    requests = sync_stack.provider_requests()

    # The user copies an old invitation: the conference, with the join URL from before.
    copy = sync_stack.insert_event(conference, summary="Planning, copied")
    outcome = sync_stack.sync()

    assert sync_stack.provider_requests() == requests  # the conference's state did not change
    assert outcome.stats.write_backs == 1
    assert video_uri(sync_stack.get_event(copy["id"])) == rotated
    assert sync_stack.sync().stats.write_backs == 0  # the repair's echo is a no-op

    # A later update answers the URL the record knows: the event not on the page is not read.
    sync_stack.patch_event(first["id"], summary="Planning, third agenda")
    reads = sync_stack.calendar_calls().get("calendar.events.get", 0)
    later = sync_stack.sync()

    assert later.stats.updates == 1
    assert later.stats.write_backs == 0
    assert sync_stack.calendar_calls().get("calendar.events.get", 0) == reads
    sync_stack.assert_no_stale_operations()


def test_25_deletions_in_one_sync_are_all_held_until_released(sync_stack: SyncStack) -> None:
    conferences = [sync_stack.create_conference(f"Meeting {i}") for i in range(25)]
    events = [sync_stack.insert_event(conference) for conference in conferences]
    sync_stack.sync()
    for event in events:
        sync_stack.delete_event(event["id"])

    held = sync_stack.sync()

    assert held.stats.held == 25
    assert [r for r in sync_stack.provider_requests() if r["method"] == "DELETE"] == []
    assert all(sync_stack.conference(c["id"])["status"] != "deleted" for c in conferences)
    doc = sync_stack.calendars.get(sync_stack.key)
    assert doc is not None
    assert (doc.held_deletes, doc.pending_count) == (25, 0)
    assert len(sync_stack.records.held(sync_stack.key)) == 25
    assert sync_stack.sync().stats.held == 0  # still held, still not sent
    assert [r for r in sync_stack.provider_requests() if r["method"] == "DELETE"] == []

    released = settle_held_deletes(
        sync_stack.calendars,
        sync_stack.records,
        sync_stack.key,
        discard=False,
        clock=lambda: datetime.now(UTC),
        sleep=time.sleep,
    )
    sent = sync_stack.sync()

    assert released == 25
    assert sent.stats.deletes == 25
    assert all(sync_stack.conference(c["id"])["status"] == "deleted" for c in conferences)
    doc = sync_stack.calendars.get(sync_stack.key)
    assert doc is not None
    assert doc.held_deletes == 0
    assert sync_stack.records.held(sync_stack.key) == []
    sync_stack.assert_no_stale_operations()


# --- ownership: a copy of someone else's conference ----------------------------------------------


def _another_user(
    sync_stack: SyncStack, runner: SyncRunner
) -> tuple[str, Callable[[], SyncOutcome]]:
    """Bob, enrolled with his own calendar: its id, and one sync of it by ``runner``."""
    bob = new_calendar_id()
    bob_key = calendar_key(bob, bob)
    sync_stack.calendars.put(CalendarDoc(key=bob_key, subject=bob, calendar_id=bob))

    def sync_bob() -> SyncOutcome:
        request = SyncRequest(calendar_key=bob_key, reason="manual", notified_at=datetime.now(UTC))
        return runner.run(request)

    return bob, sync_bob


def test_a_copy_of_anothers_conference_never_reaches_the_provider(sync_stack: SyncStack) -> None:
    """The takeover: Bob, enrolled, copies the conference of Alice's meeting into his own event,
    edits it and deletes it. Only Alice's event ever changes the conference."""
    conference = sync_stack.create_conference()  # owner: the stack's calendar user (Alice)
    alice_event = sync_stack.insert_event(conference, summary="Planning")
    sync_stack.sync()
    assert sync_stack.conference(conference["id"])["owner"] == sync_stack.calendar_id

    bob, sync_bob = _another_user(sync_stack, sync_stack.runner())

    events = sync_stack.calendar.events()
    body: dict[str, Any] = {
        "summary": "Mine now",
        "start": {"dateTime": "2027-03-05T08:00:00Z"},
        "end": {"dateTime": "2027-03-05T09:00:00Z"},
        "conferenceData": conference_data(conference["id"], join_url=conference["joinUrl"]),
    }
    # Anonymous calls act as each calendar's own user: Bob creates, edits, deletes his copy.
    copy = events.insert(calendarId=bob, body=body, conferenceDataVersion=1).execute()
    assert copy["organizer"]["email"] == bob
    seen = len(sync_stack.provider_requests())
    first = sync_bob()
    events.patch(
        calendarId=bob, eventId=copy["id"], body={"summary": "Still mine"}, conferenceDataVersion=1
    ).execute()
    sync_bob()
    events.delete(calendarId=bob, eventId=copy["id"]).execute()
    last = sync_bob()

    assert sync_stack.provider_requests()[seen:] == []  # no PUT, no DELETE from Bob
    # One record per conference: Alice's run learned the owner already, Bob's costs no lookup.
    assert (first.stats.owner_lookups, first.stats.references) == (0, 1)
    assert (last.stats.updates, last.stats.deletes, last.stats.held) == (0, 0, 0)
    state = sync_stack.conference(conference["id"])
    assert (state["status"], state["title"]) == ("active", "Planning")

    # Alice's own edit still reaches it.
    sync_stack.patch_event(alice_event["id"], summary="Planning, moved")
    sync_stack.sync()
    assert sync_stack.conference(conference["id"])["title"] == "Planning, moved"
    sync_stack.assert_no_stale_operations()


def test_a_move_to_the_owners_other_calendar_keeps_the_conference_and_it_follows_an_edit(
    sync_stack: SyncStack,
) -> None:
    """``events.move`` from Alice's calendar to her second enrolled calendar: a tombstone on the
    source, the same event on the destination. Both calendars are notified at once; the source's
    run waits out the local stack's short grace (5 s here) while the destination's syncs, then
    finds the conference carried there and sends no DELETE."""
    alice = sync_stack.calendar_id
    conference = sync_stack.create_conference()
    meeting = sync_stack.insert_event(conference, summary="Planning")
    sync_stack.sync()
    team = f"team-{uuid.uuid4().hex[:12]}@group.calendar.google.com"
    team_key = calendar_key(alice, team)
    sync_stack.calendars.put(CalendarDoc(key=team_key, subject=alice, calendar_id=team))
    runner = sync_stack.runner(CONFSYNC_DELETE_GRACE_SECONDS="5")

    def sync_team() -> SyncOutcome:
        request = SyncRequest(calendar_key=team_key, reason="manual", notified_at=datetime.now(UTC))
        return runner.run(request)

    sync_team()  # its first sync (a full one): nothing there yet
    events = sync_stack.calendar.events()
    moved = events.move(calendarId=alice, eventId=meeting["id"], destination=team).execute()
    assert (moved["id"], moved["organizer"]["email"]) == (meeting["id"], team)

    outcomes: list[SyncOutcome] = []
    source = threading.Thread(target=lambda: outcomes.append(sync_stack.sync(runner)))
    source.start()
    sync_team()  # while the source's run waits out the grace
    source.join(timeout=60)
    assert not source.is_alive()

    [outcome] = outcomes
    assert (outcome.stats.deletes, outcome.stats.held) == (0, 0)
    assert [r for r in sync_stack.requests_for(conference["id"]) if r["method"] == "DELETE"] == []
    state = sync_stack.conference(conference["id"])
    assert (state["status"], state["calendarId"]) == ("active", team)

    events.patch(
        calendarId=team,
        eventId=meeting["id"],
        body={"summary": "Planning, moved"},
        conferenceDataVersion=1,
    ).execute()
    sync_team()
    sync_stack.sync(runner)
    state = sync_stack.conference(conference["id"])
    assert (state["status"], state["title"]) == ("active", "Planning, moved")
    sync_stack.assert_no_stale_operations()


def test_a_delete_waits_for_the_calendar_an_unseen_moved_event_went_to(
    sync_stack: SyncStack,
) -> None:
    """Chaos seed 246 on the emulators: Alice's second event with her conference goes to Bob
    before her calendar's run sees it live, then she deletes her first one. Bob's calendar has
    not pulled since, so nothing names the moved event: her run's grace (0 here) finds the stub
    through ``events.list`` by ``updatedMin`` and holds the delete; once Bob's calendar counted
    the event, her next run keeps the conference."""
    conference = sync_stack.create_conference()
    first = sync_stack.insert_event(conference, summary="Planning")
    sync_stack.sync()
    runner = sync_stack.runner(CONFSYNC_MOVE_WAIT_SECONDS="60")
    bob, sync_bob = _another_user(sync_stack, runner)

    sync_bob()  # his first, full sync: nothing there yet
    second = sync_stack.insert_event(conference, summary="Planning, part two")
    events = sync_stack.calendar.events()
    events.move(calendarId=sync_stack.calendar_id, eventId=second["id"], destination=bob).execute()
    events.delete(calendarId=sync_stack.calendar_id, eventId=first["id"]).execute()

    held = sync_stack.sync(runner)

    key = conference_key(conference["id"])
    [record] = sync_stack.records.by_keys([key])
    assert (held.stats.deletes, record.status, record.pending is not None) == (0, "active", True)
    assert [r for r in sync_stack.requests_for(conference["id"]) if r["method"] == "DELETE"] == []
    sync_bob()  # late: the moved event is counted, and named on the record
    kept = sync_stack.sync(runner)
    [record] = sync_stack.records.by_keys([key])
    assert (kept.stats.deletes, record.status, record.pending) == (0, "transferred", None)
    assert [r for r in sync_stack.requests_for(conference["id"]) if r["method"] == "DELETE"] == []
    assert sync_stack.conference(conference["id"])["status"] == "active"


# --- migration of records of schema 1 ----------------------------------------------------------


def _as_deployed_before(sync_stack: SyncStack, conference_id: str) -> None:
    """Turn the Firestore state of the stack's calendar into what a deployment with one record
    per (calendar, conference) left: a schema-1 record, pointers naming it, and a calendar
    document without ``records_schema``."""
    [record] = sync_stack.records.by_keys([conference_key(conference_id)])
    refs = record.refs_of(sync_stack.key)
    assert refs is not None
    old = LegacyRecord(
        key=legacy_key(sync_stack.key, conference_id),
        calendar_key=sync_stack.key,
        conference_id=conference_id,
        events=refs.events,
        occurrences=refs.occurrences,
        primary_event_id=refs.primary_event_id,
        sent=record.sent,
        status=record.status,
        owner=record.owner,
        owner_known=record.owner_known,
        role="acting",
    )
    db = sync_stack.firestore
    db.collection("conferences").document(old.key).set(legacy_document(old))
    db.collection("conferences").document(record.key).delete()
    for event_id in refs.events:
        db.collection("conference_events").document(pointer_key(sync_stack.key, event_id)).set(
            {"calendar_key": sync_stack.key, "event_id": event_id, "record_key": old.key}
        )
    db.collection("calendars").document(sync_stack.key).update({"records_schema": DELETE_FIELD})


def test_an_old_firestore_state_converges_and_then_syncs_as_before(sync_stack: SyncStack) -> None:
    """A database left by the per-calendar model: the first run migrates it (nothing sent
    again, no second adoption), and later edits and the deletion reach the conference."""
    conference = sync_stack.create_conference()
    event = sync_stack.insert_event(conference, summary="Planning")
    sync_stack.sync()
    _as_deployed_before(sync_stack, conference["id"])
    doc = sync_stack.calendars.get(sync_stack.key)
    assert doc is not None
    assert doc.records_schema == 1
    seen = len(sync_stack.provider_requests())

    migrated = sync_stack.sync()

    assert (migrated.stats.migrated, migrated.stats.owner_lookups) == (1, 0)
    assert sync_stack.provider_requests()[seen:] == []
    assert sync_stack.records.legacy_of_calendar(sync_stack.key) == []
    [record] = sync_stack.records.by_keys([conference_key(conference["id"])])
    refs = record.refs_of(sync_stack.key)
    assert refs is not None
    assert list(refs.events) == [event["id"]]
    assert sync_stack.records.attachments(sync_stack.key, [event["id"]]) == {
        event["id"]: record.key
    }
    doc = sync_stack.calendars.get(sync_stack.key)
    assert doc is not None
    assert doc.records_schema == 2

    sync_stack.patch_event(event["id"], summary="Planning, migrated")
    sync_stack.sync()
    assert sync_stack.conference(conference["id"])["title"] == "Planning, migrated"
    sync_stack.delete_event(event["id"])
    sync_stack.sync()
    assert sync_stack.conference(conference["id"])["status"] == "deleted"
    assert [r["method"] for r in sync_stack.provider_requests()[seen:]] == ["PUT", "DELETE"]
    sync_stack.assert_no_stale_operations()
