"""HttpConferenceProvider against the in-process conferencing emulator.

Every test injects a ``sleep`` that only records the requested durations, so nothing here really
waits except the timeout test (a fraction of a second).
"""

from __future__ import annotations

import io
import logging
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast
from urllib.parse import quote

import pytest
import requests
import urllib3
from urllib3.util import parse_url

from conferencing_emulator.server import ConferencingServer
from confsync import signing
from confsync.adapters.conferencing import (
    USER_AGENT,
    HttpConferenceProvider,
    _Request,
    idempotency_key,
)
from confsync.errors import (
    ProviderAuthError,
    ProviderGoneError,
    ProviderRejectedError,
    ProviderStaleRevisionError,
    ProviderUnavailableError,
)
from confsync.planner import DeleteConference
from confsync.ports import ConferenceProvider, ProviderAnswer
from tests.support.conferences import MOVED_OCCURRENCE_START, OWNER, update

CREDENTIAL = "adapter-test-credential"
SECRET = b"adapter-test-signing-secret"
ADMIN_TIMEOUT = 5.0


# --- helpers ---------------------------------------------------------------------------------


class Admin:
    """The emulator's admin API (no authentication)."""

    def __init__(self, base_url: str) -> None:
        self.base = base_url + "/emulator/v1"

    def call(self, method: str, path: str, body: Any = None) -> Any:
        response = requests.request(method, self.base + path, json=body, timeout=ADMIN_TIMEOUT)
        assert response.ok, response.text
        return response.json()

    def reset(self) -> None:
        self.call("POST", "/reset")

    def seed(self, **fields: Any) -> dict[str, Any]:
        return dict(self.call("POST", "/conferences", {"title": "Seeded", **fields}))

    def conference(self, conference_id: str) -> dict[str, Any]:
        found = self.call("GET", "/conferences")["conferences"]
        return dict(next(c for c in found if c["id"] == conference_id))

    def log(self) -> list[dict[str, Any]]:
        return list(self.call("GET", "/requests")["requests"])

    def faults(self, *rules: dict[str, Any]) -> None:
        self.call("POST", "/faults", list(rules))


class Sleeps(list[float]):
    """A fake ``sleep``: records durations instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def delete(conference_id: str, revision: int) -> DeleteConference:
    return DeleteConference(
        record_key=f"rec-{conference_id}", conference_id=conference_id, revision=revision
    )


def make_provider(base_url: str, sleeps: Sleeps, **overrides: Any) -> HttpConferenceProvider:
    options: dict[str, Any] = {
        "credential": None,
        "signing_secrets": (),
        "timeout": 2.0,
        "sleep": sleeps,
        "join_url_hosts": ("conference.example",),
    }
    options.update(overrides)
    return HttpConferenceProvider(base_url, **options)


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module", name="open_server")
def fixture_open_server() -> Iterator[ConferencingServer]:
    with ConferencingServer(host="127.0.0.1", port=0) as server:
        yield server


@pytest.fixture(scope="module", name="secured_server")
def fixture_secured_server() -> Iterator[ConferencingServer]:
    with ConferencingServer(
        host="127.0.0.1", port=0, credential=CREDENTIAL, signing_secret=SECRET
    ) as server:
        yield server


@pytest.fixture(name="admin")
def fixture_admin(open_server: ConferencingServer) -> Admin:
    admin = Admin(open_server.base_url)
    admin.reset()
    return admin


@pytest.fixture(name="secured_admin")
def fixture_secured_admin(secured_server: ConferencingServer) -> Admin:
    admin = Admin(secured_server.base_url)
    admin.reset()
    return admin


@pytest.fixture(name="sleeps")
def fixture_sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture(name="provider")
def fixture_provider(
    open_server: ConferencingServer, admin: Admin, sleeps: Sleeps
) -> Iterator[HttpConferenceProvider]:
    provider = make_provider(open_server.base_url, sleeps)
    yield provider
    provider.close()


# --- the revision contract -------------------------------------------------------------------


def test_is_a_conference_provider(provider: HttpConferenceProvider) -> None:
    port: ConferenceProvider = provider
    assert port is provider
    assert "secret" not in repr(provider).lower()


def test_update_applies_and_returns_join_url_and_revision(
    provider: HttpConferenceProvider, admin: Admin
) -> None:
    created = admin.seed()
    answer = provider.update(update(created["id"], 1, changed_fields=("title", "start")))
    assert answer == ProviderAnswer(join_url=created["joinUrl"], revision=1)
    stored = admin.conference(created["id"])
    assert stored["title"] == "Weekly sync"
    assert stored["attendees"] == ["ada@example.com", "grace@example.com"]
    assert stored["modifiedOccurrences"][0]["start"] == MOVED_OCCURRENCE_START
    [entry] = admin.log()
    assert entry["method"] == "PUT"
    assert entry["outcome"] == "applied"
    assert entry["revision"] == 1
    assert entry["changedFields"] == ["title", "start"]
    assert entry["idempotencyKey"] == idempotency_key("PUT", created["id"], 1)


def test_request_shape(open_server: ConferencingServer, admin: Admin) -> None:
    """Compact UTF-8 JSON, the User-Agent and a JSON content type, seen on the wire."""
    created = admin.seed()
    seen: dict[str, Any] = {}
    real = urllib3.PoolManager()

    class SpyPool:
        def request(self, method: str, url: str, **kwargs: Any) -> urllib3.BaseHTTPResponse:
            seen.update(method=method, url=url, **kwargs)
            return real.request(method, url, **kwargs)

    spied = make_provider(open_server.base_url, Sleeps(), pool=cast(Any, SpyPool()))
    spied.update(update(created["id"], 1, title="Café ☕"))
    assert seen["method"] == "PUT"
    assert seen["url"].endswith(f"/v1/conferences/{created['id']}")
    body: bytes = seen["body"]
    assert b'"title":"Caf\xc3\xa9 \xe2\x98\x95"' in body
    assert b", " not in body
    assert b": " not in body
    assert seen["headers"]["User-Agent"] == USER_AGENT
    assert seen["headers"]["Content-Type"].startswith("application/json")
    assert "Authorization" not in seen["headers"]
    assert "X-Confsync-Signature" not in seen["headers"]
    assert admin.conference(created["id"])["title"] == "Café ☕"


def test_missing_title_is_sent_as_empty_string(
    provider: HttpConferenceProvider, admin: Admin
) -> None:
    created = admin.seed()
    assert provider.update(update(created["id"], 1, title=None)).revision == 1
    assert admin.conference(created["id"])["title"] == ""


def test_same_operation_twice_is_a_repeat(provider: HttpConferenceProvider, admin: Admin) -> None:
    created = admin.seed()
    op = update(created["id"], 3)
    first = provider.update(op)
    second = provider.update(op)
    assert first == second == ProviderAnswer(join_url=created["joinUrl"], revision=3)
    assert [e["outcome"] for e in admin.log()] == ["applied", "repeat"]
    assert admin.log()[1]["idempotentReplay"] is True


def test_equal_revision_with_another_body_is_a_repeat(
    provider: HttpConferenceProvider, admin: Admin
) -> None:
    created = admin.seed()
    provider.update(update(created["id"], 2))
    answer = provider.update(update(created["id"], 2, title="Changed"))
    assert answer.revision == 2
    assert admin.conference(created["id"])["title"] == "Weekly sync"


def test_lower_revision_is_stale(provider: HttpConferenceProvider, admin: Admin) -> None:
    created = admin.seed()
    provider.update(update(created["id"], 5))
    with pytest.raises(ProviderStaleRevisionError, match="409"):
        provider.update(update(created["id"], 4))
    with pytest.raises(ProviderStaleRevisionError):
        provider.delete(delete(created["id"], 4))
    assert admin.conference(created["id"])["status"] == "active"


def test_delete_lifecycle(provider: HttpConferenceProvider, admin: Admin) -> None:
    created = admin.seed()
    provider.update(update(created["id"], 1))
    provider.delete(delete(created["id"], 2))
    assert admin.conference(created["id"])["status"] == "deleted"
    # A redelivery of the same deletion is recognised (same Idempotency-Key): no error.
    provider.delete(delete(created["id"], 2))
    # A later deletion finds it already deleted: 404, gone.
    with pytest.raises(ProviderGoneError, match="404"):
        provider.delete(delete(created["id"], 3))
    # A PUT after the deletion: 410, gone.
    with pytest.raises(ProviderGoneError, match="410"):
        provider.update(update(created["id"], 4))
    outcomes = [(e["method"], e["outcome"]) for e in admin.log()]
    assert outcomes == [
        ("PUT", "applied"),
        ("DELETE", "applied"),
        ("DELETE", "repeat"),
        ("DELETE", "deleted"),
        ("PUT", "deleted"),
    ]
    assert admin.log()[1]["idempotencyKey"] == idempotency_key("DELETE", created["id"], 2)


def test_unknown_id_is_gone(provider: HttpConferenceProvider, admin: Admin) -> None:
    with pytest.raises(ProviderGoneError):
        provider.update(update("conf_0000000000000000", 1))
    with pytest.raises(ProviderGoneError):
        provider.delete(delete("conf_0000000000000000", 1))
    with pytest.raises(ProviderGoneError):
        provider.owner_of("conf_0000000000000000")


@pytest.mark.parametrize(
    "conference_id",
    ["", "a/b", "..", "../v1/conferences", "a%2Fb", "a?revision=1", "a#b", "x" * 129, "a\n", "é"],
)
def test_an_id_outside_the_accepted_form_is_refused_before_any_request(
    conference_id: str, sleeps: Sleeps
) -> None:
    """Defence in depth: whatever the decoder let through, such an id never reaches a URL."""
    pool = StubPool(200, b"{}")
    provider = stub_provider(pool, sleeps)
    with pytest.raises(ProviderRejectedError, match="nothing sent"):
        provider.update(update(conference_id, 1))
    with pytest.raises(ProviderRejectedError, match="nothing sent"):
        provider.delete(delete(conference_id, 1))
    with pytest.raises(ProviderRejectedError, match="nothing sent"):
        provider.owner_of(conference_id)
    assert pool.calls == 0
    assert sleeps == []


def test_a_huge_refused_id_is_cut_in_the_message(sleeps: Sleeps) -> None:
    with pytest.raises(ProviderRejectedError) as caught:
        stub_provider(StubPool(200, b"{}"), sleeps).owner_of("/" * 10_000)
    assert len(str(caught.value)) < 300


def test_invalid_body_is_rejected_without_retry(
    provider: HttpConferenceProvider, admin: Admin, sleeps: Sleeps
) -> None:
    created = admin.seed()
    with pytest.raises(ProviderRejectedError, match="invalid_request, start"):
        provider.update(update(created["id"], 1, start="next tuesday"))
    assert [e["outcome"] for e in admin.log()] == ["rejected"]
    assert sleeps == []


def test_error_messages_redact_email_addresses(
    provider: HttpConferenceProvider, admin: Admin
) -> None:
    created = admin.seed()
    with pytest.raises(ProviderRejectedError) as caught:
        provider.update(update(created["id"], 1, attendees=("ada@example.com ",)))
    assert "attendees[0]" in str(caught.value)
    assert "ada@example.com" not in str(caught.value)
    assert "<email>" in str(caught.value)


# --- retries ---------------------------------------------------------------------------------


def test_503_is_retried_with_backoff_and_the_same_idempotency_key(
    provider: HttpConferenceProvider, admin: Admin, sleeps: Sleeps
) -> None:
    created = admin.seed()
    admin.faults({"method": "PUT", "conferenceId": created["id"], "status": 503, "count": 2})
    assert provider.update(update(created["id"], 1)).revision == 1
    log = admin.log()
    assert [e["outcome"] for e in log] == ["fault", "fault", "applied"]
    assert {e["idempotencyKey"] for e in log} == {idempotency_key("PUT", created["id"], 1)}
    # Full jitter: attempt n waits uniform(0, min(max_delay, base_delay * 2 ** (n - 1))).
    assert len(sleeps) == 2
    assert 0 <= sleeps[0] <= 0.2
    assert 0 <= sleeps[1] <= 0.4


def test_backoff_is_capped_by_max_delay(open_server: ConferencingServer, admin: Admin) -> None:
    created = admin.seed()
    admin.faults({"method": "PUT", "status": 500, "count": 4})
    sleeps = Sleeps()
    provider = make_provider(
        open_server.base_url, sleeps, max_attempts=5, base_delay=10.0, max_delay=0.5
    )
    assert provider.update(update(created["id"], 1)).revision == 1
    assert len(sleeps) == 4
    assert all(0 <= s <= 0.5 for s in sleeps)


def test_retry_after_is_honoured(
    provider: HttpConferenceProvider, admin: Admin, sleeps: Sleeps
) -> None:
    created = admin.seed()
    admin.faults(
        {"method": "PUT", "conferenceId": created["id"], "status": 503, "retryAfter": 1, "count": 1}
    )
    assert provider.update(update(created["id"], 1)).revision == 1
    assert sleeps == [1.0]


def test_retry_after_beyond_max_delay_stops_at_once(
    provider: HttpConferenceProvider, admin: Admin, sleeps: Sleeps
) -> None:
    created = admin.seed()
    admin.faults({"method": "PUT", "status": 429, "retryAfter": 30, "count": 1})
    started = time.monotonic()
    with pytest.raises(ProviderUnavailableError) as caught:
        provider.update(update(created["id"], 1))
    assert caught.value.retry_after == 30
    assert sleeps == []
    assert time.monotonic() - started < 1
    assert [e["outcome"] for e in admin.log()] == ["fault"]


def test_5xx_until_attempts_run_out(
    provider: HttpConferenceProvider, admin: Admin, sleeps: Sleeps
) -> None:
    created = admin.seed()
    admin.faults({"method": "DELETE", "status": 502})
    with pytest.raises(ProviderUnavailableError, match="gave up after 3 attempts") as caught:
        provider.delete(delete(created["id"], 1))
    assert caught.value.retry_after is None
    assert len(sleeps) == 2
    assert [e["outcome"] for e in admin.log()] == ["fault"] * 3
    assert admin.conference(created["id"])["status"] == "active"


def test_exhausted_retries_keep_the_last_retry_after(
    provider: HttpConferenceProvider, admin: Admin, sleeps: Sleeps
) -> None:
    created = admin.seed()
    admin.faults({"method": "PUT", "status": 503, "retryAfter": 2})
    with pytest.raises(ProviderUnavailableError) as caught:
        provider.update(update(created["id"], 1))
    assert caught.value.retry_after == 2
    assert sleeps == [2.0, 2.0]


def test_timeouts_are_retried_then_unavailable(sleeps: Sleeps) -> None:
    # A server of its own: the slow requests it still holds end with it, not in another test.
    with ConferencingServer(host="127.0.0.1", port=0) as server:
        admin = Admin(server.base_url)
        created = admin.seed()
        admin.faults({"method": "PUT", "delayMs": 3000, "status": 503})
        provider = make_provider(server.base_url, sleeps, timeout=0.15)
        started = time.monotonic()
        with pytest.raises(ProviderUnavailableError, match="Timeout") as caught:
            provider.update(update(created["id"], 1))
        elapsed = time.monotonic() - started
        provider.close()
    assert caught.value.retry_after is None
    assert len(sleeps) == 2
    assert elapsed < 2


def test_connection_refused_is_unavailable(sleeps: Sleeps) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    provider = make_provider(f"http://127.0.0.1:{port}", sleeps)
    with pytest.raises(ProviderUnavailableError, match="gave up after 3 attempts"):
        provider.update(update("conf_0000000000000000", 1))
    assert len(sleeps) == 2


# --- authentication and signatures -----------------------------------------------------------


def test_credential_and_signature_verify(
    secured_server: ConferencingServer, secured_admin: Admin, sleeps: Sleeps
) -> None:
    created = secured_admin.seed()
    provider = make_provider(
        secured_server.base_url, sleeps, credential=CREDENTIAL, signing_secrets=(SECRET,)
    )
    assert provider.update(update(created["id"], 1)).revision == 1
    provider.delete(delete(created["id"], 2))  # signs the empty body
    assert [e["outcome"] for e in secured_admin.log()] == ["applied", "applied"]


class RecordingPool:
    """Passes requests on to a real pool and records what each one was sent with."""

    def __init__(self) -> None:
        self.real = urllib3.PoolManager()
        self.sent: list[dict[str, Any]] = []

    def request(self, method: str, url: str, **kwargs: Any) -> urllib3.BaseHTTPResponse:
        self.sent.append({"method": method, "url": url, **kwargs})
        return self.real.request(method, url, **kwargs)


def secured_provider(
    server: ConferencingServer, sleeps: Sleeps, pool: RecordingPool | None = None
) -> HttpConferenceProvider:
    return make_provider(
        server.base_url,
        sleeps,
        credential=CREDENTIAL,
        signing_secrets=(SECRET,),
        pool=cast(Any, pool) if pool is not None else None,
    )


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "POST"])
def test_signed_requests_of_every_method_are_accepted(
    secured_server: ConferencingServer, secured_admin: Admin, sleeps: Sleeps, method: str
) -> None:
    """The adapter's request plumbing (target, signature, send) against the verifying emulator.

    The port only issues PUT and DELETE; GET and POST go through the same private plumbing so
    every method of the contract is signed the way the adapter signs.
    """
    created = secured_admin.seed()
    provider = secured_provider(secured_server, sleeps)
    if method == "PUT":
        assert provider.update(update(created["id"], 1)).revision == 1
    elif method == "DELETE":
        provider.delete(delete(created["id"], 1))  # DELETE ...?revision=1, empty body
    else:
        if method == "POST":
            url = secured_server.base_url + "/v1/conferences"
            request = _Request(
                method="POST",
                url=url,
                target=parse_url(url).request_uri,
                conference_id="",
                revision=0,
                body=b'{"title":"Posted"}',
                key="confsync-test-post",
            )
        else:
            request = provider._request("GET", created["id"], 0, b"", query="")
        assert signing.SIGNATURE_HEADER in provider._headers(request)
        answer = provider._attempt(request, 1)
        assert answer.status == (201 if method == "POST" else 200), answer.body
    assert [e["status"] for e in secured_admin.log()] == (
        [] if method in ("GET", "POST") else [200]
    )


def test_signature_covers_what_goes_on_the_wire(
    secured_server: ConferencingServer, secured_admin: Admin, sleeps: Sleeps
) -> None:
    created = secured_admin.seed()
    pool = RecordingPool()
    provider = secured_provider(secured_server, sleeps, pool)
    provider.update(update(created["id"], 1))
    provider.delete(delete(created["id"], 2))
    assert [(s["method"], parse_url(s["url"]).request_uri) for s in pool.sent] == [
        ("PUT", f"/v1/conferences/{created['id']}"),
        ("DELETE", f"/v1/conferences/{created['id']}?revision=2"),
    ]
    for sent in pool.sent:
        headers = sent["headers"]
        assert signing.verify(
            SECRET,
            headers[signing.TIMESTAMP_HEADER],
            headers[signing.SIGNATURE_HEADER],
            sent["body"] or b"",
            method=sent["method"],
            target=parse_url(sent["url"]).request_uri,
            host=parse_url(secured_server.base_url).netloc,
            idempotency_key=headers["Idempotency-Key"],
        )
        assert headers["Host"] == parse_url(secured_server.base_url).netloc


@pytest.mark.parametrize("conference_id", ["café x", "a?revision=1", "a#b", "a%2Fb", "a%b"])
def test_percent_encoded_target_passes_the_signature(
    secured_server: ConferencingServer, secured_admin: Admin, sleeps: Sleeps, conference_id: str
) -> None:
    """The plumbing signs a target that needs percent-encoding as encoded: the emulator answers
    404, not 401. (The port refuses such ids before sending; the request is built by hand.)"""
    provider = secured_provider(secured_server, sleeps)
    url = secured_server.base_url + "/v1/conferences/" + quote(conference_id, safe="")
    for method, query in (("PUT", ""), ("DELETE", "?revision=1")):
        body = b'{"title":"x","start":"2030-03-04","end":"2030-03-04","revision":1}'
        request = _Request(
            method=method,
            url=url + query,
            target=parse_url(url + query).request_uri,
            conference_id=conference_id,
            revision=1,
            body=body if method == "PUT" else b"",
            key=idempotency_key(method, conference_id, 1),
        )
        assert provider._attempt(request, 1).status == 404
    assert [(e["status"], e["conferenceId"]) for e in secured_admin.log()] == [
        (404, conference_id),
        (404, conference_id),
    ]


@pytest.mark.parametrize(
    ("replay_method", "replay_target"),
    [
        pytest.param("DELETE", "/v1/conferences/{a}?revision=6", id="other-revision"),
        pytest.param("DELETE", "/v1/conferences/{b}?revision=5", id="other-conference"),
        pytest.param("PUT", "/v1/conferences/{a}?revision=5", id="other-method"),
    ],
)
def test_captured_adapter_delete_cannot_be_replayed(
    secured_server: ConferencingServer,
    secured_admin: Admin,
    sleeps: Sleeps,
    replay_method: str,
    replay_target: str,
) -> None:
    first = secured_admin.seed()
    second = secured_admin.seed()
    # Capture the adapter's signed DELETE ?revision=5 without letting it reach the emulator.
    captured: list[dict[str, Any]] = []

    class CapturingPool:
        def request(self, method: str, url: str, **kwargs: Any) -> urllib3.HTTPResponse:
            captured.append(kwargs["headers"])
            return urllib3.HTTPResponse(body=b"{}", status=200)

    make_provider(
        secured_server.base_url,
        sleeps,
        credential=CREDENTIAL,
        signing_secrets=(SECRET,),
        pool=cast(Any, CapturingPool()),
    ).delete(delete(first["id"], 5))
    [headers] = captured
    target = replay_target.format(a=first["id"], b=second["id"])
    with urllib3.PoolManager() as pool:
        response = pool.request(
            replay_method, secured_server.base_url + target, headers=headers, retries=False
        )
    assert response.status == 401
    assert response.json()["error"]["code"] == "bad_signature"
    assert secured_admin.conference(first["id"])["status"] == "active"
    assert secured_admin.conference(second["id"])["status"] == "active"
    # The captured request itself is valid: sent unaltered, it deletes at revision 5.
    with urllib3.PoolManager() as pool:
        response = pool.request(
            "DELETE",
            f"{secured_server.base_url}/v1/conferences/{first['id']}?revision=5",
            headers=headers,
            retries=False,
        )
    assert response.status == 200
    assert secured_admin.conference(first["id"])["revision"] == 5


def capture_signed_delete(server: ConferencingServer, conference_id: str) -> dict[str, str]:
    """The headers of the adapter's signed ``DELETE ?revision=5``, captured, never sent."""
    captured: list[dict[str, str]] = []

    class CapturingPool:
        def request(self, method: str, url: str, **kwargs: Any) -> urllib3.HTTPResponse:
            captured.append(dict(kwargs["headers"]))
            return urllib3.HTTPResponse(body=b"{}", status=200)

    make_provider(
        server.base_url,
        Sleeps(),
        credential=CREDENTIAL,
        signing_secrets=(SECRET,),
        pool=cast(Any, CapturingPool()),
    ).delete(delete(conference_id, 5))
    [headers] = captured
    return headers


@pytest.mark.parametrize(
    ("header", "value"),
    [
        pytest.param("Host", "conferencing.other.example", id="other-host"),
        pytest.param("Host", "LOCALHOST:{port}", id="other-host-same-server"),
        pytest.param("Idempotency-Key", "confsync-a-fresh-key", id="fresh-idempotency-key"),
        pytest.param("Idempotency-Key", None, id="idempotency-key-dropped"),
    ],
)
def test_captured_adapter_delete_with_another_host_or_key_is_refused(
    secured_server: ConferencingServer,
    secured_admin: Admin,
    header: str,
    value: str | None,
) -> None:
    """Signature v2 covers Host and Idempotency-Key: a captured request cannot be aimed at
    another system behind the same secret, nor made to apply again under a fresh key."""
    first = secured_admin.seed()
    headers = capture_signed_delete(secured_server, first["id"])
    assert headers["Host"] == parse_url(secured_server.base_url).netloc
    assert headers[signing.SIGNATURE_HEADER].startswith("v2=")
    altered = dict(headers)
    if value is None:
        del altered[header]
    else:
        altered[header] = value.format(port=parse_url(secured_server.base_url).port)
    url = f"{secured_server.base_url}/v1/conferences/{first['id']}?revision=5"
    with urllib3.PoolManager() as pool:
        response = pool.request("DELETE", url, headers=altered, retries=False)
        assert response.status == 401
        assert response.json()["error"]["code"] == "bad_signature"
        assert secured_admin.conference(first["id"])["status"] == "active"
        # Unaltered, the captured request is valid, and a replay of it is only a repeat.
        assert pool.request("DELETE", url, headers=headers, retries=False).status == 200
        assert pool.request("DELETE", url, headers=headers, retries=False).status == 200
    assert [e["idempotentReplay"] for e in secured_admin.log() if e["status"] == 200] == [
        False,
        True,
    ]


@pytest.mark.parametrize(
    ("server_secrets", "accepted"),
    [
        pytest.param((SECRET,), True, id="system-still-on-the-old-secret"),
        pytest.param((b"new-secret",), True, id="system-switched-to-the-new-secret"),
        pytest.param((b"new-secret", SECRET), True, id="system-accepts-both"),
        pytest.param((b"unrelated-secret",), False, id="system-on-another-secret"),
    ],
)
def test_during_a_rotation_every_request_is_signed_with_each_secret(
    sleeps: Sleeps, server_secrets: tuple[bytes, ...], accepted: bool
) -> None:
    """``CONFERENCING_SIGNING_SECRET=NEW,OLD``: whichever secret the system holds at the
    moment, the adapter's requests verify, so neither side has to switch first in lockstep."""
    with ConferencingServer(
        host="127.0.0.1", port=0, credential=CREDENTIAL, signing_secret=server_secrets
    ) as server:
        admin = Admin(server.base_url)
        created = admin.seed(owner=OWNER)
        provider = make_provider(
            server.base_url, sleeps, credential=CREDENTIAL, signing_secrets=(b"new-secret", SECRET)
        )
        if accepted:
            assert provider.owner_of(created["id"]) == OWNER
            assert provider.update(update(created["id"], 1)).revision == 1
            provider.delete(delete(created["id"], 2))
            assert [e["status"] for e in admin.log()] == [200, 200]
        else:
            with pytest.raises(ProviderAuthError, match="401"):
                provider.update(update(created["id"], 1))
        provider.close()


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"credential": "wrong-credential"}, id="wrong-credential"),
        pytest.param({"credential": None}, id="no-credential"),
        pytest.param({"signing_secrets": (b"wrong-secret",)}, id="wrong-secret"),
        pytest.param({"signing_secrets": ()}, id="unsigned"),
        pytest.param({"clock": lambda: time.time() + 3600}, id="skewed-clock"),
    ],
)
def test_refused_authentication_is_an_auth_error_to_retry_later_not_a_rejection(
    secured_server: ConferencingServer,
    secured_admin: Admin,
    sleeps: Sleeps,
    overrides: dict[str, Any],
) -> None:
    """A 401 (rotation half done, clock skew) is no verdict on the operation: ProviderAuthError,
    an unavailability the sync keeps pending; never ProviderRejectedError, which fails it."""
    created = secured_admin.seed()
    options: dict[str, Any] = {"credential": CREDENTIAL, "signing_secrets": (SECRET,)}
    options.update(overrides)
    provider = make_provider(secured_server.base_url, sleeps, **options)
    with pytest.raises(ProviderAuthError, match="401") as caught:
        provider.update(update(created["id"], 1))
    assert isinstance(caught.value, ProviderUnavailableError)
    assert not isinstance(caught.value, ProviderRejectedError)
    assert sleeps == []  # not retried here: the sync's pending backoff retries it
    assert [e["status"] for e in secured_admin.log()] == [401]


def test_logs_one_line_per_attempt_without_secrets(
    secured_server: ConferencingServer,
    secured_admin: Admin,
    sleeps: Sleeps,
    caplog: pytest.LogCaptureFixture,
) -> None:
    created = secured_admin.seed()
    secured_admin.faults({"method": "PUT", "status": 503, "count": 1})
    provider = make_provider(
        secured_server.base_url, sleeps, credential=CREDENTIAL, signing_secrets=(SECRET,)
    )
    with caplog.at_level(logging.DEBUG, logger="confsync.adapters.conferencing"):
        provider.update(update(created["id"], 1))
    lines = [r.getMessage() for r in caplog.records if r.name == "confsync.adapters.conferencing"]
    assert len(lines) == 2
    assert "status=503" in lines[0]
    assert "status=200" in lines[1]
    assert all(f"PUT {created['id']} revision=1" in line for line in lines)
    text = caplog.text
    for forbidden in (CREDENTIAL, SECRET.decode(), "v2=", "@example.com", "Bearer"):
        assert forbidden not in text


# --- owners (GET) ----------------------------------------------------------------------------


def test_owner_of_reads_the_owner_with_one_signed_get_and_no_idempotency_key(
    secured_server: ConferencingServer, secured_admin: Admin, sleeps: Sleeps
) -> None:
    created = secured_admin.seed(owner=OWNER)
    pool = RecordingPool()
    provider = secured_provider(secured_server, sleeps, pool)

    assert provider.owner_of(created["id"]) == OWNER

    [sent] = pool.sent
    assert sent["method"] == "GET"
    assert sent["url"] == f"{secured_server.base_url}/v1/conferences/{created['id']}"
    assert sent["body"] is None
    headers = sent["headers"]
    assert headers["Authorization"] == f"Bearer {CREDENTIAL}"
    assert headers["Accept"] == "application/json"
    assert headers["User-Agent"] == USER_AGENT
    assert "Idempotency-Key" not in headers
    assert "Content-Type" not in headers
    assert signing.verify(
        SECRET,
        headers[signing.TIMESTAMP_HEADER],
        headers[signing.SIGNATURE_HEADER],
        b"",
        method="GET",
        target=f"/v1/conferences/{created['id']}",
        host=parse_url(secured_server.base_url).netloc,
        idempotency_key=None,  # a GET carries none: the empty key is signed
    )
    assert secured_admin.log() == []  # a read: nothing in the PUT/DELETE log


def test_owner_of_an_ownerless_conference_is_none(
    provider: HttpConferenceProvider, admin: Admin
) -> None:
    assert provider.owner_of(admin.seed()["id"]) is None


def test_owner_of_a_deleted_conference_is_gone(
    provider: HttpConferenceProvider, admin: Admin
) -> None:
    created = admin.seed(owner=OWNER)
    provider.delete(delete(created["id"], 1))
    with pytest.raises(ProviderGoneError, match="deleted"):
        provider.owner_of(created["id"])


def test_owner_of_retries_a_503_then_answers(
    provider: HttpConferenceProvider, admin: Admin, sleeps: Sleeps
) -> None:
    created = admin.seed(owner=OWNER)
    admin.faults({"method": "GET", "status": 503, "retryAfter": 1, "count": 1})

    assert provider.owner_of(created["id"]) == OWNER
    assert sleeps == [1.0]


def test_owner_of_in_an_outage_is_unavailable_after_the_attempts(
    open_server: ConferencingServer, admin: Admin, sleeps: Sleeps
) -> None:
    created = admin.seed(owner=OWNER)
    admin.faults({"method": "GET", "status": 500})
    provider = make_provider(open_server.base_url, sleeps, max_attempts=3)

    with pytest.raises(ProviderUnavailableError, match="gave up after 3 attempts"):
        provider.owner_of(created["id"])
    assert len(sleeps) == 2


def test_owner_of_refused_authentication_is_an_auth_error_without_retry(
    secured_server: ConferencingServer, secured_admin: Admin, sleeps: Sleeps
) -> None:
    created = secured_admin.seed(owner=OWNER)
    provider = make_provider(
        secured_server.base_url, sleeps, credential=CREDENTIAL, signing_secrets=(b"wrong-secret",)
    )
    with pytest.raises(ProviderAuthError, match="401"):
        provider.owner_of(created["id"])
    assert sleeps == []


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"[]",
        b'{"id": "conf_1", "status": "active"}',
        b'{"owner": 7}',
        b'{"owner": ""}',
        b'{"owner": ["ada@example.com"]}',
    ],
)
def test_2xx_on_get_without_a_usable_owner_is_a_contract_violation(
    body: bytes, sleeps: Sleeps
) -> None:
    pool = StubPool(200, body)
    with pytest.raises(ProviderRejectedError, match="contract violation"):
        stub_provider(pool, sleeps).owner_of("conf_1")
    assert pool.calls == 1


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (404, ProviderGoneError),
        (410, ProviderGoneError),
        (409, ProviderRejectedError),  # no revision on a read: 409 is no staleness
        (400, ProviderRejectedError),
        (401, ProviderAuthError),
        (403, ProviderAuthError),
    ],
)
def test_get_statuses_translate_like_the_other_operations(
    status: int, error: type[Exception], sleeps: Sleeps
) -> None:
    pool = StubPool(status, b'{"error": {"code": "x", "message": "owner is ada@example.com"}}')
    with pytest.raises(error, match=f"GET conf_1: HTTP {status}") as caught:
        stub_provider(pool, sleeps).owner_of("conf_1")
    assert "ada@example.com" not in str(caught.value)
    assert pool.calls == 1
    assert sleeps == []


# --- thread safety ---------------------------------------------------------------------------


def test_one_provider_serves_many_threads(provider: HttpConferenceProvider, admin: Admin) -> None:
    ids = [admin.seed()["id"] for _ in range(12)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda cid: provider.update(update(cid, 1)), ids))
    assert [a.revision for a in answers] == [1] * 12
    assert sorted(e["conferenceId"] for e in admin.log()) == sorted(ids)


# --- answers the emulator never gives (a stub pool) ------------------------------------------


class StubPool:
    """Answers every request with one canned response."""

    def __init__(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.status = status
        self.body = body
        self.headers = headers or {}
        self.calls = 0

    def request(self, method: str, url: str, **kwargs: Any) -> urllib3.HTTPResponse:
        self.calls += 1
        return urllib3.HTTPResponse(
            body=io.BytesIO(self.body),
            status=self.status,
            headers=self.headers,
            preload_content=kwargs.get("preload_content", True),
        )


def stub_provider(pool: StubPool, sleeps: Sleeps, **overrides: Any) -> HttpConferenceProvider:
    return make_provider("http://conferencing.invalid", sleeps, pool=cast(Any, pool), **overrides)


@pytest.mark.parametrize(
    "body",
    [b"", b"not json", b"[]", b'{"revision": 1}', b'{"joinUrl": "https://j", "revision": true}'],
)
def test_2xx_without_join_url_and_revision_is_a_contract_violation(
    body: bytes, sleeps: Sleeps
) -> None:
    pool = StubPool(200, body)
    with pytest.raises(ProviderRejectedError, match="contract violation"):
        stub_provider(pool, sleeps).update(update("conf_1", 1))
    assert pool.calls == 1


def test_2xx_on_delete_needs_no_body(sleeps: Sleeps) -> None:
    stub_provider(StubPool(204, b""), sleeps).delete(delete("conf_1", 1))


@pytest.mark.parametrize("status", [401, 403])
def test_401_and_403_are_auth_errors_not_retried_here(status: int, sleeps: Sleeps) -> None:
    pool = StubPool(status, b'{"error": {"code": "forbidden", "message": "nope"}}')
    provider = stub_provider(pool, sleeps)
    with pytest.raises(ProviderAuthError, match=f"PUT conf_1 revision 1: HTTP {status}"):
        provider.update(update("conf_1", 1))
    with pytest.raises(ProviderAuthError, match=f"DELETE conf_1 revision 2: HTTP {status}"):
        provider.delete(delete("conf_1", 2))
    assert pool.calls == 2
    assert sleeps == []


@pytest.mark.parametrize("status", [301, 400, 405, 413, 422])
def test_other_statuses_are_rejected(status: int, sleeps: Sleeps) -> None:
    pool = StubPool(status, b'{"error": {"code": "x", "message": "nope"}}')
    with pytest.raises(ProviderRejectedError, match=f"HTTP {status} \\(x: nope\\)"):
        stub_provider(pool, sleeps).update(update("conf_1", 1))
    assert pool.calls == 1
    assert sleeps == []


def test_410_on_delete_is_gone(sleeps: Sleeps) -> None:
    with pytest.raises(ProviderGoneError):
        stub_provider(StubPool(410, b""), sleeps).delete(delete("conf_1", 1))


def test_retry_after_as_http_date(sleeps: Sleeps) -> None:
    now = 1_800_000_000.0
    pool = StubPool(503, b"", {"Retry-After": "Fri, 15 Jan 2027 08:00:02 GMT"})
    provider = stub_provider(pool, sleeps, clock=lambda: now, max_attempts=2)
    with pytest.raises(ProviderUnavailableError) as caught:
        provider.update(update("conf_1", 1))
    assert sleeps == [2.0]
    assert caught.value.retry_after == 2.0


def test_unparseable_retry_after_falls_back_to_backoff(sleeps: Sleeps) -> None:
    pool = StubPool(429, b"", {"Retry-After": "soon"})
    with pytest.raises(ProviderUnavailableError) as caught:
        stub_provider(pool, sleeps).update(update("conf_1", 1))
    assert caught.value.retry_after is None
    assert len(sleeps) == 2
    assert pool.calls == 3


def test_idempotency_key_is_deterministic_and_distinct() -> None:
    key = idempotency_key("PUT", "conf_1", 1)
    assert key == idempotency_key("put", "conf_1", 1)
    assert len(key) <= 255
    assert (
        len(
            {
                key,
                idempotency_key("DELETE", "conf_1", 1),
                idempotency_key("PUT", "conf_1", 2),
                idempotency_key("PUT", "conf_2", 1),
            }
        )
        == 4
    )


@pytest.mark.parametrize(
    ("base_url", "overrides"),
    [
        ("conferencing.example", {}),
        ("ftp://conferencing.example", {}),
        ("http://conferencing.example?x=1", {}),
        ("http://conferencing.example", {"credential": "two\nlines"}),
        ("http://conferencing.example", {"credential": ""}),
        ("http://conferencing.example", {"signing_secrets": (b"",)}),
        ("http://conferencing.example", {"signing_secrets": (SECRET, b"")}),
        ("http://conferencing.example", {"max_attempts": 0}),
        ("http://conferencing.example", {"timeout": 0}),
    ],
)
def test_bad_configuration_fails_fast(base_url: str, overrides: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="must"):
        make_provider(base_url, Sleeps(), **overrides)
