"""What one sync run carries from part to part: :class:`Run` (its Calendar client, the calendar,
its lease, its counters, the orphans between pages) and :class:`Pulled` (one round's pull).

The runner and its collaborators keep no state of their own, so one runner serves concurrent
runs: everything a run changes lives here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from confsync.calendars import CalendarDoc
from confsync.planner import Orphans
from confsync.ports import CalendarClient, StagedSave
from confsync.sync.summary import SyncStats

__all__ = ["Pulled", "Run", "Unsaved"]


@dataclass(frozen=True, slots=True)
class Unsaved:
    """The records of a round's last page, staged to be written with the round's commit, and
    how to apply that page again (read, plan, send, save on its own) when one of them changed
    since the page read it."""

    staged: StagedSave
    apply_again: Callable[[], None]


@dataclass(slots=True)
class Run:
    """What one run works with: its Calendar client, the calendar, its lease and its counters.

    ``doc`` is refreshed between rounds (its ``notify_seq`` is the next round's), ``lease_until``
    moves when a long pull extends the lease, and ``orphans`` carries series exceptions that wait
    for their series from one page to the next."""

    client: CalendarClient
    doc: CalendarDoc
    owner: str
    stats: SyncStats
    lease_until: datetime
    orphans: Orphans = field(default_factory=dict)
    swept: bool = False
    """The run was asked for by the sweep (what it finds, no notification announced)."""
    deletes_allowed: int = 0
    """Deletes the deletion brake let through in this run's earlier rounds (counted against
    it in the next ones)."""
    deletes_queued: int = 0
    """Deletes this run's pages queued for the deletion brake (pending operations the run
    itself made, so its pending retry must run)."""
    siblings_asked: int = 0
    """How many of ``deletes_queued`` the subject's other calendars were asked to pull for
    (:meth:`~confsync.sync.grace.DeleteGrace.ask_siblings`)."""
    pending_checked_at: datetime | None = None
    """When this run looked for the calendar's pending operations (None: it did not), stored
    with its commit."""
    pending_left: int = 0
    """How many operations this run's last look left pending (0 before it looked)."""
    unsaved: Unsaved | None = None
    """The records of the round's last page, staged to be written with the round's commit
    (one round trip less); None once written, or when there was nothing to stage."""


@dataclass(frozen=True, slots=True)
class Pulled:
    """One round's pull: the new sync token, when its first ``events.list`` was about to be sent,
    and whether it was a full sync."""

    token: str
    started: datetime
    full: bool
