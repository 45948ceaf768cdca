"""events.move: the event changes calendar and organizer, keeping its id (calendar-api.md 1.5,
2.3 `organizer`: "change it with move"; errors per section 5.1 and the emulator README)."""

from __future__ import annotations

import pytest
from googleapiclient.errors import HttpError

from .support import (
    FORBIDDEN_FOR_NON_ORGANIZER,
    NOT_FOUND,
    TOMBSTONE_KEYS,
    assert_error_envelope,
    assert_error_reason,
    full_sync,
    list_all,
)

pytestmark = pytest.mark.timeout(30)

ADA = "ada@example.com"
BOB = "bob@example.com"
CY = "cy@example.com"


def _known(service, *calendar_ids):
    for calendar_id in calendar_ids:
        service.events().list(calendarId=calendar_id).execute()


def _move(service, source, event_id, destination):
    return (
        service.events()
        .move(calendarId=source, eventId=event_id, destination=destination)
        .execute()
    )


def test_move_keeps_id_and_ical_uid_and_makes_destination_the_organizer(service, make_event):
    _known(service, ADA, BOB)
    created = service.events().insert(calendarId=ADA, body=make_event("Review")).execute()

    moved = _move(service, ADA, created["id"], BOB)

    assert moved["id"] == created["id"]
    assert moved["iCalUID"] == created["iCalUID"]
    assert moved["summary"] == "Review"
    assert moved["organizer"] == {"email": BOB, "self": True}
    assert moved["etag"] != created["etag"]
    fetched = service.events().get(calendarId=BOB, eventId=created["id"]).execute()
    assert fetched["organizer"] == {"email": BOB, "self": True}
    items, _ = list_all(service, calendarId=BOB)
    assert [item["id"] for item in items] == [created["id"]]


def test_move_leaves_the_source_a_cancelled_event_with_only_its_id(service, make_event):
    _known(service, ADA, BOB)
    created = service.events().insert(calendarId=ADA, body=make_event("Review")).execute()

    _move(service, ADA, created["id"], BOB)

    left = service.events().get(calendarId=ADA, eventId=created["id"]).execute()
    assert left["status"] == "cancelled"
    assert set(left) <= TOMBSTONE_KEYS
    items, _ = list_all(service, calendarId=ADA)
    assert items == []


def test_move_shows_in_both_calendars_incremental_sync(service, make_event):
    _known(service, ADA, BOB)
    created = service.events().insert(calendarId=ADA, body=make_event("Review")).execute()
    _, source_token = full_sync(service, calendarId=ADA)
    _, destination_token = full_sync(service, calendarId=BOB)

    _move(service, ADA, created["id"], BOB)

    source_changes, _ = full_sync(service, calendarId=ADA, syncToken=source_token)
    assert len(source_changes) == 1
    assert source_changes[0]["id"] == created["id"]
    assert source_changes[0]["status"] == "cancelled"
    assert set(source_changes[0]) <= TOMBSTONE_KEYS
    destination_changes, _ = full_sync(service, calendarId=BOB, syncToken=destination_token)
    assert [(e["id"], e["status"]) for e in destination_changes] == [(created["id"], "confirmed")]
    assert destination_changes[0]["organizer"]["email"] == BOB


def test_move_notifies_channels_on_both_calendars(service, make_event, watch, receiver):
    _known(service, ADA, BOB)
    created = service.events().insert(calendarId=ADA, body=make_event("Review")).execute()
    source_channel = watch(ADA)
    destination_channel = watch(BOB)
    receiver.wait_for_state(source_channel["id"], "sync")
    receiver.wait_for_state(destination_channel["id"], "sync")

    _move(service, ADA, created["id"], BOB)

    receiver.wait_for_state(source_channel["id"], "exists")
    receiver.wait_for_state(destination_channel["id"], "exists")


def test_move_to_an_attendee_old_organizer_attending_keeps_a_copy(service, make_event):
    _known(service, ADA, BOB)
    body = make_event("Handover", attendees=[{"email": ADA}, {"email": BOB}])
    created = service.events().insert(calendarId=ADA, body=body).execute()

    moved = _move(service, ADA, created["id"], BOB)

    assert moved["organizer"] == {"email": BOB, "self": True}
    kept = service.events().get(calendarId=ADA, eventId=created["id"]).execute()
    assert kept["status"] == "confirmed"
    assert kept["organizer"] == {"email": BOB}
    assert kept["iCalUID"] == created["iCalUID"]
    assert {"email": ADA, "self": True} in kept["attendees"]


def test_move_takes_attendees_copies_along(service, make_event):
    _known(service, ADA, BOB, CY)
    body = make_event("Handover", attendees=[{"email": CY}])
    created = service.events().insert(calendarId=ADA, body=body).execute()

    _move(service, ADA, created["id"], BOB)
    service.events().patch(calendarId=BOB, eventId=created["id"], body={"summary": "v2"}).execute()

    copy = service.events().get(calendarId=CY, eventId=created["id"]).execute()
    assert copy["organizer"] == {"email": BOB}
    assert copy["summary"] == "v2"


def test_move_of_an_unknown_event_is_not_found(service):
    _known(service, ADA, BOB)

    with pytest.raises(HttpError) as caught:
        _move(service, ADA, "nosuchevent0", BOB)

    assert_error_envelope(caught.value, 404, NOT_FOUND)


def test_move_to_an_unknown_destination_is_not_found(service, make_event):
    created = service.events().insert(calendarId=ADA, body=make_event()).execute()

    with pytest.raises(HttpError) as caught:
        _move(service, ADA, created["id"], "nobody@example.com")

    assert_error_envelope(caught.value, 404, NOT_FOUND)
    assert service.events().get(calendarId=ADA, eventId=created["id"]).execute()["status"] == (
        "confirmed"
    )


def test_move_without_write_access_to_the_source_is_forbidden(
    service, service_as, admin, make_event
):
    created = service.events().insert(calendarId=BOB, body=make_event()).execute()
    admin.set_role(BOB, ADA, "reader")

    with pytest.raises(HttpError) as caught:
        _move(service_as(ADA), BOB, created["id"], ADA)

    assert_error_reason(caught.value, 403, "requiredAccessLevel")


def test_move_without_write_access_to_the_destination_is_forbidden(
    service, service_as, admin, make_event
):
    created = service.events().insert(calendarId=ADA, body=make_event()).execute()
    admin.set_role(BOB, ADA, "reader")

    with pytest.raises(HttpError) as caught:
        _move(service_as(ADA), ADA, created["id"], BOB)

    assert_error_reason(caught.value, 403, "requiredAccessLevel")
    assert service.events().get(calendarId=ADA, eventId=created["id"]).execute()["status"] == (
        "confirmed"
    )


def test_move_to_a_calendar_the_caller_cannot_see_is_not_found(service, service_as, make_event):
    _known(service, BOB)
    created = service.events().insert(calendarId=ADA, body=make_event()).execute()

    with pytest.raises(HttpError) as caught:
        _move(service_as(ADA), ADA, created["id"], BOB)

    assert_error_envelope(caught.value, 404, NOT_FOUND)


def test_move_with_writer_access_on_both_calendars(service, service_as, admin, make_event):
    created = service.events().insert(calendarId=ADA, body=make_event()).execute()
    admin.set_role(BOB, ADA, "writer")

    moved = _move(service_as(ADA), "primary", created["id"], BOB)

    assert moved["organizer"] == {"email": BOB, "self": True}


def test_attendee_cannot_move_their_copy(service, make_event):
    _known(service, ADA, BOB, CY)
    created = service.events().insert(calendarId=ADA, body=make_event(attendees=[{"email": BOB}]))
    event = created.execute()

    with pytest.raises(HttpError) as caught:
        _move(service, BOB, event["id"], CY)

    assert_error_envelope(caught.value, 403, FORBIDDEN_FOR_NON_ORGANIZER)


def test_move_of_an_instance_is_refused(service, make_series):
    _known(service, ADA, BOB)
    series = (
        service.events()
        .insert(calendarId=ADA, body=make_series(["RRULE:FREQ=DAILY;COUNT=3"]))
        .execute()
    )
    instances = service.events().instances(calendarId=ADA, eventId=series["id"]).execute()

    with pytest.raises(HttpError) as caught:
        _move(service, ADA, instances["items"][1]["id"], BOB)

    assert_error_reason(caught.value, 400, "cannotChangeOrganizerOfInstance")


def test_move_of_a_series_takes_its_exceptions(service, make_series):
    _known(service, ADA, BOB)
    series = (
        service.events()
        .insert(calendarId=ADA, body=make_series(["RRULE:FREQ=DAILY;COUNT=3"]))
        .execute()
    )
    second = service.events().instances(calendarId=ADA, eventId=series["id"]).execute()["items"][1]
    service.events().patch(
        calendarId=ADA, eventId=second["id"], body={"summary": "moved"}
    ).execute()

    _move(service, ADA, series["id"], BOB)

    instances = service.events().instances(calendarId=BOB, eventId=series["id"]).execute()
    assert [i["summary"] for i in instances["items"]] == ["Standup", "moved", "Standup"]
    assert all(i["organizer"]["email"] == BOB for i in instances["items"])
    with pytest.raises(HttpError) as caught:
        service.events().instances(calendarId=ADA, eventId=series["id"]).execute()
    assert caught.value.resp.status in (404, 410)


def test_move_without_destination_is_a_bad_request(service, make_event):
    created = service.events().insert(calendarId=ADA, body=make_event()).execute()
    request = service.events().move(calendarId=ADA, eventId=created["id"], destination="")

    with pytest.raises(HttpError) as caught:
        request.execute()

    assert_error_reason(caught.value, 400, "required")
