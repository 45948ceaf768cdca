"""The smoke's view of the test user: :mod:`testuser` (shared with ``make conformance-live``)
read and its token obtained, with the smoke's own errors.

:func:`load_test_user` raises :class:`SmokeConfigError` naming every missing or malformed
``CONFSYNC_TEST_*`` variable at once (the same rules as the conformance suite's);
:func:`token_source` requests nothing until :meth:`TokenSource.token` is called, which raises
:class:`TokenError` (the reason, never a secret) when no token can be had.
"""

from __future__ import annotations

from collections.abc import Mapping

from google.auth.exceptions import GoogleAuthError

from testuser.tokens import TokenSource as Fetch
from testuser.tokens import token_sources
from testuser.variables import CALENDAR_SCOPE, TestUser, TestUserError
from testuser.variables import load_test_user as _load

__all__ = [
    "CALENDAR_SCOPE",
    "SmokeConfigError",
    "TestUser",
    "TokenError",
    "TokenSource",
    "load_test_user",
    "token_source",
]


class SmokeConfigError(ValueError):
    """Configuration is missing or malformed; ``problems`` names each variable and what is wrong."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class TokenError(RuntimeError):
    """The test user's token could not be obtained (the message says why, never a secret)."""


def load_test_user(env: Mapping[str, str]) -> TestUser:
    """The test user from ``env``; SmokeConfigError naming every missing or bad variable."""
    try:
        return _load(env)
    except TestUserError as err:
        raise SmokeConfigError(err.problems) from None


class TokenSource:
    """The test user's access token (cached by :mod:`testuser.tokens` until shortly before it
    expires); TokenError when it cannot be had."""

    def __init__(self, fetch: Fetch) -> None:
        self._fetch = fetch

    def token(self) -> str:
        """A live access token."""
        try:
            return self._fetch()
        except GoogleAuthError as err:
            raise TokenError(f"the test user's token: {err}") from err


def token_source(user: TestUser) -> TokenSource:
    """How the test user's token is obtained, by its mode (nothing is requested yet)."""
    first, _second = token_sources(user)
    return TokenSource(first)
