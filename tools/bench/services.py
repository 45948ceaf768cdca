"""One of confsync's emulators (its console script) on a free port, for the benchmarks that need
only emulators, started and stopped with :func:`devstack.process.serving`; and the Firestore and
Pub/Sub emulators with the Calendar emulator, for the channel benchmarks."""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from devstack.gcloud_emulators import (
    EmulatorEndpoints,
    free_port,
    start_gcloud_emulators,
    stop_gcloud_emulators,
)
from devstack.process import ManagedProcess, serving

__all__ = ["emulator", "emulators_and_calendar"]

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


@contextmanager
def emulators_and_calendar(name: str, project: str) -> Iterator[tuple[EmulatorEndpoints, str]]:
    """The Firestore and Pub/Sub emulators and the Calendar emulator on free ports, in a temporary
    run directory named after the benchmark ``name``; their endpoints and the Calendar's base URL.
    """
    run_dir = Path(tempfile.mkdtemp(prefix=f"confsync-bench-{name}-"))
    endpoints = start_gcloud_emulators(
        run_dir, project=project, firestore_port=free_port(), pubsub_port=free_port()
    )
    try:
        with emulator("calendar-emulator", run_dir) as (base, _):
            yield endpoints, base
    finally:
        stop_gcloud_emulators(run_dir)
        shutil.rmtree(run_dir, ignore_errors=True)
