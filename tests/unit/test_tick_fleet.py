"""The tick at fleet scale, with fakes: every due calendar handed out in one tick however many
are due, Firestore reads that grow with the due calendars (not the enrolled ones), and a tick that
fails part-way leaving the rest to the next one."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from confsync.calendars import CalendarDoc, CalendarState, ChannelWindow
from confsync.channel_docs import ChannelDoc
from confsync.channel_tokens import ChannelTokenKeys
from confsync.channels import ChannelReport, ChannelService
from confsync.domains import parse_allowed_domains
from confsync.errors import CalendarUnavailableError, PublishError, StoreUnavailableError
from confsync.messages import (
    MAX_FANOUT_KEYS,
    ChannelCommand,
    RenewCommand,
    SweepCommand,
    decode_channel_command,
    encode_channel_command,
)
from confsync.ports import Page, PageCursor
from confsync.testing import (
    FakeCalendar,
    InMemoryCalendarStore,
    InMemoryChannelStore,
    RecordingCommandPublisher,
    RecordingPublisher,
)
from confsync.testing.settings import channel_settings

NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
BATCH = 10
OLD_SCAN_LIMIT = BATCH * 26
"""What one tick looked at before it paged: ``tick_batch`` inline and 25 fan-out batches."""


class FailingSweepPages(InMemoryCalendarStore):
    """A calendar store whose sweep query fails on the ``fail_on``-th page (from 1), once."""

    def __init__(self, fail_on: int) -> None:
        super().__init__()
        self.fail_on = fail_on
        self.pages = 0

    def due_for_sweep(
        self,
        now: datetime,
        limit: int,
        after: PageCursor | None = None,
        *,
        stale_before: datetime,
    ) -> Page[CalendarDoc]:
        self.pages += 1
        if self.pages == self.fail_on:
            raise StoreUnavailableError("Firestore sweep query failed: 503")
        return super().due_for_sweep(now, limit, after, stale_before=stale_before)


class UnreadableChannels(InMemoryChannelStore):
    """A channel store whose batched read of active channels fails."""

    def active_for_many(self, calendar_keys: Iterable[str]) -> dict[str, list[ChannelDoc]]:
        raise StoreUnavailableError("Firestore active channels query failed: 503")


@dataclass
class FailingCommands(RecordingCommandPublisher):
    """Refuses the ``fail_on``-th command (from 1)."""

    fail_on: int = 0
    attempts: int = 0

    def publish(self, command: ChannelCommand) -> None:
        self.attempts += 1
        if self.attempts == self.fail_on:
            raise PublishError("publishing to channel-commands failed: 503")
        super().publish(command)


@dataclass
class Fleet:
    """Calendars and channels seeded straight into the fakes, and the service over them."""

    calendars: InMemoryCalendarStore = field(default_factory=InMemoryCalendarStore)
    channels: InMemoryChannelStore = field(default_factory=InMemoryChannelStore)
    commands: RecordingCommandPublisher = field(default_factory=RecordingCommandPublisher)
    calendar: FakeCalendar = field(default_factory=FakeCalendar)
    publisher: RecordingPublisher = field(default_factory=RecordingPublisher)

    def __post_init__(self) -> None:
        self.calendar.channel_now = lambda: NOW

    def seed(
        self, count: int, *, stale: int = 0, expiring: int = 0, windows: bool = True
    ) -> list[str]:
        """``count`` active calendars with one channel each; the first ``stale`` are due for a
        sweep, the last ``expiring`` have a channel due for renewal; ``windows``: the calendar
        documents record their channels' live windows (all but those stored before windows
        were). Their keys."""
        keys = [f"ck{n:06d}" for n in range(count)]
        for n, key in enumerate(keys):
            attempted = NOW - timedelta(hours=1) if n < stale else NOW - timedelta(minutes=1)
            subject = f"user{n // 20}@example.com"
            hours = 2 if n >= count - expiring else 40
            window = ChannelWindow(NOW - timedelta(hours=8), NOW + timedelta(hours=hours))
            self.calendars.put(
                CalendarDoc(
                    key=key,
                    subject=subject,
                    calendar_id=f"{key}@example.com",
                    last_attempt_at=attempted,
                    sweep_due_at=attempted + timedelta(minutes=15),
                    channels={f"ch-{key}": window} if windows else None,
                )
            )
            self.channels.put(
                ChannelDoc(
                    id=f"ch-{key}",
                    calendar_key=key,
                    subject=subject,
                    resource_id=f"res-{key}",
                    expiration=NOW + timedelta(hours=hours),
                    created_at=NOW - timedelta(hours=8),
                )
            )
        self.calendars.reads = self.channels.reads = 0
        return keys

    def service(self, batch: int = BATCH, page: int = 3 * BATCH) -> ChannelService:
        """The service; the tick reads ``page`` due channels or calendars per query."""
        counter = iter(range(1, 10_000_000))
        settings = channel_settings(
            intake_url="https://intake.example/notify",
            token_keys=ChannelTokenKeys.parse("k1:channel-secret-0123456789", "k1"),
            channel_ttl=timedelta(days=2),
            renewal_window=timedelta(days=1),
            sweep_interval=timedelta(minutes=15),
            tick_batch=batch,
            query_page=page,
            subject_budget_per_minute=300,
            allowed_domains=parse_allowed_domains("example.com"),
        )
        return ChannelService(
            calendar_api=self.calendar,
            calendar_store=self.calendars,
            channels=self.channels,
            publisher=self.publisher,
            commands=self.commands,
            settings=settings,
            now=lambda: NOW,
            new_channel_id=lambda: f"new-{next(counter)}",
            rng=random.Random(3),
        )

    def tick_and_fan_out(self, service: ChannelService) -> ChannelReport:
        """A tick, then every command it published, as the channels function would run them."""
        self.commands.published.clear()
        report = service.tick()
        for command in list(self.commands.published):
            assert isinstance(command, RenewCommand | SweepCommand)
            done = service.handle(command)
            report.swept += done.swept
            report.renewed += done.renewed
            report.failed += done.failed
        return report

    def requested(self) -> Counter[str]:
        return Counter(r.calendar_key for r in self.publisher.published)

    def renewed(self) -> set[str]:
        fresh = NOW + timedelta(days=1)
        return {
            c.calendar_key
            for c in self.channels.all()
            if c.state == "active" and c.expiration > fresh and c.id.startswith("new-")
        }

    def reads(self) -> int:
        return self.calendars.reads + self.channels.reads

    def synced(self, keys: Any) -> None:
        """As if the requested syncs ran (each sets its calendar's last attempt and plans its
        next sweep)."""
        for key in keys:
            doc = self.calendars.get(key)
            assert doc is not None
            planned = NOW + timedelta(minutes=15)
            self.calendars.put(replace(doc, last_attempt_at=NOW, sweep_due_at=planned))


def _channel(key: str) -> ChannelDoc:
    return ChannelDoc(
        id=f"ch-{key}",
        calendar_key=key,
        subject="user0@example.com",
        resource_id=f"res-{key}",
        expiration=NOW + timedelta(hours=40),
        created_at=NOW - timedelta(hours=8),
    )


def test_one_tick_hands_out_every_due_calendar_however_many_are_due() -> None:
    fleet = Fleet()
    sweep_due, renew_due = 3 * OLD_SCAN_LIMIT, OLD_SCAN_LIMIT + 40
    keys = fleet.seed(5 * OLD_SCAN_LIMIT, stale=sweep_due, expiring=renew_due)

    report = fleet.tick_and_fan_out(fleet.service())

    assert fleet.requested() == Counter(keys[:sweep_due])  # each once
    assert fleet.renewed() == set(keys[-renew_due:])
    assert report.failed == 0
    commands = fleet.commands.published
    assert all(isinstance(c, RenewCommand | SweepCommand) for c in commands)
    assert max(len(c.calendar_keys) for c in commands if isinstance(c, SweepCommand)) == BATCH


def test_tick_reads_grow_with_the_due_calendars_not_the_enrolled_ones() -> None:
    def reads(enrolled: int) -> int:
        fleet = Fleet()
        fleet.seed(enrolled, stale=300, expiring=60)
        fleet.tick_and_fan_out(fleet.service())
        assert len(fleet.requested()) == 300
        assert len(fleet.renewed()) == 60
        return fleet.reads()

    small, large = reads(1_000), reads(8_000)

    assert small == large
    assert small <= 3 * (300 + 60) + 50


def test_a_tick_that_fails_part_way_leaves_the_rest_to_the_next_tick() -> None:
    fleet = Fleet(calendars=FailingSweepPages(fail_on=4))
    keys = fleet.seed(200, stale=120)
    service = fleet.service()

    first = fleet.tick_and_fan_out(service)
    handed_out = set(fleet.requested())
    fleet.synced(handed_out)
    fleet.publisher.published.clear()
    fleet.tick_and_fan_out(service)

    assert first.failed == 1
    assert 0 < len(handed_out) < 120
    assert set(fleet.requested()) == set(keys[:120]) - handed_out


def test_a_refused_fan_out_command_leaves_its_calendars_to_the_next_tick() -> None:
    fleet = Fleet(commands=FailingCommands(fail_on=2))
    keys = fleet.seed(100, stale=60)
    service = fleet.service()

    first = fleet.tick_and_fan_out(service)
    handed_out = set(fleet.requested())
    fleet.synced(handed_out)
    fleet.publisher.published.clear()
    fleet.tick_and_fan_out(service)

    assert first.failed == 1
    assert 0 < len(handed_out) < 60
    assert set(fleet.requested()) == set(keys[:60]) - handed_out


def test_a_tick_whose_channel_reads_fail_still_requests_its_sweeps_and_goes_on() -> None:
    fleet = Fleet(channels=UnreadableChannels())
    keys = fleet.seed(30, stale=20, expiring=5, windows=False)
    fleet.channels.put(replace(_channel(keys[0]), id="old", state="stopped"))

    report = fleet.service(batch=100).tick()  # all of it the tick's own

    assert set(fleet.requested()) == set(keys[:20])  # sweeps out, repairs wait
    assert report.repaired == 0
    assert report.failed == 2  # the renewal's read and the repair check's
    assert report.collected == 1  # the tick went on to garbage collection
    assert fleet.calendar.channel_calls == []


def test_a_calendar_with_due_channels_on_two_pages_is_renewed_once() -> None:
    fleet = Fleet()
    keys = fleet.seed(3 * BATCH, expiring=3 * BATCH)
    extra = ChannelDoc(
        id="ch-extra",
        calendar_key=keys[0],
        subject="user0@example.com",
        resource_id="res-extra",
        expiration=NOW + timedelta(hours=20),
        created_at=NOW - timedelta(hours=40),
    )
    fleet.channels.put(extra)  # due, and expires last: on another page than the first one

    fleet.tick_and_fan_out(fleet.service())

    commands = fleet.commands.published
    fanned_out = {k for c in commands if isinstance(c, RenewCommand) for k in c.calendar_keys}
    assert keys[0] not in fanned_out  # renewed by the tick itself, with its first page
    watched = Counter(c.calendar_id for c in fleet.calendar.channel_calls if c.kind == "watch")
    assert watched == Counter(f"{key}@example.com" for key in keys)  # one new channel each
    assert [c.id for c in fleet.channels.all() if c.calendar_key == keys[0]] == ["new-1"]


@pytest.mark.parametrize("state", ["unenrolled", "disconnected"])
def test_a_sweep_batch_skips_a_calendar_that_stopped_syncing_after_the_tick(
    state: CalendarState,
) -> None:
    fleet = Fleet()
    keys = fleet.seed(3)
    for key in keys[:2]:
        doc = fleet.calendars.get(key)
        assert doc is not None
        fleet.calendars.put(replace(doc, state=state))
        fleet.channels.set_state(f"ch-{key}", "superseded")  # unenrolment stops channels first

    report = fleet.service().handle(SweepCommand(calendar_keys=tuple(keys)))

    assert report.swept == 1
    assert set(fleet.requested()) == {keys[2]}


@pytest.mark.parametrize("windows", [True, False], ids=["windows", "stored-before-windows"])
def test_a_sweep_batch_repairs_only_the_calendar_without_a_live_channel(windows: bool) -> None:
    fleet = Fleet()
    keys = fleet.seed(3, windows=windows)
    fleet.channels.delete(f"ch-{keys[1]}")
    doc = fleet.calendars.get(keys[1])
    assert doc is not None
    fleet.calendars.put(replace(doc, channels={} if windows else None))  # its channel is gone

    report = fleet.service().handle(SweepCommand(calendar_keys=tuple(keys)))

    assert report.swept == 3
    assert report.repaired == 1
    assert [c.calendar_id for c in fleet.calendar.channel_calls if c.kind == "watch"] == [
        f"{keys[1]}@example.com"
    ]


def test_a_sweep_batch_reads_its_calendars_at_once_and_no_channel() -> None:
    fleet = Fleet()
    keys = fleet.seed(BATCH)

    fleet.service().handle(SweepCommand(calendar_keys=tuple(keys)))

    assert (fleet.calendars.reads, fleet.channels.reads) == (BATCH, 0)
    assert set(fleet.requested()) == set(keys)


def test_a_repair_whose_watch_fails_is_tried_again_by_the_next_sweep() -> None:
    fleet = Fleet()
    keys = fleet.seed(1)
    doc = fleet.calendars.get(keys[0])
    assert doc is not None
    fleet.calendars.put(replace(doc, channels={}))
    fleet.channels.delete(f"ch-{keys[0]}")
    fleet.calendar.fail_channel_calls.append(CalendarUnavailableError("events.watch: HTTP 503"))
    service = fleet.service()

    first = service.handle(SweepCommand(calendar_keys=(keys[0],)))
    second = service.handle(SweepCommand(calendar_keys=(keys[0],)))

    assert (first.failed, first.repaired) == (1, 0)
    assert second.repaired == 1
    assert len([c for c in fleet.calendar.channel_calls if c.kind == "watch"]) == 2


def test_fan_out_commands_stay_decodable_whatever_the_tick_batch() -> None:
    fleet = Fleet()
    keys = fleet.seed(3_000, stale=3_000)

    fleet.service(batch=1_500, page=1_000).tick()

    commands = [c for c in fleet.commands.published if isinstance(c, SweepCommand)]
    assert [len(c.calendar_keys) for c in commands] == [MAX_FANOUT_KEYS, 500]
    assert [decode_channel_command(encode_channel_command(c)) for c in commands] == commands
    fanned_out = [k for c in commands for k in c.calendar_keys]
    assert len(fleet.requested()) == 1_500  # the tick's own
    assert sorted([*fleet.requested(), *fanned_out]) == keys
