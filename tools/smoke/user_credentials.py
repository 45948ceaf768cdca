"""The test user of checks against real Google: who it is and how its Calendar token is obtained.

One small module on purpose: the Calendar conformance suite reads the same variables, and the two
loaders are to be unified. Variables:

``CONFSYNC_TEST_USER``
    the test user's e-mail address (a Workspace user for ``delegated``).
``CONFSYNC_TEST_CREDENTIALS``
    ``delegated`` or ``oauth``.
``CONFSYNC_TEST_DELEGATION_SERVICE_ACCOUNT`` (delegated)
    the service account whose client id the Workspace administrator authorized for the test
    user's scopes; the caller's Application Default Credentials sign the assertion as that account
    through IAM ``signJwt`` (``roles/iam.serviceAccountTokenCreator`` on it): no key file.
``CONFSYNC_TEST_OAUTH_CLIENT_ID``, ``CONFSYNC_TEST_OAUTH_CLIENT_SECRET``,
``CONFSYNC_TEST_OAUTH_REFRESH_TOKEN`` (oauth)
    an OAuth client and the test user's refresh token for it.

``GOOGLE_TOKEN_URL`` and ``IAM_CREDENTIALS_URL`` point at Google's endpoints unless overridden
(the tests point them at the Google auth stand-in). :func:`load_test_user` names every missing
or malformed variable at once; nothing is requested until :meth:`TokenSource.token` is called.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC
from typing import Final

import google.auth.transport.requests
from google.auth.exceptions import GoogleAuthError
from google.oauth2.credentials import Credentials as UserCredentials

from confsync.adapters.google_credentials import AccessToken, DelegatedTokenFetcher

__all__ = [
    "CALENDAR_SCOPE",
    "MODES",
    "SmokeConfigError",
    "TestUser",
    "TokenError",
    "TokenSource",
    "load_test_user",
    "token_source",
]

CALENDAR_SCOPE: Final = "https://www.googleapis.com/auth/calendar"
"""The scope the test user's token needs: events, and creating and deleting a secondary calendar."""
MODES: Final = ("delegated", "oauth")
DEFAULT_TOKEN_URL: Final = "https://oauth2.googleapis.com/token"  # noqa: S105 - a URL
DEFAULT_IAM_CREDENTIALS_URL: Final = "https://iamcredentials.googleapis.com/v1/"

USER: Final = "CONFSYNC_TEST_USER"
MODE: Final = "CONFSYNC_TEST_CREDENTIALS"
DELEGATION_SA: Final = "CONFSYNC_TEST_DELEGATION_SERVICE_ACCOUNT"
CLIENT_ID: Final = "CONFSYNC_TEST_OAUTH_CLIENT_ID"
CLIENT_SECRET: Final = "CONFSYNC_TEST_OAUTH_CLIENT_SECRET"  # noqa: S105 - a name
REFRESH_TOKEN: Final = "CONFSYNC_TEST_OAUTH_REFRESH_TOKEN"  # noqa: S105 - a name


class SmokeConfigError(ValueError):
    """Configuration is missing or malformed; ``problems`` names each variable and what is wrong."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class TokenError(RuntimeError):
    """The test user's token could not be obtained (the message says why, never a secret)."""


@dataclass(frozen=True, slots=True)
class TestUser:
    """The test user and the way to its token (secrets kept out of ``repr``)."""

    __test__ = False  # not a pytest test class

    email: str
    mode: str
    token_url: str
    iam_credentials_url: str
    delegation_service_account: str = ""
    client_id: str = ""
    client_secret: str = ""
    refresh_token: str = ""

    def __repr__(self) -> str:
        return f"TestUser({self.email!r}, {self.mode!r})"


def _email_problem(name: str, value: str) -> str | None:
    local, at, domain = value.partition("@")
    if not at or not local or "." not in domain or any(c.isspace() for c in value):
        return f"{name} is not an e-mail address"
    return None


def load_test_user(env: Mapping[str, str]) -> TestUser:
    """The test user from ``env``; SmokeConfigError naming every missing or bad variable."""

    def get(name: str) -> str:
        return env.get(name, "").strip()

    problems: list[str] = []
    email, mode = get(USER), get(MODE)
    if not email:
        problems.append(f"{USER} is not set (the test user's e-mail address)")
    elif (problem := _email_problem(USER, email)) is not None:
        problems.append(problem)
    needed: tuple[str, ...] = ()
    if not mode:
        problems.append(f"{MODE} is not set ({' or '.join(MODES)})")
    elif mode not in MODES:
        problems.append(f"{MODE} must be {' or '.join(MODES)}, not {mode[:40]!r}")
    elif mode == "delegated":
        needed = (DELEGATION_SA,)
    else:
        needed = (CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN)
    problems.extend(f"{name} is not set ({MODE}={mode})" for name in needed if not get(name))
    sa = get(DELEGATION_SA)
    if mode == "delegated" and sa and (problem := _email_problem(DELEGATION_SA, sa)) is not None:
        problems.append(problem)
    if problems:
        raise SmokeConfigError(problems)
    return TestUser(
        email=email,
        mode=mode,
        token_url=get("GOOGLE_TOKEN_URL") or DEFAULT_TOKEN_URL,
        iam_credentials_url=get("IAM_CREDENTIALS_URL") or DEFAULT_IAM_CREDENTIALS_URL,
        delegation_service_account=sa,
        client_id=get(CLIENT_ID),
        client_secret=get(CLIENT_SECRET),
        refresh_token=get(REFRESH_TOKEN),
    )


class TokenSource:
    """The test user's access token, fetched on first use and again a minute before it expires."""

    def __init__(self, fetch: Callable[[], AccessToken], clock: Callable[[], float]) -> None:
        self._fetch = fetch
        self._clock = clock
        self._token: AccessToken | None = None

    def token(self) -> str:
        """A live access token; TokenError when it cannot be had."""
        if self._token is None or self._token.expires_at - 60 <= self._clock():
            try:
                self._token = self._fetch()
            except GoogleAuthError as err:
                raise TokenError(f"the test user's token: {err}") from err
        return self._token.value


def token_source(user: TestUser, *, clock: Callable[[], float]) -> TokenSource:
    """How the test user's token is obtained, by its mode (nothing is requested yet)."""
    request = google.auth.transport.requests.Request()
    if user.mode == "delegated":
        fetcher = DelegatedTokenFetcher(
            user.delegation_service_account,
            token_url=user.token_url,
            iam_credentials_url=user.iam_credentials_url,
            scopes=(CALENDAR_SCOPE,),
            clock=clock,
        )
        return TokenSource(lambda: fetcher(user.email, request), clock)

    def refresh() -> AccessToken:
        credentials = UserCredentials(  # type: ignore[no-untyped-call]
            None,
            refresh_token=user.refresh_token,
            client_id=user.client_id,
            client_secret=user.client_secret,
            token_uri=user.token_url,
            scopes=[CALENDAR_SCOPE],
        )
        credentials.refresh(request)  # type: ignore[no-untyped-call]
        expiry = credentials.expiry  # naive UTC, as google-auth keeps it
        expires_at = expiry.replace(tzinfo=UTC).timestamp() if expiry else clock() + 3600
        return AccessToken(str(credentials.token), expires_at)

    return TokenSource(refresh, clock)
