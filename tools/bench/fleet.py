"""Benchmark of one tick over a fleet: 20,000 enrolled calendars, 6,000 due for a sweep and 500
for renewal, on the emulators.

* ``fleet``: 20,000 calendars, each with one active channel (and its live window on the calendar
  document, as enrolment records it), are written straight into the Firestore emulator in batched
  writes. 6,000 of them were last attempted an hour ago (due for a
  sweep); 500 others have a channel, opened on the Calendar emulator with a 1-hour lifetime, that
  is due for renewal; the rest are neither. Then one tick runs, and with it every ``renew`` /
  ``sweep`` command it publishes: the commands go to 8 worker threads in this process as soon as
  they are published (standing in for parallel instances of the channels function, which Pub/Sub
  push would start). SyncRequests are published to the Pub/Sub emulator's ``sync-requests`` topic
  (nothing consumes them: what a sweep hands out is the request, not the sync).

Figures: ``tick_s``, from the tick's start until the tick and every command it published are done
(all sweep SyncRequests published, all renewals done: watch and stop on the Calendar emulator),
``tick_handed_out_s``, until it published its last command, and ``tick_invocation_s``, until
its own invocation returned (its share included);
``tick_firestore_reads``, the documents read meanwhile by the tick and its commands, counted at
the Firestore client's API stubs (:mod:`bench.firestore_reads`: one per document, one per query
that returns none); ``tick_interval_s``, the interval of the deployed default schedule
(``tick_schedule`` in terraform/variables.tf); and what was handed out (each due calendar's
SyncRequest once, each due channel renewed), so a tick that leaves work behind shows.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.firestore_reads import ReadCounter, count_reads
from bench.scale import scaled
from bench.services import emulators_and_calendar
from bench.stack import REPO_ROOT
from confsync.adapters import firestore_http as firestore
from confsync.adapters.calendar_api import GoogleCalendarClientFactory
from confsync.adapters.firestore_channels import FirestoreChannelStore
from confsync.adapters.firestore_store import BATCH_MAX, FirestoreCalendarStore
from confsync.adapters.pubsub_publisher import PubsubSyncRequestPublisher, low_latency_publisher
from confsync.calendars import CalendarDoc, ChannelWindow, calendar_key, calendar_to_document
from confsync.channel_docs import ChannelDoc, channel_to_document
from confsync.channel_tokens import ChannelTokenKeys
from confsync.channels import ChannelReport, ChannelService, ChannelSettings
from confsync.messages import ChannelCommand, SyncRequest
from confsync.testing.settings import channel_settings
from devstack.gcloud_emulators import (
    EmulatorEndpoints,
)
from devstack.pubsub_wiring import PubsubRest

__all__ = ["FleetSize", "run", "tick_interval_s"]

PROJECT = "confsync-bench-fleet"
CALENDARS = 20_000
DUE_SWEEP = 6_000
DUE_RENEWAL = 500
CALENDARS_PER_SUBJECT = 10
WORKERS = 8
RENEWAL_TTL = timedelta(hours=1)
TOPIC = "sync-requests"


@dataclass(frozen=True)
class FleetSize:
    """How many calendars are enrolled, and how many of them are due for what."""

    calendars: int
    due_sweep: int
    due_renewal: int

    @classmethod
    def scaled(cls) -> FleetSize:
        """The published size (20,000, 6,000 and 500) at ``BENCH_SCALE``."""
        return cls(scaled(CALENDARS), scaled(DUE_SWEEP), scaled(DUE_RENEWAL))


def tick_interval_s(variables: Path = REPO_ROOT / "terraform" / "variables.tf") -> int:
    """The interval of ``tick_schedule``'s default, a ``*/N * * * *`` cron expression."""
    text = variables.read_text()
    block = text[text.index('variable "tick_schedule"') :]
    default = re.search(r'default\s*=\s*"([^"]+)"', block)
    every = re.fullmatch(r"\*/(\d+) \* \* \* \*", default.group(1).strip()) if default else None
    if every is None:
        raise ValueError("tick_schedule's default is not an every-N-minutes cron expression")
    return int(every.group(1)) * 60


class CountingSyncRequests:
    """The real SyncRequest publisher, counting the calendars it published for."""

    def __init__(self, inner: PubsubSyncRequestPublisher) -> None:
        self._inner = inner
        self._lock = threading.Lock()
        self.calendars: Counter[str] = Counter()

    def publish(self, request: SyncRequest) -> None:
        self._inner.publish(request)
        with self._lock:
            self.calendars[request.calendar_key] += 1


@dataclass
class Workers:
    """The channels function's parallel instances: each published command runs at once on one
    of ``WORKERS`` threads."""

    pool: ThreadPoolExecutor
    service: ChannelService | None = None
    futures: list[Future[ChannelReport]] = field(default_factory=list)
    published: int = 0
    last_published: float = 0.0

    def publish(self, command: ChannelCommand) -> None:
        assert self.service is not None
        self.published += 1
        self.last_published = time.monotonic()
        self.futures.append(self.pool.submit(self.service.handle, command))

    def reports(self) -> list[ChannelReport]:
        """Every command's report, once all are done (a failed command raises)."""
        return [future.result() for future in self.futures]


def _stack() -> AbstractContextManager[tuple[EmulatorEndpoints, str]]:
    return emulators_and_calendar("fleet", PROJECT)


def _settings(base: str) -> ChannelSettings:
    return channel_settings(
        intake_url=f"{base}/nowhere",  # the emulator's own 404: one attempt per sync message
        token_keys=ChannelTokenKeys.parse("k1:bench-secret-0123456789", "k1"),
    )


def _seed(
    client: firestore.Client, base: str, settings: ChannelSettings, size: FleetSize
) -> list[str]:
    """Write the fleet; its calendar keys, the sweep-due first, the renewal-due last."""
    total, sweep, renewal = size.calendars, size.due_sweep, size.due_renewal
    now = datetime.now(UTC)
    factory = GoogleCalendarClientFactory(lambda _s: None, api_endpoint=f"{base}/calendar/v3/")

    def calendar(n: int) -> tuple[CalendarDoc, ChannelDoc]:
        subject = f"user{n // CALENDARS_PER_SUBJECT}@example.com"
        calendar_id = f"cal{n:05d}@example.com"
        key = calendar_key(subject, calendar_id)
        # due for a sweep: attempted an hour ago; the others an hour from now, as the tick sees it
        # (their planned sweeps, a floor after, due and not due alike)
        attempted = now - timedelta(hours=1) if n < sweep else now + timedelta(hours=1)
        channel_id = f"bench-{n:05d}"
        if n >= total - renewal:  # a real channel on the emulator, due for renewal
            ttl = int(RENEWAL_TTL.total_seconds())
            watched = factory.for_subject(subject).watch(
                calendar_id, channel_id, settings.intake_url, "seed", ttl
            )
            resource_id, expiration = watched.resource_id, watched.expiration
        else:
            resource_id, expiration = f"res-{n:05d}", now + settings.channel_ttl
        channel = ChannelDoc(
            id=channel_id,
            calendar_key=key,
            subject=subject,
            resource_id=resource_id,
            expiration=expiration,
            created_at=expiration - settings.channel_ttl,
        )
        doc = CalendarDoc(
            key=key,
            subject=subject,
            calendar_id=calendar_id,
            last_attempt_at=attempted - timedelta(seconds=n % 600),  # spread, no ties
            # the next sweep the last run planned: due for the first ``sweep`` calendars
            sweep_due_at=attempted + settings.sweep_interval - timedelta(seconds=n % 600),
            # the channel's live window, as enrolment and renewal record it
            channels={channel_id: ChannelWindow(channel.created_at, expiration)},
        )
        return doc, channel

    def write(numbers: range) -> list[str]:
        batch = client.batch()
        keys = []
        for n in numbers:
            doc, channel = calendar(n)
            batch.set(client.collection("calendars").document(doc.key), calendar_to_document(doc))
            batch.set(
                client.collection("channels").document(channel.id), channel_to_document(channel)
            )
            keys.append(doc.key)
        batch.commit()
        return keys

    per_batch = BATCH_MAX // 2  # two documents per calendar
    chunks = [range(s, min(s + per_batch, total)) for s in range(0, total, per_batch)]
    with ThreadPoolExecutor(WORKERS) as pool:
        return [key for keys in pool.map(write, chunks) for key in keys]


@dataclass
class Fleet:
    """The stores over one counted client, and what the tick publishes through."""

    service: ChannelService
    reads: ReadCounter
    requests: CountingSyncRequests
    workers: Workers


def _build(endpoints: EmulatorEndpoints, base: str, settings: ChannelSettings) -> Fleet:
    os.environ.update(endpoints.env())  # read by the clients
    client = firestore.Client.from_environment(endpoints.project)
    reads = count_reads(client)
    PubsubRest(endpoints.pubsub_host, endpoints.project).ensure_topic(TOPIC)
    publisher = low_latency_publisher()
    requests = CountingSyncRequests(PubsubSyncRequestPublisher(publisher, endpoints.project, TOPIC))
    workers = Workers(ThreadPoolExecutor(WORKERS, thread_name_prefix="channels"))
    workers.service = ChannelService(
        calendar_api=GoogleCalendarClientFactory(
            lambda _s: None, api_endpoint=f"{base}/calendar/v3/"
        ),
        calendar_store=FirestoreCalendarStore(client),
        channels=FirestoreChannelStore(client),
        publisher=requests,
        commands=workers,
        settings=settings,
    )
    return Fleet(workers.service, reads, requests, workers)


def _renewed(client: firestore.Client, numbers: range) -> int:
    """How many of these seeded channels were renewed: a renewal stops the old channel and
    forgets its record only once the new one is persisted."""
    refs = [client.collection("channels").document(f"bench-{n:05d}") for n in numbers]
    return sum(not snapshot.exists for snapshot in client.get_all(refs))


def _tick(fleet: Fleet) -> dict[str, Any]:
    fleet.reads.reset()
    started = time.monotonic()
    report = fleet.service.tick()
    own_s = time.monotonic() - started
    batches = fleet.workers.reports()
    tick_s = time.monotonic() - started
    reads = fleet.reads.reset()
    return {
        "tick_s": round(tick_s, 2),
        "tick_invocation_s": round(own_s, 2),
        "tick_handed_out_s": round(max(fleet.workers.last_published - started, 0), 2),
        "tick_firestore_reads": reads,
        "commands_published": fleet.workers.published,
        "failed_calendars": report.failed + sum(b.failed for b in batches),
        "deferred_calendars": report.deferred + sum(b.deferred for b in batches),
    }


def run(size: FleetSize | None = None) -> list[dict[str, Any]]:
    """Run the fleet scenario (by default at its published size); return its figures."""
    size = size or FleetSize.scaled()
    with _stack() as (endpoints, base):
        settings = _settings(base)
        fleet = _build(endpoints, base, settings)
        started = time.monotonic()
        client = firestore.Client.from_environment(endpoints.project)
        keys = _seed(client, base, settings, size)
        seed_s = time.monotonic() - started
        row = _tick(fleet)
        fleet.workers.pool.shutdown()
        total, sweep, renewal = size.calendars, size.due_sweep, size.due_renewal
        swept = fleet.requests.calendars
        return [
            {
                "name": "fleet",
                "calendars": total,
                "due": sweep + renewal,
                "due_sweep_calendars": sweep,
                "due_renewal_calendars": renewal,
                **row,
                "tick_interval_s": tick_interval_s(),
                "swept_calendars": sum(1 for key in keys[:sweep] if swept[key]),
                "swept_twice_calendars": sum(1 for n in swept.values() if n > 1),
                "renewed": _renewed(client, range(total - renewal, total)),
                "seed_s": round(seed_s, 2),
                "notes": f"fan-out commands run by {WORKERS} threads as they are published",
            }
        ]


if __name__ == "__main__":
    for row in run():
        print(row)
