"""Deleted, cancelled and moved events (reference 1.5, 1.7, 5.1): what get, lists and incremental
lists answer for them."""

from __future__ import annotations

from typing import Any

from conformance.calendar import Calendar, timed_event, window

from .conftest import Target

DAILY_THREE = ["RRULE:FREQ=DAILY;COUNT=3"]


def test_a_deleted_event_is_a_tombstone_in_incremental_lists_and_gone_from_full_ones(
    calendar: Calendar,
) -> None:
    event = calendar.must_insert(timed_event("to delete", day=200))
    token = calendar.sync_token()

    assert calendar.delete(event["id"]).status == 204
    changed, _ = calendar.changes(token)
    full, _ = calendar.list_all(**window(200, 200))
    with_deleted, _ = calendar.list_all(showDeleted="true", **window(200, 200))
    got = calendar.get(event["id"])

    [tombstone] = [item for item in changed if item["id"] == event["id"]]
    assert tombstone["status"] == "cancelled"
    assert event["id"] not in {item["id"] for item in full}
    assert {item["id"]: item["status"] for item in with_deleted}[event["id"]] == "cancelled"
    assert got.status == 200  # get always answers a deleted event (1.5)
    assert got["status"] == "cancelled"


def test_deleting_a_deleted_event_answers_410_deleted(calendar: Calendar) -> None:
    event = calendar.must_insert(timed_event("deleted twice", day=201))
    assert calendar.delete(event["id"]).status == 204

    again = calendar.delete(event["id"])

    assert again.status == 410
    assert again["error"] == {  # 1.7: Google's documented body
        "errors": [
            {"domain": "global", "reason": "deleted", "message": "Resource has been deleted"}
        ],
        "code": 410,
        "message": "Resource has been deleted",
    }


def _series(
    calendar: Calendar, summary: str, day: int
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    series = calendar.must_insert(timed_event(summary, day=day, recurrence=DAILY_THREE))
    instances = calendar.instances(series["id"])
    assert instances.status == 200, instances.body
    return series, instances["items"]


def test_a_cancelled_instance_is_an_exception_carrying_its_series_and_original_start(
    calendar: Calendar,
) -> None:
    series, instances = _series(calendar, "series with a hole", 210)
    token = calendar.sync_token()

    assert calendar.delete(instances[1]["id"]).status == 204
    changed, _ = calendar.changes(token)
    full, _ = calendar.list_all(**window(210, 213))  # showDeleted and singleEvents false

    [hole] = [item for item in changed if item["id"] == instances[1]["id"]]
    assert hole["status"] == "cancelled"
    assert hole["recurringEventId"] == series["id"]
    assert hole["originalStartTime"] == instances[1]["originalStartTime"]
    # the trap of 1.1: a plain full list still returns the cancelled exception
    cancelled = [item for item in full if item.get("status") == "cancelled"]
    assert [item["id"] for item in cancelled] == [instances[1]["id"]]


def test_a_moved_event_leaves_a_tombstone_on_the_source(target: Target, calendar: Calendar) -> None:
    """The destination is a second scratch calendar of the run, deleted with the first."""
    destination = target.scratch.make("move destination")
    event = calendar.must_insert(timed_event("to move", day=220))
    token = calendar.sync_token()

    moved = calendar.move(event["id"], destination)
    changed, _ = calendar.changes(token)
    source_copy = calendar.get(event["id"])

    assert moved.status == 200, moved.body
    assert moved["id"] == event["id"]
    assert moved["organizer"]["email"] == destination
    [tombstone] = [item for item in changed if item["id"] == event["id"]]
    assert tombstone["status"] == "cancelled"
    assert source_copy["status"] == "cancelled"
    there = Calendar(calendar.target, destination).get(event["id"])
    assert there.status == 200
    assert there["status"] == "confirmed"
