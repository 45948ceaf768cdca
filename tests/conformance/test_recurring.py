"""Recurring events: instances, modified instances as exception objects (reference 1.6)."""

from __future__ import annotations

from conformance.calendar import Calendar, timed_event, window

DAILY_THREE = ["RRULE:FREQ=DAILY;COUNT=3"]


def test_a_series_expands_into_its_instances(calendar: Calendar) -> None:
    series = calendar.must_insert(timed_event("daily", day=300, recurrence=DAILY_THREE))

    instances = calendar.instances(series["id"])
    expanded, _ = calendar.list_all(singleEvents="true", **window(300, 303))
    collapsed, _ = calendar.list_all(**window(300, 303))

    assert instances.status == 200
    assert len(instances["items"]) == 3
    assert {item["recurringEventId"] for item in instances["items"]} == {series["id"]}
    assert all("recurrence" not in item for item in instances["items"])
    assert [item["id"] for item in expanded] == [item["id"] for item in instances["items"]]
    assert [item["id"] for item in collapsed] == [series["id"]]  # the parent, not instances
    assert series["recurrence"] == DAILY_THREE


def test_a_modified_instance_is_an_exception_object_next_to_its_series(
    calendar: Calendar,
) -> None:
    series = calendar.must_insert(timed_event("daily, one moved", day=310, recurrence=DAILY_THREE))
    second = calendar.instances(series["id"])["items"][1]
    token = calendar.sync_token()

    patched = calendar.patch(second["id"], {"summary": "the exception"})
    changed, _ = calendar.changes(token)
    collapsed, _ = calendar.list_all(**window(310, 313))
    expanded, _ = calendar.list_all(singleEvents="true", **window(310, 313))

    assert patched.status == 200
    assert patched["recurringEventId"] == series["id"]
    assert patched["originalStartTime"] == second["originalStartTime"]
    assert second["id"] in {item["id"] for item in changed}
    assert {item["id"] for item in collapsed} == {series["id"], second["id"]}
    assert [item["summary"] for item in expanded] == [
        "daily, one moved",
        "the exception",
        "daily, one moved",
    ]


def test_a_recurring_event_without_a_time_zone_is_refused(calendar: Calendar) -> None:
    body = timed_event("no zone", day=320, recurrence=DAILY_THREE)
    del body["start"]["timeZone"], body["end"]["timeZone"]

    answer = calendar.insert(body)

    assert answer.status == 400  # 1.6: timeZone is required for recurring events
