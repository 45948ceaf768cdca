"""Offboarding with fakes: a calendar whose access is gone ends ``disconnected`` with its reason
and since when, its channels are stopped once, and after the retention the tick unenrolls it
with its conference records forgotten, never deleting a conference; a later enrolment
reconnects it."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import httplib2
import pytest
from google.auth.exceptions import RefreshError
from google.oauth2.credentials import Credentials as UserCredentials
from googleapiclient.errors import HttpError

from confsync.adapters.calendar_api import GoogleCalendarClient, RetryPolicy, classify_http_error
from confsync.calendars import CalendarDoc
from confsync.channel_tokens import ChannelTokenKeys
from confsync.channels import ChannelService
from confsync.channels.offboarding import duration_text
from confsync.errors import (
    OUTCOME_MAX_CHARS,
    CalendarAccessError,
    CalendarUnavailableError,
    ConfsyncError,
    deployment_wide,
)
from confsync.messages import SyncRequest
from confsync.testing import InMemoryChannelStore, RecordingCommandPublisher
from confsync.testing.settings import channel_settings
from tests.unit.test_sync_runner import CALENDAR, KEY, T0, World

SUBJECT = "alice@example.com"
RETENTION = timedelta(days=30)
KEYS_ENV = "k1:channel-secret-0123456789"


def _http(status: int, reason: str, method: str) -> ConfsyncError:
    """What the Calendar adapter raises for this answer of ``method``."""
    body = {"error": {"code": status, "message": reason, "errors": [{"reason": reason}]}}
    err = HttpError(httplib2.Response({"status": str(status)}), json.dumps(body).encode())
    error = classify_http_error(err, method)
    assert isinstance(error, ConfsyncError)
    return error


ACCESS_LOST: dict[str, tuple[ConfsyncError, str]] = {
    "calendar-404": (_http(404, "notFound", "events.list"), "HTTP 404 notFound"),
    "forbidden-403": (_http(403, "forbidden", "events.list"), "HTTP 403 forbidden"),
    "auth-401": (_http(401, "authError", "events.list"), "HTTP 401 authError"),
    "user-deleted": (
        CalendarAccessError(
            "events.list: credentials refused: delegated token: invalid_grant (Invalid email or "
            "User ID); the user is unknown, suspended or deleted in Workspace"
        ),
        "invalid_grant",
    ),
    "not-authorized": (
        CalendarAccessError(
            "events.list: credentials refused: delegated token: unauthorized_client (Client is "
            "unauthorized to retrieve access tokens using this method)"
        ),
        "unauthorized_client",
    ),
}

DEPLOYMENT_WIDE: dict[str, ConfsyncError] = {
    "not-authorized": ACCESS_LOST["not-authorized"][0],
    "sign-refused": CalendarAccessError(
        "events.list: credentials refused: signJwt as sync-delegate@p.iam.gserviceaccount.com: "
        "HTTP 403 (Permission denied); deployment error: the function's service account needs "
        "roles/iam.serviceAccountTokenCreator on sync-delegate@p.iam.gserviceaccount.com"
    ),
    "api-disabled": _http(403, "accessNotConfigured", "events.list"),
    "scope-lost": _http(403, "insufficientPermissions", "events.list"),
}

TRANSIENT: dict[str, ConfsyncError] = {
    "calendar-503": _http(503, "backendError", "events.list"),
    "rate-limit-403": _http(403, "rateLimitExceeded", "events.list"),
    "token-endpoint-503": CalendarUnavailableError(
        "events.list: token refresh failed: delegated token: server_error"
    ),
    "token-network": CalendarUnavailableError(
        "events.list: token refresh failed: delegated token: TransportError: connection reset"
    ),
}


@dataclass
class Stack:
    """The sync runner's world and the channel service over the same stores and clock."""

    world: World = field(default_factory=World)
    channels: InMemoryChannelStore = field(default_factory=InMemoryChannelStore)
    commands: RecordingCommandPublisher = field(default_factory=RecordingCommandPublisher)

    def __post_init__(self) -> None:
        self.world.calendar.channel_now = self.world.clock
        counter = iter(range(1, 1_000_000))
        self._ids = lambda: f"ch-{next(counter)}"

    def service(self) -> ChannelService:
        settings = channel_settings(
            intake_url="https://intake.example/notify",
            token_keys=ChannelTokenKeys.parse(KEYS_ENV, "k1"),
            disconnected_retention=RETENTION,
        )
        return ChannelService(
            calendar_api=self.world.calendar,
            calendar_store=self.world.calendars,
            channels=self.channels,
            publisher=self.world.publisher,
            commands=self.commands,
            records=self.world.records,
            settings=settings,
            now=self.world.clock,
            new_channel_id=self._ids,
            rng=random.Random(3),
        )

    def enroll(self) -> None:
        self.service().enroll(SUBJECT, CALENDAR)

    def tick(self) -> None:
        self.service().tick()

    def doc(self) -> CalendarDoc:
        doc = self.world.calendars.get(KEY)
        assert doc is not None
        return doc

    def later(self, delta: timedelta) -> None:
        self.world.clock.now += delta

    def active_channels(self) -> list[str]:
        return [c.id for c in self.channels.all() if c.state == "active"]

    def stops(self) -> int:
        return len([c for c in self.world.calendar.channel_calls if c.kind == "stop"])

    def lose_access(self, error: ConfsyncError | None = None) -> None:
        """The next sync finds the calendar's access gone."""
        self.world.calendar.fail_lists.append(error or _http(404, "notFound", "events.list"))
        assert self.world.sync().status == "disconnected"


@pytest.fixture(name="stack")
def stack_fixture() -> Stack:
    """Alice enrolled, her calendar synced once with one conference recorded."""
    stack = Stack()
    stack.enroll()
    stack.world.conference_event("e1", "c1")
    assert stack.world.sync().status == "synced"
    assert stack.world.records.all()
    return stack


# --- disconnection ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ACCESS_LOST)
def test_each_kind_of_lost_access_disconnects_with_its_reason_and_since_when(
    stack: Stack, kind: str
) -> None:
    error, reason = ACCESS_LOST[kind]
    stack.later(timedelta(minutes=5))

    stack.lose_access(error)

    doc = stack.doc()
    assert doc.state == "disconnected"
    assert reason in (doc.last_outcome or "")
    assert doc.last_outcome == str(error)  # short already: kept whole, on one line
    assert doc.disconnected_at == T0 + timedelta(minutes=5)
    assert doc.channels == {}  # notifications in flight are dropped from now on


@pytest.mark.parametrize("kind", TRANSIENT)
def test_a_transient_failure_is_retried_and_disconnects_nothing(stack: Stack, kind: str) -> None:
    windows = stack.doc().channels
    stack.world.calendar.fail_lists.append(TRANSIENT[kind])

    with pytest.raises(CalendarUnavailableError):
        stack.world.sync()

    doc = stack.doc()
    assert (doc.state, doc.disconnected_at) == ("active", None)
    assert doc.channels == windows
    assert stack.world.sync().status == "synced"  # the redelivery succeeds


def test_a_long_reason_is_cut_to_one_short_line(stack: Stack) -> None:
    stack.lose_access(CalendarAccessError("events.list: credentials refused:\n" + "x" * 1000))

    outcome = stack.doc().last_outcome or ""
    assert len(outcome) == OUTCOME_MAX_CHARS
    assert "\n" not in outcome
    assert outcome.startswith("events.list: credentials refused: xxx")
    assert outcome.endswith("...")


def test_a_failed_enrolment_of_a_disconnected_calendar_starts_its_retention_over(
    stack: Stack,
) -> None:
    stack.lose_access()
    stack.later(timedelta(days=3))
    stack.world.calendar.fail_channel_calls.append(_http(401, "authError", "events.watch"))

    stack.enroll()  # an operator enrols her again: she was active for a moment, then refused

    doc = stack.doc()
    assert doc.state == "disconnected"
    assert doc.last_outcome == "events.watch: HTTP 401 authError"
    assert doc.disconnected_at == T0 + timedelta(days=3)


def test_a_watch_finding_the_calendar_gone_disconnects_and_forgets_its_window() -> None:
    stack = Stack()
    stack.world.calendar.fail_channel_calls.append(_http(404, "notFound", "events.watch"))

    stack.enroll()

    doc = stack.doc()
    assert (doc.state, doc.disconnected_at) == ("disconnected", T0)
    assert doc.last_outcome == "events.watch: HTTP 404 notFound"
    assert doc.channels == {}
    assert stack.active_channels() == []
    assert stack.world.publisher.published == []  # no first sync of a calendar that is gone


# --- token refusals through the Calendar adapter ------------------------------------------------


@dataclass
class _Answer:
    status: int
    data: bytes
    headers: dict[str, str] = field(default_factory=dict)


class _TokenEndpoint:
    """A google-auth transport for the token endpoint only, answering one scripted error."""

    def __init__(self, status: int, body: dict[str, str]) -> None:
        self.status, self.body, self.calls = status, body, 0

    def __call__(self, url: str, method: str = "GET", **_: object) -> _Answer:
        self.calls += 1
        return _Answer(self.status, json.dumps(self.body).encode())


class _Listing:
    """The Calendar service object of one ``events.list`` whose credentials must refresh first."""

    def __init__(self, refresh: Callable[[], None]) -> None:
        self._refresh = refresh
        self.sent = 0

    def events(self) -> _Listing:
        return self

    def list(self, **_: object) -> _Listing:
        return self

    def execute(self, num_retries: int = 0) -> dict[str, object]:
        self._refresh()  # what AuthorizedHttp does before sending with an expired token
        self.sent += 1
        return {"items": []}


def _list_through(refresh: Callable[[], None]) -> tuple[_Listing, GoogleCalendarClient]:
    service = _Listing(refresh)
    policy = RetryPolicy(max_attempts=3, sleep=lambda _s: None)
    return service, GoogleCalendarClient(service, retry=policy)  # type: ignore[arg-type]


def test_google_auth_marks_invalid_grant_final_so_the_calendar_is_disconnected() -> None:
    """Evidence for not retrying ``invalid_grant``: google-auth itself raises it as a RefreshError
    that is not retryable (RFC 6749 section 5.2: the grant is invalid, expired or revoked, or the
    user is unknown), so the adapter raises CalendarAccessError at the first attempt."""
    endpoint = _TokenEndpoint(400, {"error": "invalid_grant", "error_description": "Bad Request"})
    user = UserCredentials(
        token=None,
        refresh_token="1//r",
        client_id="c",
        client_secret="s",
        token_uri="https://oauth.test/token",
    )
    service, client = _list_through(lambda: user.refresh(endpoint))

    with pytest.raises(CalendarAccessError, match="invalid_grant") as caught:
        client.list_page(CALENDAR, sync_token=None, page_token=None, time_min=None)

    assert endpoint.calls == 1
    assert service.sent == 0
    assert "1//r" not in caught.value.outcome


def test_a_token_endpoint_outage_is_retried_then_transient() -> None:
    def refresh() -> None:
        raise RefreshError("delegated token: server_error", retryable=True)

    _service, client = _list_through(refresh)

    with pytest.raises(CalendarUnavailableError, match="token refresh failed"):
        client.list_page(CALENDAR, sync_token=None, page_token=None, time_min=None)


# --- the tick stops their channels --------------------------------------------------------------


def test_the_tick_stops_the_channels_of_a_disconnected_calendar_once(stack: Stack) -> None:
    [channel] = stack.active_channels()
    stack.lose_access()

    stack.tick()
    stack.tick()

    assert stack.stops() == 1
    assert stack.world.calendar.live_channels() == []
    assert stack.active_channels() == []
    assert stack.channels.get(channel) is None  # stopped, then collected


def test_a_stop_refused_because_the_user_is_gone_is_tried_once(stack: Stack) -> None:
    stack.lose_access()
    stack.world.calendar.fail_channel_calls.append(_http(401, "authError", "channels.stop"))

    for _ in range(3):
        stack.tick()
        stack.later(timedelta(minutes=15))

    assert stack.stops() == 1
    assert stack.active_channels() == []
    assert stack.channels.all() == []  # marked stopped, then forgotten: it expires by itself


def test_a_stop_that_failed_for_now_is_left_to_garbage_collection(stack: Stack) -> None:
    stack.lose_access()
    stack.world.calendar.fail_channel_calls.append(_http(503, "backendError", "channels.stop"))

    stack.tick()
    [left] = stack.channels.all()
    stack.tick()

    assert left.state == "superseded"
    assert stack.stops() == 2
    assert stack.channels.all() == []


# --- retention ----------------------------------------------------------------------------------


def test_the_tick_retires_a_calendar_only_after_the_retention(stack: Stack) -> None:
    stack.lose_access()

    stack.later(RETENTION - timedelta(seconds=1))
    stack.tick()
    kept = stack.doc()
    stack.later(timedelta(seconds=2))
    stack.tick()
    retired = stack.doc()

    assert kept.state == "disconnected"
    assert retired.state == "unenrolled"
    assert retired.last_outcome == "unenrolled after 30 days disconnected"
    assert retired.disconnected_at is None
    [record] = stack.world.records.all().values()  # kept (others may share it), minus her part
    assert KEY not in record.calendars
    assert record.home_key != KEY or record.pending is None
    assert stack.world.records.attached_to(KEY) == {}


@pytest.mark.parametrize("kind", ["not-authorized", "sign-refused", "api-disabled", "scope-lost"])
def test_a_deployment_wide_reason_keeps_the_calendar_past_the_retention(
    stack: Stack, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    stack.lose_access(DEPLOYMENT_WIDE[kind])
    stack.later(RETENTION + timedelta(days=1))

    report = stack.service().tick()

    doc = stack.doc()
    assert doc.state == "disconnected"
    assert doc.disconnected_at is not None
    assert stack.world.records.attached_to(KEY) != {}  # nothing forgotten
    assert report.kept_disconnected == 1
    assert report.unenrolled == 0
    assert any(
        r.levelname == "ERROR" and "deployment's configuration" in r.getMessage()
        for r in caplog.records
    )


@pytest.mark.parametrize("kind", ACCESS_LOST)
def test_only_reasons_of_the_deployment_count_as_deployment_wide(kind: str) -> None:
    error, _reason = ACCESS_LOST[kind]
    assert deployment_wide(error.outcome) == (kind == "not-authorized")  # type: ignore[attr-defined]


def test_retirement_deletes_no_conference(stack: Stack) -> None:
    calls_before = list(stack.world.provider.calls)
    stack.lose_access()
    stack.later(RETENTION + timedelta(hours=1))

    stack.tick()
    stack.tick()

    assert stack.doc().state == "unenrolled"
    assert stack.world.provider.calls == calls_before  # the conferencing system saw nothing
    assert "c1" in stack.world.provider.conferences
    assert not any(c.kind == "delete" for c in stack.world.provider.calls)


def test_a_calendar_enrolled_again_after_the_query_is_not_retired(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack.lose_access()
    stale = stack.doc()
    stack.later(RETENTION + timedelta(hours=1))
    stack.enroll()  # between the retention query and the retirement
    monkeypatch.setattr(stack.world.calendars, "disconnected_before", lambda *_: [stale])

    stack.tick()

    doc = stack.doc()
    assert (doc.state, doc.last_outcome) == ("active", "enrolled")
    assert len(stack.active_channels()) == 1
    [record] = stack.world.records.all().values()
    assert KEY in record.calendars  # nothing forgotten


# --- reconnection -------------------------------------------------------------------------------


def test_a_later_enrolment_reconnects(stack: Stack) -> None:
    [old_channel] = stack.active_channels()
    stack.lose_access()
    stack.tick()
    stack.later(timedelta(days=2))

    stack.enroll()

    doc = stack.doc()
    assert (doc.state, doc.disconnected_at, doc.last_outcome) == ("active", None, "enrolled")
    [channel] = stack.active_channels()
    assert channel != old_channel
    assert stack.world.calendar.live_channels() == [channel]
    assert stack.world.sync().status == "synced"
    stale = SyncRequest(
        calendar_key=KEY,
        reason="notification",
        notified_at=stack.world.clock(),
        channel_id=old_channel,
    )
    assert stack.world.runner().run(stale).status == "dropped"


def test_a_retired_calendar_enrolled_again_is_active(stack: Stack) -> None:
    stack.lose_access()
    stack.later(RETENTION + timedelta(days=1))
    stack.tick()

    stack.enroll()

    doc = stack.doc()
    assert (doc.state, doc.disconnected_at) == ("active", None)
    assert len(stack.active_channels()) == 1


@pytest.mark.parametrize(
    ("span", "text"),
    [
        (timedelta(days=30, hours=5), "30 days"),
        (timedelta(days=1), "1 day"),
        (timedelta(hours=5, minutes=59), "5 hours"),
        (timedelta(seconds=61), "1 minute"),
        (timedelta(seconds=59), "59 seconds"),
        (timedelta(seconds=-3), "0 seconds"),
    ],
)
def test_durations_read_in_their_largest_unit(span: timedelta, text: str) -> None:
    assert duration_text(span) == text
