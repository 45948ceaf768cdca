"""Fault rules: status, count, probability with seed, Retry-After, delays and scoping."""

from __future__ import annotations

import time

import pytest
import requests

from .support import Admin, Client, state, wait_for


def put_body(revision: int, **overrides: object) -> dict[str, object]:
    return {**state(**overrides), "revision": revision}


def test_status_with_count_fires_then_retires(client: Client, admin: Admin) -> None:
    created = client.new_conference()
    admin.add_faults([{"method": "PUT", "status": 503, "count": 2}])
    statuses = [client.put(created["id"], put_body(1)).status_code for _ in range(3)]
    assert statuses == [503, 503, 200]
    assert admin.faults()[0]["fired"] == 2


def test_fault_answers_before_applying(client: Client, admin: Admin) -> None:
    created = client.new_conference(title="Before")
    admin.add_faults([{"status": 500}])
    response = client.put(created["id"], put_body(1, title="After"))
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal"
    admin.clear_faults()
    assert client.get(created["id"]).json()["title"] == "Before"
    entry = admin.requests()[-1]
    assert (entry["outcome"], entry["status"]) == ("fault", 500)


@pytest.mark.parametrize(("status", "code"), [(503, "unavailable"), (429, "rate_limited")])
def test_retry_after_header(client: Client, admin: Admin, status: int, code: str) -> None:
    created = client.new_conference()
    admin.add_faults([{"status": status, "retryAfter": 7, "count": 1}])
    response = client.put(created["id"], put_body(1))
    assert response.status_code == status
    assert response.headers["Retry-After"] == "7"
    assert response.json()["error"]["code"] == code


def test_no_retry_after_unless_set(client: Client, admin: Admin) -> None:
    admin.add_faults([{"status": 503, "count": 1}])
    response = client.create({})
    assert response.status_code == 503
    assert "Retry-After" not in response.headers


def _pattern(client: Client, admin: Admin, seed: int) -> list[int]:
    created = client.new_conference()
    admin.clear_faults()
    admin.add_faults(
        {"seed": seed, "rules": [{"method": "GET", "status": 500, "probability": 0.5}]}
    )
    return [client.get(created["id"]).status_code for _ in range(20)]


def test_probability_is_reproducible_with_a_seed(client: Client, admin: Admin) -> None:
    first = _pattern(client, admin, 42)
    second = _pattern(client, admin, 42)
    assert first == second
    assert 500 in first
    assert 200 in first


def test_delay_alone_still_serves(client: Client, admin: Admin) -> None:
    created = client.new_conference()
    admin.add_faults([{"method": "GET", "delayMs": 200, "count": 1}])
    started = time.monotonic()
    response = client.get(created["id"])
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.2


def test_delay_longer_than_the_client_timeout(client: Client, admin: Admin) -> None:
    created = client.new_conference()
    admin.add_faults([{"method": "PUT", "delayMs": 400, "count": 1}])
    with pytest.raises(requests.Timeout):
        client.put(created["id"], put_body(1, title="Late"), timeout=0.1)
    # The request was not lost: it is applied once the delay is over.
    assert wait_for(lambda: client.get(created["id"]).json()["title"] == "Late")


def test_delay_with_status(client: Client, admin: Admin) -> None:
    admin.add_faults([{"method": "POST", "status": 503, "delayMs": 150, "count": 1}])
    started = time.monotonic()
    assert client.create({}).status_code == 503
    assert time.monotonic() - started >= 0.15


def test_method_scoping(client: Client, admin: Admin) -> None:
    created = client.new_conference()
    admin.add_faults([{"method": "DELETE", "status": 503}])
    assert client.put(created["id"], put_body(1)).status_code == 200
    assert client.get(created["id"]).status_code == 200
    assert client.delete(created["id"], 2).status_code == 503


def test_conference_scoping(client: Client, admin: Admin) -> None:
    hit = client.new_conference()
    spared = client.new_conference()
    admin.add_faults([{"conferenceId": hit["id"], "status": 500}])
    assert client.put(hit["id"], put_body(1)).status_code == 500
    assert client.put(spared["id"], put_body(1)).status_code == 200
    assert client.create({}).status_code == 201


def test_delete_faults_removes_every_rule(client: Client, admin: Admin) -> None:
    created = client.new_conference()
    admin.add_faults([{"status": 503}, {"status": 500, "method": "GET"}])
    assert len(admin.faults()) == 2
    admin.clear_faults()
    assert admin.faults() == []
    assert client.put(created["id"], put_body(1)).status_code == 200


def test_rules_accumulate_and_report(admin: Admin) -> None:
    admin.add_faults([{"status": 503, "count": 1}])
    rules = admin.add_faults([{"method": "GET", "delayMs": 10}])
    assert [r["status"] for r in rules] == [503, None]
    assert rules[1]["method"] == "GET"
    assert rules[0]["fired"] == 0


@pytest.mark.parametrize(
    "rules",
    [
        [{"status": "503"}],
        [{"method": "PATCH", "status": 503}],
        [{"probability": 2, "status": 503}],
        [{"count": 0, "status": 503}],
        [{}],
        [{"status": 503, "target": "x"}],
        {"rules": "nope"},
    ],
)
def test_invalid_rules_are_refused(client: Client, admin: Admin, rules: object) -> None:
    response = requests.post(f"{admin.base_url}/faults", json=rules, timeout=5)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"
    assert admin.faults() == []
