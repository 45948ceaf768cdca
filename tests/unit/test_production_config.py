"""Production configuration refuses unsafe values at start: plain-HTTP endpoints other than
loopback, a missing conferencing credential or signing secret, and secrets under 32 bytes; a
local stack (``CONFSYNC_CALENDAR_CREDENTIALS=emulator``) keeps running with what it has."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from confsync.config import (
    load_channels_config,
    load_cli_config,
    load_intake_config,
    load_sync_config,
)
from confsync.errors import ConfigurationError
from confsync.production_checks import is_loopback, require_https

SIGNING_SECRET = "s" * 32
CHANNEL_SECRET = "c" * 32
SYNC = {
    "GOOGLE_CLOUD_PROJECT": "p",
    "CONFSYNC_CALENDAR_CREDENTIALS": "delegated",
    "CONFSYNC_DELEGATION_SERVICE_ACCOUNT": "calendar@p.iam.gserviceaccount.com",
    "CONFERENCING_URL": "https://conferencing.example/",
    "CONFERENCING_CREDENTIAL": "provider-credential",
    "CONFERENCING_SIGNING_SECRET": SIGNING_SECRET,
    "CONFSYNC_JOIN_URL_HOSTS": "conference.example",
}
KEYS = {
    "CONFSYNC_CHANNEL_TOKEN_KEYS": f"k1:{CHANNEL_SECRET}",
    "CONFSYNC_CHANNEL_TOKEN_ACTIVE_KEY": "k1",
    "CONFSYNC_ALLOWED_DOMAINS": "example.com",
}
CHANNELS = {
    "GOOGLE_CLOUD_PROJECT": "p",
    "CONFSYNC_CALENDAR_CREDENTIALS": "delegated",
    "CONFSYNC_DELEGATION_SERVICE_ACCOUNT": "calendar@p.iam.gserviceaccount.com",
    "CONFSYNC_INTAKE_URL": "https://intake.example/",
    **KEYS,
}
INTAKE = {"GOOGLE_CLOUD_PROJECT": "p", **KEYS}


def _refused(load: object, env: dict[str, str]) -> str:
    with pytest.raises(ConfigurationError) as caught:
        load(env)  # type: ignore[operator]
    return str(caught.value)


def test_a_production_sync_configuration_loads() -> None:
    config = load_sync_config(SYNC)

    assert config.conferencing_url == "https://conferencing.example"
    assert config.conferencing_signing_secrets == (SIGNING_SECRET.encode(),)


@pytest.mark.parametrize(
    ("name", "url"),
    [
        ("CONFERENCING_URL", "http://conferencing.example/"),
        ("GOOGLE_TOKEN_URL", "http://oauth2.example/token"),
        ("IAM_CREDENTIALS_URL", "http://iam.example/v1/"),
        ("CALENDAR_API_URL", "http://calendar.example/calendar/v3/"),
        ("CONFERENCING_URL", "http://10.0.0.7:8684/"),  # private is not loopback
        ("CONFERENCING_URL", "http://localhost.example/"),
    ],
)
def test_plain_http_to_another_machine_is_refused_naming_the_variable(name: str, url: str) -> None:
    message = _refused(load_sync_config, {**SYNC, name: url})

    assert f"{name} must be an https:// URL" in message


def test_the_intake_url_handed_to_google_must_be_https() -> None:
    message = _refused(
        load_channels_config, {**CHANNELS, "CONFSYNC_INTAKE_URL": "http://intake.example/"}
    )

    assert "CONFSYNC_INTAKE_URL must be an https:// URL" in message


def test_the_command_line_refuses_a_plain_http_token_endpoint() -> None:
    env = {"GOOGLE_CLOUD_PROJECT": "p", "GOOGLE_TOKEN_URL": "http://oauth2.example/token"}

    assert "GOOGLE_TOKEN_URL must be an https:// URL" in _refused(load_cli_config, env)
    loopback = {**env, "GOOGLE_TOKEN_URL": "http://127.0.0.1:8690/token"}
    assert load_cli_config(loopback).token_url == "http://127.0.0.1:8690/token"


@pytest.mark.parametrize("host", ["127.0.0.1", "127.42.0.9", "[::1]", "localhost", "LOCALHOST"])
def test_plain_http_to_this_machine_is_allowed(host: str) -> None:
    config = load_sync_config({**SYNC, "CONFERENCING_URL": f"http://{host}:8684/"})

    assert config.conferencing_url == f"http://{host}:8684"


@pytest.mark.parametrize("name", ["CONFERENCING_CREDENTIAL", "CONFERENCING_SIGNING_SECRET"])
def test_the_sync_needs_the_provider_credential_and_signing_secret(name: str) -> None:
    env = {k: v for k, v in SYNC.items() if k != name}

    message = _refused(load_sync_config, env)

    assert f"{name} is required unless CONFSYNC_CALENDAR_CREDENTIALS=emulator" in message


@pytest.mark.parametrize("secret", ["x", "s" * 31])
def test_a_short_signing_secret_is_refused_without_echoing_it(secret: str) -> None:
    message = _refused(load_sync_config, {**SYNC, "CONFERENCING_SIGNING_SECRET": secret})

    assert f"CONFERENCING_SIGNING_SECRET must hold at least 32 bytes, not {len(secret)}" in message
    assert f"'{secret}'" not in message


def test_the_length_of_a_secret_counts_bytes_not_characters() -> None:
    secret = "é" * 16  # 16 characters, 32 bytes

    config = load_sync_config({**SYNC, "CONFERENCING_SIGNING_SECRET": secret})

    assert config.conferencing_signing_secrets == (secret.encode(),)


@pytest.mark.parametrize(
    ("load", "env"), [(load_channels_config, CHANNELS), (load_intake_config, INTAKE)]
)
def test_a_short_channel_token_key_is_refused_naming_its_key_id(
    load: object, env: dict[str, str]
) -> None:
    short = "k2:sixteen-chars-secret"  # what ChannelTokenKeys itself accepts
    spec = {**env, "CONFSYNC_CHANNEL_TOKEN_KEYS": f"k1:{CHANNEL_SECRET},{short}"}

    message = _refused(load, spec)

    assert "CONFSYNC_CHANNEL_TOKEN_KEYS (key k2) must hold at least 32 bytes, not 20" in message
    assert "sixteen-chars-secret" not in message


def test_every_problem_is_reported_at_once() -> None:
    env = {
        **SYNC,
        "CONFERENCING_URL": "http://conferencing.example/",
        "CONFERENCING_SIGNING_SECRET": "short",
        "CONFERENCING_CREDENTIAL": "",
    }

    message = _refused(load_sync_config, env)

    assert "CONFERENCING_URL must be an https:// URL" in message
    assert "CONFERENCING_SIGNING_SECRET must hold at least 32 bytes" in message
    assert "CONFERENCING_CREDENTIAL is required" in message


def test_a_local_stack_keeps_its_plain_http_and_short_secrets() -> None:
    local = {
        "GOOGLE_CLOUD_PROJECT": "p",
        "CONFSYNC_CALENDAR_CREDENTIALS": "emulator",
        "CALENDAR_API_URL": "http://calendar:8683/calendar/v3/",
        "CONFERENCING_URL": "http://conferencing:8684/",
        "CONFERENCING_SIGNING_SECRET": "x",
        "CONFSYNC_JOIN_URL_HOSTS": "conference.example",
    }
    short_keys = {"CONFSYNC_CHANNEL_TOKEN_KEYS": "k1:sixteen-chars-secret"}

    sync = load_sync_config(local)
    channels = load_channels_config(
        {**local, **KEYS, **short_keys, "CONFSYNC_INTAKE_URL": "http://intake:8680/"}
    )

    assert sync.conferencing_credential is None
    assert sync.conferencing_url == "http://conferencing:8684"
    assert channels.token_keys.keys["k1"] == b"sixteen-chars-secret"


@given(st.text(max_size=60))
def test_any_host_text_is_judged_without_an_error(host: str) -> None:
    assert is_loopback(host) in (True, False)


@given(st.text(max_size=80))
def test_any_url_text_gets_an_answer_naming_the_variable_or_none(url: str) -> None:
    problem = require_https("SOME_URL", url)

    assert problem is None or problem.startswith("SOME_URL must be an https:// URL")


def test_every_signing_secret_of_a_rotation_must_be_strong() -> None:
    strong = "n" * 32
    message = _refused(load_sync_config, {**SYNC, "CONFERENCING_SIGNING_SECRET": f"{strong},short"})

    assert "CONFERENCING_SIGNING_SECRET must hold at least 32 bytes, not 5" in message
    assert "short" not in message
