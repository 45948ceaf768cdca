"""Fixtures of the integration tier: confsync's own emulators next to the gcloud ones."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from google.cloud.pubsub_v1 import PublisherClient

from calendar_emulator.server import EmulatorServer
from conferencing_emulator.server import ConferencingServer
from devstack.gcloud_emulators import EmulatorEndpoints

from .sync_stack import SyncStack, new_calendar_id, stack_env


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
