"""How the sync runner behaves: :class:`SyncSettings`, built from configuration by
:mod:`confsync.bootstrap` (tests build their own)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from confsync.calendars import CalendarDoc
from confsync.ownership import OwnerlessPolicy
from confsync.planner import ConferenceMatcher, PlanContext
from confsync.sweep_policy import SweepTuning

__all__ = ["SyncSettings"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SyncSettings:
    """How the runner behaves; built from configuration by :func:`confsync.bootstrap.
    sync_settings`. The fields that a variable sets have no default here: the declaration in
    :mod:`confsync.settings` is the only one (tests take it through
    :func:`confsync.testing.settings.sync_settings`). The last four are tuning constants, not
    configuration."""

    matcher: ConferenceMatcher
    relevant_fields: frozenset[str]
    owned_only: bool
    full_sync_window: timedelta
    lease_ttl: timedelta
    max_rounds: int
    provider_concurrency: int
    pending_max_attempts: int
    pending_base_delay: timedelta
    pending_max_delay: timedelta
    write_back: bool
    delete_brake: int
    """A run that would delete more conferences of the calendar than this holds every one of
    its deletions (:mod:`confsync.sync.brake`)."""
    ownerless_policy: OwnerlessPolicy
    """Who acts on a conference without an owner (:mod:`confsync.ownership`)."""
    delete_grace: timedelta
    """How long the delete of a conference whose last event left the calendar waits before it is
    re-checked and sent (:mod:`confsync.sync.grace`)."""
    move_wait: timedelta
    """How long after one of the owner's calendars lost an event to a move it could not place
    a delete about to be sent waits (at most this long past its due time), so the calendar the
    event went to can count it first (:mod:`confsync.sync.grace`)."""
    sweep: SweepTuning
    """The bounds of the interval to a calendar's next sweep, which each commit plans
    (:mod:`confsync.sweep_policy`)."""
    grace_wait_max: timedelta = timedelta(seconds=5)
    """A grace at most this long is waited out by the run itself (the local stack's), so the
    delete needs no later sync; a longer one is sent by a later run (the sweep's)."""
    pending_batch: int = 200
    skew: timedelta = timedelta(seconds=1)
    settle: timedelta = timedelta(milliseconds=500)
    settle_max: timedelta = timedelta(seconds=2)

    def plan_context(self, doc: CalendarDoc) -> PlanContext:
        """What the planner needs to know about ``doc`` and these settings."""
        return PlanContext(
            calendar_key=doc.key,
            calendar_id=doc.calendar_id,
            matcher=self.matcher,
            relevant_fields=self.relevant_fields,
            owned_only=self.owned_only,
            subject=doc.subject,
            ownerless_policy=self.ownerless_policy,
        )
