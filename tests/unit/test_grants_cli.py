"""``confsync grant``: the refresh token comes from stdin only, is stored sealed, never printed,
and only once the token endpoint's ID token says it is the subject's (a fake token endpoint
here; tests/integration/test_credentials_flow.py runs it against the Google auth stand-in)."""

from __future__ import annotations

import argparse
import base64
import io
import json
from datetime import datetime
from typing import Any

import pytest

from confsync.cli.grant_subject import GrantCheckError, TokenAnswer, grant_scopes
from confsync.cli.grants import add_grant_parser, run_grant
from confsync.config import CliConfig
from confsync.grant_crypto import open_grant

KEY = bytes(range(32))
TOKEN = "1//0gRefreshTokenOfAlice"
CLIENT_ID = "client-1.apps.example"
ENV = {
    "GOOGLE_CLOUD_PROJECT": "confsync-test",
    "CONFSYNC_OAUTH_TOKEN_KEY": base64.b64encode(KEY).decode(),
    "CONFSYNC_OAUTH_CLIENT_ID": CLIENT_ID,
    "CONFSYNC_OAUTH_CLIENT_SECRET": "client-secret-1",
}


def jwt_of(claims: dict[str, Any]) -> str:
    """An unsigned compact JWT (the check reads claims only; the signature is not verified)."""

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256', 'kid': 'k1'})}.{part(claims)}.c2ln"


def id_token(email: str | None = "alice@example.com", **claims: Any) -> str:
    """Google's ID token for ``email`` issued to the client; ``claims`` override or add."""
    body: dict[str, Any] = {
        "iss": "https://accounts.google.com",
        "aud": CLIENT_ID,
        "azp": CLIENT_ID,
        "sub": "110169484474386276334",
        "iat": 1_796_000_000,
        "exp": 1_796_003_600,
    }
    if email is not None:
        body.update(email=email, email_verified=True)
    body.update(claims)
    return jwt_of(body)


class FakeTokenEndpoint:
    """A ``Redeem``: answers what it is given and records each refresh token it was asked about."""

    def __init__(self) -> None:
        self.answer: TokenAnswer | GrantCheckError = TokenAnswer(
            id_token(), frozenset(grant_scopes())
        )
        self.asked: list[tuple[str, CliConfig]] = []

    def __call__(self, refresh_token: str, config: CliConfig) -> TokenAnswer:
        self.asked.append((refresh_token, config))
        if isinstance(self.answer, GrantCheckError):
            raise self.answer
        return self.answer


class InMemoryGrantWriter:
    def __init__(self) -> None:
        self.sealed: dict[str, bytes] = {}

    def put(self, subject: str, sealed: bytes, *, now: datetime) -> str:
        self.sealed[subject] = sealed
        return f"og_{len(subject)}"

    def delete(self, subject: str) -> bool:
        return self.sealed.pop(subject, None) is not None


def _parse(*argv: str) -> argparse.Namespace:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true")
    parser = argparse.ArgumentParser(prog="confsync")
    add_grant_parser(parser.add_subparsers(dest="command", required=True), common)
    return parser.parse_args(argv)


class Run:
    def __init__(self) -> None:
        self.store = InMemoryGrantWriter()
        self.endpoint = FakeTokenEndpoint()
        self.out = io.StringIO()
        self.err = io.StringIO()

    def __call__(self, *argv: str, stdin: str = "", env: dict[str, str] | None = None) -> int:
        def factory(_config: CliConfig) -> InMemoryGrantWriter:
            return self.store

        return run_grant(
            _parse(*argv),
            ENV if env is None else env,
            stdin=io.StringIO(stdin),
            out=self.out,
            err=self.err,
            store=factory,
            redeem=self.endpoint,
        )

    def refused(self) -> str:
        """The one line a refused grant printed; checks that nothing was stored or printed."""
        assert self.store.sealed == {}
        assert self.out.getvalue() == ""
        assert TOKEN not in self.err.getvalue()
        [line] = self.err.getvalue().splitlines()
        return line


@pytest.fixture(name="run")
def run_fixture() -> Run:
    return Run()


def test_grant_seals_the_token_read_from_stdin(run: Run) -> None:
    code = run("grant", "Alice@Example.com", stdin=TOKEN + "\n")

    assert code == 0
    sealed = run.store.sealed["alice@example.com"]
    assert open_grant(sealed, "alice@example.com", [KEY]) == TOKEN
    assert TOKEN not in run.out.getvalue() + run.err.getvalue()
    [(asked, config)] = run.endpoint.asked
    assert asked == TOKEN
    assert (config.oauth_client_id, config.token_url) == (
        CLIENT_ID,
        "https://oauth2.googleapis.com/token",
    )


def test_grant_answers_json_for_scripts(run: Run) -> None:
    run("grant", "--json", "alice@example.com", stdin=TOKEN)

    assert json.loads(run.out.getvalue()) == {
        "subject": "alice@example.com",
        "document": "og_17",
        "stored": True,
    }


def test_the_token_cannot_be_given_as_an_argument() -> None:
    with pytest.raises(SystemExit) as caught:
        _parse("grant", "alice@example.com", TOKEN)

    assert caught.value.code == 2


@pytest.mark.parametrize("stdin", ["", "  \n", "two tokens\n", "line1\nline2\n"])
def test_stdin_must_hold_exactly_one_token(run: Run, stdin: str) -> None:
    assert run("grant", "alice@example.com", stdin=stdin) == 2
    assert run.store.sealed == {}


def test_storing_needs_the_token_key(run: Run) -> None:
    code = run("grant", "alice@example.com", stdin=TOKEN, env={"GOOGLE_CLOUD_PROJECT": "p"})

    assert code == 2
    assert "CONFSYNC_OAUTH_TOKEN_KEY" in run.err.getvalue()
    assert run.store.sealed == {}


@pytest.mark.parametrize("unset", ["CONFSYNC_OAUTH_CLIENT_ID", "CONFSYNC_OAUTH_CLIENT_SECRET"])
def test_checking_the_subject_needs_the_oauth_client(run: Run, unset: str) -> None:
    env = {k: v for k, v in ENV.items() if k != unset}

    assert run("grant", "alice@example.com", stdin=TOKEN, env=env) == 2
    assert unset in run.refused()
    assert run.endpoint.asked == []


# --- whose token it is ---------------------------------------------------------------------------


def test_a_token_of_another_user_is_refused_naming_both(run: Run) -> None:
    run.endpoint.answer = TokenAnswer(id_token("bob@example.com"), frozenset(grant_scopes()))

    code = run("grant", "alice@example.com", stdin=TOKEN)

    assert code == 2
    line = run.refused()
    assert "belongs to bob@example.com, not alice@example.com" in line
    assert "nothing stored" in line


@pytest.mark.parametrize("claimed", ["Alice@Example.COM", "alice@example.com"])
def test_addresses_compare_case_blind(run: Run, claimed: str) -> None:
    run.endpoint.answer = TokenAnswer(id_token(claimed), frozenset(grant_scopes()))

    assert run("grant", "ALICE@example.com", stdin=TOKEN) == 0
    assert list(run.store.sealed) == ["alice@example.com"]


def test_the_short_issuer_form_is_googles_too(run: Run) -> None:
    answer = id_token(iss="accounts.google.com")
    run.endpoint.answer = TokenAnswer(answer, frozenset(grant_scopes()))

    assert run("grant", "alice@example.com", stdin=TOKEN) == 0


def test_an_unverified_address_is_refused(run: Run) -> None:
    answer = id_token(email_verified=False)
    run.endpoint.answer = TokenAnswer(answer, frozenset(grant_scopes()))

    assert run("grant", "alice@example.com", stdin=TOKEN) == 2
    assert "not verified" in run.refused()


@pytest.mark.parametrize(
    ("claims", "named"),
    [
        ({"aud": "another-client"}, "another OAuth client (another-client)"),
        ({"aud": [CLIENT_ID, "other"], "azp": "other"}, "another OAuth client"),
        ({"iss": "https://evil.example"}, "not issued by Google"),
        ({"iss": None}, "not issued by Google"),
    ],
)
def test_an_id_token_not_googles_or_for_another_client_is_refused(
    run: Run, claims: dict[str, Any], named: str
) -> None:
    run.endpoint.answer = TokenAnswer(id_token(**claims), frozenset(grant_scopes()))

    assert run("grant", "alice@example.com", stdin=TOKEN) == 2
    assert named in run.refused()


def test_an_id_token_that_is_not_a_jwt_is_refused(run: Run) -> None:
    run.endpoint.answer = TokenAnswer("not-a-jwt", frozenset(grant_scopes()))

    assert run("grant", "alice@example.com", stdin=TOKEN) == 1
    assert "not a JWT" in run.refused()


# --- grants without the scopes that say whose they are ------------------------------------------


@pytest.mark.parametrize(
    ("answer", "lacking"),
    [
        (TokenAnswer(None, None), "openid email"),
        (TokenAnswer(None, frozenset({"email"})), "openid"),
        (TokenAnswer(None, None, scope_refused=True), "every scope confsync needs"),
        (TokenAnswer(id_token(email=None), frozenset(grant_scopes())), "email;"),
    ],
)
def test_a_grant_without_openid_email_is_refused_with_how_to_consent_again(
    run: Run, answer: TokenAnswer, lacking: str
) -> None:
    run.endpoint.answer = answer

    assert run("grant", "alice@example.com", stdin=TOKEN) == 2
    line = run.refused()
    assert f"was not granted {lacking}" in line
    assert "alice@example.com must grant access again" in line
    assert "openid email https://www.googleapis.com/auth/calendar.events" in line


def test_a_grant_without_the_calendar_scope_is_refused(run: Run) -> None:
    run.endpoint.answer = TokenAnswer(id_token(), frozenset({"openid", "email"}))

    assert run("grant", "alice@example.com", stdin=TOKEN) == 2
    assert "not granted https://www.googleapis.com/auth/calendar.events;" in run.refused()


@pytest.mark.parametrize("code", [1, 2])
def test_a_token_endpoint_refusal_stores_nothing(run: Run, code: int) -> None:
    run.endpoint.answer = GrantCheckError("the token endpoint refused it", exit_code=code)

    assert run("grant", "alice@example.com", stdin=TOKEN) == code
    assert run.refused() == "confsync: the token endpoint refused it"


def test_a_subject_must_be_an_address() -> None:
    with pytest.raises(SystemExit):
        _parse("grant", "alice")


def test_revoke_deletes_the_stored_grant(run: Run) -> None:
    run("grant", "alice@example.com", stdin=TOKEN)

    assert run("grant", "--revoke", "alice@example.com") == 0
    assert run.store.sealed == {}


def test_revoking_what_is_not_there_fails(run: Run) -> None:
    assert run("grant", "--revoke", "alice@example.com") == 1
    assert "no grant" in run.err.getvalue()
