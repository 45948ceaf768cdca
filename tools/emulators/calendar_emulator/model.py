"""The in-memory data model: calendars and compact event records.

An event is stored once, as its JSON text, next to a few derived keys (time span, update time,
change-log position) so that lists filter and page without parsing every event.
"""

from __future__ import annotations

import datetime
import json
import math
import secrets
from typing import Any

from .recurrence import Series, build_series
from .timeutil import parse_event_time

__all__ = ["JSON", "Calendar", "EventRecord", "ParsedSeries"]

JSON = dict[str, Any]


class EventRecord:
    """One stored event, series or instance exception."""

    __slots__ = (
        "cancelled",
        "data",
        "end_ts",
        "etag",
        "id",
        "is_series",
        "mseq",
        "series_id",
        "start_ts",
        "updated_ts",
    )

    def __init__(
        self,
        event_id: str,
        data: str,
        *,
        etag: str,
        mseq: int,
        cancelled: bool,
        series_id: str | None,
        is_series: bool,
        start_ts: float,
        end_ts: float,
        updated_ts: float,
    ) -> None:
        self.id = event_id
        self.data = data
        self.etag = etag
        self.mseq = mseq
        self.cancelled = cancelled
        self.series_id = series_id
        self.is_series = is_series
        self.start_ts = start_ts
        self.end_ts = end_ts
        self.updated_ts = updated_ts

    def resource(self) -> JSON:
        parsed: JSON = json.loads(self.data)
        return parsed


class ParsedSeries:
    """A series' resource and its expandable rule set (cached per etag)."""

    __slots__ = ("data", "etag", "series")

    def __init__(self, etag: str, data: JSON, series: Series) -> None:
        self.etag = etag
        self.data = data
        self.series = series


def span_of(resource: JSON) -> tuple[float, float, Series | None]:
    """(start, end) timestamps of an event; for a series, first start to last end (inf if none)."""
    start = parse_event_time(resource["start"])
    end = parse_event_time(resource["end"])
    recurrence = resource.get("recurrence")
    if not recurrence:
        return start.timestamp, end.timestamp, None
    series = build_series(start, end, recurrence)
    last = series.last_end()
    return start.timestamp, (math.inf if last is None else last.timestamp()), series


class Calendar:
    """One calendar: its events, change log and sync-token generation."""

    def __init__(self, calendar_id: str) -> None:
        self.id = calendar_id
        # Metadata of a calendar made with calendars.insert (others answer their id and UTC).
        self.summary = calendar_id
        self.time_zone = "UTC"
        self.resource_id = secrets.token_urlsafe(18)
        self.seq = 0
        self.generation = 0
        self.events: dict[str, EventRecord] = {}  # insertion (creation) order
        self.changes: dict[str, None] = {}  # ordered by last modification
        self.exceptions: dict[str, set[str]] = {}  # series id -> exception ids
        # Invitations (see sharing.py): event id -> the organizer's calendar, for copies held here;
        # event id -> calendars that hold a copy, for events organized here; copies the attendee
        # deleted (not delivered again while they stay invited).
        self.origin: dict[str, str] = {}
        self.copies: dict[str, set[str]] = {}
        self.dismissed: set[str] = set()
        self.updated = datetime.datetime.now(datetime.UTC)
        self._series: dict[str, ParsedSeries] = {}

    def record_change(self, record: EventRecord) -> None:
        self.seq += 1
        record.mseq = self.seq
        self.events[record.id] = record
        self.changes.pop(record.id, None)
        self.changes[record.id] = None
        self._series.pop(record.id, None)
        if record.series_id is not None:
            self.exceptions.setdefault(record.series_id, set()).add(record.id)

    def changed_since(self, seq: int) -> list[EventRecord]:
        """Records modified after change-log position `seq`, oldest change first."""
        found: list[EventRecord] = []
        for event_id in reversed(self.changes):
            record = self.events[event_id]
            if record.mseq <= seq:
                break
            found.append(record)
        found.reverse()
        return found

    def parsed_series(self, record: EventRecord) -> ParsedSeries:
        cached = self._series.get(record.id)
        if cached is not None and cached.etag == record.etag:
            return cached
        data = record.resource()
        _, _, series = span_of(data)
        assert series is not None
        cached = ParsedSeries(record.etag, data, series)
        self._series[record.id] = cached
        return cached

    def series_is_live(self, series_id: str) -> bool:
        record = self.events.get(series_id)
        return record is not None and record.is_series and not record.cancelled
