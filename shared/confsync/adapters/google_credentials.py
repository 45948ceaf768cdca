"""Calendar API credentials for a calendar's subject, one provider per credential mode.

:func:`credentials_provider` turns :class:`~confsync.config.CalendarAuthConfig` into the
``credentials_for(subject)`` callable that
:class:`~confsync.adapters.calendar_api.GoogleCalendarClientFactory` takes:

``emulator``
    None: the local Calendar emulator needs no credentials.
``delegated``
    Workspace domain-wide delegation **without a key file**. The function's own identity
    (``google.auth.default()``: its runtime service account) asks the IAM Credentials API to sign a
    JWT-bearer assertion as ``CONFSYNC_DELEGATION_SERVICE_ACCOUNT`` (``signJwt``; the runtime
    account needs ``roles/iam.serviceAccountTokenCreator`` on it), with the user as ``sub``; the
    assertion is exchanged at the token endpoint for an access token acting as that user
    (RFC 7523; Google's "Using OAuth 2.0 for Server to Server Applications", delegation section).
``oauth``
    The user's own refresh token, stored sealed in Firestore (:mod:`confsync.grant_crypto`,
    :mod:`confsync.adapters.oauth_grants`), exchanged with
    :class:`google.oauth2.credentials.Credentials` at the token endpoint.

Tokens are cached per subject for the whole process (:class:`TokenCache`: thread-safe, one
fetch at a time per subject) and fetched again :data:`REFRESH_SKEW_S` before they expire, so many
runs for one user cost one token request per hour. Each ``credentials_for(subject)`` call answers
a small :class:`SubjectCredentials` (a google-auth ``Credentials`` that
:class:`~confsync.adapters.credentials_http.CredentialsHttp`
refreshes) reading that cache; a refresh after a 401 replaces the rejected token instead of
answering it again.

Failures are google-auth ``RefreshError``\\ s, which the Calendar adapter sorts: non-retryable
(``invalid_grant``, ``unauthorized_client``, ``access_denied``, a refused ``signJwt``, no stored
grant, a grant that does not decrypt) disconnects the calendar with the message as its outcome;
retryable (429, 5xx, network, Firestore unavailable, and the function's own identity failing
for now, e.g. the metadata server unreachable) is retried like a Calendar 5xx. Messages
never contain the subject (they reach logs and the calendar record) nor any token.

Nothing here calls Google when it is built: the runtime identity is looked up on first use.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import quote, urlencode

import google.auth
from google.auth.credentials import Credentials
from google.auth.exceptions import DefaultCredentialsError, RefreshError, TransportError
from google.auth.transport import Request

from confsync.adapters.metadata_credentials import MetadataCredentials
from confsync.config import CalendarAuthConfig
from confsync.errors import ConfigurationError, MalformedInputError, StoreUnavailableError
from confsync.grant_crypto import GrantCryptoError, open_grant

__all__ = [
    "CALENDAR_SCOPES",
    "IAM_SCOPE",
    "JWT_BEARER_GRANT",
    "REFRESH_SKEW_S",
    "AccessToken",
    "CredentialsFor",
    "DelegatedTokenFetcher",
    "GrantReader",
    "StoredGrantTokenFetcher",
    "SubjectCredentials",
    "TokenCache",
    "credentials_provider",
]

_LOGGER = logging.getLogger(__name__)

CALENDAR_SCOPES: tuple[str, ...] = ("https://www.googleapis.com/auth/calendar.events",)
"""The one scope confsync asks for: the narrowest that covers ``events.list``, ``events.get``,
``events.patch``, ``events.watch`` and ``channels.stop`` on calendars the user can edit (checked
against the Calendar v3 discovery document). The Workspace administrator authorizes exactly this
for the delegation service account's client id."""

IAM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
"""The scope of the function's own credentials when it calls the IAM Credentials API."""

JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ASSERTION_LIFETIME_S = 3600
"""Lifetime of a signed assertion: Google accepts at most one hour."""
REFRESH_SKEW_S = 300.0
"""A cached token is replaced this long before it expires (a Calendar run can take minutes)."""

_RETRYABLE_OAUTH_ERRORS = frozenset({"temporarily_unavailable", "server_error", "internal_failure"})

CredentialsFor = Callable[[str], Credentials | None]
Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class AccessToken:
    """An access token and when it expires (Unix seconds)."""

    value: str
    expires_at: float


TokenFetcher = Callable[[str, Request], AccessToken]
"""Obtains a new access token acting as a subject, through the given google-auth transport."""


def _refresh_error(message: str, *, retryable: bool) -> RefreshError:
    """google-auth's RefreshError (untyped constructor), retryable or not."""
    return RefreshError(message, retryable=retryable)  # type: ignore[no-untyped-call]


class TokenCache:
    """Access tokens by subject, for the whole process.

    Thread-safe: concurrent runs for one subject wait for a single fetch; runs for other subjects
    are not held up. A token is answered while more than ``skew`` seconds of it remain.
    """

    def __init__(self, fetch: TokenFetcher, *, clock: Clock = time.time, skew: float = 300.0):
        self._fetch = fetch
        self.clock = clock
        self.skew = skew
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._tokens: dict[str, AccessToken] = {}

    def _lock_of(self, subject: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(subject, threading.Lock())

    def fresh(self, token: AccessToken) -> bool:
        """Whether ``token`` is still good for more than the skew."""
        return token.expires_at - self.skew > self.clock()

    def get(self, subject: str, request: Request, *, rejected: str | None = None) -> AccessToken:
        """A fresh token for ``subject``; never ``rejected`` (a token the API just refused)."""
        with self._lock_of(subject):
            cached = self._tokens.get(subject)
            if cached is not None and cached.value != rejected and self.fresh(cached):
                return cached
            self._tokens.pop(subject, None)
            token = self._fetch(subject, request)
            self._tokens[subject] = token
            _LOGGER.debug("access token fetched, good for %.0f s", token.expires_at - self.clock())
            return token


class SubjectCredentials(Credentials):
    """google-auth credentials acting as one subject, backed by a shared :class:`TokenCache`."""

    def __init__(self, subject: str, cache: TokenCache) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._subject = subject
        self._cache = cache
        self._expires_at: float | None = None

    @property
    def expired(self) -> bool:
        """Expired (for google-auth: refresh before the next request) within the cache's skew,
        judged by the cache's clock."""
        if self._expires_at is None:
            return False
        return self._expires_at - self._cache.skew <= self._cache.clock()

    def refresh(self, request: Request) -> None:
        token = self._cache.get(self._subject, request, rejected=self.token)
        self.token = token.value
        self._expires_at = token.expires_at
        self.expiry = datetime.fromtimestamp(token.expires_at, UTC).replace(tzinfo=None)


# --- HTTP through the google-auth transport ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    body: Mapping[str, Any]


def _post(
    request: Request, url: str, body: bytes, headers: Mapping[str, str], what: str
) -> _Answer:
    """POST through ``request`` (its transport sets the timeout); a network failure is a
    retryable RefreshError."""
    try:
        response = request(url=url, method="POST", body=body, headers=dict(headers))
    except TransportError as err:
        raise _refresh_error(f"{what}: {type(err).__name__}: {err}", retryable=True) from err
    raw = response.data
    try:
        parsed = json.loads(raw.decode() if isinstance(raw, bytes) else raw)
    except (ValueError, UnicodeDecodeError):
        parsed = None
    return _Answer(int(response.status), parsed if isinstance(parsed, dict) else {})


def _oauth_error(
    answer: _Answer, what: str, hints: Mapping[str, str] | None = None
) -> RefreshError:
    """The RefreshError of a token endpoint error answer (an RFC 6749 section 5.2 body), with the
    operator's next step for the error codes in ``hints``."""
    code = str(answer.body.get("error") or f"HTTP {answer.status}")
    description = str(answer.body.get("error_description") or "")
    retryable = answer.status == 429 or answer.status >= 500 or code in _RETRYABLE_OAUTH_ERRORS
    text = f"{what}: {code}" + (f" ({description})" if description else "")
    hint = (hints or {}).get(code)
    if hint and not retryable:
        text += f"; {hint}"
    return _refresh_error(text, retryable=retryable)


def _token_from(answer: _Answer, what: str, now: float) -> AccessToken:
    value = answer.body.get("access_token")
    lifetime = answer.body.get("expires_in", 3600)
    if not isinstance(value, str) or not value or not isinstance(lifetime, int | float):
        raise _refresh_error(f"{what}: the token endpoint answered no access token", retryable=True)
    return AccessToken(value=value, expires_at=now + float(lifetime))


def _retryable(err: RefreshError) -> bool:
    """Whether a refresh of the function's own credentials may succeed later: google-auth marks
    some outages retryable, but the metadata server's credentials wrap an unreachable or failing
    server (a ``TransportError``) into a RefreshError that is not, and that outage says nothing
    about any user, so it must not disconnect their calendars."""
    return bool(err.retryable) or isinstance(err.__cause__, TransportError)


# --- delegated --------------------------------------------------------------------------------


def _runtime_credentials() -> Credentials:
    """The function's own identity: on Cloud Functions (``K_SERVICE`` set, no
    ``GOOGLE_APPLICATION_CREDENTIALS``) its service account's token from the metadata server
    (:class:`~confsync.adapters.metadata_credentials.MetadataCredentials`, the token
    ``google.auth.default()`` would find there, without importing google-auth's compute-engine,
    JWT and crypto modules); elsewhere google-auth's application default credentials."""
    if os.environ.get("K_SERVICE") and not os.environ.get("GOOGLE_APPLICATION_CREDENTIALS"):
        return MetadataCredentials()
    credentials, _project = google.auth.default(scopes=[IAM_SCOPE])
    return credentials


class DelegatedTokenFetcher:
    """Domain-wide delegation through the IAM Credentials API's ``signJwt``: no key file exists.

    ``source_credentials`` builds the caller's own credentials (default: ``google.auth.default``)
    on first use. ``iam_credentials_url`` ends in ``/v1/``; ``token_url`` is both where the
    assertion is exchanged and its audience.
    """

    def __init__(
        self,
        service_account: str,
        *,
        token_url: str,
        iam_credentials_url: str,
        scopes: tuple[str, ...] = CALENDAR_SCOPES,
        source_credentials: Callable[[], Credentials] = _runtime_credentials,
        clock: Clock = time.time,
    ) -> None:
        self.service_account = service_account
        self._token_url = token_url
        base = (
            iam_credentials_url if iam_credentials_url.endswith("/") else iam_credentials_url + "/"
        )
        self._sign_url = (
            f"{base}projects/-/serviceAccounts/{quote(service_account, safe='@')}:signJwt"
        )
        self._scopes = scopes
        admin = (
            f"the Workspace administrator must authorize the client id of {service_account} "
            f"for {' '.join(scopes)} (Admin console, domain-wide delegation)"
        )
        self._hints = {
            "unauthorized_client": admin,
            "access_denied": admin,
            "invalid_scope": admin,
            "invalid_grant": "the user is unknown, suspended or deleted in Workspace",
        }
        self._make_source = source_credentials
        self._source: Credentials | None = None
        self._source_lock = threading.Lock()
        self._clock = clock

    def __call__(self, subject: str, request: Request) -> AccessToken:
        now = int(self._clock())
        claims = {
            "iss": self.service_account,
            "sub": subject,
            "scope": " ".join(self._scopes),
            "aud": self._token_url,
            "iat": now,
            "exp": now + ASSERTION_LIFETIME_S,
        }
        assertion = self._sign(claims, request)
        body = urlencode({"grant_type": JWT_BEARER_GRANT, "assertion": assertion}).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        what = "delegated token"
        answer = _post(request, self._token_url, body, headers, what)
        if answer.status != 200:
            raise _oauth_error(answer, what, self._hints)
        return _token_from(answer, what, float(now))

    def _authorization(self, request: Request, *, renew: bool) -> dict[str, str]:
        """Headers carrying the caller's own token (refreshed when stale or ``renew``)."""
        with self._source_lock:
            if self._source is None:
                try:
                    self._source = self._make_source()
                except DefaultCredentialsError as err:
                    raise _refresh_error(
                        f"delegated: the function has no credentials of its own to call "
                        f"signJwt with: {err}",
                        retryable=False,
                    ) from err
            source = self._source
            if renew or not source.valid:
                try:
                    source.refresh(request)  # type: ignore[no-untyped-call]
                except RefreshError as err:
                    raise _refresh_error(
                        f"delegated: the function's own credentials failed to refresh: {err}",
                        retryable=_retryable(err),
                    ) from err
            headers: dict[str, str] = {}
            source.apply(headers)  # type: ignore[no-untyped-call]
        return headers

    def _sign(self, claims: Mapping[str, Any], request: Request) -> str:
        body = json.dumps({"payload": json.dumps(claims)}).encode()
        what = f"signJwt as {self.service_account}"
        answer = _Answer(0, {})
        for renew in (False, True):
            headers = {
                "Content-Type": "application/json",
                **self._authorization(request, renew=renew),
            }
            answer = _post(request, self._sign_url, body, headers, what)
            if answer.status != 401:
                break
        signed = answer.body.get("signedJwt")
        if answer.status == 200 and isinstance(signed, str) and signed:
            return signed
        raise self._sign_error(answer, what)

    def _sign_error(self, answer: _Answer, what: str) -> RefreshError:
        error = answer.body.get("error")
        message = str(error.get("message") or "") if isinstance(error, dict) else ""
        detail = f"{what}: HTTP {answer.status}" + (f" ({message})" if message else "")
        if answer.status == 429 or answer.status >= 500:
            return _refresh_error(detail, retryable=True)
        if answer.status == 403:
            detail += (
                "; deployment error: the function's service account needs "
                f"roles/iam.serviceAccountTokenCreator on {self.service_account}, and the IAM "
                "Service Account Credentials API must be enabled"
            )
        elif answer.status == 401:
            detail += "; the function's own credentials were refused"
        elif answer.status == 200:
            detail += " without a signedJwt"
        return _refresh_error(detail, retryable=answer.status == 200)


# --- oauth ------------------------------------------------------------------------------------


class GrantReader(Protocol):
    """Where sealed grants are read (the Firestore ``oauth_grants`` store, or a fake)."""

    def get(self, subject: str) -> bytes | None: ...


class StoredGrantTokenFetcher:
    """A user's stored refresh token exchanged for an access token.

    The grant is read and opened on every fetch (about once an hour per user), so a grant
    replaced with ``confsync grant`` is used from the next fetch on, without a restart.
    """

    def __init__(
        self,
        grants: GrantReader,
        *,
        keys: tuple[bytes, ...],
        client_id: str,
        client_secret: str,
        token_url: str,
        scopes: tuple[str, ...] = CALENDAR_SCOPES,
        clock: Clock = time.time,
    ) -> None:
        self._grants = grants
        self._keys = keys
        self._client_id = client_id
        self._client_secret = client_secret
        self._token_url = token_url
        self._scopes = scopes
        self._clock = clock

    def _refresh_token(self, subject: str) -> str:
        try:
            sealed = self._grants.get(subject)
        except StoreUnavailableError as err:
            raise _refresh_error(
                f"oauth: reading the stored grant failed: {err}", retryable=True
            ) from err
        except MalformedInputError as err:
            raise _refresh_error(f"oauth: {err}", retryable=False) from err
        if sealed is None:
            raise _refresh_error(
                "oauth: no grant is stored for this user; store one with `confsync grant`",
                retryable=False,
            )
        try:
            return open_grant(sealed, subject, self._keys)
        except GrantCryptoError as err:
            raise _refresh_error(f"oauth: {err}", retryable=False) from err

    def __call__(self, subject: str, request: Request) -> AccessToken:
        # Only here: google-auth's user credentials import its JWT and crypto modules, which the
        # other modes never use (they are no part of their cold start).
        from google.oauth2.credentials import Credentials as UserCredentials  # noqa: PLC0415

        user = UserCredentials(  # type: ignore[no-untyped-call]
            token=None,
            refresh_token=self._refresh_token(subject),
            client_id=self._client_id,
            client_secret=self._client_secret,
            token_uri=self._token_url,
            scopes=list(self._scopes),
        )
        started = self._clock()
        try:
            user.refresh(request)  # type: ignore[no-untyped-call]
        except RefreshError as err:
            hint = "; the user must grant access again" if not err.retryable else ""
            raise _refresh_error(f"oauth token: {err}{hint}", retryable=err.retryable) from err
        except TransportError as err:
            raise _refresh_error(
                f"oauth token: {type(err).__name__}: {err}", retryable=True
            ) from err
        expiry: datetime | None = user.expiry
        lifetime = 3600.0
        if expiry is not None:
            lifetime = (expiry.replace(tzinfo=UTC) - datetime.now(UTC)).total_seconds()
        return AccessToken(value=str(user.token), expires_at=started + lifetime)


# --- the provider -----------------------------------------------------------------------------


def _anonymous(_subject: str) -> Credentials | None:
    return None


def _cached(cache: TokenCache) -> CredentialsFor:
    def credentials_for(subject: str) -> Credentials:
        return SubjectCredentials(subject, cache)

    return credentials_for


def credentials_provider(
    auth: CalendarAuthConfig,
    *,
    grants: GrantReader | None = None,
    source_credentials: Callable[[], Credentials] = _runtime_credentials,
    clock: Clock = time.time,
) -> CredentialsFor:
    """``credentials_for(subject)`` of ``auth.mode``; ``grants`` is required for ``oauth``.

    Builds nothing that calls Google: the first token is fetched on the first Calendar request.
    """
    if auth.mode == "emulator":
        return _anonymous
    if auth.mode == "delegated":
        if not auth.delegation_service_account:
            raise ConfigurationError("CONFSYNC_DELEGATION_SERVICE_ACCOUNT is required")
        fetch: TokenFetcher = DelegatedTokenFetcher(
            auth.delegation_service_account,
            token_url=auth.token_url,
            iam_credentials_url=auth.iam_credentials_url,
            source_credentials=source_credentials,
            clock=clock,
        )
    elif auth.mode == "oauth":
        if not (auth.oauth_client_id and auth.oauth_client_secret and auth.oauth_token_keys):
            raise ConfigurationError(
                "CONFSYNC_OAUTH_CLIENT_ID, CONFSYNC_OAUTH_CLIENT_SECRET and "
                "CONFSYNC_OAUTH_TOKEN_KEY are required"
            )
        if grants is None:
            raise ConfigurationError("oauth credentials need the grant store")
        fetch = StoredGrantTokenFetcher(
            grants,
            keys=auth.oauth_token_keys,  # the sealing key and the older ones still read
            client_id=auth.oauth_client_id,
            client_secret=auth.oauth_client_secret,
            token_url=auth.token_url,
            clock=clock,
        )
    else:
        raise ConfigurationError(f"CONFSYNC_CALENDAR_CREDENTIALS={auth.mode!r} is not a mode")
    return _cached(TokenCache(fetch, clock=clock, skew=REFRESH_SKEW_S))
