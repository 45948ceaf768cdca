"""``devstack dev`` brings the stack up, prints the functions' log entries as readable lines, and
stops everything on Ctrl-C (SIGINT)."""

from __future__ import annotations

import json
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from devstack.lifecycle import read_env_file
from devstack.process import running
from devstack.pubsub_wiring import PubsubRest
from tests.support.devstack import PROJECT
from tests.support.paths import REPO_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]


def _wait_for(lines: queue.Queue[str], pattern: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    seen: list[str] = []
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.2)
        except queue.Empty:
            continue
        seen.append(line)
        if re.search(pattern, line):
            return line
    raise AssertionError(f"no line matching {pattern!r} in:\n" + "".join(seen))


def test_dev_follows_the_logs_and_stops_on_ctrl_c(tmp_path: Path, stack_args: list[str]) -> None:
    run_dir = tmp_path / "run"
    dev = subprocess.Popen(
        [sys.executable, "-m", "devstack.cli", "--run-dir", str(run_dir), "dev", *stack_args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=REPO_ROOT,
    )
    lines: queue.Queue[str] = queue.Queue()
    assert dev.stdout is not None
    stdout = dev.stdout

    def pump() -> None:
        for text in stdout:
            lines.put(text)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        _wait_for(lines, r"^following the logs", timeout=60)
        env = read_env_file(run_dir / "stack.env")
        calendar_key = f"dev-{uuid.uuid4().hex[:12]}"
        request = {"v": 1, "calendarKey": calendar_key, "reason": "manual"}
        request["notifiedAt"] = "2026-11-24T05:00:00.000Z"
        PubsubRest(env["PUBSUB_EMULATOR_HOST"], PROJECT).publish(
            "sync-requests", json.dumps(request).encode()
        )

        line = _wait_for(lines, calendar_key, timeout=20)
        assert re.match(
            r"^\d\d:\d\d:\d\d  sync +INFO +calendar not syncing; request acknowledged "
            rf"\[calendar_key={calendar_key}\]$",
            line.rstrip("\n"),
        ), line
        assert running(run_dir)

        dev.send_signal(signal.SIGINT)
        assert dev.wait(timeout=30) == 0
        reader.join(timeout=5)
        rest = []
        while not lines.empty():
            rest.append(lines.get())
        assert any(text.startswith("stopped: ") for text in rest), rest
        assert running(run_dir) == {}
    finally:
        if dev.poll() is None:
            dev.kill()
            dev.wait()
        subprocess.run(
            [sys.executable, "-m", "devstack.cli", "--run-dir", str(run_dir), "down"],
            capture_output=True,
            check=False,
            timeout=60,
        )
