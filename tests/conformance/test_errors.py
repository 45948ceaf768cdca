"""Error answers: Google's envelope, statuses and reasons (reference 1.8, 5.1, 7.1)."""

from __future__ import annotations

import secrets

import pytest

from conformance.calendar import Calendar, timed_event


def test_an_unknown_event_answers_404_not_found_in_googles_envelope(calendar: Calendar) -> None:
    answer = calendar.get("conformance" + secrets.token_hex(8))

    assert answer.status == 404
    error = answer["error"]
    assert error["code"] == 404
    assert error["errors"] == [{"domain": "global", "reason": "notFound", "message": "Not Found"}]
    assert error["message"] == "Not Found"


def test_an_event_ending_before_it_starts_answers_400_time_range_empty(
    calendar: Calendar,
) -> None:
    body = timed_event("backwards", day=600)
    body["start"], body["end"] = body["end"], body["start"]

    answer = calendar.insert(body)

    assert answer.status == 400
    [entry] = answer["error"]["errors"]
    assert (entry["domain"], entry["reason"]) == ("calendar", "timeRangeEmpty")
    assert entry["message"] == "The specified time range is empty."


def test_a_used_event_id_answers_409_duplicate(calendar: Calendar) -> None:
    event_id = "conformance" + secrets.token_hex(8)  # base32hex: 0-9 and a-v
    calendar.must_insert(timed_event("first", day=601, id=event_id))

    again = calendar.insert(timed_event("second", day=601, id=event_id))

    assert again.status == 409
    assert again["error"]["errors"] == [
        {
            "domain": "global",
            "reason": "duplicate",
            "message": "The requested identifier already exists.",
        }
    ]


@pytest.mark.unconfirmed(section="7.1", point="events.insert answers 200", emulator="200")
def test_an_insert_answers_200(calendar: Calendar) -> None:
    assert calendar.insert(timed_event("status", day=602)).status == 200
