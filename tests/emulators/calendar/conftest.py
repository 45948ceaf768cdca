"""Fixtures for the Calendar API emulator conformance tests.

One in-process emulator serves the whole session; every test starts from a reset
emulator and talks to it through an unmodified google-api-python-client.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from google.auth.credentials import AnonymousCredentials
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build

from calendar_emulator.server import EmulatorServer

from .support import Admin, NotificationReceiver, event_body

EventFactory = Callable[..., dict[str, Any]]


@pytest.fixture(scope="session", name="emulator")
def fixture_emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer(host="127.0.0.1", port=0) as server:
        yield server


@pytest.fixture(scope="session", name="session_service")
def fixture_session_service(emulator: EmulatorServer) -> Any:
    return build(
        "calendar",
        "v3",
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": emulator.api_endpoint},
        static_discovery=True,
    )


@pytest.fixture(name="service_as")
def fixture_service_as(emulator: EmulatorServer, service: Any) -> Callable[[str], Any]:
    """The Calendar client acting as a named user: `service_as("ada@example.com")`.

    The emulator names the caller by the bearer token `user:<email>` (README, "Callers and
    roles"); `service` (anonymous) is reset for the test first.
    """

    def build_for(user: str) -> Any:
        return build(
            "calendar",
            "v3",
            credentials=Credentials(token=f"user:{user}"),
            client_options={"api_endpoint": emulator.api_endpoint},
            static_discovery=True,
        )

    return build_for


@pytest.fixture(scope="session", name="admin")
def fixture_admin(emulator: EmulatorServer) -> Admin:
    return Admin(emulator.base_url)


@pytest.fixture(name="service")
def fixture_service(admin: Admin, session_service: Any) -> Any:
    """The Calendar client, against an emulator reset for this test."""
    admin.reset()
    return session_service


@pytest.fixture(name="calendar_id")
def fixture_calendar_id() -> str:
    """A calendar id of its own for this test (calendars spring into existence on use)."""
    return f"c{uuid.uuid4().hex[:16]}@group.calendar.google.com"


@pytest.fixture(name="receiver")
def fixture_receiver() -> Iterator[NotificationReceiver]:
    receiver = NotificationReceiver()
    receiver.start()
    yield receiver
    receiver.stop()


@pytest.fixture(name="make_event")
def fixture_make_event() -> EventFactory:
    """Build a timed event body: `make_event(summary, start=..., minutes=60, **fields)`."""
    return event_body


@pytest.fixture(name="make_series")
def fixture_make_series() -> EventFactory:
    """Build a recurring event body in a named zone.

    `make_series(["RRULE:FREQ=WEEKLY;COUNT=4"], start="2026-03-16T09:00:00",
    time_zone="Europe/Berlin", minutes=30, summary=...)`.
    """

    def make(
        recurrence: list[str],
        *,
        start: str = "2026-03-16T09:00:00",
        time_zone: str = "Europe/Berlin",
        minutes: int = 30,
        summary: str = "Standup",
        **fields: Any,
    ) -> dict[str, Any]:
        end = datetime.datetime.fromisoformat(start) + datetime.timedelta(minutes=minutes)
        body: dict[str, Any] = {
            "summary": summary,
            "start": {"dateTime": start, "timeZone": time_zone},
            "end": {"dateTime": end.isoformat(), "timeZone": time_zone},
            "recurrence": recurrence,
        }
        body.update(fields)
        return body

    return make


@pytest.fixture(name="watch")
def fixture_watch(service: Any, receiver: NotificationReceiver) -> Callable[..., dict[str, Any]]:
    """Open a push channel on a calendar: `watch(calendar_id, **channel_fields)`."""

    def open_channel(calendar_id: str, **fields: Any) -> dict[str, Any]:
        channel_id = fields.pop("id", f"ch-{uuid.uuid4()}")
        body: dict[str, Any] = {
            "id": channel_id,
            "type": "web_hook",
            "address": receiver.address(channel_id),
        }
        body.update(fields)
        result = service.events().watch(calendarId=calendar_id, body=body).execute()
        assert isinstance(result, dict)
        return result

    return open_channel
