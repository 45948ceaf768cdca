"""Configuration: defaults, validation naming each variable, and the README kept in step."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from confsync.config import (
    VARIABLES,
    CalendarAuthConfig,
    ChannelsConfig,
    CliConfig,
    IntakeConfig,
    SyncConfig,
    load_channels_config,
    load_cli_config,
    load_intake_config,
    load_sync_config,
)
from confsync.errors import ConfigurationError
from confsync.parsers import Number
from confsync.settings import (
    CHANNELS,
    CLI,
    INTAKE,
    REGENERATE,
    SYNC,
    Variable,
    markdown_table,
    table_span,
    variable,
)

README = Path(__file__).resolve().parents[2] / "README.md"

MINIMAL = {
    "GOOGLE_CLOUD_PROJECT": "my-project",
    "CALENDAR_API_URL": "http://127.0.0.1:8683/calendar/v3/",
    "CONFERENCING_URL": "https://conferencing.example/",
    "CONFSYNC_JOIN_URL_HOSTS": "conference.example",
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
    assert config.conferencing_signing_secrets == ()


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


@pytest.mark.parametrize(
    ("value", "secrets"),
    [
        pytest.param("s3cr3t", (b"s3cr3t",), id="one-secret-as-before"),
        pytest.param("new-secret,old-secret", (b"new-secret", b"old-secret"), id="rotation"),
        pytest.param(" new-secret , old-secret ", (b"new-secret", b"old-secret"), id="blanks"),
    ],
)
def test_signing_secret_holds_one_secret_or_several_during_a_rotation(
    value: str, secrets: tuple[bytes, ...]
) -> None:
    config = load_sync_config({**MINIMAL, "CONFERENCING_SIGNING_SECRET": value})

    assert config.conferencing_signing_secrets == secrets


def test_too_many_signing_secrets_are_refused_without_echoing_them() -> None:
    env = {**MINIMAL, "CONFERENCING_SIGNING_SECRET": "s1,s2,s3,s4,s5"}

    with pytest.raises(
        ConfigurationError, match="CONFERENCING_SIGNING_SECRET: at most 4"
    ) as caught:
        load_sync_config(env)

    assert "s1" not in str(caught.value)


def test_readme_documents_every_variable() -> None:
    readme = README.read_text()

    missing = [v.name for v in VARIABLES if f"`{v.name}`" not in readme]

    assert missing == []


def test_the_readme_table_is_the_generated_one() -> None:
    readme = README.read_text(encoding="utf-8")
    start, end = table_span(readme)

    assert readme[start:end] == markdown_table(), (
        f"README.md's configuration table differs from confsync.settings: run `{REGENERATE}` "
        "in the repository root (with the project's virtualenv)"
    )


def test_the_table_replaces_only_itself() -> None:
    text = "# Title\n\nBefore.\n\n| variable | read by | old |\n|---|\n| `X` | y |\n\nAfter.\n"
    start, end = table_span(text)

    assert text[:start] == "# Title\n\nBefore.\n\n"
    assert text[end:] == "\nAfter.\n"
    with pytest.raises(ValueError, match="no configuration table"):
        table_span("# no table\n")


# --- the declarations ----------------------------------------------------------------------------

CONFIGS = {
    SYNC: (SyncConfig, CalendarAuthConfig),
    INTAKE: (IntakeConfig,),
    CHANNELS: (ChannelsConfig, CalendarAuthConfig),
    CLI: (CliConfig,),
}
DERIVED = {
    "calendar_auth": set[str](),  # a CalendarAuthConfig: its own fields are in CONFIGS
    "token_keys": {"token_keys_spec", "token_active_key"},
}
"""Fields a loader builds from other variables' fields, and those fields."""


def test_names_are_unique_and_every_default_is_valid() -> None:
    assert len({v.name for v in VARIABLES}) == len(VARIABLES)
    for declared in VARIABLES:
        if declared.default is not None:
            declared.parse(declared.default)  # raises if the default is not allowed


@pytest.mark.parametrize("reader", list(CONFIGS))
def test_each_reader_reads_exactly_the_fields_of_its_config(reader: str) -> None:
    read = {v.field for v in VARIABLES if reader in v.used_by}
    wanted = {f.name for config in CONFIGS[reader] for f in fields(config)}
    for derived, sources in DERIVED.items():
        if derived in wanted:
            wanted = (wanted - {derived}) | (sources & read)

    assert read - wanted == set(), "declared as read, but no config field takes it"
    assert wanted - read == set(), "config fields no declared variable fills"


def test_the_dead_credentials_fields_are_gone() -> None:
    for config in (SyncConfig, ChannelsConfig):
        assert "calendar_credentials" not in {f.name for f in fields(config)}
    assert load_sync_config(MINIMAL).calendar_auth.mode == "emulator"


def test_defaults_come_from_the_declarations() -> None:
    config = load_sync_config(MINIMAL)

    for name, field in (
        ("CONFSYNC_LEASE_SECONDS", "lease_s"),
        ("CONFSYNC_PROVIDER_CONCURRENCY", "provider_concurrency"),
        ("CONFSYNC_PROVIDER_TIMEOUT_SECONDS", "provider_timeout_s"),
        ("CONFSYNC_FULL_SYNC_WINDOW_DAYS", "full_sync_window_days"),
    ):
        default = variable(name).default
        assert default is not None
        assert getattr(config, field) == float(default)


@pytest.mark.parametrize("declared", [v for v in VARIABLES if isinstance(v.parse, Number)])
def test_ranges_are_enforced_at_both_ends(declared: Variable) -> None:
    number = declared.parse
    assert isinstance(number, Number)
    number(str(number.high))
    with pytest.raises(ValueError, match=str(number.high)):
        number(str(number.high + 1))
    with pytest.raises(ValueError, match=str(number.low)):
        number(str(number.low - 1 if number.whole else number.low))
    if not number.low_open:
        number(str(number.low))


def test_a_missing_required_variable_is_reported_once() -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_sync_config({k: v for k, v in MINIMAL.items() if k != "CONFERENCING_URL"})

    assert str(caught.value) == "invalid configuration: CONFERENCING_URL is required"


def test_blank_values_mean_the_default() -> None:
    config = load_sync_config({**MINIMAL, "CONFSYNC_LEASE_SECONDS": "  ", "LOG_LEVEL": "debug"})

    assert config.lease_s == 300
    assert config.log_level == "DEBUG"


def test_cross_checks_name_both_variables() -> None:
    with pytest.raises(ConfigurationError, match="BASE_DELAY_SECONDS must not exceed"):
        load_sync_config(
            {
                **MINIMAL,
                "CONFSYNC_PENDING_BASE_DELAY_SECONDS": "600",
                "CONFSYNC_PENDING_MAX_DELAY_SECONDS": "60",
            }
        )


def test_a_sweep_floor_above_its_cap_is_refused_naming_both_variables() -> None:
    env = {
        **MINIMAL,
        "CONFSYNC_SWEEP_INTERVAL_SECONDS": "3600",
        "CONFSYNC_SWEEP_MAX_INTERVAL_SECONDS": "900",
    }

    with pytest.raises(ConfigurationError) as caught:
        load_sync_config(env)

    assert (
        "CONFSYNC_SWEEP_INTERVAL_SECONDS must not exceed CONFSYNC_SWEEP_MAX_INTERVAL_SECONDS"
        in str(caught.value)
    )


def test_cli_reads_the_scheduler_job_and_never_echoes_the_token_key() -> None:
    env = {"GOOGLE_CLOUD_PROJECT": "p"}
    job = "projects/p/locations/europe-west1/jobs/confsync-tick"

    assert load_cli_config({**env, "CONFSYNC_SCHEDULER_JOB": job}).scheduler_job == job
    assert load_cli_config(env).scheduler_job is None
    with pytest.raises(ConfigurationError, match="CONFSYNC_SCHEDULER_JOB='jobs/x': must be"):
        load_cli_config({**env, "CONFSYNC_SCHEDULER_JOB": "jobs/x"})
    with pytest.raises(ConfigurationError) as caught:
        load_cli_config({**env, "CONFSYNC_OAUTH_TOKEN_KEY": "not base64!"})
    assert "CONFSYNC_OAUTH_TOKEN_KEY: must be base64" in str(caught.value)
    assert "not base64!" not in str(caught.value)


KEYS = {
    "CONFSYNC_CHANNEL_TOKEN_KEYS": "k1:a-secret-of-at-least-thirty-two-bytes",
    "CONFSYNC_CHANNEL_TOKEN_ACTIVE_KEY": "k1",
    "CONFSYNC_ALLOWED_DOMAINS": "example.com",
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


PROVIDER_SECRETS = {
    "CONFERENCING_CREDENTIAL": "provider-credential",
    "CONFERENCING_SIGNING_SECRET": "a-signing-secret-of-at-least-32-bytes",
}
GOOGLE = {k: v for k, v in MINIMAL.items() if k != "CALENDAR_API_URL"} | PROVIDER_SECRETS
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
    assert config.calendar_auth.oauth_token_keys == (b"0123456789abcdef0123456789abcdef",)
    assert config.calendar_auth.oauth_client_id == "client-1"


def test_unknown_credential_modes_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="must be one of emulator, delegated, oauth"):
        load_sync_config({**MINIMAL, "CONFSYNC_CALENDAR_CREDENTIALS": "keyfile"})
