"""Bearer credential and request signatures on the secured emulator."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import time
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from conferencing_emulator import signing
from conferencing_emulator.api import request_target
from conferencing_emulator.server import ConferencingServer

from .conftest import CREDENTIAL, SIGNING_SECRET
from .support import TIMEOUT, Admin, Client, state, wire_host


def send_raw(
    base_url: str,
    method: str,
    target: str,
    body: bytes = b"",
    *,
    sign_as: tuple[str, str] | None = None,
    signed_body: bytes | None = None,
    signed_host: str | None = None,
    signed_key: str = "",
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, Any]]:
    """Send ``method target`` with the target put on the request line exactly as given.

    Signed with the right credential and secret for ``sign_as`` (method, target),
    ``signed_body``, ``signed_host`` and ``signed_key`` (the Idempotency-Key), which default to
    what is sent; pass others to replay a captured signature. ``headers`` are sent as given (a
    ``Host`` or ``Idempotency-Key`` among them included).
    """
    sign_method, sign_target = sign_as or (method, target)
    host = wire_host(base_url)
    sent = {
        "Authorization": f"Bearer {CREDENTIAL}",
        "Host": host,
        **signing.signed_headers(
            SIGNING_SECRET,
            body if signed_body is None else signed_body,
            method=sign_method,
            target=sign_target,
            host=host if signed_host is None else signed_host,
            idempotency_key=signed_key,
        ),
        **(headers or {}),
    }
    if body:
        sent["Content-Type"] = "application/json"
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=TIMEOUT)
    try:
        connection.request(method, target, body=body or None, headers=sent)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


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
        **signing.signed_headers(
            SIGNING_SECRET,
            signed,
            method="PUT",
            target=f"/v1/conferences/{created['id']}",
            host=wire_host(secured_client.base_url),
            idempotency_key="",
        ),
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
    headers = signing.signed_headers(
        SIGNING_SECRET,
        body,
        method="POST",
        target="/v1/conferences",
        host=wire_host(secured_client.base_url),
        idempotency_key="",
        now=time.time() + skew,
    )
    response = secured_client.request("POST", "/v1/conferences", raw=body, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "bad_signature"


def test_timestamp_inside_the_window_passes(secured_client: Client) -> None:
    body = b"{}"
    headers = signing.signed_headers(
        SIGNING_SECRET,
        body,
        method="POST",
        target="/v1/conferences",
        host=wire_host(secured_client.base_url),
        idempotency_key="",
        now=time.time() - 200,
    )
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


# --- the signature covers method, request target and body --------------------------------------


def test_delete_signed_for_one_revision_is_refused_for_another(
    secured_client: Client, secured_admin: Admin
) -> None:
    created = secured_client.new_conference(title="A")
    captured = ("DELETE", f"/v1/conferences/{created['id']}?revision=5")
    status, body = send_raw(
        secured_client.base_url,
        "DELETE",
        f"/v1/conferences/{created['id']}?revision=6",
        sign_as=captured,
    )
    assert status == 401
    assert body["error"]["code"] == "bad_signature"
    assert secured_client.get(created["id"]).json()["status"] == "active"
    # The captured request itself was validly signed.
    status, body = send_raw(secured_client.base_url, *captured)
    assert (status, body["revision"], body["status"]) == (200, 5, "deleted")
    assert [e["status"] for e in secured_admin.requests()] == [401, 200]


# --- v2 also covers Host and Idempotency-Key -----------------------------------------------------


@pytest.mark.parametrize(
    "host",
    ["conferencing.other.example", "127.0.0.2:{port}", "localhost:{port}", "127.0.0.1"],
)
def test_signature_for_one_host_is_refused_at_another(secured_client: Client, host: str) -> None:
    """A signature made for one system (Host) is not valid when the request, sent to this one,
    names another: v2 covers the Host header as received."""
    created = secured_client.new_conference(title="A")
    target = f"/v1/conferences/{created['id']}?revision=1"
    port = urlsplit(secured_client.base_url).port
    status, body = send_raw(
        secured_client.base_url, "DELETE", target, headers={"Host": host.format(port=port)}
    )
    assert status == 401
    assert body["error"]["code"] == "bad_signature"
    status, body = send_raw(
        secured_client.base_url,
        "DELETE",
        target,
        signed_host=host.format(port=port),
        headers={"Host": wire_host(secured_client.base_url)},
    )
    assert status == 401
    assert secured_client.get(created["id"]).json()["status"] == "active"


def test_host_is_compared_without_case(secured_client: Client) -> None:
    created = secured_client.new_conference(title="A")
    target = f"/v1/conferences/{created['id']}"
    host = wire_host(secured_client.base_url)
    status, _ = send_raw(secured_client.base_url, "GET", target, signed_host=host.upper())
    assert status == 200


def test_idempotency_key_is_signed(secured_client: Client, secured_admin: Admin) -> None:
    """A captured DELETE cannot be applied again under a fresh key (nor its key dropped or
    changed); replayed as captured, it is only the repeat it is."""
    created = secured_client.new_conference(title="A")
    target = f"/v1/conferences/{created['id']}?revision=5"
    for sent_key in ({"Idempotency-Key": "fresh-key"}, {}):
        status, body = send_raw(
            secured_client.base_url, "DELETE", target, signed_key="captured-key", headers=sent_key
        )
        assert (status, body["error"]["code"]) == (401, "bad_signature")
    assert secured_client.get(created["id"]).json()["status"] == "active"
    captured = {"Idempotency-Key": "captured-key"}
    for _ in range(2):
        status, _ = send_raw(
            secured_client.base_url, "DELETE", target, signed_key="captured-key", headers=captured
        )
        assert status == 200
    assert [(e["status"], e["idempotentReplay"]) for e in secured_admin.requests()] == [
        (401, False),
        (401, False),
        (200, False),
        (200, True),
    ]


def test_a_v1_signature_is_refused(secured_client: Client, secured_admin: Admin) -> None:
    """The retired scheme (method, target and body only) is no longer accepted."""
    created = secured_client.new_conference(title="A")
    target = f"/v1/conferences/{created['id']}?revision=1"
    timestamp = int(time.time())
    message = f"{timestamp}\nDELETE\n{target}\n".encode()
    v1 = "v1=" + hmac.new(SIGNING_SECRET, message, hashlib.sha256).hexdigest()
    headers = {signing.TIMESTAMP_HEADER: str(timestamp), signing.SIGNATURE_HEADER: v1}
    status, body = send_raw(secured_client.base_url, "DELETE", target, headers=headers)
    assert (status, body["error"]["code"]) == (401, "bad_signature")
    assert secured_client.get(created["id"]).json()["status"] == "active"


# --- several secrets (a rotation) -------------------------------------------------------------


@pytest.mark.parametrize(
    ("emulator_secrets", "client_secrets", "accepted"),
    [
        pytest.param("old,new", (b"old",), True, id="receiver-holds-both-sender-old"),
        pytest.param("old,new", (b"new",), True, id="receiver-holds-both-sender-new"),
        pytest.param(" new , old ", (b"new",), True, id="blanks-around"),
        pytest.param("new", (b"new", b"old"), True, id="sender-signs-with-both"),
        pytest.param("old", (b"new", b"old"), True, id="sender-signs-with-both-receiver-old"),
        pytest.param("old,new", (b"other",), False, id="neither"),
        pytest.param("new", (b"old",), False, id="sender-only-old"),
    ],
)
def test_any_value_under_any_secret_verifies(
    emulator_secrets: str, client_secrets: tuple[bytes, ...], accepted: bool
) -> None:
    with ConferencingServer(
        host="127.0.0.1", port=0, credential=CREDENTIAL, signing_secret=emulator_secrets
    ) as server:
        client = Client(server.base_url, credential=CREDENTIAL, secret=client_secrets)
        response = client.create({"title": "x"})
        assert response.status_code == (201 if accepted else 401), response.text
        if not accepted:
            assert Admin(server.base_url).conferences() == []


def test_secrets_as_a_sequence_of_bytes() -> None:
    with ConferencingServer(
        host="127.0.0.1", port=0, credential=CREDENTIAL, signing_secret=[b"one", "two"]
    ) as server:
        for secret in (b"one", b"two"):
            client = Client(server.base_url, credential=CREDENTIAL, secret=secret)
            assert client.create({"title": "x"}).status_code == 201


@pytest.mark.parametrize(
    "target_suffix", ["?revision=5&revision=6", "?revision=6&revision=5", "", "?revision=5&x=1"]
)
def test_delete_query_cannot_be_altered(secured_client: Client, target_suffix: str) -> None:
    created = secured_client.new_conference(title="A")
    path = f"/v1/conferences/{created['id']}"
    status, _ = send_raw(
        secured_client.base_url,
        "DELETE",
        path + target_suffix,
        sign_as=("DELETE", path + "?revision=5"),
    )
    assert status == 401
    assert secured_client.get(created["id"]).json()["status"] == "active"


def test_put_signature_is_refused_for_delete(secured_client: Client) -> None:
    created = secured_client.new_conference(title="A")
    path = f"/v1/conferences/{created['id']}"
    put_body = json.dumps({**state(title="B"), "revision": 1}).encode()
    # Under a body-only signature, a captured PUT's headers and body made a valid DELETE.
    status, body = send_raw(
        secured_client.base_url,
        "DELETE",
        path + "?revision=1",
        put_body,
        sign_as=("PUT", path),
    )
    assert status == 401
    assert body["error"]["code"] == "bad_signature"
    assert secured_client.get(created["id"]).json()["status"] == "active"
    status, _ = send_raw(secured_client.base_url, "PUT", path, put_body)
    assert status == 200


@pytest.mark.parametrize("method", ["PUT", "GET"])
def test_signature_for_one_method_is_refused_for_another(
    secured_client: Client, method: str
) -> None:
    created = secured_client.new_conference(title="A")
    target = f"/v1/conferences/{created['id']}?revision=1"
    status, _ = send_raw(secured_client.base_url, "DELETE", target, sign_as=(method, target))
    assert status == 401
    assert secured_client.get(created["id"]).json()["status"] == "active"


def test_signature_for_conference_a_is_refused_for_conference_b(
    secured_client: Client,
) -> None:
    first = secured_client.new_conference(title="A")
    second = secured_client.new_conference(title="B")
    path_a = f"/v1/conferences/{first['id']}"
    path_b = f"/v1/conferences/{second['id']}"
    status, _ = send_raw(
        secured_client.base_url,
        "DELETE",
        path_b + "?revision=1",
        sign_as=("DELETE", path_a + "?revision=1"),
    )
    assert status == 401
    put_body = json.dumps({**state(title="Hijacked"), "revision": 1}).encode()
    status, _ = send_raw(secured_client.base_url, "PUT", path_b, put_body, sign_as=("PUT", path_a))
    assert status == 401
    assert secured_client.get(second["id"]).json()["title"] == "B"
    assert secured_client.get(second["id"]).json()["status"] == "active"
    status, _ = send_raw(secured_client.base_url, "GET", path_b, sign_as=("GET", path_a))
    assert status == 401


@pytest.mark.parametrize("escape", ["%5F", "%5f"])
def test_percent_encoded_id_is_verified_as_sent(secured_client: Client, escape: str) -> None:
    created = secured_client.new_conference(title="A")
    assert created["id"].startswith("conf_")
    raw_path = "/v1/conferences/conf" + escape + created["id"].removeprefix("conf_")
    status, body = send_raw(secured_client.base_url, "GET", raw_path)
    assert (status, body["id"]) == (200, created["id"])
    status, body = send_raw(secured_client.base_url, "DELETE", raw_path + "?revision=%31")
    assert (status, body["revision"], body["status"]) == (200, 1, "deleted")


@pytest.mark.parametrize(
    "signed_target",
    [
        pytest.param("/v1/conferences/conf_{rest}", id="decoded"),
        pytest.param("/v1/conferences/conf%5F{rest}", id="other-case"),
        pytest.param("/v1/conferences/conf%5f{rest}?", id="empty-query"),
    ],
)
def test_target_is_not_normalised(secured_client: Client, signed_target: str) -> None:
    created = secured_client.new_conference(title="A")
    rest = created["id"].removeprefix("conf_")
    status, body = send_raw(
        secured_client.base_url,
        "GET",
        f"/v1/conferences/conf%5f{rest}",
        sign_as=("GET", signed_target.format(rest=rest)),
    )
    assert status == 401
    assert body["error"]["code"] == "bad_signature"


def test_encoded_id_that_is_not_found_passes_the_signature(secured_client: Client) -> None:
    status, body = send_raw(secured_client.base_url, "GET", "/v1/conferences/caf%C3%A9%20x%3F1")
    assert status == 404
    assert body["error"]["code"] == "not_found"


def test_request_target_prefers_the_raw_uri() -> None:
    environ = EnvironBuilder(path="/v1/conferences/x", query_string="revision=1").get_environ()
    environ["RAW_URI"] = "/v1/conferences/%78?revision=%31"
    environ["REQUEST_URI"] = "/ignored"
    assert request_target(Request(environ)) == "/v1/conferences/%78?revision=%31"
    del environ["RAW_URI"]
    assert request_target(Request(environ)) == "/ignored"


@pytest.mark.parametrize(
    ("path_info", "query", "expected"),
    [
        ("/v1/conferences/conf_1", "revision=5", "/v1/conferences/conf_1?revision=5"),
        ("/v1/conferences/conf_1", "", "/v1/conferences/conf_1"),
        # WSGI strings are latin-1-decoded bytes: "café x" arrives as UTF-8 bytes.
        ("/v1/conferences/caf\u00c3\u00a9 x", "a=%2F", "/v1/conferences/caf%C3%A9%20x?a=%2F"),
    ],
)
def test_request_target_rebuilds_without_a_raw_uri(
    path_info: str, query: str, expected: str
) -> None:
    environ = EnvironBuilder(path="/").get_environ()
    for key in ("RAW_URI", "REQUEST_URI"):
        environ.pop(key, None)
    environ.update(PATH_INFO=path_info, QUERY_STRING=query, SCRIPT_NAME="")
    assert request_target(Request(environ)) == expected


def test_admin_api_needs_no_auth(secured_server_url: str, secured_admin: Admin) -> None:
    secured_admin.seed({"title": "Seeded"})
    response = requests.get(f"{secured_server_url}/emulator/v1/conferences", timeout=TIMEOUT)
    assert response.status_code == 200
    assert len(response.json()["conferences"]) == 1
