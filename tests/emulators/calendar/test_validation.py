"""Event body validation: required times, empty ranges, ids, patch merge, conference data."""

from __future__ import annotations

from typing import Any

import pytest

from calendar_emulator.errors import ApiError
from calendar_emulator.validation import (
    apply_conference_data,
    check_event_id,
    check_sequence,
    check_times,
    merge_patch,
    parse_conference_version,
)
from tests.support.calendar_events import conference_data

START = {"dateTime": "2026-05-01T10:00:00Z"}
END = {"dateTime": "2026-05-01T11:00:00Z"}
CONFERENCE = conference_data("p-1", solution="P", join_url="https://p.example/1")


def _error(call, *args) -> ApiError:
    with pytest.raises(ApiError) as caught:
        call(*args)
    return caught.value


def test_missing_end_is_required() -> None:
    error = _error(check_times, {"start": START})
    assert (error.status, error.reason, error.message) == (400, "required", "Missing end time.")


def test_missing_start_is_required() -> None:
    assert _error(check_times, {"end": END}).message == "Missing start time."


def test_end_before_start_is_an_empty_range() -> None:
    error = _error(check_times, {"start": END, "end": START})
    assert (error.status, error.reason, error.domain) == (400, "timeRangeEmpty", "calendar")
    assert error.message == "The specified time range is empty."


def test_equal_start_and_end_are_allowed() -> None:
    check_times({"start": START, "end": START})


def test_mixed_date_and_datetime_is_invalid() -> None:
    error = _error(check_times, {"start": {"date": "2026-05-01"}, "end": END})
    assert error.reason == "invalid"


def test_datetime_without_offset_needs_zone() -> None:
    assert (
        _error(check_times, {"start": {"dateTime": "2026-05-01T10:00:00"}, "end": END}).reason
        == "invalid"
    )
    check_times(
        {
            "start": {"dateTime": "2026-05-01T10:00:00", "timeZone": "Europe/Berlin"},
            "end": {"dateTime": "2026-05-01T11:00:00", "timeZone": "Europe/Berlin"},
        }
    )


@pytest.mark.parametrize("zone", ["Mars/Olympus", "America", "x" * 300])
def test_a_zone_that_is_no_zone_is_invalid(zone: str) -> None:
    """A folder of zones or an overlong name too: a 400, not a 500 from the file system."""
    body = {"start": {"dateTime": "2026-05-01T10:00:00", "timeZone": zone}, "end": END}

    error = _error(check_times, body)

    assert (error.status, error.reason) == (400, "invalid")


def test_recurring_event_needs_start_zone() -> None:
    error = _error(check_times, {"start": START, "end": END, "recurrence": ["RRULE:FREQ=DAILY"]})
    assert error.reason == "required"


def test_bad_recurrence_is_invalid() -> None:
    start = {**START, "timeZone": "UTC"}
    error = _error(check_times, {"start": start, "end": END, "recurrence": ["RRULE:FREQ=NEVER"]})
    assert error.reason == "invalid"


@pytest.mark.parametrize("event_id", ["abcd", "ABCDE12345", "abcdw", "abc-def", 12345])
def test_bad_event_ids(event_id) -> None:
    assert _error(check_event_id, event_id).reason == "invalid"


def test_good_event_id() -> None:
    assert check_event_id("0123456789abcdefghijklmnopqrstuv") == "0123456789abcdefghijklmnopqrstuv"


def test_merge_patch_merges_objects_and_removes_nulls() -> None:
    merged = merge_patch(
        {"a": 1, "start": {"dateTime": "x", "timeZone": "UTC"}, "list": [1, 2], "gone": 1},
        {"start": {"dateTime": "y"}, "list": [3], "gone": None},
    )
    assert merged == {"a": 1, "start": {"dateTime": "y", "timeZone": "UTC"}, "list": [3]}


def test_sequence_rules() -> None:
    assert check_sequence({}, None, False) == 0
    assert check_sequence({}, {"sequence": 2}, True) == 3
    assert check_sequence({}, {"sequence": 2}, False) == 2
    assert check_sequence({"sequence": 5}, {"sequence": 2}, False) == 5
    assert _error(check_sequence, {"sequence": 1}, {"sequence": 2}, False).reason == "invalid"


def test_conference_version_zero_ignores_body_and_keeps_stored() -> None:
    resource: dict[str, Any] = {"conferenceData": CONFERENCE}
    apply_conference_data(
        resource, {"conferenceData": {"x": 1}}, {"conferenceData": CONFERENCE}, 0, True
    )
    assert resource["conferenceData"] == CONFERENCE
    fresh: dict[str, Any] = {"conferenceData": CONFERENCE}
    apply_conference_data(fresh, {"conferenceData": CONFERENCE}, None, 0, True)
    assert "conferenceData" not in fresh


def test_conference_version_one_stores_and_put_without_it_removes() -> None:
    resource: dict[str, Any] = {}
    apply_conference_data(resource, {"conferenceData": CONFERENCE}, None, 1, True)
    assert resource["conferenceData"] == CONFERENCE
    replaced: dict[str, Any] = {}
    apply_conference_data(replaced, {}, {"conferenceData": CONFERENCE}, 1, True)
    assert "conferenceData" not in replaced
    patched: dict[str, Any] = {}
    apply_conference_data(patched, {}, {"conferenceData": CONFERENCE}, 1, False)
    assert patched["conferenceData"] == CONFERENCE


@pytest.mark.parametrize("raw", ["2", "-1", "x"])
def test_bad_conference_version(raw: str) -> None:
    assert _error(parse_conference_version, raw).status == 400


def test_conference_version_default() -> None:
    assert parse_conference_version(None) == 0
    assert parse_conference_version("1") == 1
