"""Fixtures for the function tier: each function served by functions-framework, as deployed."""

from __future__ import annotations

import pytest
from flask import Flask

from calendar_emulator.server import EmulatorServer
from conferencing_emulator.server import ConferencingServer
from devstack.gcloud_emulators import EmulatorEndpoints
from tests.support.paths import REPO_ROOT
from tests.support.sync_stack import (
    calendar_server_fixture,
    conferencing_server_fixture,
    stack_env,
    sync_stack_fixture,
)

__all__ = ["calendar_server_fixture", "conferencing_server_fixture", "sync_stack_fixture"]


@pytest.fixture(name="sync_app")
def sync_app_fixture(
    gcloud_emulators: EmulatorEndpoints,
    calendar_server: EmulatorServer,
    conferencing_server: ConferencingServer,
    monkeypatch: pytest.MonkeyPatch,
) -> Flask:
    """The ``sync`` function's app, configured for the local stack through its environment."""
    import functions_framework  # noqa: PLC0415 - imported once the environment is set

    for name, value in stack_env(gcloud_emulators, calendar_server, conferencing_server).items():
        monkeypatch.setenv(name, value)
    app: Flask = functions_framework.create_app(
        target="sync",
        source=str(REPO_ROOT / "functions" / "sync" / "main.py"),
        signature_type="cloudevent",
    )
    return app
