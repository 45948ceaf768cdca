"""Listing what to enrol: a user's owned calendars, a domain's users (the CLI's own identity).

``confsync enroll --all-owned`` reads ``calendarList.list`` as the user and keeps the entries whose
``accessRole`` is ``owner``; ``confsync enroll --domain`` reads the Admin SDK Directory API's
``users.list`` (``GET admin/directory/v1/users?domain=D&maxResults=500&pageToken=...``) as a
Workspace administrator and keeps the users that are neither suspended nor archived. Both follow
``nextPageToken`` to the end.

Both need scopes the functions must never hold, so they never use the functions' identity:

``CONFSYNC_CALENDAR_CREDENTIALS=emulator``
    The Calendar emulator (``CALENDAR_API_URL``, whose Directory stand-in is beside it at
    ``admin/directory/v1/``), called as the user (``Authorization: Bearer user:EMAIL``).
any other mode
    Domain-wide delegation as ``CONFSYNC_ADMIN_DELEGATION_SERVICE_ACCOUNT``, a service account the
    Workspace administrator authorized for :data:`CALENDAR_LIST_SCOPE` and
    :data:`DIRECTORY_SCOPE` only. The operator's own credentials (``gcloud auth
    application-default login``; they need ``roles/iam.serviceAccountTokenCreator`` on it) sign
    the assertion through ``signJwt`` (:class:`~confsync.adapters.google_credentials.
    DelegatedTokenFetcher`), asking for just the scope of the call at hand.

Why a separate account: the functions' delegation account is authorized for ``calendar.events``
alone. Asking it for another scope makes Google refuse the token request with
``unauthorized_client``; widening its authorization instead would give every function instance
read access to every user's calendar list and the directory. Either way, keeping the listing on
its own account leaves the functions' scope, and the calendars they sync, untouched.

Every failure is a :class:`ListingError` naming the call and what to fix; nothing is enrolled then.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any, Protocol
from urllib.parse import urlencode

import httplib2
from google.auth.credentials import Credentials
from google.auth.exceptions import RefreshError, TransportError
from google.oauth2.credentials import Credentials as BearerCredentials
from google_auth_httplib2 import AuthorizedHttp

from confsync.adapters.google_credentials import (
    DelegatedTokenFetcher,
    SubjectCredentials,
    TokenCache,
)
from confsync.config import CliConfig
from confsync.errors import ConfigurationError, ConfsyncError
from confsync.production_checks import LOCAL_MODE

__all__ = [
    "CALENDAR_LIST_SCOPE",
    "DIRECTORY_SCOPE",
    "GOOGLE_CALENDAR_API",
    "GOOGLE_DIRECTORY_API",
    "CalendarDirectory",
    "GoogleCalendarDirectory",
    "ListingError",
    "build_directory",
    "owned_in",
    "users_in",
]

CALENDAR_LIST_SCOPE = "https://www.googleapis.com/auth/calendar.calendarlist.readonly"
DIRECTORY_SCOPE = "https://www.googleapis.com/auth/admin.directory.user.readonly"
GOOGLE_CALENDAR_API = "https://www.googleapis.com/calendar/v3/"
GOOGLE_DIRECTORY_API = "https://admin.googleapis.com/admin/directory/v1/"
_CALENDAR_SUFFIX = "calendar/v3/"
_TIMEOUT_S = 30.0
_MAX_PAGES = 10_000


class ListingError(ConfsyncError):
    """A listing failed; the message says which call and what to fix."""


class CalendarDirectory(Protocol):
    """Where ``confsync enroll`` finds what to enrol."""

    def owned_calendars(self, subject: str) -> list[str]:
        """The ids of the calendars ``subject`` owns (``accessRole`` ``owner``), primary first."""
        ...

    def domain_users(self, domain: str, admin: str) -> list[str]:
        """The primary e-mails of ``domain``'s users that are not suspended or archived, read as
        the administrator ``admin``."""
        ...


CredentialsFor = Callable[[str, str], Credentials]
"""Credentials acting as a user (first argument) for one scope (second)."""


def _emulator_credentials(subject: str, _scope: str) -> Credentials:
    return BearerCredentials(token=f"user:{subject}")  # type: ignore[no-untyped-call]


def _delegated(config: CliConfig, account: str) -> CredentialsFor:
    caches: dict[str, TokenCache] = {}

    def credentials_for(subject: str, scope: str) -> Credentials:
        if scope not in caches:
            fetch = DelegatedTokenFetcher(
                account,
                token_url=config.token_url,
                iam_credentials_url=config.iam_credentials_url,
                scopes=(scope,),
            )
            caches[scope] = TokenCache(fetch)
        return SubjectCredentials(subject, caches[scope])

    return credentials_for


class GoogleCalendarDirectory:
    """:class:`CalendarDirectory` over HTTP: ``calendar_api`` and ``directory_api`` end in ``/``."""

    def __init__(
        self,
        credentials_for: CredentialsFor,
        *,
        calendar_api: str,
        directory_api: str,
        http: Callable[[], httplib2.Http] = lambda: httplib2.Http(timeout=int(_TIMEOUT_S)),
    ) -> None:
        self._credentials_for = credentials_for
        self._calendar_api = calendar_api
        self._directory_api = directory_api
        self._http = http

    def _pages(self, url: str, query: dict[str, str], user: str, scope: str) -> Iterator[Any]:
        authorized = AuthorizedHttp(self._credentials_for(user, scope), http=self._http())
        token: str | None = None
        for _ in range(_MAX_PAGES):
            asked = {**query, **({"pageToken": token} if token else {})}
            what = f"GET {url} as {user}"
            try:
                response, content = authorized.request(f"{url}?{urlencode(asked)}", "GET")
            except RefreshError as err:
                raise ListingError(f"{what}: credentials refused: {err}") from err
            except (TransportError, httplib2.HttpLib2Error, OSError) as err:
                raise ListingError(f"{what}: {type(err).__name__}: {err}") from err
            body = _json(content)
            if int(response.status) != 200:
                raise ListingError(f"{what}: HTTP {response.status}{_message(body)}")
            yield body
            token = body.get("nextPageToken") if isinstance(body, dict) else None
            if not isinstance(token, str) or not token:
                return
        raise ListingError(f"GET {url}: more than {_MAX_PAGES} pages")

    def owned_calendars(self, subject: str) -> list[str]:
        url = f"{self._calendar_api}users/me/calendarList"
        query = {"minAccessRole": "owner", "showHidden": "true", "maxResults": "250"}
        found: list[str] = []
        for page in self._pages(url, query, subject, CALENDAR_LIST_SCOPE):
            found += owned_in(page)
        return sorted(found, key=lambda calendar_id: calendar_id.lower() != subject.lower())

    def domain_users(self, domain: str, admin: str) -> list[str]:
        url = f"{self._directory_api}users"
        query = {"domain": domain, "maxResults": "500"}
        found: list[str] = []
        for page in self._pages(url, query, admin, DIRECTORY_SCOPE):
            found += users_in(page)
        return found


def owned_in(page: Any) -> list[str]:
    """The ids of a ``calendarList`` page's entries whose ``accessRole`` is ``owner``
    (ListingError when the page is not a calendar list)."""
    found: list[str] = []
    for entry in _items(page, "items"):
        calendar_id = entry.get("id")
        if entry.get("accessRole") == "owner" and isinstance(calendar_id, str) and calendar_id:
            found.append(calendar_id)
    return found


def users_in(page: Any) -> list[str]:
    """The primary e-mails of a ``users.list`` page's users that are neither suspended nor
    archived (ListingError when the page is not a user list)."""
    found: list[str] = []
    for user in _items(page, "users"):
        email = user.get("primaryEmail")
        if (
            isinstance(email, str)
            and email
            and not user.get("suspended")
            and not user.get("archived")
        ):
            found.append(email)
    return found


def _json(content: bytes) -> Any:
    try:
        return json.loads(content.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None


def _message(body: Any) -> str:
    error = body.get("error") if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    return f" ({' '.join(str(message).split())[:200]})" if message else ""


def _items(page: Any, name: str) -> list[dict[str, Any]]:
    if not isinstance(page, dict):
        raise ListingError("the answer is not a JSON object")
    items = page.get(name)
    if items is None:  # Google leaves an empty list out
        return []
    if not isinstance(items, list):
        raise ListingError(f"the answer's {name} is not a list")
    return [item for item in items if isinstance(item, dict)]


def build_directory(config: CliConfig) -> CalendarDirectory:
    """The listing of ``config``'s mode; ConfigurationError naming what is missing."""
    if config.mode == LOCAL_MODE:
        api = config.calendar_api_url
        if not api:
            raise ConfigurationError(
                "CALENDAR_API_URL is required by confsync enroll --all-owned/--domain when "
                "CONFSYNC_CALENDAR_CREDENTIALS=emulator"
            )
        api = api if api.endswith("/") else api + "/"
        directory = api.removesuffix(_CALENDAR_SUFFIX) + "admin/directory/v1/"
        return GoogleCalendarDirectory(
            _emulator_credentials, calendar_api=api, directory_api=directory
        )
    account = config.admin_delegation_service_account
    if not account or "@" not in account:
        raise ConfigurationError(
            "CONFSYNC_ADMIN_DELEGATION_SERVICE_ACCOUNT (a service account e-mail) is required by "
            "confsync enroll --all-owned/--domain: they never use the functions' identity"
        )
    return GoogleCalendarDirectory(
        _delegated(config, account),
        calendar_api=config.calendar_api_url or GOOGLE_CALENDAR_API,
        directory_api=GOOGLE_DIRECTORY_API,
    )
