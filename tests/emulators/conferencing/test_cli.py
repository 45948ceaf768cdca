"""The ``conferencing-emulator`` command: starts, serves, exits 0 on SIGTERM and SIGINT."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

COMMAND = Path(sys.executable).with_name("conferencing-emulator")


def _start(*args: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[str], str]:
    command = (
        [str(COMMAND)] if COMMAND.exists() else [sys.executable, "-m", "conferencing_emulator"]
    )
    process = subprocess.Popen(
        [*command, "--host", "127.0.0.1", "--port", "0", *args],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    match = re.fullmatch(r"conferencing-emulator listening on (http://127\.0\.0\.1:\d+)\n", line)
    assert match, line
    return process, match.group(1)


@pytest.fixture(name="processes")
def fixture_processes() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=5)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_serves_and_exits_zero_on_signal(
    processes: list[subprocess.Popen[str]], signum: signal.Signals
) -> None:
    process, url = _start()
    processes.append(process)
    response = requests.post(f"{url}/v1/conferences", json={"title": "CLI"}, timeout=5)
    assert response.status_code == 201
    process.send_signal(signum)
    assert process.wait(timeout=5) == 0


def test_credential_from_the_environment(processes: list[subprocess.Popen[str]]) -> None:
    process, url = _start(env={"CONFERENCING_EMULATOR_CREDENTIAL": "from-env"})
    processes.append(process)
    assert requests.post(f"{url}/v1/conferences", json={}, timeout=5).status_code == 401
    response = requests.post(
        f"{url}/v1/conferences",
        json={},
        headers={"Authorization": "Bearer from-env"},
        timeout=5,
    )
    assert response.status_code == 201
    process.terminate()
    assert process.wait(timeout=5) == 0
