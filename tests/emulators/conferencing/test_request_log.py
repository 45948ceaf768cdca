"""The request log of the admin API."""

from __future__ import annotations

from .support import Admin, Client, state


def test_log_records_every_put_and_delete_in_order(client: Client, admin: Admin) -> None:
    created = client.new_conference()
    client.get(created["id"])
    body = {**state(), "revision": 1, "changedFields": ["title", "start"]}
    client.put(created["id"], body, headers={"Idempotency-Key": "key-1"})
    client.put(created["id"], {**state(), "revision": 1})
    client.put(created["id"], {**state(), "revision": 0})
    client.delete(created["id"], 2)
    client.put(created["id"], {**state(), "revision": 3})
    client.delete(created["id"], 4)
    client.delete("unknown", 1)
    client.put(created["id"], {"revision": "x"})
    log = admin.requests()
    summary = [(e["method"], e["revision"], e["status"], e["outcome"]) for e in log]
    assert summary == [
        ("PUT", 1, 200, "applied"),
        ("PUT", 1, 200, "repeat"),
        ("PUT", 0, 409, "stale"),
        ("DELETE", 2, 200, "applied"),
        ("PUT", 3, 410, "deleted"),
        ("DELETE", 4, 404, "deleted"),
        ("DELETE", 1, 404, "not_found"),
        ("PUT", None, 400, "rejected"),
    ]
    first = log[0]
    assert first["conferenceId"] == created["id"]
    assert first["changedFields"] == ["title", "start"]
    assert first["idempotencyKey"] == "key-1"
    assert first["idempotentReplay"] is False
    assert first["time"].endswith("Z")
    assert log[1]["changedFields"] is None
    assert log[1]["idempotencyKey"] is None
    assert log[6]["conferenceId"] == "unknown"


def test_log_reset(client: Client, admin: Admin) -> None:
    created = client.new_conference()
    client.put(created["id"], {**state(), "revision": 1})
    admin.reset_requests()
    assert admin.requests() == []
    assert client.get(created["id"]).json()["revision"] == 1  # only the log was cleared
