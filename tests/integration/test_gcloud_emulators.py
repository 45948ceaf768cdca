"""The emulator harness gives each test real, empty Firestore and Pub/Sub emulators."""

from __future__ import annotations

import contextlib

import pytest
from google.api_core.exceptions import AlreadyExists, FailedPrecondition, NotFound
from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore
from google.cloud.pubsub_v1 import PublisherClient, SubscriberClient

from devstack.gcloud_emulators import EmulatorEndpoints, reset_firestore, reset_pubsub

pytestmark = pytest.mark.emulators


def _firestore(endpoints: EmulatorEndpoints) -> firestore.Client:
    return firestore.Client(project=endpoints.project, credentials=AnonymousCredentials())


def test_firestore_document_round_trip(firestore_emulator: EmulatorEndpoints) -> None:
    client = _firestore(firestore_emulator)

    client.collection("calendars").document("k1").set({"state": "active", "round": 1})

    snapshot = client.collection("calendars").document("k1").get()
    assert snapshot.to_dict() == {"state": "active", "round": 1}


def test_firestore_reset_empties_the_project(firestore_emulator: EmulatorEndpoints) -> None:
    client = _firestore(firestore_emulator)
    client.collection("calendars").document("k1").set({"state": "active"})

    reset_firestore(firestore_emulator)

    assert not client.collection("calendars").document("k1").get().exists


def test_firestore_supports_create_once_and_preconditions(
    firestore_emulator: EmulatorEndpoints,
) -> None:
    """The two cheap concurrency primitives the sync lease relies on work on the emulator."""
    client = _firestore(firestore_emulator)
    ref = client.collection("calendars").document("k1")
    ref.create({"lease": None})
    with pytest.raises(AlreadyExists):
        ref.create({"lease": None})

    stale = ref.get()
    ref.update({"lease": "owner-a"})

    with pytest.raises(FailedPrecondition):
        ref.update(
            {"lease": "owner-b"},
            option=client.write_option(last_update_time=stale.update_time),
        )
    assert ref.get().get("lease") == "owner-a"


def test_pubsub_publish_and_pull(pubsub_emulator: EmulatorEndpoints) -> None:
    publisher = PublisherClient()
    subscriber = SubscriberClient()
    topic = publisher.topic_path(pubsub_emulator.project, "sync-requests")
    subscription = subscriber.subscription_path(pubsub_emulator.project, "sync-test")
    publisher.create_topic(name=topic)
    subscriber.create_subscription(name=subscription, topic=topic)

    publisher.publish(topic, b'{"v":1}', reason="test").result(timeout=10)

    response = subscriber.pull(subscription=subscription, max_messages=1, timeout=10)
    [received] = response.received_messages
    assert received.message.data == b'{"v":1}'
    assert received.message.attributes["reason"] == "test"


def test_pubsub_reset_removes_topics_of_the_test_project_only(
    pubsub_emulator: EmulatorEndpoints,
) -> None:
    publisher = PublisherClient()
    ours = publisher.topic_path(pubsub_emulator.project, "channel-commands")
    theirs = publisher.topic_path("some-other-project", "channel-commands")
    publisher.create_topic(name=ours)
    with contextlib.suppress(AlreadyExists):
        publisher.create_topic(name=theirs)

    reset_pubsub(pubsub_emulator)

    with pytest.raises(NotFound):
        publisher.get_topic(topic=ours)
    assert publisher.get_topic(topic=theirs).name == theirs
    publisher.delete_topic(topic=theirs)
