"""Recurrence expansion (RRULE, EXRULE, RDATE, EXDATE) and instance ids.

A series is expanded in the time zone of its `start.timeZone` (wall-clock times stay put across
daylight-saving changes); all-day series are expanded on dates. Instance ids are
``<seriesId>_<YYYYMMDDTHHMMSSZ>`` (timed, UTC) or ``<seriesId>_<YYYYMMDD>`` (all-day).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rruleset, rrulestr

from .timeutil import UTC, EventTime, format_instance_stamp, get_zone

__all__ = [
    "MAX_INSTANCES",
    "RecurrenceError",
    "Series",
    "build_series",
    "instance_id",
    "split_instance_id",
]

# No single series ever yields more instances than this in one expansion.
MAX_INSTANCES = 5000

_INSTANCE_RE = re.compile(r"^(?P<series>.+)_(?P<stamp>\d{8}(?:T\d{6}Z)?)\Z")
_UNTIL_RE = re.compile(r"UNTIL=([0-9TZ]+)", re.IGNORECASE)


class RecurrenceError(ValueError):
    """A recurrence that Google would reject."""


def instance_id(series_id: str, original_start: datetime.datetime | datetime.date) -> str:
    return f"{series_id}_{format_instance_stamp(original_start)}"


def split_instance_id(event_id: str) -> tuple[str, datetime.datetime | datetime.date] | None:
    """(series id, original start) of an instance id, or None when it is not one."""
    match = _INSTANCE_RE.match(event_id)
    if not match:
        return None
    stamp = match.group("stamp")
    try:
        if "T" in stamp:
            moment = datetime.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
            return match.group("series"), moment
        return match.group("series"), datetime.datetime.strptime(stamp, "%Y%m%d").date()
    except ValueError:
        return None


@dataclass(frozen=True)
class Series:
    """An expandable series: first start, duration and the rule set."""

    first: EventTime
    duration: datetime.timedelta
    rules: rruleset
    infinite: bool
    zone: ZoneInfo

    @property
    def all_day(self) -> bool:
        return self.first.all_day

    def starts(
        self,
        lower: datetime.datetime | None,
        upper: datetime.datetime,
        limit: int = MAX_INSTANCES,
    ) -> list[datetime.datetime]:
        """Instance starts with `start + duration > lower` and `start < upper` (both exclusive).

        Starts are aware datetimes in the series' zone (midnight UTC for all-day series).
        """
        begin = self.first.moment if lower is None else lower - self.duration
        found: list[datetime.datetime] = []
        for start in self.rules.xafter(begin, inc=True):
            if start >= upper:
                break
            if lower is None or start + self.duration > lower:
                found.append(start)
                if len(found) >= limit:
                    break
        return found

    def occurs_at(self, moment: datetime.datetime) -> bool:
        """Whether an instance starts exactly at `moment`."""
        window = datetime.timedelta(seconds=1)
        return any(
            start == moment
            for start in self.rules.between(moment - window, moment + window, inc=True)
        )

    def last_end(self) -> datetime.datetime | None:
        """End of the last instance, or None for an unbounded series."""
        if self.infinite:
            return None
        last: datetime.datetime | None = None
        for count, start in enumerate(self.rules):
            last = start
            if count >= 100_000:
                return None
        return None if last is None else last + self.duration

    def local(self, start: datetime.datetime) -> datetime.datetime | datetime.date:
        """The instance start as Google labels it: a date (all-day) or a zoned date-time."""
        if self.all_day:
            return start.date()
        return start.astimezone(self.zone)


def _normalise_until(rule: str, zone: ZoneInfo, all_day: bool) -> str:
    """Rewrite UNTIL in UTC so that dateutil accepts it next to an aware DTSTART."""

    def repl(match: re.Match[str]) -> str:
        value = match.group(1).upper()
        try:
            if len(value) == 8:
                day = datetime.datetime.strptime(value, "%Y%m%d")
                moment = (
                    day.replace(tzinfo=UTC)
                    if all_day
                    else day.replace(hour=23, minute=59, second=59, tzinfo=zone)
                )
            elif value.endswith("Z"):
                moment = datetime.datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
            else:
                naive = datetime.datetime.strptime(value, "%Y%m%dT%H%M%S")
                moment = naive.replace(tzinfo=UTC if all_day else zone)
        except ValueError as exc:
            raise RecurrenceError(f"bad UNTIL {value!r}") from exc
        return "UNTIL=" + moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")

    return _UNTIL_RE.sub(repl, rule)


def _parse_dates(
    line: str, dtstart: datetime.datetime, zone: ZoneInfo, all_day: bool
) -> list[datetime.datetime]:
    head, _, values = line.partition(":")
    params = dict(part.split("=", 1) for part in head.split(";")[1:] if "=" in part)
    if params.get("VALUE", "DATE-TIME").upper() == "PERIOD":
        raise RecurrenceError("PERIOD values are not supported")
    value_zone: datetime.tzinfo = zone
    if "TZID" in params:
        try:
            value_zone = get_zone(params["TZID"])
        except ValueError as exc:
            raise RecurrenceError(str(exc)) from exc
    found: list[datetime.datetime] = []
    for raw in values.split(","):
        value = raw.strip().upper()
        try:
            if len(value) == 8:
                day = datetime.datetime.strptime(value, "%Y%m%d")
                if all_day:
                    found.append(day.replace(tzinfo=UTC))
                else:
                    found.append(datetime.datetime.combine(day.date(), dtstart.timetz()))
            elif value.endswith("Z"):
                moment = datetime.datetime.strptime(value, "%Y%m%dT%H%M%SZ")
                found.append(moment.replace(tzinfo=UTC))
            else:
                naive = datetime.datetime.strptime(value, "%Y%m%dT%H%M%S")
                found.append(naive.replace(tzinfo=UTC if all_day else value_zone))
        except ValueError as exc:
            raise RecurrenceError(f"bad date {value!r}") from exc
    return found


def _add_rule(
    rules: rruleset, line: str, dtstart: datetime.datetime, zone: ZoneInfo, all_day: bool
) -> bool:
    """Add an RRULE/EXRULE line; return whether it is unbounded."""
    name, _, body = line.partition(":")
    body = _normalise_until(body, zone, all_day)
    try:
        parsed = rrulestr(body, dtstart=dtstart)
    except (ValueError, TypeError) as exc:
        raise RecurrenceError(f"bad rule {line!r}") from exc
    if not isinstance(parsed, rrule):
        raise RecurrenceError(f"bad rule {line!r}")
    upper = body.upper()
    if name.upper().startswith("EXRULE"):
        rules.exrule(parsed)
        return False
    rules.rrule(parsed)
    return "COUNT=" not in upper and "UNTIL=" not in upper


def build_series(start: EventTime, end: EventTime, lines: Iterable[str]) -> Series:
    """Build a series from the event's `start`, `end` and `recurrence` lines."""
    if start.all_day:
        zone = get_zone(start.zone) if start.zone else ZoneInfo("UTC")
        dtstart = start.moment
    else:
        if not start.zone:
            raise RecurrenceError("recurring events need start.timeZone")
        zone = get_zone(start.zone)
        dtstart = start.moment.astimezone(zone)
    rules = rruleset()
    infinite = False
    has_dates = False
    for raw in lines:
        line = raw.strip()
        name = line.split(":", 1)[0].split(";", 1)[0].upper()
        if name in ("RRULE", "EXRULE"):
            infinite = _add_rule(rules, line, dtstart, zone, start.all_day) or infinite
            has_dates = has_dates or name == "RRULE"
        elif name == "RDATE":
            for moment in _parse_dates(line, dtstart, zone, start.all_day):
                rules.rdate(moment)
            has_dates = True
        elif name == "EXDATE":
            for moment in _parse_dates(line, dtstart, zone, start.all_day):
                rules.exdate(moment)
        else:
            raise RecurrenceError(f"unsupported recurrence line {line!r}")
    if not has_dates:
        raise RecurrenceError("no RRULE or RDATE")
    return Series(
        first=start,
        duration=end.moment - start.moment,
        rules=rules,
        infinite=infinite,
        zone=zone,
    )
