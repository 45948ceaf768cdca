"""Benchmark of the Calendar API emulator: list throughput and memory.

Runs the emulator as its own process (the console script), so its memory is measured alone:

* ``calendar_emulator_list_10k``: list 10,000 events through google-api-python-client, every page,
  at the default page size (250) and at the largest (2500);
* ``calendar_emulator_memory_100k``: the emulator's resident memory holding 100,000 events.

Events are loaded with the admin bulk-load endpoint (same path as ``events.insert``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import requests
from google.auth.credentials import AnonymousCredentials
from googleapiclient.discovery import build

from bench.services import emulator

if TYPE_CHECKING:
    from googleapiclient._apis.calendar.v3 import CalendarResource

__all__ = ["run"]


_FIRST_START = datetime(2027, 1, 1, tzinfo=UTC)


def _event(n: int) -> dict[str, Any]:
    """Event number ``n``: half an hour, one a minute; every fifth carries a conference."""
    start = _FIRST_START + timedelta(minutes=n)
    end = start + timedelta(minutes=30)
    event: dict[str, Any] = {
        "summary": f"Meeting {n}",
        "start": {"dateTime": start.isoformat().replace("+00:00", "Z")},
        "end": {"dateTime": end.isoformat().replace("+00:00", "Z")},
        "attendees": [{"email": f"guest{n % 97}@example.com"}, {"email": "owner@example.com"}],
        "description": "Weekly sync about the roadmap.",
    }
    if n % 5 == 0:
        event["conferenceData"] = {
            "conferenceId": f"conf-{n}",
            "conferenceSolution": {"key": {"type": "addOn"}, "name": "My Web Conference"},
            "entryPoints": [{"entryPointType": "video", "uri": f"https://conf.example/j/{n}"}],
        }
    return event


@contextmanager
def _emulator() -> Iterator[tuple[str, int]]:
    run_dir = Path(tempfile.mkdtemp(prefix="confsync-bench-calendar-emulator-"))
    try:
        with emulator("calendar-emulator", run_dir) as (base, process):
            yield base, process.pid
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _load(base: str, calendar_id: str, count: int) -> float:
    started = time.monotonic()
    with requests.Session() as http:
        for first in range(0, count, 5000):
            batch = [_event(n) for n in range(first, min(count, first + 5000))]
            answer = http.post(
                f"{base}/emulator/v1/calendars/{calendar_id}/events",
                json={"events": batch},
                timeout=300,
            )
            answer.raise_for_status()
    return time.monotonic() - started


def _list_all(base: str, calendar_id: str, page_size: int) -> tuple[float, int, int]:
    service = cast(
        "CalendarResource",
        build(
            "calendar",
            "v3",
            credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
            client_options={"api_endpoint": f"{base}/calendar/v3/"},
            static_discovery=True,
        ),
    )
    started = time.monotonic()
    items, calls, page_token = 0, 0, None
    while True:
        page = (
            service.events()
            .list(calendarId=calendar_id, maxResults=page_size, pageToken=page_token)
            .execute()
        )
        calls += 1
        items += len(page.get("items", []))
        page_token = page.get("nextPageToken")
        if not page_token:
            return time.monotonic() - started, calls, items


def run() -> list[dict[str, Any]]:
    """Run both scenarios; return their figures."""
    results: list[dict[str, Any]] = []
    with _emulator() as (base, pid):
        _load(base, "list-10k", 10_000)
        for page_size in (250, 2500):
            wall, calls, items = _list_all(base, "list-10k", page_size)
            assert items == 10_000, items
            results.append(
                {
                    "name": f"calendar_emulator_list_10k_page_{page_size}",
                    "wall_s": round(wall, 3),
                    "list_calls": calls,
                    "events_per_s": round(items / wall),
                }
            )
    with _emulator() as (base, pid):
        idle = _rss_mb(pid)
        load_s = _load(base, "memory-100k", 100_000)
        results.append(
            {
                "name": "calendar_emulator_memory_100k",
                "peak_rss_mb": round(_rss_mb(pid), 1),
                "idle_rss_mb": round(idle, 1),
                "load_s": round(load_s, 1),
                "events_per_s": round(100_000 / load_s),
            }
        )
    return results


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    for row in run():
        print(row)
