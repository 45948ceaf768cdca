"""Access tokens for the test users, obtained as production obtains them (no key files).

``delegated``: the caller's Application Default Credentials ask the IAM Credentials API to sign a
JWT-bearer assertion as ``CONFSYNC_TEST_DELEGATION_SERVICE_ACCOUNT`` for the user, exchanged at
the token endpoint (confsync's own ``DelegatedTokenFetcher``, with the full ``calendar``
scope). ``oauth``: the user's refresh token exchanged at the token
endpoint. Tokens are cached until five minutes before they expire.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC

from google.auth.transport import Request
from google.auth.transport.requests import Request as RequestsTransport
from google.oauth2.credentials import Credentials

from confsync.adapters.google_credentials import (
    AccessToken,
    DelegatedTokenFetcher,
    TokenCache,
)
from testuser.variables import CALENDAR_SCOPE, TestUser

__all__ = ["TokenSource", "token_sources"]

TokenSource = Callable[[], str]
"""A current access token (fetched or refreshed when needed)."""


def _refresh_token_fetcher(
    user: TestUser, refresh_token: str
) -> Callable[[str, Request], AccessToken]:
    def fetch(subject: str, request: Request) -> AccessToken:
        del subject
        credentials = Credentials(  # type: ignore[no-untyped-call]
            None,
            refresh_token=refresh_token,
            client_id=user.oauth_client_id,
            client_secret=user.oauth_client_secret,
            token_uri=user.token_url,
            scopes=[CALENDAR_SCOPE],
        )
        credentials.refresh(request)  # type: ignore[no-untyped-call]
        expiry = credentials.expiry  # google-auth keeps it as a naive UTC time
        expires_at = expiry.replace(tzinfo=UTC).timestamp() if expiry else time.time() + 3600
        return AccessToken(value=str(credentials.token), expires_at=expires_at)

    return fetch


def _source(cache: TokenCache, subject: str) -> TokenSource:
    transport = RequestsTransport()

    def token() -> str:
        return cache.get(subject, transport).value

    return token


def token_sources(user: TestUser) -> tuple[TokenSource, TokenSource | None]:
    """Token sources of the test user and of the second user (None when not configured)."""
    if user.mode == "delegated":
        assert user.delegation_service_account is not None
        fetcher = DelegatedTokenFetcher(
            user.delegation_service_account,
            token_url=user.token_url,
            iam_credentials_url=user.iam_credentials_url,
            scopes=(CALENDAR_SCOPE,),
        )
        cache = TokenCache(fetcher)
        second = _source(cache, user.second_user) if user.second_user else None
        return _source(cache, user.email), second
    assert user.oauth_refresh_token is not None
    first = TokenCache(_refresh_token_fetcher(user, user.oauth_refresh_token))
    second_source: TokenSource | None = None
    if user.second_user and user.second_refresh_token:
        second_cache = TokenCache(_refresh_token_fetcher(user, user.second_refresh_token))
        second_source = _source(second_cache, user.second_user)
    return _source(first, user.email), second_source
