"""Cross-check with a third-party client: gcal-sync's full and incremental sync.

gcal-sync (async, aiohttp) keeps a local store from events.list with sync tokens and
builds a timeline from it; if the emulator's sync semantics diverged from Google's, its
store would miss the change or keep the deleted event.
"""

from __future__ import annotations

import asyncio
import datetime
from typing import Any

import aiohttp
import pytest
from gcal_sync.api import GoogleCalendarService
from gcal_sync.auth import AbstractAuth
from gcal_sync.store import InMemoryCalendarStore
from gcal_sync.sync import CalendarEventSyncManager

from .support import UTC

pytestmark = pytest.mark.timeout(30)

RANGE_START = datetime.datetime(2026, 6, 1, tzinfo=UTC)
RANGE_END = datetime.datetime(2026, 7, 1, tzinfo=UTC)


class EmulatorAuth(AbstractAuth):
    """gcal-sync auth for the emulator, which ignores the token."""

    async def async_get_access_token(self) -> str:
        return "emulator-ignores-this"


def _summaries(timeline: Any) -> list[tuple[str, datetime.datetime]]:
    return [
        (event.summary, event.start.value) for event in timeline.overlapping(RANGE_START, RANGE_END)
    ]


def test_gcal_sync_follows_changes_and_deletions(emulator, service, calendar_id, make_event):
    keep = make_event("Keep", start=datetime.datetime(2026, 6, 2, 9, tzinfo=UTC))
    rename = make_event("Rename me", start=datetime.datetime(2026, 6, 3, 9, tzinfo=UTC))
    doomed = make_event("Delete me", start=datetime.datetime(2026, 6, 4, 9, tzinfo=UTC))
    series = {
        "summary": "Weekly",
        "start": {"dateTime": "2026-06-08T10:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2026-06-08T10:30:00", "timeZone": "UTC"},
        "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=3"],
    }
    events = service.events()
    ids = {
        name: events.insert(calendarId=calendar_id, body=body).execute()["id"]
        for name, body in (
            ("keep", keep),
            ("rename", rename),
            ("doomed", doomed),
            ("series", series),
        )
    }
    instances = events.instances(calendarId=calendar_id, eventId=ids["series"]).execute()
    second_instance = instances["items"][1]["id"]
    store = InMemoryCalendarStore()

    async def scenario() -> tuple[list[Any], list[Any], dict[str, Any]]:
        async with aiohttp.ClientSession() as session:
            auth = EmulatorAuth(session, host=f"{emulator.base_url}/calendar/v3")
            sync = CalendarEventSyncManager(
                GoogleCalendarService(auth), calendar_id=calendar_id, store=store
            )
            await sync.run()
            before = _summaries(await sync.store_service.async_get_timeline())

            events.patch(
                calendarId=calendar_id, eventId=ids["rename"], body={"summary": "Renamed"}
            ).execute()
            events.delete(calendarId=calendar_id, eventId=ids["doomed"]).execute()
            events.delete(calendarId=calendar_id, eventId=second_instance).execute()
            await sync.run()
            after = _summaries(await sync.store_service.async_get_timeline())
            data = await store.async_load()
            assert data is not None
            return before, after, data

    before, after, data = asyncio.run(scenario())

    def at(day: int, hour: int, minute: int = 0) -> datetime.datetime:
        return datetime.datetime(2026, 6, day, hour, minute, tzinfo=UTC)

    assert before == [
        ("Keep", at(2, 9)),
        ("Rename me", at(3, 9)),
        ("Delete me", at(4, 9)),
        ("Weekly", at(8, 10)),
        ("Weekly", at(15, 10)),
        ("Weekly", at(22, 10)),
    ]
    assert after == [
        ("Keep", at(2, 9)),
        ("Renamed", at(3, 9)),
        ("Weekly", at(8, 10)),
        ("Weekly", at(22, 10)),
    ]
    calendar_data = data["event_sync"][calendar_id]
    assert calendar_data["sync_token"]
    assert calendar_data["items"][ids["doomed"]]["status"] == "cancelled"
