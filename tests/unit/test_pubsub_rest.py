"""The REST publisher: one message per ``topics.publish`` call, accepted or a PublishError.

Its HTTP is faked here (what it sends, what Pub/Sub answers); the emulator round trip is in
tests/integration/test_pubsub_publisher.py.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
import urllib3

from confsync.adapters.pubsub_publisher import PubsubSyncRequestPublisher
from confsync.adapters.pubsub_rest import PubsubRestClient
from confsync.errors import PublishError
from confsync.messages import SyncRequest, decode_sync_request

REQUEST = SyncRequest(
    calendar_key="ck_1", reason="notification", notified_at=datetime(2026, 12, 4, tzinfo=UTC)
)


@dataclass
class _Answer:
    status: int
    data: bytes


@dataclass
class FakeHttp:
    """Answers each request with the next of ``answers`` (an exception is raised instead)."""

    answers: list[_Answer | Exception]
    sent: list[dict[str, Any]] = field(default_factory=list)

    def request(self, method: str, url: str, **kwargs: Any) -> _Answer:
        self.sent.append({"method": method, "url": url, **kwargs})
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


ACCEPTED = _Answer(200, b'{"messageIds": ["42"]}')


def _publisher(http: FakeHttp) -> PubsubSyncRequestPublisher:
    client = PubsubRestClient(http, "https://pubsub.example")
    return PubsubSyncRequestPublisher(client, "p", "sync-requests", timeout=3.0)


def test_a_request_is_published_to_its_topic_with_its_reason() -> None:
    http = FakeHttp([ACCEPTED])

    _publisher(http).publish(REQUEST)

    [sent] = http.sent
    assert sent["method"] == "POST"
    assert sent["url"] == "https://pubsub.example/v1/projects/p/topics/sync-requests:publish"
    [message] = json.loads(sent["body"])["messages"]
    assert decode_sync_request(base64.b64decode(message["data"])) == REQUEST
    assert message["attributes"] == {"reason": "notification"}


def test_an_overloaded_or_unreachable_pubsub_is_tried_again() -> None:
    http = FakeHttp([_Answer(503, b"busy"), urllib3.exceptions.ProtocolError("reset"), ACCEPTED])

    _publisher(http).publish(REQUEST)

    assert len(http.sent) == 3


def test_three_failed_attempts_raise_a_publish_error() -> None:
    http = FakeHttp([_Answer(503, b"busy")] * 3)

    with pytest.raises(PublishError, match=r"sync-requests.*HTTP 503"):
        _publisher(http).publish(REQUEST)


def test_a_refusal_is_not_tried_again() -> None:
    http = FakeHttp([_Answer(404, b'{"error": "topic not found"}'), ACCEPTED])

    with pytest.raises(PublishError, match="HTTP 404"):
        _publisher(http).publish(REQUEST)
    assert len(http.sent) == 1


def test_an_answer_without_a_message_id_is_not_taken_for_acceptance() -> None:
    http = FakeHttp([_Answer(200, b"{}")])

    with pytest.raises(PublishError, match="message ID"):
        _publisher(http).publish(REQUEST)
