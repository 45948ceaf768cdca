"""Scenario ``enroll``: how fast users are enrolled, and what an enrolment costs in Calendar calls.

On a private local stack (:mod:`bench.stack`, no scheduler tick during the run), three phases, each
timed from its first request until every calendar it enrolled is ``active`` with a sync token (read
from Firestore, as ``confsync status`` would):

* **endpoint**: ``endpoint_users`` users each enrolled by the add-on's request, an ID token
  minted by the Google auth stand-in (before the clock starts) sent to ``ENROLL_URL`` by
  ``workers`` threads:
  ``endpoint_requests_per_s`` (requests over the time to send them all, every one answered 202) and
  ``endpoint_enrolments_per_s`` (users over the time until the last is synced);
* **bulk**: ``bulk_users`` users in one file, ``confsync enroll --from-file --rate R --wait``:
  ``bulk_enrolments_per_s`` (users over the command's wall time, process start included);
* **rerun**: the same file again: ``rerun_s`` and ``rerun_calendar_calls`` (every calendar is
  already enrolled: no command is published, so no Calendar call is made).

``calendar_calls_per_enrolment`` is the Calendar emulator's request count over the enrolments of the
endpoint and bulk phases (``by_method_calendar_calls``: which calls). Figures only, never
pass/fail. ``BENCH_SCALE`` scales the user counts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from bench.scale import scaled
from bench.stack import bench_stack
from devstack.client import StackClient, wait_until

__all__ = ["EnrolSize", "measure", "run"]

PROJECT = "confsync-bench-enroll"
BULK_RATE = 1000  # per second: the bench measures the stack, not the command's default pace
SYNCED_TIMEOUT_S = 600.0


@dataclass(frozen=True)
class EnrolSize:
    endpoint_users: int = 100
    bulk_users: int = 200
    workers: int = 8

    @classmethod
    def at_scale(cls) -> EnrolSize:
        return cls(endpoint_users=scaled(100, 5), bulk_users=scaled(200, 5))


def _users(prefix: str, count: int) -> list[str]:
    run = uuid.uuid4().hex[:6]
    return [f"{prefix}-{run}-{n:04}@example.com" for n in range(count)]


def _mint(stack: StackClient, email: str) -> str:
    answer = stack.http.post(
        f"{stack.env['GOOGLE_AUTH_EMULATOR_URL']}/emulator/v1/id-tokens",
        json={"email": email, "audience": stack.env["ENROLL_AUDIENCE"], "emailVerified": True},
        timeout=stack.timeout,
    )
    answer.raise_for_status()
    token: str = answer.json()["idToken"]
    return token


def _synced_keys(stack: StackClient) -> set[str]:
    """The keys of every calendar that is ``active`` with a sync token (one Firestore query)."""
    from google.cloud import firestore  # noqa: PLC0415 - only this scenario needs it

    os.environ["FIRESTORE_EMULATOR_HOST"] = stack.env["FIRESTORE_EMULATOR_HOST"]
    client = firestore.Client(project=stack.env["PROJECT"])
    query = client.collection("calendars").where(
        filter=firestore.FieldFilter("state", "==", "active")
    )
    return {doc.id for doc in query.stream() if doc.get("sync_token")}


def _keys(users: Sequence[str]) -> set[str]:
    from confsync.calendars import calendar_key  # noqa: PLC0415 - the stack's own key scheme

    return {calendar_key(user, user) for user in users}


def _wait_synced(stack: StackClient, users: Sequence[str], started: float) -> float:
    wanted = _keys(users)
    wait_until(
        lambda: wanted <= _synced_keys(stack),
        f"{len(users)} calendars active with a sync token",
        timeout=SYNCED_TIMEOUT_S,
        interval=0.5,
    )
    return time.monotonic() - started


def _endpoint(stack: StackClient, size: EnrolSize) -> dict[str, Any]:
    users = _users("endpoint", size.endpoint_users)
    tokens = [_mint(stack, user) for user in users]
    session = requests.Session()

    def enrol(token: str) -> int:
        answer = session.post(
            stack.env["ENROLL_URL"],
            json={"calendarId": "primary"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=stack.timeout,
        )
        return answer.status_code

    started = time.monotonic()
    with ThreadPoolExecutor(size.workers) as pool:
        statuses = list(pool.map(enrol, tokens))
    sent_s = time.monotonic() - started
    answers = Counter(statuses)
    if answers[202] != len(users):
        raise RuntimeError(f"/v1/enroll refused genuine tokens: {dict(answers)}")
    synced_s = _wait_synced(stack, users, started)
    return {
        "endpoint_calendars": len(users),
        "answers": {str(status): n for status, n in sorted(answers.items())},
        "endpoint_sent_s": round(sent_s, 2),
        "endpoint_requests_per_s": round(len(users) / (sent_s or 1e-9), 1),
        "endpoint_synced_s": round(synced_s, 2),
        "endpoint_enrolments_per_s": round(len(users) / (synced_s or 1e-9), 1),
    }


def _confsync(stack: StackClient, *args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.monotonic()
    done = subprocess.run(  # noqa: S603 - our own CLI, argv built here
        [str(Path(sys.executable).with_name("confsync")), *args],
        capture_output=True,
        text=True,
        timeout=SYNCED_TIMEOUT_S + 60,
        check=False,
        env={**os.environ, **stack.env},
    )
    return time.monotonic() - started, done


def _bulk(stack: StackClient, size: EnrolSize) -> dict[str, Any]:
    users = _users("bulk", size.bulk_users)
    with tempfile.TemporaryDirectory(prefix="confsync-bench-enroll-") as folder:
        listing = Path(folder) / "users.txt"
        listing.write_text("".join(f"{user}\n" for user in users))
        common = ("enroll", "--from-file", str(listing), "--json")
        wait = ("--rate", str(BULK_RATE), "--wait", str(int(SYNCED_TIMEOUT_S)))
        bulk_s, first = _confsync(stack, *common, *wait)
        if first.returncode != 0:
            raise RuntimeError(f"confsync enroll --from-file failed: {first.stderr[-2000:]}")
        calls = stack.calendar_calls()
        stack.reset_calendar_calls()
        rerun_s, second = _confsync(stack, *common)
        rerun_calls = sum(stack.calendar_calls().values())
    summary, again = json.loads(first.stdout), json.loads(second.stdout or "{}")
    return {
        "bulk_calendars": len(users),
        "bulk_enrolled_calendars": summary.get("enrolled", 0),
        "bulk_s": round(bulk_s, 2),
        "bulk_enrolments_per_s": round(len(users) / (bulk_s or 1e-9), 1),
        "rerun_s": round(rerun_s, 2),
        "rerun_already_enrolled_calendars": again.get("alreadyEnrolled", 0),
        "rerun_calendar_calls": rerun_calls,
        "_calls": calls,
    }


def measure(stack: StackClient, size: EnrolSize) -> dict[str, Any]:
    """Run the three phases on a stack that is up; the scenario's figures."""
    stack.reset_calendar_calls()
    endpoint = _endpoint(stack, size)
    calls = Counter(stack.calendar_calls())
    stack.reset_calendar_calls()
    bulk = _bulk(stack, size)
    calls.update(bulk.pop("_calls"))
    enrolments = endpoint["endpoint_calendars"] + bulk["bulk_calendars"]
    return {
        **endpoint,
        **bulk,
        "calendar_calls_per_enrolment": round(sum(calls.values()) / enrolments, 2),
        "by_method_calendar_calls": dict(sorted(calls.items())),
    }


def run(size: EnrolSize | None = None) -> list[dict[str, Any]]:
    """The scenario on its own private stack; its row for results.json."""
    size = size or EnrolSize.at_scale()
    with bench_stack("confsync", project=PROJECT) as stack:
        row = measure(stack, size)
    note = (
        f"{row['endpoint_calendars']} users through /v1/enroll ({size.workers} threads), "
        f"{row['bulk_calendars']} with confsync enroll --from-file --rate {BULK_RATE}"
    )
    return [{"name": "enroll", **row, "notes": note}]


if __name__ == "__main__":
    for line in run():
        print(line)
