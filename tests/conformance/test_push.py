"""Watch channels and their notifications (reference 4.1 to 4.3)."""

from __future__ import annotations

import pytest

from conformance.calendar import Calendar, timed_event

from .conftest import Target

WAIT_S = 30.0


@pytest.mark.unconfirmed(
    section="4.1",
    point="a watch with a plain http address answers 400 push.webhookUrlNotHttps",
    emulator="400 push.webhookUrlNotHttps (loopback hosts excepted)",
)
def test_a_watch_needs_an_https_address(calendar: Calendar) -> None:
    answer = calendar.watch("http://example.com/notify")

    assert answer.status == 400
    assert answer.reason == "push.webhookUrlNotHttps"


@pytest.mark.push
@pytest.mark.unconfirmed(
    section="4.3", point="channels.stop answers 204", emulator="204 with no body"
)
def test_a_channel_gets_sync_then_exists_and_stops(target: Target, calendar: Calendar) -> None:
    assert target.push is not None
    assert target.push_url is not None
    channel = calendar.watch(target.push_url, token="conformance-token")
    assert channel.status == 200, channel.body
    channel_id = str(channel["id"])

    sync = target.push.wait_for(channel_id, "sync", WAIT_S)
    calendar.must_insert(timed_event("wakes the channel", day=800))
    exists = target.push.wait_for(channel_id, "exists", WAIT_S)
    stopped = calendar.stop(channel_id, str(channel["resourceId"]))

    assert channel["kind"] == "api#channel"
    assert int(channel["expiration"]) > 0
    assert sync is not None, "no sync message"
    assert sync.headers["x-goog-resource-id"] == channel["resourceId"]
    assert sync.headers["x-goog-channel-token"] == "conformance-token"
    assert exists is not None, "no exists message after a change"
    assert int(exists.headers["x-goog-message-number"]) > int(sync.headers["x-goog-message-number"])
    assert exists.body == b""
    assert stopped.status == 204
