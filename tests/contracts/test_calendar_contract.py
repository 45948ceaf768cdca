"""One contract for the Calendar ports, run against FakeCalendar and the Google adapter.

``FakeCalendar`` implements :class:`~confsync.ports.CalendarClient` (and
:class:`~confsync.ports.ChannelClient`) for the sync runner's unit tests. Here the same assertions
run against it and against :class:`~confsync.adapters.calendar_api.GoogleCalendarClient` talking
to the Calendar API emulator (in-process, on a free port). The emulator follows Google's
documentation, so where the two disagree the fake is the one to fix.

Each backend is seeded through a small "arrange" object with the same methods (insert, edit,
delete, an occurrence edited or cancelled, tokens invalidated, a failing list): the fake through
its test-side methods, the emulator through its admin API and plain API writes that bypass the
adapter.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from urllib.parse import quote

import pytest
import requests

from calendar_emulator.server import EmulatorServer
from confsync.adapters.calendar_api import GoogleCalendarClientFactory, RetryPolicy
from confsync.errors import (
    CalendarNotFoundError,
    CalendarUnavailableError,
    PreconditionFailedError,
    SyncTokenInvalidError,
)
from confsync.ports import CalendarClient, ChannelClient, EventPage
from confsync.testing import FakeCalendar

CALENDAR = "alice@example.com"
OTHER_CALENDAR = "bob@example.com"
PAGE_SIZE = 2
HTTP_TIMEOUT = 5.0
ATTEMPTS = 2  # the adapter's retries per call; a failing list fails this many requests
TOMBSTONE_KEYS = {"kind", "etag", "id", "status", "recurringEventId", "originalStartTime"}
SERIES = "ser001"


# --- events -----------------------------------------------------------------------------------


def event(event_id: str, day: int, summary: str = "Standup", **fields: Any) -> dict[str, Any]:
    """A one-hour event at 09:00 UTC on January ``day``, 2030."""
    return {
        "id": event_id,
        "summary": summary,
        "start": {"dateTime": f"2030-01-{day:02d}T09:00:00Z", "timeZone": "UTC"},
        "end": {"dateTime": f"2030-01-{day:02d}T10:00:00Z", "timeZone": "UTC"},
        **fields,
    }


def series() -> dict[str, Any]:
    """Weekly on Mondays from January 7, 2030: the 7th, 14th, 21st and 28th."""
    return event(SERIES, 7, "Weekly", recurrence=["RRULE:FREQ=WEEKLY;COUNT=4"])


def instance_id(day: int) -> str:
    return f"{SERIES}_203001{day:02d}T090000Z"


def conference(conference_id: str) -> dict[str, Any]:
    return {
        "conferenceId": conference_id,
        "conferenceSolution": {"key": {"type": "addOn"}, "name": "My Web Conference"},
        "entryPoints": [
            {"entryPointType": "video", "uri": f"https://conf.example/j/{conference_id}"}
        ],
    }


# --- the two backends -------------------------------------------------------------------------


class Backend(Protocol):
    """A port implementation plus the means to change its calendar behind its back."""

    client: CalendarClient
    channels: ChannelClient

    def insert(self, *events: dict[str, Any]) -> None: ...

    def edit(self, event_id: str, **fields: Any) -> None: ...

    def delete(self, event_id: str) -> None: ...

    def move(self, event_id: str) -> None:
        """``events.move`` of the event to OTHER_CALENDAR."""
        ...

    def edit_occurrence(self, day: int, **fields: Any) -> None: ...

    def cancel_occurrence(self, day: int) -> None: ...

    def invalidate_tokens(self) -> None: ...

    def fail_next_list(self) -> None: ...

    def set_access_role(self, role: str) -> None: ...

    def live_channels(self) -> list[str]: ...


class FakeBackend:
    """FakeCalendar, seeded through its own test-side methods."""

    def __init__(self) -> None:
        self.fake = FakeCalendar(page_size=PAGE_SIZE)
        self.client: CalendarClient = self.fake
        self.channels: ChannelClient = self.fake

    def insert(self, *events: dict[str, Any]) -> None:
        for item in events:
            self.fake.put(CALENDAR, {"kind": "calendar#event", "status": "confirmed", **item})

    def edit(self, event_id: str, **fields: Any) -> None:
        self.fake.put(CALENDAR, {**self.fake.event(CALENDAR, event_id), **fields})

    def delete(self, event_id: str) -> None:
        self.fake.delete(CALENDAR, event_id)

    def move(self, event_id: str) -> None:
        self.fake.move(CALENDAR, event_id, OTHER_CALENDAR)

    def _occurrence(self, day: int, status: str, fields: dict[str, Any]) -> None:
        master = self.fake.event(CALENDAR, SERIES)
        when = event(SERIES, day)
        occurrence = {
            **{k: v for k, v in master.items() if k not in ("recurrence", "etag", "updated")},
            "id": instance_id(day),
            "status": status,
            "recurringEventId": SERIES,
            "originalStartTime": when["start"],
            "start": when["start"],
            "end": when["end"],
            **fields,
        }
        self.fake.put(CALENDAR, occurrence)

    def edit_occurrence(self, day: int, **fields: Any) -> None:
        self._occurrence(day, "confirmed", fields)

    def cancel_occurrence(self, day: int) -> None:
        self._occurrence(day, "cancelled", {})

    def invalidate_tokens(self) -> None:
        self.fake.invalidate_tokens(CALENDAR)

    def fail_next_list(self) -> None:
        self.fake.fail_lists.append(CalendarUnavailableError("events.list: HTTP 503"))

    def set_access_role(self, role: str) -> None:
        self.fake.set_access_role(CALENDAR, role)

    def live_channels(self) -> list[str]:
        return self.fake.live_channels(CALENDAR)


class EmulatorBackend:
    """The Google adapter on the emulator, seeded through the admin API and direct API writes."""

    def __init__(self, server: EmulatorServer) -> None:
        self.admin = server.base_url + "/emulator/v1"
        self.events = f"{server.api_endpoint}calendars/{quote(CALENDAR)}/events"
        self._call("POST", self.admin + "/reset")
        factory = GoogleCalendarClientFactory(
            lambda subject: None,
            api_endpoint=server.api_endpoint,
            page_size=PAGE_SIZE,
            retry=RetryPolicy(max_attempts=ATTEMPTS, sleep=lambda seconds: None),
        )
        google = factory.for_subject(CALENDAR)
        self.client: CalendarClient = google
        self.channels: ChannelClient = google

    @staticmethod
    def _call(method: str, url: str, body: Any = None) -> Any:
        response = requests.request(method, url, json=body, timeout=HTTP_TIMEOUT)
        assert response.ok, response.text
        return response.json() if response.content else None

    def insert(self, *events: dict[str, Any]) -> None:
        url = f"{self.admin}/calendars/{quote(CALENDAR)}/events"
        assert self._call("POST", url, {"events": list(events)}) == {"inserted": len(events)}

    def edit(self, event_id: str, **fields: Any) -> None:
        self._call("PATCH", f"{self.events}/{event_id}", fields)

    def delete(self, event_id: str) -> None:
        self._call("DELETE", f"{self.events}/{event_id}")

    def move(self, event_id: str) -> None:
        other = self.events.replace(quote(CALENDAR), quote(OTHER_CALENDAR))
        self._call("GET", other)  # the destination must exist (be used once)
        self._call("POST", f"{self.events}/{event_id}/move?destination={quote(OTHER_CALENDAR)}")

    def edit_occurrence(self, day: int, **fields: Any) -> None:
        self.edit(instance_id(day), **fields)

    def cancel_occurrence(self, day: int) -> None:
        self.delete(instance_id(day))

    def invalidate_tokens(self) -> None:
        self._call("POST", f"{self.admin}/calendars/{quote(CALENDAR)}/invalidate-sync-tokens")

    def fail_next_list(self) -> None:
        rule = {"method": "calendar.events.list", "status": 503, "count": ATTEMPTS}
        self._call("POST", self.admin + "/faults", [rule])

    def set_access_role(self, role: str) -> None:
        """The ACL entry of the calendar's own user, whom the adapter's anonymous calls act as."""
        self._call(
            "PUT", f"{self.admin}/calendars/{quote(CALENDAR)}/acl/{quote(CALENDAR)}", {"role": role}
        )

    def live_channels(self) -> list[str]:
        found = self._call("GET", self.admin + "/channels")["channels"]
        return [c["id"] for c in found if c["calendarId"] == CALENDAR]


@pytest.fixture(
    name="cal",
    params=[
        pytest.param("fake", id="fake"),
        pytest.param("emulator", id="emulator", marks=pytest.mark.emulators),
    ],
)
def cal_fixture(request: pytest.FixtureRequest) -> Iterator[Backend]:
    if request.param == "fake":
        yield FakeBackend()
        return
    backend = EmulatorBackend(request.getfixturevalue("calendar_server"))
    yield backend
    backend._call("POST", backend.admin + "/reset")  # no channel outlives its test


# --- helpers ----------------------------------------------------------------------------------


def list_all(
    client: CalendarClient, *, sync_token: str | None = None, time_min: datetime | None = None
) -> tuple[list[EventPage], str]:
    """Every page of one listing (full or incremental), and the sync token of its last page."""
    pages: list[EventPage] = []
    page_token: str | None = None
    while True:
        page = client.list_page(
            CALENDAR, sync_token=sync_token, page_token=page_token, time_min=time_min
        )
        pages.append(page)
        if page.next_page_token is None:
            assert page.next_sync_token, "the last page carries the sync token"
            return pages, page.next_sync_token
        assert page.next_sync_token is None, "only the last page carries a sync token"
        page_token = page.next_page_token


def ids(pages: list[EventPage]) -> list[str]:
    return [str(item["id"]) for page in pages for item in page.items]


def by_id(pages: list[EventPage]) -> dict[str, dict[str, Any]]:
    return {str(item["id"]): dict(item) for page in pages for item in page.items}


def get(cal: Backend, event_id: str) -> dict[str, Any]:
    found = cal.client.get_event(CALENDAR, event_id)
    assert found is not None, event_id
    return dict(found)


# --- events.list: full syncs ------------------------------------------------------------------


def test_full_list_pages_through_every_event_with_the_sync_token_on_the_last_page(
    cal: Backend,
) -> None:
    cal.insert(*(event(f"evt{n:03d}", n, f"Meeting {n}") for n in range(1, 6)))

    pages, token = list_all(cal.client)

    assert [len(page.items) for page in pages] == [2, 2, 1]
    assert ids(pages) == [f"evt{n:03d}" for n in range(1, 6)]
    first = by_id(pages)["evt001"]
    assert first["summary"] == "Meeting 1"
    assert first["status"] == "confirmed"
    assert first["etag"]
    assert token


def test_full_list_leaves_out_deleted_events_but_lists_cancelled_occurrences_as_tombstones(
    cal: Backend,
) -> None:
    cal.insert(series(), event("evt001", 8), event("evt002", 9))
    cal.delete("evt002")
    cal.cancel_occurrence(14)

    pages, _ = list_all(cal.client)

    assert ids(pages) == [SERIES, "evt001", instance_id(14)]
    cancelled = by_id(pages)[instance_id(14)]
    assert cancelled["status"] == "cancelled"
    assert cancelled["recurringEventId"] == SERIES
    assert cancelled["originalStartTime"]
    assert set(cancelled) <= TOMBSTONE_KEYS  # minimal, as Google sends a cancelled occurrence


def test_full_list_from_time_min_leaves_out_events_ended_by_then_but_not_their_later_changes(
    cal: Backend,
) -> None:
    ended = {
        "id": "ended01",
        "summary": "Ends at the window's start",
        "start": {"dateTime": "2030-01-02T08:30:00Z"},
        "end": {"dateTime": "2030-01-02T09:30:00Z"},
    }
    cal.insert(event("evt001", 1), ended, event("evt002", 2), event("evt003", 3))
    window_start = datetime(2030, 1, 2, 9, 30, tzinfo=UTC)  # an exclusive bound on the end

    pages, token = list_all(cal.client, time_min=window_start)
    cal.edit("evt001", summary="Old, renamed")
    changes, _ = list_all(cal.client, sync_token=token)

    assert ids(pages) == ["evt002", "evt003"]
    assert ids(changes) == ["evt001"]  # incremental syncs are not limited to the first window
    assert by_id(changes)["evt001"]["summary"] == "Old, renamed"


def test_a_change_between_pages_loses_no_event_and_comes_with_the_next_sync(
    cal: Backend,
) -> None:
    cal.insert(*(event(f"evt{n:03d}", n) for n in range(1, 5)))

    first = cal.client.list_page(CALENDAR, sync_token=None, page_token=None, time_min=None)
    cal.edit("evt001", summary="Edited during the pull")
    rest: list[EventPage] = []
    page_token = first.next_page_token
    while page_token is not None:
        page = cal.client.list_page(CALENDAR, sync_token=None, page_token=page_token, time_min=None)
        rest.append(page)
        page_token = page.next_page_token
    token = rest[-1].next_sync_token
    assert token
    changes, _ = list_all(cal.client, sync_token=token)

    assert sorted(ids([first, *rest])) == [f"evt{n:03d}" for n in range(1, 5)]  # each once
    assert ids(changes) == ["evt001"]
    assert by_id(changes)["evt001"]["summary"] == "Edited during the pull"


# --- events.list: incremental syncs -----------------------------------------------------------


def test_incremental_list_returns_only_changes_with_deletions_as_minimal_tombstones(
    cal: Backend,
) -> None:
    cal.insert(*(event(f"evt{n:03d}", n) for n in range(1, 4)))
    _, token = list_all(cal.client)
    cal.edit("evt001", summary="Renamed")
    cal.delete("evt002")
    cal.insert(event("evt004", 4))

    pages, next_token = list_all(cal.client, sync_token=token)

    assert ids(pages) == ["evt001", "evt002", "evt004"]  # oldest change first
    changes = by_id(pages)
    assert changes["evt001"]["summary"] == "Renamed"
    assert changes["evt004"]["status"] == "confirmed"
    tombstone = changes["evt002"]
    assert tombstone["status"] == "cancelled"
    assert set(tombstone) <= TOMBSTONE_KEYS
    assert "summary" not in tombstone
    assert next_token != token


def test_incremental_list_without_changes_is_empty_and_its_token_follows_later_changes(
    cal: Backend,
) -> None:
    cal.insert(event("evt001", 1))
    _, token = list_all(cal.client)

    quiet, quiet_token = list_all(cal.client, sync_token=token)
    cal.edit("evt001", summary="Later")
    later, _ = list_all(cal.client, sync_token=quiet_token)

    assert ids(quiet) == []
    assert ids(later) == ["evt001"]


def test_incremental_list_pages_through_many_changes(cal: Backend) -> None:
    cal.insert(event("evt001", 1))
    _, token = list_all(cal.client)
    cal.insert(*(event(f"evt{n:03d}", n) for n in range(2, 7)))

    pages, _ = list_all(cal.client, sync_token=token)

    assert [len(page.items) for page in pages] == [2, 2, 1]
    assert ids(pages) == [f"evt{n:03d}" for n in range(2, 7)]


def test_an_event_created_and_deleted_since_the_token_comes_as_a_tombstone(cal: Backend) -> None:
    cal.insert(event("evt001", 1))
    _, token = list_all(cal.client)
    cal.insert(event("short1", 2))
    cal.delete("short1")

    pages, _ = list_all(cal.client, sync_token=token)

    assert ids(pages) == ["short1"]
    assert by_id(pages)["short1"]["status"] == "cancelled"


def test_a_sync_token_can_be_used_again(cal: Backend) -> None:
    cal.insert(event("evt001", 1), event("evt002", 2))
    _, token = list_all(cal.client)
    cal.edit("evt002", summary="Renamed")

    first, _ = list_all(cal.client, sync_token=token)
    again, _ = list_all(cal.client, sync_token=token)

    assert ids(first) == ids(again) == ["evt002"]
    assert by_id(again)["evt002"]["summary"] == "Renamed"


def test_incremental_list_reports_changed_and_cancelled_occurrences_of_a_series(
    cal: Backend,
) -> None:
    cal.insert(series())
    _, token = list_all(cal.client)
    cal.edit_occurrence(14, summary="Weekly, once moved")
    cal.cancel_occurrence(21)

    pages, _ = list_all(cal.client, sync_token=token)

    changes = by_id(pages)
    assert list(changes) == [instance_id(14), instance_id(21)]
    assert changes[instance_id(14)]["summary"] == "Weekly, once moved"
    assert changes[instance_id(14)]["recurringEventId"] == SERIES
    cancelled = changes[instance_id(21)]
    assert cancelled["status"] == "cancelled"
    assert cancelled["recurringEventId"] == SERIES
    assert cancelled["originalStartTime"]
    assert set(cancelled) <= TOMBSTONE_KEYS


# --- events.list: tokens that no longer work --------------------------------------------------


def test_an_invalidated_sync_token_raises_sync_token_invalid_and_a_full_sync_recovers(
    cal: Backend,
) -> None:
    cal.insert(event("evt001", 1))
    _, token = list_all(cal.client)
    cal.invalidate_tokens()

    with pytest.raises(SyncTokenInvalidError):
        cal.client.list_page(CALENDAR, sync_token=token, page_token=None, time_min=None)
    pages, fresh = list_all(cal.client)
    cal.edit("evt001", summary="After the resync")
    changes, _ = list_all(cal.client, sync_token=fresh)

    assert ids(pages) == ["evt001"]
    assert ids(changes) == ["evt001"]


@pytest.mark.parametrize("garble", ["prefix", "nonsense", "empty-ish"])
def test_a_garbled_sync_token_raises_sync_token_invalid(cal: Backend, garble: str) -> None:
    cal.insert(event("evt001", 1))
    _, token = list_all(cal.client)
    garbled = {"prefix": "1" + token, "nonsense": "not-a-token", "empty-ish": "="}[garble]

    with pytest.raises(SyncTokenInvalidError):
        cal.client.list_page(CALENDAR, sync_token=garbled, page_token=None, time_min=None)


def test_a_sync_token_of_another_calendar_raises_sync_token_invalid(cal: Backend) -> None:
    cal.insert(event("evt001", 1))
    _, token = list_all(cal.client)

    with pytest.raises(SyncTokenInvalidError):
        cal.client.list_page(OTHER_CALENDAR, sync_token=token, page_token=None, time_min=None)


def test_a_failing_list_raises_calendar_unavailable_and_the_next_one_succeeds(
    cal: Backend,
) -> None:
    cal.insert(event("evt001", 1))
    cal.fail_next_list()

    with pytest.raises(CalendarUnavailableError):
        cal.client.list_page(CALENDAR, sync_token=None, page_token=None, time_min=None)
    pages, _ = list_all(cal.client)

    assert ids(pages) == ["evt001"]


# --- events.list: the access role (accessRole) -------------------------------------------------


def test_every_page_of_full_and_incremental_lists_reports_the_owner_access_role(
    cal: Backend,
) -> None:
    cal.insert(*(event(f"evt{n:03d}", n) for n in range(1, 4)))

    pages, token = list_all(cal.client)
    cal.edit("evt001", summary="Renamed")
    cal.delete("evt002")
    cal.edit("evt003", summary="Renamed too")
    changes, _ = list_all(cal.client, sync_token=token)

    assert len(pages) == 2  # the page after the first one is checked too
    assert len(changes) == 2
    assert [page.access_role for page in [*pages, *changes]] == ["owner"] * 4


@pytest.mark.parametrize("role", ["freeBusyReader", "reader", "writer", "owner"])
def test_every_page_reports_the_role_the_calendar_is_seen_through(cal: Backend, role: str) -> None:
    cal.insert(*(event(f"evt{n:03d}", n) for n in range(1, 4)))
    _, token = list_all(cal.client)
    cal.edit("evt001", summary="Renamed")
    cal.set_access_role(role)

    pages, _ = list_all(cal.client)
    changes, _ = list_all(cal.client, sync_token=token)

    assert [page.access_role for page in [*pages, *changes]] == [role] * (len(pages) + 1)
    assert len(changes) == 1


def test_a_free_busy_view_lists_times_and_never_titles_guests_or_conferences(cal: Backend) -> None:
    conference = {
        "conferenceId": "conf-1",
        "conferenceSolution": {"key": {"type": "addOn"}, "name": "My Web Conference"},
    }
    cal.insert(
        event("evt001", 1, attendees=[{"email": "bob@example.com"}], conferenceData=conference)
    )
    cal.set_access_role("freeBusyReader")

    pages, _ = list_all(cal.client)

    [item] = [item for page in pages for item in page.items]
    assert item["id"] == "evt001"
    assert item["start"]["dateTime"].startswith("2030-01-01T09:00:00")
    assert not {"summary", "attendees", "conferenceData", "organizer"} & set(item)


# --- events.get -------------------------------------------------------------------------------


def test_get_returns_the_event_with_its_etag(cal: Backend) -> None:
    cal.insert(event("evt001", 1, "Planning", conferenceData=conference("c1")))

    found = get(cal, "evt001")
    listed, _ = list_all(cal.client)

    assert found["summary"] == "Planning"
    assert found["status"] == "confirmed"
    assert found["conferenceData"] == conference("c1")
    assert found["etag"] == by_id(listed)["evt001"]["etag"]
    assert found["iCalUID"]


def test_get_of_an_unknown_event_returns_none(cal: Backend) -> None:
    cal.insert(event("evt001", 1))

    assert cal.client.get_event(CALENDAR, "unknown1") is None
    assert cal.client.get_event(OTHER_CALENDAR, "evt001") is None


def test_get_of_a_deleted_event_returns_it_cancelled_with_its_details(cal: Backend) -> None:
    cal.insert(event("evt001", 1, "Planning"))
    before = get(cal, "evt001")
    cal.delete("evt001")

    found = get(cal, "evt001")

    assert found["status"] == "cancelled"
    assert found["summary"] == "Planning"
    assert found["etag"] != before["etag"]


def test_get_of_a_moved_away_event_returns_a_stub_while_a_deleted_one_keeps_its_organizer(
    cal: Backend,
) -> None:
    """Reference 1.5: a deletion keeps the details on the organizer's calendar; a move (a change
    of organizer) leaves only the id. The delete grace tells the two apart by this."""
    organizer = {"email": CALENDAR, "self": True}
    cal.insert(
        event("evt001", 1, "Planning", organizer=organizer),
        event("evt002", 2, "Review", organizer=organizer),
    )
    cal.delete("evt001")
    cal.move("evt002")

    deleted = get(cal, "evt001")
    moved = get(cal, "evt002")

    assert deleted["status"] == "cancelled"
    assert deleted["organizer"]["email"] == CALENDAR
    assert moved["status"] == "cancelled"
    assert "organizer" not in moved
    assert set(moved) <= TOMBSTONE_KEYS
    arrived = cal.client.get_event(OTHER_CALENDAR, "evt002")
    assert arrived is not None
    assert arrived["status"] == "confirmed"
    assert arrived["organizer"]["email"] == OTHER_CALENDAR


def test_get_of_a_cancelled_occurrence_returns_it_cancelled_with_its_series(cal: Backend) -> None:
    cal.insert(series())
    cal.cancel_occurrence(14)

    found = get(cal, instance_id(14))

    assert found["status"] == "cancelled"
    assert found["recurringEventId"] == SERIES
    assert found["iCalUID"] == get(cal, SERIES)["iCalUID"]


# --- events.patch (conferenceData, If-Match) --------------------------------------------------


def test_patch_with_the_current_etag_replaces_conference_data_only(cal: Backend) -> None:
    cal.insert(event("evt001", 1, "Planning", conferenceData=conference("old")))
    _, token = list_all(cal.client)
    current = get(cal, "evt001")

    answer = cal.client.patch_conference_data(
        CALENDAR, "evt001", current["etag"], conference("new")
    )
    changes, _ = list_all(cal.client, sync_token=token)

    stored = get(cal, "evt001")
    assert stored["conferenceData"] == answer["conferenceData"] == conference("new")
    assert stored["summary"] == "Planning"
    assert stored["start"] == current["start"]
    assert answer["etag"] == stored["etag"] != current["etag"]
    assert ids(changes) == ["evt001"]  # our own write comes back as a change
    assert by_id(changes)["evt001"]["conferenceData"] == conference("new")


def test_patch_adds_conference_data_to_an_event_without_any(cal: Backend) -> None:
    cal.insert(event("evt001", 1))
    current = get(cal, "evt001")

    cal.client.patch_conference_data(CALENDAR, "evt001", current["etag"], conference("c9"))

    assert get(cal, "evt001")["conferenceData"] == conference("c9")


def test_patch_with_a_stale_etag_raises_precondition_failed_and_changes_nothing(
    cal: Backend,
) -> None:
    cal.insert(event("evt001", 1, "Planning", conferenceData=conference("old")))
    stale = get(cal, "evt001")
    cal.edit("evt001", summary="Planning (moved)")
    before = get(cal, "evt001")

    with pytest.raises(PreconditionFailedError):
        cal.client.patch_conference_data(CALENDAR, "evt001", stale["etag"], conference("new"))

    after = get(cal, "evt001")
    assert after == before
    assert after["conferenceData"] == conference("old")
    assert after["summary"] == "Planning (moved)"


def test_patch_with_the_etag_read_again_succeeds_after_a_precondition_failure(
    cal: Backend,
) -> None:
    cal.insert(event("evt001", 1, "Planning"))
    stale = get(cal, "evt001")
    cal.edit("evt001", summary="Planning (moved)")
    with pytest.raises(PreconditionFailedError):
        cal.client.patch_conference_data(CALENDAR, "evt001", stale["etag"], conference("new"))

    fresh = get(cal, "evt001")
    answer = cal.client.patch_conference_data(CALENDAR, "evt001", fresh["etag"], conference("new"))

    assert answer["conferenceData"] == conference("new")
    assert answer["summary"] == "Planning (moved)"


def test_patch_of_an_unknown_event_raises_calendar_not_found(cal: Backend) -> None:
    cal.insert(event("evt001", 1))
    etag = get(cal, "evt001")["etag"]

    with pytest.raises(CalendarNotFoundError):
        cal.client.patch_conference_data(CALENDAR, "unknown1", etag, conference("c1"))


# --- events.list by iCalUID (series lookups) --------------------------------------------------


def test_list_series_returns_the_master_and_every_exception_cancelled_ones_included(
    cal: Backend,
) -> None:
    cal.insert(series(), event("evt001", 8))
    cal.edit_occurrence(14, summary="Renamed once")
    cal.cancel_occurrence(21)
    ical_uid = str(get(cal, SERIES)["iCalUID"])

    items = cal.client.list_series(CALENDAR, ical_uid)

    found = {str(item["id"]): dict(item) for item in items}
    assert sorted(found) == [SERIES, instance_id(14), instance_id(21)]
    assert found[SERIES]["recurrence"] == ["RRULE:FREQ=WEEKLY;COUNT=4"]
    assert found[instance_id(14)]["summary"] == "Renamed once"
    assert found[instance_id(21)]["status"] == "cancelled"
    assert found[instance_id(21)]["recurringEventId"] == SERIES
    assert cal.client.list_series(CALENDAR, "unknown@google.com") == ()


# --- events.list by updatedMin (what a calendar lost lately) -----------------------------------


def test_list_changed_returns_every_event_changed_since_with_what_a_deletion_and_a_move_leave(
    cal: Backend,
) -> None:
    """Every page, deleted events included: a deletion keeps its details and organizer, a move
    leaves a stub with only the id (reference 1.5); nothing changed after a later moment."""
    organizer = {"email": CALENDAR, "self": True}
    since = datetime.now(UTC) - timedelta(minutes=1)
    cal.insert(
        event("evt001", 1, "Planning", organizer=organizer),
        event("evt002", 2, "Review", organizer=organizer),
        event("evt003", 3, "Retro", organizer=organizer),
    )
    cal.delete("evt001")
    cal.move("evt002")

    items = cal.client.list_changed(CALENDAR, since)

    found = {str(item["id"]): dict(item) for item in items}
    assert sorted(found) == ["evt001", "evt002", "evt003"]  # more than one page of 2
    assert found["evt001"]["status"] == "cancelled"
    assert found["evt001"]["organizer"]["email"] == CALENDAR
    assert found["evt002"]["status"] == "cancelled"
    assert set(found["evt002"]) <= TOMBSTONE_KEYS
    assert found["evt003"]["summary"] == "Retro"
    assert cal.client.list_changed(CALENDAR, datetime.now(UTC) + timedelta(hours=1)) == ()


# --- push channels (the ChannelClient port, served by the same objects) -----------------------


def test_watch_opens_a_channel_until_it_is_stopped_and_a_second_stop_is_fine(
    cal: Backend,
) -> None:
    asked = datetime.now(UTC)

    channel = cal.channels.watch(CALENDAR, "chan-1", "http://127.0.0.1:9/hook", "tok-1", 3600)
    live = cal.live_channels()
    cal.channels.stop_channel(channel.id, channel.resource_id)
    cal.channels.stop_channel(channel.id, channel.resource_id)  # already gone: not an error

    assert channel.id == "chan-1"
    assert channel.resource_id
    expected = asked + timedelta(seconds=3600)
    assert expected - timedelta(seconds=5) <= channel.expiration <= expected + timedelta(seconds=5)
    assert live == ["chan-1"]
    assert cal.live_channels() == []
