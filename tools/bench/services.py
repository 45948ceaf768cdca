"""One of confsync's emulators (its console script) on a free port, for the benchmarks that need
only emulators, started and stopped with :func:`devstack.process.serving`."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from devstack.gcloud_emulators import free_port
from devstack.process import ManagedProcess, serving

__all__ = ["emulator"]

READY_TIMEOUT_S = 30.0


@contextmanager
def emulator(command: str, run_dir: Path) -> Iterator[tuple[str, ManagedProcess]]:
    """``command`` (``calendar-emulator``, ``conferencing-emulator``) serving on a free port,
    logging warnings only into ``run_dir/logs``; its base URL and process."""
    port = free_port()
    executable = Path(sys.executable).with_name(command)
    argv = [str(executable), "--host", "127.0.0.1", f"--port={port}", "--log-level", "WARNING"]
    base = f"http://127.0.0.1:{port}"
    with serving(
        command,
        argv,
        run_dir,
        marker=f"--port={port}",
        ready_url=f"{base}/emulator/v1/faults",
        timeout=READY_TIMEOUT_S,
        interval=0.05,
    ) as process:
        yield base, process
