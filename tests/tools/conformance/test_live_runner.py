"""``make conformance-live`` as far as this machine allows: ``python -m conformance`` run against
the Calendar emulator standing in for Google, with tokens from the Google auth stand-in obtained
as against Google (``delegated``: the caller's default credentials sign through IAM ``signJwt``;
``oauth``: a refresh token). The stand-in's tokens are anonymous to the emulator, so the checks
themselves run as they do in ``make test``; what is tested here is the live path around them:
credentials, the exit code without them, the scratch calendar's cleanup, and the report."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from calendar_emulator.server import EmulatorServer
from conformance.cli import main
from google_auth_emulator.server import GoogleAuthServer
from tests.support.google_auth import DELEGATION_SA, RUNTIME_SA, Admin
from tests.support.paths import REPO_ROOT
from testuser.variables import CALENDAR_SCOPE

USER = "tester@conformance.example"
CLIENT_ID, CLIENT_SECRET = "conformance-client.apps.example", "conformance-secret"


@pytest.fixture(scope="module", name="calendar_server")
def fixture_calendar_server() -> Iterator[EmulatorServer]:
    with EmulatorServer(host="127.0.0.1", port=0) as server:
        yield server


@pytest.fixture(scope="module", name="auth_server")
def fixture_auth_server() -> Iterator[GoogleAuthServer]:
    with GoogleAuthServer(host="127.0.0.1", port=0) as server:
        yield server


@pytest.fixture(name="auth")
def fixture_auth(auth_server: GoogleAuthServer) -> Admin:
    auth = Admin(auth_server.base_url)
    auth.post("reset", {})
    return auth


@pytest.fixture(name="calendar_admin")
def fixture_calendar_admin(calendar_server: EmulatorServer) -> str:
    admin = f"{calendar_server.base_url}/emulator/v1"
    requests.post(f"{admin}/reset", timeout=10).raise_for_status()
    return admin


def _stand_in_urls(auth_server: GoogleAuthServer, calendar: EmulatorServer) -> dict[str, str]:
    return {
        "GOOGLE_TOKEN_URL": auth_server.token_url,
        "IAM_CREDENTIALS_URL": auth_server.iam_credentials_url,
        "CALENDAR_API_URL": calendar.api_endpoint,
    }


def _delegated_env(auth: Admin, auth_server: GoogleAuthServer, tmp_path: Path) -> dict[str, str]:
    """The caller's default credentials (a key file standing in for `gcloud auth
    application-default login`) may sign as the delegation account, which the Workspace admin
    authorized for the calendar scope."""
    key_file = tmp_path / "caller-key.json"
    key_file.write_text(json.dumps(auth.key_file(RUNTIME_SA)))
    auth.post("token-creators", {"member": RUNTIME_SA, "serviceAccount": DELEGATION_SA})
    auth.post(
        "delegations",
        {"serviceAccount": DELEGATION_SA, "scopes": [CALENDAR_SCOPE], "subjects": [USER]},
    )
    return {
        "GOOGLE_APPLICATION_CREDENTIALS": str(key_file),
        "CONFSYNC_TEST_USER": USER,
        "CONFSYNC_TEST_CREDENTIALS": "delegated",
        "CONFSYNC_TEST_DELEGATION_SERVICE_ACCOUNT": DELEGATION_SA,
    }


def _oauth_env(auth: Admin) -> dict[str, str]:
    auth.post("oauth-clients", {"clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET})
    granted = auth.post(
        "refresh-tokens", {"clientId": CLIENT_ID, "subject": USER, "scopes": [CALENDAR_SCOPE]}
    )
    return {
        "CONFSYNC_TEST_USER": USER,
        "CONFSYNC_TEST_CREDENTIALS": "oauth",
        "CONFSYNC_TEST_OAUTH_CLIENT_ID": CLIENT_ID,
        "CONFSYNC_TEST_OAUTH_CLIENT_SECRET": CLIENT_SECRET,
        "CONFSYNC_TEST_OAUTH_REFRESH_TOKEN": granted["refreshToken"],
    }


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CONFSYNC_")}
    clean.pop("GOOGLE_APPLICATION_CREDENTIALS", None)
    return subprocess.run(
        [sys.executable, "-m", "conformance", *args],
        cwd=REPO_ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _counts(admin: str) -> dict[str, int]:
    counts: dict[str, int] = requests.get(f"{admin}/requests", timeout=10).json()["counts"]
    return counts


def _scratch_calendars(output: str) -> list[str]:
    marker = "scratch calendar deleted: "
    return [line.split(marker, 1)[1] for line in output.splitlines() if marker in line]


def _status(calendar: EmulatorServer, calendar_id: str) -> int:
    url = f"{calendar.api_endpoint}calendars/{calendar_id}"
    return requests.get(url, timeout=10).status_code


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["delegated", "oauth"])
def test_the_live_run_passes_against_the_stand_ins_and_reports_what_it_found(
    mode: str,
    *,
    auth: Admin,
    auth_server: GoogleAuthServer,
    calendar_server: EmulatorServer,
    calendar_admin: str,
    tmp_path: Path,
) -> None:
    env = _delegated_env(auth, auth_server, tmp_path) if mode == "delegated" else _oauth_env(auth)
    report = tmp_path / "unconfirmed.md"

    run = _run({**env, **_stand_in_urls(auth_server, calendar_server)}, "--report", str(report))

    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    counts = _counts(calendar_admin)
    assert f"{sum(counts.values())} Calendar calls" in run.stdout  # it counted every call
    scratch = _scratch_calendars(run.stdout)  # the checks' calendar and a move's destination
    assert counts["calendar.calendars.insert"] == counts["calendar.calendars.delete"] == 2
    assert len(scratch) == 2
    assert [_status(calendar_server, made) for made in scratch] == [404, 404]  # deleted
    table = report.read_text()
    assert "| 1.4 | a full list with updatedMin ends with a nextSyncToken |" in table
    assert "| confirmed |" in table
    assert "contradicted" not in table
    assert table in run.stdout.replace("\r", "")  # printed as written
    assert "needs CONFSYNC_TEST_SECOND_USER" in run.stdout  # skipped, naming the variable
    assert "needs CONFSYNC_TEST_PUSH_URL" in run.stdout
    grants = {call.get("grant") for call in auth.get("tokens")["tokens"]}
    assert ("jwt-bearer" if mode == "delegated" else "refresh_token") in grants


@pytest.mark.slow
def test_a_failing_check_still_deletes_the_scratch_calendar_and_is_reported(
    *,
    auth: Admin,
    auth_server: GoogleAuthServer,
    calendar_server: EmulatorServer,
    calendar_admin: str,
    tmp_path: Path,
) -> None:
    env = {**_oauth_env(auth), **_stand_in_urls(auth_server, calendar_server)}
    # Google "contradicts" the emulator: a full list with updatedMin gives no sync token.
    fault: dict[str, Any] = {"method": "calendar.events.list", "status": 400, "reason": "invalid"}
    requests.post(f"{calendar_admin}/faults", json=[fault], timeout=10).raise_for_status()

    run = _run(env, "--", "-k", "updated_min or garbled")

    assert run.returncode == 1, run.stdout[-3000:]
    [scratch] = _scratch_calendars(run.stdout)
    assert _status(calendar_server, scratch) == 404
    assert "| 1.4 | a full list with updatedMin ends with a nextSyncToken |" in run.stdout
    assert "| contradicted" in run.stdout


def test_without_credentials_it_names_what_is_missing_and_exits_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main([], environ={"CONFSYNC_TEST_CREDENTIALS": "oauth"})

    err = capsys.readouterr().err
    assert code == 2
    for name in (
        "CONFSYNC_TEST_USER",
        "CONFSYNC_TEST_OAUTH_CLIENT_ID",
        "CONFSYNC_TEST_OAUTH_CLIENT_SECRET",
        "CONFSYNC_TEST_OAUTH_REFRESH_TOKEN",
    ):
        assert f"{name} is not set" in err


def test_without_any_variable_it_exits_2_before_calling_anything(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main([], environ={})

    err = capsys.readouterr().err
    assert code == 2
    assert "CONFSYNC_TEST_USER is not set" in err
    assert "CONFSYNC_TEST_CREDENTIALS is not set (delegated or oauth)" in err


@pytest.mark.slow
def test_a_run_stopped_with_sigterm_still_deletes_its_scratch_calendar(
    *,
    auth: Admin,
    auth_server: GoogleAuthServer,
    calendar_server: EmulatorServer,
    calendar_admin: str,
) -> None:
    env = {**_oauth_env(auth), **_stand_in_urls(auth_server, calendar_server)}
    slow: dict[str, Any] = {"method": "calendar.events.list", "delayMs": 300}
    requests.post(f"{calendar_admin}/faults", json=[slow], timeout=10).raise_for_status()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CONFSYNC_")}
    run = subprocess.Popen(
        [sys.executable, "-m", "conformance"],
        cwd=REPO_ROOT,
        env={**clean, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while _counts(calendar_admin).get("calendar.events.list", 0) < 3:
            assert time.monotonic() < deadline, "the run never got going"
            time.sleep(0.1)
        run.send_signal(signal.SIGTERM)
        output, _ = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            run.kill()

    assert run.returncode != 0
    counts = _counts(calendar_admin)
    assert counts["calendar.calendars.insert"] == 1
    assert counts.get("calendar.calendars.delete") == 1, output[-3000:]
    [scratch] = _scratch_calendars(output)
    assert _status(calendar_server, scratch) == 404


def test_refused_credentials_stop_the_run_before_any_calendar_call(
    *,
    auth: Admin,
    auth_server: GoogleAuthServer,
    calendar_server: EmulatorServer,
    calendar_admin: str,
    tmp_path: Path,
) -> None:
    env = _delegated_env(auth, auth_server, tmp_path)
    requests.delete(  # the Workspace administrator withdrew the delegation
        f"{auth_server.base_url}/emulator/v1/delegations",
        json={"serviceAccount": DELEGATION_SA},
        timeout=10,
    ).raise_for_status()

    run = _run({**env, **_stand_in_urls(auth_server, calendar_server)})

    assert run.returncode == 2
    assert f"no access token for {USER} (delegated)" in run.stderr
    assert "unauthorized_client" in run.stderr
    assert "test session starts" not in run.stdout
    assert _counts(calendar_admin) == {}
