"""``devstack up`` brings the whole local stack up, Pub/Sub pushes into the functions, and
``devstack down`` stops every process it started.

Runs on free ports in a temporary run directory (never the developer's ``.run/``), with its own
project id, in about 15-25 s on a 2-core machine.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from google.auth.transport.requests import Request as GoogleRequest
from google.oauth2 import id_token

from devstack.client import StackClient
from devstack.lifecycle import read_env_file
from devstack.process import ManagedProcess, is_answering, running
from devstack.pubsub_wiring import PubsubRest
from devstack.stack import STACK_ENV_KEYS
from tests.support.devstack import PROJECT
from tests.support.paths import REPO_ROOT

FUNCTION_NAMES = ("intake", "sync", "channels")

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]


def _devstack(run_dir: Path, *args: str, timeout: float = 70) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "devstack.cli", "--run-dir", str(run_dir), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=REPO_ROOT,
    )


def _processes_with(markers: set[str]) -> list[int]:
    """PIDs of live processes whose command line holds one of ``markers`` (e.g. workers)."""
    found: list[int] = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if any(marker in cmdline for marker in markers):
            found.append(int(proc.name))
    return found


def _sync_entries(run_dir: Path, calendar_key: str) -> list[dict[str, object]]:
    entries: list[dict[str, object]] = []
    log = run_dir / "logs" / "sync.log"
    for line in log.read_text().splitlines() if log.is_file() else []:
        if not line.startswith("{"):
            continue
        entry = json.loads(line)
        labels = entry.get("logging.googleapis.com/labels") or {}
        if labels.get("calendar_key") == calendar_key:
            entries.append(entry)
    return entries


@pytest.fixture(name="run_dir")
def run_dir_fixture(tmp_path: Path) -> Iterator[Path]:
    run_dir = tmp_path / "run"
    yield run_dir
    _devstack(run_dir, "down")  # whatever happened


def test_up_wires_everything_and_down_stops_it(run_dir: Path, stack_args: list[str]) -> None:
    started = time.monotonic()
    result = _devstack(run_dir, "up", *stack_args)
    assert result.returncode == 0, result.stdout + result.stderr

    # stack.env names everything a CLI needs
    env = read_env_file(run_dir / "stack.env")
    assert set(env) == set(STACK_ENV_KEYS)
    assert all(env.values())
    assert env["PROJECT"] == env["GOOGLE_CLOUD_PROJECT"] == PROJECT
    assert env["CALENDAR_API_URL"] == env["CALENDAR_EMULATOR_URL"] + "/calendar/v3/"
    assert env["CONFSYNC_INTAKE_URL"] == env["INTAKE_URL"]
    assert env["ENROLL_URL"] == env["INTAKE_URL"] + "/v1/enroll"
    assert env["ALLOWED_DOMAINS"] == env["CONFSYNC_ALLOWED_DOMAINS"] == "example.com"

    # every part runs and answers; a function is skipped only when its main.py is missing
    alive = running(run_dir)
    present = [n for n in FUNCTION_NAMES if (REPO_ROOT / "functions" / n / "main.py").is_file()]
    expected = {"firestore", "pubsub", "calendar", "conferencing", "google_auth", "scheduler"}
    expected |= set(present)
    assert set(alive) == expected
    urls = {
        "firestore": f"http://{env['FIRESTORE_EMULATOR_HOST']}/",
        "pubsub": f"http://{env['PUBSUB_EMULATOR_HOST']}/",
        "calendar": env["CALENDAR_EMULATOR_URL"] + "/emulator/v1/stats",
        "conferencing": env["CONFERENCING_URL"] + "/emulator/v1/faults",
        "google_auth": env["GOOGLE_AUTH_EMULATOR_URL"] + "/oauth2/v1/certs",
        **{name: env[f"{name.upper()}_URL"] + "/robots.txt" for name in present},
    }
    for name, url in urls.items():
        assert is_answering(url), f"{name} does not answer at {url}"

    # the auth stand-in mints ID tokens for the audience intake accepts, verifiable with its certs
    token = StackClient(env).id_token("alice@example.com")
    certs_url = env["GOOGLE_AUTH_EMULATOR_URL"] + "/oauth2/v1/certs"
    claims = id_token.verify_token(
        token, GoogleRequest(), audience=env["ENROLL_AUDIENCE"], certs_url=certs_url
    )
    assert claims["email"] == "alice@example.com"

    # up again: nothing restarts
    again = _devstack(run_dir, "up", *stack_args)
    assert again.returncode == 0, again.stderr
    assert "already up and healthy" in again.stdout
    assert {n: p.pid for n, p in running(run_dir).items()} == {n: p.pid for n, p in alive.items()}

    # wired as production is (terraform/delivery.tf)
    pubsub = PubsubRest(env["PUBSUB_EMULATOR_HOST"], PROJECT)
    subscription = pubsub.subscription("sync-requests-to-sync")
    assert subscription is not None
    assert subscription["pushConfig"]["pushEndpoint"] == (
        f"{env['SYNC_URL']}/projects/{PROJECT}/topics/sync-requests"
    )
    assert subscription["ackDeadlineSeconds"] == 600
    assert subscription["deadLetterPolicy"]["maxDeliveryAttempts"] == 5
    assert pubsub.subscription("confsync-dead-letter-inspect") is not None

    # a SyncRequest for an unknown calendar is pushed to sync, handled and acknowledged
    calendar_key = f"unknown-{uuid.uuid4().hex[:12]}"
    request = {"v": 1, "calendarKey": calendar_key, "reason": "manual"}
    request["notifiedAt"] = "2026-11-24T05:00:00.000Z"
    pubsub.publish("sync-requests", json.dumps(request).encode())
    deadline = time.monotonic() + 20
    while not _sync_entries(run_dir, calendar_key) and time.monotonic() < deadline:
        time.sleep(0.1)
    entries = _sync_entries(run_dir, calendar_key)
    assert [e["message"] for e in entries] == ["calendar not syncing; request acknowledged"]
    time.sleep(2.5)  # a nack would be redelivered after the 1 s minimum backoff
    assert len(_sync_entries(run_dir, calendar_key)) == 1
    assert pubsub.pull("confsync-dead-letter-inspect") == []

    # make tick publishes to channel-commands
    tick = _devstack(run_dir, "tick")
    assert tick.returncode == 0, tick.stderr
    assert "tick published to channel-commands" in tick.stdout

    # down stops exactly what was recorded, gunicorn workers included
    recorded = dict(running(run_dir))
    markers = {process.marker for name, process in recorded.items() if name != "scheduler"}
    stopped = _devstack(run_dir, "down")
    assert stopped.returncode == 0, stopped.stderr
    assert set(stopped.stdout.removeprefix("stopped: ").strip().split(", ")) == expected
    survivors: list[ManagedProcess] = [p for p in recorded.values() if p.alive()]
    assert survivors == []
    assert _processes_with(markers) == []
    assert running(run_dir) == {}
    assert not (run_dir / "stack.env").exists()
    assert time.monotonic() - started < 60
