"""A per-instance budget of log lines by kind, so a flood of refusals cannot flood the logs.

:class:`LogBudget` lets at most ``per_interval`` lines of each kind through per ``interval``
seconds (a fixed window that starts with the kind's first line). Lines over the budget are only
counted; when a window has ended with lines suppressed, the next :meth:`LogBudget.admit` of any kind
hands back those counts, so the caller writes one summary line per kind and window. Pure and
thread-safe; the clock is injected (seconds, monotonic).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

__all__ = ["Admission", "LogBudget", "warn_refusal"]


@dataclass(slots=True)
class _Window:
    started: float
    logged: int = 0
    suppressed: int = 0


@dataclass(frozen=True, slots=True)
class Admission:
    """Whether to write the line asked about, and how many lines of each kind were suppressed in
    windows that have ended since (each count is handed back once)."""

    log: bool
    suppressed: tuple[tuple[str, int], ...] = ()


class LogBudget:
    """At most ``per_interval`` lines of each kind per ``interval`` seconds."""

    def __init__(
        self,
        *,
        per_interval: int,
        interval: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if per_interval < 1 or interval <= 0:
            raise ValueError("a log budget needs at least one line per positive interval")
        self.per_interval = per_interval
        self.interval = interval
        self._clock = clock
        self._windows: dict[str, _Window] = {}
        self._lock = threading.Lock()

    def admit(self, kind: str) -> Admission:
        """Spend one line of ``kind``: whether to write it, plus the ended windows' suppressions."""
        with self._lock:
            now = self._clock()
            ended = [k for k, w in self._windows.items() if now - w.started >= self.interval]
            suppressed = tuple(
                (k, self._windows[k].suppressed) for k in ended if self._windows[k].suppressed
            )
            for k in ended:
                del self._windows[k]
            window = self._windows.setdefault(kind, _Window(started=now))
            if window.logged < self.per_interval:
                window.logged += 1
                return Admission(log=True, suppressed=suppressed)
            window.suppressed += 1
            return Admission(log=False, suppressed=suppressed)


def warn_refusal(
    budget: LogBudget,
    logger: logging.Logger,
    what: str,
    *,
    status: int,
    reason: str,
    detail: str,
    labels: Mapping[str, str],
) -> None:
    """One WARNING line for a refused ``what`` (``"notification"``, ``"enrolment"``) within the
    budget (its kind is the status and the public reason), preceded by one summary line per kind
    whose ended window held lines back."""
    admission = budget.admit(f"{status} {reason}")
    for kind, count in admission.suppressed:
        logger.warning(
            "%d %s refusals (%s) not logged in %d s",
            count,
            what,
            kind,
            budget.interval,
            extra={"labels": {"refusal": kind}},
        )
    if admission.log:
        logger.warning("%s refused (%d): %s", what, status, detail, extra={"labels": dict(labels)})
