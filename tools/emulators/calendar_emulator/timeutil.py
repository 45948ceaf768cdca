"""Parsing and formatting of RFC3339 timestamps and Calendar `EventDateTime` objects."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "UTC",
    "EventTime",
    "format_date",
    "format_instance_stamp",
    "format_ms",
    "format_seconds",
    "get_zone",
    "parse_event_time",
    "parse_rfc3339",
]

UTC = datetime.UTC


def parse_rfc3339(text: str) -> datetime.datetime:
    """Parse an RFC3339 timestamp that carries an offset; raise ValueError otherwise."""
    if "T" not in text and "t" not in text:
        raise ValueError(f"not a date-time: {text!r}")
    parsed = datetime.datetime.fromisoformat(text.replace("z", "Z"))
    if parsed.tzinfo is None:
        raise ValueError(f"offset missing: {text!r}")
    return parsed


def format_ms(moment: datetime.datetime) -> str:
    """UTC RFC3339 with millisecond precision and a `Z` suffix (Google's `updated`)."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def format_seconds(moment: datetime.datetime) -> str:
    """RFC3339 with second precision, keeping the moment's own offset."""
    return moment.replace(microsecond=0).isoformat()


def format_date(day: datetime.date) -> str:
    return day.isoformat()


def format_instance_stamp(moment: datetime.datetime | datetime.date) -> str:
    """The suffix of an instance id: `YYYYMMDDTHHMMSSZ` (UTC) or `YYYYMMDD` (all-day)."""
    if isinstance(moment, datetime.datetime):
        return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return moment.strftime("%Y%m%d")


def get_zone(name: str) -> ZoneInfo:
    """The IANA zone `name`; ValueError when unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:  # OSError: "America", too long
        raise ValueError(f"unknown time zone {name!r}") from exc


@dataclass(frozen=True)
class EventTime:
    """A parsed `start`/`end`: an all-day date or an aware moment (in its own zone, if any)."""

    all_day: bool
    moment: datetime.datetime  # aware; midnight UTC for all-day dates
    day: datetime.date | None
    zone: str | None

    @property
    def timestamp(self) -> float:
        return self.moment.timestamp()


def parse_event_time(value: Any) -> EventTime:
    """Parse an `EventDateTime` dict; ValueError on anything Google would reject."""
    if not isinstance(value, dict):
        raise ValueError("not an object")
    zone_name = value.get("timeZone")
    if zone_name is not None and not isinstance(zone_name, str):
        raise ValueError("timeZone must be a string")
    if zone_name:
        get_zone(zone_name)
    date_text = value.get("date")
    date_time_text = value.get("dateTime")
    if date_text and date_time_text:
        raise ValueError("both date and dateTime")
    if date_text:
        if not isinstance(date_text, str):
            raise ValueError("date must be a string")
        day = datetime.date.fromisoformat(date_text)
        moment = datetime.datetime.combine(day, datetime.time(), tzinfo=UTC)
        return EventTime(all_day=True, moment=moment, day=day, zone=zone_name or None)
    if not isinstance(date_time_text, str) or not date_time_text:
        raise ValueError("missing date and dateTime")
    parsed = datetime.datetime.fromisoformat(date_time_text.replace("z", "Z"))
    if parsed.tzinfo is None:
        if not zone_name:
            raise ValueError("dateTime without offset needs timeZone")
        parsed = parsed.replace(tzinfo=get_zone(zone_name))
    return EventTime(all_day=False, moment=parsed, day=None, zone=zone_name or None)
