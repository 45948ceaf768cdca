"""``delegated`` and ``oauth`` Calendar credentials end to end, against the Google auth stand-in.

The stand-in verifies every assertion against the key its ``signJwt`` signed with, so a token it
issues proves the signing went through the IAM signer as the delegation account. The runtime
identity is a key file the stand-in hands out, found by ``google.auth.default()`` exactly as the
metadata server is found in production. Sync runs are built by the composition root from
configuration, as the ``sync`` function builds them.
"""

from __future__ import annotations

import base64
import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from calendar_emulator.server import EmulatorServer
from confsync.adapters.calendar_api import GoogleCalendarClientFactory, RetryPolicy
from confsync.adapters.google_credentials import (
    CALENDAR_SCOPES,
    REFRESH_SKEW_S,
    credentials_provider,
)
from confsync.adapters.oauth_grants import GRANTS_COLLECTION, grant_document_id
from confsync.cli.grants import add_grant_parser, run_grant
from confsync.config import CalendarAuthConfig
from google_auth_emulator.server import GoogleAuthServer
from tests.support.google_auth import DELEGATION_SA, RUNTIME_SA, Admin
from tests.support.sync_stack import SyncStack

SCOPE = CALENDAR_SCOPES[0]
CLIENT_ID, CLIENT_SECRET = "client-1.apps.example", "client-secret-1"
TOKEN_KEY = bytes(range(32))


class OffsetClock:
    """Real time plus a shift that a test moves forward; shared by confsync and the stand-in."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


class Auth(Admin):
    """The stand-in's admin API (the conformance tests' client), set up as a deployment would be,
    and the server it drives."""

    def __init__(self, server: GoogleAuthServer) -> None:
        super().__init__(server.base_url)
        self.server = server

    def delegated_tokens(self) -> list[dict[str, Any]]:
        """Tokens issued to users through the delegation account (not the runtime's own)."""
        tokens: list[dict[str, Any]] = self.get("tokens")["tokens"]
        return [t for t in tokens if t["principal"] != RUNTIME_SA and t["grant"] == "jwt-bearer"]


@pytest.fixture(scope="module", name="clock")
def clock_fixture() -> OffsetClock:
    return OffsetClock()


@pytest.fixture(scope="module", name="auth_server")
def auth_server_fixture(clock: OffsetClock) -> Iterator[GoogleAuthServer]:
    with GoogleAuthServer(host="127.0.0.1", port=0, clock=clock) as server:
        yield server


@pytest.fixture(name="auth")
def auth_fixture(
    auth_server: GoogleAuthServer,
    clock: OffsetClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Auth:
    """A reset stand-in; the runtime account's key file is the process's default credentials
    and may sign as the delegation account, which is authorized for the events scope."""
    clock.offset = 0.0
    auth = Auth(auth_server)
    auth.post("reset", {})
    key_file = tmp_path / "runtime-key.json"
    key_file.write_text(json.dumps(auth.key_file(RUNTIME_SA)))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key_file))
    auth.post("token-creators", {"member": RUNTIME_SA, "serviceAccount": DELEGATION_SA})
    auth.post("delegations", {"serviceAccount": DELEGATION_SA, "scopes": [SCOPE]})
    return auth


# --- delegated, the provider against the stand-in and the Calendar emulator ----------------------


def _calendar(auth: Auth, calendar_server: EmulatorServer, clock: OffsetClock) -> Any:
    config = CalendarAuthConfig(
        mode="delegated",
        delegation_service_account=DELEGATION_SA,
        oauth_client_id=None,
        oauth_client_secret=None,
        oauth_token_keys=None,
        token_url=auth.server.token_url,
        iam_credentials_url=auth.server.iam_credentials_url,
    )
    return GoogleCalendarClientFactory(
        credentials_provider(config, clock=clock),
        api_endpoint=calendar_server.api_endpoint,
        retry=RetryPolicy(max_attempts=2, base_delay=0.01),
    )


def test_many_calendar_requests_cost_one_signed_assertion(
    auth: Auth, calendar_server: EmulatorServer, clock: OffsetClock
) -> None:
    auth.post(
        "delegations",
        {"serviceAccount": DELEGATION_SA, "scopes": [SCOPE], "subjects": ["alice@example.com"]},
    )
    factory = _calendar(auth, calendar_server, clock)

    for _ in range(3):  # three runs, each with its own client, as the sync function makes them
        client = factory.for_subject("alice@example.com")
        for _ in range(4):
            client.list_page("alice@example.com", sync_token=None, page_token=None, time_min=None)

    counts = auth.counts()
    assert counts["signJwt"] == 1
    [token] = auth.delegated_tokens()
    assert token["principal"] == "alice@example.com"
    assert token["serviceAccount"] == DELEGATION_SA
    assert token["scopes"] == [SCOPE]


def test_a_token_is_replaced_before_it_expires(
    auth: Auth, calendar_server: EmulatorServer, clock: OffsetClock
) -> None:
    auth.post(
        "delegations",
        {"serviceAccount": DELEGATION_SA, "scopes": [SCOPE], "subjects": ["alice@example.com"]},
    )
    client = _calendar(auth, calendar_server, clock).for_subject("alice@example.com")
    client.list_page("alice@example.com", sync_token=None, page_token=None, time_min=None)

    clock.offset = 3599 - REFRESH_SKEW_S + 1
    client.list_page("alice@example.com", sync_token=None, page_token=None, time_min=None)

    tokens = auth.delegated_tokens()
    assert len(tokens) == 2
    assert tokens[1]["issuedAt"] >= tokens[0]["expiresAt"] - REFRESH_SKEW_S


# --- delegated, a sync run built from configuration ---------------------------------------------


PROVIDER_SECRETS = {
    "CONFERENCING_CREDENTIAL": "credentials-flow-credential",
    "CONFERENCING_SIGNING_SECRET": "credentials-flow-signing-secret-0123456789",
}
"""What a sync outside the local stack must have (the open conferencing emulator ignores them)."""


def _delegated_env(auth: Auth) -> dict[str, str]:
    return {
        **PROVIDER_SECRETS,
        "CONFSYNC_CALENDAR_CREDENTIALS": "delegated",
        "CONFSYNC_DELEGATION_SERVICE_ACCOUNT": DELEGATION_SA,
        "GOOGLE_TOKEN_URL": auth.server.token_url,
        "IAM_CREDENTIALS_URL": auth.server.iam_credentials_url,
    }


def test_a_delegated_sync_runs_and_a_revoked_user_is_disconnected(
    sync_stack: SyncStack, auth: Auth
) -> None:
    subject = sync_stack.calendar_id
    auth.post(
        "delegations", {"serviceAccount": DELEGATION_SA, "scopes": [SCOPE], "subjects": [subject]}
    )
    env = _delegated_env(auth)

    first = sync_stack.sync(sync_stack.runner(**env))
    auth.post("revoke", {"subject": subject})
    second = sync_stack.sync(sync_stack.runner(**env))

    assert first.status != "disconnected"
    assert [t["principal"] for t in auth.delegated_tokens()] == [subject]
    assert second.status == "disconnected"
    doc = sync_stack.calendars.get(sync_stack.key)
    assert doc is not None
    assert doc.state == "disconnected"
    assert doc.last_outcome is not None
    assert "invalid_grant" in doc.last_outcome
    assert subject not in doc.last_outcome
    assert doc.disconnected_at is not None  # the retention runs from here


def test_a_missing_token_creator_role_disconnects_with_the_fix_named(
    sync_stack: SyncStack, auth: Auth
) -> None:
    auth.http.delete(
        f"{auth.base}/token-creators",
        json={"member": RUNTIME_SA, "serviceAccount": DELEGATION_SA},
        timeout=10,
    ).raise_for_status()

    outcome = sync_stack.sync(sync_stack.runner(**_delegated_env(auth)))

    assert outcome.status == "disconnected"
    doc = sync_stack.calendars.get(sync_stack.key)
    assert doc is not None
    assert doc.last_outcome is not None
    assert "roles/iam.serviceAccountTokenCreator" in doc.last_outcome


# --- oauth: grants stored by `confsync grant`, read by the sync -----------------------------------


def _grant(
    env: dict[str, str],
    subject: str,
    token: str = "",
    *,
    revoke: bool = False,
    err: io.StringIO | None = None,
) -> int:
    import argparse  # noqa: PLC0415

    parser = argparse.ArgumentParser()
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true")
    add_grant_parser(parser.add_subparsers(dest="command"), common)
    args = parser.parse_args(["grant", subject, *(["--revoke"] if revoke else [])])
    return run_grant(args, env, stdin=io.StringIO(token + "\n"), out=io.StringIO(), err=err)


def _oauth_env(sync_stack: SyncStack, auth: Auth, key: bytes = TOKEN_KEY) -> dict[str, str]:
    return {
        **sync_stack.env,
        **PROVIDER_SECRETS,
        "CONFSYNC_CALENDAR_CREDENTIALS": "oauth",
        "CONFSYNC_OAUTH_CLIENT_ID": CLIENT_ID,
        "CONFSYNC_OAUTH_CLIENT_SECRET": CLIENT_SECRET,
        "CONFSYNC_OAUTH_TOKEN_KEY": base64.b64encode(key).decode(),
        "GOOGLE_TOKEN_URL": auth.server.token_url,
    }


GRANTED = ["openid", "email", SCOPE]
"""What the add-on's consent screen asks for: the identity scopes `confsync grant` checks, and
the one Calendar scope the functions use."""


def _refresh_token(auth: Auth, subject: str, scopes: list[str] = GRANTED) -> str:
    """``subject`` authorizes confsync's OAuth client for ``scopes``."""
    auth.post("oauth-clients", {"clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET})
    answer = auth.post(
        "refresh-tokens", {"clientId": CLIENT_ID, "subject": subject, "scopes": scopes}
    )
    refresh_token: str = answer["refreshToken"]
    return refresh_token


def _functions_refreshes(auth: Auth) -> list[dict[str, Any]]:
    """The refresh-token grants the functions made (not `confsync grant`'s identity check)."""
    calls: list[dict[str, Any]] = auth.get("stats")["calls"]
    return [
        c
        for c in calls
        if c["endpoint"] == "token"
        and c["grant"] == "refresh_token"
        and "openid" not in c.get("scopes", [])
    ]


@pytest.fixture(name="granted")
def granted_fixture(sync_stack: SyncStack, auth: Auth) -> str:
    """The user authorized confsync's OAuth client; the operator stored the refresh token."""
    refresh_token = _refresh_token(auth, sync_stack.calendar_id)
    assert _grant(_oauth_env(sync_stack, auth), sync_stack.calendar_id, refresh_token) == 0
    return refresh_token


def _stored_grants(sync_stack: SyncStack) -> list[Any]:
    return list(sync_stack.firestore.collection(GRANTS_COLLECTION).stream())


def test_grant_checks_the_token_once_asking_only_for_identity_and_calendar(
    sync_stack: SyncStack, auth: Auth, granted: str
) -> None:
    calls = [c for c in auth.get("stats")["calls"] if c["endpoint"] == "token"]

    [check] = calls
    assert check["subject"] == sync_stack.calendar_id
    assert check["scopes"] == GRANTED
    assert check["idToken"] is True
    assert len(_stored_grants(sync_stack)) == 1


def test_grant_refuses_a_token_of_another_user_and_stores_nothing(
    sync_stack: SyncStack, auth: Auth
) -> None:
    bobs = _refresh_token(auth, "bob@example.com")
    err = io.StringIO()

    code = _grant(_oauth_env(sync_stack, auth), sync_stack.calendar_id, bobs, err=err)

    assert code == 2
    [line] = err.getvalue().splitlines()
    assert f"belongs to bob@example.com, not {sync_stack.calendar_id}" in line
    assert bobs not in line
    assert _stored_grants(sync_stack) == []


@pytest.mark.parametrize("scopes", [[SCOPE], ["openid", SCOPE], ["openid", "email"]])
def test_grant_refuses_a_token_without_the_scopes_and_says_how_to_consent(
    sync_stack: SyncStack, auth: Auth, scopes: list[str]
) -> None:
    token = _refresh_token(auth, sync_stack.calendar_id, scopes)
    err = io.StringIO()

    code = _grant(_oauth_env(sync_stack, auth), sync_stack.calendar_id, token, err=err)

    assert code == 2
    [line] = err.getvalue().splitlines()
    assert "must grant access again, consenting to openid email " + SCOPE in line
    assert _stored_grants(sync_stack) == []


def test_grant_refuses_a_revoked_token_and_stores_nothing(
    sync_stack: SyncStack, auth: Auth
) -> None:
    token = _refresh_token(auth, sync_stack.calendar_id)
    auth.post("revoke", {"refreshToken": token})
    err = io.StringIO()

    code = _grant(_oauth_env(sync_stack, auth), sync_stack.calendar_id, token, err=err)

    assert code == 2
    assert "invalid_grant" in err.getvalue()
    assert _stored_grants(sync_stack) == []


def test_a_stored_grant_is_sealed_under_an_opaque_id(sync_stack: SyncStack, granted: str) -> None:
    snapshots = _stored_grants(sync_stack)

    [snapshot] = snapshots
    assert snapshot.id == grant_document_id(sync_stack.calendar_id)
    assert sync_stack.calendar_id not in snapshot.id
    body = snapshot.to_dict()
    assert body is not None
    assert body["subject"] == sync_stack.calendar_id
    assert granted.encode() not in body["grant"]


def test_an_oauth_sync_uses_the_stored_grant_once(
    sync_stack: SyncStack, auth: Auth, granted: str
) -> None:
    runner = sync_stack.runner(**_oauth_env(sync_stack, auth))

    outcomes = [sync_stack.sync(runner).status for _ in range(2)]

    assert "disconnected" not in outcomes
    [refresh] = _functions_refreshes(auth)
    assert refresh["scopes"] == [SCOPE]  # never the identity scopes the grant also holds
    assert refresh["idToken"] is False
    [token] = [t for t in auth.get("tokens")["tokens"] if t["scopes"] == [SCOPE]]
    assert token["principal"] == sync_stack.calendar_id


def test_a_revoked_refresh_token_disconnects_the_calendar(
    sync_stack: SyncStack, auth: Auth, granted: str
) -> None:
    auth.post("revoke", {"refreshToken": granted})

    outcome = sync_stack.sync(sync_stack.runner(**_oauth_env(sync_stack, auth)))

    assert outcome.status == "disconnected"
    doc = sync_stack.calendars.get(sync_stack.key)
    assert doc is not None
    assert doc.last_outcome is not None
    assert "invalid_grant" in doc.last_outcome


def test_a_grant_deleted_with_revoke_disconnects_the_calendar(
    sync_stack: SyncStack, auth: Auth, granted: str
) -> None:
    env = _oauth_env(sync_stack, auth)
    assert _grant(env, sync_stack.calendar_id, revoke=True) == 0
    assert _grant(env, sync_stack.calendar_id, revoke=True) == 1  # nothing left to revoke

    outcome = sync_stack.sync(sync_stack.runner(**env))

    assert outcome.status == "disconnected"
    doc = sync_stack.calendars.get(sync_stack.key)
    assert doc is not None
    assert doc.last_outcome is not None
    assert "confsync grant" in doc.last_outcome


def test_a_wrong_token_key_decrypts_nothing_and_calls_no_token_endpoint(
    sync_stack: SyncStack, auth: Auth, granted: str
) -> None:
    env = _oauth_env(sync_stack, auth, key=bytes(32))

    outcome = sync_stack.sync(sync_stack.runner(**env))

    assert outcome.status == "disconnected"
    assert _functions_refreshes(auth) == []
    doc = sync_stack.calendars.get(sync_stack.key)
    assert doc is not None
    assert doc.last_outcome is not None
    assert "another key" in doc.last_outcome
