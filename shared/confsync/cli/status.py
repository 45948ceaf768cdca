"""A read model for operators (``confsync status``): one row per calendar, read from Firestore.

Only the command line uses it; the functions never read it. It joins three collections with at
most three queries, whatever the number of calendars: the calendar records, the active channel
records and the conference records whose status is ``failed``. Listing the calendars of one
state (``confsync status --state disconnected``) reads only those, with an equality query on
``state``, and joins the channels and failed records of 30 calendars per query (``in``). Its
queries are built from :data:`STATUS_QUERY_SHAPES` like the adapters' (equality filters only:
the two-field ones use the adapters' composite indexes).
A calendar record that does not decode is shown with the state ``malformed`` rather than hidden.

In production the tick comes from a Cloud Scheduler job, so the operator also wants to see that
job beside the calendars: :class:`SchedulerJobStatus` is its row, read through the command line's
scheduler port (:mod:`confsync.cli.scheduler`), and :class:`SchedulerError` the one error
that port raises, so the command line can show the calendars even when the job cannot be read.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from confsync.adapters import firestore_http as firestore
from confsync.adapters.firestore_query import Query
from confsync.adapters.firestore_store import QueryShape, chunks, translated
from confsync.calendars import CalendarDoc, calendar_from_document
from confsync.channel_docs import channel_from_document
from confsync.errors import ConfsyncError, MalformedInputError

__all__ = [
    "STATUS_QUERY_SHAPES",
    "CalendarStatus",
    "FirestoreStatusReader",
    "SchedulerError",
    "SchedulerJobStatus",
    "calendar_status",
]

_ACTIVE_CHANNELS = QueryShape("FirestoreStatusReader.calendars", "channels", (("state", "=="),))
_ACTIVE_CHANNELS_OF = QueryShape(
    "FirestoreStatusReader.calendars", "channels", (("calendar_key", "=="), ("state", "=="))
)
_FAILED_RECORDS = QueryShape("FirestoreStatusReader.calendars", "conferences", (("status", "=="),))
_FAILED_RECORDS_OF = QueryShape(
    "FirestoreStatusReader.calendars",
    "conferences",
    (("home_calendar_key", "=="), ("status", "==")),
)
_CALENDARS_IN_STATE = QueryShape("FirestoreStatusReader.calendars", "calendars", (("state", "=="),))
_ACTIVE_CHANNELS_OF_ANY = QueryShape(
    "FirestoreStatusReader.calendars", "channels", (("calendar_key", "in"), ("state", "=="))
)
_FAILED_RECORDS_OF_ANY = QueryShape(
    "FirestoreStatusReader.calendars",
    "conferences",
    (("home_calendar_key", "in"), ("status", "==")),
)
_IN_MAX = 30
"""Firestore's limit on the values of one ``in`` filter."""

STATUS_QUERY_SHAPES: tuple[QueryShape, ...] = (
    _ACTIVE_CHANNELS,
    _ACTIVE_CHANNELS_OF,
    _FAILED_RECORDS,
    _FAILED_RECORDS_OF,
    _CALENDARS_IN_STATE,
    _ACTIVE_CHANNELS_OF_ANY,
    _FAILED_RECORDS_OF_ANY,
)
"""Every query shape this module issues."""


@dataclass(frozen=True, slots=True)
class CalendarStatus:
    """What an operator wants to know about one calendar."""

    calendar_key: str
    calendar_id: str
    state: str
    has_sync_token: bool
    channel_expires_at: datetime | None
    """Earliest expiry among the calendar's live channels (None: no live channel)."""
    last_success_at: datetime | None
    last_outcome: str | None
    pending_count: int
    failed_records: int
    held_deletes: int = 0
    """Deletes the deletion brake holds until an operator releases or discards them."""
    disconnected_at: datetime | None = None
    """Since when the calendar is ``disconnected`` (None in other states, and for calendars
    disconnected before this was recorded); ``last_outcome`` says why."""

    @property
    def ready(self) -> bool:
        """Active, with a live channel and a sync token: enrollment has completed."""
        return (
            self.state == "active" and self.channel_expires_at is not None and (self.has_sync_token)
        )


def calendar_status(
    doc: CalendarDoc, live_expiries: Iterable[datetime], failed_records: int
) -> CalendarStatus:
    """The status row of ``doc``, given its live channels' expiries and failed record count."""
    expiries = sorted(live_expiries)
    return CalendarStatus(
        calendar_key=doc.key,
        calendar_id=doc.calendar_id,
        state=doc.state,
        has_sync_token=doc.sync_token is not None,
        channel_expires_at=expiries[0] if expiries else None,
        last_success_at=doc.last_success_at,
        last_outcome=doc.last_outcome,
        pending_count=doc.pending_count,
        failed_records=failed_records,
        held_deletes=doc.held_deletes,
        disconnected_at=doc.disconnected_at,
    )


def _malformed(key: str) -> CalendarStatus:
    return CalendarStatus(key, "", "malformed", False, None, None, None, 0, 0)


class FirestoreStatusReader:
    """Reads :class:`CalendarStatus` rows from the collections the functions write."""

    def __init__(
        self,
        client: firestore.Client,
        *,
        calendars: str = "calendars",
        channels: str = "channels",
        conferences: str = "conferences",
    ) -> None:
        self._calendars = client.collection(calendars)
        self._channels = client.collection(channels)
        self._conferences = client.collection(conferences)

    def calendars(
        self, key: str | None = None, *, now: datetime, state: str | None = None
    ) -> list[CalendarStatus]:
        """Every calendar, ordered by key; or only ``key`` (an empty list when it is unknown); or
        only the calendars in ``state`` (read with an indexed query, not by reading them all)."""
        with translated("status read"):
            if key is not None:
                snapshot = self._calendars.document(key).get()
                snapshots = [snapshot] if snapshot.exists else []
                joins = [
                    (
                        _ACTIVE_CHANNELS_OF.build(self._channels, key, "active"),
                        _FAILED_RECORDS_OF.build(self._conferences, key, "failed"),
                    )
                ]
            elif state is not None:
                snapshots = list(_CALENDARS_IN_STATE.build(self._calendars, state).stream())
                joins = self._joins_of(sorted(s.id for s in snapshots))
            else:
                snapshots = list(self._calendars.stream())
                joins = [
                    (
                        _ACTIVE_CHANNELS.build(self._channels, "active"),
                        _FAILED_RECORDS.build(self._conferences, "failed"),
                    )
                ]
            if not snapshots:
                return []
            expiries: dict[str, list[datetime]] = {}
            failures: Counter[str] = Counter()
            for channels, failed in joins:
                for calendar, found in self._live_expiries(channels, now).items():
                    expiries.setdefault(calendar, []).extend(found)
                failures.update(
                    str((s.to_dict() or {}).get("home_calendar_key"))
                    for s in failed.select(["home_calendar_key"]).stream()
                )
        rows = []
        for snapshot in sorted(snapshots, key=lambda s: s.id):
            body: dict[str, Any] = snapshot.to_dict() or {}
            try:
                doc = calendar_from_document(snapshot.id, body)
            except MalformedInputError:
                rows.append(_malformed(snapshot.id))
                continue
            if state is not None and doc.state != state:
                continue
            rows.append(calendar_status(doc, expiries.get(doc.key, []), failures[doc.key]))
        return rows

    def _joins_of(self, keys: list[str]) -> list[tuple[Query, Query]]:
        """The channel and failed-record queries of these calendars, in ``in`` batches."""
        return [
            (
                _ACTIVE_CHANNELS_OF_ANY.build(self._channels, list(batch), "active"),
                _FAILED_RECORDS_OF_ANY.build(self._conferences, list(batch), "failed"),
            )
            for batch in chunks(keys, _IN_MAX)
        ]

    def _live_expiries(self, query: Query, now: datetime) -> dict[str, list[datetime]]:
        found: dict[str, list[datetime]] = {}
        for snapshot in query.stream():
            try:
                channel = channel_from_document(snapshot.id, snapshot.to_dict() or {})
            except MalformedInputError:
                continue  # the channels function logs it; a bad record is not a live channel
            if channel.live(now):
                found.setdefault(channel.calendar_key, []).append(channel.expiration)
        return found


@dataclass(frozen=True, slots=True)
class SchedulerJobStatus:
    """What an operator wants to know about the Cloud Scheduler job that sends the ticks."""

    name: str
    """The job's full name, ``projects/P/locations/L/jobs/J``."""
    state: str
    """``ENABLED``, ``PAUSED``, ``DISABLED`` or ``UPDATE_FAILED`` (Scheduler's ``Job.State``)."""
    schedule: str
    """The unix-cron schedule, e.g. ``*/5 * * * *``."""
    time_zone: str
    """The time zone the schedule is read in (empty: Scheduler's default, UTC)."""
    last_attempt_at: datetime | None
    """When Scheduler last attempted the job (None: never)."""
    last_attempt_status: str | None
    """``OK``, or the failed attempt's code and message (None: never attempted)."""


class SchedulerError(ConfsyncError):
    """The Scheduler job could not be read or run; the message is one line an operator can act on
    (which job, and which role or setting is missing)."""
