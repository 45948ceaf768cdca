"""`restart` crashes a recorded process and starts it again with the same command and env."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from devstack.process import ManagedProcess, NotReadyError, restart, running, stop_all

# The probe writes its file under a temporary name and renames it, so a reader never sees it
# created but still empty (the test used to read it half-written on a loaded machine).
_SCRIPT = (
    "import os, pathlib, sys, time; "
    "final = pathlib.Path(sys.argv[1], str(os.getpid())); "
    "partial = final.with_name('.' + final.name); "
    "partial.write_text(os.environ['CHAOS_PROBE']); "
    "os.replace(partial, final); "
    "time.sleep(60)"
)


def _wait_for_files(directory: Path, count: int) -> list[Path]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = sorted(p for p in directory.iterdir() if not p.name.startswith("."))
        if len(found) >= count:
            return found
        time.sleep(0.02)
    raise AssertionError(
        f"expected {count} files in {directory}, found {list(directory.iterdir())}"
    )


def test_restart_kills_the_process_and_starts_it_again_unchanged(tmp_path: Path) -> None:
    seen = tmp_path / "seen"
    seen.mkdir()
    argv = [sys.executable, "-c", _SCRIPT, str(seen), "marker-restart"]
    env = {**os.environ, "CHAOS_PROBE": "same-env"}
    first = ManagedProcess.start("worker", argv, tmp_path, marker="marker-restart", env=env)
    _wait_for_files(seen, 1)

    second = restart(tmp_path, "worker")

    try:
        assert not first.alive()
        assert second.alive()
        assert second.pid != first.pid
        assert running(tmp_path).keys() == {"worker"}
        files = _wait_for_files(seen, 2)
        assert {path.read_text() for path in files} == {"same-env"}
        assert {int(path.name) for path in files} == {first.pid, second.pid}
    finally:
        stop_all(tmp_path)


def test_restart_refuses_a_process_that_is_not_running(tmp_path: Path) -> None:
    argv = [sys.executable, "-c", "pass", "marker-gone"]
    process = ManagedProcess.start("gone", argv, tmp_path, marker="marker-gone")
    deadline = time.monotonic() + 10
    while process.alive() and time.monotonic() < deadline:
        time.sleep(0.02)

    with pytest.raises(NotReadyError, match="not running"):
        restart(tmp_path, "gone")
