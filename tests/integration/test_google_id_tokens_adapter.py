"""The certificate fetcher of the ID token verifier over real HTTP: Google's answer becomes a
certificate set and its max-age; every other answer, or none, is CertsUnavailableError (so intake
answers 503, never 401, for a token it could not check)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from werkzeug.wrappers import Response

from confsync.adapters.google_id_tokens import certs_fetcher
from confsync.id_tokens import CertsUnavailableError
from devstack.gcloud_emulators import free_port
from emulator_kit.serving import BackgroundServer
from google_auth_emulator.jwts import SigningKey
from google_auth_emulator.server import GoogleAuthServer
from tests.support.id_tokens import certs_of

KEY = SigningKey.generate("key-1")
CERTS = certs_of(KEY)


class CertsEndpoint:
    """A stand-in for Google's certificate endpoint whose answer each test sets."""

    def __init__(self) -> None:
        self.answer: Callable[[], Response] = lambda: Response(
            json.dumps(CERTS),
            content_type="application/json",
            headers={"Cache-Control": "public, max-age=20681, must-revalidate, no-transform"},
        )
        self.requests = 0

    def __call__(self, environ: Any, start_response: Any) -> Any:
        self.requests += 1
        return self.answer()(environ, start_response)


@pytest.fixture(name="endpoint")
def endpoint_fixture() -> Iterator[tuple[CertsEndpoint, str]]:
    app = CertsEndpoint()
    with BackgroundServer(app, "127.0.0.1", 0, thread_name="certs-endpoint") as server:
        yield app, f"{server.base_url}/oauth2/v1/certs"


def test_googles_answer_becomes_the_certificates_and_their_max_age(
    endpoint: tuple[CertsEndpoint, str],
) -> None:
    app, url = endpoint

    fetched = certs_fetcher(url)()

    assert dict(fetched.certs) == CERTS
    assert fetched.max_age_s == 20681.0
    assert app.requests == 1


def test_the_google_auth_stand_in_is_read_as_not_cacheable() -> None:
    with GoogleAuthServer(host="127.0.0.1", port=0) as server:
        fetched = certs_fetcher(server.certs_url)()

    assert list(fetched.certs) == [server.app.state.id_token_key.key_id]
    assert fetched.max_age_s is None  # it says no-store: the cache keeps them the least time


@pytest.mark.parametrize(
    "answer",
    [
        lambda: Response("unavailable", status=503),
        lambda: Response(json.dumps(CERTS), status=404),
        lambda: Response("<html>not json</html>", content_type="text/html"),
        lambda: Response(json.dumps([CERTS])),
        lambda: Response(json.dumps({})),
        lambda: Response(json.dumps({"key-1": "not a certificate"})),
        lambda: Response(json.dumps({"key-1": 7})),
        lambda: Response(b"\xff\xfe"),
    ],
)
def test_any_other_answer_is_certificates_unavailable(
    endpoint: tuple[CertsEndpoint, str], answer: Callable[[], Response]
) -> None:
    app, url = endpoint
    app.answer = answer

    with pytest.raises(CertsUnavailableError):
        certs_fetcher(url)()


def test_no_answer_is_certificates_unavailable() -> None:
    with pytest.raises(CertsUnavailableError):
        certs_fetcher(f"http://127.0.0.1:{free_port()}/oauth2/v1/certs")()


def test_a_slow_answer_is_given_up_after_the_timeout(endpoint: tuple[CertsEndpoint, str]) -> None:
    app, url = endpoint

    def slow() -> Response:
        time.sleep(2)
        return Response(json.dumps(CERTS))

    app.answer = slow

    with pytest.raises(CertsUnavailableError):
        certs_fetcher(url, timeout=0.2)()
