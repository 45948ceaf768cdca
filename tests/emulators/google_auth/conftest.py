"""Fixtures of the Google auth stand-in's conformance tests: one in-process server for the
session, reset before each test, and a small admin client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from google_auth_emulator.server import GoogleAuthServer
from tests.support.google_auth import DELEGATION_SA, EVENTS_SCOPE, RUNTIME_SA, Admin


@pytest.fixture(scope="session", name="server")
def server_fixture() -> Iterator[GoogleAuthServer]:
    with GoogleAuthServer(host="127.0.0.1", port=0) as server:
        yield server


@pytest.fixture(name="admin")
def admin_fixture(server: GoogleAuthServer) -> Admin:
    admin = Admin(server.base_url)
    admin.post("reset", {})
    return admin


@pytest.fixture(name="delegation")
def delegation_fixture(admin: Admin) -> Admin:
    """The deployment confsync expects: the runtime account may sign as the delegation account,
    which the Workspace administrator authorized for the events scope; alice is a user."""
    admin.post("token-creators", {"member": RUNTIME_SA, "serviceAccount": DELEGATION_SA})
    admin.post(
        "delegations",
        {
            "serviceAccount": DELEGATION_SA,
            "scopes": [EVENTS_SCOPE],
            "subjects": ["alice@example.com", "bob@example.com"],
        },
    )
    return admin
