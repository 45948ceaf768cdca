"""The ``sync`` Cloud Function through functions-framework: the push envelope as the local stack
and production send it (and Eventarc's CloudEvent), ack or retry."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask

from confsync.calendars import ChannelWindow
from confsync.messages import SyncRequest, encode_sync_request
from tests.support.paths import REPO_ROOT
from tests.support.push_deliveries import Deliveries
from tests.support.sync_stack import SyncStack

pytestmark = [pytest.mark.emulators, pytest.mark.timeout(60)]

DELIVERIES = Deliveries(
    "confsync-test",
    "sync-requests",
    "confsync-sync-requests-to-sync",
    message_id="1234",
    attributes={"reason": "notification"},
)


def _request(stack: SyncStack) -> bytes:
    request = SyncRequest(
        calendar_key=stack.key, reason="notification", notified_at=datetime.now(UTC)
    )
    return encode_sync_request(request)


@pytest.mark.parametrize(
    "deliver",
    [DELIVERIES.push, DELIVERIES.production_push, DELIVERIES.eventarc],
    ids=["pubsub-push", "production-push", "eventarc"],
)
def test_sync_request_is_synced_and_acknowledged(
    sync_app: Flask, sync_stack: SyncStack, deliver: Any
) -> None:
    conference = sync_stack.create_conference()
    sync_stack.insert_event(conference, summary="Board meeting")

    answer = deliver(sync_app, _request(sync_stack))

    assert answer.status_code == 200
    assert sync_stack.conference(conference["id"])["title"] == "Board meeting"


@pytest.mark.parametrize(
    "payload",
    [b"not json", b'{"v": 99}', b'{"v": 1, "calendarKey": "", "reason": "x"}'],
    ids=["not-json", "unknown-version", "invalid-fields"],
)
def test_malformed_message_is_acknowledged_and_changes_nothing(
    sync_app: Flask, sync_stack: SyncStack, payload: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    answer = DELIVERIES.push(sync_app, payload)

    assert answer.status_code == 200  # acknowledged: a redelivery could never decode it either
    assert sync_stack.provider_requests() == []
    doc = sync_stack.calendars.get(sync_stack.key)
    assert doc is not None
    assert doc.last_attempt_at is None
    assert "malformed SyncRequest" in caplog.text


def test_a_notification_from_a_channel_that_is_not_live_is_acknowledged_and_dropped(
    sync_app: Flask, sync_stack: SyncStack
) -> None:
    """A leaked token of a stopped channel gets past intake until it expires; sync drops what it
    sends, from the calendar document alone (issue #13, M1)."""
    now = datetime.now(UTC)
    window = ChannelWindow(now - timedelta(hours=1), now + timedelta(days=2))
    sync_stack.calendars.note_channel(sync_stack.key, "live-channel", window)
    conference = sync_stack.create_conference()
    sync_stack.insert_event(conference, summary="Only from a live channel")

    def from_channel(channel_id: str) -> bytes:
        return encode_sync_request(
            SyncRequest(
                calendar_key=sync_stack.key,
                reason="notification",
                notified_at=datetime.now(UTC),
                channel_id=channel_id,
                message_number=3,
            )
        )

    dropped = DELIVERIES.push(sync_app, from_channel("stopped-channel"))
    doc = sync_stack.calendars.get(sync_stack.key)
    synced = DELIVERIES.push(sync_app, from_channel("live-channel"))

    assert dropped.status_code == 200  # acknowledged: never retried
    assert doc is not None
    assert doc.last_attempt_at is None  # no lease, no pull
    assert synced.status_code == 200
    assert sync_stack.conference(conference["id"])["title"] == "Only from a live channel"


def test_calendar_outage_answers_500_so_pub_sub_redelivers(
    sync_app: Flask, sync_stack: SyncStack
) -> None:
    conference = sync_stack.create_conference()
    sync_stack.insert_event(conference, summary="Retry me")
    sync_stack.calendar_faults({"method": "calendar.events.list", "status": 503, "count": 10})

    failed = DELIVERIES.push(sync_app, _request(sync_stack))
    sync_stack.clear_faults()
    redelivered = DELIVERIES.push(sync_app, _request(sync_stack))

    assert failed.status_code == 500
    assert redelivered.status_code == 200
    assert sync_stack.conference(conference["id"])["title"] == "Retry me"


def test_bad_configuration_fails_at_start_naming_the_variables() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONFSYNC_", "CONFERENCING_"))}
    env.update({"GOOGLE_CLOUD_PROJECT": "p", "CONFSYNC_LEASE_SECONDS": "forever"})

    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "functions" / "sync" / "main.py")],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )

    assert result.returncode != 0
    assert "CONFERENCING_URL is required" in result.stderr
    assert "CONFSYNC_LEASE_SECONDS='forever'" in result.stderr
