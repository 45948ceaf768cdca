"""ID tokens on request (``POST /emulator/v1/id-tokens``): what an add-on gets from
``ScriptApp.getIdentityToken()``, minted for tests and the demo. Unmodified google-auth is the
cross-check: ``google.oauth2.id_token`` verifies each token against the stand-in's certs URL, as
the intake function does with ``GOOGLE_ID_TOKEN_CERTS_URL``."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth import jwt
from google.auth.exceptions import GoogleAuthError
from google.auth.transport.requests import Request
from google.oauth2 import id_token
from hypothesis import given, settings
from hypothesis import strategies as st

from google_auth_emulator.errors import ServiceError
from google_auth_emulator.id_tokens import IdTokenRequest, parse_id_token_request
from google_auth_emulator.server import GoogleAuthServer
from google_auth_emulator.state import user_id_of
from tests.support.google_auth import Admin

AUDIENCE = "confsync-test-addon.apps.example"
ALICE = "alice@example.com"


def _mint(server: GoogleAuthServer, body: Any) -> requests.Response:
    return requests.post(server.id_tokens_url, json=body, timeout=10)


def _token(server: GoogleAuthServer, **fields: Any) -> str:
    answer = _mint(server, {"email": ALICE, "audience": AUDIENCE, **fields})
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["idToken"]
    return token


def _verified(server: GoogleAuthServer, token: str, audience: str = AUDIENCE) -> Any:
    return id_token.verify_token(token, Request(), audience=audience, certs_url=server.certs_url)


def test_a_minted_token_verifies_with_google_auth_against_the_served_certs(
    server: GoogleAuthServer, admin: Admin
) -> None:
    claims = _verified(server, _token(server, emailVerified=True))

    assert claims["iss"] == "https://accounts.google.com"
    assert (claims["aud"], claims["azp"]) == (AUDIENCE, AUDIENCE)
    assert (claims["email"], claims["email_verified"]) == (ALICE, True)
    assert claims["sub"] == user_id_of(ALICE)
    assert claims["hd"] == "example.com"
    assert claims["exp"] - claims["iat"] == 3600


def test_the_subject_is_stable_per_user_and_differs_between_users(
    server: GoogleAuthServer, admin: Admin
) -> None:
    first = _verified(server, _token(server))
    again = _verified(server, _token(server))
    bob = _verified(server, _token(server, email="bob@example.com"))

    assert first["sub"] == again["sub"]
    assert bob["sub"] != first["sub"]


def test_it_is_signed_with_the_key_of_the_refresh_id_tokens(
    server: GoogleAuthServer, admin: Admin
) -> None:
    certs = requests.get(server.certs_url, timeout=10).json()

    [kid] = certs
    assert jwt.decode_header(_token(server))["kid"] == kid


def test_google_auth_refuses_it_for_another_audience(
    server: GoogleAuthServer, admin: Admin
) -> None:
    with pytest.raises(ValueError, match="audience"):
        _verified(server, _token(server), audience="another-client.apps.example")


def test_an_unverified_address_is_said_so(server: GoogleAuthServer, admin: Admin) -> None:
    assert _verified(server, _token(server, emailVerified=False))["email_verified"] is False


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"email": "carol@gmail.com"}, None),
        ({"email": "dave@GoogleMail.com"}, None),
        ({"email": "erin@Sub.Example.org"}, "sub.example.org"),
        ({"hd": None}, None),
        ({"hd": "other.example"}, "other.example"),
    ],
)
def test_the_hosted_domain_claim(
    server: GoogleAuthServer, admin: Admin, fields: dict[str, Any], expected: str | None
) -> None:
    claims = _verified(server, _token(server, **fields))

    assert claims.get("hd") == expected
    assert ("hd" in claims) is (expected is not None)


def test_expires_in_seconds_sets_the_lifetime(server: GoogleAuthServer, admin: Admin) -> None:
    claims = _verified(server, _token(server, expiresInSeconds=120))

    assert claims["exp"] - claims["iat"] == 120


@pytest.mark.parametrize("seconds", [-3600, -1])
def test_a_negative_lifetime_mints_a_token_google_auth_finds_expired(
    server: GoogleAuthServer, admin: Admin, seconds: int
) -> None:
    token = _token(server, expiresInSeconds=seconds)

    with pytest.raises(ValueError, match="expired"):
        _verified(server, token)
    claims = jwt.decode(token, verify=False)
    assert claims["iat"] < claims["exp"]


def test_the_issuer_knob_makes_a_token_google_auth_refuses_as_not_googles(
    server: GoogleAuthServer, admin: Admin, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = _token(server, issuer="https://accounts.example.net")
    # verify_oauth2_token checks the issuer too, but always fetches Google's own certs: point
    # that default at the stand-in.
    monkeypatch.setattr(id_token, "_GOOGLE_OAUTH2_CERTS_URL", server.certs_url)

    assert _verified(server, token)["iss"] == "https://accounts.example.net"  # signature is fine
    with pytest.raises(GoogleAuthError, match="Wrong issuer"):
        id_token.verify_oauth2_token(token, Request(), audience=AUDIENCE)
    genuine = id_token.verify_oauth2_token(_token(server), Request(), audience=AUDIENCE)
    assert genuine["iss"] == "https://accounts.google.com"


def test_the_token_is_not_in_the_call_log(server: GoogleAuthServer, admin: Admin) -> None:
    token = _token(server)

    stats = admin.get("stats")

    assert token not in json.dumps(stats)
    assert token.split(".")[2] not in json.dumps(stats)
    [call] = [c for c in stats["calls"] if c["endpoint"] == "idToken"]
    assert (call["status"], call["subject"], call["audience"]) == (200, ALICE, AUDIENCE)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([ALICE, AUDIENCE], "JSON object"),
        ({"audience": AUDIENCE}, "email"),
        ({"email": "alice", "audience": AUDIENCE}, "email must be an address"),
        ({"email": "alice@localhost", "audience": AUDIENCE}, "email must be an address"),
        ({"email": "al ice@example.com", "audience": AUDIENCE}, "email must be an address"),
        ({"email": 7, "audience": AUDIENCE}, "email must be a non-empty string"),
        ({"email": ALICE}, "audience"),
        ({"email": ALICE, "audience": ""}, "audience"),
        ({"email": ALICE, "audience": " x "}, "audience"),
        ({"email": ALICE, "audience": AUDIENCE, "emailVerified": "yes"}, "emailVerified"),
        ({"email": ALICE, "audience": AUDIENCE, "expiresInSeconds": "60"}, "expiresInSeconds"),
        ({"email": ALICE, "audience": AUDIENCE, "expiresInSeconds": True}, "expiresInSeconds"),
        ({"email": ALICE, "audience": AUDIENCE, "expiresInSeconds": 1.5}, "expiresInSeconds"),
        ({"email": ALICE, "audience": AUDIENCE, "expiresInSeconds": 86401}, "expiresInSeconds"),
        ({"email": ALICE, "audience": AUDIENCE, "hd": ""}, "hd"),
        ({"email": ALICE, "audience": AUDIENCE, "issuer": 1}, "issuer"),
        ({"email": ALICE, "audience": AUDIENCE, "subject": "bob"}, "unknown field(s) 'subject'"),
    ],
)
def test_bad_input_is_refused_with_a_reason_and_nothing_is_minted(
    server: GoogleAuthServer, admin: Admin, body: Any, message: str
) -> None:
    answer = _mint(server, body)

    assert answer.status_code == 400
    assert message in answer.json()["error"]["message"]
    assert "idToken" not in answer.json()
    calls = [c for c in admin.get("stats")["calls"] if c["endpoint"] == "idToken"]
    assert [c["status"] for c in calls] == [400]


def test_a_body_that_is_not_json_is_refused(server: GoogleAuthServer, admin: Admin) -> None:
    answer = requests.post(server.id_tokens_url, data=b"{email", timeout=10)

    assert (answer.status_code, answer.json()["error"]["message"]) == (
        400,
        "the body is not valid JSON",
    )


def test_the_keys_are_also_published_as_jwks_found_through_openid_discovery(
    server: GoogleAuthServer, admin: Admin
) -> None:
    token = _token(server)
    discovery = requests.get(f"{server.base_url}/.well-known/openid-configuration", timeout=10)
    jwks = requests.get(discovery.json()["jwks_uri"], timeout=10).json()
    certs = requests.get(server.certs_url, timeout=10).json()

    assert discovery.json()["issuer"] == "https://accounts.google.com"
    [key] = jwks["keys"]
    [(kid, pem)] = certs.items()
    assert (key["kid"], key["kty"], key["alg"]) == (kid, "RSA", "RS256")
    public_key = x509.load_pem_x509_certificate(pem.encode()).public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)
    numbers = public_key.public_numbers()

    def unb64(text: str) -> int:
        return int.from_bytes(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)), "big")

    assert (unb64(key["n"]), unb64(key["e"])) == (numbers.n, numbers.e)
    assert jwt.decode_header(token)["kid"] == key["kid"]


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)
_FIELD_VALUES = st.fixed_dictionaries(
    {},
    optional={
        "email": st.one_of(_JSON, st.emails(), st.just(ALICE)),
        "audience": st.one_of(_JSON, st.just(AUDIENCE)),
        "emailVerified": _JSON,
        "hd": _JSON,
        "expiresInSeconds": st.one_of(_JSON, st.integers(-(10**9), 10**9)),
        "issuer": _JSON,
    },
)


@settings(max_examples=300, deadline=None)
@given(body=st.one_of(_JSON, _FIELD_VALUES))
def test_any_body_is_either_a_checked_request_or_a_400_with_a_reason(body: Any) -> None:
    refused: ServiceError | None = None
    try:
        asked = parse_id_token_request(body)
    except ServiceError as error:
        refused = error
    if refused is not None:
        assert (refused.status, bool(refused.message)) == (400, True)
        return
    assert isinstance(asked, IdTokenRequest)
    assert asked.email == body["email"]
    assert asked.audience == body["audience"]
    claims = asked.claims(1_800_000_000)
    assert claims["sub"].isdigit()
    assert claims["iat"] < claims["exp"] == 1_800_000_000 + asked.lifetime_s
