"""Offboarding on the emulators: a calendar whose access disappears (a 404 fault of the Calendar
emulator, answered through the real Google client) ends ``disconnected`` in Firestore with its
reason and since when; the tick's retention query finds it in Firestore only once the retention
is over and retires it, deleting no conference; ``confsync status --state disconnected`` lists it
from Firestore."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from confsync.adapters import firestore_http as firestore
from confsync.adapters.calendar_api import GoogleCalendarClientFactory, RetryPolicy
from confsync.adapters.firestore_channels import FirestoreChannelStore, FirestoreRecordForgetter
from confsync.adapters.firestore_store import FirestoreCalendarStore, FirestoreRecordStore
from confsync.calendars import CalendarDoc
from confsync.channel_tokens import ChannelTokenKeys
from confsync.channels import ChannelService
from confsync.cli import main
from confsync.records import ConferenceRecord, conference_key
from confsync.testing import RecordingCommandPublisher, RecordingPublisher
from confsync.testing.settings import channel_settings
from devstack.gcloud_emulators import EmulatorEndpoints
from tests.support.sync_stack import SyncStack

pytestmark = [pytest.mark.emulators, pytest.mark.timeout(90)]

KEYS = ChannelTokenKeys.parse("k1:offboarding-secret-0123456789", "k1")
RETENTION = timedelta(seconds=60)
NOT_FOUND = {"method": "calendar.events.list", "status": 404, "reason": "notFound"}


def _channels_service(stack: SyncStack, now: Callable[[], datetime]) -> ChannelService:
    """The channel service on the stack's Firestore and Calendar emulator, at ``now``."""
    return ChannelService(
        calendar_api=GoogleCalendarClientFactory(
            lambda _subject: None,
            api_endpoint=stack.calendar_server.api_endpoint,
            retry=RetryPolicy(max_attempts=2, base_delay=0.01),
        ),
        calendar_store=FirestoreCalendarStore(stack.firestore),
        channels=FirestoreChannelStore(stack.firestore),
        records=FirestoreRecordForgetter(stack.firestore),
        publisher=RecordingPublisher(),
        commands=RecordingCommandPublisher(),
        settings=channel_settings(
            intake_url="https://intake.example/notify",
            token_keys=KEYS,
            disconnected_retention=RETENTION,
        ),
        now=now,
    )


def _doc(stack: SyncStack) -> CalendarDoc:
    doc = stack.calendars.get(stack.key)
    assert doc is not None
    return doc


def test_a_calendar_gone_from_the_calendar_api_is_disconnected_then_retired(
    sync_stack: SyncStack,
) -> None:
    conference = sync_stack.create_conference()
    sync_stack.insert_event(conference)
    assert sync_stack.sync().status == "synced"
    sync_stack.calendar_faults(NOT_FOUND)
    before = datetime.now(UTC)

    try:
        outcome = sync_stack.sync()
    finally:
        sync_stack.clear_faults()

    doc = _doc(sync_stack)
    assert outcome.status == "disconnected"
    assert doc.state == "disconnected"
    assert doc.last_outcome == "events.list: HTTP 404 notFound"
    assert doc.disconnected_at is not None
    assert before <= doc.disconnected_at <= datetime.now(UTC)
    assert doc.channels == {}
    since = doc.disconnected_at

    _channels_service(sync_stack, lambda: since + RETENTION).tick()  # exactly at the cutoff
    kept = _doc(sync_stack)
    _channels_service(sync_stack, lambda: since + RETENTION + timedelta(seconds=1)).tick()
    retired = _doc(sync_stack)

    assert (kept.state, kept.disconnected_at) == ("disconnected", since)
    assert retired.state == "unenrolled"
    assert retired.last_outcome == "unenrolled after 1 minute disconnected"
    [record] = FirestoreRecordStore(sync_stack.firestore).by_keys(
        [conference_key(conference["id"])]
    )
    assert sync_stack.key not in record.calendars  # forgotten by the calendar
    assert [r["method"] for r in sync_stack.provider_requests() if r["method"] == "DELETE"] == []
    assert sync_stack.conference(conference["id"])["status"] != "deleted"


def _cli(*argv: str) -> int:
    env = {k: v for k, v in os.environ.items() if k != "CONFSYNC_SCHEDULER_JOB"}
    return main(list(argv), env)


def test_status_state_reads_only_that_state_from_firestore(
    firestore_emulator: EmulatorEndpoints,
    pubsub_emulator: EmulatorEndpoints,
    capsys: pytest.CaptureFixture[str],
) -> None:
    client = firestore.Client.from_environment(firestore_emulator.project)
    store = FirestoreCalendarStore(client)
    since = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
    keys = [f"ck_status_{n:02d}" for n in range(35)]  # more than one `in` batch of 30
    for n, key in enumerate(keys):
        store.put(CalendarDoc(key=key, subject=f"u{n}@example.com", calendar_id="primary"))
        if n % 5:
            store.set_state(
                key, "disconnected", now=since, outcome="events.list: HTTP 404 notFound"
            )
    store.put(CalendarDoc(key="ck_status_active", subject="a@example.com", calendar_id="primary"))
    failed = ConferenceRecord(
        key=conference_key("c-failed"), home_key=keys[34], conference_id="c-failed", status="failed"
    )
    FirestoreRecordStore(client).save([failed])

    assert _cli("status", "--state", "disconnected", "--json") == 0
    rows = json.loads(capsys.readouterr().out)["calendars"]

    assert [r["calendarKey"] for r in rows] == [k for n, k in enumerate(keys) if n % 5]
    stamp = since.isoformat().replace("+00:00", "Z")
    assert {(r["state"], r["lastOutcome"], r["disconnectedAt"]) for r in rows} == {
        ("disconnected", "events.list: HTTP 404 notFound", stamp)
    }
    assert [r["failedRecords"] for r in rows if r["calendarKey"] == keys[34]] == [1]
