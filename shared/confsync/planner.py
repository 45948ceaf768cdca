"""The planner: changed Calendar events + stored records -> new records + conference operations.

Pure functions over plain data; no I/O. The sync runner calls them once per page of an
``events.list`` answer.

The planner does not map each kind of event change to an action. It keeps, per conference, the set
of live events that reference it, derives from that set the conference's **desired state**, and
compares it with the state last accepted by the conferencing system:

* desired state differs in a relevant field -> ``UpdateConference`` (the first time: adopt);
* no live event references the conference any more -> ``DeleteConference``;
* otherwise nothing, and the record is not rewritten unless a snapshot changed.

That one rule covers the cases of the architecture's table: an irrelevant edit or the echo of our
own write-back leaves the desired state unchanged; a conference replaced on an event detaches the
event from the old record (deleted when orphaned) and attaches it to the new one; several events
sharing a conference delete it only when the last goes; a cancelled or moved instance of a series
changes the series' occurrences, never deletes its conference.

Revisions: every operation carries a revision that is strictly greater than the last one sent for
the conference: the latest ``updated`` (ms) of the event content behind it, or the last revision
plus one when the change has no timestamp (a tombstone). The same stored record and the same
Calendar data always give the same revision, so a redelivered sync repeats an operation the
conferencing system recognises as already applied.

Ownership: by default only events organised by the calendar's own user count (``owned_only``). An
attendee's copy of a meeting carries the same conference; an attendee removing it from their
calendar must not delete the meeting's conference. Whether the calendar may act for the
conference at all (its owner, kept by the conferencing system) is decided after planning, by
:mod:`confsync.sync.owners`: the planner plans every record, the sync sends only for acting ones.

Series exceptions outlive the record they arrived on. An exception (moved, renamed or cancelled
instance) whose series is attached to no record yet is kept as an **orphan** for the rest of the
run, and so are the exceptions of a series that leaves its record (its conference was removed or
replaced). When the series' master attaches to a record later in the run (the master on a later
page of a full sync, the conference replaced by another), its orphans are folded in. Google lists
every exception again only in a full sync, never in later incremental ones, so this is the only
chance to keep them. A series that newly attaches to a record is also reported
(:class:`SeriesAttachment`), so that an incremental sync can fetch exceptions it never saw (the
series got our conference after an occurrence was changed) with one lookup of the series.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from confsync.conference import ALWAYS_RELEVANT, ConferenceState
from confsync.events import CalendarEvent, ConferenceRef
from confsync.records import (
    DEPARTED_MAX,
    ConferenceRecord,
    EventSnapshot,
    OccurrenceSnapshot,
    PendingOperation,
    SentState,
    record_key,
)

__all__ = [
    "ConferenceMatcher",
    "DeleteConference",
    "Folded",
    "Lookup",
    "Operation",
    "Orphans",
    "PagePlan",
    "PlanContext",
    "SeriesAttachment",
    "UpdateConference",
    "after_applied",
    "after_failure",
    "after_gone",
    "apply_events",
    "desired_state",
    "fold_events",
    "lookup_for",
    "plan_operation",
    "plan_page",
]


@dataclass(frozen=True, slots=True)
class ConferenceMatcher:
    """Decides whether an event's conference is one of ours.

    Ours: ``conferenceSolution.key.type`` equals ``key_type`` (``addOn`` for Workspace add-ons),
    the solution's name is one of ``solution_names`` (any name when empty), and the conference has
    an id.
    """

    solution_names: frozenset[str] = frozenset()
    key_type: str = "addOn"

    def conference_id(self, ref: ConferenceRef | None) -> str | None:
        """The conference id when ``ref`` is one of ours, else None."""
        if ref is None or ref.solution is None or not ref.conference_id:
            return None
        if ref.solution.key_type != self.key_type:
            return None
        if self.solution_names and ref.solution.name not in self.solution_names:
            return None
        return ref.conference_id


@dataclass(frozen=True, slots=True)
class PlanContext:
    """What the planner needs to know about the calendar being synced."""

    calendar_key: str
    calendar_id: str
    matcher: ConferenceMatcher
    relevant_fields: frozenset[str]
    owned_only: bool = True


@dataclass(frozen=True, slots=True)
class Lookup:
    """The stored records a page needs: by referencing event id, and by record key."""

    event_ids: frozenset[str]
    record_keys: frozenset[str]


@dataclass(frozen=True, slots=True)
class UpdateConference:
    """Send the desired state of a conference (adopting it the first time)."""

    record_key: str
    conference_id: str
    state: ConferenceState
    revision: int
    changed_fields: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DeleteConference:
    """Delete a conference that no live event references any more."""

    record_key: str
    conference_id: str
    revision: int


Operation = UpdateConference | DeleteConference

Orphans = Mapping[str, Mapping[str, OccurrenceSnapshot]]
"""Exceptions waiting for their series to attach to a record: series id -> instance id -> it."""


@dataclass(frozen=True, slots=True)
class SeriesAttachment:
    """A series master that joined a record it was not in before (``iCalUID`` to look it up)."""

    series_id: str
    ical_uid: str | None
    record_key: str


@dataclass(frozen=True, slots=True)
class Folded:
    """A page folded into the records: the records whose content changed, the exceptions still
    waiting for their series, and the series that newly attached to a record."""

    changed: Mapping[str, ConferenceRecord]
    orphans: Orphans
    attached: tuple[SeriesAttachment, ...]


@dataclass(frozen=True, slots=True)
class PagePlan:
    """The outcome of planning one page: records to persist and operations to send, plus what
    the run must carry to its next page (``orphans``) and the series it may look up
    (``attached``)."""

    changed: Mapping[str, ConferenceRecord]
    operations: tuple[Operation, ...]
    orphans: Orphans = field(default_factory=dict)
    attached: tuple[SeriesAttachment, ...] = ()


def _owned(event: CalendarEvent, ctx: PlanContext) -> bool:
    if not ctx.owned_only:
        return True
    return event.organizer_self or event.organizer_email == ctx.calendar_id.lower()


def _our_conference(event: CalendarEvent, ctx: PlanContext) -> str | None:
    if event.cancelled or event.is_instance or not _owned(event, ctx):
        return None
    return ctx.matcher.conference_id(event.conference)


def lookup_for(events: Iterable[CalendarEvent], ctx: PlanContext) -> Lookup:
    """Which records a page of events may touch.

    Every event id (a tombstone carries nothing else), the series id of every instance exception,
    and the deterministic key of every conference of ours seen on the page.
    """
    event_ids: set[str] = set()
    keys: set[str] = set()
    for event in events:
        event_ids.add(event.recurring_event_id or event.id)
        conference_id = _our_conference(event, ctx)
        if conference_id is not None:
            keys.add(record_key(ctx.calendar_key, conference_id))
    return Lookup(event_ids=frozenset(event_ids), record_keys=frozenset(keys))


def _snapshot(event: CalendarEvent) -> EventSnapshot:
    return EventSnapshot(
        event_id=event.id,
        title=event.summary,
        start=event.start.value if event.start else "",
        end=event.end.value if event.end else "",
        time_zone=event.start.time_zone if event.start else None,
        recurrence=event.recurrence,
        attendees=event.attendees,
        organizer=event.organizer_email,
        updated_ms=event.updated_ms,
        ical_uid=event.ical_uid,
    )


def _occurrence(event: CalendarEvent) -> OccurrenceSnapshot:
    assert event.recurring_event_id is not None
    original = event.original_start.value if event.original_start else event.id
    if event.cancelled:
        return OccurrenceSnapshot(
            instance_id=event.id,
            series_id=event.recurring_event_id,
            original_start=original,
            cancelled=True,
            updated_ms=event.updated_ms,
        )
    return OccurrenceSnapshot(
        instance_id=event.id,
        series_id=event.recurring_event_id,
        original_start=original,
        cancelled=False,
        start=event.start.value if event.start else None,
        end=event.end.value if event.end else None,
        title=event.summary,
        updated_ms=event.updated_ms,
    )


def _primary(events: Mapping[str, EventSnapshot], current: str | None) -> str | None:
    if current in events:
        return current
    if not events:
        return None
    return min(events.values(), key=lambda s: (s.start, s.event_id)).event_id


def _detach(
    record: ConferenceRecord, event_id: str, updated_ms: int, *, gone: bool
) -> tuple[ConferenceRecord, dict[str, OccurrenceSnapshot]]:
    """The record without the event, and the exceptions of the event's series it held.

    Only an event that is ``gone`` (a tombstone: deleted, or moved away) is remembered in
    ``departed``: one that lives on with another conference, or none, did not take this one along,
    so the delete grace must not look for it elsewhere.

    ``updated_ms`` (the change that detached it) becomes a floor of the record's revisions: an
    update of ours may have been applied with the event's earlier time without us learning it
    (an answer lost to a timeout or a crash); what follows must outrank it, or the system would
    refuse it as stale and keep the conference as it was."""
    events = {k: v for k, v in record.events.items() if k != event_id}
    occurrences = {k: v for k, v in record.occurrences.items() if v.series_id != event_id}
    carried = {k: v for k, v in record.occurrences.items() if v.series_id == event_id}
    departed = dict(record.departed)
    if gone and event_id in record.events:  # so the delete's grace can find it elsewhere
        departed.pop(event_id, None)
        departed[event_id] = record.events[event_id].ical_uid
    detached = replace(
        record,
        events=events,
        occurrences=occurrences,
        primary_event_id=_primary(events, record.primary_event_id),
        detached_ms=max(record.detached_ms, updated_ms),
        departed=dict(list(departed.items())[-DEPARTED_MAX:]),
    )
    return detached, carried


def _attach(record: ConferenceRecord, snapshot: EventSnapshot) -> ConferenceRecord:
    events = {**record.events, snapshot.event_id: snapshot}
    # New content earns a new retry budget; a transferred record acts again.
    revived = record.status in ("failed", "transferred")
    return replace(
        record,
        events=events,
        primary_event_id=_primary(events, record.primary_event_id or snapshot.event_id),
        status="active" if revived else record.status,
        pending=None if revived else record.pending,
        # An event is back: a held or released delete is re-planned like any pending one (the
        # retry cancels it, or sends the update it became), never sent as a delete.
        hold=None,
    )


def _with_occurrences(
    record: ConferenceRecord, occurrences: Iterable[OccurrenceSnapshot]
) -> ConferenceRecord:
    merged = {**record.occurrences, **{o.instance_id: o for o in occurrences}}
    return record if merged == record.occurrences else replace(record, occurrences=merged)


def fold_events(
    events: Iterable[CalendarEvent],
    records: Mapping[str, ConferenceRecord],
    ctx: PlanContext,
    orphans: Orphans | None = None,
) -> Folded:
    """Fold a page of changed events into the records (see the module docstring).

    ``records`` must hold every record :func:`lookup_for` asked for that exists; ``orphans`` are
    the exceptions earlier pages of the run left waiting (the result's ``orphans`` replace them).
    A later event of the page wins over an earlier one with the same id.
    """
    working = dict(records)
    by_event = {event_id: r.key for r in records.values() for event_id in r.events}
    waiting = {series: dict(found) for series, found in (orphans or {}).items()}
    touched: set[str] = set()
    attached: dict[str, SeriesAttachment] = {}
    for event in events:
        if event.is_instance:
            assert event.recurring_event_id is not None
            occurrence = _occurrence(event)
            series_key = by_event.get(event.recurring_event_id)
            if series_key is None:  # its series carries none of our conferences (yet)
                waiting.setdefault(event.recurring_event_id, {})[event.id] = occurrence
                continue
            record = working[series_key]
            working[series_key] = _with_occurrences(record, [occurrence])
            if working[series_key] is not record:
                touched.add(series_key)
            continue
        old_key = by_event.get(event.id)
        conference_id = _our_conference(event, ctx)
        new_key = None if conference_id is None else record_key(ctx.calendar_key, conference_id)
        if old_key is not None and old_key != new_key:
            working[old_key], carried = _detach(
                working[old_key], event.id, event.updated_ms, gone=event.cancelled
            )
            # What this run saw last wins over what the old record held.
            waiting[event.id] = {**carried, **waiting.get(event.id, {})}
            del by_event[event.id]
            touched.add(old_key)
        if new_key is not None and conference_id is not None:
            record = working.get(new_key) or ConferenceRecord(
                key=new_key, calendar_key=ctx.calendar_key, conference_id=conference_id
            )
            snapshot = _snapshot(event)
            if record.events.get(event.id) != snapshot or new_key not in working:
                record = _attach(record, snapshot)
            record = _with_occurrences(record, waiting.pop(event.id, {}).values())
            if record is not working.get(new_key):
                working[new_key] = record
                touched.add(new_key)
            by_event[event.id] = new_key
            before = records.get(new_key)
            if event.recurrence and (before is None or event.id not in before.events):
                attached[event.id] = SeriesAttachment(event.id, event.ical_uid, new_key)
    return Folded(
        changed={key: working[key] for key in touched if working[key] != records.get(key)},
        orphans={series: found for series, found in waiting.items() if found},
        attached=tuple(a for a in attached.values() if by_event.get(a.series_id) == a.record_key),
    )


def apply_events(
    events: Iterable[CalendarEvent],
    records: Mapping[str, ConferenceRecord],
    ctx: PlanContext,
) -> dict[str, ConferenceRecord]:
    """Fold a page into the records; return the records whose content changed.

    :func:`fold_events` without the run's orphans: for one page on its own.
    """
    return dict(fold_events(events, records, ctx).changed)


def desired_state(record: ConferenceRecord, calendar_id: str) -> ConferenceState | None:
    """The state the conference should have, or None when no live event references it."""
    if record.primary_event_id is None or record.primary_event_id not in record.events:
        return None
    primary = record.events[record.primary_event_id]
    occurrences = [o for o in record.occurrences.values() if o.series_id == primary.event_id]
    return ConferenceState(
        title=primary.title,
        start=primary.start,
        end=primary.end,
        time_zone=primary.time_zone,
        attendees=primary.attendees,
        recurrence=primary.recurrence,
        cancelled_occurrences=tuple(sorted(o.original_start for o in occurrences if o.cancelled)),
        modified_occurrences=tuple(
            sorted(o.as_occurrence() for o in occurrences if not o.cancelled)
        ),
        organizer=primary.organizer,
        calendar_id=calendar_id,
        event_id=primary.event_id,
    )


def _next_revision(record: ConferenceRecord) -> int:
    floor = record.sent.revision + 1 if record.sent is not None else 1
    return max(floor, record.max_updated_ms, record.detached_ms)


def plan_operation(record: ConferenceRecord, ctx: PlanContext) -> Operation | None:
    """The operation that brings the conference to its desired state, if one is needed."""
    if record.status == "deleted":
        return None  # terminal: the conferencing system refuses to bring it back
    if record.status == "transferred":
        return None  # kept for its new organizer; acts again only when an event comes back
    desired = desired_state(record, ctx.calendar_id)
    if desired is None:
        if record.sent is not None and record.sent.state is None:
            return None  # the delete was applied already
        return DeleteConference(
            record_key=record.key,
            conference_id=record.conference_id,
            revision=_next_revision(record),
        )
    before = record.sent.state if record.sent is not None else None
    changed = desired.changed_fields(before)
    if record.sent is not None and not any(
        name in ctx.relevant_fields or name in ALWAYS_RELEVANT for name in changed
    ):
        return None
    return UpdateConference(
        record_key=record.key,
        conference_id=record.conference_id,
        state=desired,
        revision=_next_revision(record),
        changed_fields=changed,
    )


def plan_page(
    events: Iterable[CalendarEvent],
    records: Mapping[str, ConferenceRecord],
    ctx: PlanContext,
    orphans: Orphans | None = None,
) -> PagePlan:
    """Fold a page into the records and plan the operations for every record it changed."""
    folded = fold_events(events, records, ctx, orphans)
    changed = folded.changed
    operations = tuple(
        op for key in sorted(changed) if (op := plan_operation(changed[key], ctx)) is not None
    )
    return PagePlan(
        changed=changed, operations=operations, orphans=folded.orphans, attached=folded.attached
    )


def after_applied(
    record: ConferenceRecord, op: Operation, join_url: str | None = None
) -> ConferenceRecord:
    """The record once the conferencing system accepted ``op`` (or already held it).

    ``join_url``: the join URL it answered to an update. Without one (no answer, as when a newer
    revision superseded ``op``) the last known URL is kept; a deleted conference has none.
    """
    if isinstance(op, UpdateConference):
        state: ConferenceState | None = op.state
        known = join_url or (record.sent.join_url if record.sent is not None else None)
    else:
        state, known = None, None
    return replace(
        record,
        sent=SentState(revision=op.revision, state=state, join_url=known),
        pending=None,
        status="active" if state is not None else "deleted",
        hold=None,
    )


def after_gone(record: ConferenceRecord, op: Operation) -> ConferenceRecord:
    """The record once the conferencing system said the conference no longer exists."""
    return replace(
        record,
        sent=SentState(revision=op.revision, state=None),
        pending=None,
        status="deleted",
        hold=None,
    )


def after_failure(
    record: ConferenceRecord,
    error: str,
    now: datetime,
    *,
    max_attempts: int,
    base_delay: timedelta,
    max_delay: timedelta,
) -> ConferenceRecord:
    """The record after an operation failed again: pending with backoff, failed past the budget.

    A failed record keeps its last error for inspection; it is retried again only when its
    events change.
    """
    attempts = (record.pending.attempts if record.pending else 0) + 1
    delay = min(base_delay * (2 ** (attempts - 1)), max_delay)
    pending = PendingOperation(attempts=attempts, next_attempt_at=now + delay, last_error=error)
    if attempts >= max_attempts:
        return replace(record, pending=pending, status="failed")
    return replace(record, pending=pending)
