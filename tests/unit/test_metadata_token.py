"""Requests authorised by the metadata server's token: fetched once, kept until a minute before it
expires, fetched again on a 401; a metadata server that cannot give one fails the request. And
the publisher's choice of credentials by where it runs."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from google.auth.exceptions import RefreshError

from confsync.adapters.metadata_token import METADATA_TOKEN_URL, MetadataTokenHttp
from confsync.adapters.pubsub_rest import credentials_source

API = "https://pubsub.example/v1/projects/p/topics/t:publish"


@dataclass
class _Answer:
    status: int
    data: bytes = b"{}"


@dataclass
class FakeServers:
    """The metadata server hands out tokens t1, t2, ... (``lifetime`` seconds each, or
    ``metadata_status``); the API answers 401 to the tokens in ``refused``, else 200."""

    lifetime: int = 3600
    metadata_status: int = 200
    refused: set[str] = field(default_factory=set)
    issued: int = 0
    api_tokens: list[str] = field(default_factory=list)

    def request(self, method: str, url: str, *, headers: dict[str, str], **_: Any) -> _Answer:
        if url == METADATA_TOKEN_URL:
            assert headers == {"Metadata-Flavor": "Google"}
            if self.metadata_status != 200:
                return _Answer(self.metadata_status)
            self.issued += 1
            body = {"access_token": f"t{self.issued}", "expires_in": self.lifetime}
            return _Answer(200, json.dumps(body).encode())
        token = headers["Authorization"].removeprefix("Bearer ")
        self.api_tokens.append(token)
        return _Answer(401 if token in self.refused else 200)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_one_token_serves_every_request_until_shortly_before_it_expires() -> None:
    servers, clock = FakeServers(lifetime=600), Clock()
    http = MetadataTokenHttp(servers, clock=clock)

    http.request("POST", API, headers={"Content-Type": "application/json"})
    clock.now = 539.0
    http.request("POST", API, headers={})
    clock.now = 541.0  # within a minute of its expiry
    http.request("POST", API, headers={})

    assert servers.api_tokens == ["t1", "t1", "t2"]


def test_a_refused_token_is_replaced_and_the_request_sent_once_more() -> None:
    servers = FakeServers(refused={"t1"})
    http = MetadataTokenHttp(servers, clock=Clock())

    answer = http.request("POST", API, headers={})

    assert answer.status == 200
    assert servers.api_tokens == ["t1", "t2"]


def test_a_metadata_server_without_a_token_fails_the_request_retryably() -> None:
    servers = FakeServers(metadata_status=503)
    http = MetadataTokenHttp(servers, clock=Clock())

    with pytest.raises(RefreshError, match="HTTP 503") as raised:
        http.request("POST", API, headers={})
    assert raised.value.retryable
    assert servers.api_tokens == []


@pytest.mark.parametrize(
    ("env", "source"),
    [
        ({"PUBSUB_EMULATOR_HOST": "127.0.0.1:8085", "K_SERVICE": "intake"}, "emulator"),
        ({"K_SERVICE": "intake"}, "metadata"),
        ({"K_SERVICE": "intake", "GOOGLE_APPLICATION_CREDENTIALS": "key.json"}, "default"),
        ({}, "default"),
    ],
)
def test_the_publisher_takes_its_credentials_from_where_it_runs(
    env: dict[str, str], source: str
) -> None:
    assert credentials_source(env) == source
