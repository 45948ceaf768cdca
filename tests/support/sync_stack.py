"""A whole sync stack on local emulators, for scenario tests of the sync runner.

Firestore and Pub/Sub are the gcloud emulators (from the root conftest); the Calendar API and the
conferencing system are confsync's emulators, in-process. The runner is built by the real
composition root from real configuration, exactly as the ``sync`` function builds it.

The fixtures at the end (``calendar_server``, ``conferencing_server``, ``sync_stack``) are
imported by the conftest of each tier that uses them (integration, functions).
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from google.auth.credentials import AnonymousCredentials
from google.cloud.pubsub_v1 import PublisherClient
from googleapiclient.discovery import build

from calendar_emulator.server import EmulatorServer
from conferencing_emulator.server import ConferencingServer
from conferencing_emulator.store import JOIN_URL_BASE
from confsync.adapters import firestore_http as firestore
from confsync.adapters.firestore_store import FirestoreCalendarStore, FirestoreRecordStore
from confsync.bootstrap import build_sync_runner
from confsync.calendars import CalendarDoc, calendar_key
from confsync.config import load_sync_config
from confsync.messages import SyncReason, SyncRequest
from confsync.sync import SyncOutcome, SyncRunner
from devstack.gcloud_emulators import EmulatorEndpoints
from tests.support.calendar_events import SOLUTION, conference_data, event

__all__ = [
    "SOLUTION",
    "SyncStack",
    "calendar_server_fixture",
    "conferencing_server_fixture",
    "new_calendar_id",
    "stack_env",
    "sync_stack_fixture",
]


@dataclass
class SyncStack:
    """Handles on every part of the stack, and the user's and add-on's actions."""

    endpoints: EmulatorEndpoints
    calendar_server: EmulatorServer
    conferencing_server: ConferencingServer
    calendar_id: str
    env: dict[str, str]

    def __post_init__(self) -> None:
        self.http = requests.Session()
        self.calendar: Any = build(
            "calendar",
            "v3",
            credentials=AnonymousCredentials(),
            client_options={"api_endpoint": self.calendar_server.api_endpoint},
            static_discovery=True,
        )
        self.firestore = firestore.Client.from_environment(self.endpoints.project)
        self.calendars = FirestoreCalendarStore(self.firestore)
        self.records = FirestoreRecordStore(self.firestore)
        self.key = calendar_key(self.calendar_id, self.calendar_id)

    # --- set-up -------------------------------------------------------------------------------

    def runner(self, **overrides: str) -> SyncRunner:
        """A runner built by the composition root from configuration (plus overrides)."""
        return build_sync_runner(load_sync_config({**self.env, **overrides}))

    def enroll(self) -> None:
        """What enrollment will do: the calendar record, active, with no sync token yet."""
        self.calendars.put(
            CalendarDoc(key=self.key, subject=self.calendar_id, calendar_id=self.calendar_id)
        )

    def sync(
        self, runner: SyncRunner | None = None, *, reason: SyncReason = "notification"
    ) -> SyncOutcome:
        """Run one sync of the calendar, as a SyncRequest (for ``reason``) would."""
        request = SyncRequest(calendar_key=self.key, reason=reason, notified_at=datetime.now(UTC))
        return (runner or self.runner()).run(request)

    # --- the add-on and the user --------------------------------------------------------------

    def create_conference(
        self, title: str = "Planning", owner: str | None = None
    ) -> dict[str, Any]:
        """The add-on creates a conference in the conferencing system, for ``owner`` (the
        organizer of the event it is for): the calendar's user unless given."""
        answer = self.http.post(
            f"{self.conferencing_server.base_url}/emulator/v1/conferences",
            json={"title": title, "owner": owner or self.calendar_id},
            timeout=10,
        )
        answer.raise_for_status()
        conference: dict[str, Any] = answer.json()
        return conference

    def insert_event(self, conference: Mapping[str, Any] | None = None, **fields: Any) -> Any:
        """The user creates an event (with the add-on's conference attached, when given)."""
        body = event(
            start="2027-03-01T10:00:00Z",
            end="2027-03-01T11:00:00Z",
            time_zone="Europe/Paris",
            attendees=["bob@example.com"],
        )
        body.update(fields)
        if conference is not None:
            body["conferenceData"] = conference_data(
                conference["id"], join_url=conference["joinUrl"]
            )
        return (
            self.calendar.events()
            .insert(calendarId=self.calendar_id, body=body, conferenceDataVersion=1)
            .execute()
        )

    def patch_event(self, event_id: str, **fields: Any) -> Any:
        """The user edits an event."""
        return (
            self.calendar.events()
            .patch(
                calendarId=self.calendar_id, eventId=event_id, body=fields, conferenceDataVersion=1
            )
            .execute()
        )

    def delete_event(self, event_id: str) -> None:
        """The user deletes an event (or one instance, given an instance id)."""
        self.calendar.events().delete(calendarId=self.calendar_id, eventId=event_id).execute()

    def get_event(self, event_id: str) -> Any:
        return self.calendar.events().get(calendarId=self.calendar_id, eventId=event_id).execute()

    # --- what the conferencing system saw -----------------------------------------------------

    def conference(self, conference_id: str) -> dict[str, Any]:
        answer = self.http.get(
            f"{self.conferencing_server.base_url}/emulator/v1/conferences", timeout=10
        )
        by_id = {c["id"]: c for c in answer.json()["conferences"]}
        found: dict[str, Any] = by_id[conference_id]
        return found

    def provider_requests(self) -> list[dict[str, Any]]:
        """Every PUT and DELETE the conferencing system received, in order."""
        answer = self.http.get(
            f"{self.conferencing_server.base_url}/emulator/v1/requests", timeout=10
        )
        log: list[dict[str, Any]] = answer.json()["requests"]
        return log

    def provider_faults(self, *rules: Mapping[str, Any]) -> None:
        self.http.post(
            f"{self.conferencing_server.base_url}/emulator/v1/faults", json=list(rules), timeout=10
        ).raise_for_status()

    def calendar_faults(self, *rules: Mapping[str, Any]) -> None:
        self.http.post(
            f"{self.calendar_server.base_url}/emulator/v1/faults", json=list(rules), timeout=10
        ).raise_for_status()

    def clear_faults(self) -> None:
        self.http.delete(f"{self.conferencing_server.base_url}/emulator/v1/faults", timeout=10)
        self.http.delete(f"{self.calendar_server.base_url}/emulator/v1/faults", timeout=10)

    def invalidate_sync_tokens(self) -> None:
        self.http.post(
            f"{self.calendar_server.base_url}/emulator/v1/calendars/{self.calendar_id}"
            "/invalidate-sync-tokens",
            timeout=10,
        ).raise_for_status()

    def calendar_calls(self) -> dict[str, int]:
        answer = self.http.get(f"{self.calendar_server.base_url}/emulator/v1/requests", timeout=10)
        counts: dict[str, int] = answer.json()["counts"]
        return counts

    # --- more of the user's actions, the provider's and the checks (scenario helpers) ----------

    def update_event(self, event_id: str, body: Mapping[str, Any]) -> Any:
        """The user saves the whole event (events.update, conferenceDataVersion=1)."""
        return (
            self.calendar.events()
            .update(
                calendarId=self.calendar_id,
                eventId=event_id,
                body=dict(body),
                conferenceDataVersion=1,
            )
            .execute()
        )

    def instances(self, series_id: str) -> list[dict[str, Any]]:
        """The instances of a recurring event (events.instances)."""
        answer = (
            self.calendar.events()
            .instances(calendarId=self.calendar_id, eventId=series_id)
            .execute()
        )
        items: list[dict[str, Any]] = answer.get("items", [])
        return items

    def delete_conference_at_provider(self, conference_id: str) -> None:
        """Someone deletes the conference in the conferencing system itself (at its revision)."""
        revision = self.conference(conference_id)["revision"] + 1
        self.http.delete(
            f"{self.conferencing_server.base_url}/v1/conferences/{conference_id}",
            params={"revision": revision},
            timeout=10,
        ).raise_for_status()

    def set_join_url(self, conference_id: str, join_url: str) -> None:
        """The conferencing system gives the conference a new join URL."""
        self.http.post(
            f"{self.conferencing_server.base_url}/emulator/v1/conferences/{conference_id}/join-url",
            json={"joinUrl": join_url},
            timeout=10,
        ).raise_for_status()

    def requests_for(self, conference_id: str) -> list[dict[str, Any]]:
        """The provider request log of one conference."""
        return [r for r in self.provider_requests() if r["conferenceId"] == conference_id]

    def assert_no_stale_operations(self) -> None:
        """Invariant 5: the provider never saw an operation older than one it had applied, and
        the revisions it applied to each conference strictly increase."""
        log = self.provider_requests()
        stale = [r for r in log if r["outcome"] == "stale"]
        assert not stale, f"stale operations reached the conferencing system: {stale}"
        applied: dict[str, list[int]] = {}
        for entry in log:
            if entry["outcome"] == "applied":
                applied.setdefault(entry["conferenceId"], []).append(entry["revision"])
        for conference_id, revisions in applied.items():
            assert all(a < b for a, b in itertools.pairwise(revisions)), (
                f"revisions applied to {conference_id} do not strictly increase: {revisions}"
            )


def stack_env(
    endpoints: EmulatorEndpoints, calendar_server: EmulatorServer, conferencing: ConferencingServer
) -> dict[str, str]:
    """The sync function's environment on this stack (fast retries for tests)."""
    return {
        "GOOGLE_CLOUD_PROJECT": endpoints.project,
        "FIRESTORE_EMULATOR_HOST": endpoints.firestore_host,
        "PUBSUB_EMULATOR_HOST": endpoints.pubsub_host,
        "CONFSYNC_CALENDAR_CREDENTIALS": "emulator",
        "CALENDAR_API_URL": calendar_server.api_endpoint,
        "CONFERENCING_URL": conferencing.base_url,
        "CONFSYNC_SOLUTION_NAMES": SOLUTION,
        "CONFSYNC_JOIN_URL_HOSTS": urlsplit(JOIN_URL_BASE).netloc,
        "CONFSYNC_PROVIDER_ATTEMPTS": "2",
        "CONFSYNC_CALENDAR_ATTEMPTS": "3",
        "CONFSYNC_PROVIDER_TIMEOUT_SECONDS": "2",
        "CONFSYNC_PENDING_BASE_DELAY_SECONDS": "1",
        "CONFSYNC_PENDING_MAX_DELAY_SECONDS": "5",
        # Deletes at the run's pending retry, as before the grace; scenarios of the grace set it.
        "CONFSYNC_DELETE_GRACE_SECONDS": "0",
    }


def new_calendar_id() -> str:
    return f"user-{uuid.uuid4().hex[:12]}@example.com"


@pytest.fixture(scope="session", name="calendar_server")
def calendar_server_fixture() -> Iterator[EmulatorServer]:
    with EmulatorServer(host="127.0.0.1", port=0) as server:
        yield server


@pytest.fixture(scope="session", name="conferencing_server")
def conferencing_server_fixture() -> Iterator[ConferencingServer]:
    with ConferencingServer(host="127.0.0.1", port=0) as server:
        yield server


@pytest.fixture(name="sync_stack")
def sync_stack_fixture(
    firestore_emulator: EmulatorEndpoints,
    pubsub_emulator: EmulatorEndpoints,
    calendar_server: EmulatorServer,
    conferencing_server: ConferencingServer,
) -> SyncStack:
    """Every emulator empty; one enrolled calendar; the sync-requests topic exists."""
    for server in (calendar_server, conferencing_server):
        requests.post(f"{server.base_url}/emulator/v1/reset", timeout=10).raise_for_status()
    publisher = PublisherClient()
    publisher.create_topic(name=publisher.topic_path(pubsub_emulator.project, "sync-requests"))
    stack = SyncStack(
        endpoints=firestore_emulator,
        calendar_server=calendar_server,
        conferencing_server=conferencing_server,
        calendar_id=new_calendar_id(),
        env=stack_env(firestore_emulator, calendar_server, conferencing_server),
    )
    stack.enroll()
    return stack
