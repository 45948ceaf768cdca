"""Scenario ``budget`` (optional): what the project's Calendar budget costs in Firestore.

On a private Firestore emulator, ``instances`` threads, each with its own Firestore client,
adapter and allowance (as function instances have), spend Calendar calls from one budget within
a frozen 10-second window of its own, in two phases:

* **steady**: each instance spends ``calls_per_instance`` user calls from a window of the default
  budget (8,000 a minute: 1,333 a window): ``steady_calendar_calls``,
  ``steady_firestore_requests`` (claims) and ``steady_firestore_requests_per_100_calls`` (the
  amortised cost a sync run pays);
* **drained**: each instance spends until the budget refuses it, from a window of
  ``drained_per_window_calls``: ``drained_granted_calls`` (never above the budget),
  ``drained_firestore_requests`` (claims, surplus handed back, refused claims).

``claim_p50_ms`` / ``claim_p95_ms``: one claim's latency, over both phases (a Firestore write on
the emulator, on a busy machine: indicative only). Figures only, never pass/fail.
``BENCH_SCALE`` scales the calls.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.scale import scaled
from confsync.adapters import firestore_http as firestore
from confsync.adapters.firestore_budget import FirestoreCalendarBudget
from confsync.calendar_budget import WINDOW_S, CalendarAllowance, per_window
from confsync.ports import StagedClaim
from confsync.settings import variable
from devstack.gcloud_emulators import (
    EmulatorEndpoints,
    free_port,
    start_gcloud_emulators,
    stop_gcloud_emulators,
)

__all__ = ["BudgetSize", "measure", "run"]

PROJECT = "confsync-bench-budget"
_WINDOW = 1_796_000_040.0  # the frozen clock: the steady phase's window (the next: drained's)


@dataclass(frozen=True)
class BudgetSize:
    instances: int = 4
    calls_per_instance: int = 150
    drained_per_window: int = 1200

    @classmethod
    def at_scale(cls) -> BudgetSize:
        return cls(calls_per_instance=scaled(150, 30), drained_per_window=scaled(1200, 100))


class _TimedBudget:
    """The Firestore budget, timing each claim."""

    def __init__(self, inner: FirestoreCalendarBudget, timings: list[float]) -> None:
        self.inner = inner
        self._timings = timings
        self._lock = threading.Lock()

    @property
    def per_window(self) -> int:
        return self.inner.per_window

    def claim(self, window: int, calls: int, share: float) -> int:
        began = time.perf_counter()
        granted = self.inner.claim(window, calls, share)
        with self._lock:
            self._timings.append(time.perf_counter() - began)
        return granted

    def stage(self, window: int, calls: int, share: float) -> StagedClaim | None:
        return self.inner.stage(window, calls, share)


def _instances(
    endpoints: EmulatorEndpoints,
    window_calls: int,
    count: int,
    timings: list[float],
    moment: float,
) -> list[tuple[CalendarAllowance, _TimedBudget]]:
    made = []
    for _ in range(count):
        client = firestore.Client.from_environment(endpoints.project)
        budget = _TimedBudget(FirestoreCalendarBudget(client, window_calls), timings)
        made.append((CalendarAllowance(budget, clock=lambda: moment), budget))
    return made


def _concurrently(
    instances: list[tuple[CalendarAllowance, _TimedBudget]], limit: int | None
) -> tuple[int, int]:
    """Each instance spends ``limit`` calls (None: until refused), all at once; the calls
    spent and the Firestore requests made."""
    start = threading.Barrier(len(instances))

    def spend(allowance: CalendarAllowance) -> int:
        start.wait()
        spent = 0
        while (limit is None or spent < limit) and allowance.try_spend("user"):
            spent += 1
        return spent

    with ThreadPoolExecutor(len(instances)) as pool:
        spent = sum(pool.map(spend, [allowance for allowance, _ in instances]))
    return spent, sum(budget.inner.writes for _, budget in instances)


def measure(endpoints: EmulatorEndpoints, size: BudgetSize) -> dict[str, Any]:
    """Both phases against the emulator at ``endpoints``; the scenario's row."""
    timings: list[float] = []
    default = per_window(int(str(variable("CONFSYNC_PROJECT_CALENDAR_PER_MINUTE").default)))
    steady = _instances(endpoints, default, size.instances, timings, _WINDOW)
    steady_calls, steady_requests = _concurrently(steady, size.calls_per_instance)
    drained = _instances(
        endpoints, size.drained_per_window, size.instances, timings, _WINDOW + WINDOW_S
    )
    drained_calls, drained_requests = _concurrently(drained, None)
    ordered = sorted(timings)
    return {
        "name": "budget",
        "steady_per_window_calls": default,
        "steady_calendar_calls": steady_calls,
        "steady_firestore_requests": steady_requests,
        "steady_firestore_requests_per_100_calls": round(100 * steady_requests / steady_calls, 2),
        "drained_per_window_calls": size.drained_per_window,
        "drained_granted_calls": drained_calls,
        "drained_firestore_requests": drained_requests,
        "claim_p50_ms": round(1000 * statistics.median(ordered), 1),
        "claim_p95_ms": round(1000 * ordered[int(0.95 * (len(ordered) - 1))], 1),
        "notes": f"{size.instances} concurrent instances share each window's budget "
        "(Firestore emulator)",
    }


@contextmanager
def _emulator() -> Iterator[EmulatorEndpoints]:
    with tempfile.TemporaryDirectory(prefix="bench-budget-") as run_dir:
        endpoints = start_gcloud_emulators(
            Path(run_dir), project=PROJECT, firestore_port=free_port(), pubsub_port=free_port()
        )
        saved = os.environ.get("FIRESTORE_EMULATOR_HOST")
        os.environ["FIRESTORE_EMULATOR_HOST"] = endpoints.firestore_host
        try:
            yield endpoints
        finally:
            if saved is None:
                os.environ.pop("FIRESTORE_EMULATOR_HOST", None)
            else:
                os.environ["FIRESTORE_EMULATOR_HOST"] = saved
            stop_gcloud_emulators(Path(run_dir))


def run(size: BudgetSize | None = None) -> list[dict[str, Any]]:
    """The ``budget`` row, on an emulator of its own."""
    with _emulator() as endpoints:
        return [measure(endpoints, size or BudgetSize.at_scale())]
