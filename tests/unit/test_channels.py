"""ChannelService with fakes: enrollment, renewal order, repair, sweep, GC, budget and fan-out."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from confsync.calendars import CalendarDoc, calendar_key
from confsync.channel_docs import ChannelDoc
from confsync.channel_tokens import ChannelTokenKeys, InvalidChannelToken, verify_channel_token
from confsync.channels import ChannelService
from confsync.domains import parse_allowed_domains
from confsync.errors import CalendarAccessError, CalendarUnavailableError
from confsync.messages import RenewCommand, SweepCommand, TickCommand
from confsync.records import CalendarRefs, ConferenceRecord, EventSnapshot, conference_key
from confsync.testing import (
    FakeCalendar,
    InMemoryCalendarStore,
    InMemoryChannelStore,
    InMemoryRecordStore,
    RecordingCommandPublisher,
    RecordingPublisher,
)
from confsync.testing.fakes import ChannelCall
from confsync.testing.settings import channel_settings

KEYS = ChannelTokenKeys.parse("k1:channel-secret-0123456789", "k1")
INTAKE = "https://intake.example/notify"
START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ALICE = "alice@example.com"  # her primary calendar's id is her address
ALLOWED = parse_allowed_domains("example.com,x.com")


class Clock:
    """The service's and the fake Calendar's notion of now."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Harness:
    """Every fake, and a factory for the service over them."""

    clock: Clock = field(default_factory=Clock)
    calendar: FakeCalendar = field(default_factory=FakeCalendar)
    calendars: InMemoryCalendarStore = field(default_factory=InMemoryCalendarStore)
    channels: InMemoryChannelStore = field(default_factory=InMemoryChannelStore)
    records: InMemoryRecordStore = field(default_factory=InMemoryRecordStore)
    publisher: RecordingPublisher = field(default_factory=RecordingPublisher)
    commands: RecordingCommandPublisher = field(default_factory=RecordingCommandPublisher)
    ids: Any = None

    def __post_init__(self) -> None:
        self.calendar.channel_now = self.clock
        counter = iter(range(1, 1_000_000))
        self.ids = lambda: f"ch-{next(counter)}"

    def service(self, **overrides: Any) -> ChannelService:
        settings = channel_settings(
            intake_url=INTAKE,
            token_keys=KEYS,
            channel_ttl=timedelta(days=2),
            renewal_window=timedelta(days=1),
            sweep_interval=timedelta(minutes=15),
            tick_batch=overrides.pop("tick_batch", 200),
            subject_budget_per_minute=overrides.pop("budget", 300),
            allowed_domains=overrides.pop("allowed", ALLOWED),
            **overrides,
        )
        return ChannelService(
            calendar_api=self.calendar,
            calendar_store=self.calendars,
            channels=self.channels,
            publisher=self.publisher,
            commands=self.commands,
            records=self.records,
            settings=settings,
            now=self.clock,
            new_channel_id=self.ids,
            rng=random.Random(7),
        )

    def active(self, key: str | None = None) -> list[ChannelDoc]:
        return [
            c for c in self.channels.all() if c.state == "active" and key in (None, c.calendar_key)
        ]

    def calls(self, kind: str | None = None) -> list[ChannelCall]:
        return [c for c in self.calendar.channel_calls if kind in (None, c.kind)]

    def synced_recently(self, key: str) -> None:
        """As if a sync ran just now (so the sweep leaves the calendar alone)."""
        doc = self.calendars.get(key)
        assert doc is not None
        self.calendars.put(replace(doc, last_attempt_at=self.clock.now))


@pytest.fixture(name="h")
def harness_fixture() -> Harness:
    return Harness()


def _enroll_many(h: Harness, service: ChannelService, subjects: list[str]) -> list[str]:
    keys = []
    for n, subject in enumerate(subjects):
        calendar_id = f"cal-{n}@example.com"
        service.enroll(subject, calendar_id)
        keys.append(calendar_key(subject, calendar_id))
    return keys


# --- enrollment -------------------------------------------------------------------------------


def test_enroll_creates_the_calendar_one_channel_and_requests_the_first_sync(h: Harness) -> None:
    service = h.service()

    service.enroll("alice@example.com", "primary")

    key = calendar_key(ALICE, ALICE)
    doc = h.calendars.get(key)
    assert doc is not None
    assert doc.state == "active"
    assert doc.calendar_id == ALICE  # primary, resolved
    [channel] = h.active(key)
    assert channel.expiration == START + timedelta(days=2)
    assert channel.resource_id == f"res-{ALICE}"
    assert h.calendar.live_channels(ALICE) == [channel.id]
    [request] = h.publisher.published
    assert (request.calendar_key, request.reason) == (key, "enroll")


def test_enroll_mints_a_token_bound_to_the_channel_and_calendar(h: Harness) -> None:
    tokens: list[str] = []
    original = h.calendar.watch

    def watch(calendar_id: str, channel_id: str, address: str, token: str, ttl: int) -> Any:
        assert address == INTAKE
        assert ttl == 2 * 86400
        tokens.append(token)
        return original(calendar_id, channel_id, address, token, ttl)

    h.calendar.watch = watch  # type: ignore[method-assign, assignment]

    h.service().enroll("alice@example.com", "primary")

    [channel] = h.active()
    now = channel.created_at
    assert verify_channel_token(KEYS, channel.id, tokens[0], now=now) == channel.calendar_key
    # the token dies with its channel: the TTL asked plus an hour of slack
    expiry = now + timedelta(days=2, hours=1)
    assert verify_channel_token(KEYS, channel.id, tokens[0], now=expiry - timedelta(seconds=1))
    with pytest.raises(InvalidChannelToken, match="expired"):
        verify_channel_token(KEYS, channel.id, tokens[0], now=expiry)


def test_enroll_twice_creates_no_second_channel_and_one_sync_request(h: Harness) -> None:
    service = h.service()

    service.enroll("alice@example.com", "primary")
    service.enroll("alice@example.com", "primary")

    assert len(h.active()) == 1
    assert len(h.calls("watch")) == 1
    assert len(h.publisher.published) == 1


def test_enroll_reactivates_an_unenrolled_calendar_with_a_new_channel(h: Harness) -> None:
    service = h.service()
    service.enroll("alice@example.com", "primary")
    key = calendar_key(ALICE, ALICE)
    service.unenroll(key)

    service.enroll("alice@example.com", "primary")

    doc = h.calendars.get(key)
    assert doc is not None
    assert doc.state == "active"
    assert len(h.active(key)) == 1
    assert h.calendar.live_channels(ALICE) == [h.active(key)[0].id]
    assert [r.reason for r in h.publisher.published] == ["enroll", "enroll"]


def test_enroll_of_a_calendar_refusing_watches_makes_it_poll_only(h: Harness) -> None:
    h.calendar.refuse_watch.add("holidays")

    h.service().enroll("alice@example.com", "holidays")

    doc = h.calendars.get(calendar_key("alice@example.com", "holidays"))
    assert doc is not None
    assert doc.state == "poll-only"
    assert h.active() == []
    assert [r.reason for r in h.publisher.published] == ["enroll"]  # it is polled instead


def test_enroll_with_refused_credentials_disconnects_and_requests_nothing(h: Harness) -> None:
    h.calendar.fail_channel_calls.append(CalendarAccessError("events.watch: HTTP 401"))

    h.service().enroll("alice@example.com", "primary")

    doc = h.calendars.get(calendar_key(ALICE, ALICE))
    assert doc is not None
    assert doc.state == "disconnected"
    assert h.publisher.published == []


@pytest.mark.parametrize(
    ("failure", "state"),
    [
        pytest.param(CalendarAccessError("events.watch: HTTP 404 notFound"), "disconnected"),
        pytest.param(None, "poll-only", id="watch-refused"),
    ],
)
def test_an_unenrolment_made_during_the_watch_stands(
    h: Harness, failure: CalendarAccessError | None, state: str
) -> None:
    """The calendar is unenrolled (and deleted) while its watch is under way: the watch's
    failure must not mark it disconnected or poll-only again."""
    key = calendar_key(ALICE, ALICE)

    def unenrolled_meanwhile(call: Any) -> None:
        if call.kind == "watch":
            h.calendars.set_state(key, "unenrolled", now=START, outcome="unenrolled")
            if failure is not None:
                h.calendar.fail_channel_calls.append(failure)

    h.calendar.on_channel_call = unenrolled_meanwhile
    if failure is None:
        h.calendar.refuse_watch.add(ALICE)

    h.service().enroll("alice@example.com", "primary")

    doc = h.calendars.get(key)
    assert doc is not None
    assert doc.state == "unenrolled", f"marked {state} over the unenrolment"


# --- unenrollment -----------------------------------------------------------------------------


def test_unenroll_stops_every_channel_and_keeps_records_unless_forget(h: Harness) -> None:
    service = h.service()
    service.enroll("alice@example.com", "primary")
    key = calendar_key(ALICE, ALICE)
    other = calendar_key("alice@example.com", "team@example.com")
    c1, c2 = conference_key("c1"), conference_key("c2")

    def refs(calendar_id: str, event_id: str) -> CalendarRefs:
        snapshot = EventSnapshot(
            event_id, "Planning", "2026-12-02", "2026-12-03", None, (), (), None
        )
        return CalendarRefs("alice@example.com", calendar_id, events={event_id: snapshot})

    # c1: Alice's meeting on this calendar and on another one; c2: someone else's conference
    # this calendar carries in one event (counted), as another calendar does in one more.
    shared = ConferenceRecord(
        key=c1,
        conference_id="c1",
        home_key=key,
        calendars={key: refs(ALICE, "e1"), other: refs("team@example.com", "t1")},
        owner="alice@example.com",
        owner_known=True,
    )
    counted = ConferenceRecord(
        key=c2,
        conference_id="c2",
        home_key=other,
        references=2,
        owner="bob@example.com",
        owner_known=True,
    )
    h.records.save([shared, counted], calendar_key=key, attachments={"e1": c1, "e2": c2})
    h.records.save([], calendar_key=other, attachments={"t1": c1, "e9": c2})

    service.unenroll(key)

    doc = h.calendars.get(key)
    assert doc is not None
    assert doc.state == "unenrolled"
    assert h.calendar.live_channels() == []
    assert {c.state for c in h.channels.all()} == {"stopped"}
    assert h.records.all()[c1].refs_of(key) is not None  # kept unless forget
    assert h.records.all()[c2].references == 2

    service.unenroll(key, forget=True)

    records = h.records.all()
    # The records stay (other calendars share them); only this calendar's part is forgotten.
    assert sorted(records) == [c1, c2]
    assert list(records[c1].calendars) == [other]
    assert (records[c1].owner, records[c1].owner_known) == ("alice@example.com", True)
    assert records[c2].references == 1
    assert h.records.all_attachments() == {(other, "t1"): c1, (other, "e9"): c2}
    assert len(h.calls("stop")) == 1  # stopped channels are not stopped again


def test_unenroll_with_a_failing_stop_leaves_the_channel_to_garbage_collection(h: Harness) -> None:
    service = h.service()
    service.enroll("alice@example.com", "primary")
    key = calendar_key(ALICE, ALICE)
    h.calendar.fail_channel_calls.append(CalendarUnavailableError("channels.stop: HTTP 503"))

    service.unenroll(key)
    assert [c.state for c in h.channels.all()] == ["superseded"]

    service.tick()

    assert h.channels.all() == []
    assert h.calendar.live_channels() == []


# --- renewal ---------------------------------------------------------------------------------


def test_renewal_persists_the_new_channel_before_stopping_the_old(h: Harness) -> None:
    service = h.service()
    service.enroll("alice@example.com", "primary")
    key = calendar_key(ALICE, ALICE)
    [old] = h.active(key)
    seen_at_stop: list[tuple[list[str], str | None]] = []

    def on_call(call: ChannelCall) -> None:
        if call.kind == "stop":
            stored_old = h.channels.get(old.id)
            seen_at_stop.append(
                ([c.id for c in h.active(key)], stored_old.state if stored_old else None)
            )

    h.calendar.on_channel_call = on_call
    h.clock.advance(days=1, hours=1)  # 23 h left: within the renewal window

    report = service.tick()

    [new] = h.active(key)
    assert new.id != old.id
    assert new.expiration == h.clock.now + timedelta(days=2)
    assert report.renewed == 1
    assert [c.kind for c in h.calls()] == ["watch", "watch", "stop"]
    assert seen_at_stop == [([new.id], "superseded")]  # new persisted, old superseded, then stop
    order = [(op, cid) for op, cid, _ in h.channels.log if cid in (old.id, new.id)]
    assert order.index(("put", new.id)) < order.index(("set_state", old.id))
    assert h.channels.get(old.id) is None  # stopped and forgotten
    assert h.calendar.live_channels() == [new.id]


def test_renewal_skips_fresh_channels(h: Harness) -> None:
    service = h.service()
    service.enroll("alice@example.com", "primary")
    h.clock.advance(hours=20)  # 28 h left: outside the renewal window

    report = service.tick()

    assert report.renewed == 0
    assert len(h.calls()) == 1  # only the enrollment's watch


def test_a_lifetime_shorter_than_the_window_is_not_renewed_every_tick(h: Harness) -> None:
    h.calendar.max_channel_ttl = 12 * 3600  # Google grants 12 h where 48 h were asked
    service = h.service()
    service.enroll("alice@example.com", "primary")
    renewals = []
    for _ in range(6 * 12):  # 12 hours of ticks, every 10 minutes
        h.clock.advance(minutes=10)
        renewals.append(service.tick().renewed)

    assert 1 <= sum(renewals) <= 2  # renewed at half-life, not on every tick
    [channel] = h.active()
    assert channel.live(h.clock.now)


def test_renewal_of_an_expired_channel_opens_a_new_one(h: Harness) -> None:
    service = h.service()
    service.enroll("alice@example.com", "primary")
    h.clock.advance(days=3)  # the scheduler was down: the channel is dead

    service.tick()

    [channel] = h.active()
    assert channel.live(h.clock.now)


def test_renewal_with_a_failing_stop_leaves_the_old_channel_superseded_for_gc(
    h: Harness,
) -> None:
    service = h.service()
    service.enroll("alice@example.com", "primary")
    [old] = h.active()
    h.clock.advance(days=1, hours=1)

    def fail_stops_in_the_first_tick(call: ChannelCall) -> None:
        if call.kind == "stop" and h.clock.now < START + timedelta(days=1, hours=2):
            raise CalendarUnavailableError("channels.stop: HTTP 503")

    h.calendar.on_channel_call = fail_stops_in_the_first_tick
    service.tick()  # the renewal's stop and the GC's retry both fail
    stored = h.channels.get(old.id)
    assert stored is not None
    assert stored.state == "superseded"

    h.clock.advance(hours=1)
    service.tick()

    assert h.channels.get(old.id) is None
    assert len(h.active()) == 1


# --- repair, poll-only, sweep ----------------------------------------------------------------


def test_repair_watches_an_active_calendar_without_a_live_channel(h: Harness) -> None:
    key = calendar_key("bob@example.com", "team")
    h.calendars.put(CalendarDoc(key=key, subject="bob@example.com", calendar_id="team"))

    report = h.service().tick()

    assert report.repaired == 1
    [channel] = h.active(key)
    assert h.calendar.live_channels("team") == [channel.id]
    assert [(r.calendar_key, r.reason) for r in h.publisher.published] == [(key, "sweep")]


def test_refused_watch_marks_poll_only_and_is_not_retried_every_tick(h: Harness) -> None:
    key = calendar_key("bob@example.com", "holidays")
    h.calendars.put(CalendarDoc(key=key, subject="bob@example.com", calendar_id="holidays"))
    h.calendar.refuse_watch.add("holidays")
    service = h.service()

    first = service.tick()
    for _ in range(3):
        h.clock.advance(minutes=20)
        service.tick()

    doc = h.calendars.get(key)
    assert doc is not None
    assert doc.state == "poll-only"
    assert first.poll_only == 1
    assert len(h.calls("watch")) == 1
    assert [r.reason for r in h.publisher.published] == ["sweep"] * 4  # polled instead


def test_sweep_picks_stale_calendars_and_calendars_with_pending_operations(h: Harness) -> None:
    service = h.service()
    keys = _enroll_many(h, service, ["a@x.com", "b@x.com", "c@x.com", "d@x.com"])
    fresh, stale, pending, gone = keys
    h.clock.advance(hours=2)
    for key in (fresh, pending, gone):
        h.synced_recently(key)
    doc = h.calendars.get(pending)
    assert doc is not None
    h.calendars.put(replace(doc, pending_count=2))
    h.calendars.set_state(gone, "unenrolled", now=h.clock.now, outcome="test")
    h.publisher.published.clear()

    report = service.tick()

    swept = sorted(r.calendar_key for r in h.publisher.published if r.reason == "sweep")
    assert swept == sorted([stale, pending])
    assert report.swept == 2


def test_sweep_leaves_recently_attempted_calendars_alone(h: Harness) -> None:
    service = h.service()
    [key] = _enroll_many(h, service, ["a@x.com"])
    h.synced_recently(key)
    h.publisher.published.clear()

    service.tick()

    assert h.publisher.published == []


# --- garbage collection ----------------------------------------------------------------------


def test_gc_stops_channels_of_unenrolled_or_deleted_calendars(h: Harness) -> None:
    service = h.service()
    unenrolled, deleted = _enroll_many(h, service, ["a@x.com", "b@x.com"])
    h.calendars.set_state(unenrolled, "unenrolled", now=h.clock.now, outcome="test")
    h.calendars._docs.pop(deleted)  # the record vanished
    h.clock.advance(days=1, hours=1)

    report = service.tick()

    assert report.orphaned == 2
    assert h.channels.all() == []
    assert h.calendar.live_channels() == []
    assert len(h.calls("watch")) == 2  # no renewal of orphans


def test_gc_collects_superseded_and_stopped_records(h: Harness) -> None:
    service = h.service()
    [key] = _enroll_many(h, service, ["a@x.com"])
    [channel] = h.active(key)
    extra = replace(channel, id="ch-extra", state="superseded")
    h.calendar.channels["ch-extra"] = ("cal-0@example.com", channel.resource_id, channel.expiration)
    h.channels.put(extra)
    h.channels.put(replace(channel, id="ch-done", state="stopped"))
    h.synced_recently(key)

    report = service.tick()

    assert report.collected == 2
    assert [c.id for c in h.channels.all()] == [channel.id]
    assert h.calendar.live_channels() == [channel.id]


# --- budget and fan-out ----------------------------------------------------------------------


def test_subject_budget_is_respected_with_many_calendars_of_one_subject(h: Harness) -> None:
    service = h.service(budget=50)
    keys = _enroll_many(h, service, ["busy@x.com"] * 120 + ["calm@x.com"] * 3)
    for key in keys:
        h.synced_recently(key)
    h.clock.advance(days=1, hours=1)
    per_tick: list[Counter[str]] = []
    for _ in range(8):
        before = len(h.calendar.channel_calls)
        service.tick()
        per_tick.append(Counter(c.subject for c in h.calendar.channel_calls[before:]))
        for key in keys:
            h.synced_recently(key)
        h.clock.advance(minutes=1)

    assert max(counts["busy@x.com"] for counts in per_tick) <= 50
    assert per_tick[0]["calm@x.com"] == 6  # another subject is not held back
    assert all(c.expiration > h.clock.now + timedelta(days=1) for c in h.active())
    assert len(h.active()) == len(keys)


def test_tick_fans_out_when_more_than_tick_batch_is_due(h: Harness) -> None:
    service = h.service(tick_batch=10)
    keys = _enroll_many(h, service, [f"user{n}@x.com" for n in range(35)])
    h.clock.advance(days=1, hours=1)
    for key in keys:
        h.synced_recently(key)

    report = service.tick()

    renew = [c for c in h.commands.published if isinstance(c, RenewCommand)]
    assert [len(c.calendar_keys) for c in renew] == [10, 10, 5]
    assert report.renewed == 10
    assert report.fanned_out == 3
    for command in renew:
        service.handle(command)
    assert len(h.active()) == 35
    assert all(c.expiration > h.clock.now + timedelta(days=1) for c in h.active())


def test_sweep_fans_out_and_the_batches_request_syncs(h: Harness) -> None:
    service = h.service(tick_batch=10)
    keys = _enroll_many(h, service, [f"user{n}@x.com" for n in range(25)])
    h.clock.advance(hours=1)
    h.publisher.published.clear()

    service.tick()
    sweep = [c for c in h.commands.published if isinstance(c, SweepCommand)]
    for command in sweep:
        service.handle(command)

    assert [len(c.calendar_keys) for c in sweep] == [10, 5]
    assert sorted(r.calendar_key for r in h.publisher.published) == sorted(keys)


def test_a_failing_calendar_does_not_stop_the_tick(h: Harness) -> None:
    service = h.service()
    keys = _enroll_many(h, service, ["a@x.com", "b@x.com"])
    for key in keys:
        h.synced_recently(key)
    h.clock.advance(days=1, hours=1)
    h.calendar.fail_channel_calls.append(CalendarUnavailableError("events.watch: HTTP 503"))

    report = service.tick()

    assert report.failed == 1
    assert report.renewed == 1


def test_handle_dispatches_a_tick_command(h: Harness) -> None:
    service = h.service()
    service.enroll("a@x.com", "primary")
    h.clock.advance(days=1, hours=1)

    report = service.handle(TickCommand(issued_at=h.clock.now))

    assert report.renewed == 1
