"""Scenario ``flood``: forged requests flood intake while genuine edits must still get through.

Issue #13 (M2): an instance of intake serves one request at a time and there are at most 20, so a
flood of forged requests can keep them busy while Google's genuine notifications wait (and Google
never retries a 429). This scenario measures that on one local intake process; it is a
measurement, never pass/fail on time.

On a private local stack (:mod:`bench.stack`, confsync only, no scheduler tick during the run, so
no sweep makes up for a lost notification): ``calendars`` calendars with ``edits`` conference
events between them, enrolled and adopted. First the ``edits`` genuine renames alone (the
``quiet_`` figures: what this machine gives without a flood), then again, at the same time as the
flood:

* the flood (:mod:`bench.flood_driver`): ``forged_notifications`` forged notifications and
  ``forged_enrolments`` forged enrolment requests (:mod:`bench.flood_requests`), mixed, sent to
  intake's loopback address by ``workers`` threads as fast as it answers, for at most
  ``time_limit_s``;
* ``edits`` genuine renames through the Calendar API, one event each, every ``EDIT_SPACING_S``,
  each timed from the Calendar API's answer until the conferencing system shows the new title.

Figures: ``refusals_per_s`` (4xx answers over the flood's wall time), ``cpu_per_refusal_ms`` (the
intake processes' CPU time during the flood, from ``/proc``, over the refusals; the genuine
notifications of the edits are in it too, a few dozen against thousands), ``driver_cpu_s`` (this
process's CPU time meanwhile: a driver near one core bounds the rate, not intake), the edits'
latency (``edit_p50_ms``, ``edit_p95_ms``, ``edit_max_ms``), ``missed_edits`` (edits the
conferencing system did not show within ``DELIVERY_TIMEOUT_S`` of the last edit: the figure that
must be 0), forged
requests that were accepted (2xx) or got no answer or a 5xx, and the Calendar emulator's push
attempts during the run (delivered, retried, failed). The emulator retries a push that failed or
timed out (2 s); Google retries 5xx only, never a 429 or a timeout, so a retried push here is a
lost notification there.

Run it with ``make bench-flood`` (``.run/bench/flood.json``); ``BENCH_SCALE`` scales the sizes.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.flood_driver import FloodResult, flood
from bench.flood_requests import (
    CapturedChannel,
    ForgedRequest,
    forged_enrolments,
    forged_notifications,
)
from bench.latency import percentile
from bench.proc_cpu import cpu_seconds, pids_running
from bench.scale import scaled
from bench.stack import planned_stack
from devstack.client import StackClient, StepTimeoutError, wait_until
from devstack.stack import StackPlan

__all__ = ["FloodSize", "measure", "run"]

PROJECT = "confsync-bench-flood"
EDIT_SPACING_S = 0.25
DELIVERY_TIMEOUT_S = 60.0
ADOPT_TIMEOUT_S = 120.0
POLL_S = 0.05
_START = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)


@dataclass(frozen=True)
class FloodSize:
    """The scenario's workload."""

    forged_notifications: int = 5000
    forged_enrolments: int = 1000
    edits: int = 50
    calendars: int = 50  # one edit per calendar: no edit waits for another's pull (the settle)
    workers: int = 8
    time_limit_s: float = 120.0
    seed: int = 13

    @classmethod
    def at_scale(cls) -> FloodSize:
        """The default sizes at ``BENCH_SCALE``."""
        base = cls()
        return cls(
            forged_notifications=scaled(base.forged_notifications, 50),
            forged_enrolments=scaled(base.forged_enrolments, 10),
            edits=scaled(base.edits, 3),
            calendars=scaled(base.calendars, 3),
        )


@dataclass(frozen=True)
class Target:
    """One enrolled event carrying a conference, which one genuine edit renames."""

    calendar_id: str
    event_id: str
    conference_id: str


@dataclass
class Deliveries:
    """When each genuine edit was answered and when the conferencing system showed it."""

    wanted: dict[str, str] = field(default_factory=dict)  # conference id -> title
    edited_at: dict[str, float] = field(default_factory=dict)
    latencies_s: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def edited(self, conference_id: str, title: str) -> None:
        """An edit to ``title`` was answered by the Calendar API now."""
        with self.lock:
            self.wanted[conference_id] = title
            self.edited_at[conference_id] = time.monotonic()

    def seen(self, titles: dict[str, str | None]) -> None:
        """The conferencing system's titles now; records the edits that arrived."""
        now = time.monotonic()
        with self.lock:
            for conference_id, title in self.wanted.items():
                if conference_id not in self.latencies_s and titles.get(conference_id) == title:
                    self.latencies_s[conference_id] = now - self.edited_at[conference_id]

    def missing(self) -> int:
        """Edits made that the conferencing system does not show yet."""
        with self.lock:
            return len(self.wanted) - len(self.latencies_s)


def _prepare(stack: StackClient, size: FloodSize) -> list[Target]:
    """``size.edits`` conference events over ``size.calendars`` calendars, enrolled and adopted."""
    targets: list[Target] = []
    count = max(1, min(size.calendars, size.edits))
    calendars = [f"bench-flood-{n}@example.com" for n in range(count)]
    for n in range(size.edits):
        calendar_id = calendars[n % len(calendars)]
        start = _START + timedelta(minutes=30 * n)
        conference = stack.create_conference(owner=calendar_id)
        event = stack.insert_event(
            calendar_id,
            conference,
            summary=f"meeting {n}",
            start={"dateTime": start.isoformat()},
            end={"dateTime": (start + timedelta(minutes=30)).isoformat()},
        )
        targets.append(Target(calendar_id, event["id"], conference["id"]))
    for calendar_id in calendars:
        stack.enroll(calendar_id)
    wanted = {t.conference_id: f"meeting {n}" for n, t in enumerate(targets)}

    def adopted() -> bool:
        titles = {c["id"]: c.get("title") for c in stack.conferences()}
        return all(titles.get(conference) == title for conference, title in wanted.items())

    wait_until(adopted, "the adoption", timeout=ADOPT_TIMEOUT_S, interval=0.2)
    wait_until(
        lambda: {c["calendarId"] for c in stack.channels()} >= set(calendars),
        "a channel per calendar",
        timeout=ADOPT_TIMEOUT_S,
        interval=0.2,
    )
    return targets


def _captured(stack: StackClient, calendars: set[str]) -> list[CapturedChannel]:
    """The enrolled calendars' channels, as one genuine notification of each shows them."""
    return [
        CapturedChannel(c["id"], c["resourceId"], c["token"])
        for c in stack.channels()
        if c["calendarId"] in calendars and c.get("token")
    ]


def _forged(size: FloodSize, captured: list[CapturedChannel]) -> list[ForgedRequest]:
    """The notifications and enrolment requests, shuffled together (reproducibly)."""
    requests = forged_notifications(size.forged_notifications, captured, seed=size.seed)
    requests += forged_enrolments(size.forged_enrolments, captured, seed=size.seed)
    random.Random(size.seed).shuffle(requests)  # noqa: S311 - a workload, not a secret
    return requests


def _edit_all(
    stack: StackClient, targets: list[Target], deliveries: Deliveries, label: str
) -> None:
    """One rename per target, every EDIT_SPACING_S."""
    began = time.monotonic()
    for n, target in enumerate(targets):
        time.sleep(max(0.0, began + n * EDIT_SPACING_S - time.monotonic()))
        title = f"{label} edit {n}"
        stack.patch_event(target.calendar_id, target.event_id, summary=title)
        deliveries.edited(target.conference_id, title)


def _watch(stack: StackClient, deliveries: Deliveries, stop: threading.Event) -> None:
    """Poll the conferencing system every POLL_S until ``stop``."""
    while not stop.is_set():
        deliveries.seen({c["id"]: c.get("title") for c in stack.conferences()})
        stop.wait(POLL_S)


def _push_outcomes(stack: StackClient, since: int) -> dict[str, int]:
    """The Calendar emulator's push attempts after the first ``since``, by outcome."""
    answer = stack.http.get(f"{stack.calendar}/emulator/v1/notifications", timeout=stack.timeout)
    answer.raise_for_status()
    outcomes: dict[str, int] = {}
    for attempt in answer.json()["notifications"][since:]:
        outcomes[attempt["outcome"]] = outcomes.get(attempt["outcome"], 0) + 1
    return outcomes


def _push_count(stack: StackClient) -> int:
    answer = stack.http.get(f"{stack.calendar}/emulator/v1/notifications", timeout=stack.timeout)
    answer.raise_for_status()
    return len(answer.json()["notifications"])


@dataclass(frozen=True)
class FloodRun:
    """The flood's answers, the genuine edits' deliveries, how many edits were made while the
    flood ran, and the CPU seconds of the intake processes and of this driver during the flood."""

    result: FloodResult
    deliveries: Deliveries
    overlapped: int
    cpu_s: float
    driver_cpu_s: float


def _during_flood(
    stack: StackClient,
    intake_pids: list[int],
    size: FloodSize,
    targets: list[Target],
    forged: list[ForgedRequest],
) -> FloodRun:
    """The flood (``forged``; none for the quiet run) and the genuine edits at once."""
    label = "genuine" if forged else "quiet"
    deliveries = Deliveries()
    stop = threading.Event()
    watcher_stack, editor_stack = StackClient(stack.env), StackClient(stack.env)
    watcher = threading.Thread(target=_watch, args=(watcher_stack, deliveries, stop), daemon=True)
    editor = threading.Thread(
        target=_edit_all, args=(editor_stack, targets, deliveries, label), daemon=True
    )
    cpu_before, driver_before = cpu_seconds(intake_pids), time.process_time()
    watcher.start()
    editor.start()
    url = stack.env["INTAKE_URL"]
    # At least every forged request, and on until the last genuine edit is made: each edit is
    # made under the flood however fast the intake process refuses.
    result = flood(
        url,
        forged,
        workers=size.workers,
        time_limit_s=size.time_limit_s,
        keep_going=editor.is_alive,
    )
    flood_end, cpu = time.monotonic(), cpu_seconds(intake_pids) - cpu_before
    driver_cpu = time.process_time() - driver_before
    editor.join()
    with contextlib.suppress(StepTimeoutError):  # what has not arrived by then counts as missed
        wait_until(lambda: deliveries.missing() == 0, "the edits", timeout=DELIVERY_TIMEOUT_S)
    stop.set()
    watcher.join()
    overlapped = sum(1 for at in deliveries.edited_at.values() if at <= flood_end and forged)
    return FloodRun(result, deliveries, overlapped, cpu, driver_cpu)


def _latency_figures(prefix: str, deliveries: Deliveries) -> dict[str, Any]:
    latencies = sorted(deliveries.latencies_s.values()) or [0.0]
    return {
        f"{prefix}missed_edits": deliveries.missing(),
        f"{prefix}edit_p50_ms": round(percentile(latencies, 0.50) * 1000, 1),
        f"{prefix}edit_p95_ms": round(percentile(latencies, 0.95) * 1000, 1),
        f"{prefix}edit_max_ms": round(latencies[-1] * 1000, 1),
    }


def measure(stack: StackClient, plan: StackPlan, size: FloodSize) -> dict[str, Any]:
    """Run the scenario on a stack that is up: the edits alone, then under the flood; figures."""
    [intake] = [part for part in plan.parts if part.name == "intake"]
    targets = _prepare(stack, size)
    intake_pids = pids_running(intake.argv)
    quiet = _during_flood(stack, intake_pids, size, targets, [])
    forged = _forged(size, _captured(stack, {t.calendar_id for t in targets}))
    pushes_before = _push_count(stack)
    run = _during_flood(stack, intake_pids, size, targets, forged)
    pushes = _push_outcomes(stack, pushes_before)
    result, cpu = run.result, run.cpu_s
    return {
        "refusals_per_s": round(result.refused / (result.wall_s or 1e-9), 1),
        "cpu_per_refusal_ms": round(cpu * 1000 / max(1, result.refused), 3),
        "intake_cpu_s": round(cpu, 2),
        "driver_cpu_s": round(run.driver_cpu_s, 2),
        "wall_s": round(result.wall_s, 2),
        "forged_requests": result.sent + result.unsent,
        "refused_requests": result.refused,
        "accepted_forged_requests": result.accepted,
        "error_requests": result.errors,
        "unsent_requests": result.unsent,
        "answers": {str(status): n for status, n in sorted(result.statuses.items())},
        "refused_by_kind_requests": dict(sorted(result.refused_by_kind.items())),
        "edits": len(targets),
        "flood_overlapped_edits": run.overlapped,
        **_latency_figures("", run.deliveries),
        **_latency_figures("quiet_", quiet.deliveries),
        "genuine_push_delivered_requests": pushes.get("delivered", 0),
        "genuine_push_retried_requests": pushes.get("retrying", 0),
        "genuine_push_failed_requests": pushes.get("failed", 0) + pushes.get("expired", 0),
    }


def run(size: FloodSize | None = None) -> list[dict[str, Any]]:
    """The scenario on its own private stack; its row for results.json."""
    size = size or FloodSize.at_scale()
    with planned_stack("confsync", project=PROJECT) as (stack, plan):
        row = measure(stack, plan, size)
    note = (
        f"missed: {row['missed_edits']} of {row['edits']} genuine edits under the flood "
        f"({row['quiet_missed_edits']} without it); {size.workers} flooding threads"
    )
    if row["accepted_forged_requests"]:
        note += f"; {row['accepted_forged_requests']} forged requests ACCEPTED"
    return [{"name": "flood", **row, "notes": note}]


if __name__ == "__main__":
    for line in run():
        print(line)
