"""Conditional requests: If-Match and 412, If-None-Match and 304 (reference 3)."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.calendar import Calendar, timed_event

CONDITION_NOT_MET = {
    "domain": "global",
    "reason": "conditionNotMet",
    "message": "Precondition Failed",
    "locationType": "header",
    "location": "If-Match",
}


def _stale(calendar: Calendar, day: int) -> tuple[dict[str, Any], str]:
    """An event and an etag it no longer has."""
    event = calendar.must_insert(timed_event("conditional", day=day))
    edited = calendar.patch(event["id"], {"description": "changed since"})
    assert edited.status == 200
    return edited.body, str(event["etag"])


def test_an_update_with_a_stale_etag_answers_412_and_changes_nothing(calendar: Calendar) -> None:
    event, stale = _stale(calendar, 400)

    answer = calendar.update(event["id"], {**event, "summary": "lost"}, if_match=stale)

    assert answer.status == 412
    assert answer["error"]["errors"] == [CONDITION_NOT_MET]
    assert calendar.get(event["id"])["summary"] == "conditional"


def test_an_update_with_the_current_etag_succeeds_with_a_new_etag(calendar: Calendar) -> None:
    event, _ = _stale(calendar, 401)

    answer = calendar.update(event["id"], {**event, "summary": "kept"}, if_match=event["etag"])

    assert answer.status == 200
    assert answer["summary"] == "kept"
    assert answer["etag"] != event["etag"]


def test_a_delete_with_a_stale_etag_answers_412(calendar: Calendar) -> None:
    event, stale = _stale(calendar, 402)

    answer = calendar.delete(event["id"], if_match=stale)

    assert answer.status == 412
    assert answer["error"]["errors"] == [CONDITION_NOT_MET]
    assert calendar.get(event["id"])["status"] == "confirmed"


def test_a_get_with_the_current_etag_in_if_none_match_answers_304(calendar: Calendar) -> None:
    event = calendar.must_insert(timed_event("cached", day=403))

    assert calendar.get(event["id"], headers={"If-None-Match": event["etag"]}).status == 304


@pytest.mark.unconfirmed(
    section="3",
    point="If-Match is enforced on PATCH as on PUT (412 conditionNotMet)",
    emulator="412 conditionNotMet",
)
def test_a_patch_with_a_stale_etag_answers_412(calendar: Calendar) -> None:
    event, stale = _stale(calendar, 404)

    answer = calendar.patch(event["id"], {"summary": "lost"}, if_match=stale)

    assert answer.status == 412
    assert answer["error"]["errors"] == [CONDITION_NOT_MET]
    assert calendar.get(event["id"])["summary"] == "conditional"


@pytest.mark.unconfirmed(
    section="3", point="If-Match: * matches any existing event", emulator="accepted (200)"
)
def test_if_match_star_matches_any_version(calendar: Calendar) -> None:
    event, _ = _stale(calendar, 405)

    assert calendar.patch(event["id"], {"summary": "any"}, if_match="*").status == 200
