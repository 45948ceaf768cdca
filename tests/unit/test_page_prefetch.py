"""A pull of several pages lists the next page while it applies the current one
(:mod:`confsync.sync.pull`): the run waits for the Calendar once, not once per page, and still
applies the pages one by one, in order."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from confsync.calendars import CalendarDoc
from confsync.errors import CalendarUnavailableError
from confsync.ports import EventPage
from confsync.testing import FakeCalendar
from tests.unit.test_sync_runner import CALENDAR, KEY, World

WAIT_S = 10.0  # a bound on waiting for the other thread, never a performance figure


def _world(events: int, page_size: int) -> World:
    world = World(calendar=FakeCalendar(page_size=page_size))
    world.calendars.put(CalendarDoc(key=KEY, subject=CALENDAR, calendar_id=CALENDAR))
    for n in range(events):
        world.conference_event(f"e{n}", f"c{n}")
    return world


class _ListingWatch:
    """Wraps the fake Calendar's ``events.list``: numbers the calls, notes on which thread each
    ran, and can make one of them fail."""

    def __init__(self, world: World) -> None:
        self._list = world.calendar.list_page
        self.started: dict[int, threading.Event] = {n: threading.Event() for n in range(1, 9)}
        self.threads: list[str] = []
        self.fail: int | None = None
        world.calendar.list_page = self.list_page  # type: ignore[method-assign]

    def list_page(self, calendar_id: str, **kwargs: Any) -> EventPage:
        n = len(self.threads) + 1
        self.threads.append(threading.current_thread().name)
        self.started[n].set()
        if n == self.fail:
            raise CalendarUnavailableError("events.list: HTTP 503")
        return self._list(calendar_id, **kwargs)


def test_the_next_page_is_listed_while_the_current_one_is_applied() -> None:
    """The conferencing system's answer for page 1 waits until page 2's listing has begun:
    without the listing ahead, page 2 would never be asked for and the wait would time out."""
    world = _world(events=6, page_size=2)
    watch = _ListingWatch(world)
    update = world.provider.update
    seen_listing: list[bool] = []

    def update_after_the_next_listing(op: Any) -> Any:
        if not seen_listing:
            seen_listing.append(watch.started[2].wait(WAIT_S))
        return update(op)

    world.provider.update = update_after_the_next_listing  # type: ignore[method-assign]

    outcome = world.sync()

    assert seen_listing == [True]
    assert (outcome.status, outcome.stats.pages, outcome.stats.updates) == ("synced", 3, 6)
    assert len(watch.threads) == 3
    assert watch.threads[0] == threading.current_thread().name
    assert all(name.startswith("calendar-next-page") for name in watch.threads[1:])
    assert world.calendars.get(KEY).sync_token is not None  # type: ignore[union-attr]


def test_a_single_page_pull_starts_no_thread() -> None:
    world = _world(events=2, page_size=10)
    watch = _ListingWatch(world)

    world.sync()

    assert watch.threads == [threading.current_thread().name]


def test_a_next_page_that_fails_stores_no_token_and_keeps_what_was_applied() -> None:
    """Page 2's listing fails while page 1 is applied: page 1's operations stand (as before),
    the run fails without a token, and the next run starts over."""
    world = _world(events=4, page_size=2)
    watch = _ListingWatch(world)
    watch.fail = 2

    with pytest.raises(CalendarUnavailableError):
        world.sync()

    stored = world.calendars.get(KEY)
    assert stored is not None
    assert stored.sync_token is None
    assert len([c for c in world.provider.calls if c.kind == "update"]) == 2  # page 1 only
    watch.fail = None

    outcome = world.sync()

    assert (outcome.status, outcome.stats.pages) == ("synced", 2)
