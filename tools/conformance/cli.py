"""``make conformance-live``: the Calendar conformance suite (tests/conformance) against Google's
Calendar API as the test user.

Without a complete test-user configuration it says what is missing and exits 2, before any call;
credentials that get no access token exit 2 too, with the token endpoint's or IAM's answer.
Otherwise it runs the suite with ``CONFSYNC_CONFORMANCE_TARGET=live`` and exits with pytest's
code; the suite prints the Calendar calls it made, the scratch calendar it deleted and the table
of UNCONFIRMED points (also written to ``--report``). SIGTERM stops the run like Ctrl-C, so the
scratch calendar is still deleted.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import FrameType

import pytest
from google.auth.exceptions import GoogleAuthError

from testuser.tokens import token_sources
from testuser.variables import (
    CLIENT_ID,
    CLIENT_SECRET,
    DELEGATION,
    MODE,
    OPTIONAL_VARIABLES,
    REFRESH_TOKEN,
    USER,
    TestUser,
    TestUserError,
    load_test_user,
)

__all__ = ["USAGE_EXIT", "main", "missing_credentials_message"]

USAGE_EXIT = 2
SUITE = Path(__file__).resolve().parents[2] / "tests" / "conformance"


def missing_credentials_message(error: TestUserError) -> str:
    lines = ["make conformance-live needs a Workspace test user (not production's):", ""]
    lines.extend(f"  - {problem}" for problem in error.problems)
    lines += [
        "",
        f"  {USER}=<test user e-mail> {MODE}=delegated|oauth, and",
        f"  delegated: {DELEGATION}=<service account> (your Application Default Credentials",
        "             need roles/iam.serviceAccountTokenCreator on it; the Workspace admin",
        "             authorizes its client id for https://www.googleapis.com/auth/calendar)",
        f"  oauth:     {CLIENT_ID}, {CLIENT_SECRET}, {REFRESH_TOKEN}",
        "             (a refresh token granted for https://www.googleapis.com/auth/calendar)",
        "",
        "Optional:",
    ]
    lines.extend(f"  {name}: {what}" for name, what in OPTIONAL_VARIABLES.items())
    lines.append("See docs/runbooks/check-calendar-conformance.md.")
    return "\n".join(lines)


def _first_tokens(user: TestUser) -> str | None:
    """Why the test users' first access tokens cannot be had (None: they can), so that refused
    credentials stop the run before any Calendar call."""
    first, second = token_sources(user)
    for who, source in ((user.email, first), (user.second_user, second)):
        if source is None:
            continue
        try:
            source()
        except (GoogleAuthError, OSError) as error:
            return f"conformance: no access token for {who} ({user.mode}): {error}"
    return None


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance", description=__doc__)
    parser.add_argument("--report", help="also write the UNCONFIRMED table (Markdown) here")
    parser.add_argument("pytest_args", nargs="*", help="passed to pytest (after --)")
    args = parser.parse_args(argv)
    env = os.environ if environ is None else environ
    try:
        user = load_test_user(env)
    except TestUserError as error:
        print(missing_credentials_message(error), file=sys.stderr)
        return USAGE_EXIT
    refused = _first_tokens(user)
    if refused:
        print(refused, file=sys.stderr)
        return USAGE_EXIT
    print(f"conformance: checking Google's Calendar API as {user.email} ({user.mode})")
    os.environ["CONFSYNC_CONFORMANCE_TARGET"] = "live"
    if args.report:
        os.environ["CONFSYNC_CONFORMANCE_REPORT"] = str(Path(args.report).resolve())
    signal.signal(signal.SIGTERM, _interrupt)
    return int(pytest.main([str(SUITE), "-p", "no:cacheprovider", *args.pytest_args]))
