"""Create, read, PUT with revisions, DELETE and validation over HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from .support import Admin, Client, state


def put_body(revision: int, **overrides: Any) -> dict[str, Any]:
    return {**state(**overrides), "revision": revision}


def test_create_assigns_id_join_url_and_revision_zero(client: Client) -> None:
    response = client.create({"title": "Kick-off", "start": "2026-03-02", "end": "2026-03-03"})
    assert response.status_code == 201
    body = response.json()
    assert body["id"]
    assert body["joinUrl"].endswith(body["id"])
    assert body["revision"] == 0
    assert body["status"] == "active"
    assert body["title"] == "Kick-off"
    assert body["start"] == "2026-03-02"
    assert body["attendees"] == []
    assert body["timeZone"] is None
    assert body["createdAt"] == body["updatedAt"]
    assert body["createdAt"].endswith("Z")


def test_create_with_empty_body(client: Client) -> None:
    response = client.request("POST", "/v1/conferences")
    assert response.status_code == 201
    assert response.json()["start"] is None


def test_get_returns_the_conference(client: Client) -> None:
    created = client.new_conference(title="A")
    response = client.get(created["id"])
    assert response.status_code == 200
    assert response.json() == created


def test_put_with_higher_revision_applies(client: Client) -> None:
    created = client.new_conference(title="A")
    response = client.put(created["id"], put_body(1, title="B"))
    assert response.status_code == 200
    body = response.json()
    assert body["title"] == "B"
    assert body["revision"] == 1
    assert body["joinUrl"] == created["joinUrl"]
    assert body["modifiedOccurrences"] == state()["modifiedOccurrences"]
    assert body["recurrence"] == ["RRULE:FREQ=WEEKLY;COUNT=5"]
    assert client.get(created["id"]).json() == body


def test_put_replaces_the_state(client: Client) -> None:
    created = client.new_conference()
    client.put(created["id"], put_body(1))
    body = {
        "title": "Short",
        "start": "2026-03-02T09:00:00Z",
        "end": "2026-03-02T10:00:00Z",
        "revision": 2,
    }
    after = client.put(created["id"], body).json()
    assert after["attendees"] == []
    assert after["recurrence"] == []
    assert after["timeZone"] is None
    assert after["organizer"] is None


def test_put_may_skip_revisions(client: Client) -> None:
    created = client.new_conference()
    assert client.put(created["id"], put_body(7)).json()["revision"] == 7


def test_put_same_revision_is_an_idempotent_repeat(client: Client, admin: Admin) -> None:
    created = client.new_conference()
    applied = client.put(created["id"], put_body(3, title="Applied")).json()
    repeat = client.put(created["id"], put_body(3, title="Different body"))
    assert repeat.status_code == 200
    assert repeat.json() == applied
    assert client.get(created["id"]).json()["title"] == "Applied"
    assert [entry["outcome"] for entry in admin.requests()] == ["applied", "repeat"]


def test_put_lower_revision_is_stale(client: Client, admin: Admin) -> None:
    created = client.new_conference()
    stored = client.put(created["id"], put_body(5, title="Five")).json()
    response = client.put(created["id"], put_body(4, title="Four"))
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "stale_revision"
    assert "4" in error["message"]
    assert "5" in error["message"]
    assert client.get(created["id"]).json() == stored
    assert admin.requests()[-1]["outcome"] == "stale"


def test_delete_marks_deleted_and_second_delete_is_not_found(client: Client) -> None:
    created = client.new_conference()
    client.put(created["id"], put_body(2))
    response = client.delete(created["id"], 3)
    assert response.status_code == 200
    assert response.json()["status"] == "deleted"
    assert response.json()["revision"] == 3
    fetched = client.get(created["id"])
    assert fetched.status_code == 200
    assert fetched.json()["status"] == "deleted"
    second = client.delete(created["id"], 4)
    assert second.status_code == 404
    assert second.json()["error"]["code"] == "not_found"


def test_delete_with_equal_revision_deletes(client: Client) -> None:
    created = client.new_conference()
    client.put(created["id"], put_body(2))
    response = client.delete(created["id"], 2)
    assert response.status_code == 200
    assert response.json()["status"] == "deleted"


def test_delete_with_lower_revision_is_stale(client: Client) -> None:
    created = client.new_conference()
    client.put(created["id"], put_body(5))
    response = client.delete(created["id"], 4)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "stale_revision"
    assert client.get(created["id"]).json()["status"] == "active"


@pytest.mark.parametrize("revision", [None, "", "-1", "abc", "1.5"])
def test_delete_needs_a_valid_revision(client: Client, revision: str | None) -> None:
    created = client.new_conference()
    response = client.delete(created["id"], revision)
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "revision"
    assert client.get(created["id"]).json()["status"] == "active"


def test_put_on_deleted_conference_is_gone(client: Client) -> None:
    created = client.new_conference()
    client.delete(created["id"], 1)
    response = client.put(created["id"], put_body(9))
    assert response.status_code == 410
    assert response.json()["error"]["code"] == "conference_deleted"
    assert client.get(created["id"]).json()["revision"] == 1


def test_unknown_conference_is_not_found(client: Client) -> None:
    for response in (
        client.get("nope"),
        client.put("nope", put_body(1)),
        client.delete("nope", 1),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


def test_unknown_route_and_method(client: Client) -> None:
    assert client.request("GET", "/v2/nothing").status_code == 404
    response = client.request("PATCH", "/v1/conferences/x", {})
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


INVALID_PUTS: list[tuple[str, dict[str, Any]]] = [
    ("revision", {k: v for k, v in put_body(1).items() if k != "revision"}),
    ("revision", put_body(-1)),
    ("revision", {**put_body(1), "revision": "2"}),
    ("revision", {**put_body(1), "revision": True}),
    ("title", {k: v for k, v in put_body(1).items() if k != "title"}),
    ("title", put_body(1, title=5)),
    ("start", put_body(1, start="2026-03-02 09:00")),
    ("start", put_body(1, start="2026-03-02T09:00:00")),  # no offset
    ("end", put_body(1, end="2026-02-30")),
    ("end", put_body(1, end="2026-03-01T09:00:00+01:00")),  # before start
    ("end", put_body(1, end="2026-03-03")),  # date with a date-time start
    ("timeZone", put_body(1, timeZone="Mars/Olympus")),
    ("attendees", put_body(1, attendees="ada@example.com")),
    ("attendees[1]", put_body(1, attendees=["ada@example.com", "nobody"])),
    ("recurrence[0]", put_body(1, recurrence=["FREQ=WEEKLY"])),
    ("cancelledOccurrences[0]", put_body(1, cancelledOccurrences=["tomorrow"])),
    (
        "modifiedOccurrences[0].start",
        put_body(1, modifiedOccurrences=[{"originalStart": "2026-03-02", "end": "2026-03-03"}]),
    ),
    ("modifiedOccurrences[0]", put_body(1, modifiedOccurrences=["x"])),
    ("organizer", put_body(1, organizer=["ada@example.com"])),
    ("calendarId", put_body(1, calendarId=1)),
    ("status", put_body(1, status="archived")),
    ("colour", {**put_body(1), "colour": "red"}),
    ("changedFields", {**put_body(1), "changedFields": "title"}),
]


@pytest.mark.parametrize(("field", "body"), INVALID_PUTS, ids=[f for f, _ in INVALID_PUTS])
def test_invalid_put_names_the_field_and_changes_nothing(
    client: Client, admin: Admin, field: str, body: dict[str, Any]
) -> None:
    created = client.new_conference(title="Original")
    response = client.put(created["id"], body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert error["field"] == field
    assert field in error["message"]
    assert client.get(created["id"]).json() == created
    assert admin.requests()[-1]["outcome"] == "rejected"


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b""])
def test_put_body_must_be_a_json_object(client: Client, raw: bytes) -> None:
    created = client.new_conference()
    response = client.request("PUT", f"/v1/conferences/{created['id']}", raw=raw)
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "body"


def test_create_validates_too(client: Client, admin: Admin) -> None:
    response = client.create({"start": "yesterday"})
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "start"
    assert admin.conferences() == []


def test_read_only_fields_may_be_sent_back(client: Client) -> None:
    created = client.new_conference(**state())
    body = {**created, "revision": 1, "id": "ignored", "joinUrl": "ignored"}
    response = client.put(created["id"], body)
    assert response.status_code == 200
    assert response.json()["id"] == created["id"]
    assert response.json()["joinUrl"] == created["joinUrl"]


def test_admin_lists_and_seeds_conferences(client: Client, admin: Admin) -> None:
    seeded = admin.seed({"title": "Seeded"})
    assert seeded["revision"] == 0
    created = client.new_conference()
    client.delete(created["id"], 1)
    listed = {c["id"]: c for c in admin.conferences()}
    assert listed[seeded["id"]]["title"] == "Seeded"
    assert listed[created["id"]]["status"] == "deleted"


def test_admin_reset_forgets_everything(client: Client, admin: Admin) -> None:
    created = client.new_conference()
    client.put(created["id"], put_body(1))
    admin.add_faults([{"status": 500, "method": "GET"}])
    admin.reset()
    assert admin.conferences() == []
    assert admin.requests() == []
    assert admin.faults() == []
    assert client.get(created["id"]).status_code == 404
