"""Thread-safe in-memory state: calendars, events, the change log and list snapshots.

One re-entrant lock guards everything. Every modification of an event moves it to the end of its
calendar's change log, so an incremental list costs time proportional to the changes only.
"""

from __future__ import annotations

import base64
import datetime
import json
import threading
import uuid
from collections.abc import Callable, Iterable

from .clock import Clock
from .errors import condition_not_met, deleted, duplicate, not_found
from .listing import ListQuery, render_instance
from .model import JSON, Calendar, EventRecord, span_of
from .pages import EventLists, ListPage
from .recurrence import split_instance_id
from .sharing import after_attendee_write, check_attendee_write, is_copy, propagate
from .timeutil import format_ms
from .validation import (
    apply_conference_data,
    check_event_id,
    check_sequence,
    check_times,
    merge_patch,
    strip_read_only,
    with_offsets,
)

__all__ = ["DEFAULT_SYNC_TOKEN_TTL", "ListPage", "Store"]

DEFAULT_SYNC_TOKEN_TTL = 7 * 24 * 3600.0
_KEPT_ON_WRITE = ("created", "creator", "organizer", "iCalUID", "recurringEventId")
_KEPT_ON_WRITE_EXTRA = ("originalStartTime", "eventType")


def _normalise_etag(value: str) -> str:
    value = value.strip()
    if value.startswith("W/"):
        value = value[2:]
    return value.strip('"')


def _etag_matches(header: str, etag: str) -> bool:
    wanted = _normalise_etag(etag)
    return any(part.strip() == "*" or _normalise_etag(part) == wanted for part in header.split(","))


class Store:
    """The emulator's state and the event operations on it."""

    def __init__(
        self,
        clock: Clock,
        sync_token_ttl: float = DEFAULT_SYNC_TOKEN_TTL,
        on_change: Callable[[str], None] | None = None,
    ) -> None:
        self.clock = clock
        self.sync_token_ttl = sync_token_ttl
        self.on_change = on_change
        self.lock = threading.RLock()
        self._calendars: dict[str, Calendar] = {}
        self._lists = EventLists(clock, sync_token_ttl)
        self._last_etag = 0

    # -- housekeeping ---------------------------------------------------------------------------

    def reset(self) -> None:
        with self.lock:
            self._calendars.clear()
            self._lists = EventLists(self.clock, self.sync_token_ttl)  # old tokens are garbled

    def calendar(self, calendar_id: str) -> Calendar:
        with self.lock:
            found = self._calendars.get(calendar_id)
            if found is None:
                found = self._calendars[calendar_id] = Calendar(calendar_id)
                found.updated = self.clock.now()
            return found

    def invalidate_sync_tokens(self, calendar_id: str) -> None:
        with self.lock:
            self.calendar(calendar_id).generation += 1

    def event_count(self) -> int:
        with self.lock:
            return sum(len(calendar.events) for calendar in self._calendars.values())

    def _next_etag(self, now: datetime.datetime) -> str:
        value = max(self._last_etag + 1, int(now.timestamp() * 1_000_000))
        self._last_etag = value
        return f'"{value}"'

    def calendar_ids(self) -> list[str]:
        """The ids of every calendar that exists."""
        with self.lock:
            return list(self._calendars)

    def known(self, calendar_id: str) -> bool:
        """Whether the calendar exists (it was used, or given an ACL entry)."""
        with self.lock:
            return calendar_id in self._calendars

    def notify(self, calendar_ids: Iterable[str]) -> None:
        """Tell push channels about changes; call it after releasing the lock."""
        if self.on_change is not None:
            for calendar_id in sorted(set(calendar_ids)):
                self.on_change(calendar_id)

    def _shared(self, calendar: Calendar, event_id: str, series_id: str | None) -> set[str]:
        """After a write on the organizer's calendar: the attendees' copies follow."""
        if is_copy(calendar, event_id, series_id):
            return {calendar.id}
        return {calendar.id} | propagate(self, calendar, event_id)

    # -- writing ----------------------------------------------------------------------------------

    def save(
        self,
        calendar: Calendar,
        event_id: str,
        resource: JSON,
        *,
        created: bool,
        series_id: str | None,
    ) -> JSON:
        """Stamp etag/updated (and created), store, log the change; return the stored resource."""
        now = self.clock.now()
        stamp = format_ms(now)
        etag = self._next_etag(now)
        head: JSON = {
            "kind": "calendar#event",
            "etag": etag,
            "id": event_id,
            "status": resource.get("status", "confirmed"),
            "htmlLink": _html_link(event_id, calendar.id),
            "created": resource.get("created", stamp) if not created else stamp,
            "updated": stamp,
        }
        full = {**head, **{k: v for k, v in resource.items() if k not in head}}
        full.setdefault("creator", {"email": calendar.id, "self": True})
        full.setdefault("organizer", {"email": calendar.id, "self": True})
        full.setdefault("iCalUID", f"{event_id}@google.com")
        full.setdefault("sequence", 0)
        full.setdefault("reminders", {"useDefault": True})
        full.setdefault("eventType", "default")
        if not full.get("recurrence"):
            full.pop("recurrence", None)
        start_ts, end_ts, series = span_of(full)
        record = EventRecord(
            event_id,
            json.dumps(full, separators=(",", ":")),
            etag=etag,
            mseq=0,
            cancelled=full["status"] == "cancelled",
            series_id=series_id,
            is_series=series is not None,
            start_ts=start_ts,
            end_ts=end_ts,
            updated_ts=now.timestamp(),
        )
        calendar.record_change(record)
        calendar.updated = now
        if record.cancelled and record.is_series:
            self._cancel_exceptions(calendar, event_id)
        return full

    def bury(self, calendar: Calendar, event_id: str) -> None:
        """Leave a cancelled event that carries only its id (the old organizer's, after a move)."""
        record = calendar.events[event_id]
        now = self.clock.now()
        etag = self._next_etag(now)
        data = {"kind": "calendar#event", "etag": etag, "id": event_id, "status": "cancelled"}
        buried = EventRecord(
            event_id,
            json.dumps(data, separators=(",", ":")),
            etag=etag,
            mseq=0,
            cancelled=True,
            series_id=None,
            is_series=False,
            start_ts=record.start_ts,
            end_ts=record.end_ts,
            updated_ts=now.timestamp(),
        )
        calendar.record_change(buried)
        calendar.updated = now

    def _cancel_exceptions(self, calendar: Calendar, series_id: str) -> None:
        for exception_id in sorted(calendar.exceptions.get(series_id, set())):
            exception = calendar.events[exception_id]
            if exception.cancelled:
                continue
            resource = exception.resource()
            resource["status"] = "cancelled"
            self.save(calendar, exception_id, resource, created=False, series_id=series_id)

    def _resolve(
        self, calendar: Calendar, event_id: str
    ) -> tuple[JSON, EventRecord | None, str | None]:
        """(current resource, its record if stored, series id if an instance) or 404."""
        record = calendar.events.get(event_id)
        if record is not None:
            return record.resource(), record, record.series_id
        split = split_instance_id(event_id)
        if split is None:
            raise not_found()
        series_id, original = split
        series_record = calendar.events.get(series_id)
        if series_record is None or not series_record.is_series:
            raise not_found()
        parsed = calendar.parsed_series(series_record)
        series = parsed.series
        if isinstance(original, datetime.datetime):
            if series.all_day:
                raise not_found()
            moment = original.astimezone(series.zone)
        else:
            if not series.all_day:
                raise not_found()
            moment = datetime.datetime.combine(original, datetime.time(), tzinfo=datetime.UTC)
        if not series.occurs_at(moment):
            raise not_found()
        instance = render_instance(parsed, moment, series_record.cancelled)
        return instance, None, series_id

    def insert(self, calendar_id: str, body: JSON, conference_version: int) -> JSON:
        check_times(body)
        with self.lock:
            calendar = self.calendar(calendar_id)
            if "id" in body and body["id"] is not None:
                event_id = check_event_id(body["id"])
                if event_id in calendar.events:
                    raise duplicate()
            else:
                event_id = uuid.uuid4().hex
            resource = strip_read_only(body)
            resource.pop("id", None)
            with_offsets(resource)
            resource["sequence"] = check_sequence(body, None, False)
            apply_conference_data(resource, body, None, conference_version, replace=True)
            saved = self.save(calendar, event_id, resource, created=True, series_id=None)
            touched = self._shared(calendar, event_id, None)
        self.notify(touched)
        return saved

    def get(self, calendar_id: str, event_id: str) -> JSON:
        with self.lock:
            resource, _, _ = self._resolve(self.calendar(calendar_id), event_id)
            return resource

    def _write(
        self,
        calendar_id: str,
        event_id: str,
        body: JSON,
        *,
        conference_version: int,
        if_match: str | None,
        patch: bool,
    ) -> JSON:
        with self.lock:
            calendar = self.calendar(calendar_id)
            current, _, series_id = self._resolve(calendar, event_id)
            if if_match is not None and not _etag_matches(if_match, current["etag"]):
                raise condition_not_met()
            client = strip_read_only(body)
            client.pop("id", None)
            if patch:
                resource = merge_patch(strip_read_only(current), client)
                resource.pop("id", None)
                conference_body = (
                    {"conferenceData": resource.get("conferenceData")}
                    if "conferenceData" in body
                    else {}
                )
            else:
                resource = client
                conference_body = body
            if series_id is not None:
                resource.pop("recurrence", None)
            check_times(resource)
            with_offsets(resource)
            times_changed = any(
                resource.get(key) != current.get(key) for key in ("start", "end", "recurrence")
            )
            resource["sequence"] = check_sequence(body, current, times_changed)
            apply_conference_data(
                resource, conference_body, current, conference_version, replace=not patch
            )
            for key in (*_KEPT_ON_WRITE, *_KEPT_ON_WRITE_EXTRA):
                if key in current:
                    resource[key] = current[key]
            if not patch and "status" not in body:
                resource["status"] = "confirmed"
            if is_copy(calendar, event_id, series_id):
                check_attendee_write(current, resource, calendar.id)
            saved = self.save(calendar, event_id, resource, created=False, series_id=series_id)
            touched = self._shared(calendar, event_id, series_id)
            if is_copy(calendar, event_id, series_id):
                if saved["status"] == "cancelled" and event_id in calendar.origin:
                    calendar.dismissed.add(event_id)
                touched |= after_attendee_write(self, calendar, event_id, current, saved)
        self.notify(touched)
        return saved

    def update(
        self,
        calendar_id: str,
        event_id: str,
        body: JSON,
        conference_version: int,
        if_match: str | None,
    ) -> JSON:
        return self._write(
            calendar_id,
            event_id,
            body,
            conference_version=conference_version,
            if_match=if_match,
            patch=False,
        )

    def patch(
        self,
        calendar_id: str,
        event_id: str,
        body: JSON,
        conference_version: int,
        if_match: str | None,
    ) -> JSON:
        return self._write(
            calendar_id,
            event_id,
            body,
            conference_version=conference_version,
            if_match=if_match,
            patch=True,
        )

    def delete(self, calendar_id: str, event_id: str, if_match: str | None) -> None:
        with self.lock:
            calendar = self.calendar(calendar_id)
            current, _, series_id = self._resolve(calendar, event_id)
            if current.get("status") == "cancelled":
                raise deleted()
            if if_match is not None and not _etag_matches(if_match, current["etag"]):
                raise condition_not_met()
            resource = strip_read_only(current)
            for key in (*_KEPT_ON_WRITE, *_KEPT_ON_WRITE_EXTRA):
                if key in current:
                    resource[key] = current[key]
            resource["status"] = "cancelled"
            self.save(calendar, event_id, resource, created=False, series_id=series_id)
            if event_id in calendar.origin:
                calendar.dismissed.add(event_id)  # the attendee removed their copy: only theirs
            touched = self._shared(calendar, event_id, series_id)
        self.notify(touched)

    # -- listing ----------------------------------------------------------------------------------

    def list_events(self, calendar_id: str, query: ListQuery) -> ListPage:
        with self.lock:
            return self._lists.list_events(self.calendar(calendar_id), query)

    def instances(self, calendar_id: str, event_id: str, query: ListQuery) -> ListPage:
        with self.lock:
            return self._lists.instances(self.calendar(calendar_id), event_id, query)


def _html_link(event_id: str, calendar_id: str) -> str:
    eid = base64.urlsafe_b64encode(f"{event_id} {calendar_id}".encode()).decode().rstrip("=")
    return f"https://www.google.com/calendar/event?eid={eid}"
