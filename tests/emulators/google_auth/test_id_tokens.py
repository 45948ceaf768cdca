"""OpenID Connect on refresh, as Google answers it: a refresh token granted with ``openid`` gets
an ``id_token`` about its user, signed with a key published at ``/oauth2/v1/certs``. Unmodified
google-auth is the cross-check: ``google.oauth2.id_token.verify_token`` verifies the token
against the stand-in's certs, and user credentials expose it as ``id_token``."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from google.auth import jwt
from google.auth.transport.requests import Request
from google.oauth2 import id_token
from google.oauth2.credentials import Credentials as UserCredentials

from google_auth_emulator.server import GoogleAuthServer
from google_auth_emulator.state import user_id_of
from tests.support.google_auth import EVENTS_SCOPE, Admin

CLIENT_ID, CLIENT_SECRET = "client-1.apps.example", "secret-1"
ALICE = "alice@example.com"


def _grant(admin: Admin, scopes: list[str], **extra: Any) -> str:
    admin.post("oauth-clients", {"clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET})
    answer = admin.post(
        "refresh-tokens", {"clientId": CLIENT_ID, "subject": ALICE, "scopes": scopes, **extra}
    )
    token: str = answer["refreshToken"]
    return token


def _refreshed(server: GoogleAuthServer, token: str, scopes: list[str]) -> Any:
    credentials = UserCredentials(
        token=None,
        refresh_token=token,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        token_uri=server.token_url,
        scopes=scopes,
    )
    credentials.refresh(Request())
    return credentials


def test_a_grant_with_openid_email_gets_an_id_token_google_auth_verifies(
    server: GoogleAuthServer, admin: Admin
) -> None:
    token = _grant(admin, ["openid", "email", EVENTS_SCOPE])

    credentials = _refreshed(server, token, ["openid", "email"])
    claims = id_token.verify_token(
        credentials.id_token, Request(), audience=CLIENT_ID, certs_url=server.certs_url
    )

    assert claims["iss"] == "https://accounts.google.com"
    assert (claims["aud"], claims["azp"]) == (CLIENT_ID, CLIENT_ID)
    assert (claims["email"], claims["email_verified"]) == (ALICE, True)
    assert claims["sub"] == user_id_of(ALICE)
    assert claims["sub"].isdigit()
    assert claims["exp"] - claims["iat"] == 3600
    assert credentials.token.startswith("ya29.")


def test_the_certs_are_googles_v1_format_and_name_the_tokens_kid(
    server: GoogleAuthServer, admin: Admin
) -> None:
    token = _grant(admin, ["openid", "email"])
    credentials = _refreshed(server, token, ["openid", "email"])

    certs = requests.get(server.certs_url, timeout=10).json()

    [(kid, pem)] = certs.items()
    assert pem.startswith("-----BEGIN CERTIFICATE-----")
    header = jwt.decode_header(credentials.id_token)
    assert (header["alg"], header["kid"]) == ("RS256", kid)
    assert jwt.decode(credentials.id_token, certs=certs, audience=CLIENT_ID)["email"] == ALICE


def test_a_token_from_another_key_does_not_verify(server: GoogleAuthServer, admin: Admin) -> None:
    token = _grant(admin, ["openid", "email"])
    issued = _refreshed(server, token, ["openid", "email"]).id_token
    admin.post("reset", {})  # a new signing key; the earlier token's kid is no longer published

    with pytest.raises(ValueError, match="not found"):
        id_token.verify_token(issued, Request(), audience=CLIENT_ID, certs_url=server.certs_url)


def test_the_email_claims_need_the_email_scope(server: GoogleAuthServer, admin: Admin) -> None:
    token = _grant(admin, ["openid", EVENTS_SCOPE])

    claims = jwt.decode(_refreshed(server, token, ["openid"]).id_token, verify=False)

    assert "email" not in claims
    assert "email_verified" not in claims
    assert claims["sub"] == user_id_of(ALICE)


def test_an_unverified_address_is_said_so(server: GoogleAuthServer, admin: Admin) -> None:
    token = _grant(admin, ["openid", "email"], emailVerified=False)

    claims = jwt.decode(_refreshed(server, token, ["openid", "email"]).id_token, verify=False)

    assert claims["email_verified"] is False


def test_no_id_token_without_openid_in_the_refreshed_scopes(
    server: GoogleAuthServer, admin: Admin
) -> None:
    without = _grant(admin, [EVENTS_SCOPE])
    with_openid = _grant(admin, ["openid", "email", EVENTS_SCOPE])

    assert _refreshed(server, without, [EVENTS_SCOPE]).id_token is None
    assert _refreshed(server, with_openid, [EVENTS_SCOPE]).id_token is None
    assert _refreshed(server, with_openid, []).id_token is not None  # no scope asked: all granted


def test_asking_openid_of_a_grant_without_it_is_an_invalid_scope(
    server: GoogleAuthServer, admin: Admin
) -> None:
    token = _grant(admin, [EVENTS_SCOPE])

    answer = requests.post(
        server.token_url,
        data={
            "grant_type": "refresh_token",
            "refresh_token": token,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "scope": "openid email",
        },
        timeout=10,
    )

    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_scope")
    assert "id_token" not in answer.json()


def test_the_call_log_says_whether_an_id_token_was_issued(
    server: GoogleAuthServer, admin: Admin
) -> None:
    token = _grant(admin, ["openid", "email", EVENTS_SCOPE])
    _refreshed(server, token, ["openid", "email"])
    _refreshed(server, token, [EVENTS_SCOPE])

    calls = [c for c in admin.get("stats")["calls"] if c["endpoint"] == "token"]

    assert [(c["scopes"], c["idToken"]) for c in calls] == [
        (["openid", "email"], True),
        ([EVENTS_SCOPE], False),
    ]
