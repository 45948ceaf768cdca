"""The Calendar API as the test user: the smoke's events, its scratch calendar, its call count.

:class:`CalendarApi` speaks Calendar v3 over HTTP with the test user's bearer token and counts
every call it makes by method (``calendar.events.insert``, ...), which the report prints. The
scratch calendar is a new secondary calendar of the test user (``calendars.insert``), deleted at
the end (``calendars.delete``): the smoke never touches any other calendar. The same calls serve
confsync's Calendar emulator, which has the ``calendars`` resource too.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

import requests

__all__ = ["CalendarApi", "CalendarError"]


class CalendarError(RuntimeError):
    """A Calendar call failed (method, status and Google's message)."""


def _message(answer: requests.Response) -> str:
    try:
        error = answer.json().get("error", {})
        text = str(error.get("message", "")) if isinstance(error, dict) else str(error)
    except ValueError:
        text = answer.text
    return text.strip()[:200]


class CalendarApi:
    """Calendar v3 at ``base_url`` (ends in ``/calendar/v3/``) as the holder of ``token()``."""

    def __init__(
        self,
        base_url: str,
        token: Callable[[], str],
        *,
        timeout: float = 20.0,
        session: requests.Session | None = None,
    ) -> None:
        self.base = base_url if base_url.endswith("/") else base_url + "/"
        self._token = token
        self._timeout = timeout
        self.http = session or requests.Session()
        self.calls: Counter[str] = Counter()

    def _call(
        self,
        name: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
        ok: tuple[int, ...] = (200,),
    ) -> requests.Response:
        self.calls[name] += 1
        answer = self.http.request(
            method,
            self.base + path,
            params=dict(params or {}),
            json=None if body is None else dict(body),
            headers={"Authorization": f"Bearer {self._token()}"},
            timeout=self._timeout,
        )
        if answer.status_code not in ok:
            raise CalendarError(f"{name}: {answer.status_code} {_message(answer)}")
        return answer

    @staticmethod
    def _events(calendar_id: str) -> str:
        return f"calendars/{quote(calendar_id, safe='@')}/events"

    def create_scratch_calendar(self, summary: str) -> str:
        """``calendars.insert`` of a new secondary calendar of the test user; its id."""
        answer = self._call(
            "calendar.calendars.insert", "POST", "calendars", body={"summary": summary}
        )
        return str(answer.json()["id"])

    def delete_scratch_calendar(self, calendar_id: str) -> None:
        """``calendars.delete`` of the scratch calendar (already gone counts as done)."""
        path = f"calendars/{quote(calendar_id, safe='@')}"
        self._call("calendar.calendars.delete", "DELETE", path, ok=(200, 204, 404, 410))

    def insert_event(self, calendar_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """``events.insert`` with ``conferenceDataVersion=1``; the new event."""
        answer = self._call(
            "calendar.events.insert",
            "POST",
            self._events(calendar_id),
            params={"conferenceDataVersion": 1},
            body=body,
        )
        event: dict[str, Any] = answer.json()
        return event

    def patch_event(self, calendar_id: str, event_id: str, body: Mapping[str, Any]) -> None:
        """``events.patch``."""
        path = f"{self._events(calendar_id)}/{quote(event_id, safe='')}"
        self._call("calendar.events.patch", "PATCH", path, body=body)

    def delete_event(self, calendar_id: str, event_id: str) -> None:
        """``events.delete`` (already deleted or gone counts as done)."""
        path = f"{self._events(calendar_id)}/{quote(event_id, safe='')}"
        self._call("calendar.events.delete", "DELETE", path, ok=(200, 204, 404, 410))
