"""``make smoke-local``: the smoke against a running local stack, end to end.

One private stack for the module (free ports, the test's own run directory, as ``make up`` runs
it). The smoke runs as ``make smoke-local`` runs it (``python -m smoke --stack local --run-dir``,
finding the running stack there), then in-process with the add-on's enrolment and with a
conferencing system that refuses every update, to show that a step that times out leaves nothing
enrolled, no scratch calendar and no conference behind.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devstack.client import StackClient, wait_until
from devstack.demo import private_stack
from devstack.sdk import MissingPrerequisiteError, find_jars
from smoke.cli import LOCAL_USER, wire_local
from smoke.runner import Timeouts
from tests.support.paths import REPO_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


@pytest.fixture(scope="module", name="stack")
def stack_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[StackClient, Path]]:
    try:
        find_jars()
    except MissingPrerequisiteError as err:
        pytest.skip(f"gcloud emulators not installed: {err}")
    run_dir = tmp_path_factory.mktemp("smoke-stack")
    with private_stack(run_dir, project="confsync-smoke-e2e", say=lambda _line: None) as client:
        yield client, run_dir


def _left_behind(stack: StackClient, calendar_id: str) -> dict[str, Any]:
    """What is left of the scratch calendar: its state, live channels, and whether the calendar
    itself still answers its owner (``calendars.get``: 404 once ``calendars.delete`` removed it)."""
    [row] = stack.confsync_json(
        "status", "--subject", LOCAL_USER, "--calendar", calendar_id, "--json"
    )["calendars"]
    got = stack.http.get(
        f"{stack.calendar}/calendar/v3/calendars/{calendar_id}",
        headers={"Authorization": f"Bearer user:{LOCAL_USER}"},
        timeout=10,
    )
    return {
        "state": row["state"],
        "channels": stack.channels(calendar_id),
        "calendar": got.status_code,
    }


def _cleaned_up(stack: StackClient, calendar_id: str) -> None:
    """Unenrolment is a published command: wait until the channels function has done it (and
    no run that met the deleted calendar turned it back into ``disconnected``)."""
    wait_until(
        lambda: _left_behind(stack, calendar_id)["state"] == "unenrolled",
        "the unenrolment",
        timeout=20,
        interval=0.2,
    )
    assert _left_behind(stack, calendar_id) == {
        "state": "unenrolled",
        "channels": [],
        "calendar": 404,
    }


def test_make_smoke_local_passes_against_the_running_stack(
    stack: tuple[StackClient, Path],
) -> None:
    client, run_dir = stack

    done = subprocess.run(
        [sys.executable, "-m", "smoke", "--stack", "local", "--run-dir", str(run_dir)],
        capture_output=True,
        text=True,
        timeout=150,
        check=False,
        cwd=REPO_ROOT,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "against the running local stack" in out
    for label in ("1", "2", "3", "4", "5"):
        assert re.search(rf"^  {label}  .+ \d+ ms  arrived$", out, re.MULTILINE), out
    assert re.search(r"^  dead-letter backlog\s+ok\s+", out, re.MULTILINE)
    assert re.search(r"^  calendar\.events\.insert\s+1$", out, re.MULTILINE)
    assert "Calendar calls the emulator served meanwhile" in out
    assert out.rstrip().endswith("smoke passed: every step arrived, nothing left behind")
    [calendar_id] = re.findall(r"^scratch calendar (\S+)$", out, re.MULTILINE)
    _cleaned_up(client, calendar_id)


def test_the_add_ons_enrolment_path_passes_too(stack: tuple[StackClient, Path]) -> None:
    client, _ = stack
    wired = wire_local(client.env, enroll="addon")

    outcome = wired.smoke.run()

    assert outcome.exit_status == 0, outcome
    assert outcome.steps[1].what == "enrolled (the add-on's ID token at /v1/enroll)"


def test_a_step_that_times_out_leaves_nothing_behind(stack: tuple[StackClient, Path]) -> None:
    client, _ = stack
    client.conferencing_faults([{"method": "PUT", "status": 503}])  # confsync's updates only
    try:
        wired = wire_local(client.env, timeouts=Timeouts(enroll=60, change=3, delete=3))
        outcome = wired.smoke.run()
    finally:
        client.clear_faults()

    assert outcome.exit_status == 1
    assert [s.arrived for s in outcome.steps] == [True, True, False]
    assert "the adoption not shown after 3 s" in outcome.steps[2].detail
    assert outcome.left_behind == []
    calendar_id = outcome.calendar_id
    assert calendar_id is not None
    _cleaned_up(client, calendar_id)
    conference_id = outcome.conference_id
    assert conference_id is not None
    assert client.conference(conference_id)["status"] == "deleted"
