"""In-memory fakes of the ports in :mod:`confsync.ports`, faithful to their contracts.

* :class:`FakeCalendar`: a calendar with a change log, sync tokens (410 once invalidated or
  garbled), pages served from a snapshot, the ``timeMin`` window of full syncs, tombstones,
  cancelled instances, etags and ``If-Match``, and series lookups by ``iCalUID``. It is held to the
  Google adapter on the Calendar emulator by ``tests/contracts/test_calendar_contract.py``.
* :class:`InMemoryCalendarStore` / :class:`InMemoryRecordStore`: the stores, with read and write
  counters so tests can assert how much a sync costs.
* :class:`RecordingProvider`: a conferencing system that enforces revisions, validates states
  like the contract, logs operations and fails on request. It is held to the HTTP adapter on the
  conferencing emulator by ``tests/contracts/test_provider_contract.py``.
* :class:`RecordingPublisher`: remembers what was published.
* :class:`InMemoryChannelStore`: channel records; :class:`RecordingCommandPublisher`: remembers
  the channel commands published. :class:`FakeCalendar` also serves push channels (``watch``,
  ``stop_channel``), recording every call in ``channel_calls``.
"""

from __future__ import annotations

import itertools
import re
import threading
import zoneinfo
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar, cast

from confsync.calendars import CalendarDoc, ChannelWindow, epoch_ms
from confsync.channel_docs import ChannelDoc, ChannelState
from confsync.conference import is_conference_id
from confsync.errors import (
    CalendarNotFoundError,
    ConfsyncError,
    LeaseLostError,
    PermanentError,
    PreconditionFailedError,
    ProviderGoneError,
    ProviderRejectedError,
    ProviderStaleRevisionError,
    ProviderUnavailableError,
    RecordConflictError,
    SyncTokenInvalidError,
    WatchRefusedError,
)
from confsync.forgetting import forget_calendar
from confsync.legacy_records import LegacyRecord
from confsync.messages import ChannelCommand, SyncRequest
from confsync.planner import DeleteConference, UpdateConference
from confsync.ports import (
    MAX_OWNER_BATCH,
    EventPage,
    HeldConference,
    OwnerLookup,
    Page,
    PageCursor,
    ProviderAnswer,
    StagedClaim,
    StagedSave,
    WatchedChannel,
)
from confsync.records import ConferenceRecord
from confsync.sweep_policy import SweepPlan

_MAX_SNAPSHOTS = 64  # listings whose page tokens stay valid (the oldest are forgotten)

__all__ = [
    "ChannelCall",
    "FakeCalendar",
    "InMemoryCalendarStore",
    "InMemoryChannelStore",
    "InMemoryRecordStore",
    "ProviderCall",
    "RecordingCommandPublisher",
    "RecordingProvider",
    "RecordingPublisher",
]


@dataclass(frozen=True, slots=True)
class ChannelCall:
    """One ``watch`` or ``stop_channel`` call the fake received (``calendar_id`` is empty for a
    stop, which names only the channel)."""

    kind: str
    channel_id: str
    calendar_id: str = ""
    subject: str = ""
    outcome: str = "ok"


class FakeCalendar:
    """Calendars held in memory, served through the CalendarClient port.

    As Google does: a listing's pages come from a snapshot taken when its first page is served
    (a change made meanwhile neither shifts nor hides an event, and comes with the next sync), and
    a full sync with ``time_min`` leaves out events that ended at or before it. Recurrences are
    not expanded: a series is always inside the window, and only stored instances exist. Every
    page reports the calendar's ``accessRole``: ``owner`` unless a test sets another
    (:meth:`set_access_role`).
    """

    def __init__(self, page_size: int = 100) -> None:
        self._lock = threading.Lock()
        self._page_size = page_size
        self._seq = itertools.count(1)
        self._clock = itertools.count(1_796_000_000_000, 1000)
        self._events: dict[str, dict[str, dict[str, Any]]] = {}
        self._changed_at: dict[str, dict[str, int]] = {}
        self._generation: dict[str, int] = {}
        self._snapshots: dict[int, tuple[tuple[dict[str, Any], ...], str]] = {}
        self._snapshot_ids = itertools.count(1)
        self._changed_time: dict[str, dict[str, datetime]] = {}  # what updatedMin compares
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)  # a test's own, if any
        self.list_calls = 0
        self.changed_calls = 0
        self.series_calls: list[str] = []  # the iCalUIDs of list_series calls
        self.get_calls = 0
        self.patch_calls = 0
        self.fail_lists: list[ConfsyncError] = []
        self.access_roles: dict[str, str | None] = {}  # calendar id -> accessRole (else owner)
        self.before_patch: Callable[[str, str], None] | None = None
        # push channels
        self.channel_now: Callable[[], datetime] = lambda: datetime.now(UTC)
        self.channels: dict[str, tuple[str, str, datetime]] = {}  # id -> calendar, resource, exp
        self.channel_calls: list[ChannelCall] = []
        self.refuse_watch: set[str] = set()
        self.fail_channel_calls: list[ConfsyncError] = []
        self.on_channel_call: Callable[[ChannelCall], None] | None = None
        self.max_channel_ttl: int | None = None  # Google may grant less than asked
        self._subject = ""

    def for_subject(self, subject: str) -> FakeCalendar:
        """Every subject sees the same calendars (the CalendarClientFactory and
        ChannelClientFactory ports); the subject is remembered for ``channel_calls``."""
        self._subject = subject
        return self

    # --- push channels -----------------------------------------------------------------------

    def live_channels(self, calendar_id: str | None = None) -> list[str]:
        """Ids of the channels not stopped and not expired (of one calendar, if given)."""
        now = self.channel_now()
        return [
            cid
            for cid, (cal, _, exp) in self.channels.items()
            if exp > now and calendar_id in (None, cal)
        ]

    def _channel_call(self, call: ChannelCall) -> None:
        self.channel_calls.append(call)
        if self.on_channel_call is not None:
            self.on_channel_call(call)
        if self.fail_channel_calls:
            raise self.fail_channel_calls.pop(0)

    def watch(
        self, calendar_id: str, channel_id: str, address: str, token: str, ttl_seconds: int
    ) -> WatchedChannel:
        refused = calendar_id in self.refuse_watch
        outcome = "refused" if refused else "ok"
        self._channel_call(ChannelCall("watch", channel_id, calendar_id, self._subject, outcome))
        if refused:
            raise WatchRefusedError("events.watch: HTTP 400 pushNotSupportedForRequestedResource")
        granted = min(ttl_seconds, self.max_channel_ttl or ttl_seconds)
        expiration = self.channel_now() + timedelta(seconds=granted)
        resource_id = f"res-{calendar_id}"
        self.channels[channel_id] = (calendar_id, resource_id, expiration)
        return WatchedChannel(id=channel_id, resource_id=resource_id, expiration=expiration)

    def stop_channel(self, channel_id: str, resource_id: str) -> None:
        found = self.channels.get(channel_id)
        outcome = "ok" if found is not None and found[1] == resource_id else "gone"
        self._channel_call(ChannelCall("stop", channel_id, "", self._subject, outcome))
        self.channels.pop(channel_id, None)

    # --- test-side edits ---------------------------------------------------------------------

    def put(self, calendar_id: str, event: Mapping[str, Any]) -> dict[str, Any]:
        """Create or replace an event (as a user would); return it as stored."""
        with self._lock:
            return self._store(calendar_id, dict(event))

    def delete(self, calendar_id: str, event_id: str) -> None:
        """Delete an event (its tombstone shows in incremental syncs)."""
        with self._lock:
            stored = self._events[calendar_id][event_id]
            self._store(calendar_id, {**stored, "status": "cancelled"})

    def move(self, calendar_id: str, event_id: str, destination: str) -> dict[str, Any]:
        """``events.move``, as the Calendar emulator does it: the event (with its series'
        exceptions) keeps its id and iCalUID on ``destination``, organised by it; the source is
        left a cancelled stub with only kind, etag, id and status (reference 1.5). Returns the
        event as the destination holds it."""
        with self._lock:
            source = self._events[calendar_id]
            ids = [
                event_id,
                *(i for i, e in source.items() if e.get("recurringEventId") == event_id),
            ]
            moved: dict[str, Any] = {}
            for moved_id in ids:
                resource = {**source[moved_id], "organizer": {"email": destination, "self": True}}
                saved = self._store(destination, resource)
                moved = moved or saved
                stub = {"kind": "calendar#event", "id": moved_id, "status": "cancelled"}
                self._store(calendar_id, stub, bare=True)
            return moved

    def set_access_role(self, calendar_id: str, role: str | None) -> None:
        """How the subject sees the calendar from now on, as ``events.list`` reports it in
        ``accessRole`` (``owner`` until set; None: an answer without the field)."""
        with self._lock:
            self.access_roles[calendar_id] = role

    def invalidate_tokens(self, calendar_id: str) -> None:
        """Every sync token of the calendar now answers 410."""
        with self._lock:
            self._generation[calendar_id] = self._generation.get(calendar_id, 0) + 1

    def event(self, calendar_id: str, event_id: str) -> dict[str, Any]:
        """The stored event, as the API would return it."""
        with self._lock:
            return dict(self._events[calendar_id][event_id])

    def _store(
        self, calendar_id: str, event: dict[str, Any], *, bare: bool = False
    ) -> dict[str, Any]:
        """Store the event with a new etag, and (unless ``bare``: a stub) iCalUID and updated."""
        stamp = next(self._clock)
        event["etag"] = f'"{stamp}"'
        if not bare:
            if "iCalUID" not in event:  # as Google: a series and its instances share one
                series = event.get("recurringEventId")
                master = self._events.get(calendar_id, {}).get(series or event["id"], {})
                event["iCalUID"] = master.get("iCalUID") or f"{series or event['id']}@fake"
            event["updated"] = (
                datetime.fromtimestamp(stamp / 1000, UTC).isoformat().replace("+00:00", "Z")
            )
        self._events.setdefault(calendar_id, {})[event["id"]] = event
        self._changed_at.setdefault(calendar_id, {})[event["id"]] = next(self._seq)
        self._changed_time.setdefault(calendar_id, {})[event["id"]] = self.clock()
        return dict(event)

    # --- the port ----------------------------------------------------------------------------

    def list_page(
        self,
        calendar_id: str,
        *,
        sync_token: str | None,
        page_token: str | None,
        time_min: datetime | None,
    ) -> EventPage:
        with self._lock:
            self.list_calls += 1
            if self.fail_lists:
                raise self.fail_lists.pop(0)
            role = self.access_roles.get(calendar_id, "owner")
            if page_token is not None:
                return _as_seen_by(self._page_of_snapshot(page_token), role)
            generation = self._generation.get(calendar_id, 0)
            since = 0
            if sync_token is not None:
                since = self._token_position(calendar_id, generation, sync_token)
            changed = self._changed_at.get(calendar_id, {})
            ids = sorted((s, i) for i, s in changed.items() if s > since)
            items = []
            for _, event_id in ids:
                event = self._events[calendar_id][event_id]
                cancelled = event.get("status") == "cancelled"
                if sync_token is None:
                    if cancelled and "recurringEventId" not in event:
                        continue  # a full sync returns no deletion tombstones
                    if time_min is not None and not _ends_after(event, time_min):
                        continue  # timeMin: an exclusive bound on the event's end
                items.append(_tombstone(event) if cancelled else dict(event))
            head = max(changed.values(), default=0)
            snapshot = (tuple(items), f"{calendar_id}:{generation}:{head}")
            snapshot_id = next(self._snapshot_ids)
            self._snapshots[snapshot_id] = snapshot
            while len(self._snapshots) > _MAX_SNAPSHOTS:
                del self._snapshots[next(iter(self._snapshots))]
            return _as_seen_by(self._page_of_snapshot(f"{snapshot_id}:0"), role)

    def _token_position(self, calendar_id: str, generation: int, sync_token: str) -> int:
        """The change sequence a sync token stands for; 410 when invalidated or garbled."""
        try:
            cal, gen, seq = sync_token.rsplit(":", 2)
            token_generation, position = int(gen), int(seq)
        except ValueError:
            raise SyncTokenInvalidError("Sync token is no longer valid") from None
        if cal != calendar_id or token_generation != generation or position < 0:
            raise SyncTokenInvalidError("Sync token is no longer valid")
        return position

    def _page_of_snapshot(self, page_token: str) -> EventPage:
        try:
            snapshot_id, offset_text = page_token.split(":")
            items, sync_token = self._snapshots[int(snapshot_id)]
            offset = int(offset_text)
        except (KeyError, ValueError):
            raise PermanentError("events.list: HTTP 400 invalid pageToken") from None
        page = tuple(dict(item) for item in items[offset : offset + self._page_size])
        if offset + self._page_size < len(items):
            return EventPage(page, f"{snapshot_id}:{offset + self._page_size}", None)
        return EventPage(page, None, sync_token)

    def get_event(self, calendar_id: str, event_id: str) -> Mapping[str, Any] | None:
        with self._lock:
            self.get_calls += 1
            event = self._events.get(calendar_id, {}).get(event_id)
            return None if event is None else dict(event)

    def list_series(self, calendar_id: str, ical_uid: str) -> tuple[Mapping[str, Any], ...]:
        with self._lock:
            self.series_calls.append(ical_uid)
            events = self._events.get(calendar_id, {}).values()
            return tuple(dict(e) for e in events if e.get("iCalUID") == ical_uid)

    def list_changed(self, calendar_id: str, since: datetime) -> tuple[Mapping[str, Any], ...]:
        with self._lock:
            self.changed_calls += 1
            if self.fail_lists:
                raise self.fail_lists.pop(0)
            changed = self._changed_time.get(calendar_id, {}).items()
            return tuple(dict(self._events[calendar_id][i]) for i, at in changed if at >= since)

    def patch_conference_data(
        self, calendar_id: str, event_id: str, etag: str, conference_data: Mapping[str, Any]
    ) -> Mapping[str, Any]:
        if self.before_patch is not None:
            self.before_patch(calendar_id, event_id)
        with self._lock:
            self.patch_calls += 1
            stored = self._events.get(calendar_id, {}).get(event_id)
            if stored is None:
                raise CalendarNotFoundError("events.patch: HTTP 404 notFound")
            if stored["etag"] != etag:
                raise PreconditionFailedError("Precondition Failed")
            return self._store(calendar_id, {**stored, "conferenceData": dict(conference_data)})


_FREE_BUSY_FIELDS = (
    "kind",
    "etag",
    "id",
    "status",
    "start",
    "end",
    "transparency",
    "recurrence",
    "recurringEventId",
    "originalStartTime",
)
"""What a ``freeBusyReader`` sees of an event: its times, never its title, guests or conference
(the Calendar emulator's documented shape)."""


def _as_seen_by(page: EventPage, role: str | None) -> EventPage:
    """``page`` answered to a caller with ``role``: stamped with it, stripped for free/busy."""
    if role == "freeBusyReader":
        items = tuple(
            {k: v for k, v in item.items() if k in _FREE_BUSY_FIELDS} for item in page.items
        )
        page = replace(page, items=items)
    return replace(page, access_role=role)


def _ends_after(event: Mapping[str, Any], moment: datetime) -> bool:
    """Whether the event ends after ``moment`` (a series, never expanded here, always does)."""
    end = event.get("end")
    if event.get("recurrence") or not isinstance(end, Mapping):
        return True
    if "dateTime" in end:
        ends = datetime.fromisoformat(str(end["dateTime"]))
        if ends.tzinfo is None:
            ends = ends.replace(tzinfo=UTC)
    elif "date" in end:
        ends = datetime.fromisoformat(str(end["date"])).replace(tzinfo=UTC)
    else:
        return True
    return ends > moment


def _tombstone(event: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("kind", "etag", "id", "status", "recurringEventId", "originalStartTime")
    return {k: event[k] for k in keys if k in event}


def _planned(doc: CalendarDoc, plan: SweepPlan) -> CalendarDoc:
    interval = int(plan.interval.total_seconds())
    return replace(
        doc, sweep_due_at=plan.due_at, sweep_interval_s=interval, channel_suspect=plan.suspect
    )


def _due(doc: CalendarDoc, now: datetime, stale_before: datetime) -> bool:
    """Due for a sweep, as the Firestore store's queries select it."""
    if doc.sweep_due_at is not None:
        return doc.sweep_due_at <= now
    attempted = doc.last_attempt_at
    return doc.pending_count > 0 or attempted is None or attempted < stale_before


def _sweep_order(doc: CalendarDoc) -> tuple[datetime, str]:
    return (doc.sweep_due, doc.key)


def _sweep_page(
    docs: Iterable[CalendarDoc],
    now: datetime,
    limit: int,
    after: PageCursor | None,
    stale_before: datetime,
) -> Page[CalendarDoc]:
    """The first page starts with those stored before sweeps by need (the old criterion, at most
    ``limit``), then the planned ones, the earliest due first, by key among equals; the cursor
    holds the order values of the last calendar given."""
    if limit <= 0:
        return Page((), None)
    due = [d for d in docs if d.syncing and _due(d, now, stale_before)]
    legacy = [] if after is not None else [d for d in due if d.sweep_due_at is None]
    legacy = sorted(legacy, key=_sweep_order)[:limit]
    room = limit - len(legacy)
    if room <= 0:  # the planned ones from their start on the next page
        return Page(tuple(legacy), PageCursor(0))
    planned = [d for d in due if d.sweep_due_at is not None]
    rest = _paged(planned, room, after, _sweep_order)
    return Page((*legacy, *rest.items), rest.cursor)


def _with_state(doc: CalendarDoc, state: str, now: datetime, outcome: str) -> CalendarDoc:
    """``doc`` in ``state``: ``disconnected_at`` set when it becomes disconnected, kept while it
    stays so, cleared otherwise (the port's rule)."""
    since = None
    if state == "disconnected":
        since = doc.disconnected_at if doc.state == "disconnected" and doc.disconnected_at else now
    return replace(doc, state=state, last_outcome=outcome, disconnected_at=since)  # type: ignore[arg-type]


T = TypeVar("T")


def _paged(
    found: Iterable[T],
    limit: int,
    after: PageCursor | None,
    order: Callable[[T], tuple[datetime, str]],
) -> Page[T]:
    """The page of ``found`` (in ``order``) after the cursor ``after``, as a Firestore query with
    ``start_after`` and ``limit`` would give it; its cursor holds the last item's order values."""
    start = None if after is None else cast(tuple[datetime, str], after.after)
    ordered = sorted((item for item in found if start is None or order(item) > start), key=order)
    page = tuple(ordered[: max(limit, 0)])
    if len(ordered) == len(page):
        return Page(page, None)
    return Page(page, PageCursor(0, order(page[-1])) if page else after)


class InMemoryCalendarStore:
    """Calendar records with the lease, counter and commit semantics of the real store."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._docs: dict[str, CalendarDoc] = {}
        self.reads = 0
        self.writes = 0

    def get(self, key: str) -> CalendarDoc | None:
        with self._lock:
            self.reads += 1
            return self._docs.get(key)

    def put(self, doc: CalendarDoc) -> None:
        with self._lock:
            self.writes += 1
            self._docs[doc.key] = doc

    def get_many(self, keys: Iterable[str]) -> dict[str, CalendarDoc]:
        with self._lock:
            wanted = set(keys)
            self.reads += len(wanted)
            return {key: doc for key, doc in self._docs.items() if key in wanted}

    def acquire_lease(
        self,
        key: str,
        owner: str,
        until: datetime,
        now: datetime,
        *,
        seen: CalendarDoc | None = None,
    ) -> CalendarDoc | None:
        # ``seen`` saves the real store a read; here every decision is made under the lock.
        with self._lock:
            self.reads += 1
            doc = self._docs.get(key)
            if doc is None or doc.lease_held(now, owner):
                return None
            self.writes += 1
            doc = replace(doc, lease_owner=owner, lease_until=until, last_attempt_at=now)
            self._docs[key] = doc
            return doc

    def notify(self, key: str, at: datetime) -> CalendarDoc | None:
        with self._lock:
            doc = self._docs.get(key)
            if doc is None:
                return None
            self.writes += 1
            doc = replace(
                doc,
                notify_seq=doc.notify_seq + 1,
                notified_max_ms=max(doc.notified_max_ms, epoch_ms(at)),
            )
            self._docs[key] = doc
            return doc

    def extend_lease(
        self, key: str, owner: str, until: datetime, *, seen: CalendarDoc | None = None
    ) -> CalendarDoc | None:
        with self._lock:
            doc = self._docs.get(key)
            if doc is None or doc.lease_owner != owner:
                return None
            self.writes += 1
            doc = replace(doc, lease_until=until)
            self._docs[key] = doc
            return doc

    def commit(
        self,
        key: str,
        owner: str,
        seen_seq: int,
        *,
        sync_token: str,
        pulled_from: datetime,
        now: datetime,
        full_sync: bool,
        pending_count: int,
        sweep: SweepPlan | None = None,
        pending_checked_at: datetime | None = None,
        seen: CalendarDoc | None = None,
        records: StagedSave | None = None,
    ) -> bool:
        with self._lock:
            self.reads += 1
            doc = self._docs.get(key)
            if doc is None:
                return False
            if doc.lease_owner != owner:
                raise LeaseLostError(f"lease on {key} is no longer held by this run")
            if records is not None:
                records.save()  # a conflict raises before the calendar is written: all or nothing
            self.writes += 1
            doc = replace(
                doc, sync_token=sync_token, pulled_from=pulled_from, token_obtained_at=now
            )
            if full_sync:
                doc = replace(doc, full_syncs=doc.full_syncs + 1)
            if pending_checked_at is not None:
                doc = replace(doc, pending_checked_at=pending_checked_at)
            released = doc.notify_seq == seen_seq
            if released:
                doc = replace(
                    doc,
                    lease_owner=None,
                    lease_until=None,
                    last_success_at=now,
                    last_outcome="synced",
                    pending_count=pending_count,
                )
                if sweep is not None:
                    doc = _planned(doc, sweep)
            self._docs[key] = doc
            return released

    def release(self, key: str, owner: str, *, now: datetime, outcome: str) -> None:
        with self._lock:
            doc = self._docs.get(key)
            if doc is None or doc.lease_owner != owner:
                return
            self.writes += 1
            self._docs[key] = replace(doc, lease_owner=None, lease_until=None, last_outcome=outcome)

    def set_state(self, key: str, state: str, *, now: datetime, outcome: str) -> None:
        with self._lock:
            doc = self._docs.get(key)
            if doc is None:
                return
            self.writes += 1
            self._docs[key] = _with_state(doc, state, now, outcome)

    def set_state_if(
        self,
        key: str,
        expected: str,
        state: str,
        *,
        now: datetime,
        outcome: str,
        disconnected_before: datetime | None = None,
    ) -> bool:
        with self._lock:
            self.reads += 1
            doc = self._docs.get(key)
            if doc is None or doc.state != expected:
                return False
            if disconnected_before is not None and not (
                doc.disconnected_at is not None and doc.disconnected_at < disconnected_before
            ):
                return False
            self.writes += 1
            self._docs[key] = _with_state(doc, state, now, outcome)
            return True

    def disconnected_before(self, before: datetime, limit: int) -> list[CalendarDoc]:
        with self._lock:
            due = [d for d in self._disconnected() if d.disconnected_at < before]  # type: ignore[operator]
            self.reads += max(1, min(len(due), limit))
            return sorted(due, key=lambda d: (d.disconnected_at, d.key))[: max(limit, 0)]

    def disconnected_since(self, since: datetime, limit: int) -> list[CalendarDoc]:
        with self._lock:
            recent = [d for d in self._disconnected() if d.disconnected_at >= since]  # type: ignore[operator]
            self.reads += max(1, min(len(recent), limit))
            ordered = sorted(recent, key=lambda d: (d.disconnected_at, d.key), reverse=True)
            return ordered[: max(limit, 0)]

    def _disconnected(self) -> list[CalendarDoc]:
        """Disconnected calendars with a ``disconnected_at`` (what the Firestore index holds)."""
        return [
            d
            for d in self._docs.values()
            if d.state == "disconnected" and d.disconnected_at is not None
        ]

    def clear_sync_token(self, key: str) -> bool:
        with self._lock:
            doc = self._docs.get(key)
            if doc is None:
                return False
            self.writes += 1
            self._docs[key] = replace(doc, sync_token=None)
            return True

    def due_for_sweep(
        self,
        now: datetime,
        limit: int,
        after: PageCursor | None = None,
        *,
        stale_before: datetime,
    ) -> Page[CalendarDoc]:
        """As Firestore (:func:`_sweep_page`); one read per calendar given, at least one."""
        with self._lock:
            page = _sweep_page(self._docs.values(), now, limit, after, stale_before)
            self.reads += max(1, len(page.items))
        return page

    def set_held_deletes(self, key: str, count: int) -> None:
        with self._lock:
            doc = self._docs.get(key)
            if doc is None:
                return
            self.writes += 1
            self._docs[key] = replace(doc, held_deletes=count)

    def of_subject(self, subject: str) -> list[CalendarDoc]:
        with self._lock:
            found = sorted(
                (d for d in self._docs.values() if d.subject == subject), key=lambda d: d.key
            )
            self.reads += max(1, len(found))
            return found

    def mark_records_migrated(self, key: str, schema: int) -> None:
        with self._lock:
            doc = self._docs.get(key)
            if doc is None:
                return
            self.writes += 1
            self._docs[key] = replace(doc, records_schema=schema)

    def note_channel(
        self, key: str, channel_id: str, window: ChannelWindow, *, forget: Iterable[str] = ()
    ) -> None:
        with self._lock:
            doc = self._docs.get(key)
            if doc is None:
                return
            self.writes += 1
            dropped = set(forget)
            channels = {i: w for i, w in (doc.channels or {}).items() if i not in dropped}
            channels[channel_id] = window
            self._docs[key] = replace(doc, channels=channels)

    def clear_channels(self, key: str) -> None:
        with self._lock:
            doc = self._docs.get(key)
            if doc is None:
                return
            self.writes += 1
            self._docs[key] = replace(doc, channels={})


@dataclass(frozen=True, slots=True)
class _StagedMemorySave:
    """A save of :class:`InMemoryRecordStore` not made yet (see
    :meth:`~confsync.ports.RecordStore.stage`)."""

    store: InMemoryRecordStore
    staged: tuple[ConferenceRecord, ...]
    calendar_key: str
    attachments: dict[str, str | None]

    def save(self) -> None:
        self.store.save(self.staged, calendar_key=self.calendar_key, attachments=self.attachments)


class InMemoryRecordStore:
    """Conference records and event attachments in dicts, counting reads and writes like
    Firestore bills them, with the port's conditional saves (``version``: a counter per record).

    It also holds schema-1 records (:meth:`put_legacy`) for migration tests, and their event
    pointers apart: like the Firestore store's, a pointer naming a schema-1 record counts as no
    attachment until an attachment of the same event replaces it, and goes when the calendar is
    forgotten."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[str, ConferenceRecord] = {}
        self._attachments: dict[tuple[str, str], str] = {}
        self._legacy: dict[str, LegacyRecord] = {}
        self._legacy_pointers: dict[tuple[str, str], str] = {}
        self._serial = 0
        self.reads = 0
        self.writes = 0
        self.conflicts = 0

    def all(self) -> dict[str, ConferenceRecord]:
        """Every stored record, by key (test helper; not counted)."""
        with self._lock:
            return dict(self._records)

    def all_attachments(self) -> dict[tuple[str, str], str]:
        """Every attachment, (calendar key, event id) -> record key (test helper)."""
        with self._lock:
            return dict(self._attachments)

    def attachments(self, calendar_key: str, event_ids: Iterable[str]) -> dict[str, str]:
        with self._lock:
            wanted = set(event_ids)
            self.reads += len(wanted)
            return {
                event_id: key
                for (cal, event_id), key in self._attachments.items()
                if cal == calendar_key and event_id in wanted
            }

    def attached_to(self, calendar_key: str) -> dict[str, str]:
        with self._lock:
            found = {e: k for (cal, e), k in self._attachments.items() if cal == calendar_key}
            self.reads += max(1, len(found))
            return found

    def by_keys(self, keys: Iterable[str]) -> list[ConferenceRecord]:
        with self._lock:
            wanted = list(keys)
            self.reads += len(wanted)
            return [self._records[k] for k in wanted if k in self._records]

    def save(
        self,
        records: Iterable[ConferenceRecord],
        *,
        calendar_key: str | None = None,
        attachments: Mapping[str, str | None] | None = None,
    ) -> dict[str, str]:
        writing = list(records)
        versions: dict[str, str] = {}
        with self._lock:
            stale = [r.key for r in writing if self._stale(r)]
            if stale:
                self.conflicts += 1
                raise RecordConflictError(stale)
            for record in writing:
                self.writes += 1
                self._serial += 1
                self._records[record.key] = replace(record, version=str(self._serial))
                versions[record.key] = str(self._serial)
            for event_id, key in (attachments or {}).items():
                assert calendar_key is not None, "attachments need their calendar"
                self.writes += 1
                self._legacy_pointers.pop((calendar_key, event_id), None)
                if key is None:
                    self._attachments.pop((calendar_key, event_id), None)
                else:
                    self._attachments[(calendar_key, event_id)] = key
        return versions

    def stage(
        self,
        records: Iterable[ConferenceRecord],
        *,
        calendar_key: str,
        attachments: Mapping[str, str | None],
    ) -> StagedSave | None:
        return _StagedMemorySave(self, tuple(records), calendar_key, dict(attachments))

    def _stale(self, record: ConferenceRecord) -> bool:
        stored = self._records.get(record.key)
        if record.version is None:
            return stored is not None
        return stored is None or stored.version != record.version

    def pending(self, calendar_key: str, due: datetime, limit: int) -> list[ConferenceRecord]:
        with self._lock:
            found = sorted(
                (
                    r
                    for r in self._records.values()
                    if r.home_key == calendar_key
                    and r.status == "active"
                    and not r.held
                    and r.pending is not None
                    and r.pending.next_attempt_at <= due
                ),
                key=lambda r: (r.pending.next_attempt_at if r.pending else due, r.key),
            )[: max(limit, 0)]
            self.reads += max(1, len(found))
            return found

    def held(self, calendar_key: str) -> list[ConferenceRecord]:
        with self._lock:
            found = [r for r in self._records.values() if r.home_key == calendar_key and r.held]
            self.reads += max(1, len(found))
            return found

    def of_calendar(self, calendar_key: str) -> Iterator[ConferenceRecord]:
        with self._lock:
            found = [r for r in self._records.values() if calendar_key in r.calendars]
            self.reads += max(1, len(found))
        return iter(found)

    def forget_calendar(self, calendar_key: str) -> int:
        """Forget the calendar in every record (the RecordForgetter port), its schema-1
        records included."""
        changed = forget_calendar(self, calendar_key)
        legacy = [r.key for r in self.legacy_of_calendar(calendar_key)]
        self.drop_legacy(legacy)
        with self._lock:
            for pointer in [p for p in self._legacy_pointers if p[0] == calendar_key]:
                del self._legacy_pointers[pointer]
                self.writes += 1
        return changed + len(legacy)

    # --- schema-1 records (the LegacyRecords port) ---

    def put_legacy(self, record: LegacyRecord, events: Iterable[str] = ()) -> None:
        """Store a schema-1 record as an old deployment left it, with pointers to it for its
        events (``events``: more pointers, as a stale one would be). Test helper."""
        with self._lock:
            self._legacy[record.key] = record
            for event_id in [*record.events, *events]:
                self._attachments.pop((record.calendar_key, event_id), None)
                self._legacy_pointers[(record.calendar_key, event_id)] = record.key

    def legacy_of_calendar(self, calendar_key: str) -> list[LegacyRecord]:
        with self._lock:
            found = sorted(
                (r for r in self._legacy.values() if r.calendar_key == calendar_key),
                key=lambda r: r.key,
            )
            self.reads += max(1, len(found))
            return found

    def drop_legacy(self, keys: Iterable[str]) -> None:
        with self._lock:
            for key in keys:
                if self._legacy.pop(key, None) is not None:
                    self.writes += 1


@dataclass(frozen=True, slots=True)
class ProviderCall:
    """One operation the provider received, and what it answered.

    ``kind``: ``update``, ``delete``, ``owner_of`` or ``held``; ``revision`` is None for the
    reads (every id of an ``owners_of`` batch is logged as one ``owner_of`` call). ``outcome``:
    ``applied``, ``repeat``, ``stale``, ``gone``, ``rejected``, ``read`` (a read answered) or
    ``failed: <error>`` (an injected failure)."""

    kind: str
    conference_id: str
    revision: int | None
    outcome: str
    changed_fields: tuple[str, ...] = ()


@dataclass(slots=True)
class _Conference:
    revision: int
    state: dict[str, Any] | None
    join_url: str
    deleted: bool = False
    owner: str | None = None


@dataclass
class RecordingProvider:
    """A conferencing system in memory that enforces revisions like the real contract.

    As the HTTP adapter on the contract's system: an invalid state, a conference id not of the
    form :data:`~confsync.conference.CONFERENCE_ID_PATTERN` or a negative revision is rejected
    (ProviderRejectedError) before anything else is looked at, and
    a delete sent again at the revision that deleted the conference is a repeat, not an error
    (the adapter's ``Idempotency-Key`` makes the system answer it as the first time).

    ``failures`` is a queue of errors raised by the next calls, one per call. Owners are given
    on :meth:`create` or set with :meth:`set_owner`, and read with :meth:`owner_of` (logged in
    ``calls`` like every operation) or :meth:`owners_of`, a batch read: each of its ids is logged
    as an ``owner_of`` read, the batch itself (its ids) in ``batches``, and an injected failure
    is the outcome of every id of the batch, as a failed request is on the real system.
    """

    conferences: dict[str, _Conference] = field(default_factory=dict)
    calls: list[ProviderCall] = field(default_factory=list)
    failures: list[ConfsyncError] = field(default_factory=list)
    batches: list[tuple[str, ...]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def create(
        self, conference_id: str, join_url: str | None = None, *, owner: str | None = None
    ) -> None:
        """A conference the add-on created (revision 0), for ``owner`` (None: without one)."""
        url = join_url or f"https://conf.example/j/{conference_id}"
        self.conferences[conference_id] = _Conference(
            revision=0, state=None, join_url=url, owner=owner
        )

    def set_owner(self, conference_id: str, owner: str | None) -> None:
        """Give a conference another owner (or none), as a test's arrangement: the contract
        itself never changes an owner after creation."""
        self.conferences[conference_id].owner = owner

    def set_join_url(self, conference_id: str, join_url: str) -> None:
        """The provider moved the meeting to a new join URL (returned with the next update)."""
        self.conferences[conference_id].join_url = join_url

    def update(self, op: UpdateConference) -> ProviderAnswer:
        with self._lock:
            self._maybe_fail("update", op.conference_id, op.revision)
            self._check("update", op.conference_id, op.revision, op.state.to_wire())
            conference = self.conferences.get(op.conference_id)
            if conference is None or conference.deleted:
                self._log("update", op.conference_id, op.revision, "gone")
                raise ProviderGoneError(op.conference_id)
            if op.revision < conference.revision:
                self._log("update", op.conference_id, op.revision, "stale")
                raise ProviderStaleRevisionError(op.conference_id)
            outcome = "repeat" if op.revision == conference.revision else "applied"
            if outcome == "applied":
                conference.revision = op.revision
                conference.state = op.state.to_wire()
            self.calls.append(
                ProviderCall("update", op.conference_id, op.revision, outcome, op.changed_fields)
            )
            return ProviderAnswer(join_url=conference.join_url, revision=conference.revision)

    def delete(self, op: DeleteConference) -> None:
        with self._lock:
            self._maybe_fail("delete", op.conference_id, op.revision)
            self._check("delete", op.conference_id, op.revision, None)
            conference = self.conferences.get(op.conference_id)
            if conference is not None and conference.deleted and op.revision == conference.revision:
                self._log("delete", op.conference_id, op.revision, "repeat")
                return
            if conference is None or conference.deleted:
                self._log("delete", op.conference_id, op.revision, "gone")
                raise ProviderGoneError(op.conference_id)
            if op.revision < conference.revision:
                self._log("delete", op.conference_id, op.revision, "stale")
                raise ProviderStaleRevisionError(op.conference_id)
            conference.deleted = True
            conference.revision = op.revision
            self._log("delete", op.conference_id, op.revision, "applied")

    def held(self, conference_id: str) -> HeldConference:
        with self._lock:
            self._maybe_fail("held", conference_id, None)
            self._check("held", conference_id, None, None)
            conference = self.conferences.get(conference_id)
            if conference is None:
                self._log("held", conference_id, None, "gone")
                raise ProviderGoneError(conference_id)
            self._log("held", conference_id, None, "read")
            state = conference.state or {}
            return HeldConference(
                revision=conference.revision,
                deleted=conference.deleted,
                calendar_id=state.get("calendarId"),
                event_id=state.get("eventId"),
            )

    def owner_of(self, conference_id: str) -> str | None:
        with self._lock:
            self._maybe_fail("owner_of", conference_id, None)
            return self._read_owner(conference_id)

    def owners_of(self, conference_ids: Sequence[str]) -> dict[str, OwnerLookup]:
        ids = list(dict.fromkeys(conference_ids))
        if len(ids) > MAX_OWNER_BATCH:
            raise ValueError(f"at most {MAX_OWNER_BATCH} conference ids per batch read")
        with self._lock:
            self.batches.append(tuple(ids))
            failure = self.failures.pop(0) if self.failures else None
            if failure is not None and not isinstance(
                failure, ProviderUnavailableError | ProviderRejectedError | ProviderGoneError
            ):
                raise failure  # not an outcome a batch read can have: the test's mistake
            found: dict[str, OwnerLookup] = {}
            for conference_id in ids:
                try:
                    if failure is not None and is_conference_id(conference_id):
                        outcome = f"failed: {type(failure).__name__}"
                        self._log("owner_of", conference_id, None, outcome)
                        found[conference_id] = failure
                    else:  # an id no system could take is refused before anything is sent
                        found[conference_id] = self._read_owner(conference_id)
                except (ProviderGoneError, ProviderRejectedError) as err:
                    found[conference_id] = err
            return found

    def _read_owner(self, conference_id: str) -> str | None:
        self._check("owner_of", conference_id, None, None)
        conference = self.conferences.get(conference_id)
        if conference is None or conference.deleted:
            self._log("owner_of", conference_id, None, "gone")
            raise ProviderGoneError(conference_id)
        self._log("owner_of", conference_id, None, "read")
        return conference.owner

    def applied(self, kind: str | None = None) -> list[ProviderCall]:
        """The calls that changed something, optionally of one kind."""
        return [c for c in self.calls if c.outcome == "applied" and kind in (None, c.kind)]

    def _maybe_fail(self, kind: str, conference_id: str, revision: int | None) -> None:
        if self.failures:
            error = self.failures.pop(0)
            self._log(kind, conference_id, revision, f"failed: {type(error).__name__}")
            raise error

    def _check(
        self,
        kind: str,
        conference_id: str,
        revision: int | None,
        state: Mapping[str, Any] | None,
    ) -> None:
        """Refuse what the adapter refuses before sending, or the system with 400. ``revision``
        None: a read, which has none."""
        problem = None
        if not is_conference_id(conference_id):
            problem = "conference id not 1 to 128 of A-Z a-z 0-9 _ -"
        elif revision is None:
            pass
        elif isinstance(revision, bool) or not isinstance(revision, int) or revision < 0:
            problem = "revision must be a non-negative integer"
        elif state is not None:
            problem = _state_problem(state)
        if problem is not None:
            self._log(kind, conference_id, revision, "rejected")
            raise ProviderRejectedError(f"{kind} {conference_id}: HTTP 400 ({problem})")

    def _log(self, kind: str, conference_id: str, revision: int | None, outcome: str) -> None:
        self.calls.append(ProviderCall(kind, conference_id, revision, outcome))


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATE_TIME = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")


def _instant(value: Any) -> date | datetime | None:
    """A ``YYYY-MM-DD`` date or an RFC3339 date-time with offset, as the contract takes them."""
    if not isinstance(value, str):
        return None
    try:
        if _DATE.fullmatch(value):
            return date.fromisoformat(value)
        match = _DATE_TIME.fullmatch(value)
        if match is None:
            return None
        moment, fraction, offset = match.groups()
        zone = "+00:00" if offset == "Z" else offset
        return datetime.fromisoformat(f"{moment}{(fraction or '')[:7]}{zone}")
    except ValueError:  # e.g. 2026-02-30
        return None


def _span_problem(where: str, start: Any, end: Any) -> str | None:
    first, last = _instant(start), _instant(end)
    if first is None or last is None:
        return f"{where}start/end: not a date or an RFC3339 date-time with offset"
    if isinstance(first, datetime) != isinstance(last, datetime):
        return f"{where}start/end: not both dates or both date-times"
    if last < first:  # same kind, checked above
        return f"{where}end: before start"
    return None


def _state_problem(state: Mapping[str, Any]) -> str | None:
    """Why the conferencing contract refuses this state (400 invalid_request), or None."""
    problems = [_span_problem("", state.get("start"), state.get("end"))]
    for index, occurrence in enumerate(state.get("modifiedOccurrences") or ()):
        where = f"modifiedOccurrences[{index}]."
        problems.append(_span_problem(where, occurrence.get("start"), occurrence.get("end")))
        if _instant(occurrence.get("originalStart")) is None:
            problems.append(f"{where}originalStart: not a date or date-time")
    for index, value in enumerate(state.get("cancelledOccurrences") or ()):
        if _instant(value) is None:
            problems.append(f"cancelledOccurrences[{index}]: not a date or date-time")
    for index, address in enumerate(state.get("attendees") or ()):
        if not _EMAIL.fullmatch(str(address)):
            problems.append(f"attendees[{index}]: not an e-mail address")
    organizer = state.get("organizer")
    if organizer is not None and not _EMAIL.fullmatch(str(organizer)):
        problems.append("organizer: not an e-mail address")
    zone = state.get("timeZone")
    if zone is not None:
        try:
            zoneinfo.ZoneInfo(str(zone))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            problems.append("timeZone: not an IANA time zone name")
    return next((p for p in problems if p is not None), None)


@dataclass
class RecordingPublisher:
    """Remembers every SyncRequest published."""

    published: list[SyncRequest] = field(default_factory=list)

    def publish(self, request: SyncRequest) -> None:
        self.published.append(request)


class InMemoryChannelStore:
    """Channel records in a dict, with the query semantics of the Firestore store.

    ``log`` records every write as ``(operation, channel id, state)``, so tests can check order.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._docs: dict[str, ChannelDoc] = {}
        self.log: list[tuple[str, str, str]] = []
        self.reads = 0
        """Documents read, as Firestore bills them: one per channel a get or query gives, and
        one for a query that gives none."""

    def all(self) -> list[ChannelDoc]:
        """Every record (test helper)."""
        with self._lock:
            return list(self._docs.values())

    def put(self, doc: ChannelDoc) -> None:
        with self._lock:
            self._docs[doc.id] = doc
            self.log.append(("put", doc.id, doc.state))

    def get(self, channel_id: str) -> ChannelDoc | None:
        with self._lock:
            self.reads += 1
            return self._docs.get(channel_id)

    def active_for(self, calendar_key: str) -> list[ChannelDoc]:
        return self._query(lambda d: d.calendar_key == calendar_key and d.state == "active")

    def of_calendar(self, calendar_key: str) -> list[ChannelDoc]:
        return self._query(lambda d: d.calendar_key == calendar_key)

    def _query(self, matches: Callable[[ChannelDoc], bool]) -> list[ChannelDoc]:
        with self._lock:
            found = [d for d in self._docs.values() if matches(d)]
            self.reads += max(1, len(found))
            return found

    def active_for_many(self, calendar_keys: Iterable[str]) -> dict[str, list[ChannelDoc]]:
        wanted = set(calendar_keys)
        found: dict[str, list[ChannelDoc]] = {}
        with self._lock:
            for doc in self._docs.values():
                if doc.calendar_key in wanted and doc.state == "active":
                    found.setdefault(doc.calendar_key, []).append(doc)
            self.reads += max(1, sum(len(v) for v in found.values()))
        return found

    def expiring_before(
        self, when: datetime, limit: int, after: PageCursor | None = None
    ) -> Page[ChannelDoc]:
        with self._lock:
            due = [d for d in self._docs.values() if d.state == "active" and d.expiration < when]
            page = _paged(due, limit, after, lambda d: (d.expiration, d.id))
            self.reads += max(1, len(page.items))
        return page

    def superseded_or_orphaned(self, limit: int) -> list[ChannelDoc]:
        with self._lock:
            found = [d for d in self._docs.values() if d.state != "active"]
        return sorted(found, key=lambda d: (d.created_at, d.id))[: max(limit, 0)]

    def set_state(self, channel_id: str, state: ChannelState) -> None:
        with self._lock:
            doc = self._docs.get(channel_id)
            if doc is not None:
                self._docs[channel_id] = replace(doc, state=state)
                self.log.append(("set_state", channel_id, state))

    def delete(self, channel_id: str) -> None:
        with self._lock:
            if self._docs.pop(channel_id, None) is not None:
                self.log.append(("delete", channel_id, ""))


@dataclass
class RecordingCommandPublisher:
    """Remembers every channel command published."""

    published: list[ChannelCommand] = field(default_factory=list)

    def publish(self, command: ChannelCommand) -> None:
        self.published.append(command)


class InMemoryCalendarBudget:
    """The project's Calendar budget as one counter per window, with the Firestore adapter's
    grants (never more than ``share`` of ``per_window`` granted in a window). ``granted`` is
    what each window granted; ``claims`` counts the claims (a Firestore write each, in
    production)."""

    def __init__(self, per_window: int) -> None:
        self._per_window = per_window
        self._lock = threading.Lock()
        self.granted: dict[int, int] = {}
        self.claims = 0

    @property
    def per_window(self) -> int:
        return self._per_window

    def claim(self, window: int, calls: int, share: float) -> int:
        with self._lock:
            self.claims += 1
            used = self.granted.get(window, 0)
            grant = max(0, min(calls, int(self._per_window * share) - used))
            self.granted[window] = used + grant
            return grant

    def stage(self, window: int, calls: int, share: float) -> StagedClaim | None:
        """A claim sent on its own when claimed (an in-memory store has no commit to ride)."""
        return _InMemoryStagedClaim(self, window, calls, share)


@dataclass(frozen=True)
class _InMemoryStagedClaim:
    budget: InMemoryCalendarBudget
    window: int
    calls: int
    share: float

    def claim(self) -> int:
        return self.budget.claim(self.window, self.calls, self.share)
