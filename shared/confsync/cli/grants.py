"""``confsync grant``: store or revoke a user's OAuth grant (``oauth`` Calendar credentials).

::

    confsync grant SUBJECT             # reads the refresh token from stdin (a prompt on a terminal)
    confsync grant --revoke SUBJECT    # deletes the stored grant

The refresh token is read from standard input, never from the arguments (which end up in shell
history and in ``ps``). Before anything is stored, the token endpoint must confirm that the token
is the subject's and was granted ``openid email`` and the Calendar scope
(:mod:`confsync.cli.grant_subject`: one refresh as ``CONFSYNC_OAUTH_CLIENT_ID`` at
``GOOGLE_TOKEN_URL``); a token of another user, one without those scopes, or one the endpoint
refuses is refused and nothing is stored. An accepted token is sealed with the first key of
``CONFSYNC_OAUTH_TOKEN_KEY`` (:mod:`confsync.grant_crypto`) and stored in Firestore's
``oauth_grants`` (:mod:`confsync.adapters.oauth_grants`); the token is never printed.
``--revoke`` only deletes confsync's copy: the user, or a Workspace administrator, revokes the
grant itself at Google.

The command line's main module registers this command with :func:`add_grant_arguments` (or
:func:`add_grant_parser`) and runs it with :func:`grant` (or :func:`run_grant`, which loads the
configuration itself). Exit codes as every ``confsync`` command: 0 done, 1 a failure (Firestore
refused, the token endpoint could not answer, nothing to revoke), 2 bad input or configuration
(a token that is not the subject's, lacks the scopes, or is refused).
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol, TextIO

from confsync.cli.grant_subject import (
    GrantCheckError,
    Redeem,
    check_grant_subject,
    redeem_refresh_token,
)
from confsync.config import CliConfig, load_cli_config
from confsync.errors import ConfigurationError, ConfsyncError
from confsync.grant_crypto import GrantCryptoError, GrantKeys, normalize_subject, seal_grant

if TYPE_CHECKING:
    SubParsers = argparse._SubParsersAction[argparse.ArgumentParser]

__all__ = ["HELP", "GrantWriter", "add_grant_arguments", "add_grant_parser", "grant", "run_grant"]

HELP = "store a user's OAuth refresh token (read from stdin) for oauth credentials, or --revoke it"


class GrantWriter(Protocol):
    """Where grants are stored (:class:`~confsync.adapters.oauth_grants.FirestoreGrantStore`)."""

    def put(self, subject: str, sealed: bytes, *, now: datetime) -> str: ...

    def delete(self, subject: str) -> bool: ...


StoreFactory = Callable[[CliConfig], GrantWriter]


def _firestore_store(config: CliConfig) -> GrantWriter:
    from confsync.adapters.oauth_grants import FirestoreGrantStore  # noqa: PLC0415
    from confsync.bootstrap import build_cli_firestore_client  # noqa: PLC0415

    return FirestoreGrantStore(build_cli_firestore_client(config))


def _subject(value: str) -> str:
    subject = normalize_subject(value)
    if "@" not in subject or any(c.isspace() for c in subject):
        raise argparse.ArgumentTypeError(f"{value!r} is not a user's e-mail address")
    return subject


def add_grant_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``grant``: the user, and ``--revoke`` (never the token itself)."""
    parser.add_argument("grant_subject", type=_subject, metavar="SUBJECT", help="the user's e-mail")
    parser.add_argument(
        "--revoke", action="store_true", help="delete the stored grant instead of storing one"
    )


def add_grant_parser(commands: SubParsers, common: argparse.ArgumentParser) -> None:
    """Add ``grant`` to the ``confsync`` sub-commands (``common``: the shared ``--json``)."""
    add_grant_arguments(
        commands.add_parser(
            "grant",
            parents=[common],
            help=HELP,
            description="Store a user's OAuth refresh token for "
            "CONFSYNC_CALENDAR_CREDENTIALS=oauth, sealed with CONFSYNC_OAUTH_TOKEN_KEY; the "
            "token is read from stdin. It is stored only once the token endpoint confirms it is "
            "SUBJECT's (the grant must include the scopes openid and email besides "
            "calendar.events).",
        )
    )


class _InputError(Exception):
    """Bad input on stdin: exit 2."""


def _read_token(stdin: TextIO, subject: str) -> str:
    prompt = f"refresh token for {subject}: "
    token = (getpass.getpass(prompt) if stdin.isatty() else stdin.read()).strip()
    if not token:
        raise _InputError("no refresh token on stdin")
    if any(c.isspace() for c in token):
        raise _InputError("stdin must hold one refresh token and nothing else")
    return token


def _store(
    args: argparse.Namespace, config: CliConfig, store: StoreFactory, stdin: TextIO, redeem: Redeem
) -> str:
    """Check the configuration and the input before any client is made, then that the token is
    the subject's (nothing is stored otherwise); then seal and store."""
    if not config.oauth_token_keys:
        raise ConfigurationError("CONFSYNC_OAUTH_TOKEN_KEY is required to store a grant")
    if not (config.oauth_client_id and config.oauth_client_secret):
        raise ConfigurationError(
            "CONFSYNC_OAUTH_CLIENT_ID and CONFSYNC_OAUTH_CLIENT_SECRET are required to check "
            "whose refresh token it is"
        )
    subject: str = args.grant_subject
    token = _read_token(stdin, subject)
    check_grant_subject(subject, token, config, redeem)
    sealed = seal_grant(token, subject, GrantKeys.of(config.oauth_token_keys).sealing)
    document = store(config).put(subject, sealed, now=datetime.now(UTC))
    payload = {"subject": subject, "document": document, "stored": True}
    text = f"stored the grant of {subject} ({document}); Google confirmed the token is theirs"
    return json.dumps(payload) if args.json else text


def _revoke(args: argparse.Namespace, config: CliConfig, store: StoreFactory) -> str:
    subject: str = args.grant_subject
    if not store(config).delete(subject):
        raise ConfsyncError(f"no grant is stored for {subject}; nothing revoked")
    payload = {"subject": subject, "revoked": True}
    return json.dumps(payload) if args.json else f"deleted the stored grant of {subject}"


def grant(
    args: argparse.Namespace,
    config: CliConfig,
    *,
    stdin: TextIO | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
    store: StoreFactory = _firestore_store,
    redeem: Redeem = redeem_refresh_token,
) -> int:
    """Run ``confsync grant`` with parsed ``args`` and loaded ``config``; answers the exit code.
    ``redeem`` asks the token endpoint about the token (a fake in tests)."""
    stdin, out, err = stdin or sys.stdin, out or sys.stdout, err or sys.stderr
    try:
        revoke: bool = args.revoke
        text = (
            _revoke(args, config, store) if revoke else _store(args, config, store, stdin, redeem)
        )
    except GrantCheckError as error:
        print(f"confsync: {error}", file=err)
        return error.exit_code
    except (ConfigurationError, GrantCryptoError, _InputError) as error:
        print(f"confsync: {error}", file=err)
        return 2
    except ConfsyncError as error:
        print(f"confsync: {error}", file=err)
        return 1
    except Exception as error:
        auth = sys.modules.get("google.auth.exceptions")
        if auth is None or not isinstance(error, auth.GoogleAuthError):
            raise
        print(f"confsync: Google credentials: {error}", file=err)
        return 1
    print(text, file=out)
    return 0


def run_grant(
    args: argparse.Namespace,
    env: Mapping[str, str] | None = None,
    *,
    stdin: TextIO | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
    store: StoreFactory = _firestore_store,
    redeem: Redeem = redeem_refresh_token,
) -> int:
    """:func:`grant`, reading the configuration from ``env`` (default: the environment)."""
    try:
        config = load_cli_config(os.environ if env is None else env)
    except ConfigurationError as error:
        print(f"confsync: {error}", file=err or sys.stderr)
        return 2
    return grant(args, config, stdin=stdin, out=out, err=err, store=store, redeem=redeem)
