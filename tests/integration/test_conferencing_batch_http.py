"""HttpConferenceProvider.owners_of against the in-process conferencing emulator: one signed
request for many owners on a verifying emulator, and the fallback to one GET each when the
emulator answers as a system of contract 2.0.0 (a fault rule on POST)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

import pytest
import requests
import urllib3

from conferencing_emulator.server import ConferencingServer
from confsync.adapters.conferencing import HttpConferenceProvider
from confsync.adapters.conferencing_batch import BATCH_PATH
from confsync.errors import ProviderAuthError, ProviderGoneError

CREDENTIAL = "batch-test-credential"
SECRETS = (b"batch-test-secret-new", b"batch-test-secret-old")
UNKNOWN = "conf_0000000000000000"
TIMEOUT = 5.0


class CountingPool:
    """A real pool that records the method and path of each request."""

    def __init__(self) -> None:
        self.real = urllib3.PoolManager()
        self.sent: list[str] = []

    def request(self, method: str, url: str, **kwargs: Any) -> urllib3.BaseHTTPResponse:
        self.sent.append(f"{method} {urllib3.util.parse_url(url).path}")
        return self.real.request(method, url, **kwargs)


@pytest.fixture(scope="module", name="server")
def fixture_server() -> Iterator[ConferencingServer]:
    with ConferencingServer(
        host="127.0.0.1", port=0, credential=CREDENTIAL, signing_secret=SECRETS[1]
    ) as server:
        yield server


def admin(server: ConferencingServer, method: str, path: str, body: Any = None) -> Any:
    response = requests.request(
        method, f"{server.base_url}/emulator/v1{path}", json=body, timeout=TIMEOUT
    )
    assert response.ok, response.text
    return response.json()


@pytest.fixture(name="seeded")
def fixture_seeded(server: ConferencingServer) -> dict[str, str | None]:
    admin(server, "POST", "/reset")
    owners = ["Ada@Example.com", None, "grace@example.com"]
    return {admin(server, "POST", "/conferences", {"owner": o})["id"]: o for o in owners}


def provider(
    server: ConferencingServer, pool: CountingPool, **overrides: Any
) -> HttpConferenceProvider:
    options: dict[str, Any] = {
        "credential": CREDENTIAL,
        "signing_secrets": SECRETS,  # a rotation: the emulator holds only the old secret
        "timeout": TIMEOUT,
        "max_attempts": 2,
        "sleep": lambda _: None,
        "pool": cast(Any, pool),
        "join_url_hosts": None,
    }
    options.update(overrides)
    return HttpConferenceProvider(server.base_url, **options)


def test_one_signed_request_reads_every_owner(
    server: ConferencingServer, seeded: dict[str, str | None]
) -> None:
    pool = CountingPool()

    found = provider(server, pool).owners_of([*seeded, UNKNOWN])

    assert pool.sent == [f"POST {BATCH_PATH}"]
    assert {k: v for k, v in found.items() if k != UNKNOWN} == seeded
    assert isinstance(found[UNKNOWN], ProviderGoneError)


def test_a_wrong_secret_is_every_ids_auth_error(
    server: ConferencingServer, seeded: dict[str, str | None]
) -> None:
    pool = CountingPool()

    found = provider(server, pool, signing_secrets=(b"not-the-secret",)).owners_of(list(seeded))

    assert pool.sent == [f"POST {BATCH_PATH}"]  # 401 is not retried here
    assert all(isinstance(outcome, ProviderAuthError) for outcome in found.values())


@pytest.mark.parametrize("status", [404, 405, 501])
def test_on_a_system_without_the_batch_read_each_owner_is_read_with_a_get(
    server: ConferencingServer, seeded: dict[str, str | None], status: int
) -> None:
    admin(server, "POST", "/faults", [{"method": "POST", "status": status}])
    pool = CountingPool()
    old = provider(server, pool)

    first = old.owners_of(list(seeded))
    again = old.owners_of(list(seeded)[:1])

    assert first == seeded
    assert list(again.values()) == [next(iter(seeded.values()))]
    assert pool.sent == [
        f"POST {BATCH_PATH}",
        *(f"GET /v1/conferences/{conference_id}" for conference_id in seeded),
        f"GET /v1/conferences/{next(iter(seeded))}",
    ]
