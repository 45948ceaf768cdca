"""``confsync enroll`` in bulk against the Firestore and Pub/Sub emulators (and, for
``--all-owned`` and ``--domain``, the Calendar emulator), with its real wiring."""

from __future__ import annotations

import json
import os
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from google.api_core.exceptions import DeadlineExceeded
from google.cloud.pubsub_v1 import PublisherClient, SubscriberClient

from calendar_emulator.server import EmulatorServer
from confsync.adapters import firestore_http as firestore
from confsync.adapters.firestore_store import FirestoreCalendarStore
from confsync.calendars import CalendarDoc, calendar_key
from confsync.cli import main
from confsync.messages import ChannelCommand, EnrollCommand, decode_channel_command
from devstack.gcloud_emulators import EmulatorEndpoints

pytestmark = [pytest.mark.emulators, pytest.mark.timeout(120)]

SUBSCRIPTION = "channel-commands-bulk-test"


class Commands:
    """The channel-commands topic with a pull subscription the test drains."""

    def __init__(self, project: str) -> None:
        self._subscriber = SubscriberClient()
        publisher = PublisherClient()
        topic = publisher.topic_path(project, "channel-commands")
        publisher.create_topic(name=topic)
        self._path = self._subscriber.subscription_path(project, SUBSCRIPTION)
        self._subscriber.create_subscription(name=self._path, topic=topic)

    def drain(self, expected: int) -> list[ChannelCommand]:
        """Every message published so far: pulls until ``expected`` arrived, then once more
        until a pull comes back empty (so that more than expected would be seen)."""
        found: list[ChannelCommand] = []
        while True:
            try:
                answer = self._subscriber.pull(
                    subscription=self._path, max_messages=1000, timeout=3
                )
                received = list(answer.received_messages)
            except DeadlineExceeded:  # the emulator holds an empty pull until the deadline
                received = []
            if received:
                self._subscriber.acknowledge(
                    subscription=self._path, ack_ids=[m.ack_id for m in received]
                )
                found += [decode_channel_command(m.message.data) for m in received]
            elif len(found) >= expected:
                return found


@pytest.fixture(name="commands")
def commands_fixture(pubsub_emulator: EmulatorEndpoints) -> Commands:
    return Commands(pubsub_emulator.project)


@pytest.fixture(name="store")
def store_fixture(firestore_emulator: EmulatorEndpoints) -> FirestoreCalendarStore:
    client = firestore.Client.from_environment(firestore_emulator.project)
    return FirestoreCalendarStore(client)


def _cli(*argv: str, **extra: str) -> int:
    env = {k: v for k, v in os.environ.items() if k != "CONFSYNC_SCHEDULER_JOB"}
    return main(list(argv), {**env, "CONFSYNC_ALLOWED_DOMAINS": "example.com", **extra})


def _subjects(count: int) -> list[str]:
    return [f"user{i:04d}@example.com" for i in range(count)]


def test_two_hundred_subjects_are_published_once_and_a_rerun_publishes_none(
    commands: Commands,
    store: FirestoreCalendarStore,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    subjects = _subjects(200)
    path = tmp_path / "subjects.txt"
    path.write_text("# the pilot\n" + "\n".join(subjects) + "\n", encoding="utf-8")

    started = time.monotonic()
    assert _cli("enroll", "--from-file", str(path), "--rate", "10000", "--json") == 0
    elapsed = time.monotonic() - started

    summary = json.loads(capsys.readouterr().out)
    assert summary["enrolled"] == 200
    published = commands.drain(200)
    assert sorted(published, key=str) == sorted(
        (EnrollCommand(s, s, source="operator") for s in subjects), key=str
    )

    for subject in subjects:  # what the channels function does with them
        store.put(CalendarDoc(calendar_key(subject, subject), subject, subject, sync_token="t"))

    assert _cli("enroll", "--from-file", str(path), "--json") == 0

    again = json.loads(capsys.readouterr().out)
    with capsys.disabled():  # the measurement, for the record (pytest -s)
        print(f"\n200 enrolments: {elapsed:.2f} s in all, publishing {summary['perSecond']}/s")
    assert (again["enrolled"], again["alreadyEnrolled"]) == (0, 200)
    assert commands.drain(0) == []


def _reset(server: EmulatorServer) -> None:
    request = urllib.request.Request(f"{server.base_url}/emulator/v1/reset", method="POST")
    with urllib.request.urlopen(request, timeout=10):
        pass


def _share(server: EmulatorServer, calendar_id: str, user: str, role: str) -> None:
    body = json.dumps({"role": role}).encode()
    url = f"{server.base_url}/emulator/v1/calendars/{calendar_id}/acl/{user}"
    request = urllib.request.Request(url, data=body, method="PUT")
    with urllib.request.urlopen(request, timeout=10):
        pass


def _calendar_env(server: EmulatorServer) -> dict[str, Any]:
    return {"CONFSYNC_CALENDAR_CREDENTIALS": "emulator", "CALENDAR_API_URL": server.api_endpoint}


def test_all_owned_enrols_exactly_the_owned_calendars(
    commands: Commands,
    firestore_emulator: EmulatorEndpoints,
    calendar_server: EmulatorServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _reset(calendar_server)
    alice = "alice@example.com"
    _share(calendar_server, "team@group.calendar.google.com", alice, "owner")
    _share(calendar_server, "rooms@group.calendar.google.com", alice, "writer")
    _share(calendar_server, "bob@example.com", alice, "reader")

    argv = ["enroll", "--subject", alice, "--all-owned", "--json"]
    assert _cli(*argv, **_calendar_env(calendar_server)) == 0

    assert sorted(commands.drain(2), key=str) == [
        EnrollCommand(alice, alice, source="operator"),
        EnrollCommand(alice, "team@group.calendar.google.com", source="operator"),
    ]
    assert json.loads(capsys.readouterr().out)["enrolled"] == 2


def test_domain_enrols_each_users_primary_calendar_across_pages(
    commands: Commands,
    firestore_emulator: EmulatorEndpoints,
    calendar_server: EmulatorServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _reset(calendar_server)
    users = _subjects(520)  # more than one page of 500
    for user in [*users, "dave@other.org"]:
        calendar_server.app.store.calendar(user)  # the user's primary calendar exists

    argv = ["enroll", "--domain", "example.com", "--admin", "root@example.com", "--rate", "10000"]
    assert _cli(*argv, "--json", **_calendar_env(calendar_server)) == 0

    assert json.loads(capsys.readouterr().out)["enrolled"] == 520
    assert sorted(commands.drain(520), key=str) == sorted(
        (EnrollCommand(user, user, source="operator") for user in users), key=str
    )


def test_get_many_reads_past_one_batch_and_skips_a_malformed_record(
    firestore_emulator: EmulatorEndpoints, store: FirestoreCalendarStore
) -> None:
    subjects = _subjects(650)  # three get_all batches of at most 300
    kept = [subjects[0], subjects[400], subjects[649]]
    for subject in kept:
        store.put(CalendarDoc(calendar_key(subject, subject), subject, subject))
    client = firestore.Client.from_environment(firestore_emulator.project)
    broken = calendar_key(subjects[1], subjects[1])
    client.collection("calendars").document(broken).set({"state": 42})

    found = store.get_many(calendar_key(s, s) for s in subjects)

    assert sorted(doc.subject for doc in found.values()) == kept
    assert broken not in found
