"""The project's Calendar budget in Firestore: per-window counters split over shard documents.

``calendar_budget/{window}-{shard}`` holds ``asked``, the calls asked of that shard in that window
(epoch seconds // :data:`~confsync.calendar_budget.WINDOW_S`). The window's budget is split
evenly over :func:`shard_count` shards, so that even with the whole budget claimed no document
takes more than about one write a second (Firestore's sustained rate per document).
A claim is one write, no read and no transaction: ``asked`` is incremented by the chunk and the
write's transform result is the new total; the claim is granted the part of its range
``[total - chunk, total)`` that lies below the shard's cap (its share of the budget times the
priority's share). Ranges of concurrent claims never overlap, so what a minute grants never
exceeds its budget, however many instances claim at once. A claim granted less than it asked
hands the rest back with a second write (decrementing ``asked``), so a refused claim does not
shrink what later claims may get; a hand-back lost to a crash only makes that minute stricter.

A shard that granted nothing is not asked again in that window by this instance; a claim
tries the other shards first, so the window's budget is used whichever shard is busy.

A claim can also be **staged** (:meth:`FirestoreCalendarBudget.stage`): its write, prepared for
one shard, rides in the commit of a sync run's lease (:class:`FirestoreStagedClaim`, written by
:class:`~confsync.adapters.firestore_store.FirestoreCalendarStore`), so the claim before a run's
first Calendar call costs no round trip of its own. The commit's transform result settles it
exactly as a claim's own write would.
``expire_at`` (a day after the window) lets Firestore's TTL policy delete old counters.
"""

from __future__ import annotations

import logging
import random
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from confsync.adapters import firestore_errors as fs_errors
from confsync.adapters import firestore_http as firestore
from confsync.adapters.firestore_fields import Increment, set_write
from confsync.adapters.firestore_store import translated
from confsync.calendar_budget import WINDOW_S, chunk_for

__all__ = ["COLLECTION", "FirestoreCalendarBudget", "FirestoreStagedClaim", "shard_count"]

COLLECTION = "calendar_budget"
_LOGGER = logging.getLogger(__name__)
_EXPIRY = timedelta(days=1)


def shard_count(per_window: int) -> int:
    """How many shard documents a window's budget of ``per_window`` calls is split over: enough
    that each takes at most one claim a second when the whole budget is claimed."""
    per_shard = chunk_for(per_window) * WINDOW_S
    return max(1, -(-per_window // per_shard))


class FirestoreCalendarBudget:
    """A :class:`~confsync.ports.CalendarBudget` over Firestore; one per function instance."""

    def __init__(
        self, client: firestore.Client, per_window: int, *, rng: random.Random | None = None
    ) -> None:
        self._client = client
        self._per_window = per_window
        self._shards = shard_count(per_window)
        self._rng = rng or random.Random()  # noqa: S311 - spreads claims, not security
        self._lock = threading.Lock()
        self._window = -1
        self._exhausted: set[tuple[int, float]] = set()
        self.writes = 0
        """Firestore writes made (claims and hand-backs): the budget's whole cost."""

    @property
    def per_window(self) -> int:
        return self._per_window

    def shard_cap(self, shard: int, share: float) -> int:
        """What shard ``shard`` may grant in a window to a priority of ``share``."""
        base, extra = divmod(self._per_window, self._shards)
        return int((base + (1 if shard < extra else 0)) * share)

    def claim(self, window: int, calls: int, share: float) -> int:
        start = self._rng.randrange(self._shards)
        for step in range(self._shards):
            shard = (start + step) % self._shards
            if self._known_exhausted(window, shard, share):
                continue
            granted = self._claim_from(window, shard, calls, share)
            if granted > 0:
                return granted  # else the shard is known exhausted now: try the next
        return 0

    def stage(self, window: int, calls: int, share: float) -> FirestoreStagedClaim | None:
        start = self._rng.randrange(self._shards)
        for step in range(self._shards):
            shard = (start + step) % self._shards
            if not self._known_exhausted(window, shard, share):
                return FirestoreStagedClaim(self, window, shard, calls, share)
        return None

    def _known_exhausted(self, window: int, shard: int, share: float) -> bool:
        with self._lock:
            if window != self._window:
                self._window = window
                self._exhausted = set()
            return (shard, share) in self._exhausted

    def _claim_from(self, window: int, shard: int, calls: int, share: float) -> int:
        with translated("calendar budget claim"):
            result = self._client.commit([self.claim_write(window, shard, calls)])[0]
            return self.settled(window, shard, calls, share, result)

    def _shard(self, window: int, shard: int) -> firestore.DocumentReference:
        return self._client.collection(COLLECTION).document(f"{window}-{shard}")

    def claim_write(self, window: int, shard: int, calls: int) -> dict[str, Any]:
        """The write of a claim: ``asked`` incremented by ``calls`` (its transform result is
        the new total), ``expire_at`` for the TTL policy."""
        expire_at = datetime.fromtimestamp(window * WINDOW_S, UTC) + _EXPIRY
        data = {"asked": Increment(calls), "expire_at": expire_at}
        return set_write(self._shard(window, shard).name, data, merge=True)

    def settled(
        self, window: int, shard: int, calls: int, share: float, result: firestore.WriteResult
    ) -> int:
        """The calls a claim's written ``result`` granted; the rest handed back. A hand-back
        that fails is logged and not retried: the grant stands, and the window only grants
        less than it could (the claim, or the lease it went with, is written already)."""
        self.writes += 1
        total = int(result.transform_results[0])
        granted = max(0, min(calls, self.shard_cap(shard, share) - (total - calls)))
        if granted < calls:
            try:
                self._shard(window, shard).update({"asked": Increment(granted - calls)})
                self.writes += 1
            except fs_errors.FirestoreError as err:
                _LOGGER.warning(
                    "calendar budget: %d unused calls of window %d not handed back: %s",
                    calls - granted,
                    window,
                    err,
                )
        if granted <= 0:
            with self._lock:
                if window == self._window:
                    self._exhausted.add((shard, share))
        return granted


class FirestoreStagedClaim:
    """A claim on one shard, prepared by :meth:`FirestoreCalendarBudget.stage`."""

    def __init__(
        self, budget: FirestoreCalendarBudget, window: int, shard: int, calls: int, share: float
    ) -> None:
        self._budget = budget
        self._at = (window, shard, calls, share)
        self.write = budget.claim_write(window, shard, calls)
        """The claim's write, for a commit of the same database."""

    def settled(self, result: firestore.WriteResult) -> int:
        """The calls granted, given the result of :attr:`write` in a commit that succeeded."""
        with translated("calendar budget claim"):
            return self._budget.settled(*self._at, result)

    def claim(self) -> int:
        window, _shard, calls, share = self._at
        return self._budget.claim(window, calls, share)
