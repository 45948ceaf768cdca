"""Calendar credentials per subject, against a scripted google-auth transport (no network).

What a user of confsync relies on: the delegated assertion names the right service account,
user, scope and audience and is signed by the IAM signer; tokens are fetched once and reused
until shortly before they expire; and every failure is sorted into "the calendar is
disconnected" (non-retryable) or "try again" (retryable) without leaking the user's address.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import pytest
from google.auth.credentials import Credentials
from google.auth.exceptions import RefreshError, TransportError

from confsync.adapters.google_credentials import (
    CALENDAR_SCOPES,
    JWT_BEARER_GRANT,
    REFRESH_SKEW_S,
    credentials_provider,
)
from confsync.config import CalendarAuthConfig
from confsync.errors import StoreUnavailableError
from confsync.grant_crypto import seal_grant

SA = "calendar@proj.iam.gserviceaccount.com"
SUBJECT = "alice@example.com"
TOKEN_URL = "https://oauth.test/token"
IAM_URL = "https://iam.test/v1/"
SIGN_URL = f"{IAM_URL}projects/-/serviceAccounts/{SA}:signJwt"
KEY = bytes(range(32))


@dataclass
class _Response:
    status: int
    data: bytes
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[dict[str, Any]], tuple[int, dict[str, Any]]]


class FakeTransport:
    """A google-auth ``Request``: answers by URL from scripted handlers and records every call."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.handlers: dict[str, Handler] = {}
        self.issued = 0
        self.lock = threading.Lock()
        self.handlers[SIGN_URL] = self._sign
        self.handlers[TOKEN_URL] = self._token

    def __call__(
        self, url: str, method: str = "GET", body: Any = None, headers: Any = None, **_: Any
    ) -> _Response:
        call = {"url": url, "method": method, "body": body, "headers": dict(headers or {})}
        with self.lock:
            self.calls.append(call)
        status, answer = self.handlers[url](call)
        return _Response(status, json.dumps(answer).encode())

    def to(self, url: str) -> list[dict[str, Any]]:
        return [c for c in self.calls if c["url"] == url]

    @staticmethod
    def _sign(call: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        payload = json.loads(call["body"])["payload"]
        signed = "hdr." + base64.urlsafe_b64encode(payload.encode()).decode() + ".sig"
        return 200, {"keyId": "k1", "signedJwt": signed}

    def _token(self, call: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self.lock:
            self.issued += 1
            number = self.issued
        return 200, {"access_token": f"token-{number}", "expires_in": 3600}


def _claims(call: dict[str, Any]) -> dict[str, Any]:
    """The claims the fake signer signed, recovered from the assertion sent to /token."""
    form = parse_qs(call["body"].decode())
    payload = form["assertion"][0].split(".")[1]
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload))
    return claims


class FakeSource(Credentials):
    """The function's own identity: a token that changes on each refresh."""

    def __init__(self) -> None:
        super().__init__()
        self.refreshes = 0

    def refresh(self, request: Any) -> None:
        self.refreshes += 1
        self.token = f"runtime-{self.refreshes}"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def _auth(mode: str) -> CalendarAuthConfig:
    return CalendarAuthConfig(
        mode=mode,
        delegation_service_account=SA,
        oauth_client_id="client-1",
        oauth_client_secret="secret-1",
        oauth_token_keys=(KEY,),
        token_url=TOKEN_URL,
        iam_credentials_url=IAM_URL,
    )


class InMemoryGrants:
    def __init__(self) -> None:
        self.sealed: dict[str, bytes] = {}
        self.failing = False

    def get(self, subject: str) -> bytes | None:
        if self.failing:
            raise StoreUnavailableError("Firestore grant get failed: Unavailable")
        return self.sealed.get(subject)


@pytest.fixture(name="transport")
def transport_fixture() -> FakeTransport:
    return FakeTransport()


@pytest.fixture(name="clock")
def clock_fixture() -> Clock:
    return Clock()


@pytest.fixture(name="source")
def source_fixture() -> FakeSource:
    return FakeSource()


@pytest.fixture(name="delegated")
def delegated_fixture(source: FakeSource, clock: Clock) -> Callable[[str], Any]:
    return credentials_provider(_auth("delegated"), source_credentials=lambda: source, clock=clock)


# --- delegated: the assertion ------------------------------------------------------------------


def test_the_assertion_is_signed_by_the_iam_signer_as_the_delegation_account(
    delegated: Callable[[str], Any], transport: FakeTransport, source: FakeSource
) -> None:
    delegated(SUBJECT).refresh(transport)

    [sign] = transport.to(SIGN_URL)
    assert sign["method"] == "POST"
    assert sign["headers"]["authorization"] == "Bearer runtime-1"
    [token] = transport.to(TOKEN_URL)
    assert parse_qs(token["body"].decode())["grant_type"] == [JWT_BEARER_GRANT]
    claims = _claims(token)
    assert claims["iss"] == SA
    assert claims["sub"] == SUBJECT
    assert claims["scope"] == " ".join(CALENDAR_SCOPES)
    assert claims["aud"] == TOKEN_URL
    assert 0 < claims["exp"] - claims["iat"] <= 3600


def test_the_scope_is_the_calendar_events_scope_only() -> None:
    assert CALENDAR_SCOPES == ("https://www.googleapis.com/auth/calendar.events",)


def test_building_the_provider_calls_nothing(transport: FakeTransport) -> None:
    made: list[int] = []

    def source() -> Credentials:
        made.append(1)
        return FakeSource()

    credentials_for = credentials_provider(_auth("delegated"), source_credentials=source)
    credentials_for(SUBJECT)

    assert made == []
    assert transport.calls == []


def test_the_emulator_mode_is_anonymous() -> None:
    assert credentials_provider(_auth("emulator"))(SUBJECT) is None


# --- caching and refresh -----------------------------------------------------------------------


def test_one_token_serves_many_runs_of_one_user(
    delegated: Callable[[str], Any], transport: FakeTransport
) -> None:
    tokens = set()
    for _ in range(5):
        credentials = delegated(SUBJECT)
        credentials.refresh(transport)
        tokens.add(credentials.token)

    assert tokens == {"token-1"}
    assert len(transport.to(TOKEN_URL)) == 1
    assert len(transport.to(SIGN_URL)) == 1


def test_each_user_has_a_token_of_their_own(
    delegated: Callable[[str], Any], transport: FakeTransport
) -> None:
    first, second = delegated(SUBJECT), delegated("bob@example.com")
    first.refresh(transport)
    second.refresh(transport)

    assert first.token != second.token
    assert [_claims(c)["sub"] for c in transport.to(TOKEN_URL)] == [SUBJECT, "bob@example.com"]


def test_a_token_is_replaced_shortly_before_it_expires(
    delegated: Callable[[str], Any], transport: FakeTransport, clock: Clock
) -> None:
    credentials = delegated(SUBJECT)
    credentials.refresh(transport)
    expires_at = clock.now + 3600

    clock.now = expires_at - REFRESH_SKEW_S - 1
    assert credentials.valid
    delegated(SUBJECT).refresh(transport)
    assert len(transport.to(TOKEN_URL)) == 1

    clock.now = expires_at - REFRESH_SKEW_S + 1
    assert not credentials.valid
    credentials.refresh(transport)
    assert credentials.token == "token-2"
    assert len(transport.to(TOKEN_URL)) == 2


def test_a_token_the_api_refused_is_not_answered_again(
    delegated: Callable[[str], Any], transport: FakeTransport
) -> None:
    credentials = delegated(SUBJECT)
    credentials.refresh(transport)
    credentials.refresh(transport)  # what AuthorizedHttp does after a 401

    assert credentials.token == "token-2"


def test_concurrent_runs_of_one_user_share_one_fetch(
    delegated: Callable[[str], Any], transport: FakeTransport
) -> None:
    start = threading.Barrier(8)
    tokens: list[str] = []

    def run() -> None:
        credentials = delegated(SUBJECT)
        start.wait()
        credentials.refresh(transport)
        tokens.append(credentials.token)

    threads = [threading.Thread(target=run) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert set(tokens) == {"token-1"}
    assert len(transport.to(TOKEN_URL)) == 1


# --- delegated: failures -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error", "retryable"),
    [
        (400, "invalid_grant", False),
        (401, "unauthorized_client", False),
        (403, "access_denied", False),
        (400, "temporarily_unavailable", True),
        (429, "rate_limit_exceeded", True),
        (503, "server_error", True),
        (500, "", True),
    ],
)
def test_token_endpoint_errors_are_sorted(
    delegated: Callable[[str], Any],
    transport: FakeTransport,
    status: int,
    error: str,
    retryable: bool,
) -> None:
    transport.handlers[TOKEN_URL] = lambda _call: (status, {"error": error} if error else {})

    with pytest.raises(RefreshError) as caught:
        delegated(SUBJECT).refresh(transport)

    assert caught.value.retryable is retryable
    assert SUBJECT not in str(caught.value)


def test_an_unauthorized_client_tells_the_operator_what_to_authorize(
    delegated: Callable[[str], Any], transport: FakeTransport
) -> None:
    transport.handlers[TOKEN_URL] = lambda _call: (401, {"error": "unauthorized_client"})

    with pytest.raises(RefreshError, match="domain-wide delegation") as caught:
        delegated(SUBJECT).refresh(transport)

    assert SA in str(caught.value)
    assert CALENDAR_SCOPES[0] in str(caught.value)


def test_a_network_failure_is_retryable(
    delegated: Callable[[str], Any], transport: FakeTransport
) -> None:
    def unreachable(_call: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        raise TransportError("connection refused")

    transport.handlers[TOKEN_URL] = unreachable

    with pytest.raises(RefreshError) as caught:
        delegated(SUBJECT).refresh(transport)

    assert caught.value.retryable is True


def test_a_refused_signer_names_the_missing_role(
    delegated: Callable[[str], Any], transport: FakeTransport
) -> None:
    transport.handlers[SIGN_URL] = lambda _call: (
        403,
        {"error": {"code": 403, "message": "Permission denied", "status": "PERMISSION_DENIED"}},
    )

    with pytest.raises(RefreshError, match=r"roles/iam\.serviceAccountTokenCreator") as caught:
        delegated(SUBJECT).refresh(transport)

    assert caught.value.retryable is False
    assert transport.to(TOKEN_URL) == []


def test_a_signer_outage_is_retryable(
    delegated: Callable[[str], Any], transport: FakeTransport
) -> None:
    transport.handlers[SIGN_URL] = lambda _call: (503, {"error": {"code": 503}})

    with pytest.raises(RefreshError) as caught:
        delegated(SUBJECT).refresh(transport)

    assert caught.value.retryable is True


def test_a_stale_runtime_token_is_renewed_once_on_a_401(
    delegated: Callable[[str], Any], transport: FakeTransport, source: FakeSource
) -> None:
    answers = iter([(401, {"error": {"code": 401}})])
    signer = transport.handlers[SIGN_URL]
    transport.handlers[SIGN_URL] = lambda call: next(answers, None) or signer(call)

    delegated(SUBJECT).refresh(transport)

    assert [c["headers"]["authorization"] for c in transport.to(SIGN_URL)] == [
        "Bearer runtime-1",
        "Bearer runtime-2",
    ]


# --- oauth -------------------------------------------------------------------------------------


def _oauth(grants: InMemoryGrants, **options: Any) -> Callable[[str], Any]:
    return credentials_provider(_auth("oauth"), grants=grants, **options)


@pytest.fixture(name="grants")
def grants_fixture() -> InMemoryGrants:
    grants = InMemoryGrants()
    grants.sealed[SUBJECT] = seal_grant("1//alice-refresh", SUBJECT, KEY)
    return grants


def test_a_stored_grant_is_exchanged_once_for_many_runs(
    grants: InMemoryGrants, transport: FakeTransport, clock: Clock
) -> None:
    credentials_for = _oauth(grants, clock=clock)

    for _ in range(3):
        credentials_for(SUBJECT).refresh(transport)

    [call] = transport.to(TOKEN_URL)
    form = parse_qs(call["body"].decode())
    assert form["grant_type"] == ["refresh_token"]
    assert form["refresh_token"] == ["1//alice-refresh"]
    assert form["client_id"] == ["client-1"]
    assert form["client_secret"] == ["secret-1"]
    assert form["scope"] == [" ".join(CALENDAR_SCOPES)]


def test_a_user_without_a_grant_is_disconnected_with_a_clear_outcome(
    grants: InMemoryGrants, transport: FakeTransport
) -> None:
    credentials_for = _oauth(grants)

    with pytest.raises(RefreshError, match="confsync grant") as caught:
        credentials_for("bob@example.com").refresh(transport)

    assert caught.value.retryable is False
    assert "bob@example.com" not in str(caught.value)
    assert transport.calls == []


def test_a_grant_that_does_not_decrypt_is_refused_without_a_token_request(
    grants: InMemoryGrants, transport: FakeTransport
) -> None:
    grants.sealed[SUBJECT] = seal_grant("1//alice-refresh", SUBJECT, bytes(32))

    with pytest.raises(RefreshError, match="another key") as caught:
        _oauth(grants)(SUBJECT).refresh(transport)

    assert caught.value.retryable is False
    assert transport.calls == []


def test_firestore_unavailable_is_retryable(
    grants: InMemoryGrants, transport: FakeTransport
) -> None:
    grants.failing = True

    with pytest.raises(RefreshError) as caught:
        _oauth(grants)(SUBJECT).refresh(transport)

    assert caught.value.retryable is True


def test_a_revoked_grant_disconnects(grants: InMemoryGrants, transport: FakeTransport) -> None:
    transport.handlers[TOKEN_URL] = lambda _call: (
        400,
        {"error": "invalid_grant", "error_description": "Token has been expired or revoked."},
    )

    with pytest.raises(RefreshError, match="grant access again") as caught:
        _oauth(grants)(SUBJECT).refresh(transport)

    assert caught.value.retryable is False
    assert "1//alice-refresh" not in str(caught.value)


def test_a_runtime_identity_outage_is_retryable_not_a_disconnection(
    clock: Clock, transport: FakeTransport
) -> None:
    """On Cloud Functions the runtime identity is the metadata server's, whose google-auth
    credentials wrap an unreachable or failing server (a TransportError) into a RefreshError
    that is *not* marked retryable: that outage says nothing about the user."""

    class MetadataDown(Credentials):
        def refresh(self, request: Any) -> None:
            try:
                raise TransportError("metadata server answered 503")
            except TransportError as caught:
                raise RefreshError(caught) from caught

    delegated: Callable[[str], Any] = credentials_provider(
        _auth("delegated"), source_credentials=MetadataDown, clock=clock
    )

    with pytest.raises(RefreshError) as caught:
        delegated(SUBJECT).refresh(transport)

    assert caught.value.retryable is True
    assert transport.calls == []


def test_a_runtime_identity_refused_for_good_is_not_retryable(
    clock: Clock, transport: FakeTransport
) -> None:
    class NoAccount(Credentials):
        def refresh(self, request: Any) -> None:
            raise RefreshError("the instance has no service account")

    delegated: Callable[[str], Any] = credentials_provider(
        _auth("delegated"), source_credentials=NoAccount, clock=clock
    )

    with pytest.raises(RefreshError) as caught:
        delegated(SUBJECT).refresh(transport)

    assert caught.value.retryable is False
