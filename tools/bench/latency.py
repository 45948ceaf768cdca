"""Scenario ``latency``: one Calendar edit until the conferencing system shows it, 100 times.

On a private local stack (:mod:`bench.stack`, confsync or the baseline), one enrolled calendar with
one adopted conference, then 100 renames one at a time. Each is timed from the Calendar API's
answer to ``events.patch`` until the conferencing system (polled every ~5 ms through its admin API)
shows the new title: Calendar push -> intake -> Pub/Sub push -> sync -> ``events.list`` -> ``PUT``
to the conferencing system.

Before each edit the scenario pauses for a random 0 to 100 ms, the same pauses (one fixed seed) for
confsync and the baseline. The Pub/Sub emulator pushes on a cadence of about 100 ms, so a message
waits for the next push round; edits made back to back would fall into a rhythm of that cycle set
by how long the previous edit took, and the two variants would sample different parts of it (the
recipe's latencies clustered at 95 to 125 ms, confsync's spread from 25 to 155). With the pauses,
every edit lands at a random point of the cycle for both, and the difference between the variants
is their own.

``wall_s`` is the time of the edits (pauses included) and ``list_calls`` the ``events.list`` calls
the stack made for them (one per edit when nothing is coalesced). Five warm-up edits are made first
and not counted. The polling shares the machine with the stack, so the figures are a local floor.
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.scale import scaled
from devstack.client import StackClient, wait_until

__all__ = ["measure", "percentile"]

CALENDAR = "bench-latency@example.com"
EDITS = 100
WARMUP = 5
POLL_S = 0.005
TIMEOUT_S = 20.0
PHASE_S = 0.1  # the Pub/Sub emulator's push cadence: each edit waits a random part of it first
_PAUSE_SEED = 14  # the same pauses for both variants


def percentile(sorted_values: list[float], fraction: float) -> float:
    """The nearest-rank percentile of already sorted values."""
    index = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


def _rename(stack: StackClient, event_id: str, conference_id: str, title: str) -> float:
    """Rename the event; seconds until the conferencing system shows ``title``."""
    stack.patch_event(CALENDAR, event_id, summary=title)
    return wait_until(
        lambda: stack.conference(conference_id)["title"] == title,
        f"the title {title!r}",
        timeout=TIMEOUT_S,
        interval=POLL_S,
    )


def measure(stack: StackClient) -> dict[str, Any]:
    """Run the scenario on ``stack``; its figures."""
    edits = scaled(EDITS, 10)
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    conference = stack.create_conference(owner=CALENDAR)
    event = stack.insert_event(
        CALENDAR,
        conference,
        summary="edit 0",
        start={"dateTime": start.isoformat()},
        end={"dateTime": (start + timedelta(hours=1)).isoformat()},
    )
    stack.enroll(CALENDAR)
    wait_until(
        lambda: stack.conference(conference["id"])["title"] == "edit 0",
        "the adoption",
        timeout=60.0,
        interval=0.05,
    )
    for warm in range(1, WARMUP + 1):
        _rename(stack, event["id"], conference["id"], f"warm-up {warm}")
    time.sleep(0.5)  # let the warm-up's stragglers finish before counting
    stack.reset_calendar_calls()
    stack.reset_provider_requests()
    latencies: list[float] = []
    pauses = random.Random(_PAUSE_SEED)  # noqa: S311 - reproducible pauses, not secrets
    began = time.monotonic()
    for edit in range(1, edits + 1):
        time.sleep(pauses.uniform(0.0, PHASE_S))
        latencies.append(_rename(stack, event["id"], conference["id"], f"edit {edit}"))
    wall = time.monotonic() - began
    time.sleep(0.5)
    latencies.sort()
    return {
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 1),
        "p95_ms": round(percentile(latencies, 0.95) * 1000, 1),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        "max_ms": round(latencies[-1] * 1000, 1),
        "wall_s": round(wall, 2),
        "list_calls": stack.calendar_calls().get("calendar.events.list", 0),
        "conference_ops": len(stack.provider_requests()),
        "edits": edits,
    }
