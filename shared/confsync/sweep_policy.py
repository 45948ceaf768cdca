"""When a calendar is swept next: sweep by need, not by clock (a pure function, no I/O).

Push is only a hint: a notification can be lost, and a channel can stop delivering without a
word. The sweep (a sync the tick asks for) is the safety net. Sweeping every calendar every few
minutes costs one ``events.list`` per calendar per sweep whether or not anything changed, so
:func:`next_sweep` spends sweeps where a lost change is likely, from what a sync run knows when
it commits (see docs/decisions/2026-12-04-sweep-by-need.md):

- **pending conference operations**: due now (the next tick retries them, as before);
- **unannounced changes**: a sweep that found changes no notification had announced is evidence
  of a lost notification or a dead channel: the shortest interval, and the channel is *suspect*
  (the tick watches the calendar again with its next sweep);
- **recent activity**: a run that found announced changes takes one look after the shortest
  interval (a lost notification comes with changes, most often the last of an editing session),
  then resumes the quiet interval it had: it stores half of it, which the next quiet run doubles;
- **quiet**: a run that found nothing doubles the previous interval, up to the longest.

Any successful sync recovers every change made before it, so the clock restarts at each one. A
change whose notification is lost waits at most ``longest`` plus the tick interval (the tick
hands out what is due) plus the time its sync takes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = ["RunEvidence", "SweepPlan", "SweepTuning", "next_sweep"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SweepTuning:
    """The two bounds of the interval between sweeps of a calendar."""

    shortest: timedelta
    """After activity, for a suspect channel, and to retry an unfinished sweep
    (``CONFSYNC_SWEEP_INTERVAL_SECONDS``)."""
    longest: timedelta
    """The most a quiet calendar waits (``CONFSYNC_SWEEP_MAX_INTERVAL_SECONDS``)."""

    def __post_init__(self) -> None:
        if self.shortest <= timedelta(0) or self.longest < self.shortest:
            raise ValueError("sweep intervals: 0 < shortest <= longest")


@dataclass(frozen=True, slots=True, kw_only=True)
class RunEvidence:
    """What a sync run knows about its calendar when it commits."""

    now: datetime
    swept: bool
    """The run was asked for by the sweep (no notification announced what it found)."""
    changes: int
    """Changed events the run pulled incrementally (0 for a full sync: it lists everything)."""
    pending: bool
    """Conference operations of the calendar are still pending after the run."""
    previous: timedelta | None
    """The interval the previous run planned (None: none planned yet)."""


@dataclass(frozen=True, slots=True)
class SweepPlan:
    """The calendar's next sweep: when, the interval it came from (the next run doubles it),
    and whether its channel is suspect (the tick re-watches it)."""

    due_at: datetime
    interval: timedelta
    """The interval the next quiet run doubles (at most ``longest``)."""
    suspect: bool = False


def next_sweep(evidence: RunEvidence, tuning: SweepTuning) -> SweepPlan:
    """When the calendar of a run that committed at ``evidence.now`` is swept next."""
    now = evidence.now
    unannounced = evidence.swept and evidence.changes > 0
    if evidence.pending:
        return SweepPlan(now, tuning.shortest, suspect=unannounced)
    if unannounced:  # a lost notification or a dead channel: suspect, and careful a while
        return SweepPlan(now + tuning.shortest, tuning.shortest, suspect=True)
    if evidence.changes > 0:  # announced: one look soon, then back where the quiet ladder was
        resume = max(tuning.shortest, (evidence.previous or tuning.shortest) / 2)
        return SweepPlan(now + tuning.shortest, min(tuning.longest, resume))
    base = evidence.previous if evidence.previous is not None else tuning.shortest / 2
    interval = min(tuning.longest, max(tuning.shortest, base * 2))
    return SweepPlan(now + interval, interval)
