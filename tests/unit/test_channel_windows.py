"""The calendar document's live channel windows, as the channel service keeps them (issue #13,
M1): a sync run drops notifications from channels that were not live, so the windows must cover
every live channel (never deaf) and nothing else (no leaked or unenrolled channel)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from confsync.calendars import CalendarDoc, ChannelWindow, calendar_key
from confsync.channel_docs import ChannelDoc
from confsync.channels.watch import OPENED_EARLY, SUPERSEDED_GRACE, WINDOW_RETENTION
from confsync.testing.fakes import ChannelCall
from tests.unit.test_channels import (
    START,
    Harness,
    harness_fixture,  # noqa: F401 - the fixture `h`
)

KEY = calendar_key("alice@example.com", "alice@example.com")  # her primary calendar
SLACK = timedelta(hours=1)  # a token outlives the expiration asked for its channel by this much


def _doc(h: Harness) -> CalendarDoc:
    doc = h.calendars.get(KEY)
    assert doc is not None
    return doc


def _live(h: Harness, channel_id: str, at_offset: timedelta = timedelta(0)) -> bool:
    return _doc(h).channel_live(channel_id, h.clock.now + at_offset)


def test_a_new_channel_has_its_window_before_google_can_notify_on_it(h: Harness) -> None:
    seen_at_watch: list[bool] = []

    def on_call(call: ChannelCall) -> None:
        if call.kind == "watch":
            seen_at_watch.append(_doc(h).channel_live(call.channel_id, h.clock.now))

    h.calendar.on_channel_call = on_call

    h.service().enroll("alice@example.com", "primary")

    [channel] = h.active(KEY)
    assert seen_at_watch == [True]
    assert _doc(h).channels == {
        channel.id: ChannelWindow(START - OPENED_EARLY, START + timedelta(days=2) + SLACK)
    }


def test_renewal_keeps_the_old_channel_live_a_moment_then_only_the_new_one(h: Harness) -> None:
    service = h.service()
    service.enroll("alice@example.com", "primary")
    [old] = h.active(KEY)
    h.clock.advance(days=1, hours=1)

    service.tick()

    [new] = h.active(KEY)
    assert _live(h, old.id)
    assert _live(h, new.id)
    assert not _live(h, old.id, SUPERSEDED_GRACE)
    assert _live(h, new.id, timedelta(days=2))


def test_unenrollment_ends_every_window_and_a_re_enrollment_revives_none(h: Harness) -> None:
    service = h.service()
    service.enroll("alice@example.com", "primary")
    [old] = h.active(KEY)
    service.unenroll(KEY)
    assert _doc(h).channels == {}

    service.enroll("alice@example.com", "primary")

    [new] = h.active(KEY)
    assert not _live(h, old.id)
    assert _live(h, new.id)


def test_channels_opened_before_windows_get_one_before_any_renewal_write(h: Harness) -> None:
    """A deployment upgrading: the calendar has no windows yet and a live channel that is not due
    and a due one; neither may go deaf once windows exist."""
    h.calendars.put(
        CalendarDoc(key=KEY, subject="alice@example.com", calendar_id="alice@example.com")
    )
    for n, created in ((1, START - timedelta(days=1, hours=12)), (2, START)):
        h.channels.put(
            ChannelDoc(
                id=f"legacy-{n}",
                calendar_key=KEY,
                subject="alice@example.com",
                resource_id="res-alice@example.com",
                expiration=created + timedelta(days=2),
                created_at=created,
            )
        )
    assert _live(h, "anything")  # no windows recorded: nothing is dropped

    h.service().tick()  # legacy-1 is due (12 h left), legacy-2 is fresh

    assert _live(h, "legacy-2")
    assert _live(h, "legacy-2", timedelta(days=1, hours=23))
    assert _live(h, "legacy-1")
    assert not _live(h, "legacy-1", SUPERSEDED_GRACE)
    assert not _live(h, "anything")


def test_enrolling_a_calendar_with_a_channel_from_before_windows_records_it(h: Harness) -> None:
    h.calendars.put(
        CalendarDoc(key=KEY, subject="alice@example.com", calendar_id="alice@example.com")
    )
    h.channels.put(
        ChannelDoc(
            id="legacy",
            calendar_key=KEY,
            subject="alice@example.com",
            resource_id="res-alice@example.com",
            expiration=START + timedelta(days=1),
            created_at=START - timedelta(days=1),
        )
    )

    h.service().enroll("alice@example.com", "primary")

    assert _doc(h).channels == {
        "legacy": ChannelWindow(START - timedelta(days=1), START + timedelta(days=1) + SLACK)
    }


def test_windows_ended_long_ago_are_dropped_with_the_next_open(h: Harness) -> None:
    service = h.service()
    service.enroll("alice@example.com", "primary")
    ancient = ChannelWindow(START - timedelta(days=9), START - WINDOW_RETENTION * 2)
    h.calendars.put(replace(_doc(h), channels={**(_doc(h).channels or {}), "ancient": ancient}))
    h.clock.advance(days=1, hours=1)

    service.tick()

    assert "ancient" not in (_doc(h).channels or {})
    assert len(_doc(h).channels or {}) == 2  # the superseded one (still recent) and the new one


def test_an_orphaned_channel_stops_being_live_at_once(h: Harness) -> None:
    """A poll-only calendar still syncs: the channel it no longer uses must not stay live."""
    service = h.service()
    service.enroll("alice@example.com", "primary")
    [orphan] = h.active(KEY)
    h.calendars.set_state(KEY, "poll-only", now=h.clock.now, outcome="watch refused")
    h.clock.advance(days=1, hours=1)

    service.tick()

    assert not _live(h, orphan.id)
    assert h.calendar.live_channels() == []
