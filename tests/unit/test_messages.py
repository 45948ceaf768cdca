"""Pub/Sub payloads: one codec, both delivery paths, every bad input refused by name."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import pytest

from confsync.errors import MalformedInputError
from confsync.messages import (
    SyncRequest,
    decode_sync_request,
    encode_sync_request,
    pubsub_message,
)

REQUEST = SyncRequest(
    calendar_key="ck_123",
    reason="notification",
    notified_at=datetime(2026, 12, 1, 9, 0, 0, 123000, tzinfo=UTC),
    channel_id="chan-1",
    message_number=17,
)


def test_sync_request_round_trips() -> None:
    assert decode_sync_request(encode_sync_request(REQUEST)) == REQUEST


def test_optional_fields_may_be_absent() -> None:
    minimal = SyncRequest(calendar_key="ck_1", reason="sweep", notified_at=REQUEST.notified_at)

    assert decode_sync_request(encode_sync_request(minimal)) == minimal


def test_pubsub_message_from_a_cloud_event_data_object() -> None:
    data = {
        "message": {
            "data": base64.b64encode(b'{"x":1}').decode(),
            "attributes": {"origin": "intake"},
            "messageId": "42",
            "publishTime": "2026-12-01T09:00:00Z",
        },
        "subscription": "projects/p/subscriptions/s",
    }

    message = pubsub_message(data)

    assert message.data == b'{"x":1}'
    assert message.attributes == {"origin": "intake"}
    assert message.message_id == "42"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("not an object", "not an object"),
        ({"no": "message"}, "no Pub/Sub 'message'"),
        ({"message": {"data": "***"}}, "not valid base64"),
        ({"message": {"data": 5}}, "not a base64 string"),
        ({"message": {"data": "", "attributes": {"a": 1}}}, "attributes"),
    ],
)
def test_malformed_cloud_event_data_is_refused(data: Any, message: str) -> None:
    with pytest.raises(MalformedInputError, match=message):
        pubsub_message(data)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"\xff\xfe", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"v": 2, "calendarKey": "ck", "reason": "sweep", "notifiedAt": "x"}', "version 2"),
        (b'{"v": 1, "reason": "sweep", "notifiedAt": "2026-12-01T09:00:00Z"}', "calendarKey"),
        (b'{"v": 1, "calendarKey": "ck", "reason": "boom", "notifiedAt": "x"}', "reason"),
        (b'{"v": 1, "calendarKey": "ck", "reason": "sweep"}', "notifiedAt"),
        (b'{"v": 1, "calendarKey": "ck", "reason": "sweep", "notifiedAt": "soon"}', "RFC3339"),
        (
            b'{"v": 1, "calendarKey": "ck", "reason": "sweep", "notifiedAt": '
            b'"2026-12-01T09:00:00Z", "messageNumber": true}',
            "messageNumber",
        ),
        (b"{" + b" " * 70000 + b"}", "exceeds"),
    ],
)
def test_malformed_sync_request_is_refused_by_name(payload: bytes, message: str) -> None:
    with pytest.raises(MalformedInputError, match=message):
        decode_sync_request(payload)
