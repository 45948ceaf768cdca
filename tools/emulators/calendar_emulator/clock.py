"""A time seam: the emulator asks a clock for the current time so unit tests can control it."""

from __future__ import annotations

import datetime
import threading
from typing import Protocol

__all__ = ["Clock", "ManualClock", "SystemClock"]

UTC = datetime.UTC


class Clock(Protocol):
    """Something that tells the current time as an aware UTC datetime."""

    def now(self) -> datetime.datetime: ...


class SystemClock:
    """The real wall clock."""

    def now(self) -> datetime.datetime:
        return datetime.datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to (for tests)."""

    def __init__(self, start: datetime.datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._now = start or datetime.datetime(2026, 1, 1, tzinfo=UTC)

    def now(self) -> datetime.datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += datetime.timedelta(seconds=seconds)

    def set(self, moment: datetime.datetime) -> None:
        with self._lock:
            self._now = moment
