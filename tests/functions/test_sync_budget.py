"""The ``sync`` function under the project's Calendar budget (Firestore emulator): a request the
budget refuses answers 500 so Pub/Sub redelivers it, and the redelivery, in a later window,
syncs the change once the budget allows."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from flask import Flask

from calendar_emulator.server import EmulatorServer
from conferencing_emulator.server import ConferencingServer
from confsync.adapters import firestore_http as firestore
from confsync.adapters.firestore_budget import COLLECTION
from confsync.calendar_budget import WINDOW_S
from confsync.messages import SyncRequest, encode_sync_request
from devstack.gcloud_emulators import EmulatorEndpoints
from tests.support.paths import REPO_ROOT
from tests.support.push_deliveries import Deliveries
from tests.support.sync_stack import SyncStack, stack_env

pytestmark = [pytest.mark.emulators, pytest.mark.timeout(60)]

DELIVERIES = Deliveries(
    "confsync-test", "sync-requests", "confsync-sync-requests-to-sync", message_id="77"
)
PER_MINUTE = 60  # 10 calls a window, one shard, claimed one by one


@pytest.fixture(name="budgeted_sync_app")
def budgeted_sync_app_fixture(
    gcloud_emulators: EmulatorEndpoints,
    calendar_server: EmulatorServer,
    conferencing_server: ConferencingServer,
    monkeypatch: pytest.MonkeyPatch,
) -> Flask:
    import functions_framework  # noqa: PLC0415 - imported once the environment is set

    for name, value in stack_env(gcloud_emulators, calendar_server, conferencing_server).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("CONFSYNC_PROJECT_CALENDAR_PER_MINUTE", str(PER_MINUTE))
    app: Flask = functions_framework.create_app(
        target="sync",
        source=str(REPO_ROOT / "functions" / "sync" / "main.py"),
        signature_type="cloudevent",
    )
    return app


def _budget_docs(stack: SyncStack) -> firestore.CollectionReference:
    client = firestore.Client.from_environment(stack.endpoints.project)
    return client.collection(COLLECTION)


def _spend_the_next_windows(stack: SyncStack, windows: int) -> None:
    """As if other instances had claimed all of this window and the next ones."""
    now = int(time.time() // WINDOW_S)
    for window in range(now, now + windows):
        _budget_docs(stack).document(f"{window}-0").set({"asked": PER_MINUTE // 6})


def test_a_sync_the_budget_refuses_answers_500_and_its_redelivery_syncs(
    budgeted_sync_app: Flask, sync_stack: SyncStack
) -> None:
    conference = sync_stack.create_conference()
    sync_stack.insert_event(conference, summary="Worth the wait")
    request = SyncRequest(
        calendar_key=sync_stack.key, reason="notification", notified_at=datetime.now(UTC)
    )
    _spend_the_next_windows(sync_stack, 4)  # a refused user call may wait one window out

    refused = DELIVERIES.push(budgeted_sync_app, encode_sync_request(request))
    for doc in _budget_docs(sync_stack).stream():
        doc.reference.delete()  # the budget allows again
    time.sleep(WINDOW_S - time.time() % WINDOW_S)  # Pub/Sub backs off 10 s at least
    redelivered = DELIVERIES.push(budgeted_sync_app, encode_sync_request(request))

    assert refused.status_code == 500
    assert redelivered.status_code == 200
    assert sync_stack.conference(conference["id"])["title"] == "Worth the wait"
