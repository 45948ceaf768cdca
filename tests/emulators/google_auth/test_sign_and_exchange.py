"""The stand-in behaves as Google documents: ``signJwt`` signs only for a caller holding the
token-creator role, ``/token`` verifies the assertion against the signer's key and the
delegation the administrator granted, refresh tokens are checked against their client, and the
answers have Google's shapes. Unmodified google-auth clients are the cross-check."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from google.auth.exceptions import RefreshError
from google.auth.transport.requests import Request
from google.oauth2 import service_account
from google.oauth2.credentials import Credentials as UserCredentials

from google_auth_emulator.cli import parse_args
from google_auth_emulator.jwts import JwtError, SigningKey, sign, verify
from google_auth_emulator.server import GoogleAuthServer
from tests.support.google_auth import DELEGATION_SA, EVENTS_SCOPE, RUNTIME_SA, Admin

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"


def _runtime_token(admin: Admin) -> str:
    """An access token of the runtime account, obtained by google-auth from a key file."""
    credentials = service_account.Credentials.from_service_account_info(
        admin.key_file(RUNTIME_SA), scopes=[CLOUD_PLATFORM]
    )
    credentials.refresh(Request())
    return str(credentials.token)


def _sign_jwt(server: GoogleAuthServer, token: str | None, claims: dict[str, Any]) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.post(
        f"{server.iam_credentials_url}projects/-/serviceAccounts/{DELEGATION_SA}:signJwt",
        json={"payload": json.dumps(claims)},
        headers=headers,
        timeout=10,
    )


def _claims(server: GoogleAuthServer, subject: str = "alice@example.com", **extra: Any) -> Any:
    now = int(time.time())
    return {
        "iss": DELEGATION_SA,
        "sub": subject,
        "scope": EVENTS_SCOPE,
        "aud": server.token_url,
        "iat": now,
        "exp": now + 3600,
        **extra,
    }


def _exchange(server: GoogleAuthServer, assertion: str) -> Any:
    return requests.post(
        server.token_url, data={"grant_type": JWT_BEARER, "assertion": assertion}, timeout=10
    )


def _delegated_assertion(server: GoogleAuthServer, admin: Admin, **claims: Any) -> str:
    answer = _sign_jwt(server, _runtime_token(admin), _claims(server, **claims))
    assert answer.status_code == 200, answer.text
    signed: str = answer.json()["signedJwt"]
    return signed


def _key_of(admin: Admin, email: str) -> SigningKey:
    """The account's key, from the key file the stand-in hands out (for assertions that signJwt
    itself would refuse to sign)."""
    key_file = admin.key_file(email)
    private = serialization.load_pem_private_key(key_file["private_key"].encode(), None)
    return SigningKey(key_file["private_key_id"], private)  # type: ignore[arg-type]


# --- signJwt ----------------------------------------------------------------------------------


def test_sign_jwt_signs_with_the_accounts_key(server: GoogleAuthServer, delegation: Admin) -> None:
    claims = _claims(server)

    answer = _sign_jwt(server, _runtime_token(delegation), claims)

    assert answer.status_code == 200
    body = answer.json()
    key = _key_of(delegation, DELEGATION_SA)
    assert body["keyId"] == key.key_id
    assert verify(body["signedJwt"], key) == claims


def test_sign_jwt_adds_an_expiry_of_one_hour_when_none_is_given(
    server: GoogleAuthServer, delegation: Admin
) -> None:
    claims = _claims(server)
    del claims["exp"]

    answer = _sign_jwt(server, _runtime_token(delegation), claims)

    assert answer.status_code == 200
    verified = verify(answer.json()["signedJwt"], _key_of(delegation, DELEGATION_SA))
    assert verified["exp"] - claims["iat"] in range(3599, 3602)


def test_sign_jwt_without_a_token_is_unauthenticated(
    server: GoogleAuthServer, delegation: Admin
) -> None:
    answer = _sign_jwt(server, None, _claims(server))

    assert answer.status_code == 401
    assert answer.json()["error"]["status"] == "UNAUTHENTICATED"


def test_sign_jwt_without_the_token_creator_role_is_denied(
    server: GoogleAuthServer, delegation: Admin
) -> None:
    delegation.http.delete(
        f"{delegation.base}/token-creators",
        json={"member": RUNTIME_SA, "serviceAccount": DELEGATION_SA},
        timeout=10,
    ).raise_for_status()

    answer = _sign_jwt(server, _runtime_token(delegation), _claims(server))

    assert answer.status_code == 403
    assert answer.json()["error"] == {
        "code": 403,
        "message": answer.json()["error"]["message"],
        "status": "PERMISSION_DENIED",
    }
    assert "signJwt" in answer.json()["error"]["message"]


def test_sign_jwt_refuses_an_expiry_beyond_twelve_hours(
    server: GoogleAuthServer, delegation: Admin
) -> None:
    claims = _claims(server)
    claims["exp"] = claims["iat"] + 13 * 3600

    answer = _sign_jwt(server, _runtime_token(delegation), claims)

    assert answer.status_code == 400
    assert answer.json()["error"]["status"] == "INVALID_ARGUMENT"


# --- /token, jwt-bearer -----------------------------------------------------------------------


def test_a_delegated_assertion_gets_a_token_for_the_user(
    server: GoogleAuthServer, delegation: Admin
) -> None:
    answer = _exchange(server, _delegated_assertion(server, delegation))

    assert answer.status_code == 200
    body = answer.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3599
    assert body["scope"] == EVENTS_SCOPE
    info = requests.get(
        f"{server.base_url}/tokeninfo", params={"access_token": body["access_token"]}, timeout=10
    ).json()
    assert info["sub"] == "alice@example.com"
    assert info["scope"] == EVENTS_SCOPE


def test_an_assertion_signed_by_another_key_is_an_invalid_grant(
    server: GoogleAuthServer, delegation: Admin
) -> None:
    delegation.post("service-accounts", {"email": DELEGATION_SA})
    forged = sign(SigningKey.generate("forger"), _claims(server))

    answer = _exchange(server, forged)

    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_grant"
    assert "error_description" in answer.json()


@pytest.mark.parametrize(
    "claims",
    [
        {"aud": "https://elsewhere.test/token"},
        {"iat": int(time.time()) - 7300, "exp": int(time.time()) - 3700},
        {"exp": int(time.time()) + 7200},
    ],
    ids=["foreign-audience", "expired", "longer-than-an-hour"],
)
def test_audience_and_lifetime_are_checked(
    server: GoogleAuthServer, delegation: Admin, claims: dict[str, Any]
) -> None:
    assertion = sign(_key_of(delegation, DELEGATION_SA), _claims(server, **claims))

    answer = _exchange(server, assertion)

    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_grant"


def test_googles_own_token_url_is_an_accepted_audience(
    server: GoogleAuthServer, delegation: Admin
) -> None:
    assertion = _delegated_assertion(server, delegation, aud="https://oauth2.googleapis.com/token")

    assert _exchange(server, assertion).status_code == 200


def test_a_scope_the_administrator_did_not_authorize_is_an_unauthorized_client(
    server: GoogleAuthServer, delegation: Admin
) -> None:
    assertion = _delegated_assertion(
        server, delegation, scope="https://www.googleapis.com/auth/calendar"
    )

    answer = _exchange(server, assertion)

    assert answer.status_code == 401
    assert answer.json()["error"] == "unauthorized_client"


def test_a_revoked_user_is_an_invalid_grant_until_restored(
    server: GoogleAuthServer, delegation: Admin
) -> None:
    delegation.post("revoke", {"subject": "alice@example.com"})

    refused = _exchange(server, _delegated_assertion(server, delegation))
    other_user = _exchange(server, _delegated_assertion(server, delegation, sub="bob@example.com"))
    delegation.post("restore", {"subject": "alice@example.com"})
    restored = _exchange(server, _delegated_assertion(server, delegation))

    assert (refused.status_code, refused.json()["error"]) == (400, "invalid_grant")
    assert other_user.status_code == 200
    assert restored.status_code == 200


def test_an_unknown_user_is_an_invalid_grant(server: GoogleAuthServer, delegation: Admin) -> None:
    answer = _exchange(server, _delegated_assertion(server, delegation, sub="eve@example.com"))

    assert answer.json()["error"] == "invalid_grant"


def test_an_unsupported_grant_type_is_named(server: GoogleAuthServer, admin: Admin) -> None:
    answer = requests.post(server.token_url, data={"grant_type": "password"}, timeout=10)

    assert answer.status_code == 400
    assert answer.json()["error"] == "unsupported_grant_type"


# --- /token, refresh_token --------------------------------------------------------------------


@pytest.fixture(name="refresh_token")
def refresh_token_fixture(admin: Admin) -> str:
    admin.post("oauth-clients", {"clientId": "client-1", "clientSecret": "secret-1"})
    answer = admin.post(
        "refresh-tokens",
        {"clientId": "client-1", "subject": "alice@example.com", "scopes": [EVENTS_SCOPE]},
    )
    token: str = answer["refreshToken"]
    return token


def _user(server: GoogleAuthServer, refresh_token: str, secret: str = "secret-1") -> Any:
    return UserCredentials(
        token=None,
        refresh_token=refresh_token,
        client_id="client-1",
        client_secret=secret,
        token_uri=server.token_url,
        scopes=[EVENTS_SCOPE],
    )


def test_google_auth_refreshes_a_user_grant(server: GoogleAuthServer, refresh_token: str) -> None:
    credentials = _user(server, refresh_token)

    credentials.refresh(Request())

    assert credentials.valid
    assert credentials.token.startswith("ya29.")


def test_a_wrong_client_secret_is_an_invalid_client(
    server: GoogleAuthServer, refresh_token: str
) -> None:
    with pytest.raises(RefreshError, match="invalid_client") as caught:
        _user(server, refresh_token, secret="wrong").refresh(Request())

    assert caught.value.retryable is False


def test_a_revoked_refresh_token_is_an_invalid_grant(
    server: GoogleAuthServer, admin: Admin, refresh_token: str
) -> None:
    admin.post("revoke", {"refreshToken": refresh_token})

    with pytest.raises(RefreshError, match="invalid_grant") as caught:
        _user(server, refresh_token).refresh(Request())

    assert caught.value.retryable is False


def test_asking_more_than_the_user_granted_is_an_invalid_scope(
    server: GoogleAuthServer, refresh_token: str
) -> None:
    answer = requests.post(
        server.token_url,
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": "client-1",
            "client_secret": "secret-1",
            "scope": "https://www.googleapis.com/auth/calendar",
        },
        timeout=10,
    )

    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_scope")


# --- faults, settings, stats ------------------------------------------------------------------


def test_injected_faults_answer_the_next_calls_then_stop(
    server: GoogleAuthServer, delegation: Admin
) -> None:
    assertion = _delegated_assertion(server, delegation)
    delegation.post("faults", {"endpoint": "token", "status": 503, "times": 2})

    statuses = [_exchange(server, assertion).status_code for _ in range(3)]

    assert statuses == [503, 503, 200]
    assert delegation.get("faults") == {"faults": []}


def test_the_token_lifetime_can_be_shortened(server: GoogleAuthServer, delegation: Admin) -> None:
    delegation.post("settings", {"tokenLifetimeSeconds": 120})

    answer = _exchange(server, _delegated_assertion(server, delegation))

    assert answer.json()["expires_in"] == 120


def test_stats_count_calls_by_endpoint_and_grant(
    server: GoogleAuthServer, delegation: Admin
) -> None:
    _exchange(server, _delegated_assertion(server, delegation))

    counts = delegation.counts()
    assert counts["signJwt"] == 1
    assert counts["token:jwt-bearer"] == 2  # the runtime account's own token, then alice's
    calls = delegation.get("stats")["calls"]
    assert calls[-1]["subject"] == "alice@example.com"
    assert calls[-1]["scopes"] == [EVENTS_SCOPE]


def test_the_jwt_helpers_refuse_tampering() -> None:
    key = SigningKey.generate("k")
    token = sign(key, {"sub": "alice@example.com"})
    header, claims, signature = token.split(".")

    with pytest.raises(JwtError):
        verify(f"{header}.{claims}x.{signature}", key)


def test_the_command_line_defaults_to_localhost() -> None:
    args = parse_args([])

    assert (args.host, args.port) == ("127.0.0.1", 8685)
