"""The ``channels`` Cloud Function through functions-framework: commands as Pub/Sub push envelopes
(the local stack's and production's path) and as Eventarc CloudEvents (still accepted), on the
emulators."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import requests
from flask import Flask
from google.cloud.pubsub_v1 import PublisherClient, SubscriberClient

from calendar_emulator.server import EmulatorServer
from confsync.adapters import firestore_http as firestore
from confsync.adapters.firestore_budget import COLLECTION
from confsync.adapters.firestore_channels import FirestoreChannelStore
from confsync.adapters.firestore_store import FirestoreCalendarStore
from confsync.calendar_budget import WINDOW_S
from confsync.calendars import CalendarDoc, calendar_key
from confsync.messages import decode_sync_request
from devstack.gcloud_emulators import EmulatorEndpoints
from tests.support.paths import REPO_ROOT
from tests.support.push_deliveries import Deliveries

pytestmark = [
    pytest.mark.emulators,
    pytest.mark.timeout(60),
    # an empty pull must not wait; the emulator honours the deprecated flag
    pytest.mark.filterwarnings("ignore:The return_immediately flag:DeprecationWarning"),
]

DELIVERIES = Deliveries(
    "confsync-test",
    "channel-commands",
    "confsync-channel-commands-to-channels",
    message_id="4321",
    attributes={},
)
SUBJECT = "erin@example.com"
CALENDAR = "erin@example.com"
KEY = calendar_key(SUBJECT, CALENDAR)


class Stack:
    """Handles on what the function touches: Firestore, the Calendar emulator, sync-requests."""

    def __init__(self, endpoints: EmulatorEndpoints, calendar: EmulatorServer) -> None:
        self.endpoints = endpoints
        self.calendar = calendar
        self.firestore = firestore.Client.from_environment(endpoints.project)
        self.calendars = FirestoreCalendarStore(self.firestore)
        self.channels = FirestoreChannelStore(self.firestore)
        self.subscriber = SubscriberClient()
        self.subscription = self.subscriber.subscription_path(endpoints.project, "sync-watch")

    def live_channels(self) -> list[dict[str, Any]]:
        answer = requests.get(f"{self.calendar.base_url}/emulator/v1/channels", timeout=10)
        found: list[dict[str, Any]] = answer.json()["channels"]
        return found

    def sync_requests(self) -> list[tuple[str, str]]:
        """The SyncRequests published so far, as (calendar key, reason)."""
        answer = self.subscriber.pull(
            request={
                "subscription": self.subscription,
                "max_messages": 100,
                "return_immediately": True,  # the emulator honours it: no wait when empty
            },
            timeout=10,
        )
        requests_ = [decode_sync_request(m.message.data) for m in answer.received_messages]
        return [(r.calendar_key, r.reason) for r in requests_]


@pytest.fixture(scope="module", name="calendar_server")
def calendar_server_fixture() -> Any:
    with EmulatorServer(host="127.0.0.1", port=0) as server:
        yield server


@pytest.fixture(name="stack")
def stack_fixture(
    firestore_emulator: EmulatorEndpoints,
    pubsub_emulator: EmulatorEndpoints,
    calendar_server: EmulatorServer,
) -> Stack:
    requests.post(f"{calendar_server.base_url}/emulator/v1/reset", timeout=10).raise_for_status()
    publisher = PublisherClient()
    for topic in ("sync-requests", "channel-commands"):
        publisher.create_topic(name=publisher.topic_path(pubsub_emulator.project, topic))
    stack = Stack(firestore_emulator, calendar_server)
    stack.subscriber.create_subscription(
        name=stack.subscription,
        topic=publisher.topic_path(pubsub_emulator.project, "sync-requests"),
    )
    return stack


@pytest.fixture(name="channels_app")
def channels_app_fixture(
    stack: Stack, calendar_server: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> Flask:
    """The ``channels`` function's app, configured for the emulators through its environment."""
    import functions_framework  # noqa: PLC0415 - imported once the environment is set

    env = {
        "GOOGLE_CLOUD_PROJECT": stack.endpoints.project,
        "FIRESTORE_EMULATOR_HOST": stack.endpoints.firestore_host,
        "PUBSUB_EMULATOR_HOST": stack.endpoints.pubsub_host,
        "CONFSYNC_CALENDAR_CREDENTIALS": "emulator",
        "CALENDAR_API_URL": calendar_server.api_endpoint,
        "CONFSYNC_CHANNEL_TOKEN_KEYS": "k1:function-test-secret-0123",
        "CONFSYNC_CHANNEL_TOKEN_ACTIVE_KEY": "k1",
        # notifications go back to the emulator itself, which answers 404: not retried, harmless
        "CONFSYNC_INTAKE_URL": f"{calendar_server.base_url}/nowhere",
        "CONFSYNC_CALENDAR_ATTEMPTS": "2",
        "CONFSYNC_ALLOWED_DOMAINS": "example.com",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    app: Flask = functions_framework.create_app(
        target="channels",
        source=str(REPO_ROOT / "functions" / "channels" / "main.py"),
        signature_type="cloudevent",
    )
    return app


def _enroll_payload() -> bytes:
    return json.dumps(
        {"v": 1, "command": "enroll", "subject": SUBJECT, "calendarId": CALENDAR}
    ).encode()


@pytest.mark.parametrize(
    "deliver",
    [DELIVERIES.push, DELIVERIES.production_push, DELIVERIES.eventarc],
    ids=["pubsub-push", "production-push", "eventarc"],
)
def test_enroll_command_watches_the_calendar_and_requests_the_first_sync(
    channels_app: Flask, stack: Stack, deliver: Any
) -> None:
    answer = deliver(channels_app, _enroll_payload())

    assert answer.status_code == 200
    doc = stack.calendars.get(KEY)
    assert doc is not None
    assert doc.state == "active"
    [live] = stack.live_channels()
    assert [c.id for c in stack.channels.active_for(KEY)] == [live["id"]]
    assert stack.sync_requests() == [(KEY, "enroll")]


def test_tick_command_as_the_scheduler_publishes_it_repairs_and_sweeps(
    channels_app: Flask, stack: Stack
) -> None:
    stack.calendars.put(CalendarDoc(key=KEY, subject=SUBJECT, calendar_id=CALENDAR))
    payload = b'{"v":1,"command":"tick","issuedAt":"2026-11-24T09:00:00Z"}'

    answer = DELIVERIES.push(channels_app, payload)

    assert answer.status_code == 200
    assert len(stack.live_channels()) == 1  # repaired: an active calendar had no channel
    assert len(stack.channels.active_for(KEY)) == 1
    assert stack.sync_requests() == [(KEY, "sweep")]  # never attempted: swept


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b'{"v": 9, "command": "tick"}',
        b'{"v": 1, "command": "enroll", "subject": "", "calendarId": "x"}',
        b'{"v": 1, "command": "self-destruct"}',
    ],
    ids=["not-json", "unknown-version", "invalid-fields", "unknown-command"],
)
def test_malformed_command_is_acknowledged_and_changes_nothing(
    channels_app: Flask, stack: Stack, payload: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    answer = DELIVERIES.push(channels_app, payload)

    assert answer.status_code == 200
    assert "malformed channel command" in caplog.text
    assert list(stack.firestore.collection("calendars").stream()) == []
    assert list(stack.firestore.collection("channels").stream()) == []
    assert stack.live_channels() == []
    assert stack.sync_requests() == []


def test_enroll_command_for_a_domain_not_allowed_is_acknowledged_and_writes_nothing(
    channels_app: Flask, stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    payload = json.dumps(
        {
            "v": 1,
            "command": "enroll",
            "subject": "mallory@elsewhere.example",
            "calendarId": "primary",
            "source": "operator",
        }
    ).encode()

    answer = DELIVERIES.push(channels_app, payload)

    assert answer.status_code == 200  # acknowledged: a redelivery would be refused again
    assert [r.levelname for r in caplog.records if "enroll command refused" in r.message] == [
        "ERROR"
    ]
    assert "mallory" not in caplog.text
    assert list(stack.firestore.collection("calendars").stream()) == []
    assert list(stack.firestore.collection("channels").stream()) == []
    assert stack.live_channels() == []
    assert stack.sync_requests() == []


def test_a_blocked_calendar_ignores_the_addon_until_an_operator_enrolls_it(
    channels_app: Flask, stack: Stack
) -> None:
    def command(body: dict[str, Any]) -> None:
        answer = DELIVERIES.push(channels_app, json.dumps({"v": 1, **body}).encode())
        assert answer.status_code == 200

    addon = {"command": "enroll", "subject": SUBJECT, "calendarId": "primary", "source": "addon"}
    command(addon)
    command({"command": "unenroll", "calendarKey": KEY, "block": True})

    command(addon)

    doc = stack.calendars.get(KEY)
    assert doc is not None
    assert doc.state == "blocked"
    assert stack.live_channels() == []
    assert stack.sync_requests() == [(KEY, "enroll")]  # the first enrolment's only

    command({**addon, "source": "operator"})

    doc = stack.calendars.get(KEY)
    assert doc is not None
    assert doc.state == "active"
    assert doc.calendar_id == CALENDAR  # primary, stored as the address
    assert len(stack.live_channels()) == 1
    assert stack.sync_requests() == [(KEY, "enroll")]


def test_a_first_enrolment_makes_one_calendar_request_and_a_repeat_none(
    channels_app: Flask, stack: Stack
) -> None:
    base = stack.calendar.base_url
    requests.post(f"{base}/emulator/v1/requests/reset", timeout=10).raise_for_status()

    def calendar_requests() -> dict[str, int]:
        answer = requests.get(f"{base}/emulator/v1/requests", timeout=10)
        counts: dict[str, int] = answer.json()["counts"]
        return counts

    assert DELIVERIES.push(channels_app, _enroll_payload()).status_code == 200
    first = calendar_requests()
    assert DELIVERIES.push(channels_app, _enroll_payload()).status_code == 200

    assert first == {"calendar.events.watch": 1}
    assert calendar_requests() == first
    assert stack.sync_requests() == [(KEY, "enroll")]


def test_a_spent_background_budget_defers_the_ticks_repair_but_not_an_enrolment(
    channels_app: Flask, stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    import functions_framework  # noqa: PLC0415 - the environment is set by channels_app

    monkeypatch.setenv("CONFSYNC_PROJECT_CALENDAR_PER_MINUTE", "60")  # 10 calls a window
    budgeted = functions_framework.create_app(
        target="channels",
        source=str(REPO_ROOT / "functions" / "channels" / "main.py"),
        signature_type="cloudevent",
    )
    now = int(time.time() // WINDOW_S)
    for window in range(now, now + 4):  # background's 80% of this window and the next ones
        stack.firestore.collection(COLLECTION).document(f"{window}-0").set({"asked": 8})
    other = calendar_key("frank@example.com", "frank@example.com")
    stack.calendars.put(
        CalendarDoc(key=other, subject="frank@example.com", calendar_id="frank@example.com")
    )
    tick = b'{"v":1,"command":"tick","issuedAt":"2026-11-24T09:00:00Z"}'

    ticked = DELIVERIES.push(budgeted, tick)
    enrolled = DELIVERIES.push(budgeted, _enroll_payload())

    assert ticked.status_code == 200  # deferred to the next tick, not retried
    assert stack.sync_requests() == [(other, "sweep"), (KEY, "enroll")]  # swept all the same
    assert stack.channels.active_for(other) == []  # its repair waits for budget
    assert enrolled.status_code == 200
    assert len(stack.channels.active_for(KEY)) == 1  # a user's enrolment was served
