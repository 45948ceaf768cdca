"""``StackClient``'s Calendar helpers for multi-calendar ownership (move, roles, calendarList),
against an in-process Calendar emulator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from calendar_emulator.server import EmulatorServer
from devstack.client import StackClient
from tests.support.calendar_events import event

pytestmark = pytest.mark.timeout(30)

ADA = "ada@example.com"
BOB = "bob@example.com"


@pytest.fixture(name="client")
def fixture_client() -> Iterator[StackClient]:
    with EmulatorServer(host="127.0.0.1", port=0) as server:
        env = {
            "CALENDAR_EMULATOR_URL": server.base_url,
            "CONFERENCING_URL": "http://127.0.0.1:9",
            "PUBSUB_EMULATOR_HOST": "127.0.0.1:9",
            "PROJECT": "unused",
        }
        yield StackClient(env)


def test_move_event_keeps_the_id_on_the_destination(client: StackClient) -> None:
    client.list_events(BOB)
    created = client.insert(ADA, event(summary="Review"))

    moved = client.move_event(ADA, created["id"], BOB)

    assert moved["id"] == created["id"]
    assert moved["organizer"] == {"email": BOB, "self": True}
    assert [e["id"] for e in client.list_events(BOB)] == [created["id"]]


def test_calendar_role_shows_in_the_users_calendar_list(client: StackClient) -> None:
    client.set_calendar_role(BOB, ADA, "reader")

    entries = {e["id"]: e["accessRole"] for e in client.calendar_list(ADA)}

    assert entries == {ADA: "owner", BOB: "reader"}
