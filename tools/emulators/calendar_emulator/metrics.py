"""Request counters by Calendar method id (for the admin API)."""

from __future__ import annotations

import collections
import threading

__all__ = ["RequestCounters"]


class RequestCounters:
    """A thread-safe counter of API calls by discovery method id."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: collections.Counter[str] = collections.Counter()

    def increment(self, method: str) -> None:
        with self._lock:
            self._counts[method] += 1

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
