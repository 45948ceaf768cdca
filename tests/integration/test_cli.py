"""The ``confsync`` command line against the Firestore and Pub/Sub emulators, with its real wiring
(the clients find the emulators through ``FIRESTORE_EMULATOR_HOST`` / ``PUBSUB_EMULATOR_HOST``)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from google.cloud.pubsub_v1 import PublisherClient, SubscriberClient

from confsync.adapters import firestore_http as firestore
from confsync.adapters.firestore_channels import FirestoreChannelStore
from confsync.adapters.firestore_store import FirestoreCalendarStore, FirestoreRecordStore
from confsync.calendars import CalendarDoc, calendar_key
from confsync.channel_docs import ChannelDoc
from confsync.cli import main
from confsync.messages import (
    EnrollCommand,
    TickCommand,
    decode_channel_command,
    decode_sync_request,
)
from confsync.records import (
    ConferenceRecord,
    PendingOperation,
    RecordStatus,
    SentState,
    conference_key,
)
from devstack.gcloud_emulators import EmulatorEndpoints

pytestmark = [pytest.mark.emulators, pytest.mark.timeout(60)]

SUBJECT, CALENDAR_ID = "alice@example.com", "primary"
KEY = calendar_key(SUBJECT, SUBJECT)  # every command resolves `primary` to the address
ALICE = ["--subject", SUBJECT, "--calendar", CALENDAR_ID]


@dataclass
class Pulled:
    data: bytes
    attributes: dict[str, str]


class Topics:
    """The two topics, each with a pull subscription the test reads."""

    def __init__(self, project: str) -> None:
        self.project = project
        self._publisher = PublisherClient()
        self._subscriber = SubscriberClient()
        for topic in ("channel-commands", "sync-requests"):
            path = self._publisher.topic_path(project, topic)
            self._publisher.create_topic(name=path)
            self._subscriber.create_subscription(
                name=self._subscriber.subscription_path(project, f"{topic}-cli-test"), topic=path
            )

    def pull(self, topic: str) -> list[Pulled]:
        subscription = self._subscriber.subscription_path(self.project, f"{topic}-cli-test")
        response = self._subscriber.pull(subscription=subscription, max_messages=10, timeout=10)
        if response.received_messages:
            self._subscriber.acknowledge(
                subscription=subscription,
                ack_ids=[m.ack_id for m in response.received_messages],
            )
        return [
            Pulled(m.message.data, dict(m.message.attributes)) for m in response.received_messages
        ]


@pytest.fixture(name="topics")
def topics_fixture(pubsub_emulator: EmulatorEndpoints) -> Topics:
    return Topics(pubsub_emulator.project)


@pytest.fixture(name="client")
def client_fixture(firestore_emulator: EmulatorEndpoints) -> firestore.Client:
    return firestore.Client.from_environment(firestore_emulator.project)


def _cli(*argv: str) -> int:
    """The command line against the emulators: the local stack, so never a Scheduler job."""
    env = {k: v for k, v in os.environ.items() if k != "CONFSYNC_SCHEDULER_JOB"}
    return main(list(argv), env)


def _json(capsys: pytest.CaptureFixture[str]) -> Any:
    return json.loads(capsys.readouterr().out)


def _failed_record(conference_id: str, status: RecordStatus) -> ConferenceRecord:
    return ConferenceRecord(
        key=conference_key(conference_id),
        home_key=KEY,
        conference_id=conference_id,
        status=status,
    )


def test_enroll_publishes_a_decodable_enroll_command(
    topics: Topics, firestore_emulator: EmulatorEndpoints, capsys: pytest.CaptureFixture[str]
) -> None:
    os.environ["CONFSYNC_ALLOWED_DOMAINS"] = "example.com"  # restored after the test
    assert _cli("enroll", *ALICE, "--json") == 0

    key = calendar_key(SUBJECT, SUBJECT)  # primary resolves to the user's address
    assert _json(capsys) == {"calendarKey": key, "published": True}
    [message] = topics.pull("channel-commands")
    assert decode_channel_command(message.data) == EnrollCommand(SUBJECT, SUBJECT)
    assert message.attributes == {"command": "enroll"}


def test_status_shows_a_calendar_from_firestore(
    client: firestore.Client, pubsub_emulator: EmulatorEndpoints, capsys: pytest.CaptureFixture[str]
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    synced = now - timedelta(minutes=3)
    FirestoreCalendarStore(client).put(
        CalendarDoc(
            key=KEY,
            subject=SUBJECT,
            calendar_id=CALENDAR_ID,
            sync_token="tok-1",
            last_success_at=synced,
            last_outcome="synced",
            pending_count=2,
            held_deletes=3,
        )
    )
    channels = FirestoreChannelStore(client)
    for channel_id, expires in (("ch-late", 2), ("ch-early", 1)):
        channels.put(
            ChannelDoc(channel_id, KEY, SUBJECT, "res", now + timedelta(days=expires), now)
        )
    channels.put(ChannelDoc("ch-dead", KEY, SUBJECT, "res", now - timedelta(hours=1), now))
    FirestoreRecordStore(client).save(
        [
            _failed_record("c1", "failed"),
            _failed_record("c2", "failed"),
            _failed_record("c3", "active"),
        ]
    )

    assert _cli("status", "--json") == 0
    assert _cli("status", *ALICE) == 0

    out = capsys.readouterr().out.splitlines()
    assert json.loads(out[0]) == {
        "calendars": [
            {
                "calendarKey": KEY,
                "calendarId": CALENDAR_ID,
                "state": "active",
                "syncToken": True,
                "channelExpiresAt": (now + timedelta(days=1)).isoformat().replace("+00:00", "Z"),
                "lastSuccessAt": synced.isoformat().replace("+00:00", "Z"),
                "lastOutcome": "synced",
                "pendingCount": 2,
                "failedRecords": 2,
                "heldDeletes": 3,
                "disconnectedAt": None,
            }
        ],
        "schedulerJob": None,  # CONFSYNC_SCHEDULER_JOB is not set: the local stack
    }
    assert out[1].startswith("CALENDAR KEY")
    assert out[2].split()[:4] == [KEY, CALENDAR_ID, "active", "yes"]
    assert out[2].split()[-4:] == ["2", "2", "3", "-"]


def test_resync_clears_the_token_and_publishes_a_manual_sync_request(
    client: firestore.Client, topics: Topics, capsys: pytest.CaptureFixture[str]
) -> None:
    store = FirestoreCalendarStore(client)
    store.put(CalendarDoc(key=KEY, subject=SUBJECT, calendar_id=CALENDAR_ID, sync_token="tok-1"))

    assert _cli("resync", *ALICE, "--json") == 0

    assert _json(capsys) == {"calendarKey": KEY, "tokenCleared": True, "published": True}
    stored = store.get(KEY)
    assert stored is not None
    assert stored.sync_token is None
    [message] = topics.pull("sync-requests")
    request = decode_sync_request(message.data)
    assert (request.calendar_key, request.reason) == (KEY, "manual")


def test_tick_publishes_a_tick(
    topics: Topics, firestore_emulator: EmulatorEndpoints, capsys: pytest.CaptureFixture[str]
) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)

    assert _cli("tick", "--json") == 0

    assert _json(capsys)["published"] is True
    [message] = topics.pull("channel-commands")
    command = decode_channel_command(message.data)
    assert isinstance(command, TickCommand)
    assert command.issued_at is not None
    assert before <= command.issued_at <= datetime.now(UTC)
    assert json.loads(message.data)["command"] == "tick"


def test_publishing_to_a_missing_topic_is_one_line_and_exit_1(
    pubsub_emulator: EmulatorEndpoints, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _cli("tick") == 1

    err = capsys.readouterr().err
    assert err.startswith("confsync: publishing to projects/")
    assert err.count("\n") == 1


def _held_record(conference_id: str) -> ConferenceRecord:
    return ConferenceRecord(
        key=conference_key(conference_id),
        home_key=KEY,
        conference_id=conference_id,
        sent=SentState(revision=3, state=None),
        pending=PendingOperation(attempts=0, next_attempt_at=datetime.now(UTC), last_error="x"),
        hold="held",
    )


@pytest.mark.parametrize("discard", [False, True])
def test_release_deletes_settles_the_held_deletes_in_firestore_and_requests_a_sync(
    client: firestore.Client, topics: Topics, capsys: pytest.CaptureFixture[str], discard: bool
) -> None:
    calendars, records = FirestoreCalendarStore(client), FirestoreRecordStore(client)
    calendars.put(CalendarDoc(key=KEY, subject=SUBJECT, calendar_id=CALENDAR_ID, held_deletes=2))
    records.save([_held_record("c1"), _held_record("c2")])
    option = ["--discard"] if discard else []

    assert _cli("release-deletes", "--calendar-key", KEY, *option, "--json") == 0
    assert _cli("release-deletes", "--calendar-key", KEY, *option, "--json") == 0

    verb = "discarded" if discard else "released"
    first, second = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert first == {"calendarKey": KEY, verb: 2, "published": True}
    assert second == {"calendarKey": KEY, verb: 0, "published": True}
    assert records.held(KEY) == []
    settled = records.by_keys([conference_key("c1"), conference_key("c2")])
    if discard:
        assert [(r.hold, r.pending) for r in settled] == [(None, None)] * 2
        assert records.pending(KEY, datetime.now(UTC), 10) == []
    else:
        assert [r.hold for r in settled] == ["released"] * 2
        assert len(records.pending(KEY, datetime.now(UTC), 10)) == 2  # due: the sync sends them
    doc = calendars.get(KEY)
    assert doc is not None
    assert (doc.held_deletes, doc.lease_owner) == (0, None)
    requests = [decode_sync_request(m.data) for m in topics.pull("sync-requests")]
    assert [(r.calendar_key, r.reason) for r in requests] == [(KEY, "manual")] * 2
