"""``POST /v1/conferences:batchGet`` (contract 2.1.0): many conferences' summaries at once."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from conferencing_emulator import signing
from conferencing_emulator.batch import MAX_BATCH_IDS, parse_batch_get
from conferencing_emulator.errors import ValidationError

from .conftest import CREDENTIAL, SIGNING_SECRET
from .support import TIMEOUT, Admin, Client, wire_host

PATH = "/v1/conferences:batchGet"
UNKNOWN = "conf_0000000000000000"


def batch_get(client: Client, ids: Any, **kwargs: Any) -> Any:
    return client.request("POST", PATH, {"ids": ids}, **kwargs)


# --- the body ---------------------------------------------------------------------------------


def test_the_body_names_the_ids_in_order() -> None:
    assert parse_batch_get({"ids": ["b", "a_1", "C-2"]}) == ["b", "a_1", "C-2"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param([], "body", id="not-an-object"),
        pytest.param({}, "ids", id="no-ids"),
        pytest.param({"ids": []}, "ids", id="empty"),
        pytest.param({"ids": "a,b"}, "ids", id="a-string"),
        pytest.param({"ids": [f"c{n}" for n in range(MAX_BATCH_IDS + 1)]}, "ids", id="101"),
        pytest.param({"ids": ["a"], "view": "full"}, "view", id="unknown-field"),
        pytest.param({"ids": ["a", 7]}, "ids[1]", id="not-a-string"),
        pytest.param({"ids": ["a/b"]}, "ids[0]", id="slash"),
        pytest.param({"ids": ["x" * 129]}, "ids[0]", id="too-long"),
        pytest.param({"ids": ["a", "b", "a"]}, "ids[2]", id="repeated"),
    ],
)
def test_a_body_of_another_shape_is_refused_naming_the_field(body: Any, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_batch_get(body)
    assert caught.value.field_name == field


def test_a_hundred_ids_are_taken() -> None:
    assert len(parse_batch_get({"ids": [f"c{n}" for n in range(MAX_BATCH_IDS)]})) == 100


# --- over HTTP --------------------------------------------------------------------------------


def test_known_ids_answer_their_summary_and_unknown_ones_are_named_missing(
    client: Client,
) -> None:
    ada = client.new_conference(title="Kick-off", owner="Ada@Example.com")
    legacy = client.new_conference(title="Legacy")

    response = batch_get(client, [UNKNOWN, ada["id"], legacy["id"]])

    assert response.status_code == 200
    assert response.json() == {
        "conferences": [
            {"id": ada["id"], "owner": "Ada@Example.com", "status": "active", "revision": 0},
            {"id": legacy["id"], "owner": None, "status": "active", "revision": 0},
        ],
        "missing": [UNKNOWN],
    }


def test_a_deleted_conference_is_answered_as_deleted(client: Client) -> None:
    created = client.new_conference(owner="ada@example.com")
    assert client.delete(created["id"], 3).status_code == 200

    (summary,) = batch_get(client, [created["id"]]).json()["conferences"]

    assert summary == {
        "id": created["id"],
        "owner": "ada@example.com",
        "status": "deleted",
        "revision": 3,
    }


def test_an_invalid_body_answers_400_naming_the_field(client: Client) -> None:
    response = batch_get(client, ["a", "a"])

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"
    assert response.json()["error"]["field"] == "ids[1]"


def test_it_changes_nothing_is_not_logged_and_ignores_an_idempotency_key(
    client: Client, admin: Admin
) -> None:
    created = client.new_conference(owner="ada@example.com")
    before = admin.conferences()
    headers = {"Idempotency-Key": "k1"}

    first = batch_get(client, [created["id"]], headers=headers)
    client.delete(created["id"], 1)
    second = batch_get(client, [created["id"]], headers=headers)

    assert first.json()["conferences"][0]["status"] == "active"
    assert second.json()["conferences"][0]["status"] == "deleted"  # read again, not replayed
    assert before[0]["revision"] == 0
    assert [entry["method"] for entry in admin.requests()] == ["DELETE"]


def test_a_post_fault_rule_hits_it_too(client: Client, admin: Admin) -> None:
    created = client.new_conference(owner="ada@example.com")
    admin.add_faults([{"method": "POST", "status": 503, "count": 1}])

    assert batch_get(client, [created["id"]]).status_code == 503
    assert batch_get(client, [created["id"]]).status_code == 200


def test_other_methods_are_not_allowed(client: Client) -> None:
    response = client.request("GET", PATH)

    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_on_the_secured_emulator_it_needs_the_credential_and_a_signature_over_the_ids(
    secured_client: Client, secured_server_url: str, secured_admin: Admin
) -> None:
    created = secured_admin.seed({"owner": "ada@example.com"})
    assert batch_get(secured_client, [created["id"]]).status_code == 200

    unsigned = Client(secured_server_url, credential=CREDENTIAL)
    assert batch_get(unsigned, [created["id"]]).status_code == 401

    # Signed for other ids: the body's digest differs, so the signature does not verify.
    headers = {
        "Authorization": f"Bearer {CREDENTIAL}",
        "Content-Type": "application/json",
        **signing.signed_headers(
            SIGNING_SECRET,
            json.dumps({"ids": [UNKNOWN]}).encode(),
            method="POST",
            target=PATH,
            host=wire_host(secured_server_url),
            idempotency_key="",
        ),
    }
    response = requests.post(
        secured_server_url + PATH,
        data=json.dumps({"ids": [created["id"]]}).encode(),
        headers=headers,
        timeout=TIMEOUT,
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "bad_signature"
