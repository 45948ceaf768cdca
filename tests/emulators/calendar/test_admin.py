"""The emulator's admin API: reset, channel listing, request counters and faults.

The contract is the emulator README ("Admin API"); the injected error bodies must follow
Google's catalogue (calendar-api.md section 5.1).
"""

from __future__ import annotations

import time

import pytest
from googleapiclient.errors import HttpError

from tests.support.calendar_events import conference_data
from tests.support.calendar_events import event as calendar_event

from .support import (
    BACKEND_ERROR,
    NOT_FOUND,
    RATE_LIMIT_EXCEEDED,
    assert_error_envelope,
    event_body,
    list_all,
)

pytestmark = pytest.mark.timeout(30)


def test_reset_forgets_events(service, admin, calendar_id):
    event = service.events().insert(calendarId=calendar_id, body=event_body()).execute()

    admin.reset()

    with pytest.raises(HttpError) as caught:
        service.events().get(calendarId=calendar_id, eventId=event["id"]).execute()
    assert_error_envelope(caught.value, 404, NOT_FOUND)
    items, _ = list_all(service, calendarId=calendar_id)
    assert items == []


def test_reset_forgets_channels(service, admin, calendar_id, watch):
    watch(calendar_id)

    admin.reset()

    assert admin.channels() == []


def test_channels_lists_live_channels(service, admin, calendar_id, watch, receiver):
    channel = watch(calendar_id, token="t=1")

    live = admin.channels()

    assert len(live) == 1
    entry = live[0]
    assert entry["id"] == channel["id"]
    assert entry["resourceId"] == channel["resourceId"]
    assert entry["resourceUri"] == channel["resourceUri"]
    assert entry["calendarId"] == calendar_id
    assert entry["address"] == receiver.address(channel["id"])
    assert entry["token"] == "t=1"
    assert int(entry["expiration"]) == int(channel["expiration"])


def test_request_counters_count_by_method(service, admin, calendar_id):
    service.events().insert(calendarId=calendar_id, body=event_body()).execute()
    service.events().list(calendarId=calendar_id).execute()
    service.events().list(calendarId=calendar_id).execute()

    counts = admin.request_counts()

    assert counts.get("calendar.events.insert") == 1
    assert counts.get("calendar.events.list") == 2
    assert not counts.get("calendar.events.delete")


def test_request_counters_reset(service, admin, calendar_id):
    service.events().list(calendarId=calendar_id).execute()

    admin.reset_request_counts()

    counts = admin.request_counts()
    assert not any(counts.values())


def test_rate_limit_fault_fires_once(service, admin, calendar_id):
    admin.add_faults(
        [
            {
                "method": "calendar.events.list",
                "status": 429,
                "reason": "rateLimitExceeded",
                "count": 1,
            }
        ]
    )

    with pytest.raises(HttpError) as caught:
        service.events().list(calendarId=calendar_id).execute()
    page = service.events().list(calendarId=calendar_id).execute()

    assert_error_envelope(caught.value, 429, RATE_LIMIT_EXCEEDED)
    assert page["kind"] == "calendar#events"


def test_fault_for_one_method_spares_the_others(service, admin, calendar_id):
    admin.add_faults([{"method": "calendar.events.list", "status": 500, "reason": "backendError"}])

    created = service.events().insert(calendarId=calendar_id, body=event_body()).execute()

    assert created["id"]


def test_fault_scoped_to_a_calendar(service, admin, calendar_id):
    other_calendar = f"other-{calendar_id}"
    admin.add_faults(
        [
            {
                "method": "calendar.events.list",
                "calendarId": calendar_id,
                "status": 429,
                "reason": "rateLimitExceeded",
            }
        ]
    )

    page = service.events().list(calendarId=other_calendar).execute()
    with pytest.raises(HttpError) as caught:
        service.events().list(calendarId=calendar_id).execute()

    assert page["kind"] == "calendar#events"
    assert_error_envelope(caught.value, 429, RATE_LIMIT_EXCEEDED)


def test_backend_error_fault(service, admin, calendar_id):
    admin.add_faults([{"status": 500, "reason": "backendError", "count": 1}])

    with pytest.raises(HttpError) as caught:
        service.events().list(calendarId=calendar_id).execute()

    assert_error_envelope(caught.value, 500, BACKEND_ERROR)


def test_forbidden_rate_limit_fault(service, admin, calendar_id):
    admin.add_faults([{"status": 403, "reason": "rateLimitExceeded", "count": 1}])

    with pytest.raises(HttpError) as caught:
        service.events().list(calendarId=calendar_id).execute()

    assert_error_envelope(caught.value, 403, RATE_LIMIT_EXCEEDED)


def test_delay_fault_slows_the_answer(service, admin, calendar_id):
    admin.add_faults([{"method": "calendar.events.list", "delayMs": 300, "count": 1}])

    started = time.monotonic()
    page = service.events().list(calendarId=calendar_id).execute()
    elapsed = time.monotonic() - started

    assert page["kind"] == "calendar#events"
    assert elapsed >= 0.3


def test_delete_faults_removes_every_rule(service, admin, calendar_id):
    admin.add_faults([{"method": "calendar.events.list", "status": 500, "reason": "backendError"}])

    admin.clear_faults()

    page = service.events().list(calendarId=calendar_id).execute()
    assert page["kind"] == "calendar#events"


def test_reset_removes_fault_rules(service, admin, calendar_id):
    admin.add_faults([{"method": "calendar.events.list", "status": 500, "reason": "backendError"}])

    admin.reset()

    page = service.events().list(calendarId=calendar_id).execute()
    assert page["kind"] == "calendar#events"


def test_dropped_notifications_never_arrive(service, admin, calendar_id, watch, receiver):
    admin.add_faults([{"target": "notifications", "dropProbability": 1}])
    channel = watch(calendar_id)

    service.events().insert(calendarId=calendar_id, body=event_body()).execute()

    receiver.assert_quiet(0.5, channel_id=channel["id"])


def test_duplicated_notifications_arrive_twice(service, admin, calendar_id, watch, receiver):
    admin.add_faults([{"target": "notifications", "duplicateProbability": 1}])
    channel = watch(calendar_id)
    receiver.wait_for_state(channel["id"], "sync", count=2)

    service.events().insert(calendarId=calendar_id, body=event_body()).execute()

    receiver.wait_for_state(channel["id"], "exists", count=2)


def test_delete_faults_removes_notification_rules(service, admin, calendar_id, watch, receiver):
    admin.add_faults([{"target": "notifications", "dropProbability": 1}])
    admin.clear_faults()
    channel = watch(calendar_id)

    service.events().insert(calendarId=calendar_id, body=event_body()).execute()

    receiver.wait_for_state(channel["id"], "exists")


def test_bulk_load_inserts_events_as_insert_would(service, admin, calendar_id):
    events = [
        calendar_event(
            summary=f"Event {n}",
            start=f"2026-12-01T{n:02d}:00:00Z",
            end=f"2026-12-01T{n:02d}:30:00Z",
            conference=conference_data(f"c-{n}", join_url=f"https://conf.example/{n}"),
        )
        for n in range(3)
    ]

    answer = admin.http.post(
        f"{admin.root}/calendars/{calendar_id}/events", json={"events": events}, timeout=10
    )

    assert answer.json() == {"inserted": 3}
    items, pages = list_all(service, calendarId=calendar_id)
    assert [e["summary"] for e in items] == ["Event 0", "Event 1", "Event 2"]
    assert items[0]["conferenceData"]["conferenceId"] == "c-0"
    assert items[0]["organizer"] == {"email": calendar_id, "self": True}
    assert "nextSyncToken" in pages[-1]


def test_bulk_load_stops_at_the_first_invalid_event(service, admin, calendar_id):
    good = {"start": {"date": "2026-12-01"}, "end": {"date": "2026-12-02"}}
    bad = {"start": {"date": "2026-12-01"}}

    answer = admin.http.post(
        f"{admin.root}/calendars/{calendar_id}/events",
        json={"events": [good, bad, good]},
        timeout=10,
    )

    assert answer.status_code == 400
    assert "events[1]" in answer.json()["error"]["message"]
    items, _ = list_all(service, calendarId=calendar_id)
    assert len(items) == 1
