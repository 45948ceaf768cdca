"""The stack's plan: ports, command lines, each function's environment and stack.env."""

from __future__ import annotations

import stat
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from conferencing_emulator.store import JOIN_URL_BASE
from confsync.config import (
    VARIABLES,
    load_channels_config,
    load_intake_config,
    load_sync_config,
)
from devstack.sdk import SdkJars
from devstack.stack import (
    FUNCTIONS,
    LOCAL_ALLOWED_DOMAINS,
    LOCAL_ENROLL_AUDIENCE,
    LOCAL_SETTINGS,
    STACK_ENV_KEYS,
    Part,
    Ports,
    StackPlan,
    StackSettings,
    TokenKeys,
    child_environment,
    load_or_create_token_keys,
    plan_stack,
)

TOKEN = TokenKeys(keys="local1:0123456789abcdef0123456789abcdef", active="local1")
JARS = SdkJars(
    sdk_root=Path("/sdk"),
    firestore=Path("/sdk/firestore.jar"),
    pubsub=Path("/sdk/pubsub-all.jar"),
)
PYTHON = "/venv/bin/python"


def _repo(tmp_path: Path, *functions: str) -> Path:
    for name in functions:
        folder = tmp_path / "functions" / name
        folder.mkdir(parents=True)
        (folder / "main.py").write_text("")
    return tmp_path


def _plan(repo: Path, settings: StackSettings | None = None) -> StackPlan:
    return plan_stack(
        settings or StackSettings(), repo_root=repo, jars=JARS, python=PYTHON, token_keys=TOKEN
    )


def test_default_ports_are_the_documented_ones() -> None:
    assert Ports().by_part() == {
        "firestore": 8681,
        "pubsub": 8682,
        "calendar": 8683,
        "conferencing": 8684,
        "google_auth": 8685,
        "intake": 8691,
        "sync": 8692,
        "channels": 8693,
    }


def test_every_part_runs_in_start_order_with_its_port_as_marker(tmp_path: Path) -> None:
    plan = _plan(_repo(tmp_path, "intake", "sync", "channels"))

    assert plan.names == [
        "firestore",
        "pubsub",
        "calendar",
        "conferencing",
        "google_auth",
        "intake",
        "sync",
        "channels",
        "scheduler",
    ]
    assert plan.skipped == ()
    for part in plan.parts:
        assert part.marker in part.argv or part.marker in " ".join(part.argv)
    sync = plan.part("sync")
    assert sync.argv == (
        "/venv/bin/functions-framework",
        "--target=sync",
        f"--source={tmp_path / 'functions' / 'sync' / 'main.py'}",
        "--signature-type=cloudevent",
        "--host=127.0.0.1",
        "--port=8692",
    )
    assert sync.ready_url == "http://127.0.0.1:8692/robots.txt"
    assert plan.part("intake").argv[3] == "--signature-type=http"
    assert plan.part("calendar").argv == (
        "/venv/bin/calendar-emulator",
        "--host=127.0.0.1",
        "--port=8683",
    )
    assert plan.part("google_auth").argv == (
        "/venv/bin/google-auth-emulator",
        "--host=127.0.0.1",
        "--port=8685",
    )
    assert plan.part("google_auth").ready_url == "http://127.0.0.1:8685/oauth2/v1/certs"
    assert plan.part("pubsub").argv[-1] == "--port=8682"
    scheduler = plan.part("scheduler")
    assert scheduler.argv[:3] == (PYTHON, "-m", "devstack.scheduler")
    assert "--pubsub-host=127.0.0.1:8682" in scheduler.argv
    assert "--interval=60" in scheduler.argv
    assert scheduler.ready_url is None


def test_ports_are_overridable(tmp_path: Path) -> None:
    settings = StackSettings(project="p-1", ports=Ports(sync=9999, pubsub=9998))
    plan = _plan(_repo(tmp_path, "sync"), settings)

    assert plan.part("sync").argv[-1] == "--port=9999"
    assert plan.stack_env["SYNC_URL"] == "http://127.0.0.1:9999"
    assert plan.stack_env["PUBSUB_EMULATOR_HOST"] == "127.0.0.1:9998"
    (subscription,) = plan.push_subscriptions
    assert subscription.endpoint == "http://127.0.0.1:9999/projects/p-1/topics/sync-requests"


def test_a_function_without_main_py_is_skipped_with_a_reason(tmp_path: Path) -> None:
    plan = _plan(_repo(tmp_path, "sync"))

    assert [skip.name for skip in plan.skipped] == ["intake", "channels"]
    assert "functions/intake/main.py is missing" in plan.skipped[0].reason
    assert "intake" not in plan.names
    assert [sub.name for sub in plan.push_subscriptions] == ["sync-requests-to-sync"]


def test_push_subscriptions_feed_the_functions_as_in_production(tmp_path: Path) -> None:
    plan = _plan(_repo(tmp_path, "intake", "sync", "channels"))

    assert plan.topics == ("sync-requests", "channel-commands", "confsync-dead-letter")
    assert {(sub.name, sub.topic, sub.endpoint) for sub in plan.push_subscriptions} == {
        (
            "sync-requests-to-sync",
            "sync-requests",
            "http://127.0.0.1:8692/projects/confsync-local/topics/sync-requests",
        ),
        (
            "channel-commands-to-channels",
            "channel-commands",
            "http://127.0.0.1:8693/projects/confsync-local/topics/channel-commands",
        ),
    }
    assert plan.dead_letter_subscription == "confsync-dead-letter-inspect"


def test_each_function_gets_exactly_what_config_says_it_reads(tmp_path: Path) -> None:
    plan = _plan(_repo(tmp_path, "intake", "sync", "channels"))
    used_by = {variable.name: variable.used_by for variable in VARIABLES}

    for spec in FUNCTIONS:
        env = plan.part(spec.name).env
        assert env["FIRESTORE_EMULATOR_HOST"] == "127.0.0.1:8681"
        assert env["PUBSUB_EMULATOR_HOST"] == "127.0.0.1:8682"
        assert env["PYTHONUNBUFFERED"] == "1"
        assert env["LOG_LEVEL"] == "INFO"
        for name in env:
            assert name not in used_by or spec.name in used_by[name], (spec.name, name)

    sync = plan.part("sync").env
    assert sync["CALENDAR_API_URL"] == "http://127.0.0.1:8683/calendar/v3/"
    assert sync["CONFERENCING_URL"] == "http://127.0.0.1:8684"
    assert sync["CONFSYNC_SOLUTION_NAMES"] == "My Web Conference,My Recorded Web Conference"
    # the conferencing emulator's join URLs may be written back
    assert sync["CONFSYNC_JOIN_URL_HOSTS"] == urlsplit(JOIN_URL_BASE).hostname
    assert "CONFSYNC_CHANNEL_TOKEN_KEYS" not in sync
    channels = plan.part("channels").env
    assert channels["CONFSYNC_INTAKE_URL"] == "http://127.0.0.1:8691"
    for name, value in LOCAL_SETTINGS.items():  # each to every function that reads it
        readers = [spec.name for spec in FUNCTIONS if spec.name in used_by[name]]
        assert readers
        assert all(plan.part(reader).env[name] == value for reader in readers), name
    assert plan.part("intake").env["CONFSYNC_CHANNEL_TOKEN_ACTIVE_KEY"] == "local1"


def test_intake_accepts_the_local_add_ons_id_tokens_from_the_auth_stand_in(
    tmp_path: Path,
) -> None:
    plan = _plan(_repo(tmp_path, "intake", "sync", "channels"))

    intake = load_intake_config(plan.part("intake").env)

    assert intake.enroll_audiences == frozenset({LOCAL_ENROLL_AUDIENCE})
    assert intake.id_token_certs_url == plan.part("google_auth").ready_url
    assert intake.allowed_domains.allows("alice@example.com")
    assert not intake.allowed_domains.allows("mallory@elsewhere.example")
    for name in ("sync", "channels"):
        env = plan.part(name).env
        assert "CONFSYNC_ENROLL_AUDIENCES" not in env
        assert "GOOGLE_ID_TOKEN_CERTS_URL" not in env


def test_the_functions_configuration_loads(tmp_path: Path) -> None:
    """What the plan gives each function passes that function's own validation."""
    plan = _plan(_repo(tmp_path, "intake", "sync", "channels"))

    load_sync_config(plan.part("sync").env)
    load_intake_config(plan.part("intake").env)
    channels = load_channels_config(plan.part("channels").env)
    assert channels.sweep_interval_s == 120
    assert channels.renewal_window_s < channels.channel_ttl_s


def test_overrides_and_solution_names_reach_the_functions(tmp_path: Path) -> None:
    settings = StackSettings(
        solution_names="Only Mine",
        overrides={"CONFSYNC_LEASE_SECONDS": "60", "SOMETHING_NEW": "x"},
    )
    plan = _plan(_repo(tmp_path, "intake", "sync"), settings)

    assert plan.part("sync").env["CONFSYNC_SOLUTION_NAMES"] == "Only Mine"
    assert plan.part("sync").env["CONFSYNC_LEASE_SECONDS"] == "60"
    assert "CONFSYNC_LEASE_SECONDS" not in plan.part("intake").env  # sync reads it, intake not
    assert plan.part("intake").env["SOMETHING_NEW"] == "x"
    assert plan.part("sync").fingerprint() != _plan(tmp_path).part("sync").fingerprint()


def test_stack_env_has_everything_a_cli_needs(tmp_path: Path) -> None:
    plan = _plan(_repo(tmp_path, "sync"))

    assert tuple(plan.stack_env) == STACK_ENV_KEYS
    assert plan.stack_env == {
        "PROJECT": "confsync-local",
        "GOOGLE_CLOUD_PROJECT": "confsync-local",
        "FIRESTORE_EMULATOR_HOST": "127.0.0.1:8681",
        "PUBSUB_EMULATOR_HOST": "127.0.0.1:8682",
        "CALENDAR_API_URL": "http://127.0.0.1:8683/calendar/v3/",
        "CALENDAR_EMULATOR_URL": "http://127.0.0.1:8683",
        "CONFERENCING_URL": "http://127.0.0.1:8684",
        "INTAKE_URL": "http://127.0.0.1:8691",
        "SYNC_URL": "http://127.0.0.1:8692",
        "CHANNELS_URL": "http://127.0.0.1:8693",
        "CONFSYNC_CHANNEL_TOKEN_KEYS": TOKEN.keys,
        "CONFSYNC_CHANNEL_TOKEN_ACTIVE_KEY": "local1",
        "CONFSYNC_INTAKE_URL": "http://127.0.0.1:8691",
        "ENROLL_URL": "http://127.0.0.1:8691/v1/enroll",
        "ENROLL_AUDIENCE": "confsync-local-addon.apps.example",
        "ALLOWED_DOMAINS": "example.com",
        "CONFSYNC_ALLOWED_DOMAINS": "example.com",
        "GOOGLE_AUTH_EMULATOR_URL": "http://127.0.0.1:8685",
    }


@pytest.mark.parametrize(
    ("overrides", "audience"),
    [
        ({"CONFSYNC_ALLOWED_DOMAINS": "example.com,example.org"}, LOCAL_ENROLL_AUDIENCE),
        ({"CONFSYNC_ALLOWED_DOMAINS": "*"}, LOCAL_ENROLL_AUDIENCE),
        ({"CONFSYNC_ENROLL_AUDIENCES": " a.apps.example , b.apps.example"}, "a.apps.example"),
        ({"CONFSYNC_ENROLL_AUDIENCES": ""}, ""),  # add-on enrolment off
    ],
)
def test_stack_env_follows_the_enrolment_overrides(
    tmp_path: Path, overrides: dict[str, str], audience: str
) -> None:
    plan = _plan(_repo(tmp_path, "intake"), StackSettings(overrides=overrides))
    expected_domains = overrides.get("CONFSYNC_ALLOWED_DOMAINS", LOCAL_ALLOWED_DOMAINS)

    assert plan.stack_env["ENROLL_AUDIENCE"] == audience
    assert plan.stack_env["ALLOWED_DOMAINS"] == expected_domains
    assert plan.stack_env["CONFSYNC_ALLOWED_DOMAINS"] == expected_domains
    intake = plan.part("intake").env
    assert intake["CONFSYNC_ALLOWED_DOMAINS"] == expected_domains
    assert intake["CONFSYNC_ENROLL_AUDIENCES"] == overrides.get(
        "CONFSYNC_ENROLL_AUDIENCES", LOCAL_ENROLL_AUDIENCE
    )


def test_the_auth_stand_ins_port_moves_its_urls(tmp_path: Path) -> None:
    plan = _plan(_repo(tmp_path, "intake"), StackSettings(ports=Ports(google_auth=9997)))

    assert plan.part("google_auth").argv[-1] == "--port=9997"
    assert plan.stack_env["GOOGLE_AUTH_EMULATOR_URL"] == "http://127.0.0.1:9997"
    certs = "http://127.0.0.1:9997/oauth2/v1/certs"
    assert plan.part("intake").env["GOOGLE_ID_TOKEN_CERTS_URL"] == certs


def test_port_flags_are_the_clis_spelling() -> None:
    args = Ports(google_auth=1, calendar=2).cli_args()

    assert args[args.index("--google-auth-port") + 1] == "1"
    assert args[args.index("--calendar-port") + 1] == "2"
    assert len(args) == 2 * len(Ports().by_part())


def test_a_wildcard_bind_address_is_reached_on_loopback(tmp_path: Path) -> None:
    plan = _plan(_repo(tmp_path, "sync"), StackSettings(host="0.0.0.0"))

    assert plan.part("sync").argv[-2] == "--host=0.0.0.0"
    assert plan.stack_env["SYNC_URL"] == "http://127.0.0.1:8692"


def test_token_keys_are_generated_once_and_kept(tmp_path: Path) -> None:
    first = load_or_create_token_keys(tmp_path)
    second = load_or_create_token_keys(tmp_path)

    assert first == second
    kid, _, secret = first.keys.partition(":")
    assert kid == first.active
    assert len(secret) >= 32
    mode = stat.S_IMODE((tmp_path / "channel-token.env").stat().st_mode)
    assert mode == 0o600
    assert load_or_create_token_keys(tmp_path / "other") != first


def test_child_environment_drops_stale_confsync_variables() -> None:
    plan_env = {"LOG_LEVEL": "INFO", "FIRESTORE_EMULATOR_HOST": "127.0.0.1:1"}
    base = {
        "PATH": "/bin",
        "CONFSYNC_LEASE_SECONDS": "5",
        "FIRESTORE_EMULATOR_HOST": "elsewhere:9",
        "PUBSUB_EMULATOR_HOST": "elsewhere:8",
        "CONFERENCING_EMULATOR_CREDENTIAL": "secret",
    }
    part = Part("sync", "function", ("x",), "x", None, plan_env)
    assert child_environment(part, base) == {"PATH": "/bin", **plan_env}


@pytest.mark.parametrize("name", ["firestore", "pubsub", "calendar", "conferencing", "google_auth"])
def test_emulators_have_readiness_urls(tmp_path: Path, name: str) -> None:
    part = _plan(_repo(tmp_path)).part(name)

    assert part.ready_url is not None
    assert part.ready_url.startswith(f"http://127.0.0.1:{Ports().by_part()[name]}/")
