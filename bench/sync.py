"""Benchmark of one sync: full and incremental, on the emulators.

* ``sync_full_10k``: first sync of a calendar of 10,000 events, 2,000 of which carry our conference.
* ``sync_incremental_5k``: 5,000 conference events changed at once, then one incremental sync.

Each sync runs in a fresh child process (so its peak memory is its own) with the runner built by
the real composition root; the stores are wrapped to count Firestore documents read and written
(as Firestore bills them: a query costs the documents it returns, at least one). The Calendar and
conferencing emulators run as their own processes, the Firestore and Pub/Sub emulators as usual.
"""

from __future__ import annotations

import multiprocessing
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from devstack.gcloud_emulators import (
    EmulatorEndpoints,
    free_port,
    start_gcloud_emulators,
    stop_gcloud_emulators,
)
from devstack.process import is_answering

__all__ = ["run"]

PROJECT = "confsync-bench"
SOLUTION = "My Web Conference"
_FIRST = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)


class Counter:
    """Counts the documents a store reads and writes (Firestore's billing units)."""

    def __init__(self) -> None:
        self.reads = 0
        self.writes = 0


class CountingRecords:
    """A RecordStore that counts what the wrapped store reads and writes."""

    def __init__(self, inner: Any, counter: Counter) -> None:
        self._inner = inner
        self._counter = counter

    def by_event_ids(self, calendar_key: str, event_ids: Iterable[str]) -> list[Any]:
        ids = list(event_ids)
        found: list[Any] = self._inner.by_event_ids(calendar_key, ids)
        self._counter.reads += len(ids) + len(found)  # one pointer per id, then the records
        return found

    def by_keys(self, keys: Iterable[str]) -> list[Any]:
        wanted = list(keys)
        self._counter.reads += len(wanted)
        found: list[Any] = self._inner.by_keys(wanted)
        return found

    def save(self, records: Iterable[Any], before: Any = None) -> None:
        batch = list(records)
        old = before or {}
        pointers = sum(
            len(set(r.events) ^ set(old[r.key].events)) if r.key in old else len(r.events)
            for r in batch
        )
        self._counter.writes += len(batch) + pointers
        self._inner.save(batch, before=before)

    def pending(self, calendar_key: str, due: datetime, limit: int) -> list[Any]:
        found: list[Any] = self._inner.pending(calendar_key, due, limit)
        self._counter.reads += max(1, len(found))
        return found

    def active_of_calendar(self, calendar_key: str) -> Iterator[Any]:
        found = list(self._inner.active_of_calendar(calendar_key))
        self._counter.reads += max(1, len(found))
        return iter(found)


class CountingCalendars:
    """A CalendarStore that counts reads and writes (each call reads or writes one document)."""

    _READS = frozenset({"get", "acquire_lease", "commit", "notify", "release"})
    _WRITES = frozenset({"put", "acquire_lease", "commit", "notify", "release", "extend_lease"})

    def __init__(self, inner: Any, counter: Counter) -> None:
        self._inner = inner
        self._counter = counter

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._inner, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            self._counter.reads += name in self._READS
            self._counter.writes += name in self._WRITES
            return method(*args, **kwargs)

        return counted


def _child(env: dict[str, str], calendar_key: str, results: Any) -> None:
    """Run one sync in this (fresh) process and report its figures."""
    import os  # noqa: PLC0415 - the child sets its own environment before importing clients

    os.environ.update(env)
    from confsync.bootstrap import build_sync_runner  # noqa: PLC0415
    from confsync.config import load_sync_config  # noqa: PLC0415
    from confsync.messages import SyncRequest  # noqa: PLC0415

    runner = build_sync_runner(load_sync_config(env))
    counter = Counter()
    runner._records = CountingRecords(runner._records, counter)
    runner._calendars = CountingCalendars(runner._calendars, counter)
    request = SyncRequest(calendar_key=calendar_key, reason="manual", notified_at=datetime.now(UTC))
    started = time.monotonic()
    outcome = runner.run(request)
    wall = time.monotonic() - started
    results.put(
        {
            "status": outcome.status,
            "wall_s": wall,
            "events": outcome.stats.events,
            "updates": outcome.stats.updates,
            "pages": outcome.stats.pages,
            "reads": counter.reads,
            "writes": counter.writes,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
    )


def _sync_in_child(env: dict[str, str], calendar_key: str) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    child = context.Process(target=_child, args=(env, calendar_key, results))
    child.start()
    figures: dict[str, Any] = results.get(timeout=600)
    child.join(timeout=60)
    return figures


@contextmanager
def _service(command: str) -> Iterator[str]:
    port = free_port()
    executable = Path(sys.executable).with_name(command)
    process = subprocess.Popen(  # noqa: S603 - our own console script
        [str(executable), "--host", "127.0.0.1", "--port", str(port), "--log-level", "WARNING"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while not is_answering(f"{base}/emulator/v1/faults"):
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"{command} did not start")
            time.sleep(0.05)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextmanager
def _stack() -> Iterator[tuple[EmulatorEndpoints, str, str]]:
    run_dir = Path(tempfile.mkdtemp(prefix="confsync-bench-"))
    endpoints = start_gcloud_emulators(
        run_dir, project=PROJECT, firestore_port=free_port(), pubsub_port=free_port()
    )
    try:
        with _service("calendar-emulator") as calendar, _service("conferencing-emulator") as conf:
            yield endpoints, calendar, conf
    finally:
        stop_gcloud_emulators(run_dir)


def _event(n: int, conference: dict[str, Any] | None) -> dict[str, Any]:
    start = _FIRST + timedelta(minutes=15 * n)
    event: dict[str, Any] = {
        "id": f"ev{n:08d}",
        "summary": f"Meeting {n}",
        "start": {"dateTime": start.isoformat(), "timeZone": "UTC"},
        "end": {"dateTime": (start + timedelta(minutes=30)).isoformat(), "timeZone": "UTC"},
        "attendees": [{"email": f"guest{n % 97}@example.com"}],
    }
    if conference is not None:
        event["conferenceData"] = {
            "conferenceId": conference["id"],
            "conferenceSolution": {"key": {"type": "addOn"}, "name": SOLUTION},
            "entryPoints": [{"entryPointType": "video", "uri": conference["joinUrl"]}],
        }
    return event


def _prepare(
    http: requests.Session,
    calendar: str,
    conferencing: str,
    *,
    calendar_id: str,
    total: int,
    ours: int,
) -> None:
    """Load ``total`` events, every (total // ours)-th of them carrying a new conference."""
    step = total // ours
    events = []
    for n in range(total):
        conference = None
        if n % step == 0 and n // step < ours:
            answer = http.post(f"{conferencing}/emulator/v1/conferences", json={}, timeout=30)
            answer.raise_for_status()
            conference = answer.json()
        events.append(_event(n, conference))
    for first in range(0, total, 5000):
        http.post(
            f"{calendar}/emulator/v1/calendars/{calendar_id}/events",
            json={"events": events[first : first + 5000]},
            timeout=300,
        ).raise_for_status()


def _enroll(endpoints: EmulatorEndpoints, calendar_id: str) -> str:
    import os  # noqa: PLC0415

    os.environ["FIRESTORE_EMULATOR_HOST"] = endpoints.firestore_host
    from google.auth.credentials import AnonymousCredentials  # noqa: PLC0415
    from google.cloud import firestore  # noqa: PLC0415

    from confsync.adapters.firestore_store import FirestoreCalendarStore  # noqa: PLC0415
    from confsync.calendars import CalendarDoc, calendar_key  # noqa: PLC0415

    client = firestore.Client(
        project=endpoints.project,
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
    )
    key = calendar_key(calendar_id, calendar_id)
    FirestoreCalendarStore(client).put(
        CalendarDoc(key=key, subject=calendar_id, calendar_id=calendar_id)
    )
    return key


def _env(endpoints: EmulatorEndpoints, calendar: str, conferencing: str) -> dict[str, str]:
    return {
        "GOOGLE_CLOUD_PROJECT": endpoints.project,
        "FIRESTORE_EMULATOR_HOST": endpoints.firestore_host,
        "PUBSUB_EMULATOR_HOST": endpoints.pubsub_host,
        "CALENDAR_API_URL": f"{calendar}/calendar/v3/",
        "CONFERENCING_URL": conferencing,
        "CONFSYNC_SOLUTION_NAMES": SOLUTION,
        "LOG_LEVEL": "WARNING",
    }


def _list_calls(http: requests.Session, calendar: str) -> int:
    counts = http.get(f"{calendar}/emulator/v1/requests", timeout=10).json()["counts"]
    http.post(f"{calendar}/emulator/v1/requests/reset", timeout=10)
    return sum(int(v) for v in counts.values())


def run() -> list[dict[str, Any]]:
    """Run both scenarios; return their figures."""
    rows: list[dict[str, Any]] = []
    http = requests.Session()
    with _stack() as (endpoints, calendar, conferencing):
        env = _env(endpoints, calendar, conferencing)

        _prepare(
            http, calendar, conferencing, calendar_id="full@example.com", total=10_000, ours=2_000
        )
        key = _enroll(endpoints, "full@example.com")
        _list_calls(http, calendar)
        full = _sync_in_child(env, key)
        rows.append(
            {
                "name": "sync_full_10k",
                "wall_s": round(full["wall_s"], 2),
                "events_per_s": round(full["events"] / full["wall_s"]),
                "conference_ops": full["updates"],
                "calendar_calls": _list_calls(http, calendar),
                "firestore_reads_per_event": round(full["reads"] / full["updates"], 2),
                "firestore_writes_per_event": round(full["writes"] / full["updates"], 2),
                "peak_rss_mb": round(full["peak_rss_mb"], 1),
            }
        )

        _prepare(
            http, calendar, conferencing, calendar_id="inc@example.com", total=5_000, ours=5_000
        )
        key = _enroll(endpoints, "inc@example.com")
        _sync_in_child(env, key)  # the first (full) sync
        service = requests.Session()
        for n in range(5_000):
            service.patch(
                f"{calendar}/calendar/v3/calendars/inc@example.com/events/ev{n:08d}",
                json={"summary": f"Meeting {n} (moved)"},
                timeout=30,
            ).raise_for_status()
        _list_calls(http, calendar)
        inc = _sync_in_child(env, key)
        rows.append(
            {
                "name": "sync_incremental_5k",
                "wall_s": round(inc["wall_s"], 2),
                "events_per_s": round(inc["events"] / inc["wall_s"]),
                "conference_ops": inc["updates"],
                "calendar_calls": _list_calls(http, calendar),
                "firestore_reads_per_event": round(inc["reads"] / inc["updates"], 2),
                "firestore_writes_per_event": round(inc["writes"] / inc["updates"], 2),
                "peak_rss_mb": round(inc["peak_rss_mb"], 1),
            }
        )
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
