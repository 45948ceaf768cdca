"""OwnerResolver reads owners in batches: at most 100 conferences per read, the reads spread over
``provider_concurrency`` threads, a failed read failing only the conferences it carried, and
``owner_lookups`` counting conferences, not requests."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

import pytest

from confsync.calendars import CalendarDoc
from confsync.errors import ProviderUnavailableError
from confsync.ports import OwnerLookup
from confsync.records import KEY_PREFIX, ConferenceRecord
from confsync.sync.owners import OwnerResolver
from confsync.sync.state import Run
from confsync.sync.summary import SyncStats
from confsync.testing import RecordingProvider
from confsync.testing.settings import sync_settings

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
HOME = "cal-home"
ALICE = "alice@example.com"


def conference_id(n: int) -> str:
    return f"conf_{n:05d}"


def unknown_records(count: int) -> dict[str, ConferenceRecord]:
    records = [
        ConferenceRecord(
            key=KEY_PREFIX + conference_id(n), conference_id=conference_id(n), home_key=HOME
        )
        for n in range(count)
    ]
    return {r.key: r for r in records}


def new_run() -> Run:
    doc = CalendarDoc(key=HOME, subject=ALICE, calendar_id=ALICE)
    return Run(client=None, doc=doc, owner="test", stats=SyncStats(), lease_until=NOW)  # type: ignore[arg-type]


def resolver(provider: object, concurrency: int = 8) -> OwnerResolver:
    return OwnerResolver(
        provider,  # type: ignore[arg-type]
        sync_settings(provider_concurrency=concurrency),
        now=lambda: NOW,
    )


def world(count: int) -> RecordingProvider:
    provider = RecordingProvider()
    for n in range(count):
        provider.create(conference_id(n), owner=ALICE)
    return provider


@pytest.mark.parametrize(
    ("count", "concurrency", "reads"),
    [
        pytest.param(1, 8, 1, id="one"),
        pytest.param(5, 8, 5, id="fewer-than-threads: one each, as before"),
        pytest.param(250, 8, 8, id="250: eight reads of 32"),
        pytest.param(2000, 8, 20, id="2000: twenty reads of 100"),
        pytest.param(250, 1, 3, id="one thread: reads of 100"),
    ],
)
def test_owners_are_read_in_batches_of_at_most_100_over_the_threads(
    count: int, concurrency: int, reads: int
) -> None:
    provider = world(count)
    run = new_run()

    resolved = resolver(provider, concurrency).resolve(run, unknown_records(count))

    size = min(100, math.ceil(count / min(concurrency, count)))
    assert len(provider.batches) == reads
    assert max(len(batch) for batch in provider.batches) == size
    assert sorted(n for batch in provider.batches for n in batch) == [
        conference_id(n) for n in range(count)
    ]
    assert {r.owner for r in resolved.values()} == {ALICE}
    assert all(r.owner_known for r in resolved.values())
    assert run.stats.owner_lookups == count  # conferences, not requests
    assert len([c for c in provider.calls if c.kind == "owner_of"]) == count


def test_a_failed_read_fails_only_the_conferences_it_carried() -> None:
    provider = world(200)
    provider.failures.append(ProviderUnavailableError("HTTP 503 (unavailable)"))
    run = new_run()

    resolved = resolver(provider, concurrency=2).resolve(run, unknown_records(200))

    failed = {r.conference_id for r in resolved.values() if not r.owner_known}
    assert len(failed) == 100
    assert failed in [set(batch) for batch in provider.batches]
    assert all(
        r.pending is not None and r.pending.last_error.startswith("owner unavailable")
        for r in resolved.values()
        if not r.owner_known
    )
    assert run.stats.pending == 100
    assert run.stats.owner_lookups == 200


def test_known_and_deleted_records_are_not_read() -> None:
    provider = world(3)
    records = unknown_records(3)
    first, second, third = records.values()
    records[first.key] = ConferenceRecord(
        key=first.key,
        conference_id=first.conference_id,
        home_key=HOME,
        owner=ALICE,
        owner_known=True,
    )
    records[second.key] = ConferenceRecord(
        key=second.key, conference_id=second.conference_id, home_key=HOME, status="deleted"
    )
    run = new_run()

    resolved = resolver(provider).resolve(run, records)

    assert provider.batches == [(third.conference_id,)]
    assert set(resolved) == {third.key}
    assert run.stats.owner_lookups == 1


def test_nothing_unknown_reads_nothing() -> None:
    provider = world(0)
    run = new_run()

    assert resolver(provider).resolve(run, {}) == {}
    assert provider.batches == []
    assert run.stats.owner_lookups == 0


class SlowProvider:
    """Answers every id with ALICE after a pause; records how many reads overlapped."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = 0
        self.most = 0

    def owners_of(self, conference_ids: Sequence[str]) -> Mapping[str, OwnerLookup]:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        time.sleep(0.02)
        with self.lock:
            self.running -= 1
        return dict.fromkeys(conference_ids, ALICE)


@pytest.mark.parametrize("concurrency", [1, 3, 8])
def test_the_reads_run_concurrently_within_provider_concurrency(concurrency: int) -> None:
    provider = SlowProvider()

    resolver(provider, concurrency).resolve(new_run(), unknown_records(2000))

    assert provider.most <= concurrency
    assert provider.most > 1 or concurrency == 1


class ForgetfulProvider:
    """Leaves one id out of its answer (a port violation): that conference is not learned."""

    def owners_of(self, conference_ids: Sequence[str]) -> Mapping[str, OwnerLookup]:
        return dict.fromkeys(conference_ids[1:], ALICE)


def test_an_id_the_provider_left_unanswered_fails_as_rejected() -> None:
    run = new_run()

    resolved = resolver(ForgetfulProvider()).resolve(run, unknown_records(1))

    (record,) = resolved.values()
    assert record.status == "failed"
    assert run.stats.failed == 1
