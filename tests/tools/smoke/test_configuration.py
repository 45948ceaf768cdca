"""The smoke's configuration: the test user's variables and Terraform's outputs, every problem
named at once; any input decodes or is refused with a SmokeConfigError, nothing else."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smoke.deployed import terraform_outputs
from smoke.outputs import REQUIRED_OUTPUTS, decode_outputs
from smoke.user_credentials import SmokeConfigError, load_test_user

OUTPUTS: dict[str, Any] = {
    "allowed_domains": "example.com",
    "channel_commands_topic": "channel-commands",
    "dead_letter_subscription": "confsync-dead-letter-inspect",
    "dead_letter_topic": "projects/acme-confsync/topics/confsync-dead-letter",
    "intake_url": "https://intake-abc.a.run.app",
    "scheduler_job": "projects/acme-confsync/locations/europe-west1/jobs/confsync-tick",
    "sync_requests_topic": "sync-requests",
    "function_names": {"sync": "confsync-sync"},
}


def _terraform(values: dict[str, Any]) -> str:
    return json.dumps(
        {k: {"value": v, "type": "string", "sensitive": False} for k, v in values.items()}
    )


def test_outputs_decode_with_the_project_taken_from_the_dead_letter_topic() -> None:
    outputs = decode_outputs(_terraform(OUTPUTS))

    assert outputs.project == "acme-confsync"
    assert outputs.enroll_url == "https://intake-abc.a.run.app/v1/enroll"
    assert outputs.cli_env() == {
        "GOOGLE_CLOUD_PROJECT": "acme-confsync",
        "CONFSYNC_CHANNEL_COMMANDS_TOPIC": "channel-commands",
        "CONFSYNC_SYNC_TOPIC": "sync-requests",
        "CONFSYNC_ALLOWED_DOMAINS": "example.com",
        "CONFSYNC_SCHEDULER_JOB": OUTPUTS["scheduler_job"],
    }


def test_every_missing_output_is_named() -> None:
    with pytest.raises(SmokeConfigError) as refused:
        decode_outputs(_terraform({"intake_url": OUTPUTS["intake_url"]}))

    missing = set(REQUIRED_OUTPUTS) - {"intake_url"}
    assert len(refused.value.problems) == len(missing)
    for name in missing:
        assert f"Terraform output {name} is missing" in str(refused.value)


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [
        ("dead_letter_topic", "confsync-dead-letter", "is not projects/P/topics/T"),
        ("scheduler_job", "confsync-tick", "is not projects/P/locations/L/jobs/J"),
        ("intake_url", "http://intake.example", "is not an https:// address"),
        ("sync_requests_topic", "a topic/with slash", "is not a Pub/Sub name"),
        ("allowed_domains", 7, "is not a non-empty string"),
    ],
)
def test_a_malformed_output_is_named(name: str, value: Any, said: str) -> None:
    with pytest.raises(SmokeConfigError, match=f"Terraform output {name} {said}"):
        decode_outputs(_terraform({**OUTPUTS, name: value}))


@given(st.text(max_size=300))
def test_any_text_decodes_or_is_refused_with_a_configuration_error(text: str) -> None:
    problems: list[str] | None = None
    try:
        decode_outputs(text)
    except SmokeConfigError as err:
        problems = err.problems
    assert problems is None or problems


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)


@given(st.dictionaries(st.sampled_from([*REQUIRED_OUTPUTS, "other"]), JSON, max_size=9))
def test_any_outputs_object_decodes_or_names_its_problems(values: dict[str, Any]) -> None:
    problems: list[str] = []
    try:
        decode_outputs(_terraform({**OUTPUTS, **values}))
    except SmokeConfigError as err:
        problems = err.problems
    assert all(p.startswith("Terraform output ") for p in problems)


def test_without_any_test_user_variable_both_are_named() -> None:
    with pytest.raises(SmokeConfigError) as refused:
        load_test_user({})

    assert refused.value.problems == [
        "CONFSYNC_TEST_USER is not set (the test user's e-mail address)",
        "CONFSYNC_TEST_CREDENTIALS is not set (delegated or oauth)",
    ]


def test_oauth_names_each_of_its_missing_variables() -> None:
    env = {"CONFSYNC_TEST_USER": "smoke@example.com", "CONFSYNC_TEST_CREDENTIALS": "oauth"}

    with pytest.raises(SmokeConfigError) as refused:
        load_test_user({**env, "CONFSYNC_TEST_OAUTH_CLIENT_ID": "client-1"})

    assert [p.split()[0] for p in refused.value.problems] == [
        "CONFSYNC_TEST_OAUTH_CLIENT_SECRET",
        "CONFSYNC_TEST_OAUTH_REFRESH_TOKEN",
    ]


def test_delegated_needs_the_delegation_account_and_a_bad_mode_is_refused() -> None:
    env = {"CONFSYNC_TEST_USER": "smoke@example.com", "CONFSYNC_TEST_CREDENTIALS": "delegated"}

    with pytest.raises(
        SmokeConfigError, match="CONFSYNC_TEST_DELEGATION_SERVICE_ACCOUNT is not set"
    ):
        load_test_user(env)
    with pytest.raises(SmokeConfigError, match="must be delegated or oauth, not 'key-file'"):
        load_test_user({**env, "CONFSYNC_TEST_CREDENTIALS": "key-file"})


def test_the_token_endpoints_default_to_googles_and_secrets_stay_out_of_repr() -> None:
    user = load_test_user(
        {
            "CONFSYNC_TEST_USER": "smoke@example.com",
            "CONFSYNC_TEST_CREDENTIALS": "oauth",
            "CONFSYNC_TEST_OAUTH_CLIENT_ID": "client-1",
            "CONFSYNC_TEST_OAUTH_CLIENT_SECRET": "s3cret-value",
            "CONFSYNC_TEST_OAUTH_REFRESH_TOKEN": "1//refresh-value",
        }
    )

    assert user.token_url == "https://oauth2.googleapis.com/token"
    assert user.iam_credentials_url == "https://iamcredentials.googleapis.com/v1/"
    assert "s3cret" not in repr(user)
    assert "refresh-value" not in repr(user)


@given(
    st.dictionaries(
        st.sampled_from(
            [
                "CONFSYNC_TEST_USER",
                "CONFSYNC_TEST_CREDENTIALS",
                "CONFSYNC_TEST_DELEGATION_SERVICE_ACCOUNT",
                "CONFSYNC_TEST_OAUTH_CLIENT_ID",
                "CONFSYNC_TEST_OAUTH_CLIENT_SECRET",
                "CONFSYNC_TEST_OAUTH_REFRESH_TOKEN",
            ]
        ),
        st.text(max_size=30),
    )
)
def test_any_environment_loads_or_names_its_problems(env: dict[str, str]) -> None:
    problems: list[str] = []
    try:
        user = load_test_user(env)
    except SmokeConfigError as err:
        problems = err.problems
    else:
        assert "@" in user.email
        assert user.mode in ("delegated", "oauth")
    assert all(p.startswith("CONFSYNC_TEST_") for p in problems)


def test_terraform_failing_is_named_by_its_error_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``make smoke`` before ``terraform init``: the refusal quotes Terraform's Error line, not
    the box drawing around its warnings."""
    fake = tmp_path / "terraform"
    fake.write_text(
        "#!/bin/sh\n"
        "cat >&2 <<'EOT'\n"
        "╷\n│ Warning: Unable to open CLI configuration file\n╵\n\n"
        'Error: Backend initialization required, please run "terraform init"\n\n'
        "Reason: Initial configuration of the requested backend\n"
        "EOT\n"
        "exit 1\n"
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")

    with pytest.raises(SmokeConfigError) as refused:
        terraform_outputs(tmp_path)

    said = 'Backend initialization required, please run "terraform init"'
    assert refused.value.problems == [f"terraform output -json failed: {said}"]
