"""The five Calendar API v3 methods confsync calls, over urllib3, shaped like
google-api-python-client's service object.

:class:`~confsync.adapters.calendar_api.GoogleCalendarClient` calls ``service.events().list(...)``
(and ``get``, ``patch``, ``watch``) and ``service.channels().stop(...)``, then
``request.execute(num_retries=0)``, and reads errors as ``googleapiclient.errors.HttpError``.
:class:`CalendarService` answers exactly that, with the same URLs, query parameters and bodies as
the discovery-built client, without importing ``googleapiclient.discovery``, httplib2 and
pyparsing (about a fifth of the sync and channels functions' cold start) or building a service from
the discovery document on every run; its connections are pooled across runs. See
``docs/decisions/2026-12-04-calendar-and-pubsub-without-client-libraries.md``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, cast
from urllib.parse import quote, urlencode

import urllib3
from googleapiclient.errors import HttpError

__all__ = ["GOOGLE_ENDPOINT", "CalendarService", "HttpAnswer"]

GOOGLE_ENDPOINT = "https://www.googleapis.com/calendar/v3/"


class HttpAnswer(dict[str, str]):
    """An error answer as ``HttpError`` reads it (httplib2's ``Response``: headers, ``status``,
    ``reason``)."""

    def __init__(self, status: int, reason: str | None, headers: Mapping[str, str]) -> None:
        super().__init__({k.lower(): v for k, v in headers.items()}, status=str(status))
        self.status = status
        self.reason = reason or ""


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class CalendarRequest:
    """One prepared call; ``headers`` may be changed before :meth:`execute` (``If-Match``)."""

    def __init__(
        self, http: Any, method: str, url: str, body: Mapping[str, Any] | None, timeout: float
    ) -> None:
        self._http = http
        self._method = method
        self._url = url
        self._body = None if body is None else json.dumps(body).encode()
        self._timeout = timeout
        self.headers: dict[str, str] = {"Accept": "application/json", "Accept-Encoding": "gzip"}

    def execute(self, num_retries: int = 0) -> Any:
        """Send the request once (``num_retries`` must be 0: the caller retries); the decoded
        JSON answer (``{}`` when empty), or ``HttpError`` for any answer but 2xx."""
        if num_retries:
            raise ValueError("CalendarRequest retries nothing itself: num_retries must be 0")
        headers = dict(self.headers)
        if self._body is not None:
            headers["Content-Type"] = "application/json"
        answer = self._http.request(
            self._method,
            self._url,
            body=self._body,
            headers=headers,
            timeout=urllib3.Timeout(connect=self._timeout, read=self._timeout),
            retries=False,
        )
        if not 200 <= answer.status < 300:
            raise HttpError(
                cast(Any, HttpAnswer(answer.status, answer.reason, answer.headers)),
                answer.data,
                uri=self._url,
            )
        return json.loads(answer.data) if answer.data else {}


class _Collection:
    def __init__(self, service: CalendarService) -> None:
        self._service = service

    def _request(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any],
        body: Mapping[str, Any] | None = None,
    ) -> CalendarRequest:
        return self._service.request(method, path, params, body)


class _Events(_Collection):
    """``events.list``, ``events.get``, ``events.patch`` and ``events.watch``."""

    def _events(self, calendar_id: str) -> str:
        return f"calendars/{quote(calendar_id, safe='')}/events"

    def list(self, *, calendarId: str, **params: Any) -> CalendarRequest:  # noqa: N803 - the API's
        return self._request("GET", self._events(calendarId), params)

    def get(self, *, calendarId: str, eventId: str) -> CalendarRequest:  # noqa: N803
        return self._request("GET", f"{self._events(calendarId)}/{quote(eventId, safe='')}", {})

    def patch(
        self,
        *,
        calendarId: str,  # noqa: N803
        eventId: str,  # noqa: N803
        body: Mapping[str, Any],
        **params: Any,
    ) -> CalendarRequest:
        path = f"{self._events(calendarId)}/{quote(eventId, safe='')}"
        return self._request("PATCH", path, params, body)

    def watch(self, *, calendarId: str, body: Mapping[str, Any]) -> CalendarRequest:  # noqa: N803
        return self._request("POST", f"{self._events(calendarId)}/watch", {}, body)


class _Channels(_Collection):
    """``channels.stop``."""

    def stop(self, *, body: Mapping[str, Any]) -> CalendarRequest:
        return self._request("POST", "channels/stop", {}, body)


class CalendarService:
    """The Calendar API at ``endpoint`` (ending in ``/calendar/v3/``) through ``http``: anything
    with urllib3's ``request``, e.g. :class:`~confsync.adapters.credentials_http.CredentialsHttp`
    over a shared pool."""

    def __init__(
        self, http: Any, *, endpoint: str = GOOGLE_ENDPOINT, timeout: float = 30.0
    ) -> None:
        self._http = http
        self._endpoint = endpoint if endpoint.endswith("/") else f"{endpoint}/"
        self._timeout = timeout

    def events(self) -> _Events:
        return _Events(self)

    def channels(self) -> _Channels:
        return _Channels(self)

    def request(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any],
        body: Mapping[str, Any] | None,
    ) -> CalendarRequest:
        """A request of ``path`` (under the endpoint) with ``params`` as its query (``alt=json``
        first, like the discovery-built client)."""
        query = urlencode([("alt", "json"), *((k, _query_value(v)) for k, v in params.items())])
        url = f"{self._endpoint}{path}?{query}"
        return CalendarRequest(self._http, method, url, body, self._timeout)
