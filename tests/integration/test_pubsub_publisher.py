"""The publishers against the Pub/Sub emulator: what they publish arrives, with its attributes,
and a missing topic or an unreachable Pub/Sub is a PublishError."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import urllib3
from google.cloud.pubsub_v1 import PublisherClient, SubscriberClient

from confsync.adapters.pubsub_publisher import (
    PubsubChannelCommandPublisher,
    PubsubSyncRequestPublisher,
    low_latency_publisher,
)
from confsync.adapters.pubsub_rest import PubsubRestClient
from confsync.errors import PublishError
from confsync.messages import (
    SyncRequest,
    TickCommand,
    decode_channel_command,
    decode_sync_request,
)
from devstack.gcloud_emulators import EmulatorEndpoints, free_port

pytestmark = pytest.mark.emulators

NOW = datetime(2026, 12, 4, 12, tzinfo=UTC)


def _subscribed(endpoints: EmulatorEndpoints, topic: str) -> tuple[SubscriberClient, str]:
    subscriber = SubscriberClient()
    topic_path = PublisherClient.topic_path(endpoints.project, topic)
    subscription = subscriber.subscription_path(endpoints.project, f"{topic}-test")
    PublisherClient().create_topic(name=topic_path)
    subscriber.create_subscription(name=subscription, topic=topic_path)
    return subscriber, subscription


def test_a_sync_request_arrives_with_its_reason(pubsub_emulator: EmulatorEndpoints) -> None:
    subscriber, subscription = _subscribed(pubsub_emulator, "sync-requests")
    request = SyncRequest(calendar_key="ck_1", reason="notification", notified_at=NOW)

    PubsubSyncRequestPublisher(
        low_latency_publisher(), pubsub_emulator.project, "sync-requests"
    ).publish(request)

    [received] = subscriber.pull(
        subscription=subscription, max_messages=1, timeout=10
    ).received_messages
    assert decode_sync_request(received.message.data) == request
    assert dict(received.message.attributes) == {"reason": "notification"}


def test_a_channel_command_arrives_with_its_kind(pubsub_emulator: EmulatorEndpoints) -> None:
    subscriber, subscription = _subscribed(pubsub_emulator, "channel-commands")
    command = TickCommand(issued_at=NOW)

    PubsubChannelCommandPublisher(
        low_latency_publisher(), pubsub_emulator.project, "channel-commands"
    ).publish(command)

    [received] = subscriber.pull(
        subscription=subscription, max_messages=1, timeout=10
    ).received_messages
    assert decode_channel_command(received.message.data) == command
    assert dict(received.message.attributes) == {"command": "tick"}


def test_publishing_to_a_missing_topic_fails(pubsub_emulator: EmulatorEndpoints) -> None:
    publisher = PubsubSyncRequestPublisher(
        low_latency_publisher(), pubsub_emulator.project, "no-such-topic"
    )

    with pytest.raises(PublishError, match="no-such-topic"):
        publisher.publish(SyncRequest(calendar_key="ck_1", reason="manual", notified_at=NOW))


def test_an_unreachable_pubsub_fails_within_the_timeout() -> None:
    client = PubsubRestClient(urllib3.PoolManager(), f"http://127.0.0.1:{free_port()}")
    publisher = PubsubSyncRequestPublisher(client, "p", "sync-requests", timeout=1.0)

    with pytest.raises(PublishError, match="sync-requests"):
        publisher.publish(SyncRequest(calendar_key="ck_1", reason="manual", notified_at=NOW))
