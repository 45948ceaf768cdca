"""Every Calendar call of a sync or of the channel maintenance is charged to the project's budget
(:mod:`confsync.budgeted_clients`): a refused call is never sent, a refused sync is retried and
syncs the change once the budget allows, and the tick defers what the budget refuses."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from confsync.budgeted_clients import BudgetedCalendarFactory, BudgetedChannelFactory
from confsync.calendar_budget import CalendarAllowance, spending_as
from confsync.calendars import CalendarDoc, calendar_key
from confsync.channel_tokens import ChannelTokenKeys
from confsync.channels import ChannelService
from confsync.domains import parse_allowed_domains
from confsync.errors import CalendarBudgetSpentError
from confsync.messages import SyncRequest
from confsync.planner import ConferenceMatcher
from confsync.sync import SyncRunner
from confsync.testing import (
    FakeCalendar,
    InMemoryCalendarBudget,
    InMemoryCalendarStore,
    InMemoryChannelStore,
    InMemoryRecordStore,
    RecordingCommandPublisher,
    RecordingProvider,
    RecordingPublisher,
)
from confsync.testing.settings import channel_settings, sync_settings
from tests.support.calendar_events import conference_data, event

ALICE = "alice@example.com"
KEY = calendar_key(ALICE, ALICE)
T0 = datetime(2026, 12, 1, 9, 0, 20, tzinfo=UTC)  # a window's first second
PER_WINDOW = 1000  # chunks of 10


class Clock:
    """One clock for the budget (epoch seconds) and the services (datetimes)."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def epoch(self) -> float:
        return self.now.timestamp()

    def sleep(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def _allowance(clock: Clock) -> CalendarAllowance:
    return CalendarAllowance(
        InMemoryCalendarBudget(PER_WINDOW), clock=clock.epoch, sleep=clock.sleep
    )


def _exhaust(allowance: CalendarAllowance) -> None:
    while allowance.try_spend("user"):
        pass


def _conference_event() -> dict[str, object]:
    return event(
        "e1",
        start="2026-12-02T10:00:00Z",
        end="2026-12-02T11:00:00Z",
        organizer=ALICE,
        conference=conference_data("c1", join_url="https://conf.example/j/c1"),
    )


def test_each_call_is_charged_with_the_priority_the_client_was_handed_out_with() -> None:
    clock = Clock()
    calendar = FakeCalendar()
    allowance = _allowance(clock)
    factory = BudgetedCalendarFactory(calendar, allowance)
    with spending_as("background"):
        client = factory.for_subject(ALICE)
    while allowance.try_spend("background"):  # leave background exactly one call short
        pass

    with pytest.raises(CalendarBudgetSpentError):
        client.list_page(ALICE, sync_token=None, page_token=None, time_min=None)

    assert calendar.list_calls == 0  # nothing was sent to Google
    user_client = factory.for_subject(ALICE)  # outside the block: user priority
    user_client.list_page(ALICE, sync_token=None, page_token=None, time_min=None)
    assert calendar.list_calls == 1


class _SyncWorld:
    def __init__(self) -> None:
        self.clock = Clock()
        self.calendar = FakeCalendar()
        self.calendars = InMemoryCalendarStore()
        self.provider = RecordingProvider()
        self.allowance = _allowance(self.clock)
        self.calendars.put(CalendarDoc(key=KEY, subject=ALICE, calendar_id=ALICE))
        self.runner = SyncRunner(
            calendar_api=BudgetedCalendarFactory(self.calendar, self.allowance),
            calendar_store=self.calendars,
            records=InMemoryRecordStore(),
            provider=self.provider,
            publisher=RecordingPublisher(),
            settings=sync_settings(
                matcher=ConferenceMatcher(solution_names=frozenset({"My Web Conference"})),
                delete_grace=timedelta(0),
            ),
            now=self.clock,
            sleep=self.clock.sleep,
        )

    def request(self) -> SyncRequest:
        return SyncRequest(calendar_key=KEY, reason="notification", notified_at=self.clock.now)


def test_a_sync_the_budget_refuses_is_retried_and_the_change_is_not_lost() -> None:
    world = _SyncWorld()
    world.provider.create("c1")
    world.calendar.put(ALICE, _conference_event())
    _exhaust(world.allowance)
    request = world.request()

    with pytest.raises(CalendarBudgetSpentError):  # the function raises: Pub/Sub redelivers
        world.runner.run(request)

    doc = world.calendars.get(KEY)
    assert doc is not None
    assert doc.lease_owner is None  # released: the redelivery is not coalesced away
    assert world.provider.applied() == []
    world.clock.now += timedelta(seconds=10)  # the redelivery, Pub/Sub's first backoff later

    outcome = world.runner.run(request)

    assert outcome.status == "synced"
    assert [(c.kind, c.conference_id) for c in world.provider.applied()] == [("update", "c1")]


def test_the_tick_defers_what_the_budget_refuses_and_the_next_tick_does_it() -> None:
    clock = Clock()
    calendar = FakeCalendar()
    calendar.channel_now = clock
    calendars = InMemoryCalendarStore()
    channels = InMemoryChannelStore()
    allowance = _allowance(clock)
    service = ChannelService(
        calendar_api=BudgetedChannelFactory(calendar, allowance),
        calendar_store=calendars,
        channels=channels,
        publisher=RecordingPublisher(),
        commands=RecordingCommandPublisher(),
        records=InMemoryRecordStore(),
        settings=channel_settings(
            intake_url="https://intake.example/notify",
            token_keys=ChannelTokenKeys.parse("k1:channel-secret-0123456789", "k1"),
            allowed_domains=parse_allowed_domains("example.com"),
        ),
        now=clock,
        new_channel_id=iter(f"ch-{n}" for n in range(1, 100)).__next__,
        rng=random.Random(7),
    )
    calendars.put(CalendarDoc(key=KEY, subject=ALICE, calendar_id=ALICE))  # no channel yet
    _exhaust(allowance)

    with spending_as("background"):
        first = service.tick()

    assert (first.deferred, first.failed, first.repaired) == (1, 0, 0)
    assert calendar.channel_calls == []
    clock.now += timedelta(minutes=16)  # the sweep handed out is due again one floor later
    with spending_as("background"):
        second = service.tick()
    assert (second.deferred, second.repaired) == (0, 1)
    assert len(calendar.live_channels(ALICE)) == 1
