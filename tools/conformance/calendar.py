"""One calendar of the target, as the checks use it: the Calendar v3 methods by name, each
answering the raw :class:`~conformance.target.Answer` (status, body, headers) so that a check
can judge error answers as well as successes."""

from __future__ import annotations

import builtins
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from .target import JSON, Answer, CalendarTarget, path

__all__ = ["BASE", "Calendar", "day", "rfc3339", "timed_event", "window"]

# Far enough ahead that no check's event is in the past or near "now" on Google.
BASE = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def day(days: float) -> str:
    """The suite's base time plus ``days`` (RFC 3339)."""
    return rfc3339(BASE + timedelta(days=days))


def window(first: int, last: int) -> dict[str, str]:
    """``timeMin``/``timeMax`` covering the events of days ``first`` to ``last``, so that a
    check lists only its own events."""
    return {"timeMin": day(first - 0.5), "timeMax": day(last + 0.5)}


def timed_event(summary: str, *, day: int = 0, minutes: int = 60, **fields: Any) -> JSON:
    """A one-hour (by default) timed event ``day`` days after the suite's base day."""
    start = BASE + timedelta(days=day)
    body: JSON = {
        "summary": summary,
        "start": {"dateTime": rfc3339(start), "timeZone": "UTC"},
        "end": {"dateTime": rfc3339(start + timedelta(minutes=minutes)), "timeZone": "UTC"},
    }
    body.update(fields)
    return body


@dataclass(frozen=True)
class Calendar:
    """``calendar_id`` on ``target``, as ``target``'s user."""

    target: CalendarTarget
    calendar_id: str

    def as_user(self, other: CalendarTarget) -> Calendar:
        return Calendar(other, self.calendar_id)

    def _events(self, *more: str) -> str:
        return path("calendars", self.calendar_id, "events", *more)

    # -- events ---------------------------------------------------------------------------------

    def insert(self, body: JSON, **params: Any) -> Answer:
        return self.target.call("events.insert", "POST", self._events(), body=body, params=params)

    def must_insert(self, body: JSON, **params: Any) -> JSON:
        answer = self.insert(body, **params)
        assert answer.status == 200, answer.body
        return answer.body

    def get(self, event_id: str, headers: dict[str, str] | None = None) -> Answer:
        return self.target.call("events.get", "GET", self._events(event_id), headers=headers)

    def patch(
        self, event_id: str, body: JSON, *, if_match: str | None = None, **params: Any
    ) -> Answer:
        headers = {"If-Match": if_match} if if_match is not None else None
        return self.target.call(
            "events.patch", "PATCH", self._events(event_id), body=body, params=params,
            headers=headers,
        )  # fmt: skip

    def update(
        self, event_id: str, body: JSON, *, if_match: str | None = None, **params: Any
    ) -> Answer:
        headers = {"If-Match": if_match} if if_match is not None else None
        return self.target.call(
            "events.update", "PUT", self._events(event_id), body=body, params=params,
            headers=headers,
        )  # fmt: skip

    def delete(self, event_id: str, *, if_match: str | None = None) -> Answer:
        headers = {"If-Match": if_match} if if_match is not None else None
        return self.target.call("events.delete", "DELETE", self._events(event_id), headers=headers)

    def instances(self, event_id: str, **params: Any) -> Answer:
        return self.target.call(
            "events.instances", "GET", self._events(event_id, "instances"), params=params
        )

    def move(self, event_id: str, destination: str) -> Answer:
        return self.target.call(
            "events.move", "POST", self._events(event_id, "move"),
            params={"destination": destination},
        )  # fmt: skip

    # -- lists ----------------------------------------------------------------------------------

    def list(self, **params: Any) -> Answer:
        return self.target.call("events.list", "GET", self._events(), params=params)

    def list_all(self, **params: Any) -> tuple[builtins.list[JSON], Answer]:
        """Every page of a list: the items and the last page (asserted to be 200)."""
        items: builtins.list[JSON] = []
        page_token: str | None = None
        while True:
            query = dict(params, pageToken=page_token) if page_token else params
            answer = self.list(**query)
            assert answer.status == 200, answer.body
            items.extend(answer.get("items", []))
            page_token = answer.get("nextPageToken")
            if not page_token:
                return items, answer

    def sync_token(self, **params: Any) -> str:
        """A fresh sync token: a full list to its last page."""
        _, last = self.list_all(**params)
        token = last.get("nextSyncToken")
        assert isinstance(token, str), last.body
        assert token, last.body
        return token

    def changes(self, token: str, **params: Any) -> tuple[builtins.list[JSON], Answer]:
        """An incremental list: every page of the changes since ``token``."""
        return self.list_all(syncToken=token, **params)

    # -- channels -------------------------------------------------------------------------------

    def watch(self, address: str, token: str | None = None) -> Answer:
        body: JSON = {"id": f"conformance-{secrets.token_hex(8)}", "type": "web_hook"}
        body["address"] = address
        if token is not None:
            body["token"] = token
        return self.target.call("events.watch", "POST", self._events("watch"), body=body)

    def stop(self, channel_id: str, resource_id: str) -> Answer:
        return self.target.call(
            "channels.stop", "POST", "channels/stop",
            body={"id": channel_id, "resourceId": resource_id},
        )  # fmt: skip

    # -- ACL ------------------------------------------------------------------------------------

    def grant(self, user: str, role: str) -> Answer:
        return self.target.call(
            "acl.insert", "POST", path("calendars", self.calendar_id, "acl"),
            body={"role": role, "scope": {"type": "user", "value": user}},
        )  # fmt: skip

    def revoke(self, user: str) -> Answer:
        return self.target.call(
            "acl.delete", "DELETE", path("calendars", self.calendar_id, "acl", f"user:{user}")
        )
