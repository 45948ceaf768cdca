"""``confsync grant``: the refresh token comes from stdin only, is stored sealed, never printed."""

from __future__ import annotations

import argparse
import base64
import io
import json
from datetime import datetime

import pytest

from confsync.cli.grants import add_grant_parser, run_grant
from confsync.config import CliConfig
from confsync.grant_crypto import open_grant

KEY = bytes(range(32))
TOKEN = "1//0gRefreshTokenOfAlice"
ENV = {
    "GOOGLE_CLOUD_PROJECT": "confsync-test",
    "CONFSYNC_OAUTH_TOKEN_KEY": base64.b64encode(KEY).decode(),
}


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
        )


@pytest.fixture(name="run")
def run_fixture() -> Run:
    return Run()


def test_grant_seals_the_token_read_from_stdin(run: Run) -> None:
    code = run("grant", "Alice@Example.com", stdin=TOKEN + "\n")

    assert code == 0
    sealed = run.store.sealed["alice@example.com"]
    assert open_grant(sealed, "alice@example.com", [KEY]) == TOKEN
    assert TOKEN not in run.out.getvalue() + run.err.getvalue()


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
