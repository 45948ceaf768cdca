"""Scenarios ``full`` and ``incremental``: one sync run of confsync, and of the baseline.

* ``full``: first sync of a calendar of 10,000 events, 2,000 of which carry our conference.
* ``incremental``: 5,000 conference events changed at once, then one incremental sync.

Each sync runs in a fresh child process (so its peak memory is its own) with the runner built by
the real composition root; the stores are wrapped to count Firestore documents read and written
(as Firestore bills them: a query costs the documents it returns, at least one). The Calendar and
conferencing emulators run as their own processes, the Firestore and Pub/Sub emulators as usual.

The baseline (:mod:`bench.baseline`, the seed's recipe) gets the same workload on calendars of its
own, also in a fresh child process: for ``full`` its first run (no token: a full sync of the window,
an update for every conference event), for ``incremental`` the run after its own first sync. It
keeps its token in memory, so it has no Firestore figures. ``conference_ops`` are the PUT and
DELETE requests the conferencing emulator logged during the run; ``calendar_calls`` every Calendar
API call, ``list_calls`` the ``events.list`` ones.
"""

from __future__ import annotations

import multiprocessing
import resource
import shutil
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from bench.scale import scaled
from bench.services import emulator
from devstack.client import StackClient
from devstack.gcloud_emulators import (
    EmulatorEndpoints,
    free_port,
    start_gcloud_emulators,
    stop_gcloud_emulators,
)

__all__ = ["SCENARIOS", "run"]

_TIMEOUT_S = 300.0  # per request: bulk loads of 5,000 events, request logs of thousands

PROJECT = "confsync-bench"
SOLUTION = "My Web Conference"
FULL_EVENTS = 10_000
FULL_OURS = 2_000
INCREMENTAL_EVENTS = 5_000
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

    def attachments(self, calendar_key: str, event_ids: Iterable[str]) -> dict[str, str]:
        ids = list(event_ids)
        self._counter.reads += len(ids)  # one pointer per id
        found: dict[str, str] = self._inner.attachments(calendar_key, ids)
        return found

    def attached_to(self, calendar_key: str) -> dict[str, str]:
        found: dict[str, str] = self._inner.attached_to(calendar_key)
        self._counter.reads += max(1, len(found))
        return found

    def by_keys(self, keys: Iterable[str]) -> list[Any]:
        wanted = list(keys)
        self._counter.reads += len(wanted)
        found: list[Any] = self._inner.by_keys(wanted)
        return found

    def save(
        self,
        records: Iterable[Any],
        *,
        calendar_key: str | None = None,
        attachments: Any = None,
    ) -> dict[str, str]:
        batch = list(records)
        self._counter.writes += len(batch) + len(attachments or {})
        versions: dict[str, str] = self._inner.save(
            batch, calendar_key=calendar_key, attachments=attachments
        )
        return versions

    def stage(self, records: Iterable[Any], *, calendar_key: str, attachments: Any) -> Any:
        """Counted as written here: a staged save is written with the run's commit (one too
        large to stage is saved, and counted, by ``save``)."""
        batch = list(records)
        staged = self._inner.stage(batch, calendar_key=calendar_key, attachments=attachments)
        if staged is not None:
            self._counter.writes += len(batch) + len(attachments)
        return staged

    def pending(self, calendar_key: str, due: datetime, limit: int) -> list[Any]:
        found: list[Any] = self._inner.pending(calendar_key, due, limit)
        self._counter.reads += max(1, len(found))
        return found

    def of_calendar(self, calendar_key: str) -> Iterator[Any]:
        found = list(self._inner.of_calendar(calendar_key))
        self._counter.reads += max(1, len(found))
        return iter(found)

    def held(self, calendar_key: str) -> list[Any]:
        found: list[Any] = self._inner.held(calendar_key)
        self._counter.reads += max(1, len(found))
        return found


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

    built = build_sync_runner(load_sync_config(env))
    counter = Counter()
    counted = replace(
        built.ports,
        records=CountingRecords(built.ports.records, counter),
        calendar_store=CountingCalendars(built.ports.calendar_store, counter),
    )
    runner = built.with_ports(counted)
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
            "owner_lookups": outcome.stats.owner_lookups,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
    )


def _baseline_child(env: dict[str, str], calendar_id: str, token: str | None, results: Any) -> None:
    """Run the baseline once in this (fresh) process, from ``token``; report its figures."""
    from bench.baseline import BaselineSync, MemoryTokens  # noqa: PLC0415

    tokens = MemoryTokens({calendar_id: token} if token else {})
    baseline = BaselineSync(
        calendar_api=env["CALENDAR_API_URL"],
        conferencing=env["CONFERENCING_URL"],
        tokens=tokens,
        solution_names=frozenset({SOLUTION}),
    )
    started = time.monotonic()
    stats = baseline.run(calendar_id, calendar_id)
    wall = time.monotonic() - started
    results.put(
        {
            "wall_s": wall,
            "events": stats.events,
            "updates": stats.updates,
            "token": tokens.get(calendar_id),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
    )


def _in_child(target: Any, *args: Any) -> dict[str, Any]:
    """``target(*args, queue)`` in a fresh (spawned) process; what it put on the queue."""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    child = context.Process(target=target, args=(*args, results))
    child.start()
    figures: dict[str, Any] = results.get(timeout=600)
    child.join(timeout=60)
    return figures


def _sync_in_child(env: dict[str, str], calendar_key: str) -> dict[str, Any]:
    return _in_child(_child, env, calendar_key)


@contextmanager
def _stack() -> Iterator[tuple[EmulatorEndpoints, str, str]]:
    run_dir = Path(tempfile.mkdtemp(prefix="confsync-bench-"))
    endpoints = start_gcloud_emulators(
        run_dir, project=PROJECT, firestore_port=free_port(), pubsub_port=free_port()
    )
    try:
        with (
            emulator("calendar-emulator", run_dir) as (calendar, _),
            emulator("conferencing-emulator", run_dir) as (conferencing, _),
        ):
            yield endpoints, calendar, conferencing
    finally:
        stop_gcloud_emulators(run_dir)
        shutil.rmtree(run_dir, ignore_errors=True)


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


def _prepare(stack: StackClient, *, calendar_id: str, total: int, ours: int) -> None:
    """Load ``total`` events, every (total // ours)-th of them carrying a new conference."""
    step = total // ours
    events = []
    for n in range(total):
        conference = None
        if n % step == 0 and n // step < ours:
            conference = stack.create_conference(owner=calendar_id)
        events.append(_event(n, conference))
    for first in range(0, total, 5000):
        stack.load_events(calendar_id, events[first : first + 5000])


def _enroll(endpoints: EmulatorEndpoints, calendar_id: str) -> str:
    import os  # noqa: PLC0415

    os.environ["FIRESTORE_EMULATOR_HOST"] = endpoints.firestore_host
    from confsync.adapters import firestore_http as firestore  # noqa: PLC0415
    from confsync.adapters.firestore_store import FirestoreCalendarStore  # noqa: PLC0415
    from confsync.calendars import CalendarDoc, calendar_key  # noqa: PLC0415

    client = firestore.Client.from_environment(endpoints.project)
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
        "CONFSYNC_JOIN_URL_HOSTS": "conference.example",  # the conferencing emulator's
        "LOG_LEVEL": "WARNING",
    }


def _counts(stack: StackClient) -> dict[str, int]:
    """``calendar_calls``, ``list_calls`` and ``conference_ops`` since the last reset."""
    counts = stack.calendar_calls()
    return {
        "calendar_calls": sum(int(v) for v in counts.values()),
        "list_calls": int(counts.get("calendar.events.list", 0)),
        "conference_ops": len(stack.provider_requests()),
    }


def _reset_counts(stack: StackClient) -> None:
    stack.reset_calendar_calls()
    stack.reset_provider_requests()


def _confsync_figures(figures: dict[str, Any], counts: dict[str, int]) -> dict[str, Any]:
    changed = max(1, counts["conference_ops"])
    return {
        "wall_s": round(figures["wall_s"], 2),
        "events_per_s": round(figures["events"] / figures["wall_s"]),
        **counts,
        "firestore_reads_per_event": round(figures["reads"] / changed, 2),
        "firestore_writes_per_event": round(figures["writes"] / changed, 2),
        "owner_lookup_calls": figures["owner_lookups"],
        "peak_rss_mb": round(figures["peak_rss_mb"], 1),
    }


def _baseline_figures(figures: dict[str, Any], counts: dict[str, int]) -> dict[str, Any]:
    return {
        "wall_s": round(figures["wall_s"], 2),
        "events_per_s": round(figures["events"] / figures["wall_s"]),
        **counts,
        "peak_rss_mb": round(figures["peak_rss_mb"], 1),
    }


def _edit_all(calendar: str, calendar_id: str, total: int) -> None:
    """Rename every event of the calendar (8 threads, one session each)."""
    sessions = threading.local()

    def edit(n: int) -> None:
        if not hasattr(sessions, "http"):
            sessions.http = requests.Session()
        sessions.http.patch(
            f"{calendar}/calendar/v3/calendars/{calendar_id}/events/ev{n:08d}",
            json={"summary": f"Meeting {n} (moved)"},
            timeout=30,
        ).raise_for_status()

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(edit, range(total)))


@dataclass
class _Stack:
    """The running emulators, as the scenarios use them."""

    endpoints: EmulatorEndpoints
    calendar: str
    env: dict[str, str]
    client: StackClient


def _full(stack: _Stack) -> dict[str, Any]:
    total, ours = scaled(FULL_EVENTS, 100), scaled(FULL_OURS, 20)
    client, env = stack.client, stack.env
    _prepare(client, calendar_id="full@example.com", total=total, ours=ours)
    key = _enroll(stack.endpoints, "full@example.com")
    _reset_counts(client)
    confsync = _confsync_figures(_sync_in_child(env, key), _counts(client))
    _prepare(client, calendar_id="full-b@example.com", total=total, ours=ours)
    _reset_counts(client)
    baseline = _in_child(_baseline_child, env, "full-b@example.com", None)
    return {
        "name": "full",
        **confsync,
        "events": total,
        "ours": ours,
        "baseline": _baseline_figures(baseline, _counts(client)),
    }


def _incremental(stack: _Stack) -> dict[str, Any]:
    total = scaled(INCREMENTAL_EVENTS, 50)
    client, env = stack.client, stack.env
    _prepare(client, calendar_id="inc@example.com", total=total, ours=total)
    key = _enroll(stack.endpoints, "inc@example.com")
    _sync_in_child(env, key)  # the first (full) sync
    _edit_all(stack.calendar, "inc@example.com", total)
    _reset_counts(client)
    confsync = _confsync_figures(_sync_in_child(env, key), _counts(client))

    _prepare(client, calendar_id="inc-b@example.com", total=total, ours=total)
    first = _in_child(_baseline_child, env, "inc-b@example.com", None)
    _edit_all(stack.calendar, "inc-b@example.com", total)
    _reset_counts(client)
    baseline = _in_child(_baseline_child, env, "inc-b@example.com", first["token"])
    return {
        "name": "incremental",
        **confsync,
        "events": total,
        "baseline": _baseline_figures(baseline, _counts(client)),
    }


SCENARIOS = ("incremental", "full")


def run(selected: Iterable[str] = SCENARIOS) -> list[dict[str, Any]]:
    """Run the selected scenarios (``full``, ``incremental``); return their rows."""
    wanted = set(selected)
    rows: list[dict[str, Any]] = []
    with _stack() as (endpoints, calendar, conferencing):
        client_env = {
            "PROJECT": endpoints.project,
            "PUBSUB_EMULATOR_HOST": endpoints.pubsub_host,
            "CALENDAR_EMULATOR_URL": calendar,
            "CONFERENCING_URL": conferencing,
        }
        stack = _Stack(
            endpoints=endpoints,
            calendar=calendar,
            env=_env(endpoints, calendar, conferencing),
            client=StackClient(client_env, timeout=_TIMEOUT_S),
        )
        if "incremental" in wanted:
            rows.append(_incremental(stack))
        if "full" in wanted:
            rows.append(_full(stack))
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
