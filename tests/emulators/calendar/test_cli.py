"""The `calendar-emulator` command: starts, serves, stops cleanly on SIGTERM."""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from google.auth.credentials import AnonymousCredentials
from googleapiclient.discovery import build

pytestmark = pytest.mark.timeout(30)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        assert isinstance(port, int)
        return port


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def _read_lines(stream: object, lines: queue.Queue[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        lines.put(line)


def test_cli_serves_and_stops_on_sigterm():
    executable = Path(sys.executable).parent / "calendar-emulator"
    assert executable.exists(), executable
    port = _free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [str(executable), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=_read_lines, args=(process.stdout, lines), daemon=True)
    reader.start()
    try:
        expected = f"calendar-emulator listening on http://127.0.0.1:{port}"
        seen: list[str] = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and process.poll() is None:
            with contextlib.suppress(queue.Empty):
                seen.append(lines.get(timeout=0.05).strip())
            if expected in seen or _port_open(port):
                break
        assert process.poll() is None, seen
        assert _port_open(port) or expected in seen, seen
        service = build(
            "calendar",
            "v3",
            credentials=AnonymousCredentials(),
            client_options={"api_endpoint": f"http://127.0.0.1:{port}/calendar/v3/"},
            static_discovery=True,
        )

        page = service.events().list(calendarId="primary").execute()

        assert page["kind"] == "calendar#events"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=5) == 0
        # The ready line is printed once serving; by now it must have been seen.
        reader.join(timeout=5)
        while not lines.empty():
            seen.append(lines.get().strip())
        assert expected in seen, seen
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=5)
