"""Sweep by need, end to end on fakes: a sync run's commit plans the calendar's next sweep, the
tick hands out what is due (and only that), moves it on, and re-watches a suspect channel; a
calendar stored before sweeps by need is still swept."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import timedelta

import pytest

from confsync.calendars import CalendarDoc, calendar_key
from confsync.messages import SyncRequest
from confsync.sweep_policy import SweepTuning
from confsync.sync import SyncRunner
from confsync.testing import InMemoryRecordStore, RecordingProvider
from confsync.testing.settings import sync_settings
from tests.unit.test_channels import ALICE, Harness

KEY = calendar_key(ALICE, ALICE)
SHORTEST = timedelta(minutes=15)
TUNING = SweepTuning(shortest=SHORTEST, longest=timedelta(hours=3))


@pytest.fixture(name="h")
def harness_fixture() -> Harness:
    return Harness()


def _runner(h: Harness) -> SyncRunner:
    return SyncRunner(
        calendar_api=h.calendar,
        calendar_store=h.calendars,
        records=InMemoryRecordStore(),
        provider=RecordingProvider(),
        publisher=h.publisher,
        settings=sync_settings(sweep=TUNING),
        now=h.clock,
        sleep=lambda _s: None,
    )


def _enrolled(h: Harness) -> CalendarDoc:
    """Alice enrolled and her first sync run; what the tick published cleared."""
    h.service().enroll(ALICE, "primary")
    _drain(h)
    doc = h.calendars.get(KEY)
    assert doc is not None
    return doc


def _drain(h: Harness) -> list[str]:
    """Run every sync request published so far; their reasons."""
    reasons: list[str] = []
    runner = _runner(h)
    while h.publisher.published:
        request = h.publisher.published.pop(0)
        reasons.append(request.reason)
        runner.run(request)
    return reasons


def _edit(h: Harness, event_id: str) -> None:
    h.calendar.put(ALICE, {"id": event_id, "status": "confirmed", "summary": "1:1"})


def _doc(h: Harness) -> CalendarDoc:
    doc = h.calendars.get(KEY)
    assert doc is not None
    return doc


def test_a_commit_plans_the_next_sweep_and_a_quiet_calendar_is_swept_ever_more_rarely(
    h: Harness,
) -> None:
    doc = _enrolled(h)
    assert doc.sweep_due_at == h.clock.now + SHORTEST
    service = h.service()
    swept_at = []
    for _ in range(6 * 12):  # six hours of ticks, five minutes apart
        h.clock.advance(minutes=5)
        service.tick()
        if _drain(h) == ["sweep"]:
            swept_at.append(h.clock.now)

    gaps = [(b - a) / timedelta(minutes=1) for a, b in itertools.pairwise(swept_at)]
    assert gaps[:3] == [30, 60, 120]
    assert max(gaps) <= 180
    assert not _doc(h).channel_suspect


def test_the_tick_hands_out_only_due_calendars_until_a_run_plans_the_next_sweep(
    h: Harness,
) -> None:
    _enrolled(h)
    service = h.service()

    h.clock.advance(minutes=10)
    service.tick()
    assert h.publisher.published == []  # due in 15 minutes

    h.clock.advance(minutes=5)
    service.tick()
    assert [r.reason for r in h.publisher.published] == ["sweep"]

    h.publisher.published.clear()  # the sync never ran (lost, crashed): still due
    h.clock.advance(minutes=5)
    service.tick()
    assert _drain(h) == ["sweep"]

    h.clock.advance(minutes=5)
    service.tick()
    assert h.publisher.published == []  # its run planned the next one


def test_a_sweep_that_finds_unannounced_changes_re_watches_the_suspect_channel(
    h: Harness,
) -> None:
    _enrolled(h)
    [dead] = h.active(KEY)
    service = h.service()
    _edit(h, "e1")  # its notification is lost
    h.clock.advance(minutes=15)
    service.tick()
    assert _drain(h) == ["sweep"]
    assert _doc(h).channel_suspect
    assert _doc(h).sweep_due_at == h.clock.now + SHORTEST

    h.clock.advance(minutes=15)
    report = service.tick()

    assert report.repaired == 1
    [fresh] = h.active(KEY)
    assert fresh.id != dead.id
    assert [c.channel_id for c in h.calls("stop")] == [dead.id]
    assert _drain(h) == ["sweep"]
    assert not _doc(h).channel_suspect  # the sweep after the repair found nothing new


def test_a_notified_change_is_no_evidence_against_the_channel(h: Harness) -> None:
    _enrolled(h)
    h.clock.advance(minutes=40)
    _edit(h, "e1")
    [channel] = h.active(KEY)

    _runner(h).run(SyncRequest(KEY, "notification", notified_at=h.clock.now, channel_id=channel.id))

    doc = _doc(h)
    assert not doc.channel_suspect
    assert doc.sweep_due_at == h.clock.now + SHORTEST


def test_a_calendar_stored_before_sweeps_by_need_is_swept_and_planned_from_then_on(
    h: Harness,
) -> None:
    doc = _enrolled(h)
    legacy = replace(doc, sweep_due_at=None, sweep_interval_s=0, last_attempt_at=h.clock.now)
    h.calendars.put(legacy)
    service = h.service()

    h.clock.advance(minutes=10)
    service.tick()
    assert h.publisher.published == []  # the old criterion: attempted within the interval

    h.clock.advance(minutes=10)
    service.tick()

    assert _drain(h) == ["sweep"]
    assert _doc(h).sweep_due_at == h.clock.now + SHORTEST  # planned from now on
