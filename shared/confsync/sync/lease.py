"""Single flight: one run at a time per calendar, and no notification lost meanwhile.

:class:`CalendarLease` owns every exchange with the calendar's state in the store that decides
who pulls and when to pull again:

- **covered**: a notification stamped at least ``skew`` before the stored token's pull began
  was answered by that pull already (:meth:`CalendarLease.covers`);
- **lease**: a run takes the calendar's lease with an optimistic write; when another run holds
  it, the request increments ``notify_seq`` instead and the owner pulls again
  (:meth:`CalendarLease.take`); a long pull extends the lease (:meth:`CalendarLease.keep`);
- **commit**: the token is stored and the lease released only if ``notify_seq`` did not move,
  or every request since was covered by the pull (:meth:`CalendarLease.commit`);
- **settle**: before another pull, wait while requests keep arriving
  (:meth:`CalendarLease.settled`);
- **stragglers**: a notification stamped shortly before the stored token's pull began, within
  ``skew``, waits until that pull began ``skew`` ago before pulling, so its pull covers every
  other straggler of the same burst (:meth:`CalendarLease.wait_for_stragglers`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from confsync.calendars import CalendarDoc, epoch_ms
from confsync.errors import CalendarUnavailableError, ConfsyncError
from confsync.messages import SyncRequest
from confsync.ports import CalendarStore
from confsync.sweep_policy import RunEvidence, SweepPlan, next_sweep
from confsync.sync.settings import SyncSettings
from confsync.sync.state import Pulled, Run
from confsync.sync.summary import LOGGER, Status, labels

__all__ = ["CalendarLease"]

_COVERED_COMMITS = 10  # commits retried without a pull while covered requests keep racing in


class CalendarLease:
    """The lease and ``notify_seq`` handshake of calendars in ``calendar_store``; stateless
    between calls (a run's lease lives in its :class:`~confsync.sync.state.Run`)."""

    def __init__(
        self,
        calendar_store: CalendarStore,
        settings: SyncSettings,
        *,
        now: Callable[[], datetime],
        sleep: Callable[[float], None],
    ) -> None:
        self._calendars = calendar_store
        self._settings = settings
        self._now = now
        self._sleep = sleep

    def covers(self, doc: CalendarDoc, request: SyncRequest) -> bool:
        """Whether the stored token's pull began after Google sent this notification (with
        ``skew`` to spare for the clocks of intake and sync), so it returned the change already.
        Only notifications: a sweep, an operator or an enrollment asks for a pull now."""
        if request.reason != "notification" or doc.sync_token is None or doc.pulled_from is None:
            return False
        return epoch_ms(request.notified_at) <= epoch_ms(doc.pulled_from - self._settings.skew)

    def wait_for_stragglers(self, run: Run, request: SyncRequest) -> None:
        """Before the first pull of a notification stamped less than ``skew`` before the stored
        token's pull began (not covered, but that pull most likely returned its change), wait
        until ``pulled_from + skew``, at most ``skew``. The pull then covers every notification
        stamped before ``pulled_from``: the other late deliveries of a burst are answered
        ``covered`` (or, arriving while this run holds the lease, covered at its commit) instead
        of each pulling an empty page. A notification stamped after the stored pull began, a
        new change, is never delayed."""
        doc = run.doc
        if request.reason != "notification" or doc.sync_token is None or doc.pulled_from is None:
            return
        if epoch_ms(request.notified_at) >= epoch_ms(doc.pulled_from):
            return
        skew = self._settings.skew.total_seconds()
        wait = (doc.pulled_from - self._now()).total_seconds() + skew
        if wait > 0:
            self._sleep(min(wait, skew))
            run.stats.settle_waits += 1

    def take(self, doc: CalendarDoc, owner: str, request: SyncRequest) -> CalendarDoc | None:
        """The calendar leased to ``owner``, or None when another run holds the lease and was
        told (``notify_seq``) to pull again."""
        seen: CalendarDoc | None = doc  # the first attempt writes on the run's reading
        for _ in range(3):
            now = self._now()
            leased = self._calendars.acquire_lease(
                doc.key, owner, until=now + self._settings.lease_ttl, now=now, seen=seen
            )
            seen = None
            if leased is not None:
                return leased
            # A notification counts from when Google sent it; any other request from now, so
            # only a pull that begins after it reached us can cover it.
            at = request.notified_at if request.reason == "notification" else now
            after = self._calendars.notify(doc.key, at)
            if after is None or not after.syncing or after.lease_held(self._now()):
                return None  # the owner will see notify_seq move and pull again
            # The owner released between our attempt and our increment: nobody would pull.
        return None

    def keep(self, run: Run) -> None:
        """Extend the lease when half of it is used up, so a long pull keeps it."""
        ttl = self._settings.lease_ttl
        if self._now() < run.lease_until - ttl / 2:
            return
        run.lease_until = self._now() + ttl
        kept = self._calendars.extend_lease(run.doc.key, run.owner, run.lease_until, seen=run.doc)
        if kept is None:
            raise CalendarUnavailableError("lease lost during a long pull; retrying")
        run.doc = kept

    def commit(self, run: Run, seen_seq: int, pulled: Pulled, pending_count: int) -> Status | None:
        """Store the token and release; None when a request newer than the pull needs another.

        The records the round's last page staged (``run.unsaved``) go with the first commit that
        holds; a RecordConflictError (one of them changed, nothing written) is the caller's.
        A failed commit stores the token too (only the release is refused). When every request
        since ``seen_seq`` was stamped ``skew`` before the pull began, the pull covered them:
        commit again against the new counter instead of pulling (a few times, as requests may
        keep landing in between)."""
        horizon_ms = epoch_ms(pulled.started - self._settings.skew)
        full_sync = pulled.full
        sweep = self._next_sweep(run, pulled, pending_count)
        seen: CalendarDoc | None = run.doc  # as the run last read or wrote it: no read first
        for _ in range(_COVERED_COMMITS):
            staged = run.unsaved.staged if run.unsaved is not None else None
            run.unsaved = None  # written by the first commit that holds
            if self._calendars.commit(
                run.doc.key,
                run.owner,
                seen_seq,
                sync_token=pulled.token,
                pulled_from=pulled.started,
                now=self._now(),
                full_sync=full_sync,
                pending_count=pending_count,
                sweep=sweep,
                pending_checked_at=run.pending_checked_at,
                seen=seen,
                records=staged,
            ):
                return "synced"
            full_sync = False  # counted by the commit that just stored the token
            fresh = self._calendars.get(run.doc.key)
            if fresh is None or not fresh.syncing:
                return self.stopped(run)
            run.doc = seen = fresh
            if fresh.notified_max_ms > horizon_ms:
                return None
            run.stats.covered += fresh.notify_seq - seen_seq
            seen_seq = fresh.notify_seq
        return None  # covered requests kept racing the commit: pull again, from a stored token

    def _next_sweep(self, run: Run, pulled: Pulled, pending_count: int) -> SweepPlan:
        """The calendar's next sweep, from what this run found (:mod:`confsync.sweep_policy`)."""
        evidence = RunEvidence(
            now=self._now(),
            swept=run.swept,
            changes=0 if pulled.full else run.stats.events,
            pending=pending_count > 0,
            previous=run.doc.sweep_interval,
        )
        return next_sweep(evidence, self._settings.sweep)

    def settled(self, run: Run) -> bool:
        """Before another pull, wait while requests keep arriving (``settle`` at a time, at most
        ``settle_max`` in all), so one pull takes in a burst of edits instead of its first few
        and each conference gets one update rather than one per pull. False if the calendar
        stopped syncing meanwhile. Updates ``run.doc``: its ``notify_seq`` is the next round's."""
        step = self._settings.settle.total_seconds()
        budget = self._settings.settle_max.total_seconds()
        waited = 0.0
        while step > 0 and waited < budget:
            pause = min(step, budget - waited)
            self._sleep(pause)
            waited += pause
            run.stats.settle_waits += 1
            fresh = self._calendars.get(run.doc.key)
            if fresh is None or not fresh.syncing:
                return False
            moved = fresh.notify_seq != run.doc.notify_seq
            run.doc = fresh
            if not moved:
                break
        return True

    def stopped(self, run: Run) -> Status:
        """The calendar stopped syncing (or is gone) while this run held its lease."""
        self.release(run, "stopped")
        return "skipped"

    def release(self, run: Run, outcome: str) -> None:
        """Release the run's lease, recording ``outcome`` as the calendar's last."""
        self._calendars.release(run.doc.key, run.owner, now=self._now(), outcome=outcome)

    def release_quietly(self, key: str, owner: str) -> None:
        """Release after an error, which is the outcome; a failure is logged, not raised."""
        try:
            self._calendars.release(key, owner, now=self._now(), outcome="error")
        except ConfsyncError as err:  # the lease expires by itself
            LOGGER.warning("could not release lease: %s", err, extra=labels(key))
