"""Background processes are stopped exactly: the ones we started, never a reused PID."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from devstack.process import ManagedProcess, NotReadyError, running, stop_all, wait_until_ready


def _sleeper(run_dir: Path, name: str, marker: str) -> ManagedProcess:
    argv = [sys.executable, "-c", "import time; time.sleep(60)", marker]
    return ManagedProcess.start(name, argv, run_dir, marker=marker)


def test_stop_all_stops_what_was_started_and_forgets_it(tmp_path: Path) -> None:
    process = _sleeper(tmp_path, "sleeper", "marker-1")
    assert running(tmp_path).keys() == {"sleeper"}

    stopped = stop_all(tmp_path)

    assert stopped == ["sleeper"]
    assert not process.alive()
    assert running(tmp_path) == {}
    assert not (tmp_path / "pids" / "sleeper.pid").exists()


def test_stop_all_leaves_a_reused_pid_alone(tmp_path: Path) -> None:
    other = _sleeper(tmp_path / "other", "unrelated", "marker-other")
    (tmp_path / "pids").mkdir()
    # A stale PID file whose PID now belongs to an unrelated process with another command line.
    (tmp_path / "pids" / "ghost.pid").write_text(json.dumps({"pid": other.pid, "marker": "x-9"}))

    stopped = stop_all(tmp_path)

    assert stopped == []
    assert other.alive()
    stop_all(tmp_path / "other")


def test_stop_all_can_stop_by_name(tmp_path: Path) -> None:
    first = _sleeper(tmp_path, "first", "marker-a")
    second = _sleeper(tmp_path, "second", "marker-b")

    stop_all(tmp_path, names=["first"])

    assert not first.alive()
    assert second.alive()
    stop_all(tmp_path)


def test_wait_until_ready_reports_a_process_that_died(tmp_path: Path) -> None:
    argv = [sys.executable, "-c", "print('boom'); raise SystemExit(3)", "marker-dies"]
    process = ManagedProcess.start("dies", argv, tmp_path, marker="marker-dies")
    time.sleep(0.2)

    with pytest.raises(NotReadyError, match="exited during start-up"):
        wait_until_ready(process, "http://127.0.0.1:9/", timeout=5)
    assert "boom" in process.log_path.read_text()
