"""The tick payload and the push subscription configuration."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

from devstack.pubsub_wiring import PushSubscription, push_subscription_body
from devstack.scheduler import tick_payload


def test_the_tick_payload_is_the_scheduler_jobs_body() -> None:
    moment = datetime(2026, 11, 24, 6, 0, 1, 234000, tzinfo=timezone(timedelta(hours=1)))

    payload = tick_payload(moment)

    assert payload == b'{"v":1,"command":"tick","issuedAt":"2026-11-24T05:00:01.234Z"}'


def test_the_tick_payload_defaults_to_now() -> None:
    before = datetime.now(UTC).replace(microsecond=0)

    body = json.loads(tick_payload())

    issued = datetime.fromisoformat(body["issuedAt"].replace("Z", "+00:00"))
    assert before <= issued <= datetime.now(UTC)


def test_a_push_subscription_has_productions_deadline_retry_and_dead_letter() -> None:
    subscription = PushSubscription(
        "sync-requests-to-sync", "sync-requests", "http://127.0.0.1:8692/projects/p/topics/x"
    )

    assert push_subscription_body("proj", subscription, "confsync-dead-letter") == {
        "topic": "projects/proj/topics/sync-requests",
        "pushConfig": {"pushEndpoint": "http://127.0.0.1:8692/projects/p/topics/x"},
        "ackDeadlineSeconds": 600,
        "retryPolicy": {"minimumBackoff": "1s", "maximumBackoff": "60s"},
        "deadLetterPolicy": {
            "deadLetterTopic": "projects/proj/topics/confsync-dead-letter",
            "maxDeliveryAttempts": 5,
        },
    }
