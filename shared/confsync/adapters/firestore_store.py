"""Firestore implementations of :class:`~confsync.ports.CalendarStore` and
:class:`~confsync.ports.RecordStore`.

Documents have the shapes of :func:`confsync.calendars.calendar_to_document` and
:func:`confsync.records.to_document`; a stored document that does not decode raises
:class:`~confsync.errors.MalformedInputError` (from those decoders). The Firestore client is
confsync's own, over the REST API (:mod:`confsync.adapters.firestore_http`); every one of its
errors is translated in one place, :func:`translated`, into
:class:`~confsync.errors.StoreUnavailableError`.

Concurrency: optimistic writes, not transactions
------------------------------------------------
The lease, its extension, the commit and the release are read-then-write decisions on one
calendar document. They are made with *optimistic writes*: read the document, decide, then
``update()`` it with a ``last_update_time`` precondition equal to the snapshot's
``update_time``. If anyone wrote the document in between (another run taking the lease, a
``notify`` increment), Firestore refuses the write with ``FailedPrecondition``; the adapter reads
again and decides again, a bounded number of times. This gives the same atomicity as a
transaction for a single document, with one read and one write and no locks. Transactions are
avoided on purpose: the server SDKs run them with pessimistic locks, which under contention (many
notifications arriving during a pull) serialise and time out, very visibly on the emulator.

A caller that has just read or written the document passes that reading (``seen``, a
:class:`~confsync.calendars.CalendarDoc` carrying its ``version``, the ``update_time``): the first
attempt decides on it and writes conditionally on its version, one round trip instead of two;
only a refused write reads again. A run thus takes its lease on the document it read to start,
and commits on the version its own last write returned.

``notify`` needs no decision at all: it is a server-side ``Increment(1)`` of ``notify_seq`` and,
in the same update, a server-side ``Maximum`` of ``notified_max_ms``, atomic however many callers
race and in whatever order they arrive; it changes the document's ``update_time``, so a lease
owner committing at the same moment fails its precondition, re-reads, and sees the counter moved
(and, from ``notified_max_ms``, whether its pull already covered those requests).

Records are found by key with batch gets; a deletion tombstone, which carries only an event id,
finds its record through a pointer document (see :class:`FirestoreRecordStore`). The remaining
queries are built from :data:`QUERY_SHAPES` (see :class:`QueryShape`), so the registry that the
Terraform index check reads is the very description the code runs.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal, Protocol, TypeVar, runtime_checkable

from confsync.adapters import firestore_errors as fs_errors
from confsync.adapters import firestore_http as firestore
from confsync.adapters.firestore_fields import (
    DELETE_FIELD,
    Increment,
    Maximum,
    field_path,
    update_write,
)
from confsync.adapters.firestore_http import DocumentSnapshot
from confsync.adapters.firestore_query import ASCENDING, DESCENDING, FieldFilter, Query
from confsync.adapters.firestore_rpcs import count_round_trips
from confsync.adapters.firestore_writes import whole_write
from confsync.calendar_budget import ClaimAhead
from confsync.calendars import (
    SYNCING_STATES,
    CalendarDoc,
    ChannelWindow,
    calendar_from_document,
    calendar_to_document,
    epoch_ms,
    window_to_document,
)
from confsync.errors import (
    LeaseLostError,
    MalformedInputError,
    RecordConflictError,
    StoreUnavailableError,
)
from confsync.forgetting import forget_calendar
from confsync.legacy_records import LEGACY_SCHEMA_VERSION, LegacyRecord
from confsync.legacy_records import from_document as legacy_from_document
from confsync.ports import Page, PageCursor, StagedSave
from confsync.records import ConferenceRecord, from_document, to_document
from confsync.sweep_policy import SweepPlan

__all__ = [
    "BATCH_MAX",
    "QUERY_SHAPES",
    "FirestoreCalendarStore",
    "FirestoreRecordStore",
    "FirestoreStagedSave",
    "QueryShape",
    "chunks",
    "continued",
    "pointer_key",
    "translated",
]

T = TypeVar("T")
R = TypeVar("R")

# --- query shapes ----------------------------------------------------------------------------

QueryOp = Literal[
    "==",
    "in",
    "array-contains",
    "array-contains-any",
    "<",
    "<=",
    ">",
    ">=",
    "order-asc",
    "order-desc",
]

_FILTER_OPS: dict[str, str] = {
    "==": "==",
    "in": "in",
    "array-contains": "array_contains",
    "array-contains-any": "array_contains_any",
    "<": "<",
    "<=": "<=",
    ">": ">",
    ">=": ">=",
}
_ORDER_OPS: dict[str, str] = {
    "order-asc": ASCENDING,
    "order-desc": DESCENDING,
}


@dataclass(frozen=True, slots=True)
class QueryShape:
    """One query the adapters issue: which method, on which collection, with which clauses.

    ``collection`` is the default collection name; ``fields`` lists (field path, operator) in the
    order they are applied, filters and orderings alike. An equality on ``None`` (``==``) is an
    ``IS NULL`` filter. :meth:`build` is how the adapters make their queries, so the registry
    cannot drift from the code.
    """

    method: str
    collection: str
    fields: tuple[tuple[str, QueryOp], ...]

    def build(self, collection: firestore.CollectionReference, *values: object) -> Query:
        """The query on ``collection`` with one value per filter clause, in order."""
        filters = [(path, op) for path, op in self.fields if op in _FILTER_OPS]
        if len(values) != len(filters):
            raise ValueError(f"{self.method}: {len(filters)} filter values, got {len(values)}")
        supplied = iter(values)
        query = Query(collection)
        for path, op in self.fields:
            if op in _ORDER_OPS:
                query = query.order_by(path, direction=_ORDER_OPS[op])
            else:
                clause = FieldFilter(path, _FILTER_OPS[op], next(supplied))
                query = query.where(filter=clause)
        return query


_SWEEP_DUE = QueryShape(
    "FirestoreCalendarStore.due_for_sweep",
    "calendars",
    (("state", "in"), ("sweep_due_at", "<="), ("sweep_due_at", "order-asc")),
)
_SWEEP_STALE = QueryShape(
    "FirestoreCalendarStore.due_for_sweep",
    "calendars",
    (("state", "in"), ("last_attempt_at", "<"), ("last_attempt_at", "order-asc")),
)
_SWEEP_NEVER_ATTEMPTED = QueryShape(
    "FirestoreCalendarStore.due_for_sweep",
    "calendars",
    (("state", "in"), ("last_attempt_at", "==")),
)
_SWEEP_PENDING = QueryShape(
    "FirestoreCalendarStore.due_for_sweep",
    "calendars",
    (("state", "in"), ("pending_count", ">"), ("last_attempt_at", "order-asc")),
)
_DISCONNECTED_BEFORE = QueryShape(
    "FirestoreCalendarStore.disconnected_before",
    "calendars",
    (("state", "=="), ("disconnected_at", "<"), ("disconnected_at", "order-asc")),
)
_DISCONNECTED_SINCE = QueryShape(
    "FirestoreCalendarStore.disconnected_since",
    "calendars",
    (("state", "=="), ("disconnected_at", ">="), ("disconnected_at", "order-desc")),
)
_CALENDARS_OF_SUBJECT = QueryShape(
    "FirestoreCalendarStore.of_subject",
    "calendars",
    (("subject", "=="),),
)
_RECORDS_PENDING = QueryShape(
    "FirestoreRecordStore.pending",
    "conferences",
    (
        ("home_calendar_key", "=="),
        ("has_pending", "=="),
        ("pending.next_attempt_at", "<="),
        ("pending.next_attempt_at", "order-asc"),
    ),
)
_RECORDS_OF_CALENDAR = QueryShape(
    "FirestoreRecordStore.of_calendar",
    "conferences",
    (("calendar_keys", "array-contains"),),
)
_RECORDS_HELD = QueryShape(
    "FirestoreRecordStore.held",
    "conferences",
    (("home_calendar_key", "=="), ("hold", "==")),
)
_ATTACHED_TO = QueryShape(
    "FirestoreRecordStore.attached_to",
    "conference_events",
    (("calendar_key", "=="),),
)
_LEGACY_OF_CALENDAR = QueryShape(
    "FirestoreRecordStore.legacy_of_calendar",
    "conferences",
    (("calendar_key", "=="),),
)

QUERY_SHAPES: tuple[QueryShape, ...] = (
    _SWEEP_DUE,
    _SWEEP_STALE,
    _SWEEP_NEVER_ATTEMPTED,
    _SWEEP_PENDING,
    _DISCONNECTED_BEFORE,
    _DISCONNECTED_SINCE,
    _CALENDARS_OF_SUBJECT,
    _RECORDS_PENDING,
    _RECORDS_OF_CALENDAR,
    _RECORDS_HELD,
    _ATTACHED_TO,
    _LEGACY_OF_CALENDAR,
)
"""Every query shape the adapters issue (for the composite-index check against Terraform)."""

# --- limits and error translation ------------------------------------------------------------

_GET_ALL_CHUNK = 300
_PARALLEL_REQUESTS = 4  # batch gets or commits of one call sent at once
BATCH_MAX = 500  # Firestore's limit on writes in one batch commit
_OPTIMISTIC_ATTEMPTS = 5  # acquire, extend, release: give up after this many lost races
_COMMIT_ATTEMPTS = 10  # commit must store the token: a few more tries before raising

_SYNCING = sorted(SYNCING_STATES)
_LEGACY_PROBE = 10  # calendars the old criterion's query reads while none is left to find

_Snapshot = DocumentSnapshot


@contextlib.contextmanager
def translated(what: str) -> Iterator[None]:
    """Turn every Firestore / transport failure into StoreUnavailableError (chained).

    Every :class:`~confsync.adapters.firestore_errors.FirestoreError` is mapped, not only the
    retryable ones (an unreachable server or a token that cannot be had is one): the store port has
    no other error, and a refusal such as a missing index or permission is fixed by an operator,
    after which a redelivered request succeeds. ``FailedPrecondition`` / ``NotFound`` that drive
    the optimistic writes are caught by the callers, inside this block, before they get here.
    """
    try:
        yield
    except fs_errors.FirestoreError as err:
        raise StoreUnavailableError(
            f"Firestore {what} failed: {type(err).__name__}: {err}"
        ) from err


def _calendar(snapshot: _Snapshot) -> CalendarDoc | None:
    body = snapshot.to_dict() if snapshot.exists else None
    if body is None:
        return None
    return replace(calendar_from_document(snapshot.id, body), version=_version(snapshot))


def _version(snapshot: _Snapshot) -> str | None:
    """A stored record's version: its ``update_time`` (None: no such document)."""
    if not snapshot.exists or snapshot.update_time is None:
        return None
    return str(snapshot.update_time.rfc3339())


def _record(snapshot: _Snapshot) -> ConferenceRecord | None:
    body = snapshot.to_dict() if snapshot.exists else None
    if body is None:
        return None
    return from_document(snapshot.id, body, _version(snapshot))


def continued(query: Query, cursor: PageCursor | None) -> Query:
    """``query`` from after the document of ``cursor`` (the last snapshot of its previous
    page), or from the start."""
    if cursor is None or cursor.after is None:
        return query
    if not isinstance(cursor.after, DocumentSnapshot):
        raise TypeError(f"not a Firestore page cursor: {type(cursor.after).__name__}")
    return query.start_after(cursor.after)


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- calendars -------------------------------------------------------------------------------


@runtime_checkable
class _CommittedClaim(Protocol):
    """A Calendar budget claim staged for a commit of this database
    (:class:`~confsync.adapters.firestore_budget.FirestoreStagedClaim`)."""

    write: dict[str, Any]

    def settled(self, result: firestore.WriteResult) -> int: ...


class _LeasedCalendars:
    """One calendar document's read and its lease protocol (take, notify, extend, commit,
    release) as optimistic writes; :class:`FirestoreCalendarStore` adds the rest of the port."""

    def __init__(
        self,
        client: firestore.Client,
        collection: str = "calendars",
        *,
        claims_ahead: Callable[[], ClaimAhead | None] | None = None,
    ) -> None:
        self._client = count_round_trips(client)
        self._collection = client.collection(collection)
        self._claims_ahead = claims_ahead

    def _ref(self, key: str) -> firestore.DocumentReference:
        return self._collection.document(key)

    def _read(self, key: str) -> tuple[_Snapshot, CalendarDoc | None]:
        snapshot = self._ref(key).get()
        return snapshot, _calendar(snapshot)

    def _update_if_unchanged(self, snapshot: _Snapshot, fields: dict[str, Any]) -> bool:
        """Write ``fields`` unless the document changed since ``snapshot``; False if it did."""
        version = _version(snapshot)
        return version is not None and self._write_if(snapshot.id, version, fields) is not None

    def _write_if(self, key: str, version: str, fields: dict[str, Any]) -> str | None:
        written = _write_if(self._client, self._ref(key), version, fields)
        return None if written is None else written[0]

    def _lease_written(self, key: str, version: str, fields: dict[str, Any]) -> str | None:
        """:meth:`_write_if` of the lease, with the Calendar budget's claim the run's first call
        would make (:meth:`~confsync.calendar_budget.CalendarAllowance.ahead`) in the same
        commit: the claim is made only if the lease is taken, and costs no round trip."""
        ahead = self._claims_ahead() if self._claims_ahead is not None else None
        if ahead is None:
            return self._write_if(key, version, fields)
        staged = ahead.staged
        if not isinstance(staged, _CommittedClaim):
            raise TypeError(f"a Firestore commit cannot send a {type(staged).__name__}")
        written = _write_if(self._client, self._ref(key), version, fields, also=[staged.write])
        if written is None:
            return None
        new, [claimed] = written
        ahead.granted(staged.settled(claimed))
        return new

    def _decided(
        self, key: str, seen: CalendarDoc | None, first: bool
    ) -> tuple[str | None, CalendarDoc | None]:
        """On the ``first`` attempt the caller's reading ``seen``, otherwise a fresh read."""
        doc = seen if first and seen is not None and seen.version else self._read(key)[1]
        return (None if doc is None else doc.version), doc

    def get(self, key: str) -> CalendarDoc | None:
        with translated("calendar get"):
            return self._read(key)[1]

    def acquire_lease(
        self,
        key: str,
        owner: str,
        until: datetime,
        now: datetime,
        *,
        seen: CalendarDoc | None = None,
    ) -> CalendarDoc | None:
        with translated("lease acquisition"):
            for attempt in range(_OPTIMISTIC_ATTEMPTS):
                version, doc = self._decided(key, seen, attempt == 0)
                if doc is None or version is None or doc.lease_held(now, owner):
                    return None
                fields = {"lease_owner": owner, "lease_until": until, "last_attempt_at": now}
                if (new := self._lease_written(key, version, fields)) is not None:
                    return replace(
                        doc, lease_owner=owner, lease_until=until, last_attempt_at=now, version=new
                    )
            return None  # lost every race: others are active on this calendar

    def notify(self, key: str, at: datetime) -> CalendarDoc | None:
        with translated("notify"):
            try:
                self._ref(key).update(
                    {
                        "notify_seq": Increment(1),
                        "notified_max_ms": Maximum(epoch_ms(at)),
                        "last_notified_at": at,
                    }
                )
            except fs_errors.NotFoundError:
                return None
            return self._read(key)[1]

    def extend_lease(
        self, key: str, owner: str, until: datetime, *, seen: CalendarDoc | None = None
    ) -> CalendarDoc | None:
        with translated("lease extension"):
            for attempt in range(_OPTIMISTIC_ATTEMPTS):
                version, doc = self._decided(key, seen, attempt == 0)
                if doc is None or version is None or doc.lease_owner != owner:
                    return None
                if (new := self._write_if(key, version, {"lease_until": until})) is not None:
                    return replace(doc, lease_until=until, version=new)
            return None

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
        staged = _firestore_staged(records)
        with translated("commit"):
            for attempt in range(_COMMIT_ATTEMPTS):
                version, doc = self._decided(key, seen, attempt == 0)
                if doc is None or version is None:
                    return False  # the calendar is gone: nothing to commit to
                if doc.lease_owner != owner:
                    raise LeaseLostError(f"lease on {key} is no longer held by this run")
                fields: dict[str, Any] = {
                    "sync_token": sync_token,
                    "pulled_from": pulled_from,
                    "token_obtained_at": now,
                }
                if full_sync:
                    fields["full_syncs"] = doc.full_syncs + 1
                if pending_checked_at is not None:
                    fields["pending_checked_at"] = pending_checked_at
                released = doc.notify_seq == seen_seq
                if released:
                    fields.update(
                        lease_owner=None,
                        lease_until=None,
                        last_success_at=now,
                        last_outcome="synced",
                        pending_count=pending_count,
                    )
                    if sweep is not None:
                        fields.update(_sweep_fields(sweep))
                if staged is None:
                    if self._write_if(key, version, fields) is not None:
                        return released
                elif staged.commit_with(self._client, self._ref(key), version, fields):
                    return released
        raise StoreUnavailableError(f"commit of calendar {key} kept losing races; retry later")

    def release(self, key: str, owner: str, *, now: datetime, outcome: str) -> None:
        with translated("lease release"):
            for _ in range(_OPTIMISTIC_ATTEMPTS):
                snapshot, doc = self._read(key)
                if doc is None or doc.lease_owner != owner:
                    return
                fields = {"lease_owner": None, "lease_until": None, "last_outcome": outcome}
                if self._update_if_unchanged(snapshot, fields):
                    return
            # Still ours but always contended: the lease expires by itself.


class FirestoreCalendarStore(_LeasedCalendars):
    """Calendar documents in ``collection``, with the lease as optimistic writes."""

    def put(self, doc: CalendarDoc) -> None:
        with translated("calendar put"):
            self._ref(doc.key).set(calendar_to_document(doc))

    def get_many(self, keys: Iterable[str]) -> dict[str, CalendarDoc]:
        with translated("calendars by keys"):
            return _calendars_by_key(self._client, [self._ref(key) for key in dict.fromkeys(keys)])

    def set_state(self, key: str, state: str, *, now: datetime, outcome: str) -> None:
        if state != "disconnected":  # disconnected_at is cleared: nothing to read first
            fields = {"state": state, "last_outcome": outcome, "disconnected_at": None}
            with translated("state change"), contextlib.suppress(fs_errors.NotFoundError):
                self._ref(key).update(fields)
            return
        self._change_state(key, lambda _body: True, state, now=now, outcome=outcome)

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
        def holds(body: Mapping[str, Any]) -> bool:
            if body.get("state") != expected:
                return False
            if disconnected_before is None:
                return True
            since = body.get("disconnected_at")
            return isinstance(since, datetime) and since < disconnected_before

        return self._change_state(key, holds, state, now=now, outcome=outcome)

    def _change_state(
        self,
        key: str,
        holds: Callable[[Mapping[str, Any]], bool],
        state: str,
        *,
        now: datetime,
        outcome: str,
    ) -> bool:
        """Write the state if ``holds(stored body)``, as an optimistic write (the stored
        ``disconnected_at`` decides the new one); False when it does not hold or is unknown."""
        with translated("state change"):
            for _ in range(_OPTIMISTIC_ATTEMPTS):
                snapshot = self._ref(key).get()
                body = snapshot.to_dict() if snapshot.exists else None
                if body is None or not holds(body):
                    return False
                fields = {
                    "state": state,
                    "last_outcome": outcome,
                    "disconnected_at": _disconnected_at(body, state, now),
                }
                if self._update_if_unchanged(snapshot, fields):
                    return True
        raise StoreUnavailableError(f"state change of calendar {key} kept losing races")

    def clear_sync_token(self, key: str) -> bool:
        # A plain update, no precondition: it must win over whatever the calendar is doing.
        with translated("sync token reset"):
            try:
                self._ref(key).update({"sync_token": None})
            except fs_errors.NotFoundError:
                return False
            return True

    def set_held_deletes(self, key: str, count: int) -> None:
        # A plain update: only the lease holder writes it (a run, or the command line).
        with translated("held deletes count"), contextlib.suppress(fs_errors.NotFoundError):
            self._ref(key).update({"held_deletes": count})

    def of_subject(self, subject: str) -> list[CalendarDoc]:
        found: list[CalendarDoc] = []
        with translated("calendars of a subject query"):
            for snapshot in _CALENDARS_OF_SUBJECT.build(self._collection, subject).stream():
                doc = _calendar(snapshot)
                if doc is not None:
                    found.append(doc)
        return sorted(found, key=lambda d: d.key)

    def mark_records_migrated(self, key: str, schema: int) -> None:
        # A plain update: only the lease holder migrates the calendar's records.
        with translated("records schema mark"), contextlib.suppress(fs_errors.NotFoundError):
            self._ref(key).update({"records_schema": schema})

    def note_channel(
        self, key: str, channel_id: str, window: ChannelWindow, *, forget: Iterable[str] = ()
    ) -> None:
        # Plain updates of single map entries (quoted field paths), so two writers never lose
        # each other's channels.
        fields: dict[str, Any] = {field_path("channels", old): DELETE_FIELD for old in forget}
        fields[field_path("channels", channel_id)] = window_to_document(window)
        with translated("channel window"), contextlib.suppress(fs_errors.NotFoundError):
            self._ref(key).update(fields)

    def clear_channels(self, key: str) -> None:
        with translated("channels reset"), contextlib.suppress(fs_errors.NotFoundError):
            self._ref(key).update({"channels": {}})

    def due_for_sweep(
        self,
        now: datetime,
        limit: int,
        after: PageCursor | None = None,
        *,
        stale_before: datetime,
    ) -> Page[CalendarDoc]:
        """See :func:`_due_for_sweep`."""
        with translated("sweep query"):
            return _due_for_sweep(self._collection, now, limit, after, stale_before)

    def disconnected_before(self, before: datetime, limit: int) -> list[CalendarDoc]:
        with translated("retention query"):
            return _disconnected(
                _DISCONNECTED_BEFORE.build(self._collection, "disconnected", before), limit
            )

    def disconnected_since(self, since: datetime, limit: int) -> list[CalendarDoc]:
        with translated("disconnected query"):
            return _disconnected(
                _DISCONNECTED_SINCE.build(self._collection, "disconnected", since), limit
            )


def _write_if(
    client: firestore.Client,
    ref: firestore.DocumentReference,
    version: str,
    fields: dict[str, Any],
    *,
    also: Sequence[Mapping[str, Any]] = (),
) -> tuple[str | None, list[firestore.WriteResult]] | None:
    """Write ``fields`` to ``ref`` unless the document changed since it was at ``version``,
    with the prepared writes ``also`` in the same commit (one round trip, all or nothing); the
    new version and the results of ``also``, or None if the document did change (or is
    gone)."""
    option = client.write_option(last_update_time=version)
    try:
        written, *others = client.commit([update_write(ref.name, fields, option), *also])
    except (fs_errors.FailedPreconditionError, fs_errors.NotFoundError):
        return None
    new = None if written.update_time is None else str(written.update_time.rfc3339())
    return new, others


def _calendars_by_key(
    client: firestore.Client, refs: Sequence[firestore.DocumentReference]
) -> dict[str, CalendarDoc]:
    """The calendars of ``refs`` that exist and decode, by key, read :data:`_GET_ALL_CHUNK` at a
    time (a malformed one is left out: the caller treats it as not enrolled)."""
    found: dict[str, CalendarDoc] = {}
    for chunk in chunks(refs, _GET_ALL_CHUNK):
        for snapshot in client.get_all(list(chunk)):
            try:
                doc = _calendar(snapshot)
            except MalformedInputError:
                continue
            if doc is not None:
                found[doc.key] = doc
    return found


def _sweep_fields(plan: SweepPlan) -> dict[str, Any]:
    return {
        "sweep_due_at": plan.due_at,
        "sweep_interval_s": int(plan.interval.total_seconds()),
        "channel_suspect": plan.suspect,
    }


def _sweep_key(doc: CalendarDoc) -> tuple[datetime, str]:
    return (doc.sweep_due, doc.key)


def _due_for_sweep(
    collection: firestore.CollectionReference,
    now: datetime,
    limit: int,
    after: PageCursor | None,
    stale_before: datetime,
) -> Page[CalendarDoc]:
    """A page of the calendars whose ``sweep_due_at`` has come (earliest first, after the last
    document of the previous page: its order values and its name). The first page also holds
    those stored before sweeps by need (no ``sweep_due_at``) on the old criterion: never
    attempted, pending operations, or attempted before ``stale_before``, at most ``limit`` in
    all, then as many planned ones as the page has room for. They sort before every calendar a
    run of this release attempted, so a probe of :data:`_LEGACY_PROBE` tells whether any is left
    to find; the commit of their next run gives them a ``sweep_due_at``, so they leave these
    queries."""
    if limit <= 0:
        return Page((), None)
    found: dict[str, CalendarDoc] = {}

    def keep(snapshots: Iterable[_Snapshot]) -> int:
        """Keep the calendars stored before sweeps by need; how many there were."""
        kept = 0
        for snapshot in snapshots:
            doc = _calendar(snapshot)
            if doc is not None and doc.sweep_due_at is None:
                found[doc.key] = doc
                kept += 1
        return kept

    if after is None:  # the three old criteria at once: independent reads, one wait
        stale = _SWEEP_STALE.build(collection, _SYNCING, stale_before)
        probe = min(limit, _LEGACY_PROBE)
        first = (
            (_SWEEP_NEVER_ATTEMPTED.build(collection, _SYNCING, None), limit),
            (_SWEEP_PENDING.build(collection, _SYNCING, 0), limit),
            (stale, probe),
        )
        with ThreadPoolExecutor(len(first), "firestore-sweep") as pool:
            read = list(_in_context(pool, lambda q: list(q[0].limit(q[1]).stream()), first))
        *_, probed = [keep(snapshots) for snapshots in read]  # the stale probe is last
        if probed and probe < limit:
            keep(list(stale.limit(limit).stream()))
    legacy = sorted(found.values(), key=_sweep_key)[:limit]
    room = limit - len(legacy)
    if room <= 0:  # the planned ones from their start on the next page
        return Page(tuple(legacy), PageCursor(0))
    query = continued(_SWEEP_DUE.build(collection, _SYNCING, now), after)
    snapshots = list(query.limit(room).stream())
    due = [doc for doc in map(_calendar, snapshots) if doc is not None]
    cursor = PageCursor(0, snapshots[-1]) if len(snapshots) == room else None
    return Page((*legacy, *due), cursor)


def _disconnected(query: Query, limit: int) -> list[CalendarDoc]:
    """At most ``limit`` calendars of one of the two disconnected queries (a malformed document
    is skipped: it must not hold up the others)."""
    if limit <= 0:
        return []
    found: list[CalendarDoc] = []
    for snapshot in query.limit(limit).stream():
        with contextlib.suppress(MalformedInputError):
            doc = _calendar(snapshot)
            if doc is not None:
                found.append(doc)
    return found


def _disconnected_at(body: Mapping[str, Any], state: str, now: datetime) -> datetime | None:
    """The ``disconnected_at`` of a calendar stored as ``body`` moving to ``state``."""
    if state != "disconnected":
        return None
    since = body.get("disconnected_at")
    if body.get("state") == "disconnected" and isinstance(since, datetime):
        return since
    return now


# --- conference records ----------------------------------------------------------------------


def _firestore_staged(staged: StagedSave | None) -> FirestoreStagedSave | None:
    if staged is None or isinstance(staged, FirestoreStagedSave):
        return staged
    raise TypeError(f"a Firestore commit cannot write a {type(staged).__name__}")


def pointer_key(calendar_key: str, event_id: str) -> str:
    """Document id of the pointer from (calendar, event id) to the record it is attached to."""
    digest = hashlib.sha256(f"{calendar_key}\x00{event_id}".encode()).hexdigest()
    return f"ev_{digest[:40]}"


_Write = tuple[str, firestore.DocumentReference, dict[str, Any] | None, str | None]
"""One write of a save: the record's key ("" for a pointer), its document (None: delete) and
the version it was read with."""


def _stages(batches: Sequence[Sequence[_Write]]) -> list[list[Sequence[_Write]]]:
    """The batches of a save (records first, then pointers) in the stages they are committed
    in, each stage's batches at once: the batches of records only, then the one that holds
    the last records and the first pointers, then the batches of pointers only. So a pointer
    is never stored before the record it names, as when they were committed one by one."""
    stages: tuple[list[Sequence[_Write]], ...] = ([], [], [])
    for batch in batches:
        records = sum(1 for key, *_ in batch if key)
        stages[0 if records == len(batch) else 2 if records == 0 else 1].append(batch)
    return [stage for stage in stages if stage]


_CONFLICTS = (
    fs_errors.FailedPreconditionError,
    fs_errors.AlreadyExistsError,
    fs_errors.AbortedError,
)
"""What Firestore answers to a write whose precondition no longer holds."""


def _in_context(
    pool: ThreadPoolExecutor, work: Callable[[T], R], items: Iterable[T]
) -> Iterator[R]:
    """``pool.map(work, items)``, each call in a copy of the caller's context, so the requests
    sent by the pool's threads count on the caller's round-trip tally
    (:mod:`confsync.round_trips`)."""
    futures = [pool.submit(contextvars.copy_context().run, work, item) for item in items]
    return (future.result() for future in futures)


def _add(batch: firestore.WriteBatch, chunk: Sequence[_Write]) -> None:
    """Add a save's writes to ``batch``: records conditional on their versions."""
    for key, ref, document, version in chunk:
        if document is None:
            batch.delete(ref)
        elif not key:  # a pointer: written whatever was there
            batch.add_write(whole_write(ref, document))
        else:  # a record: created, or replaced only if unchanged since it was read
            exists = False if version is None else None
            batch.add_write(whole_write(ref, document, exists=exists, update_time=version))


def _expected(chunk: Sequence[_Write]) -> dict[str, str | None]:
    """The version each record of ``chunk`` must still have (None: must not exist)."""
    return {key: version for key, _, document, version in chunk if key and document}


class FirestoreRecordStore:
    """Conference records (:mod:`confsync.records`) in ``collection``, one per conference, plus
    one small pointer document per (calendar, event) in ``pointers`` (``{calendar_key, event_id,
    conference_key}``): the calendar's attachment of that event.

    A deletion tombstone carries only the event's id; its record is found through the event's
    pointer, read by id in a batch get (one read per document, fast however many records there
    are). Pointers are written only when an event attaches to or detaches from a record.

    Saves are conditional: a record read from the store is written back with an ``update`` whose
    precondition is the ``update_time`` it was read with (its ``version``), a new one that it
    does not exist yet (both encoded by :mod:`confsync.adapters.firestore_writes`); a refused
    batch is :class:`~confsync.errors.RecordConflictError`. A save of more than one batch (500
    writes) commits the batches of records first, several at once, then those of pointers: what
    a batch wrote stays, consistent on its own, and the caller's re-read sees it. Batch gets of
    many documents are sent several at once too.

    The collection also holds the records of schema 1 an older deployment left (keyed ``cf_``
    and with a ``calendar_key`` field that records of schema 2 do not have), until migrated
    (:mod:`confsync.record_migration`); pointers that still name one (``record_key``) count as
    no attachment, and go when the calendar is forgotten. A refused save names the records whose
    stored version changed (read again after the refusal).
    """

    def __init__(
        self,
        client: firestore.Client,
        collection: str = "conferences",
        pointers: str = "conference_events",
    ) -> None:
        self._client = count_round_trips(client)
        self._collection = client.collection(collection)
        self._pointers = client.collection(pointers)

    def _get_all(self, refs: Sequence[firestore.DocumentReference]) -> list[_Snapshot]:
        """The snapshots of ``refs``, :data:`_GET_ALL_CHUNK` per request, up to
        :data:`_PARALLEL_REQUESTS` requests at once (a page of thousands of changed events
        would otherwise wait for each request in turn)."""
        parts = [list(chunk) for chunk in chunks(refs, _GET_ALL_CHUNK)]
        if len(parts) <= 1:
            return [snapshot for part in parts for snapshot in self._client.get_all(part)]
        with ThreadPoolExecutor(min(_PARALLEL_REQUESTS, len(parts)), "firestore-get") as pool:
            found = _in_context(pool, lambda part: list(self._client.get_all(part)), parts)
            return [snapshot for snapshots in found for snapshot in snapshots]

    def attachments(self, calendar_key: str, event_ids: Iterable[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        with translated("event pointers"):
            ids = sorted(set(event_ids))
            refs = [self._pointers.document(pointer_key(calendar_key, e)) for e in ids]
            for snapshot in self._get_all(refs):
                body = snapshot.to_dict() if snapshot.exists else None
                if body is not None and isinstance(body.get("conference_key"), str):
                    found[str(body["event_id"])] = body["conference_key"]
        return found

    def attached_to(self, calendar_key: str) -> dict[str, str]:
        found: dict[str, str] = {}
        with translated("pointers of a calendar"):
            for snapshot in _ATTACHED_TO.build(self._pointers, calendar_key).stream():
                body = snapshot.to_dict() or {}
                if isinstance(body.get("conference_key"), str):
                    found[str(body["event_id"])] = body["conference_key"]
        return found

    def by_keys(self, keys: Iterable[str]) -> list[ConferenceRecord]:
        wanted = list(keys)
        found: dict[str, ConferenceRecord] = {}
        with translated("records by keys"):
            refs = [self._collection.document(key) for key in dict.fromkeys(wanted)]
            for snapshot in self._get_all(refs):
                record = _record(snapshot)
                if record is not None:
                    found[record.key] = record
        return [found[key] for key in wanted if key in found]

    def _writes(
        self,
        records: Iterable[ConferenceRecord],
        calendar_key: str | None,
        attachments: Mapping[str, str | None] | None,
    ) -> list[_Write]:
        """A save's writes: the records first, then the attachments' pointers."""
        writes: list[_Write] = [
            (r.key, self._collection.document(r.key), to_document(r), r.version) for r in records
        ]
        for event_id, key in sorted((attachments or {}).items()):
            assert calendar_key is not None, "attachments need their calendar"
            ref = self._pointers.document(pointer_key(calendar_key, event_id))
            body = None
            if key is not None:
                body = {"calendar_key": calendar_key, "event_id": event_id, "conference_key": key}
            writes.append(("", ref, body, None))
        return writes

    def stage(
        self,
        records: Iterable[ConferenceRecord],
        *,
        calendar_key: str,
        attachments: Mapping[str, str | None],
    ) -> FirestoreStagedSave | None:
        writes = self._writes(records, calendar_key, attachments)
        if len(writes) >= BATCH_MAX:  # the calendar's own write goes in the same batch
            return None
        return FirestoreStagedSave(self, writes)

    def save(
        self,
        records: Iterable[ConferenceRecord],
        *,
        calendar_key: str | None = None,
        attachments: Mapping[str, str | None] | None = None,
    ) -> dict[str, str]:
        writes = self._writes(records, calendar_key, attachments)
        versions: dict[str, str] = {}
        with translated("records save"):
            for stage in _stages(list(chunks(writes, BATCH_MAX))):
                if len(stage) == 1:
                    versions.update(self._commit(stage[0]))
                    continue
                workers = min(_PARALLEL_REQUESTS, len(stage))
                with ThreadPoolExecutor(workers, "firestore-commit") as pool:
                    for written in _in_context(pool, self._commit, stage):
                        versions.update(written)
        return versions

    def _commit(self, chunk: Sequence[_Write]) -> dict[str, str]:
        """Commit one batch; the new version of each record it wrote (not deleted), by key."""
        batch = self._client.batch()
        keys = [key for key, *_ in chunk if key]
        _add(batch, chunk)
        try:
            results = batch.commit()
        except (*_CONFLICTS, fs_errors.NotFoundError) as err:  # updating a record deleted meanwhile
            raise RecordConflictError(self._changed(_expected(chunk)) or keys) from err
        return {
            key: str(result.update_time.rfc3339())
            for (key, _, document, _), result in zip(chunk, results, strict=True)
            if key and document is not None and result.update_time is not None
        }

    def _changed(self, expected: Mapping[str, str | None]) -> list[str]:
        """The records whose stored version is no longer the one expected (a refused batch
        does not say which precondition failed)."""
        if not expected:
            return []
        refs = [self._collection.document(key) for key in expected]
        return sorted(
            snapshot.id
            for snapshot in self._client.get_all(refs)
            if _version(snapshot) != expected[snapshot.id]
        )

    def pending(self, calendar_key: str, due: datetime, limit: int) -> list[ConferenceRecord]:
        if limit <= 0:
            return []
        with translated("pending records query"):
            query = _RECORDS_PENDING.build(self._collection, calendar_key, True, due)
            records = [_record(s) for s in query.limit(limit).stream()]
        return [r for r in records if r is not None]

    def of_calendar(self, calendar_key: str) -> Iterator[ConferenceRecord]:
        query = _RECORDS_OF_CALENDAR.build(self._collection, calendar_key)
        with translated("records of a calendar query"):
            for snapshot in query.stream():
                record = _record(snapshot)
                if record is not None:
                    yield record

    def held(self, calendar_key: str) -> list[ConferenceRecord]:
        with translated("held records query"):
            query = _RECORDS_HELD.build(self._collection, calendar_key, "held")
            records = [_record(s) for s in query.stream()]
        return [r for r in records if r is not None]

    # --- schema-1 records (the LegacyRecords port) ---

    def legacy_of_calendar(self, calendar_key: str) -> list[LegacyRecord]:
        with translated("schema-1 records query"):
            query = _LEGACY_OF_CALENDAR.build(self._collection, calendar_key)
            return [
                legacy_from_document(s.id, s.to_dict() or {})
                for s in query.stream()
                if (s.to_dict() or {}).get("schema_version") == LEGACY_SCHEMA_VERSION
            ]

    def drop_legacy(self, keys: Iterable[str]) -> None:
        refs = [self._collection.document(key) for key in keys]
        with translated("schema-1 records deletion"):
            for chunk in chunks(refs, BATCH_MAX):
                batch = self._client.batch()
                for ref in chunk:
                    batch.delete(ref)
                batch.commit()

    def forget_calendar(self, calendar_key: str) -> int:
        """Forget the calendar in every record (the RecordForgetter port), its schema-1 records
        included; how many records changed or were deleted."""
        changed = forget_calendar(self, calendar_key)
        legacy = [r.key for r in self.legacy_of_calendar(calendar_key)]
        self.drop_legacy(legacy)
        self._drop_legacy_pointers(calendar_key)
        return changed + len(legacy)

    def _drop_legacy_pointers(self, calendar_key: str) -> None:
        """Delete the calendar's pointers that still name a schema-1 record (``record_key``):
        :meth:`attached_to` leaves them out, so forgetting the attachments does not reach them."""
        with translated("schema-1 pointers deletion"):
            refs = [
                s.reference
                for s in _ATTACHED_TO.build(self._pointers, calendar_key).stream()
                if not isinstance((s.to_dict() or {}).get("conference_key"), str)
            ]
            for chunk in chunks(refs, BATCH_MAX):
                batch = self._client.batch()
                for ref in chunk:
                    batch.delete(ref)
                batch.commit()


class FirestoreStagedSave:
    """A save of :class:`FirestoreRecordStore` not sent yet: written with a calendar's commit
    (:meth:`commit_with`, one batch commit) or on its own (:meth:`save`)."""

    def __init__(self, store: FirestoreRecordStore, writes: Sequence[_Write]) -> None:
        self._store = store
        self._writes = tuple(writes)

    def save(self) -> None:
        with translated("records save"):
            self._store._commit(self._writes)

    def commit_with(
        self,
        client: firestore.Client,
        ref: firestore.DocumentReference,
        version: str,
        fields: dict[str, Any],
    ) -> str | None:
        """Update ``ref`` with ``fields`` if it is still at ``version``, and write this save, in
        one batch commit (one round trip); the document's new version, or None when it changed
        (nothing written). RecordConflictError when a record changed instead (read after the
        refusal, which does not say which precondition failed)."""
        batch = client.batch()
        batch.update(ref, fields, option=client.write_option(last_update_time=version))
        _add(batch, self._writes)
        try:
            results = batch.commit()
        except (*_CONFLICTS, fs_errors.NotFoundError) as err:
            if changed := self._store._changed(_expected(self._writes)):
                raise RecordConflictError(changed) from err
            return None
        written = results[0].update_time
        return None if written is None else str(written.rfc3339())
