"""CPU seconds each part of a local stack spends during a scenario (Linux ``/proc``).

``fanout`` uses it to tell work from waiting: how many milliseconds of CPU the sync function,
the Firestore emulator and the other parts spend per run, for confsync and for the recipe, on
the same stack. The figures cover the whole scenario window (the edits, the convergence and the
quiet wait after it), so an idle part shows a few milliseconds in all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bench.proc_cpu import cpu_seconds, pids_running
from devstack.stack import Part

__all__ = ["MEASURED_PARTS", "PartCpu"]

MEASURED_PARTS = ("sync", "firestore", "intake", "pubsub", "calendar", "conferencing")
"""The parts whose CPU a scenario reports, in this order."""


class PartCpu:
    """The processes of ``parts`` (found once, by command line) and their CPU time."""

    def __init__(self, parts: Sequence[Part]) -> None:
        self._pids = {
            part.name: pids_running(part.argv) for part in parts if part.name in MEASURED_PARTS
        }

    def snapshot(self) -> dict[str, float]:
        """CPU seconds each part used so far."""
        return {name: cpu_seconds(pids) for name, pids in self._pids.items()}

    @staticmethod
    def per_run_ms(
        before: Mapping[str, float], after: Mapping[str, float], runs: int
    ) -> dict[str, float]:
        """``<part>_cpu_ms_per_run`` between two snapshots, over ``runs`` runs."""
        return {
            f"{name}_cpu_ms_per_run": round(1000 * (after[name] - before[name]) / max(1, runs), 1)
            for name in MEASURED_PARTS
            if name in before and name in after
        }
