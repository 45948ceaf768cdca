"""What the sync function's summary lines say about its runs: Firestore round trips per run.

The sync function logs one Cloud Logging JSON line per run (``confsync.sync``'s summary, with the
run's counters under ``sync``). :class:`SyncLog` reads the lines a scenario added to the stack's
sync log (from an offset :meth:`SyncLog.mark` took) and :func:`round_trips_per_run` averages
``firestore_round_trips`` over the runs that pulled (status ``synced``): what a run costs, not the
covered or coalesced notifications around it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

__all__ = ["SyncLog", "round_trips_per_run"]

_SYNC_LOGGER = "confsync.sync"


def round_trips_per_run(lines: Iterable[str]) -> float | None:
    """The mean ``firestore_round_trips`` of the synced runs logged in ``lines`` (other lines
    are skipped); None when there is no such run (the baseline logs none)."""
    counts: list[int] = []
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if not isinstance(entry, dict) or entry.get("logger") != _SYNC_LOGGER:
            continue
        run = entry.get("sync")
        if not isinstance(run, dict) or run.get("status") != "synced":
            continue
        count = run.get("firestore_round_trips")
        if isinstance(count, int) and not isinstance(count, bool):
            counts.append(count)
    return round(sum(counts) / len(counts), 2) if counts else None


class SyncLog:
    """The sync function's log file of one bench stack."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def mark(self) -> int:
        """Where the log ends now (an offset for :meth:`round_trips_since`)."""
        return self.path.stat().st_size if self.path.exists() else 0

    def round_trips_since(self, offset: int) -> float | None:
        """:func:`round_trips_per_run` over the lines logged after ``offset``."""
        if not self.path.exists():
            return None
        with self.path.open("rb") as log:
            log.seek(offset)
            text = log.read().decode("utf-8", errors="replace")
        return round_trips_per_run(text.splitlines())
