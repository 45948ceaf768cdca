"""The planner: conference records -> the operations that bring each conference where it should be.

Pure functions over plain data; no I/O. The sync runner folds each page of an ``events.list``
answer into the records (:mod:`confsync.folding`, re-exported here) and plans every record the
page changed.

The planner does not map each kind of event change to an action. A record keeps, per calendar
of the conference's owner, the live events that reference it; the planner derives from them the
conference's **desired state** and compares it with the state last accepted by the conferencing
system:

* desired state differs in a relevant field -> ``UpdateConference`` (the first time: adopt);
* no live event of the owner references the conference any more -> ``DeleteConference``;
* otherwise nothing, and the record is not rewritten unless a snapshot changed.

That one rule covers the cases of the architecture's table: an irrelevant edit or the echo of our
own write-back leaves the desired state unchanged; a conference replaced on an event detaches the
event from the old record (deleted when orphaned) and attaches it to the new one; several events
sharing a conference, on one calendar or on several of the owner's, delete it only when the last
goes; a cancelled or moved instance of a series changes the series' occurrences, never deletes
its conference.

**Which references decide.** When the owner's events on several calendars carry the conference
(a duplicate on a secondary calendar, a delegate's copy enrolled under the owner, an event that
is moving), the calendar whose references were updated last decides (:func:`deciding`); within
one calendar, the event that starts first. So two calendars never send conflicting states, and
the owner's latest edit wins wherever she made it.

Revisions: every operation carries a revision that is strictly greater than the last one sent for
the conference: the latest ``updated`` (ms) of the event content behind it, or the last revision
plus one when the change has no timestamp (a tombstone). The same stored record and the same
Calendar data always give the same revision, so a redelivered sync repeats an operation the
conferencing system recognises as already applied.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from confsync.conference import ALWAYS_RELEVANT, ConferenceState
from confsync.folding import (
    ConferenceMatcher,
    Folded,
    Lookup,
    Orphans,
    PlanContext,
    SeriesAttachment,
    acting,
    fold_events,
    lookup_for,
    settled,
)
from confsync.records import CalendarRefs, ConferenceRecord, PendingOperation, SentState

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
    "acting",
    "after_applied",
    "after_failure",
    "after_gone",
    "deciding",
    "desired_state",
    "fold_events",
    "lookup_for",
    "plan_operation",
    "plan_page",
    "settled",
]


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
    """Delete a conference that no live event of its owner references any more."""

    record_key: str
    conference_id: str
    revision: int


Operation = UpdateConference | DeleteConference


@dataclass(frozen=True, slots=True)
class PagePlan:
    """The outcome of planning one page: the folded page (records to persist, attachment
    changes, what the run carries to its next page) and the operations to send."""

    folded: Folded
    operations: tuple[Operation, ...] = ()

    @property
    def changed(self) -> dict[str, ConferenceRecord]:
        """The records the page changed, by key."""
        return dict(self.folded.changed)


def deciding(record: ConferenceRecord) -> CalendarRefs | None:
    """The references that decide the conference's state: of the calendars with live events,
    the one updated last (ties: the greatest key); None when no live event references it."""
    key = record.deciding_key
    return None if key is None else record.calendars[key]


def desired_state(record: ConferenceRecord) -> ConferenceState | None:
    """The state the conference should have, or None when no live event references it."""
    refs = deciding(record)
    if refs is None:
        return None
    primary_id = refs.primary_event_id
    if primary_id is None or primary_id not in refs.events:
        primary_id = min(refs.events.values(), key=lambda s: (s.start, s.event_id)).event_id
    primary = refs.events[primary_id]
    occurrences = [o for o in refs.occurrences.values() if o.series_id == primary.event_id]
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
        calendar_id=refs.calendar_id,
        event_id=primary.event_id,
    )


def _next_revision(record: ConferenceRecord) -> int:
    floor = record.sent.revision + 1 if record.sent is not None else 1
    return max(floor, record.max_updated_ms, record.detached_ms)


def plan_operation(record: ConferenceRecord, ctx: PlanContext) -> Operation | None:
    """The operation that brings the conference to its desired state, if one is needed.

    Nothing for a record nobody acts for (its owner unknown yet, or no owner and no claimant),
    a deleted one (terminal: the conferencing system refuses to bring it back) or a transferred
    one (kept for its new organizer). A delete only where the owner's events carried it once:
    a record that never held any (only counted references) deletes nothing."""
    if not acting(record, ctx.ownerless_policy) or record.status in ("deleted", "transferred"):
        return None
    desired = desired_state(record)
    if desired is None:
        if not record.calendars or (record.sent is not None and record.sent.state is None):
            return None  # never the owner's, or the delete was applied already
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
    folded: Folded, ctx: PlanContext, also: Mapping[str, ConferenceRecord] | None = None
) -> PagePlan:
    """The operations for the records a folded page changed on the owner's side
    (``folded.acted``), and for ``also`` (records whose owner was just learned: as they will be
    saved, the fold's version of them preferred)."""
    records = {**(also or {}), **folded.changed}
    keys = folded.acted | (also or {}).keys()
    operations = tuple(
        op
        for key in sorted(keys)
        if key in records and (op := plan_operation(records[key], ctx)) is not None
    )
    return PagePlan(folded=folded, operations=operations)


def _without_empty_refs(record: ConferenceRecord) -> dict[str, Any]:
    """The references left once a delete is settled: calendars with live events only."""
    return {"calendars": {k: v for k, v in record.calendars.items() if v.events}}


def after_applied(
    record: ConferenceRecord, op: Operation, join_url: str | None = None
) -> ConferenceRecord:
    """The record once the conferencing system accepted ``op`` (or already held it).

    ``join_url``: the join URL it answered to an update. Without one (no answer, as when a newer
    revision superseded ``op``) the last known URL is kept; a deleted conference has none, and
    keeps no calendar's departed events.
    """
    if isinstance(op, UpdateConference):
        return replace(
            record,
            sent=SentState(
                revision=op.revision,
                state=op.state,
                join_url=join_url or (record.sent.join_url if record.sent is not None else None),
            ),
            pending=None,
            status="active",
            hold=None,
        )
    return replace(
        record,
        sent=SentState(revision=op.revision, state=None),
        pending=None,
        status="deleted",
        hold=None,
        **_without_empty_refs(record),
    )


def after_gone(record: ConferenceRecord, op: Operation) -> ConferenceRecord:
    """The record once the conferencing system said the conference no longer exists."""
    return replace(
        record,
        sent=SentState(revision=op.revision, state=None),
        pending=None,
        status="deleted",
        hold=None,
        **_without_empty_refs(record),
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
