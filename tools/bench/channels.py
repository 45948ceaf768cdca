"""Benchmark of channel renewal: 5,000 due channels renewed by ticks, on the emulators.

* ``renewal``: 5,000 calendars are enrolled (one channel each) with a 1-hour TTL, then the
  service clock is moved 45 minutes on, so every channel is due (less than half its lifetime
  left). Renewal asks for the default 2-day TTL. Ticks run one service-clock minute apart until no
  channel is due. Each tick renews ``tick_batch`` calendars
  itself and fans the rest out as ``renew`` commands, which are run here by 8 threads (standing in
  for parallel function instances). 45 subjects own 100 calendars each and one busy subject owns
  500, so the per-subject budget (300 Calendar calls a minute, the default) defers part of the busy
  subject's renewals to later ticks.

Figures: wall time of the renewal ticks (fan-out included), Calendar API calls (as the emulator
counted them), and the largest number of Calendar calls one subject made within one tick-minute.
Firestore and Pub/Sub are the gcloud emulators; the Calendar emulator runs as its own process.
SyncRequests and fan-out commands are recorded in memory rather than published (publishing is
measured by the sync benchmark's stack, not here).
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from bench.scale import scaled
from bench.services import emulators_and_calendar
from confsync.adapters import firestore_http as firestore
from confsync.adapters.calendar_api import GoogleCalendarClientFactory
from confsync.adapters.firestore_channels import FirestoreChannelStore
from confsync.adapters.firestore_store import FirestoreCalendarStore
from confsync.calendars import CalendarDoc, calendar_key
from confsync.channel_tokens import ChannelTokenKeys
from confsync.channels import ChannelService, ChannelSettings
from confsync.messages import RenewCommand
from confsync.testing import RecordingCommandPublisher, RecordingPublisher
from confsync.testing.settings import channel_settings
from devstack.gcloud_emulators import (
    EmulatorEndpoints,
)

__all__ = ["run"]

PROJECT = "confsync-bench-channels"
CALENDARS = 5_000
BUSY_CALENDARS = 500
CALENDARS_PER_SUBJECT = 100
WORKERS = 8


class SubjectCounter:
    """Counts Calendar channel calls per (subject, tick); ticks are one minute apart."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.tick = 0
        self.counts: Counter[tuple[str, int]] = Counter()

    def charge(self, subject: str) -> None:
        with self._lock:
            self.counts[(subject, self.tick)] += 1


class CountingClient:
    """A ChannelClient that reports every call to a SubjectCounter."""

    def __init__(self, inner: Any, subject: str, counter: SubjectCounter) -> None:
        self._inner = inner
        self._subject = subject
        self._counter = counter

    def watch(
        self, calendar_id: str, channel_id: str, address: str, token: str, ttl_seconds: int
    ) -> Any:
        self._counter.charge(self._subject)
        return self._inner.watch(calendar_id, channel_id, address, token, ttl_seconds)

    def stop_channel(self, channel_id: str, resource_id: str) -> None:
        self._counter.charge(self._subject)
        self._inner.stop_channel(channel_id, resource_id)


class CountingFactory:
    """Wraps the real client factory so every Calendar call is counted by subject."""

    def __init__(self, inner: Any, counter: SubjectCounter) -> None:
        self._inner = inner
        self._counter = counter

    def for_subject(self, subject: str) -> CountingClient:
        return CountingClient(self._inner.for_subject(subject), subject, self._counter)


class Clock:
    """The service's clock: real time (the emulator's channels expire in real time) plus an
    offset moved by hand."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


def _stack() -> AbstractContextManager[tuple[EmulatorEndpoints, str]]:
    return emulators_and_calendar("channels", PROJECT)


def _subjects() -> list[str]:
    """One busy subject with 10% of the calendars, then 100 calendars per subject."""
    busy = ["busy@example.com"] * scaled(BUSY_CALENDARS)
    rest = scaled(CALENDARS) - len(busy)
    return busy + [f"user{n // CALENDARS_PER_SUBJECT}@example.com" for n in range(rest)]


def _calendar_calls(http: requests.Session, base: str) -> int:
    counts = http.get(f"{base}/emulator/v1/requests", timeout=10).json()["counts"]
    return sum(int(v) for v in counts.values())


@dataclass
class Bench:
    """The service twice (seeding with a 1-hour TTL, renewing with the defaults) over one stack."""

    base: str
    clock: Clock
    counter: SubjectCounter
    calendars: FirestoreCalendarStore
    channels: FirestoreChannelStore
    commands: RecordingCommandPublisher
    settings: ChannelSettings
    seeder: ChannelService
    renewer: ChannelService


def _build(endpoints: EmulatorEndpoints, base: str) -> Bench:
    os.environ["FIRESTORE_EMULATOR_HOST"] = endpoints.firestore_host  # read by the client
    client = firestore.Client.from_environment(endpoints.project)
    clock, counter = Clock(), SubjectCounter()
    calendars, channels = FirestoreCalendarStore(client), FirestoreChannelStore(client)
    commands = RecordingCommandPublisher()
    settings = channel_settings(
        # notifications go to the emulator itself (404: one attempt each, no retry)
        intake_url=f"{base}/nowhere",
        token_keys=ChannelTokenKeys.parse("k1:bench-secret-0123456789", "k1"),
    )

    def service(settings: ChannelSettings) -> ChannelService:
        factory = GoogleCalendarClientFactory(lambda _s: None, api_endpoint=f"{base}/calendar/v3/")
        return ChannelService(
            calendar_api=CountingFactory(factory, counter),
            calendar_store=calendars,
            channels=channels,
            publisher=RecordingPublisher(),
            commands=commands,
            settings=settings,
            now=clock,
        )

    return Bench(
        base=base,
        clock=clock,
        counter=counter,
        calendars=calendars,
        channels=channels,
        commands=commands,
        settings=settings,
        seeder=service(replace(settings, channel_ttl=timedelta(hours=1))),
        renewer=service(settings),
    )


def _seed(bench: Bench) -> float:
    """Enroll every calendar; return the seconds it took."""
    attempted = datetime.now(UTC) + timedelta(hours=2)

    def seed(n_subject: tuple[int, str]) -> None:
        n, subject = n_subject
        calendar_id = f"cal{n:05d}@example.com"
        key = calendar_key(subject, calendar_id)
        # attempted "recently" and swept next later, as the ticks see it, so their sweeps leave
        # these calendars alone
        doc = CalendarDoc(
            key=key,
            subject=subject,
            calendar_id=calendar_id,
            last_attempt_at=attempted,
            sweep_due_at=attempted,
        )
        bench.calendars.put(doc)
        bench.seeder.enroll(subject, calendar_id)

    started = time.monotonic()
    with ThreadPoolExecutor(WORKERS) as pool:
        list(pool.map(seed, enumerate(_subjects())))
    return time.monotonic() - started


def _renew(bench: Bench) -> dict[str, Any]:
    """Tick (one service-clock minute apart) until no channel is due; return the figures."""
    http = requests.Session()
    http.post(f"{bench.base}/emulator/v1/requests/reset", timeout=10).raise_for_status()
    bench.counter.counts.clear()
    bench.clock.offset = timedelta(minutes=45)  # every seeded channel has < half its life left
    renewed = ticks = 0
    started = time.monotonic()
    while bench.channels.expiring_before(bench.clock() + bench.settings.renewal_window, 1).items:
        ticks += 1
        bench.counter.tick = ticks
        bench.commands.published.clear()
        renewed += bench.renewer.tick().renewed
        batches = [c for c in bench.commands.published if isinstance(c, RenewCommand)]
        with ThreadPoolExecutor(WORKERS) as pool:
            renewed += sum(r.renewed for r in pool.map(bench.renewer.handle, batches))
        bench.clock.offset += timedelta(minutes=1)
        if ticks > 20:
            raise RuntimeError("renewal did not converge in 20 ticks")
    wall = time.monotonic() - started
    return {
        "name": "renewal",
        "wall_s": round(wall, 2),
        "calendar_calls": _calendar_calls(http, bench.base),
        "max_subject_rpm": max(bench.counter.counts.values(), default=0),
        "renewed": renewed,
        "ticks": ticks,
        "renewals_per_s": round(renewed / wall, 1),
    }


def run() -> list[dict[str, Any]]:
    """Run the renewal scenario; return its figures."""
    with _stack() as (endpoints, base):
        bench = _build(endpoints, base)
        seed_s = _seed(bench)
        row = _renew(bench)
        row["seed_s"] = round(seed_s, 2)
        row["channels"] = scaled(CALENDARS)
        row["notes"] = "no baseline: the seed's Apps Script triggers need no channel renewal"
        return [row]


if __name__ == "__main__":
    for row in run():
        print(row)
