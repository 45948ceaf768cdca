"""GoogleCalendarClient against the in-process Google Calendar API emulator.

Each test resets the session's emulator and builds its client through the factory, the way
confsync does. The retry policy's ``sleep`` only records the requested durations, so nothing
here really waits except the timeout test (about one client timeout). Two failures the emulator
cannot produce use local stand-ins: a server that cuts its answer short, and credentials whose
token refresh fails.
"""

from __future__ import annotations

import random
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pytest
import requests
from google.auth.credentials import Credentials
from google.auth.exceptions import RefreshError

from calendar_emulator.server import EmulatorServer
from confsync.adapters.calendar_api import (
    GoogleCalendarClient,
    GoogleCalendarClientFactory,
    RetryPolicy,
)
from confsync.errors import (
    CalendarAccessError,
    CalendarUnavailableError,
    PermanentError,
    PreconditionFailedError,
    SyncTokenInvalidError,
)
from confsync.ports import CalendarClient, CalendarClientFactory, EventPage
from tests.support.calendar_events import conference_data
from tests.support.calendar_events import event as calendar_event

SUBJECT = "alice@example.com"
CALENDAR = "alice@example.com"
LIST = "calendar.events.list"
ADMIN_TIMEOUT = 5.0
WINDOW_START = datetime(2030, 1, 1, tzinfo=UTC)

ClientMaker = Callable[..., GoogleCalendarClient]


# --- helpers ---------------------------------------------------------------------------------


class Admin:
    """The emulator's admin API, plus direct API writes that bypass the adapter."""

    def __init__(self, server: EmulatorServer) -> None:
        self.base = server.base_url + "/emulator/v1"
        self.api = server.api_endpoint

    def call(self, method: str, path: str, body: Any = None) -> Any:
        response = requests.request(method, self.base + path, json=body, timeout=ADMIN_TIMEOUT)
        assert response.ok, response.text
        return response.json() if response.content else None

    def reset(self) -> None:
        self.call("POST", "/reset")

    def load(self, *events: dict[str, Any]) -> None:
        answer = self.call("POST", f"/calendars/{quote(CALENDAR)}/events", {"events": events})
        assert answer == {"inserted": len(events)}

    def invalidate_sync_tokens(self) -> None:
        self.call("POST", f"/calendars/{quote(CALENDAR)}/invalidate-sync-tokens")

    def faults(self, *rules: dict[str, Any]) -> None:
        self.call("POST", "/faults", list(rules))

    def calls(self, method: str) -> int:
        counts: dict[str, int] = self.call("GET", "/requests")["counts"]
        return counts.get(method, 0)

    def reset_counts(self) -> None:
        self.call("POST", "/requests/reset")

    def _event_url(self, event_id: str) -> str:
        return f"{self.api}calendars/{quote(CALENDAR)}/events/{event_id}"

    def patch_event(self, event_id: str, body: dict[str, Any]) -> None:
        requests.patch(
            self._event_url(event_id), json=body, timeout=ADMIN_TIMEOUT
        ).raise_for_status()

    def delete_event(self, event_id: str) -> None:
        requests.delete(self._event_url(event_id), timeout=ADMIN_TIMEOUT).raise_for_status()

    def stored_event(self, event_id: str) -> dict[str, Any]:
        response = requests.get(self._event_url(event_id), timeout=ADMIN_TIMEOUT)
        response.raise_for_status()
        return dict(response.json())


class Sleeps(list[float]):
    """A fake ``sleep``: records durations instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def event(event_id: str, day: int, summary: str = "Standup", year: int = 2030) -> dict[str, Any]:
    """A one-hour timed event on January ``day`` of ``year``."""
    return calendar_event(event_id, summary=summary, start=f"{year}-01-{day:02d}T09:00:00Z")


def conference(conference_id: str) -> dict[str, Any]:
    return conference_data(
        conference_id,
        solution="Confsync Meetings",
        join_url=f"https://meet.example.com/{conference_id}",
    )


def full_sync(client: CalendarClient) -> tuple[list[EventPage], str]:
    """Every page of a windowed full sync, and the sync token of its last page."""
    pages: list[EventPage] = []
    page_token: str | None = None
    while True:
        page = client.list_page(
            CALENDAR, sync_token=None, page_token=page_token, time_min=WINDOW_START
        )
        pages.append(page)
        if page.next_page_token is None:
            assert page.next_sync_token is not None
            return pages, page.next_sync_token
        page_token = page.next_page_token


def ids(pages: list[EventPage]) -> list[str]:
    return [item["id"] for page in pages for item in page.items]


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class RefusedCredentials(Credentials):
    """Credentials whose every token refresh fails with ``RefreshError``."""

    def __init__(self, *, retryable: bool) -> None:
        super().__init__()
        self.retryable = retryable
        self.refreshes = 0

    def refresh(self, request: Any) -> None:
        self.refreshes += 1
        if self.retryable:
            raise RefreshError("temporarily_unavailable: try again later", retryable=True)
        raise RefreshError("invalid_grant: Token has been expired or revoked.", retryable=False)


class TruncatingServer:
    """A local HTTP server that announces a long JSON body, sends part of it and hangs up."""

    ANSWER = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n"
        b'\r\n{"kind": "calendar#events", "items": ['
    )

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._listener.settimeout(0.05)  # accept() polls, so close() is quick
        self._stopping = threading.Event()
        self.answered = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(2)
                conn.recv(65536)
                conn.sendall(self.ANSWER)
                self.answered += 1

    def close(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=2)
        self._listener.close()


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture(name="admin")
def admin_fixture(calendar_server: EmulatorServer) -> Admin:
    """The session's emulator, emptied (events, tokens, faults, counters)."""
    admin = Admin(calendar_server)
    admin.reset()
    return admin


@pytest.fixture(name="sleeps")
def sleeps_fixture() -> Sleeps:
    return Sleeps()


@pytest.fixture(name="make_client")
def make_client_fixture(calendar_server: EmulatorServer, sleeps: Sleeps) -> ClientMaker:
    """Builds a client through the factory; keyword arguments go to the factory."""

    def make(
        *, api_endpoint: str | None = None, max_attempts: int = 5, **factory_options: Any
    ) -> GoogleCalendarClient:
        factory: CalendarClientFactory = GoogleCalendarClientFactory(
            lambda subject: None,
            api_endpoint=api_endpoint or calendar_server.api_endpoint,
            retry=RetryPolicy(max_attempts=max_attempts, sleep=sleeps),
            **factory_options,
        )
        client = factory.for_subject(SUBJECT)
        assert isinstance(client, GoogleCalendarClient)
        return client

    return make


@pytest.fixture(name="truncating_server")
def truncating_server_fixture() -> Iterator[TruncatingServer]:
    server = TruncatingServer()
    yield server
    server.close()


@pytest.fixture(name="client")
def client_fixture(admin: Admin, make_client: ClientMaker) -> GoogleCalendarClient:
    return make_client()


# --- events.list -----------------------------------------------------------------------------


def test_full_list_pages_through_the_window_with_the_factory_page_size(
    admin: Admin, make_client: ClientMaker
) -> None:
    # Arrange: five events in the window, one that ended before it
    admin.load(
        event("old001", 5, year=2029),
        *(event(f"evt{n:03d}", n) for n in range(1, 6)),
    )
    client = make_client(page_size=2)

    # Act
    pages, _ = full_sync(client)

    # Assert
    assert [len(page.items) for page in pages] == [2, 2, 1]
    assert ids(pages) == [f"evt{n:03d}" for n in range(1, 6)]
    assert all(page.next_page_token and not page.next_sync_token for page in pages[:-1])
    assert pages[-1].next_page_token is None
    assert pages[-1].next_sync_token
    assert admin.calls(LIST) == 3


def test_incremental_list_returns_only_changes_with_a_deletion_tombstone(
    admin: Admin, client: GoogleCalendarClient
) -> None:
    # Arrange
    admin.load(*(event(f"evt{n:03d}", n) for n in range(1, 4)))
    _, sync_token = full_sync(client)
    admin.patch_event("evt001", {"summary": "Renamed"})
    admin.delete_event("evt002")
    admin.load(event("evt004", 4))

    # Act
    page = client.list_page(CALENDAR, sync_token=sync_token, page_token=None, time_min=None)

    # Assert
    changes = {item["id"]: item for item in page.items}
    assert set(changes) == {"evt001", "evt002", "evt004"}
    assert changes["evt001"]["summary"] == "Renamed"
    tombstone = changes["evt002"]
    assert tombstone["status"] == "cancelled"
    assert "summary" not in tombstone  # raw, minimal, as Google sends it
    assert page.next_page_token is None
    assert page.next_sync_token
    assert page.next_sync_token != sync_token


def test_time_min_is_sent_on_full_syncs_only(admin: Admin, make_client: ClientMaker) -> None:
    # Arrange: the emulator answers 400 syncTokenWithRequestRestrictions to timeMin + syncToken
    admin.load(event("old001", 5, year=2029), *(event(f"evt{n:03d}", n) for n in range(1, 4)))
    client = make_client(page_size=2)
    pages, sync_token = full_sync(client)
    admin.load(*(event(f"add{n:03d}", 10 + n) for n in range(1, 4)))

    # Act: an incremental sync of two pages, the caller still passing its window
    first = client.list_page(
        CALENDAR, sync_token=sync_token, page_token=None, time_min=WINDOW_START
    )
    second = client.list_page(
        CALENDAR, sync_token=sync_token, page_token=first.next_page_token, time_min=WINDOW_START
    )

    # Assert: the window applied to the full sync, and the incremental pages raised no 400
    assert "old001" not in ids(pages)
    assert ids([first, second]) == ["add001", "add002", "add003"]
    assert first.next_page_token
    assert not first.next_sync_token
    assert second.next_sync_token


def test_invalidated_sync_token_raises_sync_token_invalid(
    admin: Admin, client: GoogleCalendarClient, sleeps: Sleeps
) -> None:
    # Arrange
    admin.load(event("evt001", 1))
    _, sync_token = full_sync(client)
    admin.invalidate_sync_tokens()
    admin.reset_counts()

    # Act / Assert
    with pytest.raises(SyncTokenInvalidError):
        client.list_page(CALENDAR, sync_token=sync_token, page_token=None, time_min=None)
    assert admin.calls(LIST) == 1
    assert sleeps == []


def test_garbled_sync_token_raises_sync_token_invalid(
    admin: Admin, client: GoogleCalendarClient, sleeps: Sleeps
) -> None:
    # Arrange
    _, sync_token = full_sync(client)

    # Act / Assert
    with pytest.raises(SyncTokenInvalidError):
        client.list_page(CALENDAR, sync_token="1" + sync_token, page_token=None, time_min=None)
    assert sleeps == []


# --- retries ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (429, "rateLimitExceeded"),
        (403, "rateLimitExceeded"),
        (403, "userRateLimitExceeded"),
        (403, "quotaExceeded"),
        (500, None),
        (503, None),
    ],
)
def test_transient_list_errors_are_retried_until_success(
    admin: Admin, client: GoogleCalendarClient, sleeps: Sleeps, status: int, reason: str | None
) -> None:
    # Arrange
    admin.load(event("evt001", 1))
    rule: dict[str, Any] = {"method": LIST, "status": status, "count": 2}
    if reason is not None:
        rule["reason"] = reason
    admin.faults(rule)

    # Act
    pages, _ = full_sync(client)

    # Assert
    assert ids(pages) == ["evt001"]
    assert len(sleeps) == 2
    assert admin.calls(LIST) == 3


def test_persistent_transient_error_gives_up_after_max_attempts(
    admin: Admin, make_client: ClientMaker, sleeps: Sleeps
) -> None:
    # Arrange
    admin.faults({"method": LIST, "status": 503, "count": 10})
    client = make_client(max_attempts=4)

    # Act / Assert
    with pytest.raises(CalendarUnavailableError):
        client.list_page(CALENDAR, sync_token=None, page_token=None, time_min=WINDOW_START)
    assert admin.calls(LIST) == 4
    assert len(sleeps) == 3


@pytest.mark.parametrize(
    ("status", "reason"),
    [(403, "forbidden"), (403, "forbiddenForNonOrganizer"), (401, None), (404, None)],
)
def test_access_errors_on_list_raise_calendar_access_without_retry(
    admin: Admin, client: GoogleCalendarClient, sleeps: Sleeps, status: int, reason: str | None
) -> None:
    # Arrange
    rule: dict[str, Any] = {"method": LIST, "calendarId": CALENDAR, "status": status}
    if reason is not None:
        rule["reason"] = reason
    admin.faults(rule)

    # Act / Assert
    with pytest.raises(CalendarAccessError):
        client.list_page(CALENDAR, sync_token=None, page_token=None, time_min=WINDOW_START)
    assert admin.calls(LIST) == 1
    assert sleeps == []


def test_other_client_errors_are_permanent_and_not_retried(
    admin: Admin, client: GoogleCalendarClient, sleeps: Sleeps
) -> None:
    # Arrange
    admin.faults({"method": LIST, "status": 400})

    # Act / Assert
    with pytest.raises(PermanentError) as caught:
        client.list_page(CALENDAR, sync_token=None, page_token=None, time_min=WINDOW_START)
    assert not isinstance(caught.value, CalendarAccessError)
    assert admin.calls(LIST) == 1
    assert sleeps == []


def test_connection_refused_gives_up_after_max_attempts(
    admin: Admin, make_client: ClientMaker, sleeps: Sleeps
) -> None:
    # Arrange
    client = make_client(api_endpoint=f"http://127.0.0.1:{closed_port()}/calendar/v3/")

    # Act / Assert
    with pytest.raises(CalendarUnavailableError):
        client.get_event(CALENDAR, "evt001")
    assert len(sleeps) == 4


def test_answer_cut_short_is_retried_then_gives_up(
    make_client: ClientMaker, sleeps: Sleeps, truncating_server: TruncatingServer
) -> None:
    # Arrange
    endpoint = f"http://127.0.0.1:{truncating_server.port}/calendar/v3/"
    client = make_client(api_endpoint=endpoint, max_attempts=3)

    # Act / Assert: a confsync error (transient), not http.client.IncompleteRead
    with pytest.raises(CalendarUnavailableError):
        client.list_page(CALENDAR, sync_token=None, page_token=None, time_min=WINDOW_START)
    assert truncating_server.answered == 3
    assert len(sleeps) == 2


def test_revoked_grant_raises_calendar_access_without_retry(
    admin: Admin, calendar_server: EmulatorServer, sleeps: Sleeps
) -> None:
    # Arrange
    credentials = RefusedCredentials(retryable=False)
    factory = GoogleCalendarClientFactory(
        lambda subject: credentials,
        api_endpoint=calendar_server.api_endpoint,
        retry=RetryPolicy(sleep=sleeps),
    )
    client = factory.for_subject(SUBJECT)

    # Act / Assert
    with pytest.raises(CalendarAccessError):
        client.list_page(CALENDAR, sync_token=None, page_token=None, time_min=WINDOW_START)
    assert credentials.refreshes == 1
    assert sleeps == []
    assert admin.calls(LIST) == 0


def test_token_endpoint_failing_for_now_is_retried_as_unavailable(
    admin: Admin, calendar_server: EmulatorServer, sleeps: Sleeps
) -> None:
    # Arrange: google-auth marks 5xx / temporarily_unavailable refresh failures retryable
    credentials = RefusedCredentials(retryable=True)
    factory = GoogleCalendarClientFactory(
        lambda subject: credentials,
        api_endpoint=calendar_server.api_endpoint,
        retry=RetryPolicy(max_attempts=3, sleep=sleeps),
    )
    client = factory.for_subject(SUBJECT)

    # Act / Assert: transient (retry later), not a disconnected calendar
    with pytest.raises(CalendarUnavailableError):
        client.list_page(CALENDAR, sync_token=None, page_token=None, time_min=WINDOW_START)
    assert credentials.refreshes == 3
    assert len(sleeps) == 2


def test_answer_slower_than_the_timeout_is_retried(
    admin: Admin, make_client: ClientMaker, sleeps: Sleeps
) -> None:
    # Arrange
    admin.load(event("evt001", 1))
    admin.faults({"method": LIST, "delayMs": 1500, "count": 1})
    client = make_client(timeout=0.5)

    # Act
    page = client.list_page(CALENDAR, sync_token=None, page_token=None, time_min=WINDOW_START)

    # Assert
    assert [item["id"] for item in page.items] == ["evt001"]
    assert page.next_sync_token
    assert len(sleeps) == 1
    assert admin.calls(LIST) == 2


def test_retry_waits_follow_full_jitter_under_the_capped_exponential() -> None:
    # Arrange
    sleeps = Sleeps()
    policy = RetryPolicy(base_delay=0.5, max_delay=4.0, sleep=sleeps, rng=random.Random(42))
    expected_rng = random.Random(42)
    ceilings = [min(4.0, 0.5 * 2 ** (n - 1)) for n in range(1, 9)]

    # Act
    for attempt in range(1, 9):
        policy.wait(attempt)

    # Assert
    assert ceilings == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0, 4.0, 4.0]
    assert sleeps == [expected_rng.uniform(0, ceiling) for ceiling in ceilings]
    assert all(0 <= slept <= ceiling for slept, ceiling in zip(sleeps, ceilings, strict=True))


# --- events.list by iCalUID (a series lookup) ----------------------------------------------------


def test_list_series_returns_the_master_and_every_exception_over_all_pages(
    admin: Admin, make_client: ClientMaker
) -> None:
    # Arrange: a weekly series with one occurrence renamed and one cancelled, and another event
    london = {"timeZone": "Europe/London"}
    series = event("ser001", 7)
    series["start"] |= london
    series["end"] |= london
    admin.load({**series, "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=4"]}, event("evt001", 8))
    admin.patch_event("ser001_20300114T090000Z", {"summary": "Renamed once"})
    admin.delete_event("ser001_20300121T090000Z")
    ical_uid = admin.stored_event("ser001")["iCalUID"]
    client = make_client(page_size=1)
    admin.reset_counts()

    # Act
    items = client.list_series(CALENDAR, ical_uid)

    # Assert: every page was fetched; the cancelled exception is there (showDeleted)
    by_id = {item["id"]: item for item in items}
    assert sorted(by_id) == ["ser001", "ser001_20300114T090000Z", "ser001_20300121T090000Z"]
    assert by_id["ser001_20300114T090000Z"]["summary"] == "Renamed once"
    assert by_id["ser001_20300121T090000Z"]["status"] == "cancelled"
    assert by_id["ser001_20300121T090000Z"]["recurringEventId"] == "ser001"
    assert admin.calls(LIST) == 3


# --- events.get ------------------------------------------------------------------------------


def test_get_existing_event_returns_its_mapping(admin: Admin, client: GoogleCalendarClient) -> None:
    # Arrange
    admin.load(event("evt001", 1, summary="Planning"))

    # Act
    found = client.get_event(CALENDAR, "evt001")

    # Assert
    assert found is not None
    assert found["id"] == "evt001"
    assert found["summary"] == "Planning"
    assert found["status"] == "confirmed"
    assert found["etag"]


def test_get_deleted_event_returns_it_cancelled(admin: Admin, client: GoogleCalendarClient) -> None:
    # Arrange
    admin.load(event("evt001", 1))
    admin.delete_event("evt001")

    # Act
    found = client.get_event(CALENDAR, "evt001")

    # Assert
    assert found is not None
    assert found["id"] == "evt001"
    assert found["status"] == "cancelled"


def test_get_unknown_event_returns_none(
    admin: Admin, client: GoogleCalendarClient, sleeps: Sleeps
) -> None:
    # Act
    found = client.get_event(CALENDAR, "unknown1")

    # Assert
    assert found is None
    assert admin.calls("calendar.events.get") == 1
    assert sleeps == []


# --- events.patch ----------------------------------------------------------------------------


def test_patch_with_current_etag_replaces_conference_data_only(
    admin: Admin, client: GoogleCalendarClient
) -> None:
    # Arrange
    admin.load({**event("evt001", 1, summary="Planning"), "conferenceData": conference("old")})
    current = client.get_event(CALENDAR, "evt001")
    assert current is not None

    # Act
    answer = client.patch_conference_data(CALENDAR, "evt001", current["etag"], conference("new"))

    # Assert
    stored = client.get_event(CALENDAR, "evt001")
    assert stored is not None
    assert stored["conferenceData"] == conference("new")
    assert stored["summary"] == "Planning"
    assert stored["start"] == current["start"]
    assert answer["etag"] == stored["etag"] != current["etag"]
    assert answer["conferenceData"] == conference("new")


def test_patch_with_stale_etag_raises_precondition_failed_and_changes_nothing(
    admin: Admin, client: GoogleCalendarClient, sleeps: Sleeps
) -> None:
    # Arrange
    admin.load({**event("evt001", 1, summary="Planning"), "conferenceData": conference("old")})
    stale = client.get_event(CALENDAR, "evt001")
    assert stale is not None
    admin.patch_event("evt001", {"summary": "Planning (moved)"})
    before = admin.stored_event("evt001")

    # Act / Assert
    with pytest.raises(PreconditionFailedError):
        client.patch_conference_data(CALENDAR, "evt001", stale["etag"], conference("new"))
    assert admin.stored_event("evt001") == before
    assert before["conferenceData"] == conference("old")
    assert sleeps == []
