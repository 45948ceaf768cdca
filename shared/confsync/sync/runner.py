"""The orchestration of one sync run: :class:`SyncRunner` wires the parts to the ports and runs
the rounds (see :mod:`confsync.sync` for the whole life cycle).

:meth:`SyncRunner.run` skips a calendar that is not syncing, drops a notification from a channel
that was not live when intake received it (:meth:`~confsync.calendars.CalendarDoc.channel_live`,
on the calendar document it reads anyway: no extra read, no Calendar call, no retry),
acknowledges a covered notification, takes the lease (or coalesces into the run that holds it),
then runs rounds of settle → pull → pending retry → commit until a commit succeeds; after
``max_rounds`` it re-publishes a request instead. It also turns revoked access, or a calendar
seen through an access role below ``writer`` (:class:`~confsync.errors.UntrustedViewError`,
raised by the pull before the page is planned), into a disconnected calendar (its reason as the
outcome, ``disconnected_at`` set the first time, its live channel windows forgotten; the channel
service stops its channels and, after the retention, unenrolls it), and logs the run's summary
line.

**Round trips.** The run counts the requests it sends to the store
(:mod:`confsync.round_trips`; its summary's ``firestore_round_trips``). The common run, a
notification with a few changed events, costs one read of the calendar, the lease taken on that
reading, the page's records read, and one commit on the version the lease wrote that stores the
token, releases the lease and writes the page's records (staged by the last page of a pull,
:attr:`~confsync.sync.state.Run.unsaved`): four. When the pending retry runs, the staged records
are saved before it, on their own; when one of them changed since the page read it, nothing
staged is written and the page is applied again at once (read, plan, send, save), as a page whose
own save was refused is, before the commit is made again. A notification run skips the pending
retry (one query) when nothing can be due: the calendar's last run ended in a commit that left
no pending operation, it holds no delete, this run left none, and a run looked less than the
first backoff (``pending_base_delay``) ago; an operation another calendar's run left pending
meanwhile is not due before that backoff ends. Sweeps and operators' runs always look.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from confsync.calendars import RECORDS_SCHEMA
from confsync.errors import CalendarAccessError, RecordConflictError, UntrustedViewError
from confsync.messages import SyncRequest
from confsync.ports import (
    CalendarClientFactory,
    CalendarStore,
    ConferenceProvider,
    LegacyRecords,
    RecordStore,
    SyncRequestPublisher,
)
from confsync.record_migration import migrate_calendar
from confsync.round_trips import Tally, counting
from confsync.state_changes import set_while_syncing
from confsync.sync.apply import PageApplier
from confsync.sync.lease import CalendarLease
from confsync.sync.owners import OwnerResolver
from confsync.sync.pending import PendingRetry
from confsync.sync.pull import Puller
from confsync.sync.send import ProviderSender
from confsync.sync.settings import SyncSettings
from confsync.sync.state import Pulled, Run, Unsaved
from confsync.sync.summary import LOGGER, Status, SyncOutcome, SyncStats, labels, log_summary

__all__ = ["SyncPorts", "SyncRunner"]


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class SyncPorts:
    """What a runner talks to. ``calendar_api`` opens Calendar API clients (one per run, for the
    calendar's subject); ``calendar_store`` holds the calendars' sync state (token, lease,
    ``notify_seq``); ``records`` the conference records; ``provider`` the conferencing system;
    ``publisher`` the SyncRequest topic (for a hand-over after ``max_rounds``, and the pulls a
    delete's grace asks of the owner's other calendars); ``legacy`` the
    records of schema 1 still to migrate."""

    calendar_api: CalendarClientFactory
    calendar_store: CalendarStore
    records: RecordStore
    provider: ConferenceProvider
    publisher: SyncRequestPublisher
    legacy: LegacyRecords | None = None
    """Records of schema 1 left by an older deployment, migrated by each calendar's first run
    (:mod:`confsync.record_migration`); None where there can be none."""


def _log_disconnection(key: str, err: CalendarAccessError) -> None:
    """The run's one ERROR line about a disconnection: revoked access, or the role a calendar
    was seen through (the disconnection metric counts the summary's ``disconnected`` status)."""
    if isinstance(err, UntrustedViewError):
        LOGGER.error(
            "calendar %s seen with access role %s, below writer: nothing planned; "
            "calendar disconnected (%s)",
            key,
            err.role,
            err.reason,
            extra=labels(key),
        )
        return
    LOGGER.error("calendar access revoked; calendar disconnected: %s", err, extra=labels(key))


class SyncRunner:
    """Runs syncs of single calendars against the ports it is given. Thread-safe: a run keeps
    its state in a :class:`~confsync.sync.state.Run`, never on the runner or its parts."""

    def __init__(
        self,
        *,
        calendar_api: CalendarClientFactory,
        calendar_store: CalendarStore,
        records: RecordStore,
        provider: ConferenceProvider,
        publisher: SyncRequestPublisher,
        settings: SyncSettings,
        legacy: LegacyRecords | None = None,
        now: Callable[[], datetime] = _utcnow,
        new_owner_id: Callable[[], str] = lambda: uuid.uuid4().hex,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.ports = SyncPorts(calendar_api, calendar_store, records, provider, publisher, legacy)
        self.settings = settings
        self._now = now
        self._new_owner_id = new_owner_id
        self._sleep = sleep
        self._lease = CalendarLease(calendar_store, settings, now=now, sleep=sleep)
        sender = ProviderSender(provider, settings, now=now)
        owners = OwnerResolver(provider, settings, now=now)
        applier = PageApplier(records, sender, owners, settings, now=now)
        self._puller = Puller(records, applier, self._lease, settings, now=now)
        self._pending = PendingRetry(
            records,
            sender,
            owners,
            settings,
            calendars=calendar_store,
            publisher=publisher,
            now=now,
            sleep=sleep,
        )

    def with_ports(self, ports: SyncPorts) -> SyncRunner:
        """A runner like this one on other ports, e.g. with a store wrapped to count or fail its
        calls: ``runner.with_ports(replace(runner.ports, records=Counting(runner.ports.records)))``.
        """
        return SyncRunner(
            calendar_api=ports.calendar_api,
            calendar_store=ports.calendar_store,
            records=ports.records,
            provider=ports.provider,
            publisher=ports.publisher,
            settings=self.settings,
            legacy=ports.legacy,
            now=self._now,
            new_owner_id=self._new_owner_id,
            sleep=self._sleep,
        )

    def run(self, request: SyncRequest) -> SyncOutcome:
        """Sync the calendar of ``request``; see :mod:`confsync.sync` for the steps."""
        with counting() as tally:
            return self._run(request, tally)

    def _run(self, request: SyncRequest, tally: Tally) -> SyncOutcome:
        started = time.monotonic()
        key = request.calendar_key
        doc = self.ports.calendar_store.get(key)
        if doc is None or not doc.syncing:
            LOGGER.info("calendar not syncing; request acknowledged", extra=labels(key))
            return SyncOutcome(status="skipped")
        if request.channel_id is not None and not doc.channel_live(
            request.channel_id, request.notified_at
        ):
            return self._dropped(request, request.channel_id, started, tally)
        if self._lease.covers(doc, request):
            covered = SyncOutcome(
                status="covered",
                stats=SyncStats(firestore_round_trips=tally.count),
                duration_s=time.monotonic() - started,
            )
            log_summary(key, request, covered, now=None)
            return covered
        owner = self._new_owner_id()
        leased = self._lease.take(doc, owner, request)
        if leased is None:
            LOGGER.info("sync in progress elsewhere; coalesced", extra=labels(key))
            return SyncOutcome(status="coalesced", duration_s=time.monotonic() - started)
        stats = SyncStats()
        released = False
        try:
            run = Run(
                client=self.ports.calendar_api.for_subject(doc.subject),
                doc=leased,
                owner=owner,
                stats=stats,
                lease_until=leased.lease_until or self._now(),
                swept=request.reason == "sweep",
            )
            self._migrate(run)
            status = self._rounds(run, request)
            released = True
        except CalendarAccessError as err:
            self._lease.release_quietly(key, owner)  # first: releasing writes the outcome "error"
            released = True
            status = self._disconnect(key, leased.state, err)
        finally:
            if not released:
                self._lease.release_quietly(key, owner)
        stats.firestore_round_trips = tally.count
        outcome = SyncOutcome(status=status, stats=stats, duration_s=time.monotonic() - started)
        log_summary(key, request, outcome, now=self._now())
        return outcome

    def _disconnect(self, key: str, state: str, err: CalendarAccessError) -> Status:
        """Record the calendar disconnected if it is still syncing (``disconnected``); an
        unenrolment, or any other change of state made while the run pulled, stands
        (``skipped``, one INFO line)."""
        store = self.ports.calendar_store
        found = set_while_syncing(
            store, key, state, "disconnected", now=self._now(), outcome=err.outcome
        )
        if found is None:
            _log_disconnection(key, err)
            # Notifications in flight are dropped, even if the calendar is enrolled again.
            store.clear_channels(key)
            return "disconnected"
        LOGGER.info(
            "calendar access refused (%s), but the calendar is %s now: left as it is",
            err,
            found,
            extra=labels(key),
        )
        return "skipped"

    @staticmethod
    def _dropped(
        request: SyncRequest, channel_id: str, started: float, tally: Tally
    ) -> SyncOutcome:
        """Acknowledge, log and count (summary status ``dropped``) a notification whose channel
        was not live when it was sent: superseded long ago, stopped, unenrolled or unknown."""
        key = request.calendar_key
        LOGGER.warning(
            "notification from channel %s, not live at %s; dropped",
            channel_id,
            request.notified_at.isoformat(timespec="seconds"),
            extra={"labels": {"calendar_key": key, "channel_id": channel_id}},
        )
        dropped = SyncOutcome(
            status="dropped",
            stats=SyncStats(firestore_round_trips=tally.count),
            duration_s=time.monotonic() - started,
        )
        log_summary(key, request, dropped, now=None)
        return dropped

    def _migrate(self, run: Run) -> None:
        """Migrate the calendar's records of an older schema, once, under the lease."""
        doc = run.doc
        if doc.records_schema >= RECORDS_SCHEMA or self.ports.legacy is None:
            return
        run.stats.migrated = migrate_calendar(
            self.ports.records,
            self.ports.legacy,
            calendar_key=doc.key,
            subject=doc.subject,
            calendar_id=doc.calendar_id,
            policy=self.settings.ownerless_policy,
        )
        self.ports.calendar_store.mark_records_migrated(doc.key, RECORDS_SCHEMA)
        run.doc = replace(doc, records_schema=RECORDS_SCHEMA)
        LOGGER.info(
            "conference records migrated to one record per conference: %d",
            run.stats.migrated,
            extra=labels(doc.key),
        )

    def _rounds(self, run: Run, request: SyncRequest) -> Status:
        """Settle (not before the first), pull, retry pending, commit; until a commit holds."""
        self._lease.wait_for_stragglers(run, request)
        for round_ in range(self.settings.max_rounds):
            if round_ and not self._lease.settled(run):
                return self._lease.stopped(run)
            run.stats.rounds += 1
            seen_seq = run.doc.notify_seq
            pulled = self._puller.pull(run)
            if not self._nothing_due(run, request):
                self._save_staged(run)  # the pending retry reads and writes records
                run.pending_checked_at = self._now()
                run.pending_left = self._pending.retry(run)
            committed = self._commit(run, seen_seq, pulled)
            if committed is not None:
                return committed
        # Still notified after max_rounds pulls: the token is stored; hand over to a new run.
        self.ports.publisher.publish(
            SyncRequest(calendar_key=run.doc.key, reason="republish", notified_at=self._now())
        )
        self._lease.release(run, "republished")
        return "republished"

    def _commit(self, run: Run, seen_seq: int, pulled: Pulled) -> Status | None:
        """The lease's commit, with the last page's staged records; when one of them changed
        meanwhile (nothing written), the page is applied again and the commit made without."""
        unsaved = run.unsaved
        try:
            return self._lease.commit(run, seen_seq, pulled, run.pending_left)
        except RecordConflictError as err:
            if unsaved is None:
                raise
            self._applied_again(run, unsaved, err)
            return self._lease.commit(run, seen_seq, pulled, run.pending_left)

    def _save_staged(self, run: Run) -> None:
        """Write the records the last page staged for the commit now, on their own (the page
        applied again when one of them changed meanwhile)."""
        unsaved, run.unsaved = run.unsaved, None
        if unsaved is None:
            return
        try:
            unsaved.staged.save()
        except RecordConflictError as err:
            self._applied_again(run, unsaved, err)

    @staticmethod
    def _applied_again(run: Run, unsaved: Unsaved, err: RecordConflictError) -> None:
        """A staged record changed since the last page read it, so nothing staged was written:
        the page is read, planned, sent and saved again at once, as a page whose own save was
        refused is (an update sent again carries the same revision, which the conferencing
        system answers as a repeat)."""
        run.unsaved = None
        run.stats.conflicts += 1
        LOGGER.info("%s; the page is read and planned again", err, extra=labels(run.doc.key))
        unsaved.apply_again()

    def _nothing_due(self, run: Run, request: SyncRequest) -> bool:
        """Whether no pending operation of the calendar can be due (see the module docstring),
        so the pending retry's query can be skipped."""
        doc, stats = run.doc, run.stats
        if request.reason != "notification" or doc.pending_count or doc.held_deletes:
            return False
        if doc.last_outcome != "synced":  # an error, an operator's command, a hand-over
            return False
        if run.pending_left or run.deletes_queued or stats.pending or stats.failed:
            return False
        checked = run.pending_checked_at or doc.pending_checked_at
        return checked is not None and self._now() < checked + self.settings.pending_base_delay
