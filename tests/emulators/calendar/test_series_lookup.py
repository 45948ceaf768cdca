"""Looking a series up by iCalUID: the master and every exception, cancelled ones included.

confsync relies on this when a series gets its conference after some of its occurrences were
changed: those exceptions never come back in an incremental list, so it lists the series by the
master's ``iCalUID`` (calendar-api.md 1.1 and 1.6: ``iCalUID`` is shared by all instances of a
series; it cannot be combined with a sync token).
"""

from __future__ import annotations

from typing import Any

import pytest

from .support import list_all

pytestmark = pytest.mark.timeout(30)


def _series_with_exceptions(service: Any, calendar_id: str, make_series: Any) -> dict[str, Any]:
    """A weekly series of four with its second occurrence moved and its third cancelled."""
    series = (
        service.events()
        .insert(calendarId=calendar_id, body=make_series(["RRULE:FREQ=WEEKLY;COUNT=4"]))
        .execute()
    )
    instances = (
        service.events().instances(calendarId=calendar_id, eventId=series["id"]).execute()["items"]
    )
    moved, cancelled = instances[1], instances[2]
    service.events().patch(
        calendarId=calendar_id,
        eventId=moved["id"],
        body={
            "start": {"dateTime": "2026-03-24T15:00:00+01:00"},
            "end": {"dateTime": "2026-03-24T15:30:00+01:00"},
        },
    ).execute()
    service.events().delete(calendarId=calendar_id, eventId=cancelled["id"]).execute()
    return {"series": series, "moved": moved["id"], "cancelled": cancelled["id"]}


def test_exceptions_carry_the_ical_uid_of_their_series(
    service: Any, calendar_id: str, make_series: Any
) -> None:
    made = _series_with_exceptions(service, calendar_id, make_series)

    moved = service.events().get(calendarId=calendar_id, eventId=made["moved"]).execute()
    cancelled = service.events().get(calendarId=calendar_id, eventId=made["cancelled"]).execute()

    assert moved["iCalUID"] == made["series"]["iCalUID"]
    assert cancelled["iCalUID"] == made["series"]["iCalUID"]
    assert cancelled["status"] == "cancelled"


def test_listing_by_ical_uid_with_deleted_returns_the_master_and_every_exception(
    service: Any, calendar_id: str, make_series: Any, make_event: Any
) -> None:
    made = _series_with_exceptions(service, calendar_id, make_series)
    service.events().insert(calendarId=calendar_id, body=make_event("Unrelated")).execute()

    items, _ = list_all(
        service,
        calendarId=calendar_id,
        iCalUID=made["series"]["iCalUID"],
        showDeleted=True,
        singleEvents=False,
        maxResults=1,
    )

    by_id = {item["id"]: item for item in items}
    assert set(by_id) == {made["series"]["id"], made["moved"], made["cancelled"]}
    for exception_id in (made["moved"], made["cancelled"]):
        assert by_id[exception_id]["recurringEventId"] == made["series"]["id"]
        assert by_id[exception_id]["originalStartTime"]
    assert by_id[made["cancelled"]]["status"] == "cancelled"
    assert by_id[made["moved"]]["start"]["dateTime"].startswith("2026-03-24T15:00:00")


def test_listing_by_ical_uid_without_deleted_still_returns_cancelled_exceptions(
    service: Any, calendar_id: str, make_series: Any
) -> None:
    # The showDeleted trap (calendar-api.md 1.1): a cancelled instance of a live series is listed
    # when showDeleted and singleEvents are both false.
    made = _series_with_exceptions(service, calendar_id, make_series)

    items, _ = list_all(service, calendarId=calendar_id, iCalUID=made["series"]["iCalUID"])

    assert {item["id"] for item in items} == {
        made["series"]["id"],
        made["moved"],
        made["cancelled"],
    }
