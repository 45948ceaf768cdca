"""The sync runner: one coalesced, idempotent incremental sync of one calendar.

Implements Google's incremental-sync recipe (https://developers.google.com/workspace/calendar/api/guides/sync)
for conference data (https://developers.google.com/workspace/add-ons/calendar/conferencing/sync-calendar-changes),
with the defects of the published sample fixed. One :meth:`SyncRunner.run` call:

1. Loads the calendar; a calendar that is not syncing is skipped (ack). A notification stamped at
   least ``skew`` before the stored token's pull began is **covered** (ack, nothing written): that
   pull already returned the change Google told us about. Pub/Sub may deliver notifications many
   seconds late under load, and each would otherwise cost a pull.
2. **Single flight.** Takes the calendar's lease with an optimistic write. When another run holds
   it, increments the calendar's ``notify_seq`` and returns: the owner compares ``notify_seq`` when
   it commits and pulls again, so a notification that arrives during a pull is never lost.
3. **Pull.** ``events.list`` with the stored sync token, every page to the end. No token, or a 410:
   one windowed full sync (a second 410 is a transient error, never a loop), then reconciliation:
   every stored record whose events the full sync did not return is confirmed with ``events.get``,
   because deletions made while no token was valid never come back as tombstones.
4. **Each page:** plan (pure, :mod:`confsync.planner`), send the operations to the conferencing
   system with bounded concurrency, write join details back (``If-Match``): a join URL the
   provider answered that the record did not know goes to every event carrying the conference
   (events not on the page are read first); the known URL goes to events on the page that show
   another, even when nothing was sent (repair on sight, no read). Then persist the touched
   records (a write-back that fails for now fails the run before the records say "done", so the
   redelivery repeats it). An operation that keeps failing is recorded as pending on its record;
   the token still advances and a later run retries it, until its budget runs out. Series
   exceptions whose series is not attached yet wait for it for the rest of the run; in an
   incremental pull, a series that newly attaches to a record (its conference added or replaced)
   is looked up once by ``iCalUID``, because its earlier exceptions never come back as changes.
5. **Commit.** Pending operations that are due are retried; then the new sync token is stored
   with its pull's start (only now: every page's effects are durable) and the lease released, if
   ``notify_seq`` did not move. If it moved but every request since was stamped ``skew`` before
   this pull began (``notified_max_ms``), the pull covered them: commit again without pulling.
   Otherwise **settle**: wait while requests keep arriving (``settle`` steps, at most
   ``settle_max``) so the next pull takes in the rest of a burst, then pull again, at most
   ``max_rounds`` times, then re-publish a request. The first pull is never delayed.

Errors: Calendar 429/5xx (after the adapter's own retries) and store failures propagate, so the
entry point raises and Pub/Sub redelivers; revoked access marks the calendar disconnected and acks.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from confsync.calendars import CalendarDoc, epoch_ms
from confsync.errors import (
    CalendarAccessError,
    CalendarNotFoundError,
    CalendarUnavailableError,
    ConfsyncError,
    MalformedInputError,
    PermanentError,
    PreconditionFailedError,
    ProviderGoneError,
    ProviderRejectedError,
    ProviderStaleRevisionError,
    ProviderUnavailableError,
    SyncTokenInvalidError,
)
from confsync.events import CalendarEvent, decode_event
from confsync.messages import SyncRequest
from confsync.planner import (
    ConferenceMatcher,
    DeleteConference,
    Operation,
    Orphans,
    PlanContext,
    SeriesAttachment,
    UpdateConference,
    after_applied,
    after_failure,
    after_gone,
    lookup_for,
    plan_operation,
    plan_page,
)
from confsync.ports import (
    CalendarClient,
    CalendarClientFactory,
    CalendarStore,
    ConferenceProvider,
    ProviderAnswer,
    RecordStore,
    SyncRequestPublisher,
)
from confsync.records import ConferenceRecord

__all__ = ["SyncOutcome", "SyncRunner", "SyncSettings", "SyncStats"]

_LOGGER = logging.getLogger(__name__)

_FAR_FUTURE = datetime.max.replace(tzinfo=UTC)
_WRITE_BACK_ATTEMPTS = 3
_COVERED_COMMITS = 10  # commits retried without a pull while covered requests keep racing in


@dataclass(frozen=True, slots=True)
class SyncSettings:
    """How the runner behaves; built from configuration by :mod:`confsync.bootstrap`."""

    matcher: ConferenceMatcher
    relevant_fields: frozenset[str]
    owned_only: bool = True
    full_sync_window: timedelta = timedelta(days=30)
    lease_ttl: timedelta = timedelta(minutes=5)
    max_rounds: int = 5
    provider_concurrency: int = 8
    pending_max_attempts: int = 10
    pending_base_delay: timedelta = timedelta(minutes=1)
    pending_max_delay: timedelta = timedelta(hours=1)
    pending_batch: int = 200
    write_back: bool = True
    skew: timedelta = timedelta(seconds=1)
    settle: timedelta = timedelta(milliseconds=500)
    settle_max: timedelta = timedelta(seconds=2)


@dataclass(slots=True)
class SyncStats:
    """Counters of one run, logged as its summary line."""

    rounds: int = 0
    pages: int = 0
    events: int = 0
    malformed: int = 0
    full_sync: bool = False
    reconciled: int = 0
    updates: int = 0
    deletes: int = 0
    gone: int = 0
    pending: int = 0
    failed: int = 0
    records_written: int = 0
    write_backs: int = 0
    pending_retried: int = 0
    covered: int = 0
    settle_waits: int = 0
    series_lookups: int = 0


Status = Literal["synced", "covered", "coalesced", "skipped", "disconnected", "republished"]


@dataclass(frozen=True, slots=True)
class SyncOutcome:
    """What one run did."""

    status: Status
    stats: SyncStats = field(default_factory=SyncStats)
    duration_s: float = 0.0


@dataclass(frozen=True, slots=True)
class _Sent:
    """The outcome of one operation: the record after it, the provider's answer if any, and
    whether that answer carried a join URL the record did not know (``new_join_url``)."""

    record: ConferenceRecord
    answer: ProviderAnswer | None = None
    new_join_url: bool = False


@dataclass(frozen=True, slots=True)
class _Pulled:
    """One round's pull: the new sync token, when its first ``events.list`` was about to be sent,
    and whether it was a full sync."""

    token: str
    started: datetime
    full: bool


@dataclass(slots=True)
class _Run:
    """What one run works with: its Calendar client, the calendar, its lease and its counters."""

    client: CalendarClient
    doc: CalendarDoc
    owner: str
    stats: SyncStats
    lease_until: datetime
    orphans: Orphans = field(default_factory=dict)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class SyncRunner:
    """Runs syncs of single calendars against the ports it is given. Thread-safe: a run keeps
    its state in a :class:`_Run`, never on the runner."""

    def __init__(
        self,
        *,
        calendar: CalendarClientFactory,
        calendars: CalendarStore,
        records: RecordStore,
        provider: ConferenceProvider,
        publisher: SyncRequestPublisher,
        settings: SyncSettings,
        now: Callable[[], datetime] = _utcnow,
        new_owner_id: Callable[[], str] = lambda: uuid.uuid4().hex,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._calendar = calendar
        self._calendars = calendars
        self._records = records
        self._provider = provider
        self._publisher = publisher
        self._settings = settings
        self._now = now
        self._new_owner_id = new_owner_id
        self._sleep = sleep

    # --- the run ---------------------------------------------------------------------------

    def run(self, request: SyncRequest) -> SyncOutcome:
        """Sync the calendar of ``request``; see the module docstring for the steps."""
        started = time.monotonic()
        key = request.calendar_key
        doc = self._calendars.get(key)
        if doc is None or not doc.syncing:
            _LOGGER.info("calendar not syncing; request acknowledged", extra=_labels(key))
            return SyncOutcome(status="skipped")
        if self._covered(doc, request):
            covered = SyncOutcome(status="covered", duration_s=time.monotonic() - started)
            _log_summary(key, request, covered, now=None)
            return covered
        owner = self._new_owner_id()
        leased = self._lease_or_notify(doc, owner, request)
        if leased is None:
            _LOGGER.info("sync in progress elsewhere; coalesced", extra=_labels(key))
            return SyncOutcome(status="coalesced", duration_s=time.monotonic() - started)
        stats = SyncStats()
        released = False
        try:
            run = _Run(
                client=self._calendar.for_subject(doc.subject),
                doc=leased,
                owner=owner,
                stats=stats,
                lease_until=leased.lease_until or self._now(),
            )
            status = self._rounds(run)
            released = True
        except CalendarAccessError as err:
            _LOGGER.error(
                "calendar access revoked; calendar disconnected: %s", err, extra=_labels(key)
            )
            self._release_quietly(key, owner)  # first: releasing writes the outcome "error"
            released = True
            self._calendars.set_state(key, "disconnected", now=self._now(), outcome=str(err))
            status = "disconnected"
        finally:
            if not released:
                self._release_quietly(key, owner)
        outcome = SyncOutcome(status=status, stats=stats, duration_s=time.monotonic() - started)
        _log_summary(key, request, outcome, now=self._now())
        return outcome

    def _covered(self, doc: CalendarDoc, request: SyncRequest) -> bool:
        """Whether the stored token's pull began after Google sent this notification (with
        ``skew`` to spare for the clocks of intake and sync), so it returned the change already.
        Only notifications: a sweep, an operator or an enrolment asks for a pull now."""
        if request.reason != "notification" or doc.sync_token is None or doc.pulled_from is None:
            return False
        return epoch_ms(request.notified_at) <= epoch_ms(doc.pulled_from - self._settings.skew)

    def _lease_or_notify(
        self, doc: CalendarDoc, owner: str, request: SyncRequest
    ) -> CalendarDoc | None:
        for _ in range(3):
            now = self._now()
            leased = self._calendars.acquire_lease(
                doc.key, owner, until=now + self._settings.lease_ttl, now=now
            )
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

    def _rounds(self, run: _Run) -> Status:
        for round_ in range(self._settings.max_rounds):
            if round_ and not self._settled(run):
                return self._stopped(run)
            run.stats.rounds += 1
            seen_seq = run.doc.notify_seq
            pulled = self._pull(run)
            pending_count = self._retry_pending(run)
            committed = self._commit(run, seen_seq, pulled, pending_count)
            if committed is not None:
                return committed
        # Still notified after max_rounds pulls: the token is stored; hand over to a new run.
        key = run.doc.key
        self._publisher.publish(
            SyncRequest(calendar_key=key, reason="republish", notified_at=self._now())
        )
        self._calendars.release(key, run.owner, now=self._now(), outcome="republished")
        return "republished"

    def _commit(
        self, run: _Run, seen_seq: int, pulled: _Pulled, pending_count: int
    ) -> Status | None:
        """Store the token and release; None when a request newer than the pull needs another.

        A failed commit stores the token too (only the release is refused). When every request
        since ``seen_seq`` was stamped ``skew`` before the pull began, the pull covered them:
        commit again against the new counter instead of pulling (a few times, as requests may
        keep landing in between)."""
        horizon_ms = epoch_ms(pulled.started - self._settings.skew)
        full_sync = pulled.full
        for _ in range(_COVERED_COMMITS):
            if self._calendars.commit(
                run.doc.key,
                run.owner,
                seen_seq,
                sync_token=pulled.token,
                pulled_from=pulled.started,
                now=self._now(),
                full_sync=full_sync,
                pending_count=pending_count,
            ):
                return "synced"
            full_sync = False  # counted by the commit that just stored the token
            fresh = self._calendars.get(run.doc.key)
            if fresh is None or not fresh.syncing:
                return self._stopped(run)
            run.doc = fresh
            if fresh.notified_max_ms > horizon_ms:
                return None
            run.stats.covered += fresh.notify_seq - seen_seq
            seen_seq = fresh.notify_seq
        return None  # covered requests kept racing the commit: pull again, from a stored token

    def _settled(self, run: _Run) -> bool:
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

    def _stopped(self, run: _Run) -> Status:
        """The calendar stopped syncing (or is gone) while this run held its lease."""
        self._calendars.release(run.doc.key, run.owner, now=self._now(), outcome="stopped")
        return "skipped"

    def _release_quietly(self, key: str, owner: str) -> None:
        try:
            self._calendars.release(key, owner, now=self._now(), outcome="error")
        except ConfsyncError as err:  # the lease expires by itself
            _LOGGER.warning("could not release lease: %s", err, extra=_labels(key))

    # --- pulling ---------------------------------------------------------------------------

    def _pull(self, run: _Run) -> _Pulled:
        if run.doc.sync_token is not None:
            started = self._now()
            try:
                token = self._pages(run, sync_token=run.doc.sync_token, seen=None)
                return _Pulled(token, started, full=False)
            except SyncTokenInvalidError:
                _LOGGER.info("sync token invalid (410); full sync", extra=_labels(run.doc.key))
        run.stats.full_sync = True
        seen: set[str] = set()
        started = self._now()
        try:
            token = self._pages(run, sync_token=None, seen=seen)
        except SyncTokenInvalidError as err:  # loop guard: a full sync has no token to refuse
            raise CalendarUnavailableError(f"410 during a full sync: {err}") from err
        self._reconcile(run, seen)
        return _Pulled(token, started, full=True)

    def _pages(self, run: _Run, *, sync_token: str | None, seen: set[str] | None) -> str:
        time_min = None if sync_token else self._now() - self._settings.full_sync_window
        page_token: str | None = None
        while True:
            page = run.client.list_page(
                run.doc.calendar_id,
                sync_token=sync_token,
                page_token=page_token,
                time_min=time_min,
            )
            run.stats.pages += 1
            events, raw = self._decode(page.items, run.stats)
            if seen is not None:
                seen.update(event.id for event in events)
            self._apply(run, events, raw, look_up_series=sync_token is not None)
            self._keep_lease(run)
            if page.next_page_token:
                page_token = page.next_page_token
                continue
            if not page.next_sync_token:
                raise CalendarUnavailableError("last page of events.list had no nextSyncToken")
            return page.next_sync_token

    def _keep_lease(self, run: _Run) -> None:
        """Extend the lease when half of it is used up, so a long pull keeps it."""
        ttl = self._settings.lease_ttl
        if self._now() < run.lease_until - ttl / 2:
            return
        run.lease_until = self._now() + ttl
        if not self._calendars.extend_lease(run.doc.key, run.owner, run.lease_until):
            raise CalendarUnavailableError("lease lost during a long pull; retrying")

    def _decode(
        self, items: Iterable[Mapping[str, Any]], stats: SyncStats
    ) -> tuple[list[CalendarEvent], dict[str, Mapping[str, Any]]]:
        events: list[CalendarEvent] = []
        raw: dict[str, Mapping[str, Any]] = {}
        for item in items:
            try:
                event = decode_event(item)
            except MalformedInputError as err:
                stats.malformed += 1
                _LOGGER.error("skipping malformed event from the Calendar API: %s", err)
                continue
            events.append(event)
            raw[event.id] = item
        stats.events += len(events)
        return events, raw

    def _reconcile(self, run: _Run, seen: set[str]) -> None:
        """Confirm every stored event the full sync did not return (deleted while untracked?)."""
        missing = sorted(
            {
                event_id
                for record in self._records.active_of_calendar(run.doc.key)
                for event_id in record.events
                if event_id not in seen
            }
        )
        if not missing:
            return
        events: list[CalendarEvent] = []
        raw: dict[str, Mapping[str, Any]] = {}
        for event_id in missing:
            found = run.client.get_event(run.doc.calendar_id, event_id)
            item: Mapping[str, Any] = found or {"id": event_id, "status": "cancelled"}
            events.append(decode_event(item))
            raw[event_id] = item
        run.stats.reconciled += len(missing)
        self._apply(run, events, raw, look_up_series=False)

    # --- applying --------------------------------------------------------------------------

    def _context(self, doc: CalendarDoc) -> PlanContext:
        return PlanContext(
            calendar_key=doc.key,
            calendar_id=doc.calendar_id,
            matcher=self._settings.matcher,
            relevant_fields=self._settings.relevant_fields,
            owned_only=self._settings.owned_only,
        )

    def _apply(
        self,
        run: _Run,
        events: Sequence[CalendarEvent],
        raw: Mapping[str, Mapping[str, Any]],
        *,
        look_up_series: bool,
    ) -> None:
        """Plan a page, send its operations, write join details back, persist its records.

        ``look_up_series``: an incremental pull, where a series that newly attaches to a record
        brings exceptions the pull will never list; a full sync lists them all anyway."""
        if not events:
            return
        ctx = self._context(run.doc)
        lookup = lookup_for(events, ctx)
        # Events carrying our conference find their record by its key; only the others
        # (tombstones, instances, events that left their conference) need an event lookup.
        records = {r.key: r for r in self._records.by_keys(lookup.record_keys)}
        known = {event_id for record in records.values() for event_id in record.events}
        if unknown := lookup.event_ids - known:
            found = self._records.by_event_ids(run.doc.key, unknown)
            records.update({r.key: r for r in found})
        plan = plan_page(events, records, ctx, run.orphans)
        exceptions = self._series_exceptions(run, plan.attached) if look_up_series else []
        if exceptions:
            # After the page's own events, so the series is attached when they are folded.
            plan = plan_page([*events, *exceptions], records, ctx, run.orphans)
        run.orphans = plan.orphans
        final = dict(plan.changed)
        sent = self._send(plan.operations, final, run.stats)
        final.update({key: result.record for key, result in sent.items()})
        if self._settings.write_back:
            # Before saving: if writing back fails for now, the run raises and nothing records
            # the operation (nor its join URL) as done, so the redelivery writes back again.
            self._write_back(run, {**records, **final}, sent, raw)
        if final:
            self._records.save(final.values(), before=records)
            run.stats.records_written += len(final)

    def _series_exceptions(
        self, run: _Run, attached: Sequence[SeriesAttachment]
    ) -> list[CalendarEvent]:
        """The current exceptions of series that newly attached to a record, one lookup each."""
        found: list[CalendarEvent] = []
        for series in attached:
            if not series.ical_uid:
                _LOGGER.warning(
                    "series %s has no iCalUID; exceptions made before it got its conference "
                    "are not looked up",
                    series.series_id,
                    extra=_labels(run.doc.key),
                )
                continue
            items = run.client.list_series(run.doc.calendar_id, series.ical_uid)
            run.stats.series_lookups += 1
            for item in items:
                try:
                    event = decode_event(item)
                except MalformedInputError as err:
                    run.stats.malformed += 1
                    _LOGGER.error("skipping malformed event from a series lookup: %s", err)
                    continue
                if event.recurring_event_id == series.series_id:
                    found.append(event)
        return found

    def _send(
        self,
        operations: Sequence[Operation],
        records: Mapping[str, ConferenceRecord],
        stats: SyncStats,
    ) -> dict[str, _Sent]:
        if not operations:
            return {}
        workers = max(1, min(self._settings.provider_concurrency, len(operations)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="provider") as pool:
            results = list(
                pool.map(lambda op: self._send_one(op, records[op.record_key]), operations)
            )
        sent: dict[str, _Sent] = {}
        for op, result in zip(operations, results, strict=True):
            sent[op.record_key] = result
            _count(stats, op, result)
            record = result.record
            if record.status == "failed" and record.pending is not None:
                _LOGGER.error(
                    "conference operation failed after %d attempts; giving up until the event "
                    "changes: %s",
                    record.pending.attempts,
                    record.pending.last_error,
                    extra={
                        "labels": {"calendar_key": record.calendar_key, "record": record.key},
                        "alert": "conference_operation_failed",
                    },
                )
        return sent

    def _send_one(self, op: Operation, record: ConferenceRecord) -> _Sent:
        try:
            if isinstance(op, UpdateConference):
                answer = self._provider.update(op)
                known = record.sent.join_url if record.sent is not None else None
                new = bool(answer.join_url) and answer.join_url != known
                return _Sent(after_applied(record, op, answer.join_url), answer, new)
            self._provider.delete(op)
            return _Sent(after_applied(record, op))
        except ProviderStaleRevisionError:
            # A newer revision is there already: what we meant to send has been superseded.
            _LOGGER.warning("provider holds a newer revision of %s", op.record_key)
            return _Sent(after_applied(record, op))
        except ProviderGoneError:
            return _Sent(after_gone(record, op))
        except ProviderUnavailableError as err:
            return _Sent(self._failed(record, f"unavailable: {err}", permanent=False))
        except ProviderRejectedError as err:
            _LOGGER.error("provider rejected %s: %s", op.record_key, err)
            return _Sent(self._failed(record, f"rejected: {err}", permanent=True))

    def _failed(self, record: ConferenceRecord, error: str, *, permanent: bool) -> ConferenceRecord:
        settings = self._settings
        return after_failure(
            record,
            error,
            self._now(),
            max_attempts=1 if permanent else settings.pending_max_attempts,
            base_delay=settings.pending_base_delay,
            max_delay=settings.pending_max_delay,
        )

    def _retry_pending(self, run: _Run) -> int:
        """Retry due pending operations; return how many records are still pending."""
        now = self._now()
        pending = self._records.pending(run.doc.key, _FAR_FUTURE, self._settings.pending_batch)
        due = [r for r in pending if r.pending is not None and r.pending.next_attempt_at <= now]
        if not due:
            return len(pending)
        ctx = self._context(run.doc)
        records = {r.key: r for r in due}
        operations = [op for r in due if (op := plan_operation(r, ctx)) is not None]
        run.stats.pending_retried += len(operations)
        sent = self._send(operations, records, run.stats)
        if self._settings.write_back:  # before saving, as for a page (see _apply)
            self._write_back(run, {key: result.record for key, result in sent.items()}, sent, {})
        # A pending record whose operation is no longer needed (superseded) is simply cleared.
        final = {r.key: _clear_pending(r) for r in due if r.key not in sent}
        final.update({key: result.record for key, result in sent.items()})
        self._records.save(final.values(), before=records)
        run.stats.records_written += len(final)
        after = {r.key: r for r in pending} | final
        return sum(1 for r in after.values() if r.pending is not None and r.status == "active")

    def _write_back(
        self,
        run: _Run,
        records: Mapping[str, ConferenceRecord],
        sent: Mapping[str, _Sent],
        raw: Mapping[str, Mapping[str, Any]],
    ) -> None:
        """Put each conference's known join URL on its events that show another, never over a
        user's edit.

        ``records`` are the records as they will be saved. Events in ``raw`` (on this page) are
        repaired whenever they differ, even when no operation was sent: an event that joins a
        conference carrying an old URL, or one our last write-back missed. Events not in ``raw``
        (another event sharing the conference, a series master whose exception changed, a
        pending retry) are read only when an answer in ``sent`` brought a URL the record did not
        know; an unchanged URL costs no read."""
        for key in sorted(records):
            record = records[key]
            sent_state = record.sent
            if record.status == "deleted" or sent_state is None or not sent_state.join_url:
                continue
            result = sent.get(key)
            read_others = result is not None and result.new_join_url
            for event_id in sorted(record.events):
                item = raw.get(event_id)
                if item is None and read_others:
                    item = run.client.get_event(run.doc.calendar_id, event_id)
                if item is not None and self._patch_join_url(
                    run, item, record.conference_id, sent_state.join_url
                ):
                    run.stats.write_backs += 1

    def _patch_join_url(
        self, run: _Run, item: Mapping[str, Any], conference_id: str, join_url: str
    ) -> bool:
        current: Mapping[str, Any] | None = item
        for _ in range(_WRITE_BACK_ATTEMPTS):
            if current is None:
                return False
            event = decode_event(current)
            conference = event.conference
            if (
                event.cancelled
                or conference is None
                or conference.conference_id != conference_id
                or conference.video_uri == join_url
                or not event.etag
            ):
                return False  # nothing to write, or no longer ours to write
            data = _with_video_uri(current.get("conferenceData") or {}, join_url)
            try:
                run.client.patch_conference_data(run.doc.calendar_id, event.id, event.etag, data)
                return True
            except PreconditionFailedError:
                # The user edited the event meanwhile: re-read it and decide again.
                current = run.client.get_event(run.doc.calendar_id, event.id)
            except (CalendarNotFoundError, PermanentError) as err:
                # Retrying cannot help (the event is gone, or the API refuses the change).
                _LOGGER.error(
                    "write-back of new join details refused: %s", err, extra=_labels(run.doc.key)
                )
                return False
        _LOGGER.warning(
            "write-back gave up after repeated concurrent edits", extra=_labels(run.doc.key)
        )
        return False


def _with_video_uri(conference_data: Mapping[str, Any], join_url: str) -> dict[str, Any]:
    data = dict(conference_data)
    entry_points = [dict(e) for e in data.get("entryPoints") or [] if isinstance(e, Mapping)]
    for entry in entry_points:
        if entry.get("entryPointType") == "video":
            entry["uri"] = join_url
            break
    else:
        entry_points.insert(0, {"entryPointType": "video", "uri": join_url})
    data["entryPoints"] = entry_points
    return data


def _clear_pending(record: ConferenceRecord) -> ConferenceRecord:
    return replace(record, pending=None)


def _count(stats: SyncStats, op: Operation, result: _Sent) -> None:
    record = result.record
    if record.pending is not None or record.status == "failed":
        if record.status == "failed":
            stats.failed += 1
        else:
            stats.pending += 1
    elif isinstance(op, DeleteConference):
        stats.deletes += 1
    elif record.status == "deleted":
        stats.gone += 1
    else:
        stats.updates += 1


def _labels(calendar_key: str) -> dict[str, Any]:
    return {"labels": {"calendar_key": calendar_key}}


def _latency_s(notified_at: datetime, now: datetime) -> float:
    """Seconds from ``notified_at`` (when intake, a sweep or an operator asked for the sync) to
    ``now``, to the millisecond. A naive time is taken as UTC rather than failing the summary
    line. Not clamped: a small negative value shows clock skew between the machines."""
    start, end = (t if t.tzinfo else t.replace(tzinfo=UTC) for t in (notified_at, now))
    return round((end - start).total_seconds(), 3)


def _log_summary(
    key: str, request: SyncRequest, outcome: SyncOutcome, *, now: datetime | None
) -> None:
    """The run's one summary line. Its structured fields are a contract with the log-based
    metrics in Terraform: ``sync.reason`` selects notification-driven runs and the top-level
    ``latency_s`` (notification to the end of the run, ``now``) is the latency they chart. A
    covered notification (``now`` None) has no ``latency_s``: its change was applied by an
    earlier run, and its late delivery says nothing about how fast changes are applied."""
    stats = outcome.stats
    extra: dict[str, Any] = {
        "labels": {"calendar_key": key},
        "sync": {"reason": request.reason, "status": outcome.status, **_as_dict(stats)},
        "duration_s": round(outcome.duration_s, 3),
    }
    if now is not None:
        extra["latency_s"] = _latency_s(request.notified_at, now)
    _LOGGER.info(
        "sync %s: %d events in %d pages, %d updates, %d deletes, %d pending, %d failed, "
        "%d records written, %.3f s",
        outcome.status,
        stats.events,
        stats.pages,
        stats.updates,
        stats.deletes,
        stats.pending,
        stats.failed,
        stats.records_written,
        outcome.duration_s,
        extra=extra,
    )


def _as_dict(stats: SyncStats) -> dict[str, Any]:
    return {name: getattr(stats, name) for name in stats.__slots__}
