"""Who may be enrolled and how cheaply, as the channels function decides it (issue #12, item 2):
the domain allow-list for every enroll command, ``primary`` as the subject's own calendar, an
operator's block that the add-on's enrolment respects, and repeats that cost nothing."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

import pytest

from confsync.calendars import CalendarDoc, ChannelWindow, calendar_key
from confsync.channel_docs import ChannelDoc
from confsync.cloud_logging import CHANNELS_LOGGER
from confsync.domains import parse_allowed_domains
from confsync.messages import EnrollCommand, EnrollSource, UnenrollCommand
from tests.unit.test_channels import (
    ALICE,
    INTAKE,
    Harness,
    harness_fixture,  # noqa: F401 - the fixture `h`
)

KEY = calendar_key(ALICE, ALICE)  # her primary calendar


@dataclass(frozen=True)
class Footprint:
    """Everything an enroll command could change or spend, to compare before and after."""

    calendar_writes: int
    calendar_calls: int
    channels: tuple[object, ...]
    sync_requests: int

    @classmethod
    def of(cls, h: Harness) -> Footprint:
        return cls(
            calendar_writes=h.calendars.writes,
            calendar_calls=len(h.calendar.channel_calls),
            channels=tuple(h.channels.all()),
            sync_requests=len(h.publisher.published),
        )


def _doc(h: Harness, key: str = KEY) -> CalendarDoc:
    doc = h.calendars.get(key)
    assert doc is not None
    return doc


def _channel_state(h: Harness, channel_id: str) -> str | None:
    """A channel record's state; None once it is forgotten."""
    channel = h.channels.get(channel_id)
    return None if channel is None else channel.state


def _channel_lines(caplog: pytest.LogCaptureFixture, level: int) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == CHANNELS_LOGGER and r.levelno == level]


# --- the allow-list ---------------------------------------------------------------------------


def test_a_subject_of_a_domain_not_allowed_is_refused_and_nothing_changes(
    h: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    before = Footprint.of(h)

    report = h.service().handle(EnrollCommand("mallory@elsewhere.example", "primary"))

    assert (report.refused, report.enrolled) == (1, 0)
    assert Footprint.of(h) == before
    assert h.calendars.get(calendar_key("mallory@elsewhere.example", "primary")) is None
    [line] = _channel_lines(caplog, logging.ERROR)
    key = calendar_key("mallory@elsewhere.example", "mallory@elsewhere.example")
    assert "'elsewhere.example'" in line.getMessage()
    assert line.labels == {"calendar_key": key}  # type: ignore[attr-defined]
    assert "mallory" not in caplog.text  # the domain and the key, never the address


@pytest.mark.parametrize(
    "subject",
    [
        "mallory",
        "mallory@",
        "@example.com",
        "mallory@example",
        "mal lory@example.com",
        " alice@example.com",
        "alice@example.com\n",
        "alice@@example.com",
        "alice..bob@example.com",
        "a" * 250 + "@example.com",
    ],
)
def test_a_subject_that_is_not_an_e_mail_address_is_refused_whatever_its_source(
    h: Harness, caplog: pytest.LogCaptureFixture, subject: str
) -> None:
    service = h.service()
    before = Footprint.of(h)

    reports = [service.enroll(subject, "primary", source=src) for src in ("operator", "addon")]

    assert [r.refused for r in reports] == [1, 1]
    assert Footprint.of(h) == before
    lines = _channel_lines(caplog, logging.ERROR)
    assert len(lines) == 2
    if "@" in subject.strip("@"):
        assert subject.partition("@")[0] not in caplog.text


def test_an_allow_list_of_any_domain_enrolls_a_user_of_any_domain(h: Harness) -> None:
    service = h.service(allowed=parse_allowed_domains("*"))

    report = service.enroll("zoe@anywhere.example", "primary", source="addon")

    assert (report.refused, report.enrolled) == (0, 1)
    assert _doc(h, calendar_key("zoe@anywhere.example", "zoe@anywhere.example")).state == "active"


def test_an_allowed_domain_is_matched_whatever_the_case_of_the_address(h: Harness) -> None:
    report = h.service().enroll("Alice@EXAMPLE.com", "primary")

    assert report.enrolled == 1
    assert _doc(h).state == "active"


# --- primary ----------------------------------------------------------------------------------


def test_primary_and_the_users_address_are_one_calendar(h: Harness) -> None:
    service = h.service()

    service.enroll(ALICE, "primary")
    service.enroll(ALICE, ALICE)
    service.enroll(ALICE.upper(), "PRIMARY", source="addon")

    doc = _doc(h)
    assert doc.calendar_id == ALICE  # stored resolved: sync lists the same calendar
    assert h.calendars.get(calendar_key(ALICE, "primary")) is None
    assert [(c.kind, c.calendar_id) for c in h.calls()] == [("watch", ALICE)]
    assert [r.calendar_key for r in h.publisher.published] == [KEY]


def test_another_calendar_of_the_user_keeps_its_own_id(h: Harness) -> None:
    h.service().enroll(ALICE, "team@group.example.com")

    doc = _doc(h, calendar_key(ALICE, "team@group.example.com"))
    assert doc.calendar_id == "team@group.example.com"


@pytest.fixture(name="legacy")
def legacy_fixture(h: Harness) -> str:
    """Alice's primary calendar as enrolled before ids were resolved: keyed by ``primary``,
    active, with a live channel and its window; its key."""
    old_key = calendar_key(ALICE, "primary")
    h.calendars.put(CalendarDoc(key=old_key, subject=ALICE, calendar_id="primary"))
    watched = h.calendar.watch("primary", "legacy-1", INTAKE, "token", 2 * 86400)
    h.channels.put(
        ChannelDoc(
            id=watched.id,
            calendar_key=old_key,
            subject=ALICE,
            resource_id=watched.resource_id,
            expiration=watched.expiration,
            created_at=h.clock.now,
        )
    )
    window = ChannelWindow(h.clock.now, watched.expiration + timedelta(hours=1))
    h.calendars.note_channel(old_key, watched.id, window)
    return old_key


@pytest.mark.parametrize("calendar_id", ["primary", ALICE])
def test_a_calendar_enrolled_as_primary_before_resolution_keeps_its_record(
    h: Harness, legacy: str, calendar_id: str
) -> None:
    before = Footprint.of(h)

    report = h.service().enroll(ALICE, calendar_id, source="addon")

    assert report.enrolled == 1
    assert Footprint.of(h) == before  # no second record, channel or sync of the same calendar
    assert h.calendars.get(KEY) is None
    assert _doc(h, legacy).state == "active"


def test_a_block_on_the_older_key_holds_against_the_addon(h: Harness, legacy: str) -> None:
    service = h.service()
    service.unenroll(legacy, block=True)

    report = service.enroll(ALICE, "primary", source="addon")

    assert report.ignored == 1
    assert h.calendars.get(KEY) is None
    assert _doc(h, legacy).state == "blocked"


def test_an_unenrolled_calendar_of_the_older_key_is_enrolled_again_under_it(
    h: Harness, legacy: str
) -> None:
    service = h.service()
    service.unenroll(legacy)

    service.enroll(ALICE, ALICE, source="addon")

    assert h.calendars.get(KEY) is None
    assert _doc(h, legacy).state == "active"
    assert [c.calendar_key for c in h.active()] == [legacy]
    assert h.calls("watch")[-1].calendar_id == "primary"  # the id it was enrolled with


# --- blocking ---------------------------------------------------------------------------------


def test_an_operators_block_holds_against_the_addon_until_an_operator_enrolls_again(
    h: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=CHANNELS_LOGGER)
    service = h.service()
    service.enroll(ALICE, "primary", source="addon")
    [first] = h.active(KEY)

    service.handle(UnenrollCommand(calendar_key=KEY, block=True))

    doc = _doc(h)
    assert doc.state == "blocked"
    assert doc.channels == {}  # no window: notifications in flight are dropped
    assert h.calendar.live_channels() == []
    assert _channel_state(h, first.id) in (None, "stopped")

    before = Footprint.of(h)
    report = service.handle(EnrollCommand(ALICE, "primary", source="addon"))

    assert (report.ignored, report.enrolled) == (1, 0)
    assert Footprint.of(h) == before
    assert _doc(h).state == "blocked"
    assert "add-on enrolment ignored" in caplog.text

    report = service.handle(EnrollCommand(ALICE, "primary", source="operator"))

    assert report.enrolled == 1
    assert _doc(h).state == "active"
    [second] = h.active(KEY)
    assert h.calendar.live_channels() == [second.id]
    assert [r.reason for r in h.publisher.published] == ["enroll", "enroll"]

    service.unenroll(KEY)  # unenrolled, not blocked: the add-on may enrol it again
    report = service.enroll(ALICE, "primary", source="addon")

    assert report.enrolled == 1
    assert _doc(h).state == "active"
    assert len(h.calendar.live_channels()) == 1


def test_a_plain_unenroll_does_not_lift_a_block(h: Harness) -> None:
    service = h.service()
    service.enroll(ALICE, ALICE)
    service.unenroll(KEY, block=True)

    service.unenroll(KEY, forget=True)
    report = service.enroll(ALICE, ALICE, source="addon")

    assert _doc(h).state == "blocked"
    assert report.ignored == 1


def test_blocking_a_calendar_that_was_never_enrolled_stores_nothing(h: Harness) -> None:
    service = h.service()

    service.unenroll(KEY, block=True)

    assert h.calendars.get(KEY) is None
    assert h.calendars.writes == 0


def test_the_tick_never_syncs_renews_or_repairs_a_blocked_calendar(h: Harness) -> None:
    service = h.service()
    service.enroll(ALICE, ALICE)
    # as if the block's stop had been lost: the channel is still active and live at Google
    h.calendars.set_state(KEY, "blocked", now=h.clock.now, outcome="blocked by an operator")
    [channel] = h.active(KEY)
    requests_before = len(h.publisher.published)

    for _ in range(4):  # past the sweep interval and into the renewal window
        h.clock.advance(hours=8)
        service.tick()

    assert len(h.publisher.published) == requests_before  # never swept
    assert [c.kind for c in h.calls()] == ["watch", "stop"]  # stopped as an orphan, not renewed
    assert h.calendar.live_channels() == []
    assert h.active(KEY) == []
    assert _doc(h).state == "blocked"
    assert _channel_state(h, channel.id) in (None, "stopped")


# --- cheap repeats ----------------------------------------------------------------------------


def test_a_first_enrolment_makes_one_calendar_call(h: Harness) -> None:
    h.service().enroll(ALICE, "primary")

    assert [c.kind for c in h.calls()] == ["watch"]


@pytest.mark.parametrize("source", ["operator", "addon"])
def test_enrolling_an_enrolled_calendar_calls_nothing_and_writes_nothing(
    h: Harness, source: EnrollSource
) -> None:
    service = h.service()
    service.enroll(ALICE, "primary")
    h.clock.advance(hours=20)  # the channel is older, still live
    before = Footprint.of(h)

    report = service.handle(EnrollCommand(ALICE, "primary", source=source))

    assert report.enrolled == 1
    assert Footprint.of(h) == before


def test_enrolling_a_calendar_whose_channel_expired_watches_it_again(h: Harness) -> None:
    service = h.service()
    service.enroll(ALICE, "primary")
    h.clock.advance(days=3)

    service.enroll(ALICE, "primary", source="addon")

    assert [c.kind for c in h.calls()] == ["watch", "watch"]
    assert len(h.calendar.live_channels()) == 1
    assert len(h.publisher.published) == 2


def test_a_refused_command_reads_nothing(h: Harness) -> None:
    """The allow-list is checked before any Firestore read: a flood of refused commands costs
    no store operation."""
    service = h.service()
    service.enroll(ALICE, "primary")
    reads: list[str] = []
    original = h.calendars.get

    def counting_get(key: str) -> CalendarDoc | None:
        reads.append(key)
        return original(key)

    h.calendars.get = counting_get  # type: ignore[method-assign]

    service.enroll("mallory@elsewhere.example", "primary")

    assert reads == []
