"""The Directory stand-in: ``GET /admin/directory/v1/users`` lists the users the emulator knows
(its calendars' own users and the users its ACL names) of one domain, in pages."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from werkzeug.test import Client

from calendar_emulator.server import EmulatorApp

URL = "/admin/directory/v1/users"
ADMIN = {"Authorization": "Bearer user:root@example.com"}


@pytest.fixture(name="app")
def fixture_app() -> Iterator[EmulatorApp]:
    app = EmulatorApp()
    yield app
    app.close()


def _get(app: EmulatorApp, query: dict[str, str]) -> Any:
    response = Client(app).get(URL, query_string=query, headers=ADMIN)
    return response.status_code, response.get_json()


def _users(app: EmulatorApp, domain: str, page_size: str) -> list[str]:
    emails: list[str] = []
    token = None
    while True:
        query = {
            "domain": domain,
            "maxResults": page_size,
            **({"pageToken": token} if token else {}),
        }
        status, body = _get(app, query)
        assert status == 200
        assert body["kind"] == "admin#directory#users"
        emails += [user["primaryEmail"] for user in body["users"]]
        assert all(user["suspended"] is False for user in body["users"])
        token = body.get("nextPageToken")
        if token is None:
            return emails


def test_lists_the_domains_known_users_in_pages(app: EmulatorApp) -> None:
    for user in ("carol@example.com", "alice@example.com", "dave@other.org"):
        app.store.calendar(user)
    app.access.set_role("team@group.calendar.google.com", "bob@example.com", "owner")
    app.store.calendar("team@group.calendar.google.com")

    expected = ["alice@example.com", "bob@example.com", "carol@example.com"]
    assert _users(app, "example.com", "2") == expected
    assert _users(app, "example.com", "500") == expected


@pytest.mark.parametrize(
    ("headers", "query", "status", "reason"),
    [
        ({}, {"domain": "example.com"}, 401, "required"),
        (ADMIN, {"domain": "other.org"}, 403, "forbidden"),
        (ADMIN, {}, 400, "badRequest"),
        (ADMIN, {"domain": "example.com", "maxResults": "501"}, 400, "invalid"),
        (ADMIN, {"domain": "example.com", "pageToken": "forged"}, 400, "badRequest"),
    ],
)
def test_bad_requests_get_googles_errors(
    app: EmulatorApp,
    headers: dict[str, str],
    query: dict[str, str],
    status: int,
    reason: str,
) -> None:
    response = Client(app).get(URL, query_string=query, headers=headers)

    assert response.status_code == status
    assert response.get_json()["error"]["errors"][0]["reason"] == reason


def test_a_deleted_user_is_not_listed_and_a_suspended_one_is_marked(app: EmulatorApp) -> None:
    for user in ("alice@example.com", "bob@example.com", "carol@example.com"):
        app.store.calendar(user)
    app.users.delete("bob@example.com")
    app.users.suspend("carol@example.com")

    status, body = _get(app, {"domain": "example.com"})

    assert status == 200
    listed = {user["primaryEmail"]: user["suspended"] for user in body["users"]}
    assert listed == {"alice@example.com": False, "carol@example.com": True}
