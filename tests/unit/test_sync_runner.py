"""The sync runner against in-memory fakes of every port."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from confsync.calendars import CalendarDoc, ChannelWindow, calendar_key
from confsync.errors import (
    CalendarAccessError,
    CalendarUnavailableError,
    ProviderUnavailableError,
)
from confsync.messages import SyncReason, SyncRequest
from confsync.planner import ConferenceMatcher
from confsync.sync import SyncOutcome, SyncRunner
from confsync.testing import (
    FakeCalendar,
    InMemoryCalendarStore,
    InMemoryRecordStore,
    RecordingProvider,
    RecordingPublisher,
)
from confsync.testing.settings import sync_settings
from tests.support.calendar_events import conference_data, event

CALENDAR = "alice@example.com"
KEY = calendar_key("alice@example.com", CALENDAR)
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Sleeper:
    """The runner's injected ``sleep``: records each pause and moves the clock on by it, then
    runs ``during`` (requests arriving while the runner waits)."""

    clock: Clock
    pauses: list[float] = field(default_factory=list)
    during: Callable[[], object] | None = None

    def __call__(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.clock.now += timedelta(seconds=seconds)
        if self.during is not None:
            self.during()


@dataclass
class World:
    calendar: FakeCalendar = field(default_factory=FakeCalendar)
    calendars: InMemoryCalendarStore = field(default_factory=InMemoryCalendarStore)
    records: InMemoryRecordStore = field(default_factory=InMemoryRecordStore)
    provider: RecordingProvider = field(default_factory=RecordingProvider)
    publisher: RecordingPublisher = field(default_factory=RecordingPublisher)
    clock: Clock = field(default_factory=Clock)
    sleeper: Sleeper = field(init=False)

    def __post_init__(self) -> None:
        self.sleeper = Sleeper(self.clock)

    def runner(self, **settings: Any) -> SyncRunner:
        # No delete grace unless a test asks for one (tests/unit/test_delete_grace.py does).
        settings.setdefault("delete_grace", timedelta(0))
        return SyncRunner(
            calendar_api=self.calendar,
            calendar_store=self.calendars,
            records=self.records,
            provider=self.provider,
            publisher=self.publisher,
            settings=sync_settings(
                matcher=ConferenceMatcher(solution_names=frozenset({"My Web Conference"})),
                relevant_fields=frozenset({"title", "start", "end", "attendees", "recurrence"}),
                **settings,
            ),
            now=self.clock,
            sleep=self.sleeper,
        )

    def sync(self, **settings: Any) -> Any:
        request = SyncRequest(calendar_key=KEY, reason="notification", notified_at=self.clock())
        return self.runner(**settings).run(request)

    def request(self, notified_at: datetime, reason: SyncReason = "notification") -> SyncOutcome:
        """A request of its own runner, as another instance of the function would handle it."""
        return self.runner().run(
            SyncRequest(calendar_key=KEY, reason=reason, notified_at=notified_at)
        )

    def during_first_list(self, action: Callable[[], object]) -> None:
        """Run ``action`` while the next run's first ``events.list`` is being served."""
        original = self.calendar.list_page
        calls = {"n": 0}

        def list_page(calendar_id: str, **kwargs: Any) -> Any:
            calls["n"] += 1
            if calls["n"] == 1:
                action()
            return original(calendar_id, **kwargs)

        self.calendar.list_page = list_page  # type: ignore[method-assign]

    def conference_event(self, event_id: str, conference_id: str, **fields: Any) -> None:
        self.provider.create(conference_id)
        self.calendar.put(CALENDAR, _event(event_id, conference_id, **fields))


def _event(event_id: str, conference_id: str | None, **fields: Any) -> dict[str, Any]:
    conference = (
        None
        if conference_id is None
        else conference_data(conference_id, join_url=f"https://conf.example/j/{conference_id}")
    )
    body: dict[str, Any] = {
        "start": "2026-12-02T10:00:00Z",
        "end": "2026-12-02T11:00:00Z",
        "organizer": CALENDAR,
        "conference": conference,
    }
    body.update(fields)
    return event(event_id, **body)


@pytest.fixture(name="world")
def world_fixture() -> World:
    world = World()
    world.calendars.put(CalendarDoc(key=KEY, subject="alice@example.com", calendar_id=CALENDAR))
    return world


def test_first_sync_is_a_full_sync_that_adopts_conferences_and_stores_a_token(
    world: World,
) -> None:
    world.conference_event("e1", "c1")
    world.calendar.put(CALENDAR, _event("e2", None))

    outcome = world.sync()

    assert outcome.status == "synced"
    assert outcome.stats.full_sync
    assert [(c.kind, c.conference_id) for c in world.provider.applied()] == [("update", "c1")]
    doc = world.calendars.get(KEY)
    assert doc is not None
    assert doc.sync_token is not None
    assert doc.lease_owner is None


def test_edit_after_the_first_sync_is_sent_incrementally(world: World) -> None:
    world.conference_event("e1", "c1")
    world.sync()

    world.calendar.put(CALENDAR, _event("e1", "c1", summary="Planning v2"))
    outcome = world.sync()

    assert not outcome.stats.full_sync
    last = world.provider.applied()[-1]
    assert last.changed_fields == ("title",)
    assert world.provider.conferences["c1"].state is not None
    assert world.provider.conferences["c1"].state["title"] == "Planning v2"


def test_irrelevant_edit_costs_no_operation_and_no_record_write(world: World) -> None:
    world.conference_event("e1", "c1")
    world.sync()
    writes_before, calls_before = world.records.writes, len(world.provider.calls)

    world.calendar.put(CALENDAR, _event("e1", "c1", colorId="5"))
    world.sync()

    assert world.records.writes == writes_before
    assert len(world.provider.calls) == calls_before


def test_deleted_event_deletes_its_conference(world: World) -> None:
    world.conference_event("e1", "c1")
    world.sync()

    world.calendar.delete(CALENDAR, "e1")
    world.sync()

    assert world.provider.conferences["c1"].deleted


def test_token_invalidated_while_events_were_deleted_reconciles_them(world: World) -> None:
    world.conference_event("e1", "c1")
    world.conference_event("e2", "c2")
    world.sync()

    world.calendar.delete(CALENDAR, "e1")
    world.calendar.invalidate_tokens(CALENDAR)
    outcome = world.sync()

    assert outcome.stats.full_sync
    assert outcome.stats.reconciled == 1  # e1 did not come back: confirmed with events.get
    assert world.provider.conferences["c1"].deleted
    assert not world.provider.conferences["c2"].deleted


def test_provider_outage_leaves_the_operation_pending_and_the_token_advances(
    world: World,
) -> None:
    world.conference_event("e1", "c1")
    world.sync()
    world.calendar.put(CALENDAR, _event("e1", "c1", summary="Renamed"))
    token_before = world.calendars.get(KEY).sync_token  # type: ignore[union-attr]
    world.provider.failures = [ProviderUnavailableError("503")]

    outcome = world.sync()

    assert outcome.stats.pending == 1
    doc = world.calendars.get(KEY)
    assert doc is not None
    assert doc.sync_token != token_before
    assert doc.pending_count == 1

    world.clock.now += timedelta(minutes=2)  # past the first backoff
    retry = world.sync()

    assert retry.stats.pending_retried == 1
    assert world.provider.conferences["c1"].state["title"] == "Renamed"  # type: ignore[index]
    assert world.calendars.get(KEY).pending_count == 0  # type: ignore[union-attr]


def test_pending_operation_is_not_retried_before_its_backoff(world: World) -> None:
    world.conference_event("e1", "c1")
    world.provider.failures = [ProviderUnavailableError("503")]
    world.sync()

    outcome = world.sync()  # same instant: not due yet

    assert outcome.stats.pending_retried == 0
    assert world.provider.applied() == []


def test_calendar_outage_raises_for_a_redelivery_and_releases_the_lease(world: World) -> None:
    world.calendar.fail_lists = [CalendarUnavailableError("503 backendError")]

    with pytest.raises(CalendarUnavailableError):
        world.sync()

    doc = world.calendars.get(KEY)
    assert doc is not None
    assert doc.lease_owner is None
    assert doc.sync_token is None
    assert world.sync().status == "synced"  # the redelivery succeeds


def test_revoked_access_disconnects_the_calendar_and_keeps_its_data(world: World) -> None:
    world.conference_event("e1", "c1")
    world.sync()
    world.calendar.fail_lists = [CalendarAccessError("401 invalid_grant")]

    outcome = world.sync()

    assert outcome.status == "disconnected"
    doc = world.calendars.get(KEY)
    assert doc is not None
    assert doc.state == "disconnected"
    assert doc.lease_owner is None
    assert world.records.all()  # nothing deleted
    assert world.sync().status == "skipped"


def _while_listing(world: World, state: str, outcome: str, denied: str) -> None:
    """The next ``events.list`` finds the calendar moved to ``state`` meanwhile (by the channels
    function), then fails with the access error ``denied``."""

    def changed_then_denied(_calendar_id: str, **_kwargs: Any) -> Any:
        world.calendars.set_state(KEY, state, now=world.clock(), outcome=outcome)
        raise CalendarAccessError(denied)

    world.calendar.list_page = changed_then_denied  # type: ignore[method-assign,assignment]


def test_a_calendar_unenrolled_during_the_run_stays_unenrolled_when_access_fails(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """The channels function unenrols the calendar (and the user deletes it) while a run pulls:
    the run's 404 must not turn the unenrolment back into a disconnected calendar."""
    world.conference_event("e1", "c1")
    world.sync()

    _while_listing(world, "unenrolled", "unenrolled", "events.list: HTTP 404 notFound")
    with caplog.at_level(logging.INFO):
        outcome = world.sync()

    doc = world.calendars.get(KEY)
    assert doc is not None
    assert doc.state == "unenrolled"
    assert doc.lease_owner is None
    assert outcome.status == "skipped"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]  # no disconnection alert


def test_a_calendar_gone_poll_only_during_the_run_is_still_disconnected(world: World) -> None:
    world.conference_event("e1", "c1")
    world.sync()

    _while_listing(world, "poll-only", "channel failed", "401 invalid_grant")
    outcome = world.sync()

    doc = world.calendars.get(KEY)
    assert doc is not None
    assert (outcome.status, doc.state) == ("disconnected", "disconnected")


def test_request_during_a_pull_makes_the_owner_pull_again(world: World) -> None:
    world.conference_event("e1", "c1")
    world.sync()
    world.calendar.put(CALENDAR, _event("e1", "c1", summary="First edit"))

    def edit_and_notify_during_the_pull(_calendar_id: str, **_kwargs: Any) -> None:
        world.calendar.put(CALENDAR, _event("e1", "c1", summary="Second edit"))
        concurrent = world.runner().run(
            SyncRequest(calendar_key=KEY, reason="notification", notified_at=T0)
        )
        assert concurrent.status == "coalesced"

    original = world.calendar.list_page
    calls = {"n": 0}

    def list_page(calendar_id: str, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            edit_and_notify_during_the_pull(calendar_id, **kwargs)
        return original(calendar_id, **kwargs)

    world.calendar.list_page = list_page  # type: ignore[method-assign]
    outcome = world.sync()

    assert outcome.stats.rounds == 2
    assert world.provider.conferences["c1"].state["title"] == "Second edit"  # type: ignore[index]


def test_endless_notifications_hand_over_to_a_new_run(world: World) -> None:
    original = world.calendar.list_page

    def list_page(calendar_id: str, **kwargs: Any) -> Any:
        world.calendars.notify(KEY, world.clock())  # a new notification during every pull
        return original(calendar_id, **kwargs)

    world.calendar.list_page = list_page  # type: ignore[method-assign]
    outcome = world.sync(max_rounds=3)

    assert outcome.status == "republished"
    assert [r.reason for r in world.publisher.published] == ["republish"]
    assert world.calendars.get(KEY).lease_owner is None  # type: ignore[union-attr]


def test_join_url_changed_by_the_provider_is_written_back(world: World) -> None:
    world.conference_event("e1", "c1")
    world.provider.set_join_url("c1", "https://conf.example/j/c1-moved")

    world.sync()

    stored = world.calendar.event(CALENDAR, "e1")
    assert stored["conferenceData"]["entryPoints"][0]["uri"] == "https://conf.example/j/c1-moved"


def test_write_back_never_overwrites_a_concurrent_user_edit(world: World) -> None:
    world.conference_event("e1", "c1")
    world.provider.set_join_url("c1", "https://conf.example/j/c1-moved")
    edits = {"n": 0}

    def user_edits_first(calendar_id: str, event_id: str) -> None:
        if edits["n"] == 0:
            edits["n"] += 1
            stored = world.calendar.event(calendar_id, event_id)
            world.calendar.put(calendar_id, {**stored, "summary": "Edited by the user"})

    world.calendar.before_patch = user_edits_first
    world.sync()

    stored = world.calendar.event(CALENDAR, "e1")
    assert stored["summary"] == "Edited by the user"
    assert stored["conferenceData"]["entryPoints"][0]["uri"] == "https://conf.example/j/c1-moved"
    assert world.calendar.patch_calls == 2  # the 412, then the retry on the fresh etag


def test_echo_of_the_write_back_sends_nothing(world: World) -> None:
    world.conference_event("e1", "c1")
    world.provider.set_join_url("c1", "https://conf.example/j/c1-moved")
    world.sync()
    calls = len(world.provider.calls)

    world.sync()  # sees our own patch of e1

    assert len(world.provider.calls) == calls


def test_unknown_calendar_is_skipped(world: World) -> None:
    request = SyncRequest(calendar_key="ck_nobody", reason="sweep", notified_at=T0)

    assert world.runner().run(request).status == "skipped"


def test_operation_past_its_retry_budget_is_failed_and_alerted(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    world.conference_event("e1", "c1")
    world.provider.failures = [ProviderUnavailableError("503")] * 2

    world.sync(pending_max_attempts=2)
    world.clock.now += timedelta(minutes=2)
    outcome = world.sync(pending_max_attempts=2)

    assert outcome.stats.failed == 1
    [record] = world.records.all().values()
    assert record.status == "failed"
    assert world.calendars.get(KEY).pending_count == 0  # type: ignore[union-attr]
    alert = [r for r in caplog.records if getattr(r, "alert", None)]
    assert alert[0].levelname == "ERROR"


# --- covered notifications and settling (docs/decisions/2026-11-24-covered-notifications.md) ---

SECOND = timedelta(seconds=1)


def _synced_at(world: World, pulled_from: datetime) -> None:
    """One conference event, synced by a pull that began at ``pulled_from``."""
    world.conference_event("e1", "c1")
    world.clock.now = pulled_from
    assert world.sync().status == "synced"


def test_notification_sent_before_the_stored_pull_began_is_covered_without_a_write(
    world: World,
) -> None:
    _synced_at(world, T0)
    world.clock.now = T0 + 9 * SECOND  # delivered late
    reads, writes, lists = world.calendars.reads, world.calendars.writes, world.calendar.list_calls

    outcome = world.request(notified_at=T0 - SECOND)

    assert outcome.status == "covered"
    assert world.calendars.writes == writes
    assert world.calendars.reads == reads + 1
    assert world.calendar.list_calls == lists
    assert world.calendars.get(KEY).lease_owner is None  # type: ignore[union-attr]


def test_notification_within_the_skew_of_the_stored_pull_is_synced(world: World) -> None:
    _synced_at(world, T0)
    world.calendar.put(CALENDAR, _event("e1", "c1", summary="Edited just before the pull"))
    lists = world.calendar.list_calls

    outcome = world.request(notified_at=T0 - SECOND + timedelta(milliseconds=1))

    assert outcome.status == "synced"
    assert world.calendar.list_calls == lists + 1
    assert world.provider.conferences["c1"].state["title"] == "Edited just before the pull"  # type: ignore[index]


@pytest.mark.parametrize("reason", ["sweep", "manual", "enroll", "republish"])
def test_requests_other_than_notifications_are_never_covered(
    world: World, reason: SyncReason
) -> None:
    _synced_at(world, T0)
    lists = world.calendar.list_calls

    outcome = world.request(notified_at=T0 - 60 * SECOND, reason=reason)

    assert outcome.status == "synced"
    assert world.calendar.list_calls == lists + 1


def test_late_notification_during_a_pull_is_covered_and_costs_no_second_pull(
    world: World,
) -> None:
    _synced_at(world, T0)
    world.clock.now = T0 + 10 * SECOND
    world.calendar.put(CALENDAR, _event("e1", "c1", summary="Edited at T0 + 5 s"))
    coalesced: list[SyncOutcome] = []
    world.during_first_list(lambda: coalesced.append(world.request(T0 + 5 * SECOND)))
    lists = world.calendar.list_calls

    outcome = world.sync()

    assert [c.status for c in coalesced] == ["coalesced"]
    assert outcome.status == "synced"
    assert (outcome.stats.rounds, outcome.stats.covered) == (1, 1)
    assert world.calendar.list_calls == lists + 1
    assert world.sleeper.pauses == []
    doc = world.calendars.get(KEY)
    assert doc is not None
    assert (doc.lease_owner, doc.pulled_from) == (None, T0 + 10 * SECOND)
    assert world.provider.conferences["c1"].state["title"] == "Edited at T0 + 5 s"  # type: ignore[index]


def test_notification_newer_than_the_pull_makes_the_owner_settle_and_pull_again(
    world: World,
) -> None:
    _synced_at(world, T0)
    world.clock.now = T0 + 10 * SECOND

    def edit_and_notify() -> None:
        world.calendar.put(CALENDAR, _event("e1", "c1", summary="Edited during the pull"))
        assert world.request(T0 + 9 * SECOND + timedelta(milliseconds=1)).status == "coalesced"

    world.during_first_list(edit_and_notify)

    outcome = world.sync()

    assert outcome.status == "synced"
    assert (outcome.stats.rounds, outcome.stats.covered) == (2, 0)
    assert world.sleeper.pauses == [0.5]  # nothing else arrived: one settle step
    assert world.provider.conferences["c1"].state["title"] == "Edited during the pull"  # type: ignore[index]
    doc = world.calendars.get(KEY)
    assert doc is not None
    assert doc.pulled_from == T0 + 10.5 * SECOND  # the second pull's token is stored


def test_sweep_during_a_pull_counts_from_its_arrival_and_makes_the_owner_pull_again(
    world: World,
) -> None:
    _synced_at(world, T0)
    world.clock.now = T0 + 10 * SECOND
    world.during_first_list(
        lambda: world.request(T0 - 60 * SECOND, reason="sweep")  # old, but arrives now
    )

    outcome = world.sync()

    assert (outcome.status, outcome.stats.rounds) == ("synced", 2)


def test_settling_waits_while_requests_keep_arriving_and_stops_at_settle_max(
    world: World,
) -> None:
    _synced_at(world, T0)
    world.during_first_list(lambda: world.request(world.clock()))
    world.sleeper.during = lambda: world.request(world.clock())  # a burst that goes on

    outcome = world.sync(settle=timedelta(milliseconds=300), settle_max=timedelta(seconds=1))

    assert world.sleeper.pauses == pytest.approx([0.3, 0.3, 0.3, 0.1])
    assert outcome.stats.settle_waits == 4
    assert (outcome.status, outcome.stats.rounds) == ("synced", 2)


def test_settling_stops_once_no_request_arrived_during_a_step(world: World) -> None:
    _synced_at(world, T0)
    world.during_first_list(lambda: world.request(world.clock()))
    arrivals = iter([True, True])

    def during_settling() -> None:
        if next(arrivals, False):
            world.request(world.clock())

    world.sleeper.during = during_settling

    outcome = world.sync()

    assert world.sleeper.pauses == [0.5, 0.5, 0.5]
    assert (outcome.status, outcome.stats.rounds) == ("synced", 2)


def test_a_single_sync_is_never_delayed(world: World) -> None:
    _synced_at(world, T0)
    world.calendar.put(CALENDAR, _event("e1", "c1", summary="One edit"))

    outcome = world.sync()

    assert (outcome.status, outcome.stats.rounds) == ("synced", 1)
    assert world.sleeper.pauses == []


def test_late_stragglers_of_a_burst_cost_one_pull_together(world: World) -> None:
    """Notifications stamped just before the stored pull began (within ``skew``), delivered
    after its commit: the first waits until that pull began ``skew`` ago, and its pull covers
    the others; before, each pulled an empty page of its own."""
    _synced_at(world, T0)
    world.clock.now = T0 + timedelta(milliseconds=200)
    lists = world.calendar.list_calls
    stamps = [T0 - timedelta(milliseconds=ms) for ms in (100, 600, 300, 900)]

    outcomes = [world.request(stamp) for stamp in stamps]

    assert [o.status for o in outcomes] == ["synced", "covered", "covered", "covered"]
    assert world.calendar.list_calls == lists + 1
    assert world.sleeper.pauses == pytest.approx([0.8])  # until T0 + skew, not a full skew
    doc = world.calendars.get(KEY)
    assert doc is not None
    assert doc.pulled_from == T0 + SECOND


def test_straggler_arriving_during_the_wait_is_covered_at_the_commit(world: World) -> None:
    _synced_at(world, T0)
    world.clock.now = T0 + timedelta(milliseconds=100)
    world.sleeper.during = lambda: world.request(T0 - timedelta(milliseconds=50))

    outcome = world.request(T0 - timedelta(milliseconds=400))

    assert outcome.status == "synced"
    assert (outcome.stats.rounds, outcome.stats.covered) == (1, 1)
    assert world.sleeper.pauses == pytest.approx([0.9])


def test_notification_stamped_after_the_stored_pull_began_is_not_delayed(world: World) -> None:
    _synced_at(world, T0)
    world.calendar.put(CALENDAR, _event("e1", "c1", summary="Edited after the pull began"))

    outcome = world.request(T0 + timedelta(milliseconds=1))

    assert outcome.status == "synced"
    assert world.sleeper.pauses == []
    assert world.provider.conferences["c1"].state["title"] == "Edited after the pull began"  # type: ignore[index]


# --- series exceptions when a series' conference changes ----------------------------------------

WEEKLY = ["RRULE:FREQ=WEEKLY;COUNT=4"]


def _series(conference_id: str | None) -> dict[str, Any]:
    return _event(
        "s1",
        conference_id,
        summary="Weekly",
        start={"dateTime": "2026-12-02T10:00:00Z", "timeZone": "Europe/Paris"},
        end={"dateTime": "2026-12-02T11:00:00Z", "timeZone": "Europe/Paris"},
        recurrence=WEEKLY,
    )


def _change_two_occurrences(world: World) -> None:
    """The user moves the second occurrence and cancels the third (exception objects)."""
    world.calendar.put(
        CALENDAR,
        {
            "id": "s1_20261209T100000Z",
            "status": "confirmed",
            "summary": "Weekly (moved)",
            "recurringEventId": "s1",
            "originalStartTime": {"dateTime": "2026-12-09T10:00:00Z"},
            "start": {"dateTime": "2026-12-10T10:00:00Z"},
            "end": {"dateTime": "2026-12-10T11:00:00Z"},
        },
    )
    world.calendar.put(
        CALENDAR,
        {
            "id": "s1_20261216T100000Z",
            "status": "cancelled",
            "recurringEventId": "s1",
            "originalStartTime": {"dateTime": "2026-12-16T10:00:00Z"},
        },
    )


def _occurrences(world: World, conference_id: str) -> tuple[list[str], list[str]]:
    state = world.provider.conferences[conference_id].state
    assert state is not None
    moved = [o["originalStart"] for o in state["modifiedOccurrences"]]
    return moved, state["cancelledOccurrences"]


CHANGED = (["2026-12-09T10:00:00Z"], ["2026-12-16T10:00:00Z"])


def test_series_getting_a_conference_later_brings_its_earlier_exceptions(world: World) -> None:
    world.calendar.put(CALENDAR, _series(None))
    _change_two_occurrences(world)
    world.sync()  # nothing of ours yet
    world.provider.create("c2")

    world.calendar.put(CALENDAR, _series("c2"))
    outcome = world.sync()

    assert outcome.stats.series_lookups == 1
    assert world.calendar.series_calls == [world.calendar.event(CALENDAR, "s1")["iCalUID"]]
    assert _occurrences(world, "c2") == CHANGED
    assert len(world.provider.applied("update")) == 1  # adopted with them, in one update


def test_series_conference_replaced_keeps_its_exceptions_on_the_new_one(world: World) -> None:
    world.conference_event("s1", "c1", **_series("c1"))
    _change_two_occurrences(world)
    world.sync()
    assert _occurrences(world, "c1") == CHANGED
    world.provider.create("c2")

    world.calendar.put(CALENDAR, _series("c2"))
    outcome = world.sync()

    assert outcome.stats.series_lookups == 1
    assert world.provider.conferences["c1"].deleted
    assert _occurrences(world, "c2") == CHANGED


def test_full_sync_folds_exceptions_listed_before_their_master_without_a_lookup() -> None:
    world = World(calendar=FakeCalendar(page_size=1))
    world.calendars.put(CalendarDoc(key=KEY, subject=CALENDAR, calendar_id=CALENDAR))
    _change_two_occurrences(world)  # listed first: changed before the master's last edit
    world.conference_event("s1", "c1", **_series("c1"))

    outcome = world.sync()

    assert outcome.stats.full_sync
    assert outcome.stats.pages == 3
    assert outcome.stats.series_lookups == 0
    assert _occurrences(world, "c1") == CHANGED


def test_edit_of_an_attached_series_costs_no_lookup(world: World) -> None:
    world.conference_event("s1", "c1", **_series("c1"))
    world.sync()

    world.calendar.put(CALENDAR, {**_series("c1"), "summary": "Weekly, renamed"})
    outcome = world.sync()

    assert outcome.stats.updates == 1
    assert outcome.stats.series_lookups == 0


# --- join URL written back to every event of a shared conference ---------------------------------

ROTATED = "https://conf.example/j/c1-rotated"


def _video_uri(world: World, event_id: str) -> str:
    uri: str = world.calendar.event(CALENDAR, event_id)["conferenceData"]["entryPoints"][0]["uri"]
    return uri


def test_new_join_url_reaches_the_sharing_event_that_was_not_edited(world: World) -> None:
    world.conference_event("e1", "c1")
    world.calendar.put(CALENDAR, _event("e2", "c1", summary="Follow-up"))
    world.sync()
    world.provider.set_join_url("c1", ROTATED)

    world.calendar.put(CALENDAR, _event("e1", "c1", summary="Planning v2"))
    outcome = world.sync()

    assert outcome.stats.write_backs == 2
    assert _video_uri(world, "e1") == _video_uri(world, "e2") == ROTATED


def test_write_back_to_a_sharing_event_keeps_the_users_concurrent_edit(world: World) -> None:
    world.conference_event("e1", "c1")
    world.calendar.put(CALENDAR, _event("e2", "c1", summary="Follow-up"))
    world.sync()
    world.provider.set_join_url("c1", ROTATED)
    world.calendar.put(CALENDAR, _event("e1", "c1", summary="Planning v2"))

    def user_edits_e2_first(calendar_id: str, event_id: str) -> None:
        if event_id == "e2" and world.calendar.before_patch is not None:
            world.calendar.before_patch = None
            stored = world.calendar.event(calendar_id, event_id)
            world.calendar.put(calendar_id, {**stored, "summary": "Follow-up, edited"})

    world.calendar.before_patch = user_edits_e2_first
    world.sync()

    stored = world.calendar.event(CALENDAR, "e2")
    assert stored["summary"] == "Follow-up, edited"
    assert _video_uri(world, "e2") == ROTATED


def test_update_applied_on_a_pending_retry_writes_the_new_join_url_back(world: World) -> None:
    world.conference_event("e1", "c1")
    world.calendar.put(CALENDAR, _event("e2", "c1", summary="Follow-up"))
    world.sync()
    world.calendar.put(CALENDAR, _event("e1", "c1", summary="Planning v2"))
    world.provider.failures = [ProviderUnavailableError("503")]
    world.sync()  # pending
    world.provider.set_join_url("c1", ROTATED)

    world.clock.now += timedelta(minutes=2)  # past the first backoff
    retry = world.sync()

    assert retry.stats.pending_retried == 1
    assert retry.stats.write_backs == 2
    assert _video_uri(world, "e1") == _video_uri(world, "e2") == ROTATED


# --- the known join URL: no needless reads, repair on sight --------------------------------------


def test_update_answered_with_the_known_join_url_reads_no_other_event(world: World) -> None:
    world.conference_event("e1", "c1")
    world.calendar.put(CALENDAR, _event("e2", "c1", summary="Follow-up"))
    world.sync()
    reads = world.calendar.get_calls

    world.calendar.put(CALENDAR, _event("e1", "c1", summary="Planning v2"))
    outcome = world.sync()

    assert outcome.stats.updates == 1
    assert outcome.stats.write_backs == 0
    assert world.calendar.get_calls == reads  # e2 already shows the URL the answer repeats


def test_update_answered_with_a_new_join_url_reads_the_events_not_on_the_page(
    world: World,
) -> None:
    world.conference_event("e1", "c1")
    world.calendar.put(CALENDAR, _event("e2", "c1", summary="Follow-up"))
    world.sync()
    reads = world.calendar.get_calls
    world.provider.set_join_url("c1", ROTATED)

    world.calendar.put(CALENDAR, _event("e1", "c1", summary="Planning v2"))
    outcome = world.sync()

    assert world.calendar.get_calls == reads + 1  # e2, the only event not on the page
    assert outcome.stats.write_backs == 2
    assert _video_uri(world, "e2") == ROTATED


def test_record_without_a_known_join_url_takes_the_answer_as_new(world: World) -> None:
    world.conference_event("e1", "c1")
    world.calendar.put(CALENDAR, _event("e2", "c1", summary="Follow-up"))
    world.sync()
    # As stored before join URLs were kept: the answer cannot be compared, so e2 is checked.
    [record] = world.records.all().values()
    assert record.sent is not None
    world.records.save([replace(record, sent=replace(record.sent, join_url=None))])
    reads = world.calendar.get_calls

    world.calendar.put(CALENDAR, _event("e1", "c1", summary="Planning v2"))
    world.sync()

    assert world.calendar.get_calls == reads + 1
    [after] = world.records.all().values()
    assert after.sent is not None
    assert after.sent.join_url == "https://conf.example/j/c1"


def _rotated_and_written_back(world: World) -> None:
    world.conference_event("e1", "c1")
    world.sync()
    world.provider.set_join_url("c1", ROTATED)
    world.calendar.put(CALENDAR, _event("e1", "c1", summary="Planning v2"))
    assert world.sync().stats.write_backs == 1


def test_event_joining_with_an_old_join_url_is_repaired_without_an_update(world: World) -> None:
    _rotated_and_written_back(world)
    calls, reads = len(world.provider.calls), world.calendar.get_calls

    # A copy made from an old invitation: same conference, the URL from before the rotation.
    world.calendar.put(CALENDAR, _event("e2", "c1", summary="Follow-up"))
    outcome = world.sync()

    assert len(world.provider.calls) == calls  # the conference's state did not change
    assert outcome.stats.write_backs == 1
    assert world.calendar.get_calls == reads
    assert _video_uri(world, "e2") == ROTATED
    assert world.sync().stats.write_backs == 0  # the repair's echo is a no-op


def test_repair_on_sight_keeps_a_concurrent_user_edit(world: World) -> None:
    _rotated_and_written_back(world)
    world.calendar.put(CALENDAR, _event("e2", "c1", summary="Follow-up"))

    def user_renames_e2_first(calendar_id: str, event_id: str) -> None:
        world.calendar.before_patch = None
        stored = world.calendar.event(calendar_id, event_id)
        world.calendar.put(calendar_id, {**stored, "summary": "Follow-up, renamed"})

    world.calendar.before_patch = user_renames_e2_first
    world.sync()

    stored = world.calendar.event(CALENDAR, "e2")
    assert stored["summary"] == "Follow-up, renamed"
    assert _video_uri(world, "e2") == ROTATED


def test_attendee_copy_with_an_old_join_url_is_left_alone(world: World) -> None:
    _rotated_and_written_back(world)
    patches = world.calendar.patch_calls

    world.calendar.put(
        CALENDAR,
        _event("e3", "c1", organizer={"email": "carol@example.com"}, summary="Carol's copy"),
    )
    world.sync()

    assert world.calendar.patch_calls == patches  # not ours to edit
    assert _video_uri(world, "e3") == "https://conf.example/j/c1"


# --- views that cannot be trusted: accessRole below writer -------------------------------------


def _strip_conferences_below_reader(world: World) -> None:
    """Serve a ``freeBusyReader`` view as Google does: the events without ``conferenceData``."""
    original = world.calendar.list_page

    def list_page(calendar_id: str, **kwargs: Any) -> Any:
        page = original(calendar_id, **kwargs)
        if page.access_role != "freeBusyReader":
            return page
        items = tuple({k: v for k, v in i.items() if k != "conferenceData"} for i in page.items)
        return replace(page, items=items)

    world.calendar.list_page = list_page  # type: ignore[method-assign]


def _disconnected_for_access_role(world: World) -> CalendarDoc:
    doc = world.calendars.get(KEY)
    assert doc is not None
    assert doc.state == "disconnected"
    assert doc.last_outcome is not None
    assert doc.last_outcome.startswith("access_role")
    assert doc.lease_owner is None
    return doc


def test_free_busy_view_after_a_410_deletes_nothing_and_disconnects_the_calendar(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    world.conference_event("e1", "c1")
    world.conference_event("e2", "c2")
    world.sync()
    token = world.calendars.get(KEY).sync_token  # type: ignore[union-attr]
    calls, records = list(world.provider.calls), world.records.all()
    _strip_conferences_below_reader(world)
    world.calendar.set_access_role(CALENDAR, "freeBusyReader")
    world.calendar.invalidate_tokens(CALENDAR)

    outcome = world.sync()

    assert outcome.status == "disconnected"
    assert world.provider.calls == calls  # nothing deleted, nothing sent
    assert not any(c.deleted for c in world.provider.conferences.values())
    assert world.records.all() == records
    doc = _disconnected_for_access_role(world)
    assert "freeBusyReader" in (doc.last_outcome or "")
    assert doc.sync_token == token  # the full sync's token was not stored
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1
    assert KEY in errors[0].getMessage()
    assert "freeBusyReader" in errors[0].getMessage()
    assert world.sync().status == "skipped"


def test_reader_view_on_an_incremental_page_sends_nothing_and_keeps_the_token(
    world: World,
) -> None:
    world.conference_event("e1", "c1")
    world.conference_event("e2", "c2")
    world.sync()
    token = world.calendars.get(KEY).sync_token  # type: ignore[union-attr]
    calls = list(world.provider.calls)
    world.calendar.put(CALENDAR, _event("e1", "c1", summary="Planning v2"))
    world.calendar.delete(CALENDAR, "e2")
    world.calendar.set_access_role(CALENDAR, "reader")

    outcome = world.sync()

    assert outcome.status == "disconnected"
    assert not outcome.stats.full_sync
    assert world.provider.calls == calls
    doc = _disconnected_for_access_role(world)
    assert doc.sync_token == token


def test_untrusted_later_page_stops_the_pull_before_it_is_planned(world: World) -> None:
    world.calendar = FakeCalendar(page_size=1)
    for n in (1, 2, 3):
        world.conference_event(f"e{n}", f"c{n}")
    world.sync()
    token = world.calendars.get(KEY).sync_token  # type: ignore[union-attr]
    for n in (1, 2, 3):
        world.calendar.put(CALENDAR, _event(f"e{n}", f"c{n}", summary=f"Renamed {n}"))
    original = world.calendar.list_page

    def demoted_after_the_first_page(calendar_id: str, **kwargs: Any) -> Any:
        page = original(calendar_id, **kwargs)
        world.calendar.set_access_role(CALENDAR, "reader")
        return page

    world.calendar.list_page = demoted_after_the_first_page  # type: ignore[method-assign]
    outcome = world.sync()

    assert outcome.status == "disconnected"
    assert outcome.stats.pages == 1  # the second page was never taken
    renamed = [c.conference_id for c in world.provider.applied("update")[3:]]
    assert renamed == ["c1"]  # the first page, trusted, was applied; nothing after it
    assert _disconnected_for_access_role(world).sync_token == token


@pytest.mark.parametrize("role", ["writer", "owner", None])
def test_writer_owner_or_no_access_role_is_trusted(world: World, role: str | None) -> None:
    world.calendar.set_access_role(CALENDAR, role)
    world.conference_event("e1", "c1")

    assert world.sync().status == "synced"
    assert [c.conference_id for c in world.provider.applied()] == ["c1"]


def test_unknown_access_role_is_not_trusted(world: World) -> None:
    world.calendar.set_access_role(CALENDAR, "none")
    world.conference_event("e1", "c1")

    assert world.sync().status == "disconnected"
    assert world.provider.calls == []
    _disconnected_for_access_role(world)


def test_role_back_to_writer_and_enrolled_again_syncs_again(world: World) -> None:
    world.conference_event("e1", "c1")
    world.sync()
    world.calendar.set_access_role(CALENDAR, "reader")
    world.calendar.put(CALENDAR, _event("e1", "c1", summary="Planning v2"))
    assert world.sync().status == "disconnected"

    world.calendar.set_access_role(CALENDAR, "writer")
    world.calendars.set_state(KEY, "active", now=world.clock(), outcome="enrolled")  # enroll
    outcome = world.sync()

    assert outcome.status == "synced"
    assert not outcome.stats.full_sync  # the token was kept
    assert world.provider.conferences["c1"].state["title"] == "Planning v2"  # type: ignore[index]
    doc = world.calendars.get(KEY)
    assert doc is not None
    assert doc.state == "active"


# --- notifications from channels that were not live (issue #13, M1) ------------------------------


def _windows(world: World, **windows: tuple[datetime, datetime]) -> None:
    """Give the calendar these live channel windows (as the channel service records them)."""
    doc = world.calendars.get(KEY)
    assert doc is not None
    channels = {i: ChannelWindow(opened, until) for i, (opened, until) in windows.items()}
    world.calendars.put(replace(doc, channels=channels))


def _from_channel(world: World, channel_id: str, notified_at: datetime) -> SyncOutcome:
    return world.runner().run(
        SyncRequest(
            calendar_key=KEY,
            reason="notification",
            notified_at=notified_at,
            channel_id=channel_id,
            message_number=7,
        )
    )


def test_a_request_from_a_channel_that_was_not_live_is_dropped_without_a_calendar_call(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    world.conference_event("e1", "conf-1")
    _windows(world, old=(T0 - timedelta(days=3), T0 - timedelta(days=1)), new=(T0, T0 + DAY))
    caplog.set_level(logging.INFO, logger="confsync.sync")
    reads, writes = world.calendars.reads, world.calendars.writes

    outcomes = [
        _from_channel(world, "old", T0 + timedelta(hours=1)),  # superseded a day ago
        _from_channel(world, "leaked", T0 + timedelta(hours=1)),  # never this calendar's
        _from_channel(world, "new", T0 - timedelta(hours=1)),  # before it was opened
    ]

    assert [o.status for o in outcomes] == ["dropped"] * 3
    assert world.calendar.list_calls == 0
    assert world.provider.calls == []
    assert world.calendars.reads == reads + 3  # the one read every run makes, nothing more
    assert world.calendars.writes == writes
    assert world.publisher.published == []  # never retried
    warnings = [r for r in caplog.records if r.levelname == "WARNING" and "dropped" in r.msg]
    assert [getattr(r, "labels", {}) for r in warnings] == [
        {"calendar_key": KEY, "channel_id": c} for c in ("old", "leaked", "new")
    ]
    summaries = [r for r in caplog.records if getattr(r, "sync", {}).get("status") == "dropped"]
    assert len(summaries) == 3  # counted by the sync-runs metric (status label)


def test_the_renewal_overlap_keeps_both_channels_live(world: World) -> None:
    world.conference_event("e1", "conf-1")
    superseded_at = T0 + DAY
    _windows(
        world,
        old=(T0 - DAY, superseded_at + timedelta(minutes=5)),
        new=(superseded_at - timedelta(seconds=1), superseded_at + 2 * DAY),
    )

    from_old = _from_channel(world, "old", superseded_at)  # sent just before the old one stopped
    world.clock.now = superseded_at + timedelta(minutes=1)
    world.calendar.put(CALENDAR, _event("e2", "conf-2"))
    world.provider.create("conf-2")
    from_new = _from_channel(world, "new", world.clock.now)

    assert (from_old.status, from_new.status) == ("synced", "synced")
    assert world.calendar.list_calls >= 2


def test_sweeps_and_calendars_without_recorded_channels_are_never_dropped(world: World) -> None:
    assert _from_channel(world, "opened-before-windows", T0).status == "synced"  # channels None
    _windows(world)  # unenrolled: no channel is live
    world.clock.now += timedelta(hours=1)

    assert world.request(world.clock.now, reason="sweep").status == "synced"
    assert _from_channel(world, "opened-before-windows", world.clock.now).status == "dropped"
