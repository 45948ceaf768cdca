"""Bearer credential and request signatures on the secured emulator."""

from __future__ import annotations

import json
import time

import pytest
import requests

from conferencing_emulator import signing

from .conftest import CREDENTIAL, SIGNING_SECRET
from .support import TIMEOUT, Admin, Client, state


def test_signed_and_authenticated_requests_pass(secured_client: Client) -> None:
    created = secured_client.new_conference(title="A")
    put = secured_client.put(created["id"], {**state(), "revision": 1})
    assert put.status_code == 200, put.text
    assert secured_client.get(created["id"]).json()["revision"] == 1
    assert secured_client.delete(created["id"], 2).status_code == 200


@pytest.mark.parametrize("credential", [None, "wrong", ""])
def test_bearer_credential_is_required(
    secured_server_url: str, secured_admin: Admin, credential: str | None
) -> None:
    client = Client(secured_server_url, credential=credential, secret=SIGNING_SECRET)
    response = client.create({"title": "x"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
    assert secured_admin.conferences() == []


def test_other_scheme_is_refused(secured_server_url: str) -> None:
    client = Client(secured_server_url, secret=SIGNING_SECRET)
    response = client.create({}, headers={"Authorization": f"Basic {CREDENTIAL}"})
    assert response.status_code == 401


def test_signature_is_required(secured_server_url: str, secured_admin: Admin) -> None:
    client = Client(secured_server_url, credential=CREDENTIAL)
    response = client.create({"title": "x"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "bad_signature"
    assert secured_admin.conferences() == []


def test_wrong_secret_is_refused(secured_server_url: str, secured_admin: Admin) -> None:
    client = Client(secured_server_url, credential=CREDENTIAL, secret=b"another secret")
    assert client.create({"title": "x"}).status_code == 401
    assert secured_admin.conferences() == []


def test_tampered_body_is_refused(secured_client: Client, secured_admin: Admin) -> None:
    created = secured_client.new_conference(title="A")
    signed = json.dumps({**state(title="B"), "revision": 1}).encode()
    tampered = json.dumps({**state(title="C"), "revision": 1}).encode()
    headers = {
        "Authorization": f"Bearer {CREDENTIAL}",
        "Content-Type": "application/json",
        **signing.signed_headers(SIGNING_SECRET, signed),
    }
    response = requests.put(
        f"{secured_client.base_url}/v1/conferences/{created['id']}",
        data=tampered,
        headers=headers,
        timeout=TIMEOUT,
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "bad_signature"
    assert secured_client.get(created["id"]).json()["title"] == "A"
    assert secured_admin.requests()[-1]["outcome"] == "rejected"
    assert secured_admin.requests()[-1]["status"] == 401


@pytest.mark.parametrize("skew", [-301, 400])
def test_timestamp_outside_the_window_is_refused(secured_client: Client, skew: int) -> None:
    body = b"{}"
    headers = signing.signed_headers(SIGNING_SECRET, body, now=time.time() + skew)
    response = secured_client.request("POST", "/v1/conferences", raw=body, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "bad_signature"


def test_timestamp_inside_the_window_passes(secured_client: Client) -> None:
    body = b"{}"
    headers = signing.signed_headers(SIGNING_SECRET, body, now=time.time() - 200)
    response = secured_client.request("POST", "/v1/conferences", raw=body, headers=headers)
    assert response.status_code == 201


def test_malformed_signature_headers_are_refused(secured_client: Client) -> None:
    for headers in (
        {signing.TIMESTAMP_HEADER: "soon"},
        {signing.SIGNATURE_HEADER: "deadbeef"},
        {signing.SIGNATURE_HEADER: "v2=" + "0" * 64},
    ):
        response = secured_client.request("POST", "/v1/conferences", {}, headers=headers)
        assert response.status_code == 401, headers


def test_admin_api_needs_no_auth(secured_server_url: str, secured_admin: Admin) -> None:
    secured_admin.seed({"title": "Seeded"})
    response = requests.get(f"{secured_server_url}/emulator/v1/conferences", timeout=TIMEOUT)
    assert response.status_code == 200
    assert len(response.json()["conferences"]) == 1
