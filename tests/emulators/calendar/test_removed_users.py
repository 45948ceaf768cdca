"""Users who leave: ``DELETE /emulator/v1/users/{email}`` (and ``:suspend``) makes a Workspace
user gone as Google does when an administrator deletes or suspends them. Requests made as them
answer 401 ``authError`` (named by their token, or anonymous on their own calendar, which the
emulator serves as that calendar's own user); anyone else gets 404 ``notFound`` for their
calendar; their channels stop. Driven through unmodified google-api-python-client, and through
confsync's own adapter, which must call it a lost calendar (CalendarAccessError), never an outage
to retry.

A 401 makes google-auth refresh the credentials and try again, as it would against Google:
anonymous credentials cannot be refreshed at all (InvalidOperation), and a user's credentials
whose refresh fails raise RefreshError. So to see the answers themselves, the tests below call
with no credentials (plain HTTP, as confsync's emulator mode does) or with credentials that keep
their token when asked to refresh.
"""

from __future__ import annotations

from typing import Any

import httplib2
import pytest
from google.auth.exceptions import RefreshError
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from calendar_emulator.server import EmulatorServer
from confsync.adapters.calendar_api import GoogleCalendarClientFactory, RetryPolicy
from confsync.errors import CalendarAccessError, CalendarUnavailableError

from .support import NOT_FOUND, Admin, NotificationReceiver, assert_error_envelope, wait_until

pytestmark = pytest.mark.timeout(30)

ALICE = "alice@example.com"
BOB = "bob@example.com"
CAROL = "carol@example.com"
INVALID_CREDENTIALS = {
    "domain": "global",
    "reason": "authError",
    "message": "Invalid Credentials",
    "locationType": "header",
    "location": "Authorization",
}


class _KeptToken(Credentials):
    """A user's token (``user:<email>``) that stays as it is when google-auth refreshes it."""

    def refresh(self, request: Any) -> None:
        del request


@pytest.fixture(name="plain")
def plain_fixture(emulator: EmulatorServer, service: Any) -> Any:
    """A client sending no credentials (plain HTTP): anonymous, with nothing to refresh."""
    return build(
        "calendar",
        "v3",
        http=httplib2.Http(timeout=10),
        client_options={"api_endpoint": emulator.api_endpoint},
        static_discovery=True,
    )


@pytest.fixture(name="as_user")
def as_user_fixture(emulator: EmulatorServer, service: Any) -> Any:
    """A client acting as a named user, whose token survives a refresh."""

    def build_for(user: str) -> Any:
        return build(
            "calendar",
            "v3",
            credentials=_KeptToken(token=f"user:{user}"),
            client_options={"api_endpoint": emulator.api_endpoint},
            static_discovery=True,
        )

    return build_for


def _refused(request: Any) -> HttpError:
    with pytest.raises(HttpError) as caught:
        request.execute()
    return caught.value


def _watch_body(receiver: NotificationReceiver, channel_id: str) -> dict[str, Any]:
    return {"id": channel_id, "type": "web_hook", "address": receiver.address(channel_id)}


def _alices_calendar(service: Any, make_event: Any) -> dict[str, Any]:
    created: dict[str, Any] = (
        service.events().insert(calendarId=ALICE, body=make_event("1:1")).execute()
    )
    return created


def test_requests_as_a_deleted_user_answer_401_invalid_credentials(
    service: Any, as_user: Any, admin: Admin, make_event: Any
) -> None:
    created = _alices_calendar(service, make_event)
    alice = as_user(ALICE)

    answer = admin.delete_user(ALICE)

    assert answer == {"user": ALICE, "status": "deleted", "channelsStopped": 0}
    for request in (
        alice.events().list(calendarId="primary"),
        alice.events().get(calendarId=ALICE, eventId=created["id"]),
        alice.events().insert(calendarId="primary", body=make_event()),
        alice.events().list(calendarId=BOB),  # any calendar: the credentials are dead
        alice.calendarList().list(),
        alice.channels().stop(body={"id": "ch-1", "resourceId": "r-1"}),
    ):
        assert_error_envelope(_refused(request), 401, INVALID_CREDENTIALS)


def test_anonymous_requests_on_a_deleted_users_calendar_answer_401(
    service: Any, plain: Any, admin: Admin, make_event: Any, receiver: NotificationReceiver
) -> None:
    # Anonymous requests act as the calendar's own user (how confsync's local stack calls it).
    created = _alices_calendar(service, make_event)
    admin.delete_user(ALICE)
    events = plain.events()

    for request in (
        events.list(calendarId=ALICE),
        events.get(calendarId=ALICE, eventId=created["id"]),
        events.patch(calendarId=ALICE, eventId=created["id"], body={"summary": "x"}),
        events.watch(calendarId=ALICE, body=_watch_body(receiver, "ch-after")),
    ):
        assert_error_envelope(_refused(request), 401, INVALID_CREDENTIALS)
    assert service.events().list(calendarId=BOB).execute()["items"] == []  # others are served


def test_others_get_404_for_a_deleted_users_calendar(
    service: Any, service_as: Any, admin: Admin, make_event: Any, receiver: NotificationReceiver
) -> None:
    created = _alices_calendar(service, make_event)
    admin.set_role(ALICE, BOB, "writer")
    bob = service_as(BOB)
    assert [c["id"] for c in bob.calendarList().list().execute()["items"]] == [BOB, ALICE]

    admin.delete_user(ALICE)

    for request in (
        bob.events().list(calendarId=ALICE),
        bob.events().get(calendarId=ALICE, eventId=created["id"]),
        bob.events().patch(calendarId=ALICE, eventId=created["id"], body={"summary": "x"}),
        bob.events().insert(calendarId=ALICE, body=make_event()),
        bob.events().watch(calendarId=ALICE, body=_watch_body(receiver, "ch-bob")),
    ):
        assert_error_envelope(_refused(request), 404, NOT_FOUND)
    assert [c["id"] for c in bob.calendarList().list().execute()["items"]] == [BOB]


def test_their_channels_stop_and_others_keep_delivering(
    service: Any, service_as: Any, admin: Admin, make_event: Any, receiver: NotificationReceiver
) -> None:
    _alices_calendar(service, make_event)
    admin.set_role(CAROL, ALICE, "writer")
    own = service.events().watch(calendarId=ALICE, body=_watch_body(receiver, "ch-own")).execute()
    opened_elsewhere = (
        service_as(ALICE)
        .events()
        .watch(calendarId=CAROL, body=_watch_body(receiver, "ch-alice-on-carol"))
        .execute()
    )
    control = service.events().watch(calendarId=CAROL, body=_watch_body(receiver, "ch-control"))
    control.execute()

    answer = admin.delete_user(ALICE)
    service.events().insert(calendarId=CAROL, body=make_event("after")).execute()

    assert answer["channelsStopped"] == 2
    assert [c["id"] for c in admin.channels()] == ["ch-control"]
    assert wait_until(lambda: "exists" in [m.state for m in receiver.for_channel("ch-control")])
    assert [m.state for m in receiver.for_channel("ch-alice-on-carol")] == ["sync"]
    stop = service.channels().stop(body={"id": own["id"], "resourceId": own["resourceId"]})
    assert_error_envelope(_refused(stop), 404, NOT_FOUND)  # already gone
    assert opened_elsewhere["id"] not in [c["id"] for c in admin.channels()]


def test_undelete_gives_the_calendar_back_as_it_was_but_not_its_channels(
    service: Any, admin: Admin, make_event: Any, receiver: NotificationReceiver
) -> None:
    created = _alices_calendar(service, make_event)
    service.events().watch(calendarId=ALICE, body=_watch_body(receiver, "ch-1")).execute()
    admin.delete_user(ALICE)

    answer = admin.user_action(ALICE, "undelete")

    assert answer.json() == {"user": ALICE, "status": "active", "channelsStopped": 0}
    items = service.events().list(calendarId=ALICE).execute()["items"]
    assert [item["id"] for item in items] == [created["id"]]
    assert admin.channels() == []


def test_a_suspended_user_is_refused_like_a_deleted_one_until_unsuspended(
    service: Any, plain: Any, service_as: Any, admin: Admin, make_event: Any
) -> None:
    _alices_calendar(service, make_event)
    admin.set_role(ALICE, BOB, "reader")

    suspended = admin.user_action(ALICE, "suspend")

    assert suspended.json()["status"] == "suspended"
    assert_error_envelope(_refused(plain.events().list(calendarId=ALICE)), 401, INVALID_CREDENTIALS)
    assert_error_envelope(_refused(service_as(BOB).events().list(calendarId=ALICE)), 404, NOT_FOUND)
    assert admin.user_action(ALICE, "undelete").status_code == 404  # not deleted
    assert admin.user_action(ALICE, "unsuspend").status_code == 200
    assert len(service_as(ALICE).events().list(calendarId="primary").execute()["items"]) == 1


def test_a_deleted_user_cannot_be_suspended_or_unsuspended(admin: Admin, plain: Any) -> None:
    admin.delete_user(ALICE)

    assert admin.user_action(ALICE, "suspend").status_code == 404
    assert admin.user_action(ALICE, "unsuspend").status_code == 404
    assert_error_envelope(_refused(plain.events().list(calendarId=ALICE)), 401, INVALID_CREDENTIALS)


def test_addresses_are_compared_without_regard_to_case(admin: Admin, plain: Any) -> None:
    admin.delete_user("Alice@Example.COM")

    assert_error_envelope(_refused(plain.events().list(calendarId=ALICE)), 401, INVALID_CREDENTIALS)


def test_google_auth_answers_a_401_by_refreshing_the_users_credentials(
    service: Any, service_as: Any, admin: Admin
) -> None:
    # As against Google: the client asks for a new token, which these credentials cannot get.
    admin.delete_user(ALICE)

    with pytest.raises(RefreshError):
        service_as(ALICE).events().list(calendarId="primary").execute()


@pytest.mark.parametrize("user", ["alice", "@example.com", "alice@", "a b@example.com"])
def test_a_user_that_is_not_an_address_is_refused_and_nothing_changes(
    admin: Admin, service: Any, user: str
) -> None:
    answer = admin.user_action(user)

    assert answer.status_code == 400
    assert "e-mail address" in answer.json()["error"]["message"]


def test_reset_brings_every_user_back(admin: Admin, service: Any) -> None:
    admin.delete_user(ALICE)

    admin.reset()

    assert service.events().list(calendarId=ALICE).execute()["items"] == []


# --- confsync's adapter ----------------------------------------------------------------------


def _confsync_client(emulator: EmulatorServer, credentials: Any = None) -> Any:
    factory = GoogleCalendarClientFactory(
        lambda subject: credentials,
        api_endpoint=emulator.api_endpoint,
        retry=RetryPolicy(max_attempts=3, sleep=lambda seconds: None),
    )
    return factory.for_subject(ALICE)


@pytest.mark.parametrize("as_user", [False, True], ids=["emulator-mode", "user-token"])
def test_confsync_calls_it_a_lost_calendar_not_an_outage(
    emulator: EmulatorServer, service: Any, admin: Admin, make_event: Any, as_user: bool
) -> None:
    created = _alices_calendar(service, make_event)
    credentials = Credentials(token=f"user:{ALICE}") if as_user else None
    client = _confsync_client(emulator, credentials)
    admin.delete_user(ALICE)
    admin.reset_request_counts()

    calls = [
        lambda: client.list_page(ALICE, sync_token=None, page_token=None, time_min=None),
        lambda: client.get_event(ALICE, created["id"]),
        lambda: client.watch(ALICE, "ch-1", "https://intake.example/", "token", 600),
        lambda: client.patch_conference_data(ALICE, created["id"], created["etag"], {}),
    ]
    for call in calls:
        with pytest.raises(CalendarAccessError) as caught:
            call()
        assert not isinstance(caught.value, CalendarUnavailableError)
    counts = admin.request_counts()
    assert sum(counts.values()) == len(calls)  # each tried once: nothing retried


def test_confsync_acting_as_another_user_loses_the_calendar_too(
    emulator: EmulatorServer, service: Any, admin: Admin, make_event: Any
) -> None:
    _alices_calendar(service, make_event)
    admin.set_role(ALICE, BOB, "writer")
    client = _confsync_client(emulator, Credentials(token=f"user:{BOB}"))
    admin.delete_user(ALICE)

    with pytest.raises(CalendarAccessError):
        client.list_page(ALICE, sync_token=None, page_token=None, time_min=None)
