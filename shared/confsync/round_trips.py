"""Counting a unit of work's round trips to the database, for its summary line and the bench.

A run opens a tally with :func:`counting`; the database adapter calls :func:`note` once per
request it sends (one RPC: a batched get, a query, a commit). A tally is per context
(:mod:`contextvars`), so concurrent runs on the threads of one instance count apart; a request
sent outside any tally is not counted. A run's worker thread that runs in a copy of the run's
context counts on the run's tally (thread-safe).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from threading import Lock

__all__ = ["Tally", "counting", "note"]


@dataclass(slots=True)
class Tally:
    """Round trips counted so far."""

    count: int = 0
    _lock: Lock = field(default_factory=Lock, repr=False, compare=False)

    def add(self) -> None:
        """Count one round trip."""
        with self._lock:
            self.count += 1


_CURRENT: ContextVar[Tally | None] = ContextVar("confsync_round_trips", default=None)


@contextmanager
def counting() -> Iterator[Tally]:
    """A fresh tally for the requests sent inside the block (a nested block counts apart)."""
    tally = Tally()
    token = _CURRENT.set(tally)
    try:
        yield tally
    finally:
        _CURRENT.reset(token)


def note() -> None:
    """One round trip, counted on the current tally if there is one."""
    tally = _CURRENT.get()
    if tally is not None:
        tally.add()
