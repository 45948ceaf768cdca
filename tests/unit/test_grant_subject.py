"""``confsync grant``'s one refresh at the token endpoint, through unmodified google-auth over a
scripted transport: what it asks for, what it reads from the answer, and how each refusal is
sorted into "the token is wrong" (exit 2) or "try again" (exit 1), never naming the token."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import pytest
from google.auth.exceptions import TransportError
from google.auth.transport import Request

from confsync.cli.grant_subject import (
    GrantCheckError,
    TokenAnswer,
    grant_scopes,
    redeem_refresh_token,
)
from confsync.config import CliConfig

TOKEN = "1//0gRefreshTokenOfAlice"
TOKEN_URL = "https://oauth.test/token"
CONFIG = CliConfig(
    "p",
    "(default)",
    "sync-requests",
    "channel-commands",
    oauth_client_id="client-1",
    oauth_client_secret="secret-1",
    token_url=TOKEN_URL,
)


@dataclass
class _Response:
    status: int
    data: bytes
    headers: dict[str, str] = field(default_factory=dict)


class FakeTransport(Request):
    """A google-auth ``Request`` answering every call with one scripted answer."""

    def __init__(self, status: int, answer: dict[str, Any]) -> None:
        self.status, self.answer = status, answer
        self.calls: list[dict[str, Any]] = []

    def __call__(
        self,
        url: Any,
        method: Any = "GET",
        body: Any = None,
        headers: Any = None,
        timeout: Any = None,
        **_: Any,
    ) -> Any:
        self.calls.append({"url": url, "method": method, "body": body})
        return _Response(self.status, json.dumps(self.answer).encode())


def test_one_refresh_asks_for_openid_email_and_the_calendar_scope() -> None:
    scopes = " ".join(grant_scopes())
    transport = FakeTransport(
        200, {"access_token": "ya29.x", "expires_in": 3599, "scope": scopes, "id_token": "a.b.c"}
    )

    answer = redeem_refresh_token(TOKEN, CONFIG, transport)

    assert answer == TokenAnswer("a.b.c", frozenset(grant_scopes()))
    [call] = transport.calls
    assert (call["url"], call["method"]) == (TOKEN_URL, "POST")
    form = parse_qs(call["body"].decode())
    assert form["grant_type"] == ["refresh_token"]
    assert form["refresh_token"] == [TOKEN]
    assert form["client_id"] == ["client-1"]
    assert form["scope"] == ["openid email https://www.googleapis.com/auth/calendar.events"]


def test_an_answer_without_id_token_or_scope_says_so() -> None:
    transport = FakeTransport(200, {"access_token": "ya29.x", "expires_in": 3599})

    assert redeem_refresh_token(TOKEN, CONFIG, transport) == TokenAnswer(None, None)


def test_a_scope_not_granted_is_reported_not_raised() -> None:
    transport = FakeTransport(400, {"error": "invalid_scope", "error_description": "Bad Request"})

    answer = redeem_refresh_token(TOKEN, CONFIG, transport)

    assert answer == TokenAnswer(None, None, scope_refused=True)


@pytest.mark.parametrize(
    ("status", "error", "named"),
    [
        (
            400,
            "invalid_grant",
            "revoked, expired, mistyped or not issued to CONFSYNC_OAUTH_CLIENT_ID",
        ),
        (401, "invalid_client", "check CONFSYNC_OAUTH_CLIENT_ID and CONFSYNC_OAUTH_CLIENT_SECRET"),
        (400, "access_denied", "refused the refresh token (access_denied"),
    ],
)
def test_a_refused_token_or_client_is_exit_2(status: int, error: str, named: str) -> None:
    transport = FakeTransport(status, {"error": error, "error_description": "Bad Request"})

    with pytest.raises(GrantCheckError) as caught:
        redeem_refresh_token(TOKEN, CONFIG, transport)

    assert caught.value.exit_code == 2
    assert named in str(caught.value)
    assert "nothing stored" in str(caught.value)
    assert TOKEN not in str(caught.value)


class Unreachable(Request):
    def __call__(
        self,
        url: Any,
        method: Any = "GET",
        body: Any = None,
        headers: Any = None,
        timeout: Any = None,
        **_: Any,
    ) -> Any:
        raise TransportError("connection refused")


def test_an_unreachable_token_endpoint_is_exit_1() -> None:
    with pytest.raises(GrantCheckError, match="try again") as caught:
        redeem_refresh_token(TOKEN, CONFIG, Unreachable())

    assert caught.value.exit_code == 1
