"""The test-support event builder gives what the Calendar API gives: an event it builds, stored
by the Calendar emulator, comes back with every field the builder wrote, unchanged."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from calendar_emulator.server import EmulatorServer
from tests.support.calendar_events import conference_data, event, event_time

CALENDAR = "builder@example.com"


@pytest.fixture(scope="module", name="calendar_server")
def calendar_server_fixture() -> Iterator[EmulatorServer]:
    with EmulatorServer(host="127.0.0.1", port=0) as server:
        yield server


def _insert(server: EmulatorServer, body: dict[str, Any]) -> dict[str, Any]:
    answer = requests.post(
        f"{server.api_endpoint}calendars/{CALENDAR}/events",
        params={"conferenceDataVersion": 1},
        json=body,
        timeout=10,
    )
    answer.raise_for_status()
    created: dict[str, Any] = answer.json()
    return created


def test_an_event_with_a_conference_comes_back_as_built(calendar_server: EmulatorServer) -> None:
    built = event(
        summary="Planning",
        start="2027-03-01T10:00:00Z",
        time_zone="UTC",
        attendees=["bob@example.com", {"email": "room@example.com", "resource": True}],
        conference=conference_data("c-1", join_url="https://conf.example/j/c-1", label="c-1"),
    )

    created = _insert(calendar_server, built)

    assert {key: created[key] for key in built} == built
    assert created["end"] == {"dateTime": "2027-03-01T11:00:00Z", "timeZone": "UTC"}
    assert created["conferenceData"] == {
        "conferenceId": "c-1",
        "conferenceSolution": {"key": {"type": "addOn"}, "name": "My Web Conference"},
        "entryPoints": [
            {"entryPointType": "video", "uri": "https://conf.example/j/c-1", "label": "c-1"}
        ],
    }


def test_a_recurring_all_day_event_comes_back_as_built(calendar_server: EmulatorServer) -> None:
    built = event(start="2027-03-01", recurrence=["RRULE:FREQ=WEEKLY;COUNT=3"])

    created = _insert(calendar_server, built)

    assert {key: created[key] for key in built} == built
    assert created["end"] == {"date": "2027-03-02"}


def test_the_organizer_is_self_on_its_own_calendar_unless_told_otherwise() -> None:
    assert event(organizer="a@example.com")["organizer"] == {"email": "a@example.com", "self": True}
    assert event(organizer="b@example.com", organizer_self=False)["organizer"] == {
        "email": "b@example.com"
    }


def test_times_keep_their_offset_and_mappings_are_taken_as_given() -> None:
    assert event(start="2027-03-01T10:00:00+01:00")["end"] == {
        "dateTime": "2027-03-01T11:00:00+01:00"
    }
    assert event_time({"dateTime": "x", "timeZone": "UTC"}, "Europe/Paris") == {
        "dateTime": "x",
        "timeZone": "UTC",
    }
