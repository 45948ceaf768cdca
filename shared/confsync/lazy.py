"""A process-wide object built on first use: the functions' lazily built service container.

Cloud Functions import ``main.py`` once per instance and then serve many requests, several at a
time (functions-framework runs threads). Clients are expensive to build and cheap to reuse, so
each entry point keeps one :class:`Lazy` holding its service: built by the first request, under a
lock so concurrent first requests build it once, and reused afterwards. Building at import instead
would slow every cold start, including the ones that only answer a health check.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["Lazy"]

T = TypeVar("T")


class Lazy(Generic[T]):
    """Calls ``build`` once, on first use, and returns its result ever after."""

    def __init__(self, build: Callable[[], T]) -> None:
        self._build = build
        self._lock = threading.Lock()
        self._value: T | None = None
        self._built = False

    def __call__(self) -> T:
        """The object, built now if this is the first call."""
        with self._lock:
            if not self._built:
                self._value = self._build()
                self._built = True
            return self._value  # type: ignore[return-value]
