"""``POST /v1/enroll`` on the ``intake`` function through functions-framework: ID tokens minted
with the Google auth stand-in's key, verified against its certificates, enroll commands published
to the Pub/Sub emulator's ``channel-commands``. Notifications keep working on every other path."""

from __future__ import annotations

import base64
import io
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from flask import Flask
from werkzeug.test import EnvironBuilder, run_wsgi_app

from confsync.channel_tokens import ChannelTokenKeys, mint_channel_token
from confsync.messages import EnrollCommand, decode_channel_command, decode_sync_request
from devstack.gcloud_emulators import EmulatorEndpoints, free_port
from google_auth_emulator.jwts import SigningKey
from google_auth_emulator.server import GoogleAuthServer
from tests.support.google_auth import Admin
from tests.support.id_tokens import ADDON_AUDIENCE, mint
from tests.support.paths import REPO_ROOT

pytestmark = [pytest.mark.emulators, pytest.mark.timeout(90)]

SOURCE = REPO_ROOT / "functions" / "intake" / "main.py"
KEY_SPEC = "k1:enroll-test-secret-0123456789abcdef"
KEYS = ChannelTokenKeys.parse(KEY_SPEC, "k1")
ALICE = "alice@example.com"
FORGER = SigningKey.generate("forger")


class Topic:
    """A topic with one pull subscription, read through the emulator's REST API."""

    def __init__(self, endpoints: EmulatorEndpoints, topic: str) -> None:
        self._base = f"http://{endpoints.pubsub_host}/v1/projects/{endpoints.project}"
        self._subscription = f"{topic}-enroll-test"
        self._http = requests.Session()
        self._http.put(f"{self._base}/topics/{topic}", timeout=10).raise_for_status()
        self._http.put(
            f"{self._base}/subscriptions/{self._subscription}",
            json={"topic": f"projects/{endpoints.project}/topics/{topic}"},
            timeout=10,
        ).raise_for_status()

    def pull(self, wait_s: float, stop_after: int | None = None) -> list[dict[str, Any]]:
        """Every message that arrives within ``wait_s`` (acknowledged), or fewer once
        ``stop_after`` have arrived."""
        received: list[dict[str, Any]] = []
        deadline = time.monotonic() + wait_s
        url = f"{self._base}/subscriptions/{self._subscription}"
        while time.monotonic() < deadline:
            answer = self._http.post(
                f"{url}:pull", json={"maxMessages": 10, "returnImmediately": True}, timeout=10
            )
            answer.raise_for_status()
            messages = answer.json().get("receivedMessages", [])
            if messages:
                self._http.post(
                    f"{url}:acknowledge",
                    json={"ackIds": [m["ackId"] for m in messages]},
                    timeout=10,
                ).raise_for_status()
                received.extend(m["message"] for m in messages)
                if stop_after is not None and len(received) >= stop_after:
                    break
            time.sleep(0.05)
        return received


@pytest.fixture(scope="module", name="google")
def google_fixture() -> Iterator[GoogleAuthServer]:
    with GoogleAuthServer(host="127.0.0.1", port=0) as server:
        yield server


@pytest.fixture(name="admin")
def admin_fixture(google: GoogleAuthServer) -> Admin:
    admin = Admin(google.base_url)
    admin.post("reset", {})  # a new signing key, no calls counted
    return admin


@pytest.fixture(name="commands")
def commands_fixture(pubsub_emulator: EmulatorEndpoints) -> Topic:
    return Topic(pubsub_emulator, "channel-commands")


@pytest.fixture(name="sync_requests")
def sync_requests_fixture(pubsub_emulator: EmulatorEndpoints) -> Topic:
    return Topic(pubsub_emulator, "sync-requests")


def _create_app(
    monkeypatch: pytest.MonkeyPatch, certs_url: str, audiences: str = ADDON_AUDIENCE
) -> Flask:
    import functions_framework  # noqa: PLC0415 - imported once the environment is set

    monkeypatch.setenv("CONFSYNC_CHANNEL_TOKEN_KEYS", KEY_SPEC)
    monkeypatch.setenv("CONFSYNC_CHANNEL_TOKEN_ACTIVE_KEY", "k1")
    monkeypatch.setenv("CONFSYNC_ALLOWED_DOMAINS", "example.com")
    monkeypatch.setenv("CONFSYNC_ENROLL_AUDIENCES", audiences)
    monkeypatch.setenv("GOOGLE_ID_TOKEN_CERTS_URL", certs_url)
    monkeypatch.setenv("LOG_LEVEL", "DEBUG")
    app: Flask = functions_framework.create_app(
        target="intake", source=str(SOURCE), signature_type="http"
    )
    return app


@pytest.fixture(name="app")
def app_fixture(
    google: GoogleAuthServer, admin: Admin, commands: Topic, monkeypatch: pytest.MonkeyPatch
) -> Flask:
    return _create_app(monkeypatch, google.certs_url)


def _key(google: GoogleAuthServer) -> SigningKey:
    """The key the stand-in signs its ID tokens with (the one its certificates publish)."""
    return google.app.state.id_token_key


def _enrol(app: Flask, token: str | None, body: Any = None, **kwargs: Any) -> Any:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    return app.test_client().post("/v1/enroll", headers=headers, json=body, **kwargs)


def test_a_genuine_token_publishes_exactly_one_enroll_command_for_its_user(
    app: Flask, google: GoogleAuthServer, commands: Topic
) -> None:
    answer = _enrol(app, mint(_key(google), ALICE), {"calendarId": "primary"})

    assert (answer.status_code, answer.mimetype) == (202, "text/plain")
    first = commands.pull(wait_s=10, stop_after=1)
    assert len(first) == 1
    assert commands.pull(wait_s=1) == []
    command = decode_channel_command(base64.b64decode(first[0]["data"]))
    assert command == EnrollCommand(ALICE, ALICE, source="addon")
    assert first[0]["attributes"] == {"command": "enroll"}


def test_the_certificates_are_fetched_once_for_many_enrolments_and_forged_key_ids(
    app: Flask, google: GoogleAuthServer, admin: Admin, commands: Topic
) -> None:
    genuine = [_enrol(app, mint(_key(google), f"user{n}@example.com")) for n in range(5)]
    forged = [
        _enrol(app, mint(SigningKey(f"forged-{n}", FORGER.private_key), ALICE)) for n in range(30)
    ]

    assert [a.status_code for a in genuine] == [202] * 5
    assert [a.status_code for a in forged] == [401] * 30
    assert admin.counts().get("certs") == 1
    assert len(commands.pull(wait_s=10, stop_after=5)) == 5


def _expired(key: SigningKey) -> str:
    now = int(time.time())
    return mint(key, ALICE, iat=now - 7200, exp=now - 3600)


@pytest.mark.parametrize(
    ("case", "status"),
    [
        ("forged with another key", 401),
        ("expired", 401),
        ("other audience", 401),
        ("other issuer", 401),
        ("no token", 401),
        ("not a bearer token", 401),
        ("e-mail not verified", 403),
        ("other domain", 403),
        ("no hd (not a Workspace account)", 403),
        ("body names another subject", 400),
        ("body not an object", 400),
    ],
)
def test_a_bad_enrolment_gets_its_status_and_publishes_nothing(
    app: Flask, google: GoogleAuthServer, commands: Topic, case: str, status: int
) -> None:
    key = _key(google)
    client = app.test_client()
    requests_by_case: dict[str, tuple[dict[str, str], Any]] = {
        "forged with another key": (_auth(mint(SigningKey(key.key_id, FORGER.private_key))), {}),
        "expired": (_auth(_expired(key)), {}),
        "other audience": (_auth(mint(key, aud="another.apps.googleusercontent.com")), {}),
        "other issuer": (_auth(mint(key, iss="https://issuer.example")), {}),
        "no token": ({}, {}),
        "not a bearer token": ({"Authorization": f"Basic {mint(key)}"}, {}),
        "e-mail not verified": (_auth(mint(key, email_verified=False)), {}),
        "other domain": (_auth(mint(key, "mallory@elsewhere.test")), {}),
        "no hd (not a Workspace account)": (_auth(mint(key, hd=None)), {}),
        "body names another subject": (_auth(mint(key)), {"subject": "bob@example.com"}),
        "body not an object": (_auth(mint(key)), ["primary"]),
    }
    headers, body = requests_by_case[case]

    answer = client.post("/v1/enroll", headers=headers, json=body)

    assert answer.status_code == status
    assert commands.pull(wait_s=1) == []


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_wrong_method_and_oversized_body_are_refused(
    app: Flask, google: GoogleAuthServer, commands: Topic
) -> None:
    token = mint(_key(google))
    client = app.test_client()

    get = client.get("/v1/enroll", headers=_auth(token))
    oversized = client.post(
        "/v1/enroll", headers=_auth(token), data=b'{"calendarId": "' + b"c" * 5000 + b'"}'
    )

    assert (get.status_code, get.headers["Allow"]) == (405, "POST")
    assert oversized.status_code == 413
    assert commands.pull(wait_s=1) == []


def test_an_oversized_chunked_body_without_length_is_refused(
    app: Flask, google: GoogleAuthServer, commands: Topic
) -> None:
    builder = EnvironBuilder(
        method="POST",
        path="/v1/enroll",
        headers=list(_auth(mint(_key(google))).items()),
        input_stream=io.BytesIO(b" " * 100_000 + b"{}"),
    )
    environ = builder.get_environ()
    environ.pop("CONTENT_LENGTH", None)  # Transfer-Encoding: chunked, as a server passes it on
    environ["wsgi.input_terminated"] = True

    _, status, _ = run_wsgi_app(app, environ, buffered=True)

    assert status.startswith("413")
    assert commands.pull(wait_s=1) == []


def test_enrolment_is_off_without_an_audience(
    google: GoogleAuthServer, admin: Admin, commands: Topic, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _create_app(monkeypatch, google.certs_url, audiences="")

    answer = _enrol(app, mint(_key(google)))

    assert answer.status_code == 404
    assert admin.counts().get("certs") is None
    assert commands.pull(wait_s=1) == []


def test_certificates_out_of_reach_answer_503(
    google: GoogleAuthServer, commands: Topic, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _create_app(monkeypatch, f"http://127.0.0.1:{free_port()}/oauth2/v1/certs")

    answer = _enrol(app, mint(_key(google)))

    assert answer.status_code == 503
    assert commands.pull(wait_s=1) == []


def test_notifications_still_work_on_every_other_path(
    app: Flask, sync_requests: Topic, commands: Topic
) -> None:
    expires = datetime.now(UTC) + timedelta(days=1)
    headers = {
        "X-Goog-Channel-ID": "chan-1",
        "X-Goog-Channel-Token": mint_channel_token(KEYS, "chan-1", "ck_enroll_fn", expires=expires),
        "X-Goog-Message-Number": "7",
        "X-Goog-Resource-ID": "resource-1",
        "X-Goog-Resource-State": "exists",
    }
    client = app.test_client()

    root = client.post("/", headers=headers)
    other = client.post("/v1/enroll/", headers=headers)  # not exactly the enrolment path

    assert (root.status_code, other.status_code) == (200, 200)
    published = sync_requests.pull(wait_s=10, stop_after=2)
    assert [decode_sync_request(base64.b64decode(m["data"])).calendar_key for m in published] == [
        "ck_enroll_fn",
        "ck_enroll_fn",
    ]
    assert commands.pull(wait_s=1) == []
