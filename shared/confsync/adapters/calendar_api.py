"""Google Calendar API adapter (over :mod:`~confsync.adapters.calendar_http`), errors translated.

Implements :class:`confsync.ports.CalendarClient` and :class:`confsync.ports.ChannelClient`
(``events.watch``, ``channels.stop``). Every call goes through :meth:`_execute`, the
one place where HTTP answers become confsync errors:

=========================================  ==============================================
answer                                     raised
=========================================  ==============================================
410 on ``events.list``                     SyncTokenInvalidError (by status, whatever the reason)
412                                        PreconditionFailedError
401; 403 other than rate limits; 404 on   CalendarAccessError (the calendar is disconnected:
``events.list`` or ``events.watch``        its user deleted or suspended, or its access gone)
429; 403 ``rateLimitExceeded`` /           retried with exponential backoff and full jitter,
``userRateLimitExceeded`` /                then CalendarUnavailableError
``quotaExceeded``; 5xx; network errors,
timeouts, answers cut short
``RefreshError`` not retryable             CalendarAccessError, never retried (``invalid_grant``:
                                           user deleted, suspended or grant revoked;
                                           ``unauthorized_client``; no stored grant)
``RefreshError`` retryable                 retried like a 5xx, then CalendarUnavailableError
                                           (token endpoint 429/5xx, network, runtime identity)
400/403 on ``events.watch`` with a push-   WatchRefusedError (the calendar is polled instead)
not-supported or ``forbidden`` reason
404 on ``channels.stop``                   nothing: the channel is already gone
other 4xx                                  PermanentError (a bug on our side: never retried)
=========================================  ==============================================

The reason of a 403 is read from ``error.errors[0].reason``, not from ``HttpError.reason`` (which is
the message). ``events.list`` uses the same parameters for full and incremental syncs except the
ones Google forbids with a sync token (only ``timeMin`` here), and never ``orderBy``, which can
suppress ``nextSyncToken``. ``list_series`` (all events of one ``iCalUID``) and ``list_changed``
(all events changed since a moment, ``updatedMin``) are the listings without a sync token besides
the full sync; both include deleted events (``showDeleted``). Each page of ``events.list``
reports the answer's ``accessRole`` (``EventPage.access_role``, None when Google sent none).
"""

from __future__ import annotations

import http.client
import json
import logging
import random
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, TypeVar, cast

import urllib3
from google.auth.exceptions import RefreshError, TransportError
from googleapiclient.errors import HttpError

from confsync.adapters.backoff import Backoff
from confsync.adapters.calendar_http import GOOGLE_ENDPOINT, CalendarService
from confsync.adapters.credentials_http import CredentialsHttp
from confsync.errors import (
    CalendarAccessError,
    CalendarNotFoundError,
    CalendarUnavailableError,
    PermanentError,
    PreconditionFailedError,
    SyncTokenInvalidError,
    WatchRefusedError,
)
from confsync.events import LATEST
from confsync.ports import EventPage, WatchedChannel

if TYPE_CHECKING:
    from googleapiclient._apis.calendar.v3 import CalendarResource

__all__ = [
    "GoogleCalendarClient",
    "GoogleCalendarClientFactory",
    "RetryPolicy",
    "classify_http_error",
]

_LOGGER = logging.getLogger(__name__)

_RATE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded"})
_WATCH_REFUSED_REASONS = frozenset(
    {"pushNotSupportedForRequestedResource", "pushNotSupported", "forbidden"}
)

_CALENDAR_METHODS = frozenset({"events.list", "events.watch"})
"""Methods whose 404 means the calendar itself is gone (not one event): its user was deleted, or
the calendar was, or the subject lost it."""

T = TypeVar("T")
_POOL_SIZE = 16  # connections kept per host: runs of several calendars at a time


class RetryPolicy:
    """At most ``max_attempts`` calls, with :class:`~confsync.adapters.backoff.Backoff` between
    them: retry n waits uniform(0, min(max_delay, base_delay * 2**(n-1)))."""

    def __init__(
        self,
        max_attempts: int = 5,
        base_delay: float = 0.5,
        max_delay: float = 16.0,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.max_attempts = max_attempts
        self.backoff = Backoff(base_delay, max_delay, rng=rng, sleep=sleep)

    @property
    def base_delay(self) -> float:
        return self.backoff.base

    @property
    def max_delay(self) -> float:
        return self.backoff.cap

    def wait(self, attempt: int) -> None:
        """Sleep before retry number ``attempt`` (1-based)."""
        self.backoff.wait(attempt)


def _reason(err: HttpError) -> str | None:
    try:
        body = json.loads(err.content)
        reason = body["error"]["errors"][0]["reason"]
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    return reason if isinstance(reason, str) else None


def _watch_refused(err: HttpError, status: int, reason: str | None) -> bool:
    """Whether an ``events.watch`` error says this calendar cannot be watched (not a quota or
    credential problem): Google's reason for it is not documented, so the message counts too."""
    if status not in (400, 403) or reason in _RATE_LIMIT_REASONS:
        return False
    text = err.content.decode(errors="replace").lower() if err.content else ""
    return reason in _WATCH_REFUSED_REASONS or ("push" in text and "not supported" in text)


def _method_specific(
    err: HttpError, method: str, status: int, reason: str | None, text: str
) -> Exception | None:
    """The answers that mean something special for one method only."""
    if status == 410 and method == "events.list":
        return SyncTokenInvalidError(text)
    if method == "events.watch" and _watch_refused(err, status, reason):
        return WatchRefusedError(text)
    return None


def classify_http_error(err: HttpError, method: str) -> Exception:
    """The confsync error for an HTTP error answer of ``method`` (e.g. ``events.list``)."""
    status = int(err.resp.status)
    reason = _reason(err)
    text = f"{method}: HTTP {status} {reason or ''}".strip()
    special = _method_specific(err, method, status, reason, text)
    if special is not None:
        return special
    if status == 412:
        return PreconditionFailedError(text)
    if status == 429 or status >= 500 or (status == 403 and reason in _RATE_LIMIT_REASONS):
        return CalendarUnavailableError(text)
    if status in (401, 403) or (status == 404 and method in _CALENDAR_METHODS):
        return CalendarAccessError(text)
    if status in (404, 410):
        return CalendarNotFoundError(text)
    return PermanentError(text)


def _access_role(answer: Mapping[str, Any]) -> str | None:
    """The answer's collection-level ``accessRole``, None when absent or empty; any other value
    as text, so the sync sees an unexpected one (and distrusts it) rather than nothing."""
    role = answer.get("accessRole")
    if role is None or role == "":
        return None
    return role if isinstance(role, str) else str(role)


def _rfc3339(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


_EXPIRATION_MS: Final = (0, int(LATEST.timestamp() * 1000))
"""Channel expirations (Unix ms) taken as given: from the epoch to :data:`~.events.LATEST`."""


def _expiration(answer: Mapping[str, Any], ttl_seconds: int) -> datetime:
    """The channel's expiration (Unix ms, as a string or a number); now + ttl when absent."""
    raw = answer.get("expiration")
    try:
        millis = int(raw) if raw is not None else None
    except (TypeError, ValueError, OverflowError):  # OverflowError: an infinite float
        millis = None
    if millis is not None and _EXPIRATION_MS[0] <= millis < _EXPIRATION_MS[1]:
        return datetime.fromtimestamp(millis / 1000, UTC)
    # absent, garbled or out of range (datetime cannot hold it): as if Google gave none
    return datetime.now(UTC) + timedelta(seconds=ttl_seconds)


class GoogleCalendarClient:
    """The CalendarClient port over one authorised Calendar API service object.

    One per run: building one reads no discovery document and opens no connection (the
    factory's pool is shared).
    """

    def __init__(
        self,
        service: CalendarResource,
        *,
        page_size: int = 2500,
        retry: RetryPolicy | None = None,
    ) -> None:
        self._service = service
        self._events = service.events()  # building a resource costs ~1.5 ms: once per client
        self._page_size = page_size
        self._retry = retry or RetryPolicy()

    def list_page(
        self,
        calendar_id: str,
        *,
        sync_token: str | None,
        page_token: str | None,
        time_min: datetime | None,
    ) -> EventPage:
        params: dict[str, Any] = {"calendarId": calendar_id, "maxResults": self._page_size}
        if sync_token is not None:
            params["syncToken"] = sync_token
        elif time_min is not None:
            params["timeMin"] = _rfc3339(time_min)
        if page_token is not None:
            params["pageToken"] = page_token
        answer = self._execute("events.list", lambda: self._events.list(**params))
        items = answer.get("items") or []
        return EventPage(
            items=tuple(cast(Mapping[str, Any], item) for item in items),
            next_page_token=answer.get("nextPageToken") or None,
            next_sync_token=answer.get("nextSyncToken") or None,
            access_role=_access_role(answer),
        )

    def get_event(self, calendar_id: str, event_id: str) -> Mapping[str, Any] | None:
        try:
            answer = self._execute(
                "events.get",
                lambda: self._events.get(calendarId=calendar_id, eventId=event_id),
            )
        except CalendarNotFoundError:
            return None
        return cast(Mapping[str, Any], answer)

    def list_series(self, calendar_id: str, ical_uid: str) -> tuple[Mapping[str, Any], ...]:
        return self._every_page(
            {
                "calendarId": calendar_id,
                "iCalUID": ical_uid,
                "showDeleted": True,
                "singleEvents": False,
                "maxResults": self._page_size,
            }
        )

    def list_changed(self, calendar_id: str, since: datetime) -> tuple[Mapping[str, Any], ...]:
        return self._every_page(
            {
                "calendarId": calendar_id,
                "updatedMin": _rfc3339(since),
                "showDeleted": True,
                "singleEvents": False,
                "maxResults": self._page_size,
            }
        )

    def _every_page(self, params: dict[str, Any]) -> tuple[Mapping[str, Any], ...]:
        """The items of every page of ``events.list`` with ``params`` (changed: page tokens)."""
        items: list[Mapping[str, Any]] = []
        while True:
            answer = self._execute("events.list", lambda: self._events.list(**params))
            items.extend(cast(Mapping[str, Any], item) for item in answer.get("items") or [])
            page_token = answer.get("nextPageToken")
            if not page_token:
                return tuple(items)
            params["pageToken"] = page_token

    def patch_conference_data(
        self, calendar_id: str, event_id: str, etag: str, conference_data: Mapping[str, Any]
    ) -> Mapping[str, Any]:
        def request() -> Any:
            patch = self._events.patch(
                calendarId=calendar_id,
                eventId=event_id,
                conferenceDataVersion=1,
                body={"conferenceData": cast(Any, dict(conference_data))},
            )
            patch.headers = {**(patch.headers or {}), "If-Match": etag}
            return patch

        return cast(Mapping[str, Any], self._execute("events.patch", request))

    def watch(
        self, calendar_id: str, channel_id: str, address: str, token: str, ttl_seconds: int
    ) -> WatchedChannel:
        body: dict[str, Any] = {
            "id": channel_id,
            "type": "web_hook",
            "address": address,
            "token": token,
            "params": {"ttl": str(ttl_seconds)},
        }
        answer = self._execute(
            "events.watch",
            lambda: self._events.watch(calendarId=calendar_id, body=cast(Any, body)),
        )
        resource_id = answer.get("resourceId")
        if not isinstance(resource_id, str) or not resource_id:
            raise CalendarUnavailableError("events.watch answered without a resourceId")
        return WatchedChannel(
            id=str(answer.get("id") or channel_id),
            resource_id=resource_id,
            expiration=_expiration(answer, ttl_seconds),
        )

    def stop_channel(self, channel_id: str, resource_id: str) -> None:
        body = {"id": channel_id, "resourceId": resource_id}
        try:
            self._execute(
                "channels.stop", lambda: self._service.channels().stop(body=cast(Any, body))
            )
        except CalendarNotFoundError:
            _LOGGER.debug("channels.stop: channel %s already gone", channel_id)

    def _execute(self, method: str, build_request: Callable[[], Any]) -> Any:
        attempt = 0
        while True:
            attempt += 1
            started = time.monotonic()
            cause: Exception
            try:
                answer = build_request().execute(num_retries=0)
                _LOGGER.debug("%s ok in %.3f s", method, time.monotonic() - started)
                return answer
            except HttpError as err:
                cause, error = err, classify_http_error(err, method)
            except RefreshError as err:
                if not err.retryable:  # invalid_grant and the like: the grant is gone
                    raise CalendarAccessError(f"{method}: credentials refused: {err}") from err
                # the token endpoint failed for now (5xx, 429, temporarily_unavailable)
                cause = err
                error = CalendarUnavailableError(f"{method}: token refresh failed: {err}")
            except (
                OSError,
                http.client.HTTPException,  # e.g. IncompleteRead: an answer cut short
                urllib3.exceptions.HTTPError,
                TransportError,
            ) as err:
                cause = err
                error = CalendarUnavailableError(f"{method}: {type(err).__name__}: {err}")
            retryable = isinstance(error, CalendarUnavailableError)
            if not retryable or attempt >= self._retry.max_attempts:
                raise error from cause
            _LOGGER.info("%s failed (%s); retry %d", method, error, attempt)
            self._retry.wait(attempt)


class GoogleCalendarClientFactory:
    """Builds a :class:`GoogleCalendarClient` per run for a calendar's subject.

    ``credentials_for(subject)`` returns the google-auth credentials to act as that user (None:
    anonymous, for the local emulator). ``api_endpoint`` overrides Google's endpoint and must end
    with ``/calendar/v3/``.
    """

    def __init__(
        self,
        credentials_for: Callable[[str], Any | None],
        *,
        api_endpoint: str | None = None,
        timeout: float = 30.0,
        page_size: int = 2500,
        retry: RetryPolicy | None = None,
    ) -> None:
        self._credentials_for = credentials_for
        self._api_endpoint = api_endpoint
        self._timeout = timeout
        self._page_size = page_size
        self._retry = retry
        self._pool = urllib3.PoolManager(maxsize=_POOL_SIZE)  # thread-safe, reused by every run

    def for_subject(self, subject: str) -> GoogleCalendarClient:
        """A client acting as ``subject``, over the factory's connection pool."""
        credentials = self._credentials_for(subject)
        http: Any = self._pool
        if credentials is not None:
            http = CredentialsHttp(credentials, self._pool)
        service = CalendarService(
            http, endpoint=self._api_endpoint or GOOGLE_ENDPOINT, timeout=self._timeout
        )
        return GoogleCalendarClient(
            cast("CalendarResource", service), page_size=self._page_size, retry=self._retry
        )
