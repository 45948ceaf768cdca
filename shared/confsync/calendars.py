"""Calendar records: one per enrolled calendar, holding its sync token, lease and counters.

Document ``calendars/{calendar_key}``. The key is an opaque hash of (subject, calendar id), so no
e-mail address appears in document ids or log labels.

Concurrency fields (see :mod:`confsync.sync`): ``lease_owner`` / ``lease_until`` make one sync at a
time per calendar; ``notify_seq`` is a counter that every coalesced sync request increments, so the
lease owner can tell at the end of a pull whether it must pull again.

Covered notifications (see docs/decisions/2026-11-24-covered-notifications.md): ``pulled_from`` is
when the pull whose token is stored began (just before its first ``events.list``), written with
the token; ``notified_max_ms`` is the latest ``notified_at`` (epoch milliseconds) of the requests
that were coalesced, kept with a server-side maximum so late, out-of-order ones never lower it. A
notification stamped well before ``pulled_from`` is already reflected by the stored token.

Live channels (see docs/decisions/2026-12-04-channel-token-expiry.md): ``channels`` maps the id of
each push channel the calendar had recently to a :class:`ChannelWindow`, when it was opened and
until when it counts as live (the expiration asked for it, or a moment after it was superseded).
The channel service writes an entry before it calls ``events.watch`` and ends it on supersede; a
sync run drops a notification whose channel was not live when intake received it, using the
calendar document it reads anyway. Absent (None) on documents stored before: nothing is dropped.

``held_deletes`` counts the conference deletes the deletion brake holds for the calendar
(:mod:`confsync.sync.brake`); ``confsync status`` shows it.

Sweep by need (see docs/decisions/2026-12-04-sweep-by-need.md): ``sweep_due_at`` is when the tick
sweeps the calendar next (the one indexed field of :meth:`~confsync.ports.CalendarStore.
due_for_sweep`), ``sweep_interval_s`` the interval it was planned with and ``channel_suspect``
whether the last sweep found changes no notification had announced; a sync run writes all three
when it commits (:mod:`confsync.sweep_policy`); a sweep whose run does not commit stays due.
Absent from documents stored before: such a calendar is swept on the old criterion.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, get_args

from confsync.errors import MalformedInputError

__all__ = [
    "CALENDAR_SCHEMA_VERSION",
    "CALENDAR_STATES",
    "PRIMARY",
    "RECORDS_SCHEMA",
    "CalendarDoc",
    "CalendarState",
    "ChannelWindow",
    "calendar_from_document",
    "calendar_key",
    "calendar_to_document",
    "epoch_ms",
    "resolve_calendar_id",
    "window_to_document",
]

CALENDAR_SCHEMA_VERSION = 1

CalendarState = Literal["active", "poll-only", "disconnected", "unenrolled", "blocked"]
"""``blocked``: unenrolled by an operator who also forbade the add-on to enrol it again
(``confsync unenroll --block``); only an operator's enrolment makes it ``active`` again."""
CALENDAR_STATES: frozenset[str] = frozenset(get_args(CalendarState))
SYNCING_STATES: frozenset[str] = frozenset({"active", "poll-only"})
PRIMARY = "primary"
"""The calendar id Google resolves to the calendar of the caller; confsync resolves it to the
user's e-mail address (:func:`resolve_calendar_id`) so that one calendar has one key."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)


RECORDS_SCHEMA = 2
"""The model of conference records a calendar enrolled now has: 2, one record per conference
(schema 1 was one per calendar and conference). Records of schema 3 have the same model in
another encoding (:data:`confsync.records.SCHEMA_VERSION`), read in place without a migration."""


def resolve_calendar_id(subject: str, calendar_id: str) -> str:
    """The calendar id to key and call: ``primary`` (any case) is the subject's own calendar,
    whose id is the subject's e-mail address, lower case; any other id is kept as given."""
    if calendar_id.strip().lower() == PRIMARY:
        return subject.strip().lower()
    return calendar_id


def calendar_key(subject: str, calendar_id: str) -> str:
    """The opaque document id of (subject, calendar id); stable across releases."""
    digest = hashlib.sha256(f"{subject.lower()}\x00{calendar_id}".encode()).hexdigest()
    return f"ck_{digest[:32]}"


def epoch_ms(at: datetime) -> int:
    """``at`` as integer milliseconds since the epoch (a naive time is taken as UTC), the unit of
    ``notified_max_ms``: an integer is what Firestore's server-side maximum compares exactly."""
    aware = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    return (aware - _EPOCH) // _MILLISECOND


@dataclass(frozen=True, slots=True)
class ChannelWindow:
    """When one push channel of a calendar counts as live: from ``opened`` until ``until``."""

    opened: datetime
    until: datetime

    def covers(self, at: datetime) -> bool:
        return self.opened <= at < self.until


@dataclass(frozen=True, slots=True)
class CalendarDoc:
    """One enrolled calendar."""

    key: str
    subject: str
    calendar_id: str
    state: CalendarState = "active"
    sync_token: str | None = None
    token_obtained_at: datetime | None = None
    lease_owner: str | None = None
    lease_until: datetime | None = None
    notify_seq: int = 0
    notified_max_ms: int = 0
    pulled_from: datetime | None = None
    last_attempt_at: datetime | None = None
    last_success_at: datetime | None = None
    last_outcome: str | None = None
    pending_count: int = 0
    full_syncs: int = 0
    disconnected_at: datetime | None = None
    """When the calendar last became ``disconnected`` (None in any other state, and in documents
    stored before offboarding): the tick unenrolls it ``CONFSYNC_DISCONNECTED_RETENTION_SECONDS``
    later."""
    held_deletes: int = 0
    """How many of the calendar's deletes the deletion brake holds (see
    :mod:`confsync.sync.brake`), until an operator releases or discards them."""
    records_schema: int = RECORDS_SCHEMA
    """The schema of the calendar's conference records: below :data:`RECORDS_SCHEMA` (absent
    from documents stored before one record per conference), its first run migrates them
    (:mod:`confsync.record_migration`)."""
    channels: Mapping[str, ChannelWindow] | None = None
    """The calendar's recent push channels by id, with when each is live; None: not recorded
    (a document stored before channels were), so no notification is dropped."""
    sweep_due_at: datetime | None = None
    """When the tick sweeps the calendar next; None: never planned (a document stored before
    sweeps by need, swept on the old criterion until its first commit)."""
    sweep_interval_s: int = 0
    """The interval ``sweep_due_at`` was planned with, in seconds (0: none yet)."""
    channel_suspect: bool = False
    """The last sweep found changes no notification announced: the tick watches it again."""

    @property
    def sweep_interval(self) -> timedelta | None:
        """The interval the last plan used (None: none planned yet)."""
        return timedelta(seconds=self.sweep_interval_s) if self.sweep_interval_s > 0 else None

    pending_checked_at: datetime | None = None
    """When a run last looked for the calendar's pending operations (None: not since this was
    recorded); a notification run within the first backoff of it need not look again (see
    :mod:`confsync.sync.runner`)."""
    version: str | None = field(default=None, compare=False)
    """The store's opaque version of the document this was read as (None: not read from a
    store); a write conditional on it needs no read first. Not part of equality."""

    def channel_live(self, channel_id: str, at: datetime) -> bool:
        """Whether channel ``channel_id`` of this calendar was live at ``at`` (always True while
        the calendar has no recorded channels)."""
        if self.channels is None:
            return True
        window = self.channels.get(channel_id)
        return window is not None and window.covers(at)

    @property
    def syncing(self) -> bool:
        """Whether syncs run for this calendar (active, or poll-only when watches are refused)."""
        return self.state in SYNCING_STATES

    @property
    def sweep_due(self) -> datetime:
        """When its sweep falls due, for ordering sweeps: the planned ``sweep_due_at``; for a
        calendar stored before sweeps by need, its last attempt; never attempted, the earliest."""
        return self.sweep_due_at or self.last_attempt_at or datetime.min.replace(tzinfo=UTC)

    def lease_held(self, now: datetime, owner: str | None = None) -> bool:
        """True while a lease taken by someone else than ``owner`` is still running."""
        if self.lease_owner is None or self.lease_until is None:
            return False
        return self.lease_owner != owner and self.lease_until > now


_FIELDS = (
    "subject",
    "calendar_id",
    "state",
    "sync_token",
    "token_obtained_at",
    "lease_owner",
    "lease_until",
    "notify_seq",
    "notified_max_ms",
    "pulled_from",
    "last_attempt_at",
    "last_success_at",
    "last_outcome",
    "pending_count",
    "full_syncs",
    "held_deletes",
    "records_schema",
    "disconnected_at",
    "sweep_due_at",
    "sweep_interval_s",
    "channel_suspect",
    "pending_checked_at",
)


def window_to_document(window: ChannelWindow) -> dict[str, datetime]:
    """The stored form of one entry of ``channels``."""
    return {"opened": window.opened, "until": window.until}


def _aware(value: Any) -> datetime:
    if not isinstance(value, datetime):
        raise ValueError("a channel window holds timestamps")
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _windows(value: Any) -> dict[str, ChannelWindow] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ValueError("channels must be a map")
    return {
        str(channel_id): ChannelWindow(_aware(w.get("opened")), _aware(w.get("until")))
        for channel_id, w in value.items()
        if isinstance(w, Mapping)
    }


def calendar_to_document(doc: CalendarDoc) -> dict[str, Any]:
    """The Firestore document of ``doc`` (its id is ``doc.key``)."""
    body = {name: getattr(doc, name) for name in _FIELDS}
    if doc.channels is not None:
        body["channels"] = {i: window_to_document(w) for i, w in doc.channels.items()}
    body["schema_version"] = CALENDAR_SCHEMA_VERSION
    return body


def calendar_from_document(key: str, body: Mapping[str, Any]) -> CalendarDoc:
    """Decode a stored calendar; raise MalformedInputError for another schema or a broken shape."""
    version = body.get("schema_version")
    if version != CALENDAR_SCHEMA_VERSION:
        raise MalformedInputError(
            f"calendar {key} has schema_version {version!r}, expected {CALENDAR_SCHEMA_VERSION}"
        )
    try:
        values: dict[str, Any] = {name: body.get(name) for name in _FIELDS}
        values["notify_seq"] = int(values["notify_seq"] or 0)
        values["notified_max_ms"] = int(values["notified_max_ms"] or 0)  # absent before covering
        values["pending_count"] = int(values["pending_count"] or 0)
        values["full_syncs"] = int(values["full_syncs"] or 0)
        values["held_deletes"] = int(values["held_deletes"] or 0)  # absent before the brake
        values["records_schema"] = int(values["records_schema"] or 1)  # absent before schema 2
        values["sweep_interval_s"] = int(values["sweep_interval_s"] or 0)  # absent before by-need
        values["channel_suspect"] = bool(values["channel_suspect"])
        if values["state"] not in CALENDAR_STATES:
            raise ValueError(f"unknown state {values['state']!r}")
        if not isinstance(values["subject"], str) or not isinstance(values["calendar_id"], str):
            raise ValueError("subject and calendar_id must be strings")
        return CalendarDoc(key=key, channels=_windows(body.get("channels")), **values)
    except (TypeError, ValueError) as err:
        raise MalformedInputError(f"calendar {key} is malformed: {err}") from err
