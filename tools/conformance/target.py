"""A Calendar target (the emulator or Google) as a small HTTP client that counts its calls.

Every call names its method (the discovery id without ``calendar.``, e.g. ``events.list``) and
is counted once per HTTP request sent, retries included, so a live run can say what it cost.
A rate-limit answer (429, or 403 ``rateLimitExceeded`` / ``userRateLimitExceeded``: Google
limits quick writes to one calendar) or a 5xx is retried with exponential backoff; every other
answer is returned as it came, for the checks to judge.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import requests

__all__ = ["Answer", "CalendarTarget", "path"]

_RATE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
JSON = dict[str, Any]


def path(*parts: str) -> str:
    """A path under the API root from its segments, each escaped (``@`` kept)."""
    return "/".join(quote(part, safe="@") for part in parts)


@dataclass(frozen=True, slots=True)
class Answer:
    """One HTTP answer: status, JSON body (empty when there is none) and headers."""

    status: int
    body: JSON
    headers: Mapping[str, str]

    @property
    def reason(self) -> str | None:
        """The first ``errors[].reason`` of an error answer."""
        error = self.body.get("error")
        errors = error.get("errors") if isinstance(error, dict) else None
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            reason = errors[0].get("reason")
            return str(reason) if reason is not None else None
        return None

    def __getitem__(self, key: str) -> Any:
        return self.body[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.body.get(key, default)


@dataclass
class CalendarTarget:
    """Calls to one Calendar API root (ending in ``/calendar/v3/``) as one user.

    ``token`` answers the user's current access token (the emulator's ``user:<email>`` or a
    Google access token). ``calls`` counts requests by method.
    """

    base_url: str
    token: Callable[[], str]
    name: str = "emulator"
    calls: Counter[str] = field(default_factory=Counter)
    max_attempts: int = 5
    base_delay: float = 1.0
    timeout: float = 30.0
    session: requests.Session = field(default_factory=requests.Session)

    def as_user(self, token: Callable[[], str]) -> CalendarTarget:
        """The same target acting as another user (calls counted together)."""
        return CalendarTarget(
            self.base_url,
            token,
            self.name,
            self.calls,
            self.max_attempts,
            self.base_delay,
            self.timeout,
            self.session,
        )

    def call(
        self,
        method: str,
        verb: str,
        where: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: JSON | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Answer:
        """Send one request (retried on rate limits and 5xx) and answer what came back."""
        url = self.base_url.rstrip("/") + "/" + where
        answer = Answer(0, {}, {})
        for attempt in range(self.max_attempts):
            self.calls[method] += 1
            sent = {"Authorization": f"Bearer {self.token()}", **(headers or {})}
            response = self.session.request(
                verb, url, params=params, json=body, headers=sent, timeout=self.timeout
            )
            answer = _answer(response)
            if not _retryable(answer) or attempt == self.max_attempts - 1:
                break
            time.sleep(self.base_delay * 2**attempt)
        return answer

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())


def _answer(response: requests.Response) -> Answer:
    try:
        parsed = response.json() if response.content else {}
    except ValueError:
        parsed = {"text": response.text[:200]}
    body = parsed if isinstance(parsed, dict) else {"value": parsed}
    return Answer(response.status_code, body, dict(response.headers))


def _retryable(answer: Answer) -> bool:
    if answer.status in (429, 500, 502, 503, 504):
        return True
    return answer.status == 403 and answer.reason in _RATE_LIMIT_REASONS
