"""Recurring events: expansion, instances, exceptions and cancelled instances.

Reference: calendar-api.md sections 1.1 (showDeleted trap), 1.5 and 1.6.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

from .support import (
    INSTANCE_TOMBSTONE_KEYS,
    UTC,
    full_sync,
    list_all,
    original_start_of,
    start_of,
)


def _utc(year: int, month: int, day: int, hour: int = 0) -> datetime.datetime:
    return datetime.datetime(year, month, day, hour, tzinfo=UTC)


def _insert(service: Any, calendar_id: str, body: dict[str, Any]) -> dict[str, Any]:
    created = service.events().insert(calendarId=calendar_id, body=body).execute()
    assert isinstance(created, dict)
    return created


def _instances(service: Any, calendar_id: str, series_id: str, **params: Any) -> list[Any]:
    items: list[Any] = []
    page_token = None
    while True:
        page = (
            service.events()
            .instances(calendarId=calendar_id, eventId=series_id, pageToken=page_token, **params)
            .execute()
        )
        items.extend(page.get("items", []))
        page_token = page.get("nextPageToken")
        if not page_token:
            return items


# Weekly on Mondays 09:00 Europe/Berlin; Berlin switches to summer time on 2026-03-29.
WEEKLY_BERLIN_UTC_STARTS = [
    _utc(2026, 3, 16, 8),
    _utc(2026, 3, 23, 8),
    _utc(2026, 3, 30, 7),
    _utc(2026, 4, 6, 7),
]


def test_weekly_count_expands_in_the_series_time_zone(service, calendar_id, make_series):
    series = _insert(service, calendar_id, make_series(["RRULE:FREQ=WEEKLY;COUNT=4"]))

    items, _ = list_all(service, calendarId=calendar_id, singleEvents=True)

    assert [start_of(item) for item in items] == WEEKLY_BERLIN_UTC_STARTS
    for item in items:
        assert item["recurringEventId"] == series["id"]
        assert original_start_of(item) == start_of(item)
        assert "recurrence" not in item
        assert start_of(item) + datetime.timedelta(minutes=30) == datetime.datetime.fromisoformat(
            item["end"]["dateTime"]
        ).astimezone(UTC)


def test_single_events_never_returns_the_parent_series(service, calendar_id, make_series):
    series = _insert(service, calendar_id, make_series(["RRULE:FREQ=WEEKLY;COUNT=4"]))

    items, _ = list_all(service, calendarId=calendar_id, singleEvents=True)

    assert series["id"] not in [item["id"] for item in items]


def test_plain_list_returns_the_series_once_with_its_recurrence(service, calendar_id, make_series):
    rule = "RRULE:FREQ=WEEKLY;COUNT=4"
    series = _insert(service, calendar_id, make_series([rule]))

    items, _ = list_all(service, calendarId=calendar_id)

    assert [item["id"] for item in items] == [series["id"]]
    assert items[0]["recurrence"] == [rule]


def test_daily_until_expands_up_to_and_including_until(service, calendar_id, make_series):
    body = make_series(
        ["RRULE:FREQ=DAILY;UNTIL=20260305T100000Z"],
        start="2026-03-01T10:00:00",
        time_zone="UTC",
    )
    _insert(service, calendar_id, body)

    items, _ = list_all(service, calendarId=calendar_id, singleEvents=True)

    assert [start_of(item) for item in items] == [_utc(2026, 3, day, 10) for day in range(1, 6)]


def test_exdate_removes_an_occurrence(service, calendar_id, make_series):
    body = make_series(["RRULE:FREQ=WEEKLY;COUNT=4", "EXDATE;TZID=Europe/Berlin:20260323T090000"])
    series = _insert(service, calendar_id, body)

    listed, _ = list_all(service, calendarId=calendar_id, singleEvents=True)
    instances = _instances(service, calendar_id, series["id"])

    expected = [WEEKLY_BERLIN_UTC_STARTS[i] for i in (0, 2, 3)]
    assert [start_of(item) for item in listed] == expected
    assert [start_of(item) for item in instances] == expected


def test_instances_lists_each_occurrence_with_ids_of_the_series(service, calendar_id, make_series):
    series = _insert(service, calendar_id, make_series(["RRULE:FREQ=WEEKLY;COUNT=4"]))

    instances = _instances(service, calendar_id, series["id"])

    assert [start_of(item) for item in instances] == WEEKLY_BERLIN_UTC_STARTS
    for item in instances:
        assert item["recurringEventId"] == series["id"]
        assert item["iCalUID"] == series["iCalUID"]
        assert re.fullmatch(re.escape(series["id"]) + r"_\d{8}T\d{6}Z", item["id"]), item["id"]
    assert len({item["id"] for item in instances}) == 4


def test_all_day_series_instances_use_date_ids(service, calendar_id):
    body = {
        "summary": "Holiday",
        "start": {"date": "2026-03-02", "timeZone": "Europe/Berlin"},
        "end": {"date": "2026-03-03", "timeZone": "Europe/Berlin"},
        "recurrence": ["RRULE:FREQ=DAILY;COUNT=3"],
    }
    series = _insert(service, calendar_id, body)

    instances = _instances(service, calendar_id, series["id"])

    assert [item["start"]["date"] for item in instances] == [
        "2026-03-02",
        "2026-03-03",
        "2026-03-04",
    ]
    assert [item["id"] for item in instances] == [
        f"{series['id']}_20260302",
        f"{series['id']}_20260303",
        f"{series['id']}_20260304",
    ]


def test_patching_an_instance_creates_an_exception(service, calendar_id, make_series):
    series = _insert(service, calendar_id, make_series(["RRULE:FREQ=WEEKLY;COUNT=4"]))
    second = _instances(service, calendar_id, series["id"])[1]

    patched = (
        service.events()
        .patch(calendarId=calendar_id, eventId=second["id"], body={"summary": "Moved topic"})
        .execute()
    )

    assert patched["id"] == second["id"]
    assert patched["recurringEventId"] == series["id"]
    assert original_start_of(patched) == WEEKLY_BERLIN_UTC_STARTS[1]
    assert patched["summary"] == "Moved topic"


def test_instance_exception_shows_in_single_events_and_instances(service, calendar_id, make_series):
    series = _insert(service, calendar_id, make_series(["RRULE:FREQ=WEEKLY;COUNT=4"]))
    second = _instances(service, calendar_id, series["id"])[1]
    service.events().patch(
        calendarId=calendar_id, eventId=second["id"], body={"summary": "Moved topic"}
    ).execute()

    listed, _ = list_all(service, calendarId=calendar_id, singleEvents=True)
    instances = _instances(service, calendar_id, series["id"])

    for items in (listed, instances):
        assert len(items) == 4
        assert [item["summary"] for item in items] == [
            "Standup",
            "Moved topic",
            "Standup",
            "Standup",
        ]
        assert items[1]["id"] == second["id"]


def test_plain_list_returns_series_and_modified_exception(service, calendar_id, make_series):
    series = _insert(service, calendar_id, make_series(["RRULE:FREQ=WEEKLY;COUNT=4"]))
    second = _instances(service, calendar_id, series["id"])[1]
    service.events().patch(
        calendarId=calendar_id, eventId=second["id"], body={"summary": "Moved topic"}
    ).execute()

    items, _ = list_all(service, calendarId=calendar_id)

    by_id = {item["id"]: item for item in items}
    assert set(by_id) == {series["id"], second["id"]}
    assert by_id[second["id"]]["recurringEventId"] == series["id"]
    assert original_start_of(by_id[second["id"]]) == WEEKLY_BERLIN_UTC_STARTS[1]


def test_moving_an_instance_keeps_its_original_start(service, calendar_id, make_series):
    series = _insert(service, calendar_id, make_series(["RRULE:FREQ=WEEKLY;COUNT=4"]))
    second = _instances(service, calendar_id, series["id"])[1]
    new_start = _utc(2026, 3, 24, 12)

    service.events().patch(
        calendarId=calendar_id,
        eventId=second["id"],
        body={
            "start": {"dateTime": "2026-03-24T12:00:00Z"},
            "end": {"dateTime": "2026-03-24T12:30:00Z"},
        },
    ).execute()

    listed, _ = list_all(service, calendarId=calendar_id, singleEvents=True)
    moved = next(item for item in listed if item["id"] == second["id"])
    assert start_of(moved) == new_start
    assert original_start_of(moved) == WEEKLY_BERLIN_UTC_STARTS[1]


def test_deleting_an_instance_hides_it_from_expansions(service, calendar_id, make_series):
    series = _insert(service, calendar_id, make_series(["RRULE:FREQ=WEEKLY;COUNT=4"]))
    second = _instances(service, calendar_id, series["id"])[1]

    result = service.events().delete(calendarId=calendar_id, eventId=second["id"]).execute()

    assert result == ""
    listed, _ = list_all(service, calendarId=calendar_id, singleEvents=True)
    instances = _instances(service, calendar_id, series["id"])
    expected = [WEEKLY_BERLIN_UTC_STARTS[i] for i in (0, 2, 3)]
    assert [start_of(item) for item in listed] == expected
    assert [start_of(item) for item in instances] == expected


def test_deleted_instance_is_a_cancelled_exception(service, calendar_id, make_series):
    series = _insert(service, calendar_id, make_series(["RRULE:FREQ=WEEKLY;COUNT=4"]))
    second = _instances(service, calendar_id, series["id"])[1]
    service.events().delete(calendarId=calendar_id, eventId=second["id"]).execute()

    fetched = service.events().get(calendarId=calendar_id, eventId=second["id"]).execute()

    assert fetched["status"] == "cancelled"
    assert fetched["recurringEventId"] == series["id"]
    assert original_start_of(fetched) == WEEKLY_BERLIN_UTC_STARTS[1]


def test_plain_list_still_returns_cancelled_instance(service, calendar_id, make_series):
    # Trap (1.1): with showDeleted=false and singleEvents=false, cancelled instances of a
    # recurring event are returned all the same.
    series = _insert(service, calendar_id, make_series(["RRULE:FREQ=WEEKLY;COUNT=4"]))
    second = _instances(service, calendar_id, series["id"])[1]
    service.events().delete(calendarId=calendar_id, eventId=second["id"]).execute()

    items, _ = list_all(service, calendarId=calendar_id)

    by_id = {item["id"]: item for item in items}
    assert set(by_id) == {series["id"], second["id"]}
    assert by_id[series["id"]]["status"] != "cancelled"
    cancelled = by_id[second["id"]]
    assert cancelled["status"] == "cancelled"
    assert cancelled["recurringEventId"] == series["id"]
    assert original_start_of(cancelled) == WEEKLY_BERLIN_UTC_STARTS[1]


def test_cancelled_instance_arrives_as_instance_tombstone_in_incremental_sync(
    service, calendar_id, make_series
):
    series = _insert(service, calendar_id, make_series(["RRULE:FREQ=WEEKLY;COUNT=4"]))
    _, token = full_sync(service, calendarId=calendar_id)
    second = _instances(service, calendar_id, series["id"])[1]
    service.events().delete(calendarId=calendar_id, eventId=second["id"]).execute()

    items, _ = full_sync(service, calendarId=calendar_id, syncToken=token)

    tombstone = next(item for item in items if item["id"] == second["id"])
    assert set(tombstone) == INSTANCE_TOMBSTONE_KEYS
    assert tombstone["kind"] == "calendar#event"
    assert tombstone["status"] == "cancelled"
    assert tombstone["recurringEventId"] == series["id"]
    assert original_start_of(tombstone) == WEEKLY_BERLIN_UTC_STARTS[1]


def test_deleting_the_series_removes_it_from_every_listing(service, calendar_id, make_series):
    series = _insert(service, calendar_id, make_series(["RRULE:FREQ=WEEKLY;COUNT=4"]))
    second = _instances(service, calendar_id, series["id"])[1]
    service.events().patch(
        calendarId=calendar_id, eventId=second["id"], body={"summary": "Moved topic"}
    ).execute()

    service.events().delete(calendarId=calendar_id, eventId=series["id"]).execute()

    plain, _ = list_all(service, calendarId=calendar_id)
    expanded, _ = list_all(service, calendarId=calendar_id, singleEvents=True)
    assert [item for item in plain if item.get("status") != "cancelled"] == []
    assert expanded == []


def test_single_events_with_show_deleted_returns_the_cancelled_instance(
    service, calendar_id, make_series
):
    series = _insert(service, calendar_id, make_series(["RRULE:FREQ=WEEKLY;COUNT=4"]))
    second = _instances(service, calendar_id, series["id"])[1]
    service.events().delete(calendarId=calendar_id, eventId=second["id"]).execute()

    items, _ = list_all(service, calendarId=calendar_id, singleEvents=True, showDeleted=True)

    statuses = {item["id"]: item["status"] for item in items}
    assert series["id"] not in statuses
    assert len(statuses) == 4
    assert statuses[second["id"]] == "cancelled"
    assert sorted(statuses.values()).count("cancelled") == 1


def test_modified_instance_arrives_in_incremental_sync_with_its_details(
    service, calendar_id, make_series
):
    series = _insert(service, calendar_id, make_series(["RRULE:FREQ=WEEKLY;COUNT=4"]))
    _, token = full_sync(service, calendarId=calendar_id)
    second = _instances(service, calendar_id, series["id"])[1]
    service.events().patch(
        calendarId=calendar_id, eventId=second["id"], body={"summary": "Moved topic"}
    ).execute()

    items, _ = full_sync(service, calendarId=calendar_id, syncToken=token)

    exception = next(item for item in items if item["id"] == second["id"])
    assert exception["status"] == "confirmed"
    assert exception["summary"] == "Moved topic"
    assert exception["recurringEventId"] == series["id"]
    assert original_start_of(exception) == WEEKLY_BERLIN_UTC_STARTS[1]


def test_single_events_incremental_sync_reports_the_cancelled_instance(
    service, calendar_id, make_series
):
    series = _insert(service, calendar_id, make_series(["RRULE:FREQ=WEEKLY;COUNT=4"]))
    items, token = full_sync(service, calendarId=calendar_id, singleEvents=True)
    assert len(items) == 4
    second = items[1]
    service.events().delete(calendarId=calendar_id, eventId=second["id"]).execute()

    changed, _ = full_sync(service, calendarId=calendar_id, singleEvents=True, syncToken=token)

    tombstone = next(item for item in changed if item["id"] == second["id"])
    assert set(tombstone) == INSTANCE_TOMBSTONE_KEYS
    assert tombstone["status"] == "cancelled"
    assert tombstone["recurringEventId"] == series["id"]
