"""``sequence`` (reference 2.3): when Google raises it, and what a lower one written back gets."""

from __future__ import annotations

import pytest

from conformance.calendar import Calendar, timed_event


@pytest.mark.unconfirmed(
    section="2.3",
    point="sequence rises when start, end or recurrence change, not on other edits",
    emulator="+1 on a time change; kept on a summary change",
)
def test_sequence_rises_with_a_change_of_time_only(calendar: Calendar) -> None:
    event = calendar.must_insert(timed_event("sequence", day=900))
    later = timed_event("sequence", day=901)

    renamed = calendar.patch(event["id"], {"summary": "renamed"})
    moved = calendar.patch(event["id"], {"start": later["start"], "end": later["end"]})

    assert event["sequence"] == 0
    assert renamed["sequence"] == 0
    assert moved["sequence"] == 1


@pytest.mark.unconfirmed(
    section="2.3",
    point="a sequence below the stored one answers 400 invalid",
    emulator="400 invalid, Google's 'Invalid sequence value.' message",
)
def test_a_lower_sequence_is_refused(calendar: Calendar) -> None:
    event = calendar.must_insert(timed_event("sequence", day=902, sequence=3))

    answer = calendar.patch(event["id"], {"sequence": 1})

    assert answer.status == 400
    assert answer.reason == "invalid"
    assert answer["error"]["message"].startswith("Invalid sequence value.")
