"""Each function's cold start loads only what it uses. A fresh interpreter imports the function's
``main.py`` and builds its service (what the first request does, so moving an import there would
not hide it), then lists the modules it must never have loaded:

* no function loads google-cloud-pubsub: messages are published over Pub/Sub's REST API;
* no function loads google-api-python-client's discovery, httplib2 or pyparsing: the Calendar
  API is called over urllib3 (:mod:`confsync.adapters.calendar_http`);
* no function loads google-cloud-firestore, gRPC, google-api-core or protobuf: Firestore is
  called over its REST API (:mod:`confsync.adapters.firestore_http`);
* intake loads neither Firestore nor gRPC nor google-api-core, nor the Calendar and conferencing
  adapters, nor the enrolment service (built by the first ``/v1/enroll`` request only), nor the
  sync's domain model (the ports and the planner); on Cloud Functions, not google-auth's
  credentials and crypto either (its token comes from the metadata server).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support.paths import REPO_ROOT

_NOWHERE = "127.0.0.1:9"  # every client is built, none is used
_COMMON = {"GOOGLE_CLOUD_PROJECT": "p", "PATH": "/usr/bin:/bin", "PUBSUB_EMULATOR_HOST": _NOWHERE}
_TOKEN_KEYS = {
    "CONFSYNC_CHANNEL_TOKEN_KEYS": "k1:a-secret-of-at-least-thirty-two-bytes",
    "CONFSYNC_CHANNEL_TOKEN_ACTIVE_KEY": "k1",
    "CONFSYNC_ALLOWED_DOMAINS": "example.com",
}
_CALENDAR = {
    "CONFSYNC_CALENDAR_CREDENTIALS": "emulator",
    "CALENDAR_API_URL": f"http://{_NOWHERE}/calendar/v3/",
}
ENVIRONMENTS = {
    "intake": {**_COMMON, **_TOKEN_KEYS},
    "sync": {
        **_COMMON,
        **_CALENDAR,
        "FIRESTORE_EMULATOR_HOST": _NOWHERE,
        "CONFERENCING_URL": f"http://{_NOWHERE}",
        "CONFSYNC_JOIN_URL_HOSTS": "conference.example",
    },
    "channels": {
        **_COMMON,
        **_TOKEN_KEYS,
        **_CALENDAR,
        "FIRESTORE_EMULATOR_HOST": _NOWHERE,
        "CONFSYNC_INTAKE_URL": f"http://{_NOWHERE}",
    },
}
SERVICE = {"intake": "_service", "sync": "_runner", "channels": "_service"}
NEVER = (
    "google.cloud.pubsub_v1",
    "googleapiclient.discovery",
    "httplib2",
    "pyparsing",
    "google_auth_httplib2",
    "google.cloud.firestore",
    "grpc",
    "google.api_core",
    "google.protobuf",
)
NEVER_IN_INTAKE = (
    "google.cloud.firestore",
    "grpc",
    "google.api_core",
    "confsync.adapters.calendar_api",
    "confsync.adapters.conferencing",
    "confsync.enroll_intake",
    "confsync.ports",
    "confsync.planner",
)


def _loaded_after_first_request(
    function: str, modules: tuple[str, ...], env: dict[str, str] | None = None
) -> list[str]:
    probe = "; ".join(
        [
            "import json, sys",
            f"sys.path.insert(0, 'functions/{function}')",
            "import main",
            f"main.{SERVICE[function]}()",
            f"print(json.dumps(sorted(m for m in {modules!r} if m in sys.modules)))",
        ]
    )
    answer = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=REPO_ROOT,
        env=ENVIRONMENTS[function] if env is None else env,
        capture_output=True,
        text=True,
        check=True,
    )
    loaded: list[str] = json.loads(answer.stdout.strip().splitlines()[-1])
    return loaded


@pytest.mark.parametrize("function", ["intake", "sync", "channels"])
def test_no_function_loads_the_pubsub_discovery_or_firestore_client_libraries(
    function: str,
) -> None:
    assert _loaded_after_first_request(function, NEVER) == []


def test_intake_loads_no_firestore_grpc_calendar_conferencing_or_enrolment() -> None:
    assert _loaded_after_first_request("intake", NEVER_IN_INTAKE) == []


CRYPTO = ("google.auth.compute_engine", "google.oauth2", "google.auth.crypt", "cryptography")


@pytest.mark.parametrize("function", ["sync", "channels"])
@pytest.mark.parametrize("mode", ["emulator", "delegated"])
def test_sync_and_channels_load_no_google_auth_crypto_unless_oauth(
    function: str, mode: str
) -> None:
    """Neither the emulator nor domain-wide delegation uses a key file or a user's refresh
    token: google-auth's JWT, service-account and crypto modules (and its urllib3 transport,
    which imports them) stay out; on Cloud Functions the runtime identity is the metadata
    server's token (confsync.adapters.metadata_credentials)."""
    env = {**ENVIRONMENTS[function], "K_SERVICE": function}
    if mode == "delegated":
        env["CONFSYNC_CALENDAR_CREDENTIALS"] = "delegated"
        env["CONFSYNC_DELEGATION_SERVICE_ACCOUNT"] = "sync-delegate@p.iam.gserviceaccount.com"
        env.pop("CALENDAR_API_URL")
        env["CONFERENCING_CREDENTIAL"] = "a-provider-credential"
        env["CONFERENCING_SIGNING_SECRET"] = "a-signing-secret-of-at-least-thirty-two-bytes"

    google_auth = (*CRYPTO[:3], "google.auth.transport.urllib3")  # grants' AES-GCM may load
    loaded = _loaded_after_first_request(function, google_auth, env)

    assert loaded == []


def test_intake_on_cloud_functions_loads_no_google_auth_credentials_or_crypto() -> None:
    on_google = {k: v for k, v in ENVIRONMENTS["intake"].items() if k != "PUBSUB_EMULATOR_HOST"}
    on_google["K_SERVICE"] = "intake"  # set by Cloud Functions: the token is the metadata server's

    loaded = _loaded_after_first_request(
        "intake",
        CRYPTO,
        on_google,
    )

    assert loaded == []
