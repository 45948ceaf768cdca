"""Retrying pending operations: those that failed for now on an earlier page or run.

An operation the conferencing system did not take (unavailable) is recorded as pending on its
record, with its attempts and the time of its next attempt (exponential backoff); the sync token
still advances. Every delete is recorded so too, due at once, before anything sends it (see
:mod:`confsync.sync.brake`). At the end of each round :meth:`PendingRetry.retry` lets the
deletion brake decide on the calendar's unsent deletes, then re-plans every due record it did not
keep from its record alone (:func:`confsync.planner.plan_operation`), re-checks each delete that
fell due after its grace (:mod:`confsync.sync.grace`: cancelled when the meeting goes on on another
enrolled calendar), sends what is still needed, writes join URLs back and saves the records. A
grace short enough (``grace_wait_max``, the local stack's) is waited out first, so the delete
goes in this run rather than at the next sweep. A record whose operation is no longer needed has
its pending state cleared; one that runs out of attempts becomes "failed".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from confsync.conflicts import retried_on_conflict
from confsync.errors import RecordConflictError
from confsync.planner import DeleteConference, PlanContext, plan_operation
from confsync.ports import CalendarStore, RecordStore, SyncRequestPublisher
from confsync.records import ConferenceRecord, moved_scope
from confsync.sync.brake import DeletionBrake
from confsync.sync.grace import DeleteGrace
from confsync.sync.owners import OwnerResolver
from confsync.sync.send import ProviderSender
from confsync.sync.settings import SyncSettings
from confsync.sync.state import Run
from confsync.sync.summary import LOGGER, labels
from confsync.sync.write_back import write_back

__all__ = ["PendingRetry"]

_FAR_FUTURE = datetime.max.replace(tzinfo=UTC)


class PendingRetry:
    """Retries the due pending operations of a calendar; stateless between calls."""

    def __init__(
        self,
        records: RecordStore,
        sender: ProviderSender,
        owners: OwnerResolver,
        settings: SyncSettings,
        *,
        calendars: CalendarStore,
        publisher: SyncRequestPublisher,
        now: Callable[[], datetime],
        sleep: Callable[[float], None],
    ) -> None:
        self._records = records
        self._sender = sender
        self._owners = owners
        self._settings = settings
        self._now = now
        self._sleep = sleep
        self._brake = DeletionBrake(records, calendars, settings, now=now)
        self._grace = DeleteGrace(
            calendars,
            publisher,
            grace=settings.delete_grace,
            move_wait=settings.move_wait,
            now=now,
        )

    def retry(self, run: Run) -> int:
        """Retry due pending operations, deletes only as the deletion brake allows; return how
        many records are still pending (held deletes are not counted). Records another
        calendar's run wrote meanwhile are read again and retried again."""
        allowed = run.deletes_allowed

        def conflicted(err: RecordConflictError) -> None:
            run.stats.conflicts += 1
            run.deletes_allowed = allowed  # the brake decides again, from the same count
            LOGGER.info("%s; pending operations are retried again", err, extra=labels(run.doc.key))

        return retried_on_conflict(lambda: self._retry_once(run), on_conflict=conflicted)

    def _retry_once(self, run: Run) -> int:
        now = self._now()
        # Enough to see one more delete than the brake allows, so it can decide on them all.
        limit = max(self._settings.pending_batch, self._settings.delete_brake + 1)
        pending = self._records.pending(run.doc.key, _FAR_FUTURE, limit)
        ctx = self._settings.plan_context(run.doc)
        self._grace.ask_siblings(run)  # before any wait: they pull while the grace runs
        if self._waited_out_grace(pending, ctx, now):
            now = self._now()
            # Other calendars' runs may have written these records while this one waited.
            pending = self._records.pending(run.doc.key, _FAR_FUTURE, limit)
        braked = self._brake.check(run, pending, ctx, complete=len(pending) < limit)
        due = [
            r
            for r in pending
            if r.key not in braked.kept
            and r.pending is not None
            and r.pending.next_attempt_at <= now
        ]
        final: dict[str, ConferenceRecord] = dict(braked.held)
        moved: dict[str, str] = {}
        if due:
            sent, moved = self._send_due(run, due, ctx)
            final.update(sent)
        if final:
            self._records.save(final.values())
            run.stats.records_written += len(final)
        if moved:  # after the records: a pointer to a record not transferred yet is ignored
            self._records.save(
                [], calendar_key=moved_scope(run.doc.subject), attachments=dict(moved)
            )
        after = {r.key: r for r in pending} | final
        return sum(
            1
            for r in after.values()
            if r.pending is not None and r.status == "active" and not r.held
        )

    def _send_due(
        self, run: Run, due: Sequence[ConferenceRecord], ctx: PlanContext
    ) -> tuple[dict[str, ConferenceRecord], dict[str, str]]:
        """Plan, re-check, send and write back the due records; the records after it, and the
        events the grace found moved away (event id -> record key, see
        :func:`~confsync.records.moved_scope`)."""
        before = {r.key: r for r in due}
        # A record whose owner is not known yet (unavailable before) asks again first.
        resolved = self._owners.resolve(run, before)
        records = {**before, **resolved}
        acting = [r for r in records.values() if r.key not in resolved and r.role == "acting"]
        acting += [r for r in resolved.values() if r.role == "acting" and r.pending is None]
        operations = [op for r in acting if (op := plan_operation(r, ctx)) is not None]
        # A delete falls due only after its grace: re-checked right before it would be sent.
        deletes = [op for op in operations if isinstance(op, DeleteConference)]
        verdict = self._grace.check(run, records, deletes)
        cancelled = {**verdict.kept, **self._changed_meanwhile(deletes, records, verdict.kept)}
        operations = [op for op in operations if op.record_key not in cancelled]
        run.stats.pending_retried += len(operations)
        sent = self._sender.send(operations, records, run.stats, calendar_key=run.doc.key)
        if self._settings.write_back:  # before saving, as for a page (PageApplier.apply)
            write_back(run, {key: result.record for key, result in sent.items()}, sent, {})
        # An acting record whose operation is no longer needed (superseded) is cleared; the
        # others are as the owner lookup left them (pending again, failed, deleted, or nobody's).
        final = {r.key: _clear_pending(r) for r in acting if r.key not in sent}
        final.update({k: r for k, r in resolved.items() if k not in final})
        final.update({k: _clear_pending(r) for k, r in records.items() if r.role == "reference"})
        final.update(cancelled)
        final.update({key: result.record for key, result in sent.items()})
        return final, verdict.moved

    def _changed_meanwhile(
        self,
        deletes: Sequence[DeleteConference],
        records: Mapping[str, ConferenceRecord],
        cancelled: Mapping[str, ConferenceRecord],
    ) -> dict[str, ConferenceRecord]:
        """The records of deletes about to be sent that another calendar's run wrote since they
        were read (read again, by key, right before sending): not sent now, as they were; the
        next retry plans them again from what is stored then. A delete is the one operation
        that cannot be taken back, so it is never sent from a record known to be stale."""
        keys = [op.record_key for op in deletes if op.record_key not in cancelled]
        if not keys:
            return {}
        stored = {r.key: r for r in self._records.by_keys(keys)}
        return {
            key: records[key]
            for key in keys
            if key in stored and stored[key].version != records[key].version
        }

    def _waited_out_grace(
        self, pending: Sequence[ConferenceRecord], ctx: PlanContext, now: datetime
    ) -> bool:
        """With a grace of at most ``grace_wait_max`` (the local stack's), wait until the
        deletes this calendar deferred by it fall due, so they go in this run; whether it
        waited. Never attempted (``attempts`` 0) tells a grace from a provider's backoff."""
        grace = self._settings.delete_grace
        if not grace or grace > self._settings.grace_wait_max:
            return False
        horizon = now + grace
        waits = [
            r.pending.next_attempt_at
            for r in pending
            if r.pending is not None
            and r.pending.attempts == 0
            and now < r.pending.next_attempt_at <= horizon
            and isinstance(plan_operation(r, ctx), DeleteConference)
        ]
        if not waits:
            return False
        self._sleep((max(waits) - now).total_seconds())
        return True


def _clear_pending(record: ConferenceRecord) -> ConferenceRecord:
    return replace(record, pending=None, hold=None)
