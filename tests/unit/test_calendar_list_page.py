"""How the Calendar adapter turns an ``events.list`` answer into an EventPage: its access role."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import pytest

from confsync.adapters.calendar_api import GoogleCalendarClient


class _Request:
    def __init__(self, answer: Mapping[str, Any]) -> None:
        self._answer = answer

    def execute(self, num_retries: int = 0) -> Mapping[str, Any]:
        return self._answer


class _Events:
    def __init__(self, answer: Mapping[str, Any]) -> None:
        self._answer = answer

    def list(self, **params: Any) -> _Request:
        return _Request(self._answer)


class _Service:
    """The one call ``list_page`` makes of a discovery service: ``events().list().execute()``."""

    def __init__(self, answer: Mapping[str, Any]) -> None:
        self._events = _Events(answer)

    def events(self) -> _Events:
        return self._events


def _page_of(answer: Mapping[str, Any]) -> Any:
    client = GoogleCalendarClient(cast(Any, _Service(answer)))
    return client.list_page("alice@example.com", sync_token=None, page_token=None, time_min=None)


@pytest.mark.parametrize("role", ["freeBusyReader", "reader", "writer", "owner", "none"])
def test_the_answers_access_role_is_reported_as_sent(role: str) -> None:
    page = _page_of({"accessRole": role, "items": [], "nextSyncToken": "t1"})

    assert page.access_role == role
    assert page.next_sync_token == "t1"


@pytest.mark.parametrize("answer", [{}, {"accessRole": None}, {"accessRole": ""}])
def test_an_answer_without_an_access_role_reports_none(answer: dict[str, Any]) -> None:
    assert _page_of({**answer, "items": [], "nextSyncToken": "t1"}).access_role is None
