"""The deletion brake: one run never deletes more than ``delete_brake`` conferences of a calendar.

Deleting a live meeting is the worst thing confsync can do, whether a bug, a calendar shared
away or a malicious user asks for it. So a delete the planner produces is never sent from a page:
:mod:`confsync.sync.apply` queues it (:func:`queued`, a pending operation due now) and, once the
round's pull has seen every page, :meth:`DeletionBrake.check` (called by the pending retry)
counts the calendar's unsent deletes: this run's, those a crashed run left queued, pending ones
waiting for their backoff, those held already, and those the brake let through in this run's
earlier rounds. Released ones do not count.

- At most ``delete_brake``: the pending retry sends the due ones at once, in the same round.
- More: **all** of them are held (``hold`` ``held``: never sent by a sync, not counted as
  pending), the calendar's ``held_deletes`` is set, and one ERROR line ``deletions held by the
  brake`` names the calendar (a log-based metric alerts on it). An operator sends them
  (``confsync release-deletes``, which marks them ``released``: due, exempt from the brake) or
  drops them (``--discard``).
- More pending records than one query returns (the total cannot be known): the deletes wait,
  neither sent nor held, until the backlog drains.

Updates are never held. A held delete whose event comes back is re-planned by the planner like
any pending operation, so it is cancelled rather than sent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from confsync.planner import DeleteConference, PlanContext, plan_operation
from confsync.ports import CalendarStore, RecordStore
from confsync.records import ConferenceRecord, PendingOperation
from confsync.sync.settings import SyncSettings
from confsync.sync.state import Run
from confsync.sync.summary import LOGGER

__all__ = ["HELD_MESSAGE", "QUEUED_NOTE", "Braked", "DeletionBrake", "queued"]

HELD_MESSAGE = "deletions held by the brake"
"""The start of the ERROR line the log-based metric ``deletions_held`` selects."""

QUEUED_NOTE = "not sent yet: waiting for the deletion brake"
"""The ``last_error`` of a delete queued and never attempted."""

_HELD_NOTE = "held by the deletion brake: confsync release-deletes or --discard"


def queued(record: ConferenceRecord, due: datetime) -> ConferenceRecord:
    """``record`` with its delete queued for the brake: pending, due ``due`` (now plus the delete
    grace; counted by the brake from now on). A held delete stays held; a failed record gets a
    new retry budget (its content changed), as in the planner."""
    if record.held:
        return record
    previous = None if record.status == "failed" else record.pending
    pending = PendingOperation(
        attempts=previous.attempts if previous else 0,
        next_attempt_at=due,
        last_error=previous.last_error if previous else QUEUED_NOTE,
    )
    return replace(record, status="active", pending=pending)


@dataclass(frozen=True, slots=True)
class Braked:
    """What the brake decided for one round: the records it newly held (to save) and the keys
    of pending records whose delete must not be sent now (held, or waiting)."""

    held: Mapping[str, ConferenceRecord] = field(default_factory=dict)
    kept: frozenset[str] = frozenset()


class DeletionBrake:
    """Decides, once per round, whether the calendar's unsent deletes may be sent."""

    def __init__(
        self,
        records: RecordStore,
        calendars: CalendarStore,
        settings: SyncSettings,
        *,
        now: Callable[[], datetime],
    ) -> None:
        self._records = records
        self._calendars = calendars
        self._settings = settings
        self._now = now

    def check(
        self,
        run: Run,
        pending: Sequence[ConferenceRecord],
        ctx: PlanContext,
        *,
        complete: bool,
    ) -> Braked:
        """The decision over ``pending`` (the calendar's pending records; ``complete``: all of
        them, not the first page of a longer list)."""
        deletes = [
            r
            for r in pending
            if r.hold != "released" and isinstance(plan_operation(r, ctx), DeleteConference)
        ]
        if not deletes and run.doc.held_deletes == 0:
            return Braked()
        already = len(self._records.held(run.doc.key))
        total = already + len(deletes) + run.deletes_allowed
        if total > self._settings.delete_brake:
            return self._hold(run, deletes, already)
        self._count(run, already)  # corrects a count left by a crash or a returning event
        if deletes and not complete:
            LOGGER.warning(
                "%d deletes wait: more pending operations than one query returns, so the "
                "deletion brake cannot count them all",
                len(deletes),
                extra={"labels": {"calendar_key": run.doc.key}},
            )
            return Braked(kept=frozenset(r.key for r in deletes))
        now = self._now()
        run.deletes_allowed += sum(
            1 for r in deletes if r.pending is not None and r.pending.next_attempt_at <= now
        )
        return Braked()

    def _hold(self, run: Run, deletes: Sequence[ConferenceRecord], already: int) -> Braked:
        key = run.doc.key
        count = already + len(deletes)
        # The count first: a crash before the records are saved leaves a count the next run
        # corrects, never held records that no count shows.
        self._count(run, count)
        held = {r.key: _held(r, self._now()) for r in deletes}
        run.stats.held += len(held)
        LOGGER.error(
            "%s: %d deletes of calendar %s held (%d new; a run may delete at most %d); send them "
            "with `confsync release-deletes --calendar-key %s`, or keep the conferences with "
            "--discard",
            HELD_MESSAGE,
            count,
            key,
            len(held),
            self._settings.delete_brake,
            key,
            extra={
                "labels": {"calendar_key": key},
                "alert": "deletions_held",
                "brake": {"held": count, "new": len(held), "limit": self._settings.delete_brake},
            },
        )
        return Braked(held=held, kept=frozenset(held))

    def _count(self, run: Run, count: int) -> None:
        if count != run.doc.held_deletes:
            self._calendars.set_held_deletes(run.doc.key, count)
            run.doc = replace(run.doc, held_deletes=count)


def _held(record: ConferenceRecord, now: datetime) -> ConferenceRecord:
    previous = record.pending
    pending = PendingOperation(
        attempts=previous.attempts if previous else 0,
        next_attempt_at=previous.next_attempt_at if previous else now,
        last_error=_HELD_NOTE,
    )
    return replace(record, hold="held", pending=pending)
