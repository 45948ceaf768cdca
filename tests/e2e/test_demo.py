"""``make demo`` end to end: the story runs on a private stack, and nothing is left running.

The demo runs as a subprocess with a run directory of the test's own. While it runs, the test
records every process the stack writes into ``pids/`` (``devstack down`` removes those files), so it
can check afterwards that none of them survives.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from devstack.process import ManagedProcess, running
from devstack.sdk import MissingPrerequisiteError, find_jars
from tests.support.paths import REPO_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

STEPS = ("1", "2", "3", "4", "5", "6a", "6b", "6c", "7")


def _record_processes(
    run_dir: Path, seen: dict[str, ManagedProcess], done: threading.Event
) -> None:
    """Copy every PID file of ``run_dir`` into ``seen`` until ``done``."""
    while not done.is_set():
        for pid_file in (run_dir / "pids").glob("*.pid"):
            try:
                record = json.loads(pid_file.read_text())
            except (OSError, ValueError):
                continue  # being written or removed
            seen[f"{pid_file.stem}:{record['pid']}"] = ManagedProcess(
                name=pid_file.stem,
                pid=int(record["pid"]),
                marker=str(record["marker"]),
                log_path=run_dir / "logs" / f"{pid_file.stem}.log",
            )
        time.sleep(0.05)


def test_the_demo_tells_every_step_and_leaves_nothing_running(tmp_path: Path) -> None:
    try:
        find_jars()
    except MissingPrerequisiteError as err:
        pytest.skip(f"gcloud emulators not installed: {err}")
    run_dir = tmp_path / "demo"
    seen: dict[str, ManagedProcess] = {}
    done = threading.Event()
    watcher = threading.Thread(target=_record_processes, args=(run_dir, seen, done), daemon=True)
    watcher.start()
    try:
        finished = subprocess.run(
            [sys.executable, "-m", "devstack.demo", "--run-dir", str(run_dir)],
            capture_output=True,
            text=True,
            timeout=110,
            check=False,
            cwd=REPO_ROOT,
        )
    finally:
        done.set()
        watcher.join()
    output = finished.stdout + finished.stderr

    assert finished.returncode == 0, output
    for label in STEPS:
        assert f"Step {label}: " in finished.stdout, f"step {label} missing:\n{output}"
    assert f"run directory: {run_dir}" in finished.stdout
    assert "\nsummary\n" in finished.stdout
    summary = finished.stdout.split("\nsummary\n", 1)[1]
    for label in STEPS:
        assert any(line.startswith(f"{label} ") for line in summary.splitlines()), summary
    assert "latency ms" in summary
    assert "events.list" in summary
    assert "demo done" in finished.stdout
    assert len(seen) >= 7, f"the demo's stack was not seen running: {sorted(seen)}"
    survivors = [name for name, process in seen.items() if process.alive()]
    assert survivors == [], f"still running after the demo: {survivors}"
    assert running(run_dir) == {}
