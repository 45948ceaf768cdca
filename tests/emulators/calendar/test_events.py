"""Single events: CRUD, etags, conditional requests, conference data, bad input.

Reference: calendar-api.md sections 1.5, 1.8, 2, 3 and 5.1.
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
import requests
from googleapiclient.errors import HttpError

from tests.support.calendar_events import conference_data

from .support import (
    NOT_FOUND,
    assert_error_envelope,
    assert_error_reason,
    error_body,
)

MILLISECOND_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")

ADDON_CONFERENCE: dict[str, Any] = conference_data(
    "cs-4711",
    solution="ConfSync Rooms",
    icon_uri="https://rooms.example.com/icon.png",
    join_url="https://rooms.example.com/cs-4711",
    label="rooms.example.com/cs-4711",
)


def _insert(service: Any, calendar_id: str, body: dict[str, Any], **params: Any) -> Any:
    return service.events().insert(calendarId=calendar_id, body=body, **params).execute()


# --- happy paths -----------------------------------------------------------------------------


def test_insert_returns_event_with_server_fields(service, calendar_id, make_event):
    body = make_event("Planning")

    created = _insert(service, calendar_id, body)

    assert created["kind"] == "calendar#event"
    assert created["id"]
    assert created["summary"] == "Planning"
    assert created["status"] == "confirmed"
    assert isinstance(created["etag"], str)
    assert created["etag"]
    assert isinstance(created["sequence"], int)
    assert MILLISECOND_UTC.match(created["updated"]), created["updated"]
    assert MILLISECOND_UTC.match(created["created"]), created["created"]


def test_get_returns_the_stored_event(service, calendar_id, make_event):
    created = _insert(service, calendar_id, make_event("Review"))

    fetched = service.events().get(calendarId=calendar_id, eventId=created["id"]).execute()

    assert fetched["id"] == created["id"]
    assert fetched["etag"] == created["etag"]
    assert fetched["summary"] == "Review"
    assert fetched["start"] == created["start"]
    assert fetched["end"] == created["end"]


def test_primary_is_an_ordinary_calendar(service, make_event):
    created = _insert(service, "primary", make_event("Mine"))

    fetched = service.events().get(calendarId="primary", eventId=created["id"]).execute()

    assert fetched["summary"] == "Mine"


def test_patch_changes_only_given_fields_and_etag(service, calendar_id, make_event):
    created = _insert(service, calendar_id, make_event("Before", location="Room 1"))

    patched = (
        service.events()
        .patch(calendarId=calendar_id, eventId=created["id"], body={"summary": "After"})
        .execute()
    )

    assert patched["summary"] == "After"
    assert patched["location"] == "Room 1"
    assert patched["etag"] != created["etag"]
    assert patched["created"] == created["created"]
    assert MILLISECOND_UTC.match(patched["updated"])
    assert patched["updated"] >= created["updated"]


def test_update_replaces_the_event_and_changes_etag(service, calendar_id, make_event):
    created = _insert(service, calendar_id, make_event("Before", location="Room 1"))
    replacement = make_event("Replaced")

    updated = (
        service.events()
        .update(calendarId=calendar_id, eventId=created["id"], body=replacement)
        .execute()
    )

    assert updated["summary"] == "Replaced"
    assert "location" not in updated
    assert updated["etag"] != created["etag"]
    assert isinstance(updated["sequence"], int)
    assert MILLISECOND_UTC.match(updated["updated"])


def test_every_modification_changes_the_etag(service, calendar_id, make_event):
    created = _insert(service, calendar_id, make_event("v1"))
    events = service.events()
    etags = [created["etag"]]

    for summary in ("v2", "v3"):
        patched = events.patch(
            calendarId=calendar_id, eventId=created["id"], body={"summary": summary}
        ).execute()
        etags.append(patched["etag"])
    replaced = events.update(
        calendarId=calendar_id, eventId=created["id"], body=make_event("v4")
    ).execute()
    etags.append(replaced["etag"])
    events.delete(calendarId=calendar_id, eventId=created["id"]).execute()
    etags.append(events.get(calendarId=calendar_id, eventId=created["id"]).execute()["etag"])

    assert len(set(etags)) == len(etags), etags


def test_delete_answers_no_content(service, calendar_id, make_event):
    created = _insert(service, calendar_id, make_event())

    result = service.events().delete(calendarId=calendar_id, eventId=created["id"]).execute()

    # The client turns only a 204 into "" (a 200 with an empty body would give b"").
    assert result == ""


def test_delete_answers_204_on_the_wire(service, emulator, calendar_id, make_event):
    created = _insert(service, calendar_id, make_event())
    url = f"{emulator.api_endpoint}calendars/{calendar_id}/events/{created['id']}"

    response = requests.delete(url, timeout=10)

    assert response.status_code == 204
    assert response.content == b""


def test_insert_keeps_a_valid_client_supplied_id(service, calendar_id, make_event):
    event_id = "c0ffee0123456789abcdefuv"

    created = _insert(service, calendar_id, make_event(id=event_id))

    assert created["id"] == event_id


# --- conditional requests (section 3) ------------------------------------------------------


def test_patch_with_current_if_match_succeeds(service, calendar_id, make_event):
    created = _insert(service, calendar_id, make_event("v1"))
    request = service.events().patch(
        calendarId=calendar_id, eventId=created["id"], body={"summary": "v2"}
    )
    request.headers["If-Match"] = created["etag"]

    patched = request.execute()

    assert patched["summary"] == "v2"
    assert patched["etag"] != created["etag"]


def test_update_with_current_if_match_succeeds(service, calendar_id, make_event):
    created = _insert(service, calendar_id, make_event("v1"))
    request = service.events().update(
        calendarId=calendar_id, eventId=created["id"], body=make_event("v2")
    )
    request.headers["If-Match"] = created["etag"]

    updated = request.execute()

    assert updated["summary"] == "v2"


def test_delete_with_current_if_match_succeeds(service, calendar_id, make_event):
    created = _insert(service, calendar_id, make_event("v1"))
    request = service.events().delete(calendarId=calendar_id, eventId=created["id"])
    request.headers["If-Match"] = created["etag"]

    result = request.execute()

    assert result == ""
    fetched = service.events().get(calendarId=calendar_id, eventId=created["id"]).execute()
    assert fetched["status"] == "cancelled"


def test_get_with_stale_if_none_match_returns_the_event(service, calendar_id, make_event):
    created = _insert(service, calendar_id, make_event("v1"))
    patched = (
        service.events()
        .patch(calendarId=calendar_id, eventId=created["id"], body={"summary": "v2"})
        .execute()
    )
    request = service.events().get(calendarId=calendar_id, eventId=created["id"])
    request.headers["If-None-Match"] = created["etag"]

    fetched = request.execute()

    assert fetched["summary"] == "v2"
    assert fetched["etag"] == patched["etag"]


# --- conferenceData (section 2.2) ----------------------------------------------------------


def test_insert_with_conference_version_0_drops_conference(service, calendar_id, make_event):
    body = make_event(conferenceData=ADDON_CONFERENCE)

    created = _insert(service, calendar_id, body, conferenceDataVersion=0)

    assert "conferenceData" not in created
    fetched = service.events().get(calendarId=calendar_id, eventId=created["id"]).execute()
    assert "conferenceData" not in fetched


def test_insert_without_conference_version_drops_conference(service, calendar_id, make_event):
    created = _insert(service, calendar_id, make_event(conferenceData=ADDON_CONFERENCE))

    assert "conferenceData" not in created


def test_insert_with_conference_version_1_keeps_addon_conference(service, calendar_id, make_event):
    body = make_event(conferenceData=ADDON_CONFERENCE)

    created = _insert(service, calendar_id, body, conferenceDataVersion=1)

    fetched = service.events().get(calendarId=calendar_id, eventId=created["id"]).execute()
    for event in (created, fetched):
        conference = event["conferenceData"]
        assert conference["conferenceSolution"]["key"]["type"] == "addOn"
        assert conference["conferenceSolution"]["name"] == "ConfSync Rooms"
        assert conference["conferenceId"] == "cs-4711"
        assert conference["entryPoints"] == ADDON_CONFERENCE["entryPoints"]


def test_conference_copied_from_a_colleagues_event_is_kept(service, make_event):
    # Section 2.1: "Copying a whole conferenceData to another event is supported" (version 1).
    colleague = _insert(
        service,
        "bob@example.com",
        make_event("Bob's sync", conferenceData=ADDON_CONFERENCE),
        conferenceDataVersion=1,
    )
    copied = service.events().get(calendarId="bob@example.com", eventId=colleague["id"]).execute()

    mine = _insert(
        service,
        "ada@example.com",
        make_event("My copy", conferenceData=copied["conferenceData"]),
        conferenceDataVersion=1,
    )

    assert mine["id"] != colleague["id"]
    assert mine["conferenceData"] == colleague["conferenceData"]
    fetched = service.events().get(calendarId="ada@example.com", eventId=mine["id"]).execute()
    assert fetched["conferenceData"]["conferenceId"] == "cs-4711"
    assert fetched["organizer"] == {"email": "ada@example.com", "self": True}


def test_patch_with_conference_version_0_keeps_existing_conference(
    service, calendar_id, make_event
):
    created = _insert(
        service, calendar_id, make_event(conferenceData=ADDON_CONFERENCE), conferenceDataVersion=1
    )
    other = {**ADDON_CONFERENCE, "conferenceId": "cs-other"}

    patched = (
        service.events()
        .patch(
            calendarId=calendar_id,
            eventId=created["id"],
            body={"summary": "Renamed", "conferenceData": other},
            conferenceDataVersion=0,
        )
        .execute()
    )

    assert patched["summary"] == "Renamed"
    assert patched["conferenceData"]["conferenceId"] == "cs-4711"
    fetched = service.events().get(calendarId=calendar_id, eventId=created["id"]).execute()
    assert fetched["conferenceData"] == created["conferenceData"]


def test_patch_with_conference_version_1_replaces_conference(service, calendar_id, make_event):
    created = _insert(
        service, calendar_id, make_event(conferenceData=ADDON_CONFERENCE), conferenceDataVersion=1
    )
    other = {**ADDON_CONFERENCE, "conferenceId": "cs-other"}

    patched = (
        service.events()
        .patch(
            calendarId=calendar_id,
            eventId=created["id"],
            body={"conferenceData": other},
            conferenceDataVersion=1,
        )
        .execute()
    )

    assert patched["conferenceData"]["conferenceId"] == "cs-other"


def test_update_with_conference_version_1_without_conference_removes_it(
    service, calendar_id, make_event
):
    created = _insert(
        service, calendar_id, make_event(conferenceData=ADDON_CONFERENCE), conferenceDataVersion=1
    )

    updated = (
        service.events()
        .update(
            calendarId=calendar_id,
            eventId=created["id"],
            body=make_event("Stale local copy"),
            conferenceDataVersion=1,
        )
        .execute()
    )

    assert "conferenceData" not in updated
    fetched = service.events().get(calendarId=calendar_id, eventId=created["id"]).execute()
    assert "conferenceData" not in fetched


def test_update_with_conference_version_0_without_conference_keeps_it(
    service, calendar_id, make_event
):
    created = _insert(
        service, calendar_id, make_event(conferenceData=ADDON_CONFERENCE), conferenceDataVersion=1
    )

    updated = (
        service.events()
        .update(calendarId=calendar_id, eventId=created["id"], body=make_event("Renamed"))
        .execute()
    )

    assert updated["summary"] == "Renamed"
    assert updated["conferenceData"]["conferenceId"] == "cs-4711"


# --- bad input (sections 1.7, 1.8, 5.1) --------------------------------------------------


def test_malformed_json_body_is_a_parse_error(service, emulator, calendar_id):
    url = f"{emulator.api_endpoint}calendars/{calendar_id}/events"

    response = requests.post(
        url,
        data=b'{"summary": "unterminated',
        headers={"Content-Type": "application/json"},
        timeout=10,
    )

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == 400
    assert error["errors"][0]["reason"] == "parseError"


def test_insert_without_end_is_rejected_as_required(service, calendar_id, make_event):
    body = make_event()
    del body["end"]

    with pytest.raises(HttpError) as caught:
        _insert(service, calendar_id, body)

    assert_error_reason(caught.value, 400, "required")


def test_insert_without_start_is_rejected_as_required(service, calendar_id, make_event):
    body = make_event()
    del body["start"]

    with pytest.raises(HttpError) as caught:
        _insert(service, calendar_id, body)

    assert_error_reason(caught.value, 400, "required")


def test_patch_unknown_event_is_not_found(service, calendar_id):
    with pytest.raises(HttpError) as caught:
        service.events().patch(
            calendarId=calendar_id, eventId="nosuchevent0001", body={"summary": "x"}
        ).execute()

    assert_error_envelope(caught.value, 404, NOT_FOUND)


@pytest.mark.parametrize(
    "bad_id",
    ["abcd", "UPPERCASE123", "has-dash-1234", "wxyz12345"],
    ids=["too-short", "uppercase", "dash", "outside-base32hex"],
)
def test_insert_with_id_outside_base32hex_is_rejected(service, calendar_id, make_event, bad_id):
    with pytest.raises(HttpError) as caught:
        _insert(service, calendar_id, make_event(id=bad_id))

    assert caught.value.resp.status == 400
    assert error_body(caught.value)["code"] == 400


def test_updated_moves_forward_on_modification(service, calendar_id, make_event):
    created = _insert(service, calendar_id, make_event())
    time.sleep(0.005)

    patched = (
        service.events()
        .patch(calendarId=calendar_id, eventId=created["id"], body={"summary": "later"})
        .execute()
    )

    assert patched["updated"] > created["updated"]


def test_local_time_with_a_time_zone_is_answered_with_its_offset(service, calendar_id):
    body = {
        "summary": "Standup",
        "start": {"dateTime": "2026-12-02T09:00:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": "2026-12-02T09:15:00", "timeZone": "Europe/Berlin"},
    }

    created = service.events().insert(calendarId=calendar_id, body=body).execute()
    patched = (
        service.events()
        .patch(
            calendarId=calendar_id,
            eventId=created["id"],
            body={"end": {"dateTime": "2026-12-02T09:30:00", "timeZone": "Europe/Berlin"}},
        )
        .execute()
    )

    assert created["start"] == {
        "dateTime": "2026-12-02T09:00:00+01:00",
        "timeZone": "Europe/Berlin",
    }
    assert patched["end"]["dateTime"] == "2026-12-02T09:30:00+01:00"
