"""Push notification channels: watch, messages, retries, stop and expiry.

Reference: calendar-api.md sections 4.1, 4.2 and 4.3.
"""

from __future__ import annotations

import email.utils
import time
import uuid

import pytest
from googleapiclient.errors import HttpError

from .support import NOT_FOUND, assert_error_envelope, assert_error_reason, event_body

pytestmark = pytest.mark.timeout(30)

WEEK_SECONDS = 604800


def test_watch_returns_the_channel(service, calendar_id, watch):
    before_ms = time.time() * 1000

    channel = watch(calendar_id, id="channel-one", token="target=confsync")

    assert channel["kind"] == "api#channel"
    assert channel["id"] == "channel-one"
    assert channel["resourceId"]
    assert channel["resourceUri"]
    assert channel["token"] == "target=confsync"
    expiration = int(channel["expiration"])
    assert abs(expiration - (before_ms + WEEK_SECONDS * 1000)) < 60_000


def test_watch_honours_requested_expiration(service, calendar_id, watch):
    wanted = int(time.time() * 1000) + 3_600_000

    channel = watch(calendar_id, expiration=str(wanted))

    assert int(channel["expiration"]) == wanted


def test_watch_with_reused_channel_id_is_rejected(service, calendar_id, watch):
    watch(calendar_id, id="same-channel")

    with pytest.raises(HttpError) as caught:
        watch(calendar_id, id="same-channel")

    assert_error_reason(caught.value, 400, "channelIdNotUnique")


def test_sync_message_arrives_first_with_number_1(service, calendar_id, watch, receiver):
    channel = watch(calendar_id)

    messages = receiver.wait_for(lambda got: len(got) >= 1)

    first = messages[0]
    assert first.method == "POST"
    assert first.channel_id == channel["id"]
    assert first.state == "sync"
    assert first.number == 1


def test_change_sends_exists_with_all_headers(service, calendar_id, watch, receiver):
    channel = watch(calendar_id, token="target=confsync")
    receiver.wait_for_state(channel["id"], "sync")

    service.events().insert(calendarId=calendar_id, body=event_body()).execute()

    message = receiver.wait_for_state(channel["id"], "exists")[0]
    assert message.method == "POST"
    assert message.path.endswith(channel["id"])
    assert message.body == b""
    assert message.header("X-Goog-Channel-ID") == channel["id"]
    assert message.header("X-Goog-Channel-Token") == "target=confsync"
    assert message.header("X-Goog-Resource-ID") == channel["resourceId"]
    assert message.header("X-Goog-Resource-URI") == channel["resourceUri"]
    assert message.header("X-Goog-Resource-State") == "exists"
    assert message.number > 1
    expiration_header = message.header("X-Goog-Channel-Expiration")
    assert expiration_header is not None
    expires = email.utils.parsedate_to_datetime(expiration_header)
    assert abs(expires.timestamp() - int(channel["expiration"]) / 1000) < 1.5
    user_agent = message.header("User-Agent")
    assert user_agent is not None
    assert "APIs-Google" in user_agent


def test_deletion_is_reported_as_exists(service, calendar_id, watch, receiver):
    event = service.events().insert(calendarId=calendar_id, body=event_body()).execute()
    channel = watch(calendar_id)
    receiver.wait_for_state(channel["id"], "sync")

    service.events().delete(calendarId=calendar_id, eventId=event["id"]).execute()

    receiver.wait_for_state(channel["id"], "exists")


def test_message_numbers_increase(service, calendar_id, watch, receiver):
    channel = watch(calendar_id)
    receiver.wait_for_state(channel["id"], "sync")
    event = service.events().insert(calendarId=calendar_id, body=event_body()).execute()
    receiver.wait_for_state(channel["id"], "exists", count=1)
    service.events().patch(
        calendarId=calendar_id, eventId=event["id"], body={"summary": "again"}
    ).execute()
    receiver.wait_for_state(channel["id"], "exists", count=2)
    service.events().delete(calendarId=calendar_id, eventId=event["id"]).execute()

    receiver.wait_for_state(channel["id"], "exists", count=3)

    numbers = [message.number for message in receiver.for_channel(channel["id"])]
    assert numbers[0] == 1
    assert numbers == sorted(numbers)
    assert len(set(numbers)) == len(numbers)


def test_every_channel_of_the_calendar_is_notified(service, calendar_id, watch, receiver):
    first = watch(calendar_id)
    second = watch(calendar_id)
    receiver.wait_for_state(first["id"], "sync")
    receiver.wait_for_state(second["id"], "sync")

    service.events().insert(calendarId=calendar_id, body=event_body()).execute()

    receiver.wait_for_state(first["id"], "exists")
    receiver.wait_for_state(second["id"], "exists")


def test_change_on_another_calendar_is_not_notified(service, calendar_id, watch, receiver):
    channel = watch(calendar_id)
    receiver.wait_for_state(channel["id"], "sync")

    service.events().insert(calendarId=f"x{calendar_id}", body=event_body()).execute()

    receiver.assert_quiet(0.4, channel_id=channel["id"])


def test_stopped_channel_gets_no_more_messages(service, admin, calendar_id, watch, receiver):
    channel = watch(calendar_id)
    receiver.wait_for_state(channel["id"], "sync")

    result = (
        service.channels()
        .stop(body={"id": channel["id"], "resourceId": channel["resourceId"]})
        .execute()
    )
    service.events().insert(calendarId=calendar_id, body=event_body()).execute()

    assert result == ""
    receiver.assert_quiet(0.5, channel_id=channel["id"])
    assert channel["id"] not in [live["id"] for live in admin.channels()]


def test_stopping_an_unknown_channel_is_not_found(service):
    with pytest.raises(HttpError) as caught:
        service.channels().stop(body={"id": "no-such-channel", "resourceId": "nope"}).execute()

    assert_error_envelope(caught.value, 404, NOT_FOUND)


def test_channel_stops_delivering_after_its_ttl(service, admin, calendar_id, watch, receiver):
    channel = watch(calendar_id, params={"ttl": "1"})
    receiver.wait_for_state(channel["id"], "sync")
    expires_at = int(channel["expiration"]) / 1000
    assert expires_at - time.time() < 5
    time.sleep(max(0.0, expires_at - time.time()) + 0.2)

    service.events().insert(calendarId=calendar_id, body=event_body()).execute()

    receiver.assert_quiet(0.5, channel_id=channel["id"])
    assert channel["id"] not in [live["id"] for live in admin.channels()]


def test_server_error_answer_is_retried(service, calendar_id, watch, receiver):
    receiver.answer_next(503)

    channel = watch(calendar_id)

    messages = receiver.wait_for_state(channel["id"], "sync", count=2, timeout=15)
    assert [message.answered for message in messages[:2]] == [503, 200]
    assert messages[0].number == messages[1].number == 1


def test_client_error_answer_is_not_retried(service, calendar_id, watch, receiver):
    receiver.answer_next(404)
    channel = watch(calendar_id)
    receiver.wait_for_state(channel["id"], "sync")

    # Delivery is in order per channel, so a retry of the failed message would come before
    # the next one; a short quiet period also catches a retry sent out of order.
    service.events().insert(calendarId=calendar_id, body=event_body()).execute()
    receiver.wait_for_state(channel["id"], "exists")
    receiver.assert_quiet(0.5, channel_id=channel["id"])

    states = [message.state for message in receiver.for_channel(channel["id"])]
    assert states == ["sync", "exists"]


def test_delivery_does_not_delay_the_api_call(service, calendar_id, watch, receiver):
    channel = watch(calendar_id)
    receiver.wait_for_state(channel["id"], "sync")
    receiver.answer_next(200, block=1.0)

    started = time.monotonic()
    service.events().insert(calendarId=calendar_id, body=event_body()).execute()
    elapsed = time.monotonic() - started

    message = receiver.wait_for_state(channel["id"], "exists")[0]
    assert elapsed < 0.5
    assert message.received_at - started < 1.0


def test_watch_call_does_not_wait_for_the_sync_message(service, calendar_id, watch, receiver):
    receiver.answer_next(200, block=1.0)

    started = time.monotonic()
    channel = watch(calendar_id)
    elapsed = time.monotonic() - started

    assert elapsed < 0.5
    receiver.wait_for_state(channel["id"], "sync")


def test_channel_id_longer_than_64_characters_is_rejected(service, calendar_id, watch):
    with pytest.raises(HttpError) as caught:
        watch(calendar_id, id="x" * 65)

    assert caught.value.resp.status == 400


def test_channel_ids_are_unique_across_calendars(service, calendar_id, watch):
    channel_id = f"shared-{uuid.uuid4()}"
    watch(calendar_id, id=channel_id)

    with pytest.raises(HttpError) as caught:
        watch(f"x{calendar_id}", id=channel_id)

    assert_error_reason(caught.value, 400, "channelIdNotUnique")


def test_plain_http_address_outside_loopback_is_rejected(service, calendar_id, watch):
    with pytest.raises(HttpError) as caught:
        watch(calendar_id, address="http://example.com/calendar-hook")

    assert caught.value.resp.status == 400
