"""Incremental sync with sync tokens.

Reference: calendar-api.md sections 1.1, 1.2, 1.3, 1.4, 1.5 and 1.7.
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from googleapiclient.errors import HttpError

from .support import (
    TOMBSTONE_KEYS,
    UTC,
    assert_error_reason,
    full_sync,
    list_all,
)

WINDOW_START = datetime.datetime(2026, 6, 1, tzinfo=UTC)


def _insert(service: Any, calendar_id: str, body: dict[str, Any]) -> dict[str, Any]:
    created = service.events().insert(calendarId=calendar_id, body=body).execute()
    assert isinstance(created, dict)
    return created


def test_deletion_arrives_as_minimal_tombstone(service, calendar_id, make_event):
    doomed = _insert(
        service,
        calendar_id,
        make_event("secret", description="details", location="Room 7"),
    )
    _, token = full_sync(service, calendarId=calendar_id)
    service.events().delete(calendarId=calendar_id, eventId=doomed["id"]).execute()

    items, _ = full_sync(service, calendarId=calendar_id, syncToken=token)

    assert len(items) == 1
    tombstone = items[0]
    assert set(tombstone) == TOMBSTONE_KEYS
    assert tombstone["kind"] == "calendar#event"
    assert tombstone["id"] == doomed["id"]
    assert tombstone["status"] == "cancelled"
    assert tombstone["etag"] != doomed["etag"]


FORBIDDEN_WITH_SYNC_TOKEN = {
    "iCalUID": "abc@google.com",
    "orderBy": "updated",
    "privateExtendedProperty": "confsync=yes",
    "q": "budget",
    "sharedExtendedProperty": "confsync=yes",
    "timeMin": "2026-01-01T00:00:00Z",
    "timeMax": "2027-01-01T00:00:00Z",
    "updatedMin": "2026-01-01T00:00:00Z",
}


@pytest.mark.parametrize(("name", "value"), sorted(FORBIDDEN_WITH_SYNC_TOKEN.items()))
def test_restriction_with_sync_token_is_rejected(service, calendar_id, make_event, name, value):
    _insert(service, calendar_id, make_event())
    _, token = full_sync(service, calendarId=calendar_id)

    with pytest.raises(HttpError) as caught:
        service.events().list(calendarId=calendar_id, syncToken=token, **{name: value}).execute()

    assert_error_reason(caught.value, 400, "syncTokenWithRequestRestrictions")


def test_incremental_sync_is_not_bounded_by_the_full_sync_window(service, calendar_id, make_event):
    # Trap (1.4): changes outside the first window still come back incrementally.
    inside = _insert(
        service, calendar_id, make_event("inside", start=WINDOW_START + datetime.timedelta(days=1))
    )
    outside = _insert(
        service,
        calendar_id,
        make_event("outside", start=WINDOW_START - datetime.timedelta(days=30)),
    )
    items, token = full_sync(
        service, calendarId=calendar_id, timeMin=WINDOW_START.isoformat().replace("+00:00", "Z")
    )
    assert [item["id"] for item in items] == [inside["id"]]
    service.events().patch(
        calendarId=calendar_id, eventId=outside["id"], body={"summary": "outside, renamed"}
    ).execute()

    changed, _ = full_sync(service, calendarId=calendar_id, syncToken=token)

    assert [(item["id"], item["summary"]) for item in changed] == [
        (outside["id"], "outside, renamed")
    ]


def test_incremental_sync_paginates_with_the_same_token(service, calendar_id, make_event):
    events = [_insert(service, calendar_id, make_event(f"e{index}")) for index in range(7)]
    _, token = full_sync(service, calendarId=calendar_id, maxResults=2)
    for event in events[:5]:
        service.events().patch(
            calendarId=calendar_id, eventId=event["id"], body={"summary": "changed"}
        ).execute()

    items, pages = list_all(service, calendarId=calendar_id, syncToken=token, maxResults=2)

    assert len(pages) >= 3
    for page in pages[:-1]:
        assert page["nextPageToken"]
        assert "nextSyncToken" not in page
    assert pages[-1]["nextSyncToken"]
    assert sorted(item["id"] for item in items) == sorted(event["id"] for event in events[:5])


def test_full_sync_after_invalidation_yields_a_working_token(
    service, admin, calendar_id, make_event
):
    event = _insert(service, calendar_id, make_event())
    full_sync(service, calendarId=calendar_id)
    admin.invalidate_sync_tokens(calendar_id)

    items, token = full_sync(service, calendarId=calendar_id)
    again, _ = full_sync(service, calendarId=calendar_id, syncToken=token)

    assert [item["id"] for item in items] == [event["id"]]
    assert again == []


def test_invalidation_is_scoped_to_one_calendar(service, admin, calendar_id, make_event):
    other_calendar = f"other-{calendar_id}"
    _insert(service, other_calendar, make_event())
    _, other_token = full_sync(service, calendarId=other_calendar)

    admin.invalidate_sync_tokens(calendar_id)

    items, _ = full_sync(service, calendarId=other_calendar, syncToken=other_token)
    assert items == []


def test_garbled_sync_token_is_gone(service, calendar_id, make_event):
    _insert(service, calendar_id, make_event())
    _, token = full_sync(service, calendarId=calendar_id)

    with pytest.raises(HttpError) as caught:
        service.events().list(calendarId=calendar_id, syncToken="1" + token + "garbage").execute()

    assert_error_reason(caught.value, 410, "fullSyncRequired")


def test_unchanged_calendar_returns_no_items_and_a_working_token(service, calendar_id, make_event):
    _insert(service, calendar_id, make_event())
    _, token = full_sync(service, calendarId=calendar_id)

    items, next_token = full_sync(service, calendarId=calendar_id, syncToken=token)
    again, _ = full_sync(service, calendarId=calendar_id, syncToken=next_token)

    assert items == []
    assert again == []


def test_older_unexpired_token_still_works(service, calendar_id, make_event):
    event = _insert(service, calendar_id, make_event())
    _, old_token = full_sync(service, calendarId=calendar_id)
    service.events().patch(
        calendarId=calendar_id, eventId=event["id"], body={"summary": "first change"}
    ).execute()
    full_sync(service, calendarId=calendar_id, syncToken=old_token)

    items, _ = full_sync(service, calendarId=calendar_id, syncToken=old_token)

    assert [item["id"] for item in items] == [event["id"]]


def test_tokens_belong_to_their_calendar(service, calendar_id, make_event):
    other_calendar = f"other-{calendar_id}"
    _insert(service, calendar_id, make_event("mine"))
    _, token = full_sync(service, calendarId=calendar_id)
    _insert(service, other_calendar, make_event("theirs"))

    items, _ = full_sync(service, calendarId=calendar_id, syncToken=token)

    assert items == []
