"""The admin endpoint that changes a conference's join URL (a backend rotating meeting links)."""

from __future__ import annotations

import pytest
import requests

from .support import TIMEOUT, Admin, Client, state


def _set_join_url(base_url: str, conference_id: str, body: object) -> requests.Response:
    return requests.post(
        f"{base_url}/emulator/v1/conferences/{conference_id}/join-url", json=body, timeout=TIMEOUT
    )


def test_new_join_url_is_answered_by_later_puts(client: Client, admin: Admin) -> None:
    created = client.new_conference(title="Standup")

    changed = _set_join_url(
        client.base_url, created["id"], {"joinUrl": "https://conference.example/j/rotated"}
    )

    assert changed.status_code == 200
    assert changed.json()["joinUrl"] == "https://conference.example/j/rotated"
    assert changed.json()["revision"] == 0
    put = client.put(created["id"], {**state(), "revision": 1})
    assert put.json()["joinUrl"] == "https://conference.example/j/rotated"
    assert client.get(created["id"]).json()["joinUrl"] == "https://conference.example/j/rotated"
    assert [r["method"] for r in admin.requests()] == ["PUT"]


def test_unknown_conference_is_not_found(client: Client) -> None:
    answer = _set_join_url(client.base_url, "conf_0000000000000000", {"joinUrl": "https://x.test/"})

    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    "body",
    [{"joinUrl": "not a url"}, {"joinUrl": "ftp://x.test/j"}, {"joinUrl": 3}, {}, ["x"]],
    ids=["text", "ftp", "number", "missing", "list"],
)
def test_invalid_join_url_is_refused(client: Client, body: object) -> None:
    created = client.new_conference()

    answer = _set_join_url(client.base_url, created["id"], body)

    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid_request"
    assert client.get(created["id"]).json()["joinUrl"] == created["joinUrl"]
