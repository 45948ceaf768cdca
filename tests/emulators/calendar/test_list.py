"""events.list: paging, bounds and filters.

Reference: calendar-api.md sections 1.1, 1.2 (orderBy rule), 1.3 and 5.1.
"""

from __future__ import annotations

import datetime
import time
from typing import Any

import pytest
from googleapiclient.errors import HttpError

from .support import (
    TIME_RANGE_EMPTY,
    UTC,
    assert_error_envelope,
    error_body,
    list_all,
    parse_time,
    rfc3339,
    start_of,
)

DAY0 = datetime.datetime(2026, 5, 4, 0, 0, tzinfo=UTC)


def _insert_many(service: Any, calendar_id: str, make_event: Any, count: int) -> list[str]:
    ids = []
    for index in range(count):
        start = DAY0 + datetime.timedelta(hours=index)
        created = (
            service.events()
            .insert(calendarId=calendar_id, body=make_event(f"event {index}", start=start))
            .execute()
        )
        ids.append(created["id"])
    return ids


def test_list_of_an_unused_calendar_is_empty_with_a_sync_token(service, calendar_id):
    page = service.events().list(calendarId=calendar_id).execute()

    assert page["kind"] == "calendar#events"
    assert page.get("items", []) == []
    assert "nextPageToken" not in page
    assert page["nextSyncToken"]


def test_default_page_size_is_250(service, calendar_id, make_event):
    _insert_many(service, calendar_id, make_event, 260)

    first = service.events().list(calendarId=calendar_id).execute()

    assert len(first["items"]) == 250
    assert first["nextPageToken"]
    assert "nextSyncToken" not in first


def test_pages_can_be_fetched_to_the_end(service, calendar_id, make_event):
    ids = _insert_many(service, calendar_id, make_event, 23)

    items, pages = list_all(service, calendarId=calendar_id, maxResults=5)

    assert sorted(item["id"] for item in items) == sorted(ids)
    assert all(len(page.get("items", [])) <= 5 for page in pages)
    assert len(pages) >= 5


def test_sync_token_only_on_last_page(service, calendar_id, make_event):
    _insert_many(service, calendar_id, make_event, 12)

    _, pages = list_all(service, calendarId=calendar_id, maxResults=5)

    for page in pages[:-1]:
        assert page["nextPageToken"]
        assert "nextSyncToken" not in page
    assert "nextPageToken" not in pages[-1]
    assert pages[-1]["nextSyncToken"]


def test_max_results_is_capped_at_2500(service, calendar_id, make_series):
    body = make_series(["RRULE:FREQ=DAILY;COUNT=2600"], start="2026-01-01T08:00:00")
    service.events().insert(calendarId=calendar_id, body=body).execute()

    # timeMax reaches past the last instance, so no expansion horizon can cut the series short.
    page = (
        service.events()
        .list(
            calendarId=calendar_id,
            singleEvents=True,
            maxResults=5000,
            timeMax="2034-01-01T00:00:00Z",
        )
        .execute()
    )

    assert len(page["items"]) == 2500
    assert page["nextPageToken"]
    assert "nextSyncToken" not in page


def test_max_results_zero_is_rejected(service, calendar_id):
    # The client sends maxResults=0 as is (it does not check the discovery minimum).
    request = service.events().list(calendarId=calendar_id, maxResults=0)
    assert "maxResults=0" in request.uri

    with pytest.raises(HttpError) as caught:
        request.execute()

    assert caught.value.resp.status == 400
    assert error_body(caught.value)["code"] == 400


def test_time_bounds_are_exclusive(service, calendar_id, make_event):
    # Four back-to-back hours; the window [10:00, 12:00) keeps only the middle two.
    day = datetime.datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
    ids = {}
    for hour in (9, 10, 11, 12):
        start = day.replace(hour=hour)
        ids[hour] = (
            service.events()
            .insert(calendarId=calendar_id, body=make_event(f"h{hour}", start=start))
            .execute()["id"]
        )

    items, _ = list_all(
        service,
        calendarId=calendar_id,
        timeMin=rfc3339(day.replace(hour=10)),
        timeMax=rfc3339(day.replace(hour=12)),
    )

    assert sorted(item["id"] for item in items) == sorted([ids[10], ids[11]])


def test_event_ending_exactly_at_time_min_is_excluded(service, calendar_id, make_event):
    start = datetime.datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
    service.events().insert(calendarId=calendar_id, body=make_event(start=start)).execute()

    items, _ = list_all(service, calendarId=calendar_id, timeMin="2026-05-04T10:00:00Z")

    assert items == []


def test_event_starting_exactly_at_time_max_is_excluded(service, calendar_id, make_event):
    start = datetime.datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
    service.events().insert(calendarId=calendar_id, body=make_event(start=start)).execute()

    items, _ = list_all(service, calendarId=calendar_id, timeMax="2026-05-04T09:00:00Z")

    assert items == []


def test_time_bounds_compare_instants_across_offsets(service, calendar_id, make_event):
    start = datetime.datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
    created = (
        service.events().insert(calendarId=calendar_id, body=make_event(start=start)).execute()
    )

    # 11:30+02:00 is 09:30Z: inside the event.
    items, _ = list_all(
        service,
        calendarId=calendar_id,
        timeMin="2026-05-04T11:30:00+02:00",
        timeMax="2026-05-04T11:45:00+02:00",
    )

    assert [item["id"] for item in items] == [created["id"]]


def test_time_min_after_time_max_is_an_empty_range(service, calendar_id):
    with pytest.raises(HttpError) as caught:
        service.events().list(
            calendarId=calendar_id,
            timeMin="2026-05-05T00:00:00Z",
            timeMax="2026-05-04T00:00:00Z",
        ).execute()

    assert_error_envelope(caught.value, 400, TIME_RANGE_EMPTY)


def test_updated_min_returns_only_later_changes(service, calendar_id, make_event):
    older = service.events().insert(calendarId=calendar_id, body=make_event("old")).execute()
    time.sleep(0.01)
    newer = service.events().insert(calendarId=calendar_id, body=make_event("new")).execute()
    threshold = parse_time(older["updated"]) + datetime.timedelta(milliseconds=5)
    assert parse_time(newer["updated"]) > threshold

    items, _ = list_all(
        service,
        calendarId=calendar_id,
        updatedMin=threshold.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    )

    assert [item["id"] for item in items] == [newer["id"]]


def test_updated_min_includes_later_deletions(service, calendar_id, make_event):
    kept = service.events().insert(calendarId=calendar_id, body=make_event("kept")).execute()
    doomed = service.events().insert(calendarId=calendar_id, body=make_event("gone")).execute()
    time.sleep(0.01)
    threshold = parse_time(max(kept["updated"], doomed["updated"])) + datetime.timedelta(
        milliseconds=5
    )
    service.events().delete(calendarId=calendar_id, eventId=doomed["id"]).execute()

    items, _ = list_all(
        service,
        calendarId=calendar_id,
        updatedMin=threshold.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    )

    assert [(item["id"], item["status"]) for item in items] == [(doomed["id"], "cancelled")]


def test_deleted_events_are_hidden_unless_show_deleted(service, calendar_id, make_event):
    kept = service.events().insert(calendarId=calendar_id, body=make_event("kept")).execute()
    doomed = service.events().insert(calendarId=calendar_id, body=make_event("gone")).execute()
    service.events().delete(calendarId=calendar_id, eventId=doomed["id"]).execute()

    hidden, _ = list_all(service, calendarId=calendar_id)
    shown, _ = list_all(service, calendarId=calendar_id, showDeleted=True)

    assert [item["id"] for item in hidden] == [kept["id"]]
    statuses = {item["id"]: item["status"] for item in shown}
    assert statuses == {kept["id"]: "confirmed", doomed["id"]: "cancelled"}


def test_order_by_start_time_with_single_events_sorts_by_start(
    service, calendar_id, make_event, make_series
):
    for day in (9, 2, 5):
        start = datetime.datetime(2026, 3, day, 12, 0, tzinfo=UTC)
        service.events().insert(calendarId=calendar_id, body=make_event(start=start)).execute()
    series = make_series(["RRULE:FREQ=DAILY;COUNT=4"], start="2026-03-03T08:00:00", time_zone="UTC")
    service.events().insert(calendarId=calendar_id, body=series).execute()

    items, _ = list_all(service, calendarId=calendar_id, singleEvents=True, orderBy="startTime")

    starts = [start_of(item) for item in items]
    assert len(starts) == 7
    assert starts == sorted(starts)


def test_free_text_query_matches_summary(service, calendar_id, make_event):
    match = (
        service.events()
        .insert(calendarId=calendar_id, body=make_event("Quarterly budget review"))
        .execute()
    )
    service.events().insert(calendarId=calendar_id, body=make_event("Lunch")).execute()

    items, _ = list_all(service, calendarId=calendar_id, q="budget")

    assert [item["id"] for item in items] == [match["id"]]


def test_private_extended_property_filter(service, calendar_id, make_event):
    tagged = make_event("tagged", extendedProperties={"private": {"confsync": "yes"}})
    match = service.events().insert(calendarId=calendar_id, body=tagged).execute()
    service.events().insert(calendarId=calendar_id, body=make_event("plain")).execute()

    items, _ = list_all(service, calendarId=calendar_id, privateExtendedProperty="confsync=yes")

    assert [item["id"] for item in items] == [match["id"]]


def test_ical_uid_filter(service, calendar_id, make_event):
    match = service.events().insert(calendarId=calendar_id, body=make_event("a")).execute()
    service.events().insert(calendarId=calendar_id, body=make_event("b")).execute()

    items, _ = list_all(service, calendarId=calendar_id, iCalUID=match["iCalUID"])

    assert [item["id"] for item in items] == [match["id"]]
