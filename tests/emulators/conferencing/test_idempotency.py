"""The Idempotency-Key header: a repeated key answers the first answer without re-applying."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from .support import Admin, Client, state


def test_create_with_the_same_key_creates_once(client: Client, admin: Admin) -> None:
    first = client.create({"title": "A"}, headers={"Idempotency-Key": "k-create"})
    second = client.create({"title": "B"}, headers={"Idempotency-Key": "k-create"})
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert len(admin.conferences()) == 1
    third = client.create({"title": "C"}, headers={"Idempotency-Key": "k-other"})
    assert third.json()["id"] != first.json()["id"]


def test_put_replay_returns_the_first_answer_without_reapplying(
    client: Client, admin: Admin
) -> None:
    created = client.new_conference()
    key = {"Idempotency-Key": "k-put"}
    first = client.put(created["id"], {**state(title="One"), "revision": 1}, headers=key)
    # A newer state lands in between, without the key.
    client.put(created["id"], {**state(title="Two"), "revision": 2})
    replay = client.put(created["id"], {**state(title="One"), "revision": 1}, headers=key)
    assert replay.status_code == 200  # not 409: the first answer is replayed
    assert replay.json() == first.json()
    assert client.get(created["id"]).json()["title"] == "Two"
    log = admin.requests()
    assert [e["outcome"] for e in log] == ["applied", "applied", "repeat"]
    assert log[2]["idempotentReplay"] is True
    assert log[2]["idempotencyKey"] == "k-put"


def test_error_answers_are_replayed_too(client: Client) -> None:
    created = client.new_conference()
    client.put(created["id"], {**state(), "revision": 5})
    key = {"Idempotency-Key": "k-stale"}
    first = client.put(created["id"], {**state(), "revision": 4}, headers=key)
    assert first.status_code == 409
    replay = client.put(created["id"], {**state(), "revision": 4}, headers=key)
    assert (replay.status_code, replay.json()) == (409, first.json())


def test_delete_replay_answers_200_again(client: Client, admin: Admin) -> None:
    created = client.new_conference()
    key = {"Idempotency-Key": "k-del"}
    first = client.delete(created["id"], 1, headers=key)
    replay = client.delete(created["id"], 1, headers=key)
    assert first.status_code == replay.status_code == 200
    assert replay.json() == first.json()
    assert client.delete(created["id"], 1).status_code == 404  # without the key


def test_key_is_scoped_to_method_and_path(client: Client) -> None:
    a = client.new_conference()
    b = client.new_conference()
    key = {"Idempotency-Key": "shared"}
    assert client.put(a["id"], {**state(title="A"), "revision": 1}, headers=key).status_code == 200
    response = client.put(b["id"], {**state(title="B"), "revision": 1}, headers=key)
    assert response.json()["id"] == b["id"]
    assert response.json()["title"] == "B"


def test_faulted_answers_are_not_remembered(client: Client, admin: Admin) -> None:
    created = client.new_conference()
    admin.add_faults([{"method": "PUT", "status": 503, "count": 1}])
    key = {"Idempotency-Key": "k-retry"}
    body = {**state(title="Retried"), "revision": 1}
    assert client.put(created["id"], body, headers=key).status_code == 503
    retry = client.put(created["id"], body, headers=key)
    assert retry.status_code == 200
    assert retry.json()["title"] == "Retried"


def test_reset_forgets_keys(client: Client, admin: Admin) -> None:
    first = client.create({}, headers={"Idempotency-Key": "k"})
    admin.reset()
    second = client.create({}, headers={"Idempotency-Key": "k"})
    assert second.json()["id"] != first.json()["id"]


def test_concurrent_repeats_apply_once(client: Client, admin: Admin) -> None:
    key = {"Idempotency-Key": "k-race"}
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: client.create({}, headers=key).json(), range(16)))
    assert len({answer["id"] for answer in answers}) == 1
    assert len(admin.conferences()) == 1
