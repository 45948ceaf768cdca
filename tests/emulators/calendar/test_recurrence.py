"""Recurrence expansion: daily/weekly rules, COUNT, UNTIL, EXDATE, RDATE, DST, instance ids."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from calendar_emulator.recurrence import (
    RecurrenceError,
    build_series,
    instance_id,
    split_instance_id,
)
from calendar_emulator.timeutil import parse_event_time

UTC = datetime.UTC
FAR = datetime.datetime(2030, 1, 1, tzinfo=UTC)


def _series(start: dict[str, Any], end: dict[str, Any], lines: list[str]):
    return build_series(parse_event_time(start), parse_event_time(end), lines)


def _ny(day: str, hour: int) -> tuple[dict[str, Any], dict[str, Any]]:
    zone = "America/New_York"
    return (
        {"dateTime": f"{day}T{hour:02d}:00:00", "timeZone": zone},
        {"dateTime": f"{day}T{hour + 1:02d}:00:00", "timeZone": zone},
    )


def test_daily_count_gives_exactly_count_instances() -> None:
    start, end = _ny("2026-01-05", 9)
    series = _series(start, end, ["RRULE:FREQ=DAILY;COUNT=4"])
    starts = series.starts(None, FAR)
    assert [s.day for s in starts] == [5, 6, 7, 8]
    assert not series.infinite
    assert series.last_end() == starts[-1] + datetime.timedelta(hours=1)


def test_daily_keeps_wall_clock_time_across_dst() -> None:
    start, end = _ny("2026-03-06", 9)  # DST starts on 2026-03-08 in New York
    starts = _series(start, end, ["RRULE:FREQ=DAILY;COUNT=4"]).starts(None, FAR)
    assert [s.hour for s in starts] == [9, 9, 9, 9]
    utc_hours = [s.astimezone(UTC).hour for s in starts]
    assert utc_hours == [14, 14, 13, 13]


def test_weekly_byday_with_until_date_includes_the_until_day() -> None:
    start, end = _ny("2026-01-05", 10)  # a Monday
    series = _series(start, end, ["RRULE:FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20260114"])
    days = [s.date().isoformat() for s in series.starts(None, FAR)]
    assert days == ["2026-01-05", "2026-01-07", "2026-01-12", "2026-01-14"]


def test_until_in_utc_is_inclusive() -> None:
    start, end = _ny("2026-01-05", 9)
    series = _series(start, end, ["RRULE:FREQ=DAILY;UNTIL=20260107T140000Z"])
    assert len(series.starts(None, FAR)) == 3


def test_exdate_with_tzid_and_utc_both_remove_instances() -> None:
    start, end = _ny("2026-01-05", 9)
    series = _series(
        start,
        end,
        [
            "RRULE:FREQ=DAILY;COUNT=5",
            "EXDATE;TZID=America/New_York:20260106T090000",
            "EXDATE:20260108T140000Z",
        ],
    )
    assert [s.day for s in series.starts(None, FAR)] == [5, 7, 9]


def test_rdate_adds_an_instance() -> None:
    start, end = _ny("2026-01-05", 9)
    series = _series(start, end, ["RRULE:FREQ=DAILY;COUNT=2", "RDATE:20260120T150000Z"])
    starts = series.starts(None, FAR)
    assert len(starts) == 3
    assert starts[-1].astimezone(UTC) == datetime.datetime(2026, 1, 20, 15, tzinfo=UTC)


def test_window_bounds_are_exclusive_on_end_and_start() -> None:
    start, end = _ny("2026-01-05", 9)
    series = _series(start, end, ["RRULE:FREQ=DAILY"])
    assert series.infinite
    assert series.last_end() is None
    lower = datetime.datetime(2026, 1, 6, 15, tzinfo=UTC)  # == end of the 6th's instance
    upper = datetime.datetime(2026, 1, 9, 14, tzinfo=UTC)  # == start of the 9th's instance
    assert [s.day for s in series.starts(lower, upper)] == [7, 8]


def test_infinite_series_is_bounded_by_limit() -> None:
    start, end = _ny("2026-01-05", 9)
    series = _series(start, end, ["RRULE:FREQ=DAILY"])
    assert len(series.starts(None, datetime.datetime(2100, 1, 1, tzinfo=UTC), limit=50)) == 50


def test_all_day_weekly_series() -> None:
    series = _series({"date": "2026-02-02"}, {"date": "2026-02-03"}, ["RRULE:FREQ=WEEKLY;COUNT=3"])
    assert series.all_day
    assert [s.date().isoformat() for s in series.starts(None, FAR)] == [
        "2026-02-02",
        "2026-02-09",
        "2026-02-16",
    ]


def test_occurs_at() -> None:
    start, end = _ny("2026-01-05", 9)
    series = _series(start, end, ["RRULE:FREQ=DAILY;COUNT=3"])
    assert series.occurs_at(datetime.datetime(2026, 1, 6, 14, tzinfo=UTC))
    assert not series.occurs_at(datetime.datetime(2026, 1, 6, 15, tzinfo=UTC))
    assert not series.occurs_at(datetime.datetime(2026, 1, 9, 14, tzinfo=UTC))


@pytest.mark.parametrize(
    "lines",
    [["RRULE:FREQ=SOMETIMES"], ["DTSTART:20260101T000000Z", "RRULE:FREQ=DAILY"], ["EXDATE:x"]],
)
def test_bad_recurrence_is_rejected(lines: list[str]) -> None:
    start, end = _ny("2026-01-05", 9)
    with pytest.raises(RecurrenceError):
        _series(start, end, lines)


def test_instance_ids_round_trip() -> None:
    moment = datetime.datetime(
        2026, 3, 8, 9, tzinfo=datetime.timezone(datetime.timedelta(hours=-4))
    )
    text = instance_id("abc123", moment)
    assert text == "abc123_20260308T130000Z"
    assert split_instance_id(text) == ("abc123", moment.astimezone(UTC))
    assert instance_id("abc123", datetime.date(2026, 3, 8)) == "abc123_20260308"
    assert split_instance_id("abc123_20260308") == ("abc123", datetime.date(2026, 3, 8))
    assert split_instance_id("plainid") is None
    assert split_instance_id("abc_20261399") is None
