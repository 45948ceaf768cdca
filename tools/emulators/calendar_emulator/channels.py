"""Push notification channels: the registry of watches and the asynchronous notifier.

Messages are queued per channel and delivered in order by a small pool of background threads
(never inside the API request that caused them). A 500/502/503/504 answer or a connection failure
is retried with exponential backoff; any other answer ends the message. Delivery stops at the
channel's expiration or when the channel is stopped.
"""

from __future__ import annotations

import collections
import datetime
import email.utils
import heapq
import http.client
import ipaddress
import itertools
import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from .clock import Clock
from .faults import FaultRegistry

__all__ = ["Channel", "ChannelRegistry", "Notifier", "is_loopback_host"]

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({500, 502, 503, 504})
_LOG_LIMIT = 20_000


def is_loopback_host(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass
class Channel:
    """A live watch on one calendar's events."""

    id: str
    resource_id: str
    resource_uri: str
    token: str | None
    address: str
    expiration_ms: int
    calendar_id: str
    last_number: int = 0
    watcher: str | None = None
    """The user the watch was made as (None: not known)."""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "resourceId": self.resource_id,
            "resourceUri": self.resource_uri,
            "address": self.address,
            "expiration": str(self.expiration_ms),
            "calendarId": self.calendar_id,
        }
        if self.token is not None:
            out["token"] = self.token
        return out


class ChannelRegistry:
    """Live channels by id (thread-safe)."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._channels: dict[str, Channel] = {}

    def _now_ms(self) -> int:
        return int(self._clock.now().timestamp() * 1000)

    def _prune(self) -> None:
        now = self._now_ms()
        for channel_id in [c.id for c in self._channels.values() if c.expiration_ms <= now]:
            del self._channels[channel_id]

    def add(self, channel: Channel) -> bool:
        """Register; False when a live channel already has this id."""
        with self._lock:
            self._prune()
            if channel.id in self._channels:
                return False
            self._channels[channel.id] = channel
            return True

    def remove(self, channel_id: str, resource_id: str) -> bool:
        with self._lock:
            found = self._channels.get(channel_id)
            if found is None or found.resource_id != resource_id:
                return False
            del self._channels[channel_id]
            return True

    def drop(self, predicate: Callable[[Channel], bool]) -> list[Channel]:
        """Remove every channel ``predicate`` holds for; the removed ones."""
        with self._lock:
            dropped = [c for c in self._channels.values() if predicate(c)]
            for channel in dropped:
                del self._channels[channel.id]
            return dropped

    def is_live(self, channel: Channel) -> bool:
        with self._lock:
            return (
                self._channels.get(channel.id) is channel and channel.expiration_ms > self._now_ms()
            )

    def for_calendar(self, calendar_id: str) -> list[Channel]:
        with self._lock:
            self._prune()
            return [c for c in self._channels.values() if c.calendar_id == calendar_id]

    def all(self) -> list[Channel]:
        with self._lock:
            self._prune()
            return list(self._channels.values())

    def clear(self) -> None:
        with self._lock:
            self._channels.clear()


@dataclass
class _Message:
    channel: Channel
    state: str
    number: int
    due: float
    attempt: int = 0


@dataclass
class _Queue:
    messages: collections.deque[_Message] = field(default_factory=collections.deque)
    busy: bool = False
    scheduled: bool = False


class Notifier:
    """Delivers push messages in the background, in order per channel."""

    def __init__(
        self,
        registry: ChannelRegistry,
        faults: FaultRegistry,
        clock: Clock,
        *,
        workers: int = 4,
        timeout: float = 2.0,
        max_attempts: int = 6,
        backoff: float = 0.2,
        max_backoff: float = 8.0,
    ) -> None:
        self._registry = registry
        self._faults = faults
        self._clock = clock
        self._timeout = timeout
        self._max_attempts = max_attempts
        self._backoff = backoff
        self._max_backoff = max_backoff
        self._cond = threading.Condition()
        self._queues: dict[str, _Queue] = {}
        self._heap: list[tuple[float, int, str]] = []
        self._tie = itertools.count()
        self._stopping = False
        self._log: collections.deque[dict[str, Any]] = collections.deque(maxlen=_LOG_LIMIT)
        self._threads = [
            threading.Thread(target=self._run, name=f"calendar-notifier-{n}", daemon=True)
            for n in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    # -- producer side ------------------------------------------------------------------------

    def send_sync(self, channel: Channel) -> None:
        with self._cond:
            channel.last_number = 1
            self._enqueue(channel, "sync", 1)

    def notify_calendar(self, calendar_id: str) -> None:
        """An `exists` message to every live channel of the calendar."""
        channels = self._registry.for_calendar(calendar_id)
        with self._cond:
            for channel in channels:
                channel.last_number += 2 + secrets.randbelow(8)
                self._enqueue(channel, "exists", channel.last_number)

    def _enqueue(self, channel: Channel, state: str, number: int) -> None:
        decision = self._faults.for_notification(channel.calendar_id)
        if decision.drop:
            self._record(
                channel,
                state=state,
                number=number,
                attempt=0,
                status=None,
                outcome="dropped",
                error=None,
            )
            return
        due = time.monotonic() + decision.delay_ms / 1000
        queue = self._queues.setdefault(channel.id, _Queue())
        copies = 2 if decision.duplicate else 1
        for _ in range(copies):
            queue.messages.append(_Message(channel, state, number, due))
        self._schedule(channel.id, queue)

    def _schedule(self, channel_id: str, queue: _Queue) -> None:
        if queue.busy or queue.scheduled or not queue.messages:
            return
        queue.scheduled = True
        heapq.heappush(self._heap, (queue.messages[0].due, next(self._tie), channel_id))
        self._cond.notify()

    def forget(self, channel_id: str) -> None:
        with self._cond:
            queue = self._queues.get(channel_id)
            if queue is not None:
                queue.messages.clear()
                if not queue.busy and not queue.scheduled:
                    del self._queues[channel_id]

    def reset(self) -> None:
        with self._cond:
            for queue in self._queues.values():
                queue.messages.clear()
            self._log.clear()

    def log(self) -> list[dict[str, Any]]:
        with self._cond:
            return list(self._log)

    def stop(self, timeout: float = 3.0) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    # -- worker side ----------------------------------------------------------------------------

    def _take(self) -> _Message | None:
        """Wait for the next due message; None when stopping."""
        with self._cond:
            while not self._stopping:
                if self._heap:
                    due, _, channel_id = self._heap[0]
                    wait = due - time.monotonic()
                    if wait <= 0:
                        heapq.heappop(self._heap)
                        queue = self._queues[channel_id]
                        queue.scheduled = False
                        if not queue.messages:
                            continue
                        queue.busy = True
                        return queue.messages[0]
                    self._cond.wait(min(wait, 0.5))
                else:
                    self._cond.wait(0.5)
            return None

    def _run(self) -> None:
        while True:
            message = self._take()
            if message is None:
                return
            retry = self._attempt(message)
            with self._cond:
                queue = self._queues[message.channel.id]
                queue.busy = False
                if queue.messages and queue.messages[0] is message:
                    if retry and not self._stopping:
                        delay = min(self._backoff * 2 ** (message.attempt - 1), self._max_backoff)
                        message.due = time.monotonic() + delay
                    else:
                        queue.messages.popleft()
                self._schedule(message.channel.id, queue)

    def _attempt(self, message: _Message) -> bool:
        """Try one delivery; True when it should be retried."""
        channel = message.channel
        if not self._registry.is_live(channel):
            self._record(
                channel,
                state=message.state,
                number=message.number,
                attempt=message.attempt,
                status=None,
                outcome="expired",
                error=None,
            )
            return False
        message.attempt += 1
        try:
            status = self._post(message)
        except OSError as exc:
            retry = message.attempt < self._max_attempts
            outcome = "retrying" if retry else "failed"
            self._record(
                channel,
                state=message.state,
                number=message.number,
                attempt=message.attempt,
                status=None,
                outcome=outcome,
                error=str(exc),
            )
            return retry
        if 200 <= status < 300 or status == 102:
            self._record(
                channel,
                state=message.state,
                number=message.number,
                attempt=message.attempt,
                status=status,
                outcome="delivered",
                error=None,
            )
            return False
        retry = status in RETRY_STATUSES and message.attempt < self._max_attempts
        outcome = "retrying" if retry else "failed"
        self._record(
            channel,
            state=message.state,
            number=message.number,
            attempt=message.attempt,
            status=status,
            outcome=outcome,
            error=None,
        )
        return retry

    def _post(self, message: _Message) -> int:
        channel = message.channel
        parts = urlsplit(channel.address)
        host = parts.hostname or ""
        connection: http.client.HTTPConnection
        if parts.scheme == "https":
            connection = http.client.HTTPSConnection(host, parts.port, timeout=self._timeout)
        else:
            connection = http.client.HTTPConnection(host, parts.port, timeout=self._timeout)
        expiration = datetime.datetime.fromtimestamp(channel.expiration_ms / 1000, datetime.UTC)
        headers = {
            "User-Agent": "APIs-Google",
            "Content-Type": "application/json; charset=UTF-8",
            "X-Goog-Channel-ID": channel.id,
            "X-Goog-Channel-Expiration": email.utils.format_datetime(expiration, usegmt=True),
            "X-Goog-Message-Number": str(message.number),
            "X-Goog-Resource-ID": channel.resource_id,
            "X-Goog-Resource-State": message.state,
            "X-Goog-Resource-URI": channel.resource_uri,
        }
        if channel.token is not None:
            headers["X-Goog-Channel-Token"] = channel.token
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        try:
            connection.request("POST", path, body=b"", headers=headers)
            response = connection.getresponse()
            response.read()
            return response.status
        finally:
            connection.close()

    def _record(
        self,
        channel: Channel,
        *,
        state: str,
        number: int,
        attempt: int,
        status: int | None,
        outcome: str,
        error: str | None,
    ) -> None:
        entry = {
            "channelId": channel.id,
            "resourceId": channel.resource_id,
            "calendarId": channel.calendar_id,
            "address": channel.address,
            "state": state,
            "messageNumber": number,
            "attempt": attempt,
            "status": status,
            "outcome": outcome,
            "error": error,
            "time": self._clock.now().isoformat(),
        }
        log.debug("notification %s", entry)
        with self._cond:
            self._log.append(entry)
