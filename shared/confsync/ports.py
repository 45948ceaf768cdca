"""The ports: what the sync core needs from the outside world, as small Protocols.

Real adapters live in :mod:`confsync.adapters`; in-memory versions for tests and local runs live in
:mod:`confsync.testing`. Every method raises only confsync's own errors (:mod:`confsync.errors`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from confsync.calendars import CalendarDoc, ChannelWindow
from confsync.channel_docs import ChannelDoc, ChannelState
from confsync.errors import ProviderGoneError, ProviderRejectedError, ProviderUnavailableError
from confsync.legacy_records import LegacyRecord
from confsync.messages import ChannelCommand, SyncRequest
from confsync.planner import DeleteConference, UpdateConference
from confsync.records import ConferenceRecord
from confsync.sweep_policy import SweepPlan

__all__ = [
    "MAX_OWNER_BATCH",
    "CalendarBudget",
    "CalendarClient",
    "CalendarClientFactory",
    "CalendarStore",
    "ChannelClient",
    "ChannelClientFactory",
    "ChannelCommandPublisher",
    "ChannelStore",
    "ConferenceProvider",
    "EventPage",
    "HeldConference",
    "LegacyRecords",
    "OwnerLookup",
    "Page",
    "PageCursor",
    "ProviderAnswer",
    "RecordForgetter",
    "RecordStore",
    "StagedClaim",
    "StagedSave",
    "SyncRequestPublisher",
    "WatchedChannel",
]


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PageCursor:
    """Where a paged store query goes on: opaque to the caller, meaningful only to the store that
    made it (which of its queries, and after which document), and only within one process."""

    phase: int
    after: object = None


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a paged store query: its items in the query's order and the cursor of the next
    page (None: this was the last). A page may hold fewer items than asked, even none, and still
    have a next one."""

    items: tuple[T, ...]
    cursor: PageCursor | None


@dataclass(frozen=True, slots=True)
class EventPage:
    """One page of an ``events.list`` answer, items as Google sent them.

    ``access_role`` is the answer's collection-level ``accessRole``: how the client's subject
    sees the calendar (``freeBusyReader``, ``reader``, ``writer`` or ``owner``), None when the
    answer carried none. The sync trusts a page only from ``writer`` up (:mod:`confsync.sync.pull`).
    """

    items: tuple[Mapping[str, Any], ...]
    next_page_token: str | None
    next_sync_token: str | None
    access_role: str | None = None


class CalendarClient(Protocol):
    """The Google Calendar API, as far as syncing needs it."""

    def list_page(
        self,
        calendar_id: str,
        *,
        sync_token: str | None,
        page_token: str | None,
        time_min: datetime | None,
    ) -> EventPage:
        """One page of events. With a sync token: changes since it (SyncTokenInvalidError on 410).
        Without: every event ending after ``time_min`` (a windowed full sync)."""
        ...

    def get_event(self, calendar_id: str, event_id: str) -> Mapping[str, Any] | None:
        """The event (deleted ones included, with status cancelled), or None when unknown (404)."""
        ...

    def list_series(self, calendar_id: str, ical_uid: str) -> tuple[Mapping[str, Any], ...]:
        """Every event sharing ``ical_uid``: a series' master and all its exceptions, cancelled
        ones included (``events.list`` with ``iCalUID``, ``showDeleted=true``,
        ``singleEvents=false``, every page). No sync token (Google refuses one with ``iCalUID``)
        and no time window: exceptions long past count too."""
        ...

    def list_changed(self, calendar_id: str, since: datetime) -> tuple[Mapping[str, Any], ...]:
        """Every event changed at or after ``since``, cancelled ones included with what the
        Calendar keeps of them (``events.list`` with ``updatedMin``, ``showDeleted=true``,
        ``singleEvents=false``, every page; no sync token). On its organizer's calendar a
        deleted event keeps its details; a move leaves a stub with only ``id`` (reference
        1.5)."""
        ...

    def patch_conference_data(
        self, calendar_id: str, event_id: str, etag: str, conference_data: Mapping[str, Any]
    ) -> Mapping[str, Any]:
        """Replace the event's conferenceData if its etag is still ``etag`` (else
        PreconditionFailedError); return the updated event."""
        ...


class CalendarClientFactory(Protocol):
    """Hands out a CalendarClient acting as a calendar's subject (its user)."""

    def for_subject(self, subject: str) -> CalendarClient:
        """A client for one run; not shared between threads."""
        ...


class CalendarBudget(Protocol):
    """The project-wide Calendar budget, shared by every function instance
    (:mod:`confsync.calendar_budget` spends it; see
    docs/decisions/2026-12-04-project-calendar-budget.md)."""

    @property
    def per_window(self) -> int:
        """Calendar calls the whole project may make in one window
        (:data:`~confsync.calendar_budget.WINDOW_S` seconds)."""
        ...

    def claim(self, window: int, calls: int, share: float) -> int:
        """Take up to ``calls`` calls of window ``window`` (epoch seconds // the window's
        length), never letting what was granted in that window exceed ``share`` (0-1] of
        :attr:`per_window`; return how many were granted (0 when none is left). Calls granted
        are gone, used or not."""
        ...

    def stage(self, window: int, calls: int, share: float) -> StagedClaim | None:
        """:meth:`claim`, prepared but not sent, to go with a write of the calendar's lease
        (:meth:`CalendarStore.acquire_lease`), so the claim costs no round trip of its own;
        None when this instance knows the window has nothing left for ``share``."""
        ...


class StagedClaim(Protocol):
    """A claim prepared by :meth:`CalendarBudget.stage`: sent with another write of the store
    it was made for (only that store knows how), or on its own."""

    def claim(self) -> int:
        """Send it on its own, as :meth:`CalendarBudget.claim` would; the calls granted."""
        ...


class StagedSave(Protocol):
    """A save of records and attachments prepared by :meth:`RecordStore.stage`, not written yet:
    either by :meth:`CalendarStore.commit` with the calendar's commit, in one atomic write, or on
    its own by :meth:`save`. Only the stores it was made for know how to write it."""

    def save(self) -> None:
        """Write it on its own, as :meth:`RecordStore.save` would (RecordConflictError alike)."""
        ...


class CalendarStore(Protocol):
    """Calendar records, with the single-flight lease and the notification counter."""

    def get(self, key: str) -> CalendarDoc | None:
        """The calendar, or None when it is not enrolled."""
        ...

    def put(self, doc: CalendarDoc) -> None:
        """Create or replace a calendar record (enrollment)."""
        ...

    def get_many(self, keys: Iterable[str]) -> dict[str, CalendarDoc]:
        """The enrolled calendars among ``keys``, by key, read in batches (``confsync enroll``
        reads thousands); a key without a record, or whose record does not decode, is absent."""
        ...

    def acquire_lease(
        self,
        key: str,
        owner: str,
        until: datetime,
        now: datetime,
        *,
        seen: CalendarDoc | None = None,
    ) -> CalendarDoc | None:
        """Take the lease unless another owner holds a live one; return the record as of the
        acquisition (its ``notify_seq`` is what the owner must compare at the end, its
        ``version`` the one the acquisition wrote), or None. ``seen``: the record as the caller
        just read it, decided on without reading again (a store may write conditionally on its
        ``version``, and read only when that write is refused)."""
        ...

    def notify(self, key: str, at: datetime) -> CalendarDoc | None:
        """Record that a sync was requested while the lease was held: increment ``notify_seq``
        and raise ``notified_max_ms`` to ``at`` (epoch milliseconds) unless it is already larger,
        both atomically, without a read. Return the record after the update (None when the
        calendar is gone)."""
        ...

    def extend_lease(
        self, key: str, owner: str, until: datetime, *, seen: CalendarDoc | None = None
    ) -> CalendarDoc | None:
        """Push the lease's end out; the record after it, or None when ``owner`` no longer holds
        it. ``seen``: as for :meth:`acquire_lease`."""
        ...

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
        """Store the new sync token with ``pulled_from`` (when the pull that returned it began),
        whatever the outcome. If ``notify_seq`` is still ``seen_seq``, also release the lease
        and record success (with the next ``sweep``, when given), atomically, and return True.
        Otherwise keep the lease and return False: a request arrived during the pull, and the
        owner must pull again. False also when the
        calendar no longer exists. When ``owner`` no longer holds the lease, store nothing and
        raise LeaseLostError: its token may be older than the new owner's. With the token, store
        ``pending_checked_at`` when given (when the run looked for pending operations).
        ``seen``: the record as the run last read or wrote it, as for :meth:`acquire_lease`.

        ``records``: a save staged by the run (:meth:`RecordStore.stage`), written in the same
        atomic write as the token, or not at all: when one of its records changed since it was
        read, nothing is written and RecordConflictError names the records; when the calendar is
        gone or the lease lost, nothing is written either."""
        ...

    def release(self, key: str, owner: str, *, now: datetime, outcome: str) -> None:
        """Release the lease (if ``owner`` still holds it) and record the outcome of the attempt."""
        ...

    def set_state(self, key: str, state: str, *, now: datetime, outcome: str) -> None:
        """Change the calendar's state (e.g. to disconnected) and record why; no-op if unknown.

        ``disconnected_at`` follows the state in the same write: set to ``now`` when the calendar
        becomes ``disconnected``, kept when it already was (a repeat keeps the first moment, so
        the retention runs from it), cleared (None) in every other state."""
        ...

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
        """:meth:`set_state`, only if the calendar is still in state ``expected`` (and, with
        ``disconnected_before``, was disconnected before that moment), checked and written
        atomically; False (nothing written) otherwise, or when the calendar is unknown."""
        ...

    def disconnected_before(self, before: datetime, limit: int) -> list[CalendarDoc]:
        """At most ``limit`` calendars ``disconnected`` since before ``before`` (their retention
        is over), longest disconnected first."""
        ...

    def disconnected_since(self, since: datetime, limit: int) -> list[CalendarDoc]:
        """At most ``limit`` calendars that became ``disconnected`` at ``since`` or later (their
        channels may still be live), most recently disconnected first."""
        ...

    def clear_sync_token(self, key: str) -> bool:
        """Forget the calendar's sync token, whoever holds the lease, so its next sync is a full
        one (an operator's resync); False when the calendar is unknown (nothing is created)."""
        ...

    def due_for_sweep(
        self,
        now: datetime,
        limit: int,
        after: PageCursor | None = None,
        *,
        stale_before: datetime,
    ) -> Page[CalendarDoc]:
        """One page (about ``limit``) of the syncing calendars due for a sweep, the earliest due
        first: those whose ``sweep_due_at`` is at or before ``now``; ``after``: the cursor of
        the previous page. The first page also holds those stored before sweeps by need (no
        ``sweep_due_at``) that were never attempted, hold pending conference operations or were
        last attempted before ``stale_before`` (the old criterion), at most ``limit`` of each.
        A calendar whose ``sweep_due_at`` moves meanwhile may leave the query; one not yet paged
        over is never skipped."""
        ...

    def set_held_deletes(self, key: str, count: int) -> None:
        """Record how many of the calendar's deletes the deletion brake holds (written by the
        holder of the lease: a run, or the command line releasing them); no-op if unknown."""
        ...

    def of_subject(self, subject: str) -> list[CalendarDoc]:
        """Every calendar enrolled under ``subject`` (exactly as enrolled), whatever its state."""
        ...

    def mark_records_migrated(self, key: str, schema: int) -> None:
        """Record that the calendar's conference records are of ``schema`` now (written by the
        holder of the lease, once it migrated them); no-op if unknown."""
        ...

    def note_channel(
        self, key: str, channel_id: str, window: ChannelWindow, *, forget: Iterable[str] = ()
    ) -> None:
        """Set when push channel ``channel_id`` of the calendar is live (``channels``), and drop
        the windows of the channel ids in ``forget``, in one write that touches no other entry
        (the channel service, for each channel it opens or supersedes); no-op if unknown."""
        ...

    def clear_channels(self, key: str) -> None:
        """Record that the calendar has no live channel (an empty ``channels``; unenrollment);
        no-op if unknown."""
        ...


class RecordStore(Protocol):
    """Conference records (one per conference, :mod:`confsync.records`) and each calendar's
    event attachments (event id -> the record its event was folded into, as kept references or
    counted ones): how a tombstone, which carries only an event id, finds its record."""

    def attachments(self, calendar_key: str, event_ids: Iterable[str]) -> dict[str, str]:
        """The record key each of these events of the calendar is attached to (unattached
        events are left out)."""
        ...

    def by_keys(self, keys: Iterable[str]) -> list[ConferenceRecord]:
        """Records with these keys (missing ones are skipped), each with its ``version``."""
        ...

    def save(
        self,
        records: Iterable[ConferenceRecord],
        *,
        calendar_key: str | None = None,
        attachments: Mapping[str, str | None] | None = None,
    ) -> dict[str, str]:
        """Write the records and the calendar's attachment changes (event id -> record key,
        None: detached), all or nothing, durably, before returning; the new ``version`` of each
        record written, by key (to write it again without reading it again).

        Each write is conditional: a record with a ``version`` is written only if the stored one
        is still that version, one without only if none is stored. Otherwise nothing is written
        and RecordConflictError names the records that changed (read them again, plan again).
        """
        ...

    def stage(
        self,
        records: Iterable[ConferenceRecord],
        *,
        calendar_key: str,
        attachments: Mapping[str, str | None],
    ) -> StagedSave | None:
        """:meth:`save`'s writes, prepared but not sent, to go with the calendar's commit
        (:meth:`CalendarStore.commit`), so a run's last save costs no round trip of its own;
        None when they are too many for one atomic write with it (save them instead)."""
        ...

    def pending(self, calendar_key: str, due: datetime, limit: int) -> list[ConferenceRecord]:
        """Active records whose home is the calendar with a pending operation due at or before
        ``due`` (held deletes excluded), at most ``limit``, the earliest due first."""
        ...

    def of_calendar(self, calendar_key: str) -> Iterator[ConferenceRecord]:
        """Every record holding references on the calendar (reconciliation, forgetting)."""
        ...

    def held(self, calendar_key: str) -> list[ConferenceRecord]:
        """Every record whose home is the calendar and whose delete the deletion brake holds
        (``hold`` is ``held``); such records are never returned by :meth:`pending`."""
        ...

    def attached_to(self, calendar_key: str) -> dict[str, str]:
        """Every attachment of the calendar (event id -> record key), for forgetting it."""
        ...


class LegacyRecords(Protocol):
    """Records of schema 1 (one per calendar and conference) still stored, to migrate them
    (:mod:`confsync.record_migration`)."""

    def legacy_of_calendar(self, calendar_key: str) -> list[LegacyRecord]:
        """The calendar's schema-1 records."""
        ...

    def drop_legacy(self, keys: Iterable[str]) -> None:
        """Delete these schema-1 records (migrated)."""
        ...


MAX_OWNER_BATCH = 100
"""The most conference ids one :meth:`ConferenceProvider.owners_of` call takes (the contract's
limit on one batch read)."""

OwnerLookup = str | None | ProviderGoneError | ProviderUnavailableError | ProviderRejectedError
"""What one owner read came to: the owner (None: the conference has none), or the error
:meth:`ConferenceProvider.owner_of` would have raised for it."""


@dataclass(frozen=True, slots=True)
class ProviderAnswer:
    """What the conferencing system answered to an update."""

    join_url: str | None
    revision: int


@dataclass(frozen=True, slots=True)
class HeldConference:
    """What the conferencing system holds of a conference: the revision of its last change,
    whether that change deleted it, and the calendar and event whose state it holds (None when
    it holds none: never PUT, or a state without them)."""

    revision: int
    deleted: bool
    calendar_id: str | None
    event_id: str | None


class ConferenceProvider(Protocol):
    """The conferencing system.

    Raises ProviderUnavailableError (retry later), ProviderGoneError (already gone),
    ProviderStaleRevisionError (a newer revision is there) or ProviderRejectedError (invalid).
    A conference id not of the form :data:`~confsync.conference.CONFERENCE_ID_PATTERN` is
    ProviderRejectedError before anything is sent.
    """

    def update(self, op: UpdateConference) -> ProviderAnswer:
        """Send the desired state with its revision (idempotent)."""
        ...

    def delete(self, op: DeleteConference) -> None:
        """Delete the conference at the given revision (idempotent)."""
        ...

    def held(self, conference_id: str) -> HeldConference:
        """What the system holds of the conference (``GET``), deleted ones included: read when a
        delete was refused as stale, to learn where the newer state came from.

        ProviderGoneError when the conference is unknown, ProviderUnavailableError once retries
        are spent, ProviderRejectedError for any other refusal (and for an answer without a
        usable ``revision`` and ``status``). Changes nothing.
        """
        ...

    def owner_of(self, conference_id: str) -> str | None:
        """The conference's owner, read once (``GET``): the e-mail address of the organizer it was
        created for, exactly as its creator sent it (compare case-insensitively), or None when
        it has none (created without one, e.g. before the contract had owners).

        ProviderGoneError when the conference is unknown or deleted, ProviderUnavailableError
        once retries are spent, ProviderRejectedError for any other refusal (and for an answer
        without a usable ``owner``). Changes nothing.
        """
        ...

    def owners_of(self, conference_ids: Sequence[str]) -> Mapping[str, OwnerLookup]:
        """The owners of up to :data:`MAX_OWNER_BATCH` conferences (more: ValueError), read
        together where the system can (one batch read, contract 2.1.0), by id, every id given
        answered once. Each answer is what :meth:`owner_of` would return or raise for that id;
        a failure of the whole read (unavailable after retries, a refused credential) is the
        answer of every id it carried. Never raises a provider error. Changes nothing.
        """
        ...


class SyncRequestPublisher(Protocol):
    """Publishes SyncRequests to the ``sync-requests`` topic."""

    def publish(self, request: SyncRequest) -> None:
        """Publish and wait until Pub/Sub has accepted the message (PublishError otherwise)."""
        ...


# --- channels --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WatchedChannel:
    """What ``events.watch`` answered: the channel, its resource id and its expiration."""

    id: str
    resource_id: str
    expiration: datetime


class ChannelClient(Protocol):
    """The Google Calendar API's push channels (``events.watch``, ``channels.stop``).

    A port of its own rather than more methods on :class:`CalendarClient`, so that a sync-only
    client (or a test double of one) need not implement channels; the Google adapter implements
    both.
    """

    def watch(
        self, calendar_id: str, channel_id: str, address: str, token: str, ttl_seconds: int
    ) -> WatchedChannel:
        """Open a channel on the calendar's events. WatchRefusedError when the calendar refuses
        push channels; CalendarAccessError, CalendarUnavailableError as usual."""
        ...

    def stop_channel(self, channel_id: str, resource_id: str) -> None:
        """Stop a channel; a channel that is already gone (404) is fine."""
        ...


class ChannelClientFactory(Protocol):
    """Hands out a ChannelClient acting as a calendar's subject (channels belong to a user)."""

    def for_subject(self, subject: str) -> ChannelClient:
        """A client for one unit of work; not shared between threads."""
        ...


class ChannelStore(Protocol):
    """Channel records (``channels/{channelId}``), see :mod:`confsync.channel_docs`."""

    def put(self, doc: ChannelDoc) -> None:
        """Create or replace a channel record, durably."""
        ...

    def get(self, channel_id: str) -> ChannelDoc | None:
        """The channel, or None."""
        ...

    def active_for(self, calendar_key: str) -> list[ChannelDoc]:
        """The calendar's channels in state ``active`` (expired ones included)."""
        ...

    def of_calendar(self, calendar_key: str) -> list[ChannelDoc]:
        """Every channel record of the calendar, whatever its state."""
        ...

    def expiring_before(
        self, when: datetime, limit: int, after: PageCursor | None = None
    ) -> Page[ChannelDoc]:
        """One page (at most ``limit``) of the active channels expiring before ``when``, soonest
        first; ``after``: the cursor of the previous page."""
        ...

    def active_for_many(self, calendar_keys: Iterable[str]) -> dict[str, list[ChannelDoc]]:
        """:meth:`active_for` of many calendars at once (a few queries, not one per calendar),
        by calendar key; a calendar without active channels is absent."""
        ...

    def superseded_or_orphaned(self, limit: int) -> list[ChannelDoc]:
        """Channels left to collect: ``superseded`` (still to stop) and ``stopped`` ones."""
        ...

    def set_state(self, channel_id: str, state: ChannelState) -> None:
        """Change a channel's state; no-op when it is unknown."""
        ...

    def delete(self, channel_id: str) -> None:
        """Forget a channel record; no-op when it is unknown."""
        ...


class RecordForgetter(Protocol):
    """Forgets a calendar in the conference records (unenrollment with ``forget``,
    :mod:`confsync.forgetting`); never deletes conferences."""

    def forget_calendar(self, calendar_key: str) -> int:
        """Remove the calendar's references, counts and pointers from every record, and delete
        its schema-1 records; return how many records changed or were deleted."""
        ...


class ChannelCommandPublisher(Protocol):
    """Publishes channel commands (the fan-out batches of a tick) to ``channel-commands``."""

    def publish(self, command: ChannelCommand) -> None:
        """Publish and wait until Pub/Sub has accepted the message (PublishError otherwise)."""
        ...
