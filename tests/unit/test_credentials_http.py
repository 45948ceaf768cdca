"""Requests authorised with confsync's credentials over the shared urllib3 pool, without
google-auth's urllib3 transport: the header, one refresh and one more attempt on a 401, urllib3
failures as google-auth's TransportError, and the runtime identity from the metadata server on
Cloud Functions."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest
import urllib3
from google.auth.exceptions import RefreshError, TransportError
from google.auth.transport import Request

from confsync.adapters import google_credentials
from confsync.adapters.credentials_http import CredentialsHttp, PoolRequest
from confsync.adapters.google_credentials import AccessToken, SubjectCredentials, TokenCache
from confsync.adapters.metadata_credentials import MetadataCredentials
from confsync.adapters.metadata_token import METADATA_TOKEN_URL

API = "https://www.googleapis.com/calendar/v3/calendars/alice%40example.com/events"


@dataclass
class _Answer:
    status: int
    data: bytes = b"{}"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class FakePool:
    """The Calendar API answers 401 to the tokens in ``refused``; the metadata server hands out
    m1, m2, ... (or ``metadata_status``); ``down`` makes every request fail to connect."""

    refused: set[str] = field(default_factory=set)
    metadata_status: int = 200
    down: bool = False
    seen: list[str] = field(default_factory=list)
    issued: int = 0

    def request(self, method: str, url: str, *, headers: dict[str, str], **_: Any) -> _Answer:
        if self.down:
            raise urllib3.exceptions.NewConnectionError(None, "connection refused")  # type: ignore[arg-type]
        if url == METADATA_TOKEN_URL:
            assert headers == {"Metadata-Flavor": "Google"}
            if self.metadata_status != 200:
                return _Answer(self.metadata_status)
            self.issued += 1
            return _Answer(
                200, json.dumps({"access_token": f"m{self.issued}", "expires_in": 3599}).encode()
            )
        lowered = {name.lower(): value for name, value in headers.items()}  # HTTP: any case
        token = lowered["authorization"].removeprefix("Bearer ")
        self.seen.append(token)
        return _Answer(401 if token in self.refused else 200)


def _credentials() -> tuple[SubjectCredentials, list[str]]:
    """Alice's credentials over a token cache whose fetches hand out t1, t2, ..."""
    fetched: list[str] = []

    def fetch(subject: str, request: Request) -> AccessToken:
        assert isinstance(request, PoolRequest)
        fetched.append(f"t{len(fetched) + 1}")
        return AccessToken(fetched[-1], expires_at=10**10)

    return SubjectCredentials("alice@example.com", TokenCache(fetch)), fetched


def test_requests_carry_the_subjects_token_fetched_once() -> None:
    pool = FakePool()
    credentials, fetched = _credentials()
    http = CredentialsHttp(credentials, pool)

    first = http.request("GET", API, headers={"Accept": "application/json"})
    second = http.request("GET", API)

    assert (first.status, second.status) == (200, 200)
    assert pool.seen == ["t1", "t1"]
    assert fetched == ["t1"]


def test_a_refused_token_is_replaced_and_the_request_sent_once_more() -> None:
    pool = FakePool(refused={"t1"})
    credentials, _fetched = _credentials()

    answer = CredentialsHttp(credentials, pool).request("GET", API)

    assert answer.status == 200
    assert pool.seen == ["t1", "t2"]


def test_a_second_refusal_is_the_answer_not_a_loop() -> None:
    pool = FakePool(refused={"t1", "t2"})
    credentials, _fetched = _credentials()

    answer = CredentialsHttp(credentials, pool).request("GET", API)

    assert answer.status == 401
    assert pool.seen == ["t1", "t2"]


def test_a_connection_failure_of_a_token_request_is_a_transport_error() -> None:
    with pytest.raises(TransportError, match="NewConnectionError"):
        PoolRequest(FakePool(down=True))(url=METADATA_TOKEN_URL, headers={})


def test_the_runtime_identity_refreshes_from_the_metadata_server() -> None:
    pool = FakePool()
    credentials = MetadataCredentials()

    credentials.refresh(PoolRequest(pool))
    headers: dict[str, str] = {}
    credentials.apply(headers)

    assert headers == {"authorization": "Bearer m1"}
    assert credentials.valid


@pytest.mark.parametrize("pool", [FakePool(metadata_status=503), FakePool(down=True)])
def test_a_metadata_server_without_a_token_is_a_retryable_refusal(pool: FakePool) -> None:
    with pytest.raises(RefreshError) as raised:
        MetadataCredentials().refresh(PoolRequest(pool))

    assert raised.value.retryable


@pytest.mark.parametrize(
    ("env", "metadata"),
    [
        ({"K_SERVICE": "sync"}, True),
        ({"K_SERVICE": "sync", "GOOGLE_APPLICATION_CREDENTIALS": "key.json"}, False),
        ({}, False),
    ],
)
def test_the_runtime_identity_comes_from_where_the_function_runs(
    env: dict[str, str], metadata: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("K_SERVICE", "GOOGLE_APPLICATION_CREDENTIALS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    defaults: list[str] = []

    def default(scopes: list[str]) -> tuple[object, str]:
        defaults.append(scopes[0])
        return object(), "project"

    monkeypatch.setattr("google.auth.default", default)

    source = google_credentials._runtime_credentials()

    assert isinstance(source, MetadataCredentials) == metadata
    assert defaults == ([] if metadata else [google_credentials.IAM_SCOPE])
