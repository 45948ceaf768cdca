"""Wiring through the Pub/Sub emulator's REST API is idempotent and repairs a changed endpoint."""

from __future__ import annotations

import pytest

from devstack.gcloud_emulators import EmulatorEndpoints
from devstack.pubsub_wiring import PubsubRest, PushSubscription, WiringError

pytestmark = pytest.mark.emulators


def test_ensure_keeps_a_matching_subscription_and_replaces_a_changed_one(
    pubsub_emulator: EmulatorEndpoints,
) -> None:
    pubsub = PubsubRest(pubsub_emulator.pubsub_host, pubsub_emulator.project)
    for topic in ("sync-requests", "confsync-dead-letter", "sync-requests"):
        pubsub.ensure_topic(topic)
    first = PushSubscription("sync-requests-to-sync", "sync-requests", "http://127.0.0.1:9/a")
    pubsub.ensure_push_subscription(first, "confsync-dead-letter")
    pubsub.ensure_pull_subscription("confsync-dead-letter-inspect", "confsync-dead-letter")
    pubsub.ensure_pull_subscription("confsync-dead-letter-inspect", "confsync-dead-letter")

    pubsub.ensure_push_subscription(first, "confsync-dead-letter")
    moved = PushSubscription(first.name, first.topic, "http://127.0.0.1:9/b")
    pubsub.ensure_push_subscription(moved, "confsync-dead-letter")

    config = pubsub.subscription(first.name)
    assert config is not None
    assert config["pushConfig"]["pushEndpoint"] == "http://127.0.0.1:9/b"
    assert config["retryPolicy"] == {"minimumBackoff": "1s", "maximumBackoff": "60s"}
    assert pubsub.subscription("missing-subscription") is None


def test_publish_and_pull_round_trip(pubsub_emulator: EmulatorEndpoints) -> None:
    pubsub = PubsubRest(pubsub_emulator.pubsub_host, pubsub_emulator.project)
    pubsub.ensure_topic("channel-commands")
    pubsub.ensure_pull_subscription("channel-commands-inspect", "channel-commands")

    message_id = pubsub.publish("channel-commands", b'{"v":1}', {"origin": "test"})

    (received,) = pubsub.pull("channel-commands-inspect")
    assert (received.message_id, received.data) == (message_id, b'{"v":1}')
    assert received.attributes == {"origin": "test"}


def test_publishing_to_a_missing_topic_says_so(pubsub_emulator: EmulatorEndpoints) -> None:
    pubsub = PubsubRest(pubsub_emulator.pubsub_host, pubsub_emulator.project)

    with pytest.raises(WiringError, match="404"):
        pubsub.publish("no-such-topic", b"x")
