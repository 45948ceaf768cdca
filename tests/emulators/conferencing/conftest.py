"""Fixtures for the conferencing emulator tests.

Two in-process emulators serve the session: an open one, and a secured one (bearer credential and
signing secret). Every test that uses them starts from a reset emulator.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conferencing_emulator.server import ConferencingServer

from .support import Admin, Client

CREDENTIAL = "test-credential-123"
SIGNING_SECRET = b"test-signing-secret"


@pytest.fixture(scope="session", name="open_server")
def fixture_open_server() -> Iterator[ConferencingServer]:
    with ConferencingServer(host="127.0.0.1", port=0) as server:
        yield server


@pytest.fixture(scope="session", name="secured_server")
def fixture_secured_server() -> Iterator[ConferencingServer]:
    with ConferencingServer(
        host="127.0.0.1", port=0, credential=CREDENTIAL, signing_secret=SIGNING_SECRET
    ) as server:
        yield server


@pytest.fixture(name="admin")
def fixture_admin(open_server: ConferencingServer) -> Admin:
    """Admin client of the open emulator, reset for this test."""
    admin = Admin(open_server.base_url)
    admin.reset()
    return admin


@pytest.fixture(name="client")
def fixture_client(open_server: ConferencingServer, admin: Admin) -> Client:
    """API client of the open emulator (reset by ``admin``)."""
    return Client(open_server.base_url)


@pytest.fixture(name="secured_admin")
def fixture_secured_admin(secured_server: ConferencingServer) -> Admin:
    admin = Admin(secured_server.base_url)
    admin.reset()
    return admin


@pytest.fixture(name="secured_server_url")
def fixture_secured_server_url(secured_server: ConferencingServer, secured_admin: Admin) -> str:
    """Base URL of the secured emulator (reset by ``secured_admin``)."""
    return secured_server.base_url


@pytest.fixture(name="secured_client")
def fixture_secured_client(secured_server: ConferencingServer, secured_admin: Admin) -> Client:
    """A client sending the right credential and signature to the secured emulator."""
    return Client(secured_server.base_url, credential=CREDENTIAL, secret=SIGNING_SECRET)
