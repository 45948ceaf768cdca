"""Sync tokens, pages and 410 (reference sections 1.1 to 1.4, 1.7, 1.8). Each check lists only a
window of days of its own, so it reads its own events, not those of the rest of the suite."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests

from conformance.calendar import Calendar, day, rfc3339, timed_event, window

from .conftest import Target


def test_a_full_list_pages_and_carries_its_sync_token_only_on_the_last_page(
    calendar: Calendar,
) -> None:
    made = {calendar.must_insert(timed_event(f"page {n}", day=100 + n))["id"] for n in range(3)}

    pages = []
    answer = calendar.list(maxResults=1, **window(100, 103))
    pages.append(answer)
    while answer.get("nextPageToken"):
        answer = calendar.list(maxResults=1, pageToken=answer["nextPageToken"], **window(100, 103))
        pages.append(answer)

    assert all(page.status == 200 for page in pages)
    assert {item["id"] for page in pages for item in page.get("items", [])} == made
    assert all("nextSyncToken" not in page.body for page in pages[:-1])
    assert "nextSyncToken" in pages[-1].body  # also with timeMin/timeMax (1.4)
    assert len(pages) >= 3


def test_an_incremental_list_holds_exactly_what_changed_since_its_token(
    calendar: Calendar,
) -> None:
    before = calendar.must_insert(timed_event("edited later", day=110))
    calendar.must_insert(timed_event("left alone", day=110))
    token = calendar.sync_token()

    added = calendar.must_insert(timed_event("added later", day=111))
    assert calendar.patch(before["id"], {"summary": "edited"}).status == 200
    changed, last = calendar.changes(token)

    assert {item["id"]: item.get("summary") for item in changed} == {
        added["id"]: "added later",
        before["id"]: "edited",
    }
    assert last.get("nextSyncToken")


def test_an_incremental_list_without_changes_answers_its_own_token_again(
    calendar: Calendar,
) -> None:
    token = calendar.sync_token()

    changed, last = calendar.changes(token)

    assert changed == []
    assert last.get("nextSyncToken") == token  # OBS (1.3)


def test_a_garbled_sync_token_answers_410(calendar: Calendar) -> None:
    token = calendar.sync_token()

    answer = calendar.list(syncToken="1" + token)

    assert answer.status == 410  # OBS (1.7): 410, not 400
    assert answer["error"]["code"] == 410


@pytest.mark.emulator_only
def test_an_invalidated_sync_token_answers_the_documented_410_body(
    target: Target, calendar: Calendar
) -> None:
    """Google invalidates tokens when it likes (1.7); only the emulator can be told to."""
    assert target.emulator is not None
    token = calendar.sync_token()
    admin = f"{target.emulator.base_url}/emulator/v1/calendars/{calendar.calendar_id}"
    requests.post(f"{admin}/invalidate-sync-tokens", timeout=10).raise_for_status()

    answer = calendar.list(syncToken=token)

    assert answer.status == 410
    assert answer.body == {
        "error": {
            "errors": [
                {
                    "domain": "calendar",
                    "reason": "fullSyncRequired",
                    "message": "Sync token is no longer valid, a full sync is required.",
                    "locationType": "parameter",
                    "location": "syncToken",
                }
            ],
            "code": 410,
            "message": "Sync token is no longer valid, a full sync is required.",
        }
    }


@pytest.mark.unconfirmed(
    section="1.2",
    point="syncToken with timeMin answers 400 syncTokenWithRequestRestrictions",
    emulator="400 syncTokenWithRequestRestrictions",
)
def test_a_sync_token_with_time_min_is_refused(calendar: Calendar) -> None:
    token = calendar.sync_token()

    answer = calendar.list(syncToken=token, timeMin=day(0))

    assert answer.status == 400
    assert answer.reason == "syncTokenWithRequestRestrictions"


@pytest.mark.unconfirmed(
    section="1.2",
    point="showDeleted=false together with a syncToken is accepted",
    emulator="accepted (deletions are listed anyway)",
)
def test_show_deleted_false_with_a_sync_token_is_accepted(calendar: Calendar) -> None:
    token = calendar.sync_token()

    assert calendar.list(syncToken=token, showDeleted="false").status == 200


@pytest.mark.unconfirmed(
    section="1.2",
    point="maxResults may differ between the full and the incremental list",
    emulator="accepted",
)
def test_max_results_may_change_between_full_and_incremental_lists(calendar: Calendar) -> None:
    token = calendar.sync_token(maxResults=50)

    assert calendar.list(syncToken=token, maxResults=7).status == 200


@pytest.mark.unconfirmed(
    section="1.3",
    point="a full list with orderBy=updated still ends with a nextSyncToken",
    emulator="token returned (only orderBy=startTime suppresses it)",
)
def test_order_by_updated_keeps_the_sync_token(calendar: Calendar) -> None:
    _, last = calendar.list_all(orderBy="updated", **window(120, 121))

    assert last.get("nextSyncToken")


@pytest.mark.unconfirmed(
    section="1.4",
    point="a full list with updatedMin ends with a nextSyncToken",
    emulator="token returned",
)
def test_a_full_list_with_updated_min_gives_a_sync_token(calendar: Calendar) -> None:
    _, last = calendar.list_all(updatedMin=rfc3339(datetime.now(UTC) - timedelta(days=1)))

    assert last.get("nextSyncToken")


@pytest.mark.unconfirmed(
    section="1.8",
    point="a reminder-only change changes the etag and shows in an incremental list",
    emulator="new etag; listed as a change",
)
def test_a_reminder_only_change_is_a_change(calendar: Calendar) -> None:
    event = calendar.must_insert(timed_event("reminders", day=130))
    token = calendar.sync_token()

    patched = calendar.patch(
        event["id"],
        {"reminders": {"useDefault": False, "overrides": [{"method": "popup", "minutes": 7}]}},
    )
    changed, _ = calendar.changes(token)

    assert patched.status == 200
    assert patched["etag"] != event["etag"]
    assert event["id"] in {item["id"] for item in changed}


def test_order_by_start_time_without_single_events_is_refused(calendar: Calendar) -> None:
    answer = calendar.list(orderBy="startTime")

    assert answer.status == 400  # OBS (1.2)
    assert answer["error"]["errors"] == [
        {
            "domain": "global",
            "reason": "invalid",
            "message": "The requested ordering is not available for the particular query.",
            "locationType": "parameter",
            "location": "orderBy",
        }
    ]


def test_order_by_start_time_suppresses_the_sync_token(calendar: Calendar) -> None:
    _, last = calendar.list_all(singleEvents="true", orderBy="startTime", **window(100, 103))

    assert "nextSyncToken" not in last.body  # OBS (1.3)
