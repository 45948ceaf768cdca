"""The chaos suite's view of a running local stack: :class:`devstack.client.StackClient` plus the
one thing only the suite does, a crash-restart of the ``sync`` function's process.

The fault rules themselves go through the client's admin-API methods (:mod:`chaos.faults` turns a
fault step into a rule).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path

from devstack.client import StackClient
from devstack.process import restart, wait_until_ready

__all__ = ["ChaosStack"]


class ChaosStack(StackClient):
    """One running stack (its ``stack.env`` values) and the run directory its processes are in."""

    def __init__(self, env: Mapping[str, str], run_dir: Path) -> None:
        super().__init__(env)
        self.run_dir = run_dir

    def restart_sync(self, timeout: float = 30.0) -> float:
        """SIGKILL the sync function's process group, start it again; seconds until it answers."""
        started = time.monotonic()
        process = restart(self.run_dir, "sync")
        ready = f"{self.env['SYNC_URL']}/robots.txt"
        wait_until_ready(process, ready, timeout=timeout, interval=0.05)
        return time.monotonic() - started
