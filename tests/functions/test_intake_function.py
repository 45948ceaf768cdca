"""The ``intake`` Cloud Function through functions-framework, publishing to the Pub/Sub emulator."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from flask import Flask
from werkzeug.test import EnvironBuilder, run_wsgi_app

from confsync.channel_tokens import ChannelTokenKeys, mint_channel_token
from confsync.messages import decode_sync_request
from devstack.gcloud_emulators import EmulatorEndpoints, free_port
from tests.support.paths import REPO_ROOT

pytestmark = [pytest.mark.emulators, pytest.mark.timeout(60)]

SOURCE = REPO_ROOT / "functions" / "intake" / "main.py"
KEY_SPEC = "k1:intake-test-secret-0123456789abcdef"
KEYS = ChannelTokenKeys.parse(KEY_SPEC, "k1")
CHANNEL = "chan-0001"
CALENDAR_KEY = "ck_intake_function"
SUBSCRIPTION = "intake-test"


def _expires(days: float = 1) -> datetime:
    """An expiry ``days`` from now (negative: already expired)."""
    return datetime.now(UTC) + timedelta(days=days)


def _headers(state: str = "exists", token: str | None = None) -> dict[str, str]:
    return {
        "X-Goog-Channel-ID": CHANNEL,
        "X-Goog-Channel-Token": token
        or mint_channel_token(KEYS, CHANNEL, CALENDAR_KEY, expires=_expires()),
        "X-Goog-Message-Number": "1" if state == "sync" else "7",
        "X-Goog-Resource-ID": "resource-1",
        "X-Goog-Resource-State": state,
        "X-Goog-Resource-URI": "https://www.googleapis.com/calendar/v3/calendars/c/events",
    }


def _create_app(monkeypatch: pytest.MonkeyPatch) -> Flask:
    import functions_framework  # noqa: PLC0415 - imported once the environment is set

    monkeypatch.setenv("CONFSYNC_CHANNEL_TOKEN_KEYS", KEY_SPEC)
    monkeypatch.setenv("CONFSYNC_CHANNEL_TOKEN_ACTIVE_KEY", "k1")
    monkeypatch.setenv("CONFSYNC_ALLOWED_DOMAINS", "example.com")
    monkeypatch.setenv("LOG_LEVEL", "DEBUG")
    app: Flask = functions_framework.create_app(
        target="intake", source=str(SOURCE), signature_type="http"
    )
    return app


class Subscription:
    """A pull subscription on ``sync-requests``, read through the emulator's REST API."""

    def __init__(self, endpoints: EmulatorEndpoints) -> None:
        self._base = f"http://{endpoints.pubsub_host}/v1/projects/{endpoints.project}"
        self._http = requests.Session()
        self._http.put(f"{self._base}/topics/sync-requests", timeout=10).raise_for_status()
        self._http.put(
            f"{self._base}/subscriptions/{SUBSCRIPTION}",
            json={"topic": f"projects/{endpoints.project}/topics/sync-requests"},
            timeout=10,
        ).raise_for_status()

    def pull(self, wait_s: float, stop_after: int | None = None) -> list[dict[str, Any]]:
        """Every message that arrives within ``wait_s`` (acknowledged), or fewer once
        ``stop_after`` have arrived."""
        received: list[dict[str, Any]] = []
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            answer = self._http.post(
                f"{self._base}/subscriptions/{SUBSCRIPTION}:pull",
                json={"maxMessages": 10, "returnImmediately": True},
                timeout=10,
            )
            answer.raise_for_status()
            messages = answer.json().get("receivedMessages", [])
            if messages:
                self._http.post(
                    f"{self._base}/subscriptions/{SUBSCRIPTION}:acknowledge",
                    json={"ackIds": [m["ackId"] for m in messages]},
                    timeout=10,
                ).raise_for_status()
                received.extend(m["message"] for m in messages)
                if stop_after is not None and len(received) >= stop_after:
                    break
            time.sleep(0.05)
        return received


@pytest.fixture(name="subscription")
def subscription_fixture(pubsub_emulator: EmulatorEndpoints) -> Subscription:
    """Topic ``sync-requests`` and a pull subscription on it, on an empty emulator project."""
    return Subscription(pubsub_emulator)


@pytest.fixture(name="intake_app")
def intake_app_fixture(subscription: Subscription, monkeypatch: pytest.MonkeyPatch) -> Flask:
    """The function's app, publishing to the emulator (GOOGLE_CLOUD_PROJECT from the fixture)."""
    return _create_app(monkeypatch)


def test_genuine_notification_publishes_one_sync_request(
    intake_app: Flask, subscription: Subscription
) -> None:
    answer = intake_app.test_client().post("/", headers=_headers())

    assert answer.status_code == 200
    assert answer.mimetype == "text/plain"
    first = subscription.pull(wait_s=10, stop_after=1)
    later = subscription.pull(wait_s=1)
    assert len(first) == 1
    assert later == []
    request = decode_sync_request(base64.b64decode(first[0]["data"]))
    assert request.calendar_key == CALENDAR_KEY
    assert request.channel_id == CHANNEL
    assert request.message_number == 7
    assert request.reason == "notification"
    assert first[0]["attributes"] == {"reason": "notification"}


def test_forged_notification_is_refused_and_publishes_nothing(
    intake_app: Flask, subscription: Subscription
) -> None:
    forged = mint_channel_token(KEYS, "another-channel", CALENDAR_KEY, expires=_expires())

    answer = intake_app.test_client().post("/", headers=_headers(token=forged))

    assert answer.status_code == 403
    assert subscription.pull(wait_s=1) == []


def test_expired_token_is_refused_and_publishes_nothing(
    intake_app: Flask, subscription: Subscription
) -> None:
    """A token leaked from a channel that has expired is worth nothing (issue #13, M1)."""
    expired = mint_channel_token(KEYS, CHANNEL, CALENDAR_KEY, expires=_expires(-1 / 24))

    answers = [
        intake_app.test_client().post("/", headers=_headers(token=expired)) for _ in range(5)
    ]

    assert [a.status_code for a in answers] == [403] * 5
    assert subscription.pull(wait_s=1) == []


def test_sync_message_is_acknowledged_and_publishes_nothing(
    intake_app: Flask, subscription: Subscription
) -> None:
    answer = intake_app.test_client().post("/", headers=_headers(state="sync"))

    assert answer.status_code == 200
    assert subscription.pull(wait_s=1) == []


def test_wrong_method_and_oversized_body_are_refused(
    intake_app: Flask, subscription: Subscription
) -> None:
    client = intake_app.test_client()

    get = client.get("/", headers=_headers())
    robots = client.get("/robots.txt")
    oversized = client.post("/", headers=_headers(), data=b"x" * 5000)

    assert get.status_code == 405
    assert get.headers["Allow"] == "POST"
    assert robots.status_code == 404  # "no robots.txt": Google's delivery is not blocked
    assert oversized.status_code == 413
    assert subscription.pull(wait_s=1) == []


def test_oversized_chunked_body_without_length_is_refused(
    intake_app: Flask, subscription: Subscription
) -> None:
    builder = EnvironBuilder(
        method="POST",
        path="/",
        headers=list(_headers().items()),
        input_stream=io.BytesIO(b"x" * 100_000),
    )
    environ = builder.get_environ()
    environ.pop("CONTENT_LENGTH", None)  # Transfer-Encoding: chunked, as a server passes it on
    environ["wsgi.input_terminated"] = True

    _, status, _ = run_wsgi_app(intake_app, environ, buffered=True)

    assert status.startswith("413")
    assert subscription.pull(wait_s=1) == []


def test_pubsub_unavailable_answers_503_so_google_retries(
    pubsub_emulator: EmulatorEndpoints, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", f"127.0.0.1:{free_port()}")  # nothing listens
    app = _create_app(monkeypatch)

    started = time.monotonic()
    answer = app.test_client().post("/", headers=_headers())

    assert answer.status_code == 503
    assert time.monotonic() - started < 30  # bounded by the intake's publish timeout


def _run_main(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SOURCE)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )


def test_bad_configuration_fails_at_start_naming_the_variables() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONFSYNC_")}
    env.update({"GOOGLE_CLOUD_PROJECT": "p", "CONFSYNC_INTAKE_MAX_BODY_BYTES": "lots"})

    result = _run_main(env)

    assert result.returncode != 0
    assert "CONFSYNC_CHANNEL_TOKEN_KEYS is required" in result.stderr
    assert "CONFSYNC_INTAKE_MAX_BODY_BYTES='lots'" in result.stderr


def test_bad_token_key_is_named_without_its_secret() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONFSYNC_")}
    env.update(
        {
            "GOOGLE_CLOUD_PROJECT": "p",
            "CONFSYNC_CHANNEL_TOKEN_KEYS": "k1:too-short",
            "CONFSYNC_CHANNEL_TOKEN_ACTIVE_KEY": "k1",
        }
    )

    result = _run_main(env)

    assert result.returncode != 0
    assert "CONFSYNC_CHANNEL_TOKEN_KEYS" in result.stderr
    assert "too-short" not in result.stderr


def test_log_entries_carry_the_execution_id_and_the_trace(
    subscription: Subscription, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """As deployed (LOG_EXECUTION_ID=true): functions-framework labels each entry with the
    execution id, confsync adds the request's trace, so one request's lines group together."""
    monkeypatch.setenv("LOG_EXECUTION_ID", "true")
    app = _create_app(monkeypatch)
    forged = mint_channel_token(KEYS, "another-channel", CALENDAR_KEY, expires=_expires())
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"

    answer = app.test_client().post(
        "/",
        headers={
            **_headers(token=forged),
            "Function-Execution-Id": "exec-42",
            "X-Cloud-Trace-Context": f"{trace_id}/123;o=1",
        },
    )

    assert answer.status_code == 403
    captured = capsys.readouterr()
    entries = [json.loads(line) for line in captured.out.splitlines() if line]
    refusals = [e for e in entries if e.get("severity") == "WARNING"]
    assert refusals, captured
    for entry in refusals:
        assert entry["logging.googleapis.com/labels"]["execution_id"] == "exec-42"
        assert entry["logging.googleapis.com/trace"] == (
            f"projects/{os.environ['GOOGLE_CLOUD_PROJECT']}/traces/{trace_id}"
        )
        assert entry["logging.googleapis.com/spanId"] == "123"
