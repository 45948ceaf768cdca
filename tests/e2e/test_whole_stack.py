"""The whole local stack end to end, driven only through its public interfaces.

`devstack up` starts every part (emulators, the three functions under functions-framework, the
Pub/Sub wiring) on free ports in a temporary run directory. The tests act as a user and an
operator would: enroll a calendar by publishing a channel command, edit events through the Calendar
API, and observe the conferencing system. Changes travel Calendar push -> intake -> Pub/Sub push ->
sync -> conferencing system, as in production.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from devstack.client import StackClient, wait_until
from devstack.stack import Ports
from tests.support.devstack import PROJECT
from tests.support.paths import REPO_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


class Stack(StackClient):
    """The running stack, seen from outside; a new event is "Planning" on 1 March 2027 unless
    told otherwise."""

    def insert_event(
        self, calendar_id: str, conference: Mapping[str, Any], **fields: Any
    ) -> dict[str, Any]:
        defaults = {
            "summary": "Planning",
            "start": {"dateTime": "2027-03-01T10:00:00Z"},
            "end": {"dateTime": "2027-03-01T11:00:00Z"},
        }
        return super().insert_event(calendar_id, conference, **{**defaults, **fields})

    def drop_notifications(self, calendar_id: str) -> None:
        rule = {"target": "notifications", "calendarId": calendar_id, "dropProbability": 1}
        self.calendar_faults([rule])


def wait_for(check: Callable[[], bool], what: str, timeout: float = 20.0) -> float:
    """Poll ``check`` until it holds; return how long it took."""
    return wait_until(check, what, timeout=timeout, interval=0.05)


def _devstack(run_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "devstack.cli", "--run-dir", str(run_dir), *args],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
        cwd=REPO_ROOT,
    )


@contextmanager
def running_stack(run_dir: Path, *settings: str) -> Iterator[Stack]:
    """`devstack up` on free ports in ``run_dir`` (ticks only when a test publishes one), with
    ``settings`` as extra `--set KEY=VALUE` pairs; `devstack down` afterwards."""
    args = ["--project", PROJECT + "-e2e", "--tick-interval", "3600", "--repo-root", str(REPO_ROOT)]
    for setting in settings:
        args += ["--set", setting]
    args += Ports.free().cli_args()
    started = _devstack(run_dir, "up", *args)
    assert started.returncode == 0, started.stdout + started.stderr
    try:
        yield Stack.from_run_dir(run_dir)
    finally:
        stopped = _devstack(run_dir, "down")
        assert stopped.returncode == 0, stopped.stderr


@pytest.fixture(scope="module", name="stack")
def stack_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # A tick sweeps calendars idle for 2 s (a fixed interval: floor and cap alike).
    with running_stack(
        tmp_path_factory.mktemp("stack"),
        "CONFSYNC_SWEEP_INTERVAL_SECONDS=2",
        "CONFSYNC_SWEEP_MAX_INTERVAL_SECONDS=2",
    ) as up:
        yield up


@pytest.fixture(name="calendar_id")
def calendar_id_fixture(stack: Stack) -> str:
    """A freshly enrolled calendar (its channel watched and its first sync done)."""
    calendar_id = f"user-{uuid.uuid4().hex[:10]}@example.com"
    stack.enroll(calendar_id)
    wait_for(lambda: len(stack.channels(calendar_id)) == 1, "the enrollment's channel")
    return calendar_id


def test_enrolment_creates_exactly_one_channel_pointing_at_intake(
    stack: Stack, calendar_id: str
) -> None:
    stack.enroll(calendar_id)  # enrolling again is idempotent
    time.sleep(1.0)

    [channel] = stack.channels(calendar_id)
    assert channel["address"].rstrip("/") == stack.env["INTAKE_URL"].rstrip("/")
    status = stack.confsync_json("status", "--calendar-key", _calendar_key(calendar_id), "--json")
    assert status["calendars"][0]["state"] == "active"
    assert status["calendars"][0]["syncToken"] is True  # the first sync obtained one


def test_edits_reach_the_conferencing_system_through_push(stack: Stack, calendar_id: str) -> None:
    conference = stack.create_conference()
    event = stack.insert_event(calendar_id, conference, summary="Board meeting")
    wait_for(lambda: stack.conference(conference["id"])["title"] == "Board meeting", "adoption")

    stack.patch_event(calendar_id, event["id"], summary="Board meeting (moved)")

    wait_for(
        lambda: stack.conference(conference["id"])["title"] == "Board meeting (moved)", "rename"
    )


def test_a_burst_of_edits_is_coalesced_into_few_pulls(stack: Stack, calendar_id: str) -> None:
    conferences = [stack.create_conference() for _ in range(5)]
    events = [stack.insert_event(calendar_id, c, summary="v0") for c in conferences]
    wait_for(
        lambda: all(stack.conference(c["id"])["title"] == "v0" for c in conferences), "adoption"
    )
    stack.reset_calendar_calls()

    for version in range(1, 11):  # 50 edits, 10 to each of 5 events
        for event in events:
            stack.patch_event(calendar_id, event["id"], summary=f"v{version}")

    wait_for(
        lambda: all(stack.conference(c["id"])["title"] == "v10" for c in conferences),
        "the last version everywhere",
        timeout=60,
    )
    lists = stack.calendar_calls().get("calendar.events.list", 0)
    print(f"50 edits -> {lists} events.list calls")
    assert lists <= 25  # one pull per notification would be 50 or more


def test_forged_notification_is_refused_and_publishes_nothing(
    stack: Stack, calendar_id: str
) -> None:
    [channel] = stack.channels(calendar_id)
    subscription = stack.subscribe("sync-requests")

    answer = stack.http.post(
        stack.env["INTAKE_URL"],
        headers={
            "X-Goog-Channel-ID": channel["id"],
            "X-Goog-Channel-Token": "v1.k1.ck_forged.AAAA",
            "X-Goog-Resource-ID": channel["resourceId"],
            "X-Goog-Resource-State": "exists",
            "X-Goog-Message-Number": "7",
        },
        timeout=10,
    )

    assert answer.status_code == 403
    published = stack.pull(subscription, wait=1.5)
    assert all(message.get("calendarKey") != "ck_forged" for message in published)


def test_unenrolment_stops_every_channel(stack: Stack, calendar_id: str) -> None:
    key = _calendar_key(calendar_id)

    stack.unenroll(key)

    wait_for(lambda: stack.channels(calendar_id) == [], "the channels to stop")


def _calendar_key(calendar_id: str) -> str:
    from confsync.calendars import calendar_key  # noqa: PLC0415 - the stack's own key scheme

    return calendar_key(calendar_id, calendar_id)


def test_dropped_notifications_are_recovered_by_the_sweep(stack: Stack, calendar_id: str) -> None:
    conference = stack.create_conference()
    event = stack.insert_event(calendar_id, conference, summary="Before")
    wait_for(lambda: stack.conference(conference["id"])["title"] == "Before", "adoption")
    time.sleep(1.5)  # the enrollment's and the insert's syncs finish their last pull
    stack.drop_notifications(calendar_id)
    try:
        stack.patch_event(calendar_id, event["id"], summary="After")
        time.sleep(2.5)  # longer than the sweep interval; the notification never comes
        assert stack.conference(conference["id"])["title"] == "Before"
    finally:
        stack.clear_faults()

    stack.tick()

    wait_for(lambda: stack.conference(conference["id"])["title"] == "After", "the sweep")
