"""Invitations: an attendee whose email is a known calendar holds a copy of the organizer's event
(same id and iCalUID), which follows the organizer's edits; a non-organizer may change only their
own properties (calendar-api.md 1.5, 2.3 `organizer`/`attendees`/`guestsCan*`, 5.1
`forbiddenForNonOrganizer`; the emulator README, "Invitations")."""

from __future__ import annotations

import pytest
from googleapiclient.errors import HttpError

from tests.support.calendar_events import conference_data

from .support import (
    FORBIDDEN_FOR_NON_ORGANIZER,
    TOMBSTONE_KEYS,
    assert_error_envelope,
    full_sync,
    list_all,
)

pytestmark = pytest.mark.timeout(30)

ADA = "ada@example.com"  # the organizer
BOB = "bob@example.com"
CY = "cy@example.com"
CONFERENCE = conference_data("cs-4711", join_url="https://rooms.example.com/cs-4711")


def _known(service, *calendar_ids):
    for calendar_id in calendar_ids:
        service.events().list(calendarId=calendar_id).execute()


def _invite(service, make_event, *guests, **fields):
    body = make_event("Planning", attendees=[{"email": g} for g in guests], **fields)
    return service.events().insert(calendarId=ADA, body=body, conferenceDataVersion=1).execute()


def _get(service, calendar_id, event_id):
    return service.events().get(calendarId=calendar_id, eventId=event_id).execute()


def test_attendee_calendar_holds_a_copy_with_the_same_id(service, make_event):
    _known(service, ADA, BOB)

    event = _invite(service, make_event, BOB, "outsider@example.org", conferenceData=CONFERENCE)

    copy = _get(service, BOB, event["id"])
    assert copy["id"] == event["id"]
    assert copy["iCalUID"] == event["iCalUID"]
    assert copy["summary"] == "Planning"
    assert copy["organizer"] == {"email": ADA}
    assert copy["attendees"] == [
        {"email": BOB, "self": True},
        {"email": "outsider@example.org"},
    ]
    assert copy["conferenceData"] == event["conferenceData"]
    assert event["organizer"] == {"email": ADA, "self": True}
    items, _ = list_all(service, calendarId=BOB)
    assert [item["id"] for item in items] == [event["id"]]


def test_no_copy_for_attendees_without_a_known_calendar(service, make_event):
    _known(service, ADA)

    event = _invite(service, make_event, BOB)

    items, _ = list_all(service, calendarId=BOB, showDeleted=True)
    assert event["id"] not in [item["id"] for item in items]


def test_organizer_edit_reaches_the_copy_and_its_sync(service, make_event):
    _known(service, ADA, BOB)
    event = _invite(service, make_event, BOB, conferenceData=CONFERENCE)
    before = _get(service, BOB, event["id"])
    _, token = full_sync(service, calendarId=BOB)
    moved_conference = conference_data("cs-4711", join_url="https://rooms.example.com/new")

    service.events().patch(
        calendarId=ADA,
        eventId=event["id"],
        body={"summary": "Planning v2", "conferenceData": moved_conference},
        conferenceDataVersion=1,
    ).execute()

    after = _get(service, BOB, event["id"])
    assert after["summary"] == "Planning v2"
    assert after["conferenceData"]["entryPoints"] == moved_conference["entryPoints"]
    assert after["etag"] != before["etag"]
    assert after["updated"] >= before["updated"]
    changes, _ = full_sync(service, calendarId=BOB, syncToken=token)
    assert [(c["id"], c["summary"]) for c in changes] == [(event["id"], "Planning v2")]


def test_organizer_edit_notifies_the_attendee_calendar(service, make_event, watch, receiver):
    _known(service, ADA, BOB)
    event = _invite(service, make_event, BOB)
    channel = watch(BOB)
    receiver.wait_for_state(channel["id"], "sync")

    service.events().patch(calendarId=ADA, eventId=event["id"], body={"summary": "v2"}).execute()

    receiver.wait_for_state(channel["id"], "exists")


def test_adding_an_attendee_later_delivers_a_copy(service, make_event):
    _known(service, ADA, BOB, CY)
    event = _invite(service, make_event, BOB)

    service.events().patch(
        calendarId=ADA, eventId=event["id"], body={"attendees": [{"email": BOB}, {"email": CY}]}
    ).execute()

    assert _get(service, CY, event["id"])["status"] == "confirmed"


def test_attendee_deleting_the_copy_leaves_the_organizer_event(service, make_event):
    _known(service, ADA, BOB)
    event = _invite(service, make_event, BOB)

    service.events().delete(calendarId=BOB, eventId=event["id"]).execute()

    assert _get(service, BOB, event["id"])["status"] == "cancelled"
    kept = _get(service, ADA, event["id"])
    assert kept["status"] == "confirmed"
    assert kept["etag"] == event["etag"]
    service.events().patch(calendarId=ADA, eventId=event["id"], body={"summary": "v2"}).execute()
    assert _get(service, BOB, event["id"])["status"] == "cancelled"


def test_removing_an_attendee_cancels_their_copy(service, make_event):
    _known(service, ADA, BOB, CY)
    event = _invite(service, make_event, BOB, CY)
    _, token = full_sync(service, calendarId=BOB)

    service.events().patch(
        calendarId=ADA, eventId=event["id"], body={"attendees": [{"email": CY}]}
    ).execute()

    changes, _ = full_sync(service, calendarId=BOB, syncToken=token)
    assert len(changes) == 1
    assert changes[0]["id"] == event["id"]
    assert changes[0]["status"] == "cancelled"
    assert set(changes[0]) <= TOMBSTONE_KEYS
    assert _get(service, CY, event["id"])["status"] == "confirmed"


def test_organizer_deleting_the_event_cancels_every_copy(service, make_event):
    _known(service, ADA, BOB, CY)
    event = _invite(service, make_event, BOB, CY)

    service.events().delete(calendarId=ADA, eventId=event["id"]).execute()

    for attendee in (BOB, CY):
        assert _get(service, attendee, event["id"])["status"] == "cancelled"


@pytest.mark.parametrize(
    ("body", "version"),
    [
        pytest.param({"summary": "Mine now"}, 0, id="summary"),
        pytest.param(
            {
                "start": {"dateTime": "2026-03-02T11:00:00Z"},
                "end": {"dateTime": "2026-03-02T12:00:00Z"},
            },
            0,
            id="time",
        ),
        pytest.param({"conferenceData": conference_data("cs-other")}, 1, id="conferenceData"),
        pytest.param({"guestsCanModify": True}, 0, id="guestsCanModify"),
    ],
)
def test_non_organizer_changing_shared_properties_is_forbidden(service, make_event, body, version):
    _known(service, ADA, BOB)
    event = _invite(service, make_event, BOB, conferenceData=CONFERENCE)

    with pytest.raises(HttpError) as caught:
        service.events().patch(
            calendarId=BOB, eventId=event["id"], body=body, conferenceDataVersion=version
        ).execute()

    assert_error_envelope(caught.value, 403, FORBIDDEN_FOR_NON_ORGANIZER)
    assert _get(service, BOB, event["id"])["summary"] == "Planning"


def test_non_organizer_update_that_changes_the_summary_is_forbidden(service, make_event):
    _known(service, ADA, BOB)
    event = _invite(service, make_event, BOB)
    copy = _get(service, BOB, event["id"])

    with pytest.raises(HttpError) as caught:
        service.events().update(
            calendarId=BOB, eventId=event["id"], body={**copy, "summary": "Mine now"}
        ).execute()

    assert_error_envelope(caught.value, 403, FORBIDDEN_FOR_NON_ORGANIZER)


def test_attendee_may_answer_and_set_own_reminders(service, make_event):
    _known(service, ADA, BOB, CY)
    event = _invite(service, make_event, BOB, CY)
    reminders = {"useDefault": False, "overrides": [{"method": "popup", "minutes": 5}]}

    answered = (
        service.events()
        .patch(
            calendarId=BOB,
            eventId=event["id"],
            body={
                "attendees": [{"email": BOB, "responseStatus": "accepted"}, {"email": CY}],
                "reminders": reminders,
            },
        )
        .execute()
    )

    assert answered["reminders"] == reminders
    assert {"email": BOB, "responseStatus": "accepted", "self": True} in answered["attendees"]
    organizer_view = _get(service, ADA, event["id"])
    assert {"email": BOB, "responseStatus": "accepted"} in organizer_view["attendees"]
    assert organizer_view["reminders"] == {"useDefault": True}
    assert {"email": BOB, "responseStatus": "accepted"} in _get(service, CY, event["id"])[
        "attendees"
    ]
    service.events().patch(calendarId=ADA, eventId=event["id"], body={"summary": "v2"}).execute()
    assert _get(service, BOB, event["id"])["reminders"] == reminders


def test_private_extended_properties_stay_on_their_calendar(service, make_event):
    _known(service, ADA, BOB)
    props = {"private": {"mine": "ada"}, "shared": {"room": "4"}}

    event = _invite(service, make_event, BOB, extendedProperties=props)

    assert _get(service, BOB, event["id"])["extendedProperties"] == {"shared": {"room": "4"}}
    service.events().patch(
        calendarId=BOB,
        eventId=event["id"],
        body={"extendedProperties": {"private": {"mine": "bob"}}},
    ).execute()
    assert _get(service, ADA, event["id"])["extendedProperties"] == props
