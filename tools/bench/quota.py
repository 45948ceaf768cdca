"""``quota``: Calendar calls per user per day, and how long a change waits when its notification
is lost, from a simulated day on a fake clock.

The real tick (:class:`confsync.channels.ChannelService`: renewals, sweeps, repairs, fan-out
batches) and the real :class:`confsync.sync.SyncRunner` run against the in-memory fakes of
:mod:`confsync.testing`; only time is simulated (:class:`Clock`). Every user has one enrolled
calendar, enrolled during the night before the day with a channel of a random age, so renewals
are spread as in a running fleet. The workload (:mod:`bench.quota_workload`) changes calendars
during working hours; a change's notification reaches the sync runner at once, unless it is lost
or its channel is dead. The tick runs every ``tick_interval_s``; the commands it fans out and the
syncs it asks for run at the tick's moment.

Figures: ``calendar_calls_per_user_day`` counts every call the fake Calendar receives during the
day (lists, gets, patches, watches, stops) over the users; a change whose notification was lost
waits from the change until the next sync of its calendar that pulls (``median_recovery_s``,
``max_recovery_s``). The same simulator with the sweep interval's floor and cap both at 900 s
gives the figures of a sweep every 900 s (``baseline``: confsync before sweeps by need; the
seed's recipe has no sweep at all).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import random
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.quota_workload import HOUR, Day, Workload, draw
from bench.scale import scaled
from confsync.calendars import calendar_key
from confsync.channel_docs import ChannelDoc
from confsync.channels import ChannelService
from confsync.messages import ChannelCommand, SyncRequest
from confsync.sweep_policy import SweepTuning
from confsync.sync import SyncRunner
from confsync.testing import (
    FakeCalendar,
    InMemoryCalendarStore,
    InMemoryChannelStore,
    InMemoryRecordStore,
    RecordingCommandPublisher,
    RecordingProvider,
    RecordingPublisher,
)
from confsync.testing.fakes import ChannelCall
from confsync.testing.settings import channel_settings, sync_settings

__all__ = ["Figures", "Policy", "run", "simulate"]

MIDNIGHT = datetime(2026, 12, 7, tzinfo=UTC)  # a Monday
DAY_START, DAY_END = 6 * HOUR, 30 * HOUR  # the measured day: 06:00 to 06:00
TICK_INTERVAL_S = 300.0  # the scheduler's default tick


@dataclass(frozen=True, slots=True)
class Policy:
    """The sweep settings simulated: the floor and the cap of the interval, in seconds."""

    shortest_s: int = 900
    longest_s: int = 13_500


@dataclass(slots=True)
class Figures:
    """What one simulated day measured."""

    users: int
    changes: int
    calendar_calls: int
    list_calls: int
    channel_calls: int
    waits: list[float] = field(default_factory=list)
    unrecovered: int = 0
    sim_wall_s: float = 0.0

    def row(self) -> dict[str, Any]:
        waits = self.waits or [0.0]
        return {
            "users": self.users,
            "changes_per_user_day": round(self.changes / self.users, 2),
            "calendar_calls_per_user_day": round(self.calendar_calls / self.users, 2),
            "list_calls_per_user_day": round(self.list_calls / self.users, 2),
            "channel_calls_per_user_day": round(self.channel_calls / self.users, 2),
            "lost_changes": len(self.waits) + self.unrecovered,
            "unrecovered_changes": self.unrecovered,
            "median_recovery_s": round(statistics.median(waits), 1),
            "p90_recovery_s": round(statistics.quantiles(waits, n=10)[-1], 1)
            if len(waits) > 1
            else waits[0],
            "max_recovery_s": round(max(waits), 1),
            "sim_wall_s": round(self.sim_wall_s, 1),
        }


class Clock:
    """The simulated time; ``now`` is what every part of confsync is given."""

    def __init__(self) -> None:
        self.at = 0.0

    def now(self) -> datetime:
        return MIDNIGHT + timedelta(seconds=self.at)


def _calls(calendar: FakeCalendar) -> tuple[int, int, int]:
    """(every call, list calls, channel calls) the fake Calendar received so far."""
    channel = len(calendar.channel_calls)
    lists = calendar.list_calls
    other = calendar.get_calls + calendar.patch_calls + len(calendar.series_calls)
    other += calendar.changed_calls
    return lists + channel + other, lists, channel


class _IndexedChannels(InMemoryChannelStore):
    """The fake channel store, with its channels indexed by calendar: a sweep looks up one
    calendar's channels, and the fake scans them all (10,000 calendars, thousands of sweeps)."""

    def __init__(self) -> None:
        super().__init__()
        self._by_calendar: dict[str, set[str]] = {}

    def put(self, doc: ChannelDoc) -> None:
        super().put(doc)
        self._by_calendar.setdefault(doc.calendar_key, set()).add(doc.id)

    def of_calendar(self, calendar_key: str) -> list[ChannelDoc]:
        found = (self.get(i) for i in sorted(self._by_calendar.get(calendar_key, ())))
        return [doc for doc in found if doc is not None]


class _Fleet:
    """confsync's services on fakes, on one clock, with the measurement of recoveries."""

    def __init__(self, day: Day, policy: Policy) -> None:
        self.clock = Clock()
        self.calendar = FakeCalendar()
        self.calendar.channel_now = self.calendar.clock = self.clock.now
        self.calendar.on_channel_call = self._watched
        self.watched: dict[str, list[str]] = {}  # calendar id -> its channels, oldest first
        self.calendars = InMemoryCalendarStore()
        self.requests = RecordingPublisher()
        self.commands = RecordingCommandPublisher()
        ids = (f"ch-{n}" for n in itertools.count())
        owners = (f"run-{n}" for n in itertools.count())
        self.settings = channel_settings(sweep_interval=timedelta(seconds=policy.shortest_s))
        self.service = ChannelService(
            calendar_api=self.calendar,
            calendar_store=self.calendars,
            channels=_IndexedChannels(),
            publisher=self.requests,
            commands=self.commands,
            settings=self.settings,
            now=self.clock.now,
            new_channel_id=lambda: next(ids),
            rng=random.Random(day.seed),  # noqa: S311 - jitter
        )
        tuning = SweepTuning(
            shortest=timedelta(seconds=policy.shortest_s),
            longest=timedelta(seconds=policy.longest_s),
        )
        self.runner = SyncRunner(
            calendar_api=self.calendar,
            calendar_store=self.calendars,
            records=InMemoryRecordStore(),
            provider=RecordingProvider(),
            publisher=self.requests,
            settings=sync_settings(sweep=tuning),
            now=self.clock.now,
            new_owner_id=lambda: next(owners),
            sleep=lambda _s: None,
        )
        self.lost: dict[str, list[float]] = {}
        self.waits: list[float] = []
        self.dead: set[str] = set()

    def drain(self) -> None:
        """Run every command and sync request published so far (and those they publish)."""
        while self.commands.published or self.requests.published:
            if self.commands.published:
                command: ChannelCommand = self.commands.published.pop(0)
                self.service.handle(command)
                continue
            self.sync(self.requests.published.pop(0))

    def sync(self, request: SyncRequest) -> None:
        outcome = self.runner.run(request)
        if outcome.status != "synced":
            return
        pending = self.lost.pop(request.calendar_key, [])
        self.waits += [self.clock.at - at for at in pending]

    def _watched(self, call: ChannelCall) -> None:
        if call.kind == "watch" and call.outcome == "ok":
            self.watched.setdefault(call.calendar_id, []).append(call.channel_id)

    def live(self, calendar_id: str) -> list[str]:
        """The calendar's channels Google would deliver through (not stopped, expired or dead),
        oldest first (``FakeCalendar.live_channels`` scans every channel)."""
        now = self.clock.now()
        ids = self.watched.get(calendar_id, [])
        ids[:] = [i for i in ids if i in self.calendar.channels]  # forget stopped ones
        return [i for i in ids if self.calendar.channels[i][2] > now and i not in self.dead]

    def change(self, user: int, lost: bool) -> None:
        """User ``user`` edits an event; its notification arrives unless lost or dead."""
        subject = _subject(user)
        event_id = f"ev{user}x{self.clock.at:.0f}"
        self.calendar.put(subject, _event(event_id, self.clock.now()))
        key = calendar_key(subject, subject)
        live = self.live(subject)
        if lost or not live:
            self.lost.setdefault(key, []).append(self.clock.at)
            return
        now = self.clock.now()
        notice = SyncRequest(key, "notification", now, channel_id=live[-1])
        self.sync(notice)
        self.drain()

    def die(self, user: int) -> None:
        """The user's channels stop delivering, without a word."""
        self.dead.update(self.live(_subject(user)))


def _subject(user: int) -> str:
    return f"user{user}@example.com"


def _event(event_id: str, at: datetime) -> dict[str, Any]:
    start = at + timedelta(days=1)
    return {
        "id": event_id,
        "status": "confirmed",
        "summary": "meeting",
        "start": {"dateTime": start.isoformat()},
        "end": {"dateTime": (start + timedelta(hours=1)).isoformat()},
    }


def _enrol(fleet: _Fleet, users: int, rng: random.Random) -> None:
    """Enrol every calendar 12 to 24 hours before the day, each with its first (full) sync: its
    channel is renewed once during the day (at half its lifetime, the default's renewal
    window), at a moment spread as in a running fleet."""
    for user in sorted(range(users), key=lambda _u: rng.random()):
        fleet.clock.at = DAY_START - rng.uniform(12 * HOUR, 24 * HOUR)
        fleet.service.enroll(_subject(user), "primary")
        fleet.drain()


def _moments(work: Workload) -> Iterator[tuple[float, int, str, int, bool]]:
    """(when, order, what, user, lost) of every change and channel death, unsorted."""
    order = itertools.count()
    for user, changes in enumerate(work.changes):
        for at, lost in changes:
            yield at, next(order), "change", user, lost
    for user, death in enumerate(work.deaths):
        if death is not None:
            yield death, next(order), "die", user, False


@contextmanager
def _quiet() -> Iterator[None]:
    """confsync's INFO lines off (hundreds of thousands of runs), restored afterwards."""
    logger = logging.getLogger("confsync")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def simulate(day: Day, policy: Policy) -> Figures:
    """One simulated day of ``day``'s users under ``policy``; the same seed, the same figures."""
    began = time.monotonic()
    work = draw(day, DAY_END)
    with _quiet():
        fleet = _Fleet(day, policy)
        _enrol(fleet, day.users, random.Random(day.seed + 1))  # noqa: S311
        heap = list(_moments(work))
        heapq.heapify(heap)
        ticks = (DAY_START - 12 * HOUR + n * TICK_INTERVAL_S for n in itertools.count())
        next_tick = next(ticks)
        start_calls = None
        while next_tick <= DAY_END:
            if heap and heap[0][0] < next_tick:
                at, _, what, user, lost = heapq.heappop(heap)
                fleet.clock.at = at
                if what == "change":
                    fleet.change(user, lost)
                else:
                    fleet.die(user)
                continue
            fleet.clock.at = next_tick
            if start_calls is None and next_tick >= DAY_START:
                start_calls = _calls(fleet.calendar)
            fleet.service.tick()
            fleet.drain()
            next_tick = next(ticks)
        end_calls = _calls(fleet.calendar)
    total, lists, channel = (
        e - s for e, s in zip(end_calls, start_calls or (0, 0, 0), strict=True)
    )
    return Figures(
        users=day.users,
        changes=work.change_count,
        calendar_calls=total,
        list_calls=lists,
        channel_calls=channel,
        waits=fleet.waits,
        unrecovered=sum(len(v) for v in fleet.lost.values()),
        sim_wall_s=time.monotonic() - began,
    )


def run() -> list[dict[str, Any]]:
    """The ``quota`` row: sweeps by need, with a sweep every 900 s as its baseline."""
    day = Day(users=scaled(Day().users, minimum=100))
    policy = Policy()
    ours = simulate(day, policy)
    # A fifth of the users for the baseline: five times the sweeps, the same figures per user.
    today = simulate(replace(day, users=max(100, day.users // 5)), Policy(900, 900))
    row: dict[str, Any] = {
        "name": "quota",
        **ours.row(),
        "lost_notification_rate": day.lost_notification_rate,
        "dead_channel_rate": day.dead_channel_rate,
        "sweep_interval_s": policy.shortest_s,
        "sweep_max_interval_s": policy.longest_s,
        "baseline": {**today.row(), "sweep_max_interval_s": 900},
        "notes": "simulated day on a fake clock, real tick and sync runner on in-memory fakes; "
        "baseline: confsync's earlier sweep every 900 s in the same simulator, a fifth of the "
        "users (the seed's recipe sweeps nothing)",
    }
    return [row]
