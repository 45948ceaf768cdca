"""How the sync runner behaves: :class:`SyncSettings`, built from configuration by
:mod:`confsync.bootstrap` (tests build their own)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from confsync.calendars import CalendarDoc
from confsync.planner import ConferenceMatcher, PlanContext

__all__ = ["SyncSettings"]


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

    def plan_context(self, doc: CalendarDoc) -> PlanContext:
        """What the planner needs to know about ``doc`` and these settings."""
        return PlanContext(
            calendar_key=doc.key,
            calendar_id=doc.calendar_id,
            matcher=self.matcher,
            relevant_fields=self.relevant_fields,
            owned_only=self.owned_only,
        )
