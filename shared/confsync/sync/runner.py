"""The orchestration of one sync run: :class:`SyncRunner` wires the parts to the ports and runs
the rounds (see :mod:`confsync.sync` for the whole life cycle).

:meth:`SyncRunner.run` skips a calendar that is not syncing, acknowledges a covered
notification, takes the lease (or coalesces into the run that holds it), then runs rounds of
settle → pull → pending retry → commit until a commit succeeds; after ``max_rounds`` it
re-publishes a request instead. It also turns revoked access into a disconnected calendar and
logs the run's summary line.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from confsync.errors import CalendarAccessError
from confsync.messages import SyncRequest
from confsync.ports import (
    CalendarClientFactory,
    CalendarStore,
    ConferenceProvider,
    RecordStore,
    SyncRequestPublisher,
)
from confsync.sync.apply import PageApplier
from confsync.sync.lease import CalendarLease
from confsync.sync.pending import PendingRetry
from confsync.sync.pull import Puller
from confsync.sync.send import ProviderSender
from confsync.sync.settings import SyncSettings
from confsync.sync.state import Run
from confsync.sync.summary import LOGGER, Status, SyncOutcome, SyncStats, labels, log_summary

__all__ = ["SyncRunner"]


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class _Parts:
    """The collaborators one run works through (all stateless; the run's state is its Run)."""

    lease: CalendarLease
    puller: Puller
    pending: PendingRetry


class SyncRunner:
    """Runs syncs of single calendars against the ports it is given. Thread-safe: a run keeps
    its state in a :class:`~confsync.sync.state.Run`, never on the runner or its parts.

    ``calendar_api`` opens Calendar API clients (one per run, for the calendar's subject);
    ``calendar_store`` holds the calendars' sync state (token, lease, ``notify_seq``)."""

    def __init__(
        self,
        *,
        calendar_api: CalendarClientFactory,
        calendar_store: CalendarStore,
        records: RecordStore,
        provider: ConferenceProvider,
        publisher: SyncRequestPublisher,
        settings: SyncSettings,
        now: Callable[[], datetime] = _utcnow,
        new_owner_id: Callable[[], str] = lambda: uuid.uuid4().hex,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        # The attribute names predate the keywords: tests and the bench wrap these ports
        # after construction, which is why each run wires its parts anew (see _wire).
        self._calendar = calendar_api
        self._calendars = calendar_store
        self._records = records
        self._provider = provider
        self._publisher = publisher
        self._settings = settings
        self._now = now
        self._new_owner_id = new_owner_id
        self._sleep = sleep

    def _wire(self) -> _Parts:
        """The parts of one run, wired to the ports as they are now. A handful of small objects
        per run; in exchange a port swapped after construction reaches every part."""
        settings, now = self._settings, self._now
        lease = CalendarLease(self._calendars, settings, now=now, sleep=self._sleep)
        sender = ProviderSender(self._provider, settings, now=now)
        applier = PageApplier(self._records, sender, settings)
        return _Parts(
            lease=lease,
            puller=Puller(self._records, applier, lease, settings, now=now),
            pending=PendingRetry(self._records, sender, settings, now=now),
        )

    def run(self, request: SyncRequest) -> SyncOutcome:
        """Sync the calendar of ``request``; see :mod:`confsync.sync` for the steps."""
        started = time.monotonic()
        key = request.calendar_key
        doc = self._calendars.get(key)
        if doc is None or not doc.syncing:
            LOGGER.info("calendar not syncing; request acknowledged", extra=labels(key))
            return SyncOutcome(status="skipped")
        parts = self._wire()
        if parts.lease.covers(doc, request):
            covered = SyncOutcome(status="covered", duration_s=time.monotonic() - started)
            log_summary(key, request, covered, now=None)
            return covered
        owner = self._new_owner_id()
        leased = parts.lease.take(doc, owner, request)
        if leased is None:
            LOGGER.info("sync in progress elsewhere; coalesced", extra=labels(key))
            return SyncOutcome(status="coalesced", duration_s=time.monotonic() - started)
        stats = SyncStats()
        released = False
        try:
            run = Run(
                client=self._calendar.for_subject(doc.subject),
                doc=leased,
                owner=owner,
                stats=stats,
                lease_until=leased.lease_until or self._now(),
            )
            status = self._rounds(run, parts)
            released = True
        except CalendarAccessError as err:
            LOGGER.error(
                "calendar access revoked; calendar disconnected: %s", err, extra=labels(key)
            )
            parts.lease.release_quietly(key, owner)  # first: releasing writes the outcome "error"
            released = True
            self._calendars.set_state(key, "disconnected", now=self._now(), outcome=str(err))
            status = "disconnected"
        finally:
            if not released:
                parts.lease.release_quietly(key, owner)
        outcome = SyncOutcome(status=status, stats=stats, duration_s=time.monotonic() - started)
        log_summary(key, request, outcome, now=self._now())
        return outcome

    def _rounds(self, run: Run, parts: _Parts) -> Status:
        """Settle (not before the first), pull, retry pending, commit; until a commit holds."""
        for round_ in range(self._settings.max_rounds):
            if round_ and not parts.lease.settled(run):
                return parts.lease.stopped(run)
            run.stats.rounds += 1
            seen_seq = run.doc.notify_seq
            pulled = parts.puller.pull(run)
            pending_count = parts.pending.retry(run)
            committed = parts.lease.commit(run, seen_seq, pulled, pending_count)
            if committed is not None:
                return committed
        # Still notified after max_rounds pulls: the token is stored; hand over to a new run.
        self._publisher.publish(
            SyncRequest(calendar_key=run.doc.key, reason="republish", notified_at=self._now())
        )
        parts.lease.release(run, "republished")
        return "republished"
