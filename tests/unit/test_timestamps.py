"""Timestamps from outside input (Calendar events, SyncRequests, channel commands, Calendar's
channel answers) either decode to an aware UTC moment confsync can compute with, or raise the
malformed-input error: never OverflowError or anything else (issue 13, L7)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from confsync.adapters.calendar_api import _expiration
from confsync.errors import MalformedInputError
from confsync.events import decode_event, parse_rfc3339
from confsync.messages import decode_channel_command, decode_sync_request

EDGES = [
    "0001-01-01T00:00:00+01:00",  # before datetime.min once moved to UTC
    "9999-12-31T23:59:59-01:00",  # after datetime.max once moved to UTC
    "0001-01-01T00:00:00Z",  # representable, but no arithmetic is possible near it
    "9999-12-31T23:59:59Z",
    "1969-12-31T23:59:59Z",
]


def _sync_request(notified_at: str) -> bytes:
    body = {"v": 1, "calendarKey": "k", "reason": "notification", "notifiedAt": notified_at}
    return json.dumps(body).encode()


def _tick(issued_at: str) -> bytes:
    return json.dumps({"v": 1, "command": "tick", "issuedAt": issued_at}).encode()


@pytest.mark.parametrize("value", EDGES)
def test_an_out_of_range_timestamp_is_malformed(value: str) -> None:
    with pytest.raises(MalformedInputError):
        parse_rfc3339(value)


@pytest.mark.parametrize("value", EDGES)
def test_an_event_updated_out_of_range_is_a_malformed_event(value: str) -> None:
    with pytest.raises(MalformedInputError):
        decode_event({"id": "e1", "updated": value})


@pytest.mark.parametrize("value", EDGES)
def test_a_sync_request_notified_out_of_range_is_malformed(value: str) -> None:
    with pytest.raises(MalformedInputError):
        decode_sync_request(_sync_request(value))


@pytest.mark.parametrize("value", EDGES)
def test_a_tick_issued_out_of_range_is_malformed(value: str) -> None:
    with pytest.raises(MalformedInputError):
        decode_channel_command(_tick(value))


def test_the_ordinary_forms_still_decode() -> None:
    assert parse_rfc3339("2026-12-03T10:00:00.123Z") == datetime(
        2026, 12, 3, 10, 0, 0, 123000, tzinfo=UTC
    )
    assert parse_rfc3339("2026-12-03T11:00:00+01:00") == datetime(2026, 12, 3, 10, tzinfo=UTC)
    assert parse_rfc3339("1970-01-01T00:00:00Z") == datetime(1970, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("millis", [10**30, -(10**30), 2**63, -(2**63), "1" * 400])
def test_a_channel_expiration_out_of_range_is_treated_as_absent(millis: object) -> None:
    before = datetime.now(UTC)
    expiration = _expiration({"expiration": millis}, 60)
    assert before + timedelta(seconds=59) <= expiration <= datetime.now(UTC) + timedelta(seconds=61)


# --- properties --------------------------------------------------------------------------------

_OFFSETS = st.sampled_from(["Z", "z", "+00:00", "+01:00", "-01:00", "+23:59", "-23:59", ""])
_STAMPS = st.builds(
    lambda moment, offset: moment.isoformat() + offset,
    st.datetimes(min_value=datetime.min, max_value=datetime.max),
    _OFFSETS,
)
_ANY_TEXT = st.one_of(st.text(), _STAMPS, st.from_regex(r"\A[0-9T:.+\-Zz ]{0,40}\Z"))


def _decodes_or_is_malformed(value: str) -> None:
    try:
        moment = parse_rfc3339(value)
    except MalformedInputError:
        return
    assert moment.tzinfo is UTC
    # whatever decoded is a moment confsync can compute with, either way, by years
    moment.timestamp()
    assert moment - timedelta(days=3650) < moment < moment + timedelta(days=365)


@given(_ANY_TEXT)
@example("0001-01-01T00:00:00+01:00")
@example("9999-12-31T23:59:59-01:00")
def test_an_arbitrary_timestamp_string_decodes_or_is_malformed(value: str) -> None:
    _decodes_or_is_malformed(value)


@given(_ANY_TEXT)
def test_an_arbitrary_updated_decodes_or_the_event_is_malformed(value: str) -> None:
    try:
        event = decode_event({"id": "e1", "updated": value})
    except MalformedInputError:
        return
    assert event.updated_ms >= 0 or event.updated is None


@given(_ANY_TEXT)
def test_an_arbitrary_notified_at_decodes_or_the_request_is_malformed(value: str) -> None:
    try:
        decode_sync_request(_sync_request(value))
    except MalformedInputError:
        return


@given(_ANY_TEXT)
def test_an_arbitrary_issued_at_decodes_or_the_tick_is_malformed(value: str) -> None:
    try:
        decode_channel_command(_tick(value))
    except MalformedInputError:
        return


@given(st.one_of(st.integers(), st.floats(), st.text(), st.none()))
def test_an_arbitrary_channel_expiration_is_a_moment(raw: object) -> None:
    expiration = _expiration({"expiration": raw}, 60)
    assert expiration.tzinfo is not None
    expiration.timestamp()
