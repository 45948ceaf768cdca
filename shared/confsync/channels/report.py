"""What one channel command did and spent, and the one summary line it logs.

The summary line's fields (``channels.command``, the counters, ``max_subject_calls``) are read by
the log-based metrics in terraform/monitoring.tf: their names are a contract.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from confsync.channels.logs import LOGGER

__all__ = ["ChannelReport", "SubjectBudget", "log_report"]


@dataclass(slots=True)
class ChannelReport:
    """What one command (enroll, unenroll, tick or fan-out batch) did; logged as its summary."""

    enrolled: int = 0
    refused: int = 0  # enroll commands for a subject not allowed (syntax, domain): ERROR lines
    ignored: int = 0  # add-on enroll commands of a calendar an operator blocked
    unenrolled: int = 0
    kept_disconnected: int = 0  # past the retention, not retired: a deployment-wide reason
    renewed: int = 0
    orphaned: int = 0
    repaired: int = 0
    poll_only: int = 0
    disconnected: int = 0
    swept: int = 0
    collected: int = 0
    fanned_out: int = 0
    deferred: int = 0
    failed: int = 0

    def as_dict(self) -> dict[str, int]:
        """The counters by name."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


class SubjectBudget:
    """Calendar calls per subject within one tick (or one fan-out command).

    ``limit`` None means unlimited: work the tick already planned within the budget.
    """

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.used: dict[str, int] = {}

    def spend(self, subject: str, calls: int) -> bool:
        """Charge ``calls`` to ``subject`` if they fit; False (nothing charged) otherwise."""
        used = self.used.get(subject, 0)
        if self.limit is not None and used + calls > self.limit:
            return False
        self.used[subject] = used + calls
        return True


def log_report(what: str, report: ChannelReport, budget: SubjectBudget) -> None:
    """The summary line of one command: its counters and its busiest subject's calls."""
    busiest = max(budget.used.values(), default=0)
    LOGGER.info(
        "%s done",
        what,
        extra={"channels": {"command": what, **report.as_dict(), "max_subject_calls": busiest}},
    )
