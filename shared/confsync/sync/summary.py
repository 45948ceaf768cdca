"""What a sync run reports: its counters, its outcome and its one summary log line.

Every part of :mod:`confsync.sync` logs through :data:`LOGGER`, named ``confsync.sync``: the
log-based metrics in Terraform and the monitoring tests select the summary line by that name and
read its structured fields (``sync.reason``, ``sync.status``, the counters, ``duration_s``,
``latency_s``), so neither the name nor the fields may change without them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from confsync.cloud_logging import SYNC_LOGGER
from confsync.messages import SyncRequest

__all__ = ["LOGGER", "Status", "SyncOutcome", "SyncStats", "labels", "log_summary"]

LOGGER = logging.getLogger(SYNC_LOGGER)


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
    held: int = 0
    gone: int = 0
    pending: int = 0
    failed: int = 0
    records_written: int = 0
    write_backs: int = 0
    pending_retried: int = 0
    covered: int = 0
    settle_waits: int = 0
    series_lookups: int = 0
    owner_lookups: int = 0
    references: int = 0
    conflicts: int = 0
    migrated: int = 0
    firestore_round_trips: int = 0
    """Requests the run sent to the database (:mod:`confsync.round_trips`), its own cost."""


Status = Literal[
    "synced", "covered", "coalesced", "skipped", "disconnected", "republished", "dropped"
]


@dataclass(frozen=True, slots=True)
class SyncOutcome:
    """What one run did."""

    status: Status
    stats: SyncStats = field(default_factory=SyncStats)
    duration_s: float = 0.0


def labels(calendar_key: str) -> dict[str, Any]:
    """The ``extra`` of a log line about one calendar."""
    return {"labels": {"calendar_key": calendar_key}}


def log_summary(
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
    LOGGER.info(
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


def _latency_s(notified_at: datetime, now: datetime) -> float:
    """Seconds from ``notified_at`` (when intake, a sweep or an operator asked for the sync) to
    ``now``, to the millisecond. A naive time is taken as UTC rather than failing the summary
    line. Not clamped: a small negative value shows clock skew between the machines."""
    start, end = (t if t.tzinfo else t.replace(tzinfo=UTC) for t in (notified_at, now))
    return round((end - start).total_seconds(), 3)


def _as_dict(stats: SyncStats) -> dict[str, Any]:
    return {name: getattr(stats, name) for name in stats.__slots__}
