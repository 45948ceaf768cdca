"""Sends the ``flood`` scenario's forged requests to a loopback address as fast as it takes them.

Closed loop: ``workers`` threads, each with its own keep-alive connection, take the next request
as soon as the previous one is answered, so the rate is the highest the server sustains with that
many clients waiting on it. Once every request was sent, the list is sent again from its start
for as long as ``keep_going()`` says so (the genuine edits are still being made). Nothing is
sent after ``time_limit_s``; what was left of the first pass is counted as ``unsent``. Every 4xx
answer is a refusal (400, 401, 403, 404, 405, 413, 429: the request was turned away); a 2xx
answer to a forged request is counted apart (``accepted``), as are 5xx answers and requests that
got no answer (``errors``).

:func:`require_loopback` refuses any target that is not a loopback address before anything is
sent: the flood is for the local stack only.
"""

from __future__ import annotations

import http.client
import itertools
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from bench.flood_requests import ForgedRequest
from confsync.production_checks import is_loopback

__all__ = ["FloodResult", "NotLoopbackError", "flood", "require_loopback"]

_REQUEST_TIMEOUT_S = 30.0


class NotLoopbackError(ValueError):
    """The flood's target is not a loopback address."""


def require_loopback(url: str) -> tuple[str, int]:
    """The ``(host, port)`` of ``url`` when it is plain HTTP on loopback; NotLoopbackError else."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme != "http" or parts.port is None:
        raise NotLoopbackError(f"refusing to flood {url!r}: only http://LOOPBACK:PORT")
    if not is_loopback(host):
        raise NotLoopbackError(f"refusing to flood {url!r}: {host!r} is not a loopback address")
    return host, parts.port


@dataclass
class FloodResult:
    """What the flood's answers were, by status and by kind of request."""

    started: float = 0.0
    last_answer: float = 0.0
    statuses: Counter[int] = field(default_factory=Counter)
    refused_by_kind: Counter[str] = field(default_factory=Counter)
    sent: int = 0
    unsent: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def refused(self) -> int:
        """Requests answered 4xx."""
        return sum(n for status, n in self.statuses.items() if 400 <= status < 500)

    @property
    def accepted(self) -> int:
        """Forged requests answered 2xx (each one is a forgery that got through)."""
        return sum(n for status, n in self.statuses.items() if 200 <= status < 300)

    @property
    def errors(self) -> int:
        """Requests answered 5xx or not at all (status 0)."""
        return self.sent - self.refused - self.accepted

    @property
    def wall_s(self) -> float:
        """From the first request sent to the last answer."""
        return max(0.0, self.last_answer - self.started)

    def record(self, kind: str, status: int, when: float) -> None:
        """One answer (status 0: no answer)."""
        with self.lock:
            self.sent += 1
            self.statuses[status] += 1
            if 400 <= status < 500:
                self.refused_by_kind[kind] += 1
            self.last_answer = max(self.last_answer, when)


class _Client:
    """One keep-alive connection; reconnects once when the server closed it."""

    def __init__(self, host: str, port: int) -> None:
        self._host, self._port = host, port
        self._connection = self._connect()

    def _connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self._host, self._port, timeout=_REQUEST_TIMEOUT_S)

    def send(self, request: ForgedRequest) -> int:
        """The answer's status, or 0 when none came (after one reconnect)."""
        for attempt in range(2):
            try:
                self._connection.request(
                    request.method, request.path, body=request.body, headers=dict(request.headers)
                )
                answer = self._connection.getresponse()
                answer.read()
                if answer.will_close:
                    self._connection.close()
                    self._connection = self._connect()
                return answer.status
            except (OSError, http.client.HTTPException):
                self._connection.close()
                self._connection = self._connect()
                if attempt:
                    return 0
        return 0

    def close(self) -> None:
        """Close the connection."""
        self._connection.close()


def _stop() -> bool:
    return False


def flood(
    url: str,
    requests: Sequence[ForgedRequest],
    *,
    workers: int,
    time_limit_s: float,
    keep_going: Callable[[], bool] = _stop,
) -> FloodResult:
    """Send ``requests`` to ``url`` (loopback only) on ``workers`` threads, then again while
    ``keep_going()``; the answers."""
    host, port = require_loopback(url)
    result = FloodResult()
    counter = iter(itertools.count())
    take = threading.Lock()
    result.started = time.monotonic()
    deadline = result.started + time_limit_s

    def worker() -> None:
        client = _Client(host, port)
        try:
            while time.monotonic() < deadline:
                with take:
                    index = next(counter)
                if not requests or (index >= len(requests) and not keep_going()):
                    return
                request = requests[index % len(requests)]
                status = client.send(request)
                result.record(request.kind, status, time.monotonic())
        finally:
            client.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(max(1, workers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(time_limit_s + _REQUEST_TIMEOUT_S * 2 + 5)
    with result.lock:
        result.unsent = max(0, len(requests) - result.sent)
    return result
