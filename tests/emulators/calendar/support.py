"""Helpers shared by the Calendar emulator conformance tests.

The expected error bodies come from Google's documentation as summarised in the
project's Calendar API reference (section 5.1 and the sections cited at each use).
"""

from __future__ import annotations

import datetime
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote

import requests
from googleapiclient.errors import HttpError

UTC = datetime.UTC

# Envelopes Google documents word for word (reference sections 1.7, 1.8, 3, 5.1).
NOT_FOUND = {"domain": "global", "reason": "notFound", "message": "Not Found"}
RATE_LIMIT_EXCEEDED = {
    "domain": "usageLimits",
    "reason": "rateLimitExceeded",
    "message": "Rate Limit Exceeded",
}
BACKEND_ERROR = {"domain": "global", "reason": "backendError", "message": "Backend Error"}
FORBIDDEN_FOR_NON_ORGANIZER = {
    "domain": "calendar",
    "reason": "forbiddenForNonOrganizer",
    "message": "Shared properties can only be changed by the organizer of the event.",
}
TIME_RANGE_EMPTY = {
    "domain": "calendar",
    "reason": "timeRangeEmpty",
    "message": "The specified time range is empty.",
    "locationType": "parameter",
    "location": "timeMax",
}

TOMBSTONE_KEYS = {"kind", "etag", "id", "status"}
INSTANCE_TOMBSTONE_KEYS = TOMBSTONE_KEYS | {"recurringEventId", "originalStartTime"}


# A fixed, arbitrary Monday so that time arithmetic in the tests is easy to read.
BASE_TIME = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def event_body(
    summary: str = "Meeting",
    *,
    start: datetime.datetime = BASE_TIME,
    minutes: int = 60,
    **fields: Any,
) -> dict[str, Any]:
    """A timed event body (UTC times); extra keyword arguments become fields."""
    body: dict[str, Any] = {
        "summary": summary,
        "start": {"dateTime": rfc3339(start)},
        "end": {"dateTime": rfc3339(start + datetime.timedelta(minutes=minutes))},
    }
    body.update(fields)
    return body


def error_body(err: HttpError) -> dict[str, Any]:
    """The `error` object of an HttpError's JSON body."""
    body = json.loads(err.content)
    assert isinstance(body, dict), body
    error = body["error"]
    assert isinstance(error, dict), body
    return error


def assert_error_envelope(err: HttpError, status: int, expected: dict[str, str]) -> None:
    """Assert an error matches a documented envelope exactly.

    The single `errors[]` entry must hold exactly the documented fields, and the
    top-level `code` and `message` must repeat the status and the entry's message.
    """
    assert err.resp.status == status
    error = error_body(err)
    assert error["code"] == status
    assert error["message"] == expected["message"]
    assert len(error["errors"]) == 1
    assert error["errors"][0] == expected


def assert_error_reason(err: HttpError, status: int, reason: str) -> dict[str, Any]:
    """Assert only the status and reason (for bodies Google has not documented)."""
    assert err.resp.status == status
    error = error_body(err)
    assert error["code"] == status
    assert error["errors"][0]["reason"] == reason
    assert isinstance(error["message"], str)
    assert isinstance(error["errors"][0]["domain"], str)
    assert isinstance(error["errors"][0]["message"], str)
    return error


def rfc3339(moment: datetime.datetime) -> str:
    """UTC RFC3339 text with a `Z` suffix, second precision."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime.datetime:
    """Parse an RFC3339 timestamp into an aware UTC datetime."""
    parsed = datetime.datetime.fromisoformat(text)
    assert parsed.tzinfo is not None, text
    return parsed.astimezone(UTC)


def start_of(event: dict[str, Any]) -> datetime.datetime:
    """The UTC start of a timed event or instance."""
    return parse_time(event["start"]["dateTime"])


def original_start_of(event: dict[str, Any]) -> datetime.datetime:
    """The UTC original start of an instance or exception."""
    return parse_time(event["originalStartTime"]["dateTime"])


def list_all(service: Any, **params: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Fetch every page of events.list; return (items, pages)."""
    items: list[dict[str, Any]] = []
    pages: list[dict[str, Any]] = []
    page_token: str | None = None
    for _ in range(1000):
        query = dict(params)
        if page_token:
            query["pageToken"] = page_token
        page = service.events().list(**query).execute()
        pages.append(page)
        items.extend(page.get("items", []))
        page_token = page.get("nextPageToken")
        if not page_token:
            return items, pages
    raise AssertionError("pagination did not end")


def full_sync(service: Any, **params: Any) -> tuple[list[dict[str, Any]], str]:
    """Run a full (or incremental) sync to the last page; return (items, nextSyncToken)."""
    items, pages = list_all(service, **params)
    token = pages[-1].get("nextSyncToken")
    assert token, pages[-1]
    return items, token


def wait_until(condition: Callable[[], bool], timeout: float = 5.0, interval: float = 0.02) -> bool:
    """Poll `condition` until it holds or `timeout` seconds pass; return whether it held."""
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


class Admin:
    """Thin client of the emulator's admin API (/emulator/v1/)."""

    def __init__(self, base_url: str) -> None:
        self.root = f"{base_url}/emulator/v1"
        self.http = requests.Session()

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        response = self.http.request(method, f"{self.root}{path}", json=body, timeout=10)
        assert response.status_code < 300, (response.status_code, response.text)
        if not response.content:
            return None
        return response.json()

    def reset(self) -> None:
        self._call("POST", "/reset")

    def invalidate_sync_tokens(self, calendar_id: str) -> None:
        self._call("POST", f"/calendars/{quote(calendar_id, safe='')}/invalidate-sync-tokens")

    def add_faults(self, rules: list[dict[str, Any]] | dict[str, Any]) -> Any:
        return self._call("POST", "/faults", rules)

    def faults(self) -> Any:
        return self._call("GET", "/faults")

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    def channels(self) -> list[dict[str, Any]]:
        answer = self._call("GET", "/channels")
        return _as_list(answer, "channels")

    def request_counts(self) -> dict[str, int]:
        answer = self._call("GET", "/requests")
        counts = answer["counts"]
        assert isinstance(counts, dict)
        return counts

    def reset_request_counts(self) -> None:
        self._call("POST", "/requests/reset")

    def _acl_path(self, calendar_id: str, user: str | None = None) -> str:
        path = f"/calendars/{quote(calendar_id, safe='@')}/acl"
        return path if user is None else f"{path}/{quote(user, safe='@')}"

    def set_role(self, calendar_id: str, user: str, role: str) -> list[dict[str, Any]]:
        """Give `user` a role on the calendar; answers the calendar's ACL."""
        return _as_list(
            self._call("PUT", self._acl_path(calendar_id, user), {"role": role}), "rules"
        )

    def acl(self, calendar_id: str) -> list[dict[str, Any]]:
        return _as_list(self._call("GET", self._acl_path(calendar_id)), "rules")

    def remove_role(self, calendar_id: str, user: str) -> list[dict[str, Any]]:
        return _as_list(self._call("DELETE", self._acl_path(calendar_id, user)), "rules")

    def user_action(self, user: str, action: str = "") -> requests.Response:
        """``DELETE users/{user}`` (no ``action``) or ``POST users/{user}:<action>``, as
        answered (not asserted)."""
        path = f"{self.root}/users/{quote(user, safe='@')}"
        if not action:
            return self.http.delete(path, timeout=10)
        return self.http.post(f"{path}:{action}", timeout=10)

    def delete_user(self, user: str) -> dict[str, Any]:
        answer = self.user_action(user)
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    def put_acl_raw(self, calendar_id: str, user: str, body: Any) -> requests.Response:
        """PUT an ACL body as given, without asserting success."""
        return self.http.put(
            f"{self.root}{self._acl_path(calendar_id, user)}", json=body, timeout=10
        )


def _as_list(answer: Any, key: str) -> list[dict[str, Any]]:
    """The README says what a listing holds, not its wrapper: accept a bare list or {key: [...]}."""
    if isinstance(answer, dict):
        for candidate in (key, "items"):
            if candidate in answer:
                answer = answer[candidate]
                break
    assert isinstance(answer, list), answer
    return answer


@dataclass(frozen=True)
class Notification:
    """One POST the receiver got."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    received_at: float
    answered: int

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @property
    def state(self) -> str | None:
        return self.header("X-Goog-Resource-State")

    @property
    def channel_id(self) -> str | None:
        return self.header("X-Goog-Channel-ID")

    @property
    def number(self) -> int:
        value = self.header("X-Goog-Message-Number")
        assert value is not None, self.headers
        return int(value)


@dataclass
class _Script:
    """Answers to give to the next requests: (status, seconds to block first)."""

    answers: list[tuple[int, float]] = field(default_factory=list)


class NotificationReceiver:
    """A local webhook endpoint that records push messages.

    It answers 200 unless told otherwise with `answer_next`.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._messages: list[Notification] = []
        self._script = _Script()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # the stdlib's naming
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status, block = receiver._next_answer()
                receiver._record(
                    Notification(
                        method="POST",
                        path=self.path,
                        headers={k.lower(): v for k, v in self.headers.items()},
                        body=body,
                        received_at=time.monotonic(),
                        answered=status,
                    )
                )
                if block:
                    time.sleep(block)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/notify"

    def address(self, name: str) -> str:
        """A distinct webhook path on this receiver."""
        return f"{self.url}/{name}"

    def answer_next(self, status: int, times: int = 1, block: float = 0.0) -> None:
        """Answer the next `times` requests with `status`, after blocking `block` seconds."""
        with self._lock:
            self._script.answers.extend([(status, block)] * times)

    def _next_answer(self) -> tuple[int, float]:
        with self._lock:
            if self._script.answers:
                return self._script.answers.pop(0)
        return 200, 0.0

    def _record(self, message: Notification) -> None:
        with self._lock:
            self._messages.append(message)

    @property
    def messages(self) -> list[Notification]:
        with self._lock:
            return list(self._messages)

    def for_channel(self, channel_id: str) -> list[Notification]:
        return [m for m in self.messages if m.channel_id == channel_id]

    def wait_for(
        self,
        condition: Callable[[list[Notification]], bool],
        timeout: float = 5.0,
    ) -> list[Notification]:
        """Poll until `condition(messages)` holds; fail after `timeout` seconds."""
        held = wait_until(lambda: condition(self.messages), timeout=timeout)
        assert held, f"condition not met within {timeout}s; got {self.messages!r}"
        return self.messages

    def wait_for_state(
        self, channel_id: str, state: str, count: int = 1, timeout: float = 5.0
    ) -> list[Notification]:
        """Wait until `count` messages with this state reached this channel; return them."""

        def matching(messages: list[Notification]) -> list[Notification]:
            return [m for m in messages if m.channel_id == channel_id and m.state == state]

        self.wait_for(lambda messages: len(matching(messages)) >= count, timeout=timeout)
        return matching(self.messages)

    def assert_quiet(self, seconds: float, channel_id: str | None = None) -> None:
        """Fail if a (channel's) message arrives within the next `seconds` seconds."""

        def count() -> int:
            if channel_id is None:
                return len(self.messages)
            return len(self.for_channel(channel_id))

        before = count()
        arrived = wait_until(lambda: count() > before, timeout=seconds)
        assert not arrived, f"unexpected message: {self.messages[before:]!r}"
