"""A conference's ``owner``: optional and validated on create, returned by GET, read-only after."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from conferencing_emulator.errors import ValidationError
from conferencing_emulator.model import parse_create, parse_put

from .support import TIMEOUT, Admin, Client, state

# --- the model --------------------------------------------------------------------------------


def test_create_takes_the_owner_apart_from_the_state() -> None:
    request = parse_create({"title": "x", "owner": "Ada@Example.com"})
    assert request.owner == "Ada@Example.com"  # kept as given, not lower-cased
    assert request.state == {"title": "x"}


@pytest.mark.parametrize("body", [{}, {"owner": None}])
def test_create_without_an_owner(body: dict[str, Any]) -> None:
    assert parse_create(body).owner is None


@pytest.mark.parametrize("owner", ["", "ada", "ada@", "@example.com", "a b@example.com", 7, True])
def test_create_refuses_an_owner_that_is_not_an_e_mail_address(owner: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_create({"owner": owner})
    assert caught.value.field_name == "owner"


@pytest.mark.parametrize("owner", ["mallory@example.com", None, "not an address", 7])
def test_put_accepts_any_owner_and_ignores_it(owner: Any) -> None:
    request = parse_put({**state(), "revision": 1, "owner": owner})
    assert "owner" not in request.state


# --- over HTTP --------------------------------------------------------------------------------


def test_create_stores_the_owner_as_given_and_get_returns_it(client: Client) -> None:
    created = client.new_conference(title="Kick-off", owner="Ada.Lovelace@Example.com")
    assert created["owner"] == "Ada.Lovelace@Example.com"
    assert client.get(created["id"]).json()["owner"] == "Ada.Lovelace@Example.com"


def test_a_conference_created_without_an_owner_has_none(client: Client) -> None:
    created = client.new_conference(title="Legacy")
    assert created["owner"] is None
    assert client.get(created["id"]).json()["owner"] is None


def test_an_invalid_owner_is_refused_and_creates_nothing(client: Client, admin: Admin) -> None:
    response = client.create({"title": "x", "owner": "not an address"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"
    assert response.json()["error"]["field"] == "owner"
    assert admin.conferences() == []


@pytest.mark.parametrize("sent", ["mallory@example.com", None, "ADA@EXAMPLE.COM"])
def test_put_sending_an_owner_is_applied_and_never_changes_it(client: Client, sent: Any) -> None:
    created = client.new_conference(owner="ada@example.com")

    response = client.put(created["id"], {**state(title="Moved"), "revision": 1, "owner": sent})

    assert response.status_code == 200, response.text
    assert response.json()["title"] == "Moved"
    assert response.json()["owner"] == "ada@example.com"
    assert client.get(created["id"]).json()["owner"] == "ada@example.com"


def test_put_cannot_give_an_ownerless_conference_an_owner(client: Client) -> None:
    created = client.new_conference()
    body = {**state(), "revision": 1, "owner": "mallory@example.com"}
    assert client.put(created["id"], body).status_code == 200
    assert client.get(created["id"]).json()["owner"] is None


def test_a_fetched_conference_sent_back_whole_keeps_its_owner(client: Client) -> None:
    created = client.new_conference(**state(), owner="ada@example.com")
    fetched = client.get(created["id"]).json()

    response = client.put(created["id"], {**fetched, "title": "Renamed", "revision": 1})

    assert response.status_code == 200, response.text
    assert response.json()["owner"] == "ada@example.com"


def test_delete_keeps_the_owner_readable(client: Client) -> None:
    created = client.new_conference(owner="ada@example.com")
    assert client.delete(created["id"], 1).status_code == 200
    found = client.get(created["id"]).json()
    assert (found["status"], found["owner"]) == ("deleted", "ada@example.com")


def test_admin_seed_takes_an_owner_and_validates_it(client: Client, admin: Admin) -> None:
    seeded = admin.seed({"title": "Seeded", "owner": "grace@example.com"})
    assert seeded["owner"] == "grace@example.com"
    assert client.get(seeded["id"]).json()["owner"] == "grace@example.com"
    assert {c["id"]: c["owner"] for c in admin.conferences()} == {seeded["id"]: "grace@example.com"}

    refused = requests.post(admin.base_url + "/conferences", json={"owner": "x"}, timeout=TIMEOUT)
    assert refused.status_code == 400
    assert refused.json()["error"]["field"] == "owner"
    assert len(admin.conferences()) == 1


def test_secured_get_returns_the_owner(secured_client: Client) -> None:
    """GET is authenticated and signed like every ``/v1`` request, and carries the owner."""
    created = secured_client.new_conference(owner="ada@example.com")
    response = secured_client.get(created["id"])
    assert response.status_code == 200, response.text
    assert response.json()["owner"] == "ada@example.com"
