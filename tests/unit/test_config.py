"""Configuration: defaults, validation naming each variable, and the README kept in step."""

from __future__ import annotations

from pathlib import Path

import pytest

from confsync.config import (
    VARIABLES,
    load_channels_config,
    load_intake_config,
    load_sync_config,
)
from confsync.errors import ConfigurationError

MINIMAL = {
    "GOOGLE_CLOUD_PROJECT": "my-project",
    "CALENDAR_API_URL": "http://127.0.0.1:8683/calendar/v3/",
    "CONFERENCING_URL": "https://conferencing.example/",
}


def test_minimal_environment_gets_the_documented_defaults() -> None:
    config = load_sync_config(MINIMAL)

    assert config.project == "my-project"
    assert config.conferencing_url == "https://conferencing.example"
    assert config.solution_names == {"My Web Conference", "My Recorded Web Conference"}
    assert config.solution_key_type == "addOn"
    assert "attendees" in config.relevant_fields
    assert config.owned_events_only is True
    assert config.calendar_page_size == 2500
    assert config.conferencing_signing_secret is None


def test_every_problem_is_reported_at_once_by_variable_name() -> None:
    env = {
        "CALENDAR_API_URL": "http://127.0.0.1:8683/",
        "CONFSYNC_PROVIDER_CONCURRENCY": "1000",
        "CONFSYNC_OWNED_EVENTS_ONLY": "maybe",
        "CONFSYNC_RELEVANT_FIELDS": "title,colour",
        "LOG_LEVEL": "LOUD",
    }

    with pytest.raises(ConfigurationError) as caught:
        load_sync_config(env)

    message = str(caught.value)
    for expected in (
        "GOOGLE_CLOUD_PROJECT is required",
        "CONFERENCING_URL is required",
        "CALENDAR_API_URL='http://127.0.0.1:8683/': must end with /calendar/v3/",
        "CONFSYNC_PROVIDER_CONCURRENCY='1000': must be between 1 and 64",
        "CONFSYNC_OWNED_EVENTS_ONLY='maybe'",
        "CONFSYNC_RELEVANT_FIELDS='title,colour': unknown field(s) colour",
        "LOG_LEVEL='LOUD'",
    ):
        assert expected in message


def test_emulator_credentials_need_the_emulator_url() -> None:
    env = {k: v for k, v in MINIMAL.items() if k != "CALENDAR_API_URL"}

    with pytest.raises(ConfigurationError, match="CALENDAR_API_URL is required when"):
        load_sync_config(env)


def test_secret_values_are_never_echoed_in_errors() -> None:
    env = {**MINIMAL, "CONFERENCING_SIGNING_SECRET": "s3cr3t", "CONFSYNC_LEASE_SECONDS": "x"}

    with pytest.raises(ConfigurationError) as caught:
        load_sync_config(env)

    assert "s3cr3t" not in str(caught.value)


def test_readme_documents_every_variable() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()

    missing = [v.name for v in VARIABLES if f"`{v.name}`" not in readme]

    assert missing == []


KEYS = {
    "CONFSYNC_CHANNEL_TOKEN_KEYS": "k1:a-secret-of-sixteen-chars",
    "CONFSYNC_CHANNEL_TOKEN_ACTIVE_KEY": "k1",
}


def test_intake_needs_the_project_and_token_keys() -> None:
    config = load_intake_config({"GOOGLE_CLOUD_PROJECT": "p", **KEYS})

    assert config.sync_topic == "sync-requests"
    assert config.token_keys.active == "k1"
    with pytest.raises(ConfigurationError, match="CONFSYNC_CHANNEL_TOKEN_KEYS is required"):
        load_intake_config({"GOOGLE_CLOUD_PROJECT": "p"})


def test_channels_need_the_intake_url_and_a_renewal_window_inside_the_ttl() -> None:
    env = {**MINIMAL, **KEYS, "CONFSYNC_INTAKE_URL": "https://intake.example/"}

    config = load_channels_config(env)

    assert config.intake_url == "https://intake.example"
    assert config.renewal_window_s < config.channel_ttl_s
    with pytest.raises(ConfigurationError, match="must be shorter than CONFSYNC_CHANNEL_TTL"):
        load_channels_config({**env, "CONFSYNC_RENEWAL_WINDOW_SECONDS": "200000"})
    with pytest.raises(ConfigurationError, match="CONFSYNC_INTAKE_URL is required"):
        load_channels_config({**MINIMAL, **KEYS})


GOOGLE = {k: v for k, v in MINIMAL.items() if k != "CALENDAR_API_URL"}
TOKEN_KEY = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="  # base64 of 32 bytes


def test_delegated_credentials_name_the_service_account_to_sign_as() -> None:
    with pytest.raises(ConfigurationError, match="CONFSYNC_DELEGATION_SERVICE_ACCOUNT is required"):
        load_sync_config({**GOOGLE, "CONFSYNC_CALENDAR_CREDENTIALS": "delegated"})

    config = load_sync_config(
        {
            **GOOGLE,
            "CONFSYNC_CALENDAR_CREDENTIALS": "delegated",
            "CONFSYNC_DELEGATION_SERVICE_ACCOUNT": "confsync-calendar@p.iam.gserviceaccount.com",
        }
    )

    assert config.calendar_api_url is None  # Google's endpoint
    assert config.calendar_auth.mode == "delegated"
    assert config.calendar_auth.delegation_service_account == (
        "confsync-calendar@p.iam.gserviceaccount.com"
    )
    assert config.calendar_auth.token_url == "https://oauth2.googleapis.com/token"
    assert config.calendar_auth.iam_credentials_url == "https://iamcredentials.googleapis.com/v1/"


def test_oauth_credentials_need_the_client_and_a_32_byte_key_never_echoed() -> None:
    with pytest.raises(ConfigurationError) as missing:
        load_channels_config(
            {
                **GOOGLE,
                **KEYS,
                "CONFSYNC_INTAKE_URL": "https://intake.example",
                "CONFSYNC_CALENDAR_CREDENTIALS": "oauth",
            }
        )
    for name in (
        "CONFSYNC_OAUTH_CLIENT_ID",
        "CONFSYNC_OAUTH_CLIENT_SECRET",
        "CONFSYNC_OAUTH_TOKEN_KEY",
    ):
        assert f"{name} is required when CONFSYNC_CALENDAR_CREDENTIALS=oauth" in str(missing.value)

    short_key = "c2hvcnQta2V5LXNlY3JldA=="
    env = {
        **GOOGLE,
        "CONFSYNC_CALENDAR_CREDENTIALS": "oauth",
        "CONFSYNC_OAUTH_CLIENT_ID": "client-1",
        "CONFSYNC_OAUTH_CLIENT_SECRET": "client-secret",
        "CONFSYNC_OAUTH_TOKEN_KEY": short_key,
    }
    with pytest.raises(ConfigurationError) as bad:
        load_sync_config(env)
    assert "CONFSYNC_OAUTH_TOKEN_KEY: must decode to 32 bytes" in str(bad.value)
    assert short_key not in str(bad.value)

    config = load_sync_config({**env, "CONFSYNC_OAUTH_TOKEN_KEY": TOKEN_KEY})
    assert config.calendar_auth.oauth_token_key == b"0123456789abcdef0123456789abcdef"
    assert config.calendar_auth.oauth_client_id == "client-1"


def test_unknown_credential_modes_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="must be one of emulator, delegated, oauth"):
        load_sync_config({**MINIMAL, "CONFSYNC_CALENDAR_CREDENTIALS": "keyfile"})
