"""The project-wide Calendar budget, spent by one function instance: claim in chunks, spend locally.

Google counts Calendar requests per project over a sliding minute (calendar-api.md 5.2); every
instance of the sync and channels functions draws on the same allowance. The budget is counted in
windows of :data:`WINDOW_S` seconds, each allowed a sixth of the minute's (:func:`per_window`):
any 60 seconds then span at most seven windows, so Google's sliding minute never sees more than
7/6 of ``CONFSYNC_PROJECT_CALENDAR_PER_MINUTE`` (9,333 at the default 8,000).

Each instance holds one :class:`CalendarAllowance` (shared by its request threads) over a
:class:`~confsync.ports.CalendarBudget`, the shared counter of the current window. The allowance
claims :func:`chunk_for` calls at a time and spends them without asking again, so the counter
costs one Firestore write per chunk, not per call; calls claimed and not spent lapse with their
window (at most one chunk per priority per instance stands idle). A sync run sends the claim its
first call would make ahead, in the write that takes the calendar's lease
(:meth:`CalendarAllowance.ahead`), so a run costs no round trip for it.

Two priorities share a window: ``user`` (a notification, an enrolment, an operator's request)
may use all of it; ``background`` (sweeps, renewals, repairs, collection) only while
:data:`BACKGROUND_SHARE` of it is not yet granted, so a busy sweep never starves the syncs users
are waiting for. A refused ``user`` call waits for the next window when it is at most
:data:`WAIT_FOR_NEXT_WINDOW_S` away; otherwise the caller gets
:class:`~confsync.errors.CalendarBudgetSpentError` (a TransientError: the sync is redelivered,
the tick defers). See docs/decisions/2026-12-04-project-calendar-budget.md.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Literal

from confsync.errors import CalendarBudgetSpentError
from confsync.messages import ChannelCommand, EnrollCommand, SyncRequest, UnenrollCommand
from confsync.ports import CalendarBudget, StagedClaim

__all__ = [
    "BACKGROUND_SHARE",
    "MAX_CHUNK",
    "WAIT_FOR_NEXT_WINDOW_S",
    "WINDOW_S",
    "CalendarAllowance",
    "ClaimAhead",
    "Priority",
    "chunk_for",
    "current_priority",
    "per_window",
    "priority_of",
    "spending_as",
]

Priority = Literal["user", "background"]
"""Who a Calendar call serves: a user waiting for it, or the maintenance that can wait."""

WINDOW_S = 10
"""The budget's window, a sixth of Google's sliding minute."""
BACKGROUND_SHARE = 0.8
"""Background calls are granted only while less than this share of the window is granted."""
MAX_CHUNK = 25
"""The most calls one claim asks for (one Firestore write per chunk)."""
WAIT_FOR_NEXT_WINDOW_S = 5.0
"""A refused ``user`` call waits for the next window if it begins within this many seconds."""

_SHARES: dict[Priority, float] = {"user": 1.0, "background": BACKGROUND_SHARE}
_PRIORITY: ContextVar[Priority] = ContextVar("confsync_calendar_priority", default="user")


@dataclass(slots=True)
class _Reserved:
    """Calls set aside for one request's own use (:meth:`CalendarAllowance.ahead`)."""

    calls: int = 0


_RESERVED: ContextVar[_Reserved | None] = ContextVar("confsync_calendar_reserved", default=None)


def per_window(per_minute: int) -> int:
    """A window's share of a per-minute budget (rounded down)."""
    return per_minute * WINDOW_S // 60


def chunk_for(window_calls: int) -> int:
    """The claim size for a window's budget: 1/100th of it, from 1 to :data:`MAX_CHUNK`, so
    that the calls active instances hold unspent at a window's end are a small part of it."""
    return max(1, min(MAX_CHUNK, window_calls // 100))


def priority_of(message: SyncRequest | ChannelCommand) -> Priority:
    """The priority of the Calendar calls a message causes: a sweep's sync and the channel
    maintenance (tick, renew and sweep batches) are ``background``; everything a user or an
    operator asked for (notifications, enrolment, republish, manual) is ``user``."""
    if isinstance(message, SyncRequest):
        return "background" if message.reason == "sweep" else "user"
    if isinstance(message, EnrollCommand | UnenrollCommand):
        return "user"
    return "background"


@contextlib.contextmanager
def spending_as(priority: Priority) -> Iterator[None]:
    """Calendar clients handed out within the block spend with ``priority`` (a clients'
    priority is fixed when it is handed out, so worker threads it is passed to keep it). The
    block is one request: calls :meth:`CalendarAllowance.ahead` sets aside in it are its own,
    and spent first (worker threads in a copy of its context share them)."""
    token = _PRIORITY.set(priority)
    reserved = _RESERVED.set(_Reserved())
    try:
        yield
    finally:
        _RESERVED.reset(reserved)
        _PRIORITY.reset(token)


def current_priority() -> Priority:
    """The priority of the enclosing :func:`spending_as` block (``user`` outside any)."""
    return _PRIORITY.get()


@dataclass(frozen=True, slots=True)
class ClaimAhead:
    """A claim of a :class:`CalendarAllowance`, staged to go with another write of the same
    store (:meth:`CalendarAllowance.ahead`): the writer sends :attr:`staged` with its own write
    and reports what it granted (:meth:`granted`); a write that fails sends no claim."""

    allowance: CalendarAllowance
    window: int
    priority: Priority
    staged: StagedClaim

    def granted(self, calls: int) -> None:
        """The claim went with the write and granted ``calls``: the allowance spends them."""
        self.allowance.granted_ahead(self.window, self.priority, calls)


class CalendarAllowance:
    """One instance's share of the project's Calendar budget; safe to share between threads.

    ``claims`` counts the claims made (each one Firestore write, plus one more when the budget
    could grant only part of a chunk: see the adapter)."""

    def __init__(
        self,
        budget: CalendarBudget,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._budget = budget
        self._chunk = chunk_for(budget.per_window)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._window = -1
        self._left: dict[Priority, int] = {"user": 0, "background": 0}
        self._refused: set[Priority] = set()
        self.claims = 0

    def spend(self, priority: Priority) -> None:
        """Charge one Calendar call; CalendarBudgetSpentError (nothing charged) when the window
        has none left for ``priority`` (``user`` waits first if the next window is near)."""
        if self.try_spend(priority):
            return
        wait = self._until_next_window()
        if priority == "user" and wait <= WAIT_FOR_NEXT_WINDOW_S:
            self._sleep(wait)
            if self.try_spend(priority):
                return
            wait = self._until_next_window()
        raise CalendarBudgetSpentError(
            f"the project's Calendar budget ({self._budget.per_window} calls per {WINDOW_S} s, "
            f"{priority} share) is spent; the next window begins in {wait:.1f} s",
            retry_after=wait,
        )

    def ahead(self, priority: Priority) -> ClaimAhead | None:
        """Before a request's first Calendar call (a sync run takes its lease right before
        it): one call set aside for the request (inside :func:`spending_as`), so another
        request's calls cannot spend it in between, nor a new window begin without it; from
        the calls left, else from the claim this returns, staged to be sent with that other
        write (None: calls were left, a call is set aside already, or the window refused a
        claim)."""
        reserved = _RESERVED.get()
        with self._lock:
            window = self._current_window()
            if reserved is not None and reserved.calls > 0:
                return None
            if self._left[priority] > 0:
                if reserved is not None:
                    self._left[priority] -= 1
                    reserved.calls += 1
                return None
            if priority in self._refused:
                return None
            staged = self._budget.stage(window, self._chunk, _SHARES[priority])
            return None if staged is None else ClaimAhead(self, window, priority, staged)

    def granted_ahead(self, window: int, priority: Priority, granted: int) -> None:
        """A claim sent ahead granted ``granted`` calls of ``window``: one is set aside for the
        request that sent it, the rest lapse if the window is over."""
        reserved = _RESERVED.get()
        with self._lock:
            self.claims += 1
            if granted > 0 and reserved is not None:
                reserved.calls += 1
                granted -= 1
            if window != self._current_window():
                return
            # Nothing granted: one shard is spent; the next call's own claim tries the others.
            self._left[priority] += max(0, granted)

    def _current_window(self) -> int:
        """The window now; what was claimed for an earlier one lapses (hold the lock)."""
        window = int(self._clock() // WINDOW_S)
        if window != self._window:
            self._window = window
            self._left = {"user": 0, "background": 0}
            self._refused = set()
        return window

    def try_spend(self, priority: Priority) -> bool:
        """Charge one Calendar call if the budget allows it; False (nothing charged) otherwise."""
        reserved = _RESERVED.get()
        with self._lock:
            if reserved is not None and reserved.calls > 0:
                reserved.calls -= 1
                return True
            window = self._current_window()
            if self._left[priority] == 0:
                if priority in self._refused:
                    return False  # no second claim in a window that refused one
                self.claims += 1
                granted = self._budget.claim(window, self._chunk, _SHARES[priority])
                if granted <= 0:
                    self._refused.add(priority)
                    return False
                self._left[priority] = granted
            self._left[priority] -= 1
            return True

    def _until_next_window(self) -> float:
        now = self._clock()
        return max(0.0, (int(now // WINDOW_S) + 1) * WINDOW_S - now)
