"""The deployed target's credentials against the Google auth stand-in: the test user's token by
delegation (signJwt as the delegation account with the caller's default credentials, no key file
of that account) and by refresh token; and the command line refusing with exit 2, naming what is
missing, before anything is created."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from google_auth_emulator.server import GoogleAuthServer
from smoke.cli import main
from smoke.user_credentials import CALENDAR_SCOPE, TokenError, load_test_user, token_source
from tests.support.google_auth import DELEGATION_SA, RUNTIME_SA, Admin
from tests.tools.smoke.test_configuration import OUTPUTS, _terraform

USER = "smoke@example.com"


@pytest.fixture(scope="module", name="server")
def server_fixture() -> Iterator[GoogleAuthServer]:
    with GoogleAuthServer(host="127.0.0.1", port=0) as server:
        yield server


@pytest.fixture(name="admin")
def admin_fixture(
    server: GoogleAuthServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Admin:
    """A reset stand-in; the caller's default credentials are the runtime account's key file."""
    admin = Admin(server.token_url.rsplit("/", 1)[0])
    admin.post("reset", {})
    key_file = tmp_path / "adc.json"
    key_file.write_text(json.dumps(admin.key_file(RUNTIME_SA)))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key_file))
    return admin


def _delegated_env(server: GoogleAuthServer) -> dict[str, str]:
    return {
        "CONFSYNC_TEST_USER": USER,
        "CONFSYNC_TEST_CREDENTIALS": "delegated",
        "CONFSYNC_TEST_DELEGATION_SERVICE_ACCOUNT": DELEGATION_SA,
        "GOOGLE_TOKEN_URL": server.token_url,
        "IAM_CREDENTIALS_URL": server.iam_credentials_url,
    }


def _tokeninfo(server: GoogleAuthServer, token: str) -> dict[str, Any]:
    base = server.token_url.rsplit("/", 1)[0]
    answer = requests.get(f"{base}/tokeninfo", params={"access_token": token}, timeout=10)
    answer.raise_for_status()
    info: dict[str, Any] = answer.json()
    return info


def test_delegated_gets_a_calendar_token_acting_as_the_test_user(
    server: GoogleAuthServer, admin: Admin
) -> None:
    admin.post("token-creators", {"member": RUNTIME_SA, "serviceAccount": DELEGATION_SA})
    admin.post(
        "delegations",
        {"serviceAccount": DELEGATION_SA, "scopes": [CALENDAR_SCOPE], "subjects": [USER]},
    )
    tokens = token_source(load_test_user(_delegated_env(server)))

    token = tokens.token()

    info = _tokeninfo(server, token)
    assert (info["email"], info["scope"]) == (USER, CALENDAR_SCOPE)
    assert tokens.token() == token  # cached: one signJwt, one exchange
    assert admin.counts()["signJwt"] == 1


def test_delegated_without_the_administrators_authorization_is_refused_clearly(
    server: GoogleAuthServer, admin: Admin
) -> None:
    admin.post("token-creators", {"member": RUNTIME_SA, "serviceAccount": DELEGATION_SA})
    tokens = token_source(load_test_user(_delegated_env(server)))

    with pytest.raises(TokenError, match="unauthorized_client") as refused:
        tokens.token()

    assert CALENDAR_SCOPE in str(refused.value)  # the hint names the scope to authorize


def test_oauth_refreshes_the_test_users_token(server: GoogleAuthServer, admin: Admin) -> None:
    admin.post("oauth-clients", {"clientId": "smoke-client", "clientSecret": "smoke-secret"})
    grant = admin.post(
        "refresh-tokens", {"clientId": "smoke-client", "subject": USER, "scopes": [CALENDAR_SCOPE]}
    )
    env = {
        "CONFSYNC_TEST_USER": USER,
        "CONFSYNC_TEST_CREDENTIALS": "oauth",
        "CONFSYNC_TEST_OAUTH_CLIENT_ID": "smoke-client",
        "CONFSYNC_TEST_OAUTH_CLIENT_SECRET": "smoke-secret",
        "CONFSYNC_TEST_OAUTH_REFRESH_TOKEN": grant["refreshToken"],
        "GOOGLE_TOKEN_URL": server.token_url,
    }
    token = token_source(load_test_user(env)).token()

    assert _tokeninfo(server, token)["email"] == USER
    bad = {**env, "CONFSYNC_TEST_OAUTH_REFRESH_TOKEN": "1//revoked-or-unknown"}
    unknown = token_source(load_test_user(bad))
    with pytest.raises(TokenError, match="invalid_grant"):
        unknown.token()


def _outputs_file(tmp_path: Path, values: dict[str, Any]) -> str:
    path = tmp_path / "outputs.json"
    path.write_text(_terraform(values))
    return str(path)


def test_the_command_line_names_every_missing_variable_and_output_and_exits_2(
    tmp_path: Path, admin: Admin, capsys: pytest.CaptureFixture[str]
) -> None:
    del admin
    outputs = {k: v for k, v in OUTPUTS.items() if k != "scheduler_job"}

    status = main(["--outputs", _outputs_file(tmp_path, outputs)], env={})

    err = capsys.readouterr().err
    assert status == 2
    for name in (
        "CONFSYNC_TEST_USER",
        "CONFSYNC_TEST_CREDENTIALS",
        "CONFSYNC_SMOKE_CONFERENCING_URL",
        "CONFSYNC_SMOKE_CONFERENCING_CREDENTIAL",
        "Terraform output scheduler_job is missing",
    ):
        assert name in err
    assert "nothing was created (exit 2)" in err


def test_without_default_credentials_or_outputs_file_the_command_line_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "none.json"))

    status = main(["--outputs", str(tmp_path / "missing.json")], env={})

    err = capsys.readouterr().err
    assert status == 2
    assert "Application Default Credentials are missing" in err
    assert "--outputs" in err


def test_credentials_that_do_not_work_exit_2_before_anything_is_created(
    server: GoogleAuthServer, admin: Admin, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the delegation account exists, but the caller may not sign as it
    env = {
        **_delegated_env(server),
        "CONFSYNC_SMOKE_CONFERENCING_URL": "http://127.0.0.1:9",
        "CONFSYNC_SMOKE_CONFERENCING_CREDENTIAL": "provider-credential",
        "CALENDAR_API_URL": "http://127.0.0.1:9/calendar/v3/",
    }
    admin.post("service-accounts", {"email": DELEGATION_SA})

    status = main(["--outputs", _outputs_file(tmp_path, OUTPUTS)], env=env)

    captured = capsys.readouterr()
    assert status == 2
    assert "the test user's token" in captured.err
    assert "PERMISSION_DENIED" in captured.err or "403" in captured.err
    assert "step 1" not in captured.out
    assert "provider-credential" not in captured.out + captured.err
