"""The channel lifecycle on emulators: Firestore (gcloud emulator), the Calendar API emulator with
real push delivery, and a local HTTP receiver standing in for the intake function.

The service is built from the real adapters (Firestore stores, the Google Calendar client); only
the two Pub/Sub publishers are recording fakes, because what is published is checked elsewhere.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from calendar_emulator.server import EmulatorServer
from confsync.adapters import firestore_http as firestore
from confsync.adapters.calendar_api import GoogleCalendarClientFactory, RetryPolicy
from confsync.adapters.firestore_channels import FirestoreChannelStore, FirestoreRecordForgetter
from confsync.adapters.firestore_store import FirestoreCalendarStore
from confsync.calendars import calendar_key
from confsync.channel_tokens import ChannelTokenKeys, verify_channel_token
from confsync.channels import ChannelService
from confsync.testing import RecordingCommandPublisher, RecordingPublisher
from confsync.testing.settings import channel_settings
from devstack.gcloud_emulators import EmulatorEndpoints

pytestmark = [pytest.mark.emulators, pytest.mark.timeout(90)]

KEYS = ChannelTokenKeys.parse("k1:lifecycle-secret-0123456789", "k1")
SUBJECT = "carol@example.com"
CALENDAR = "carol@example.com"
KEY = calendar_key(SUBJECT, CALENDAR)


# --- the notification receiver ---------------------------------------------------------------


@dataclass
class Receiver:
    """Records every notification POSTed to it (the headers that matter)."""

    url: str = ""
    received: list[dict[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def states(self, channel_id: str | None = None) -> list[str]:
        with self.lock:
            return [n["state"] for n in self.received if channel_id in (None, n["channel_id"])]

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            assert time.monotonic() < deadline, f"timed out; received {self.received}"
            time.sleep(0.05)


@pytest.fixture(name="receiver")
def receiver_fixture() -> Iterator[Receiver]:
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            with receiver.lock:
                receiver.received.append(
                    {
                        "channel_id": self.headers.get("X-Goog-Channel-ID", ""),
                        "token": self.headers.get("X-Goog-Channel-Token", ""),
                        "state": self.headers.get("X-Goog-Resource-State", ""),
                    }
                )
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/notify"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


# --- the stack -------------------------------------------------------------------------------


@dataclass
class Lifecycle:
    """The service on the emulators, and the admin views needed to check it."""

    calendar_server: EmulatorServer
    receiver: Receiver
    client: firestore.Client
    publisher: RecordingPublisher = field(default_factory=RecordingPublisher)
    commands: RecordingCommandPublisher = field(default_factory=RecordingCommandPublisher)

    def service(self, ttl_s: int = 3600, window_s: int = 600) -> ChannelService:
        settings = channel_settings(
            intake_url=self.receiver.url,
            token_keys=KEYS,
            channel_ttl=timedelta(seconds=ttl_s),
            renewal_window=timedelta(seconds=window_s),
        )
        factory = GoogleCalendarClientFactory(
            lambda _subject: None,
            api_endpoint=self.calendar_server.api_endpoint,
            retry=RetryPolicy(max_attempts=2, base_delay=0.01),
        )
        return ChannelService(
            calendar_api=factory,
            calendar_store=FirestoreCalendarStore(self.client),
            channels=FirestoreChannelStore(self.client),
            records=FirestoreRecordForgetter(self.client),
            publisher=self.publisher,
            commands=self.commands,
            settings=settings,
        )

    @property
    def channels(self) -> FirestoreChannelStore:
        return FirestoreChannelStore(self.client)

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        answer = requests.request(
            method, f"{self.calendar_server.base_url}/emulator/v1{path}", json=body, timeout=10
        )
        answer.raise_for_status()
        return answer.json() if answer.content else None

    def live_channels(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.admin("GET", "/channels")["channels"]
        return found

    def insert_event(self, summary: str) -> None:
        body = {
            "summary": summary,
            "start": {"dateTime": "2027-03-01T10:00:00Z"},
            "end": {"dateTime": "2027-03-01T11:00:00Z"},
        }
        requests.post(
            f"{self.calendar_server.api_endpoint}calendars/{CALENDAR}/events", json=body, timeout=10
        ).raise_for_status()


@pytest.fixture(name="lifecycle")
def lifecycle_fixture(
    firestore_emulator: EmulatorEndpoints, calendar_server: EmulatorServer, receiver: Receiver
) -> Lifecycle:
    requests.post(f"{calendar_server.base_url}/emulator/v1/reset", timeout=10).raise_for_status()
    client = firestore.Client.from_environment(firestore_emulator.project)
    return Lifecycle(calendar_server=calendar_server, receiver=receiver, client=client)


# --- the scenarios ---------------------------------------------------------------------------


def test_enroll_creates_one_channel_and_changes_are_notified(lifecycle: Lifecycle) -> None:
    service = lifecycle.service()

    service.enroll(SUBJECT, CALENDAR)
    service.enroll(SUBJECT, CALENDAR)  # idempotent

    [live] = lifecycle.live_channels()
    [stored] = lifecycle.channels.active_for(KEY)
    assert live["id"] == stored.id
    assert live["calendarId"] == CALENDAR
    assert live["resourceId"] == stored.resource_id
    assert verify_channel_token(KEYS, live["id"], live["token"], now=stored.created_at) == KEY
    assert [(r.calendar_key, r.reason) for r in lifecycle.publisher.published] == [(KEY, "enroll")]
    receiver = lifecycle.receiver
    receiver.wait_for(lambda: receiver.states() == ["sync"])

    lifecycle.insert_event("Planning")

    receiver.wait_for(lambda: receiver.states(stored.id) == ["sync", "exists"])


def test_primary_is_watched_as_the_users_own_calendar(lifecycle: Lifecycle) -> None:
    service = lifecycle.service()

    service.enroll(SUBJECT, "primary", source="addon")
    service.enroll(SUBJECT, CALENDAR)  # the same calendar by its address: nothing new

    [live] = lifecycle.live_channels()
    assert live["calendarId"] == CALENDAR
    [stored] = lifecycle.channels.active_for(KEY)
    doc = FirestoreCalendarStore(lifecycle.client).get(KEY)
    assert doc is not None
    assert doc.calendar_id == CALENDAR
    assert [(r.calendar_key, r.reason) for r in lifecycle.publisher.published] == [(KEY, "enroll")]
    receiver = lifecycle.receiver
    receiver.wait_for(lambda: receiver.states() == ["sync"])

    lifecycle.insert_event("Planning")

    receiver.wait_for(lambda: receiver.states(stored.id) == ["sync", "exists"])


def test_renewal_replaces_the_channel_before_it_expires(lifecycle: Lifecycle) -> None:
    service = lifecycle.service(ttl_s=8, window_s=6)
    service.enroll(SUBJECT, CALENDAR)
    [old] = lifecycle.channels.active_for(KEY)
    receiver = lifecycle.receiver
    receiver.wait_for(lambda: receiver.states(old.id) == ["sync"])

    time.sleep(4.5)  # now less than 4 s (half the lifetime) are left: the channel is due
    report = service.tick()

    assert report.renewed == 1
    [new] = lifecycle.channels.active_for(KEY)
    assert new.id != old.id
    assert lifecycle.channels.get(old.id) is None
    assert [c["id"] for c in lifecycle.live_channels()] == [new.id]
    assert time.time() < old.expiration.timestamp()  # replaced before the old one expired
    receiver.wait_for(lambda: receiver.states(new.id) == ["sync"])

    lifecycle.insert_event("After renewal")

    receiver.wait_for(lambda: receiver.states(new.id) == ["sync", "exists"])
    assert receiver.states(old.id) == ["sync"]


def test_unenroll_leaves_no_live_channel(lifecycle: Lifecycle) -> None:
    service = lifecycle.service()
    service.enroll(SUBJECT, CALENDAR)
    assert len(lifecycle.live_channels()) == 1

    service.unenroll(KEY)

    assert lifecycle.live_channels() == []
    assert [c.state for c in lifecycle.channels.of_calendar(KEY)] == ["stopped"]
    doc = FirestoreCalendarStore(lifecycle.client).get(KEY)
    assert doc is not None
    assert doc.state == "unenrolled"


def test_a_calendar_refusing_watches_is_enrolled_poll_only(lifecycle: Lifecycle) -> None:
    lifecycle.admin(
        "POST",
        "/faults",
        [
            {
                "method": "calendar.events.watch",
                "status": 400,
                "reason": "pushNotSupportedForRequestedResource",
            }
        ],
    )
    try:
        lifecycle.service().enroll(SUBJECT, CALENDAR)
    finally:
        lifecycle.admin("DELETE", "/faults")

    doc = FirestoreCalendarStore(lifecycle.client).get(KEY)
    assert doc is not None
    assert doc.state == "poll-only"
    assert lifecycle.live_channels() == []
    assert [r.reason for r in lifecycle.publisher.published] == ["enroll"]
