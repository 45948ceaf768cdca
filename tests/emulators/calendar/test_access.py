"""Callers and roles: the ACL set through the admin API, `accessRole` on events.list
(calendar-api.md 1.3), what each role may see and do, and calendarList.list.

The caller is named by the bearer token `user:<email>`; requests without it act as the calendar's
own user (the emulator README, "Callers and roles")."""

from __future__ import annotations

import httplib2
import pytest
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from tests.support.calendar_events import conference_data

from .support import NOT_FOUND, assert_error_envelope, assert_error_reason, list_all

pytestmark = pytest.mark.timeout(30)

ADA = "ada@example.com"
BOB = "bob@example.com"
FREE_BUSY_KEYS = {"kind", "etag", "id", "status", "start", "end", "transparency"}


def _shared_event(service, make_event):
    """An event on BOB's calendar with every detail a free/busy reader must not see."""
    body = make_event(
        "Secret",
        description="board",
        location="room 4",
        attendees=[{"email": "carol@example.com"}],
        conferenceData=conference_data("cs-1", join_url="https://rooms.example.com/cs-1"),
    )
    return service.events().insert(calendarId=BOB, body=body, conferenceDataVersion=1).execute()


# --- accessRole and the defaults ---------------------------------------------------------------


def test_anonymous_list_says_owner(service, calendar_id):
    page = service.events().list(calendarId=calendar_id).execute()

    assert page["kind"] == "calendar#events"
    assert page["accessRole"] == "owner"


def test_own_calendar_is_owner_and_primary_is_it(service, service_as, make_event):
    ada = service_as(ADA)
    created = ada.events().insert(calendarId="primary", body=make_event()).execute()

    page = ada.events().list(calendarId=ADA).execute()

    assert page["accessRole"] == "owner"
    assert [item["id"] for item in page["items"]] == [created["id"]]
    assert created["organizer"] == {"email": ADA, "self": True}


def test_calendar_without_a_role_is_not_found(service, service_as, make_event):
    created = service.events().insert(calendarId=BOB, body=make_event()).execute()
    ada = service_as(ADA)

    for request in (
        ada.events().list(calendarId=BOB),
        ada.events().get(calendarId=BOB, eventId=created["id"]),
        ada.events().insert(calendarId=BOB, body=make_event()),
    ):
        with pytest.raises(HttpError) as caught:
            request.execute()
        assert_error_envelope(caught.value, 404, NOT_FOUND)


def test_role_none_hides_even_a_granted_calendar(service, service_as, admin):
    admin.set_role(BOB, ADA, "writer")
    admin.set_role(BOB, ADA, "none")

    with pytest.raises(HttpError) as caught:
        service_as(ADA).events().list(calendarId=BOB).execute()

    assert_error_envelope(caught.value, 404, NOT_FOUND)


def test_anonymous_requests_use_the_calendar_users_role(service, admin, make_event):
    admin.set_role(BOB, BOB, "reader")

    page = service.events().list(calendarId=BOB).execute()
    with pytest.raises(HttpError) as caught:
        service.events().insert(calendarId=BOB, body=make_event()).execute()

    assert page["accessRole"] == "reader"
    assert_error_reason(caught.value, 403, "requiredAccessLevel")


# --- reader, writer, freeBusyReader ------------------------------------------------------------


def test_reader_sees_everything_and_cannot_write(service, service_as, admin, make_event):
    created = _shared_event(service, make_event)
    admin.set_role(BOB, ADA, "reader")
    ada = service_as(ADA)

    page = ada.events().list(calendarId=BOB).execute()

    assert page["accessRole"] == "reader"
    assert page["items"][0]["summary"] == "Secret"
    assert page["items"][0]["conferenceData"]["conferenceId"] == "cs-1"
    for request in (
        ada.events().insert(calendarId=BOB, body=make_event()),
        ada.events().patch(calendarId=BOB, eventId=created["id"], body={"summary": "x"}),
        ada.events().delete(calendarId=BOB, eventId=created["id"]),
    ):
        with pytest.raises(HttpError) as caught:
            request.execute()
        assert_error_reason(caught.value, 403, "requiredAccessLevel")
    assert service.events().get(calendarId=BOB, eventId=created["id"]).execute()["summary"] == (
        "Secret"
    )


def test_writer_can_write(service, service_as, admin, make_event):
    admin.set_role(BOB, ADA, "writer")
    ada = service_as(ADA)

    created = ada.events().insert(calendarId=BOB, body=make_event("By Ada")).execute()

    assert ada.events().list(calendarId=BOB).execute()["accessRole"] == "writer"
    assert created["organizer"]["email"] == BOB
    ada.events().delete(calendarId=BOB, eventId=created["id"]).execute()


def test_free_busy_reader_sees_only_times(service, service_as, admin, make_event):
    created = _shared_event(service, make_event)
    admin.set_role(BOB, ADA, "freeBusyReader")
    ada = service_as(ADA)

    page = ada.events().list(calendarId=BOB).execute()
    fetched = ada.events().get(calendarId=BOB, eventId=created["id"]).execute()

    assert page["accessRole"] == "freeBusyReader"
    for item in (page["items"][0], fetched):
        assert set(item) <= FREE_BUSY_KEYS
        assert item["id"] == created["id"]
        assert item["start"] == created["start"]
        assert item["end"] == created["end"]
    with pytest.raises(HttpError) as caught:
        ada.events().patch(calendarId=BOB, eventId=created["id"], body={"summary": "x"}).execute()
    assert_error_reason(caught.value, 403, "requiredAccessLevel")


def test_removing_an_entry_restores_the_default(service, service_as, admin):
    admin.set_role(BOB, ADA, "reader")

    rules = admin.remove_role(BOB, ADA)

    assert {"user": ADA, "role": "reader", "default": False} not in rules
    with pytest.raises(HttpError) as caught:
        service_as(ADA).events().list(calendarId=BOB).execute()
    assert caught.value.resp.status == 404


# --- the admin API -----------------------------------------------------------------------------


def test_admin_lists_explicit_entries_and_the_default_owner(service, admin):
    assert admin.set_role(BOB, ADA, "reader") == [
        {"user": BOB, "role": "owner", "default": True},
        {"user": ADA, "role": "reader", "default": False},
    ]
    assert admin.acl(BOB) == admin.set_role(BOB, ADA, "reader")


def test_admin_refuses_an_unknown_role(service, admin):
    answer = admin.put_acl_raw(BOB, ADA, {"role": "superuser"})

    assert answer.status_code == 400
    assert admin.acl(BOB) == [{"user": BOB, "role": "owner", "default": True}]


def test_reset_forgets_the_acl(service, admin):
    admin.set_role(BOB, ADA, "reader")

    admin.reset()

    assert admin.acl(BOB) == [{"user": BOB, "role": "owner", "default": True}]


# --- calendarList.list -------------------------------------------------------------------------


def test_calendar_list_holds_own_and_granted_calendars(service, service_as, admin):
    admin.set_role(BOB, ADA, "reader")
    admin.set_role("team@example.com", ADA, "writer")
    admin.set_role("hidden@example.com", ADA, "none")

    answer = service_as(ADA).calendarList().list().execute()

    assert answer["kind"] == "calendar#calendarList"
    entries = {item["id"]: item for item in answer["items"]}
    assert set(entries) == {ADA, BOB, "team@example.com"}
    assert answer["items"][0]["id"] == ADA
    assert entries[ADA]["accessRole"] == "owner"
    assert entries[ADA]["primary"] is True
    assert entries[BOB]["accessRole"] == "reader"
    assert entries["team@example.com"]["accessRole"] == "writer"
    for entry in entries.values():
        assert entry["kind"] == "calendar#calendarListEntry"
        assert entry["summary"]
        assert "primary" not in entry or entry["id"] == ADA


def test_calendar_list_min_access_role(service, service_as, admin):
    admin.set_role(BOB, ADA, "reader")

    answer = service_as(ADA).calendarList().list(minAccessRole="writer").execute()

    assert [item["id"] for item in answer["items"]] == [ADA]


def test_calendar_list_needs_a_named_caller(service, emulator):
    # A plain Http: google-auth would try to refresh anonymous credentials on the 401.
    bare = build(
        "calendar",
        "v3",
        http=httplib2.Http(),
        client_options={"api_endpoint": emulator.api_endpoint},
        static_discovery=True,
    )

    with pytest.raises(HttpError) as caught:
        bare.calendarList().list().execute()

    assert_error_reason(caught.value, 401, "required")


def test_list_of_own_calendar_after_grant_elsewhere(service, service_as, admin, make_event):
    admin.set_role(BOB, ADA, "reader")
    service.events().insert(calendarId=ADA, body=make_event()).execute()

    items, _ = list_all(service_as(ADA), calendarId="primary")

    assert len(items) == 1
