"""Fixtures of the Google auth stand-in's conformance tests: one in-process server for the
session, reset before each test, and a small admin client."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from google_auth_emulator.server import GoogleAuthServer

RUNTIME_SA = "sync@confsync-test.iam.gserviceaccount.com"
DELEGATION_SA = "calendar@confsync-test.iam.gserviceaccount.com"
EVENTS_SCOPE = "https://www.googleapis.com/auth/calendar.events"


class Admin:
    """The stand-in's admin API."""

    def __init__(self, base_url: str) -> None:
        self.base = f"{base_url}/emulator/v1"
        self.http = requests.Session()

    def post(self, path: str, body: Any) -> Any:
        answer = self.http.post(f"{self.base}/{path}", json=body, timeout=10)
        answer.raise_for_status()
        return answer.json()

    def get(self, path: str) -> Any:
        answer = self.http.get(f"{self.base}/{path}", timeout=10)
        answer.raise_for_status()
        return answer.json()

    def key_file(self, email: str) -> dict[str, Any]:
        key: dict[str, Any] = self.get(f"service-accounts/{email}/key")
        return key

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = self.get("stats")["counts"]
        return counts


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
