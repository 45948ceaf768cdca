"""Folding a page of one calendar's changed events into the conference records, pure.

A record holds one conference's references on every calendar (:mod:`confsync.records`). A page
comes from one calendar, so folding it touches only that calendar's part of each record:

* an event that carries one of our conferences (not cancelled, organised by the calendar's own
  user unless ``owned_only`` is off) **attaches** to the conference's record: to the calendar's
  :class:`~confsync.records.CalendarRefs` when the calendar acts for the conference (the
  conference's actor, its owner, is the calendar's subject or the event's organizer:
  :mod:`confsync.ownership`), else it is only **counted** as a reference (and named in the
  record's ``elsewhere`` while its own calendar organises it: a copy, or an event of the owner's
  moved there, which the delete grace must be able to find);
* an event that no longer carries it (deleted, moved away, its conference removed or replaced)
  **detaches**: from the calendar's references, remembered in ``departed`` when it is gone (a
  tombstone), or from the count;
* an exception of a series (an instance moved, renamed or cancelled) joins the occurrences of
  the calendar's references holding its series.

Which event was attached to which record on this calendar is the store's business (its event
pointers, ``attachments``); the fold reports the changes to them (:attr:`Folded.attachments`).
A record whose owner is not known yet (the lookup failed for now) keeps every event on its
calendar's references, undecided: nothing is sent for it until the owner is known, and then
:func:`settled` counts the events of calendars that turn out not to act.

An ownerless conference under the ``first-claimant`` policy is claimed by the first subject
whose event carries it while nobody else does (its ``claimant``); everybody else's events are
counted. Under ``hands-off`` nobody acts.

Series exceptions outlive the record they arrived on. An exception whose series is attached to
no record yet is kept as an **orphan** for the rest of the run, and so are the exceptions of a
series that leaves its record. When the series' master attaches later in the run, its orphans
are folded in. Google lists every exception again only in a full sync, so this is the only chance
to keep them. A series that newly attaches is reported (:class:`SeriesAttachment`) so that an
incremental sync can fetch exceptions it never saw, with one lookup of the series.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from confsync.events import CalendarEvent, ConferenceRef
from confsync.ownership import OwnerlessPolicy, role_for, role_of_any, same_address
from confsync.records import (
    DEPARTED_MAX,
    CalendarRefs,
    ConferenceRecord,
    EventSnapshot,
    OccurrenceSnapshot,
    conference_key,
)

__all__ = [
    "ConferenceMatcher",
    "Folded",
    "Lookup",
    "Orphans",
    "PlanContext",
    "SeriesAttachment",
    "acting",
    "fold_events",
    "lookup_for",
    "settled",
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
    """What the planner needs to know about the calendar being synced (and enrolled under
    ``subject``)."""

    calendar_key: str
    calendar_id: str
    matcher: ConferenceMatcher
    relevant_fields: frozenset[str]
    owned_only: bool = True
    subject: str = ""
    ownerless_policy: OwnerlessPolicy = "first-claimant"


@dataclass(frozen=True, slots=True)
class Lookup:
    """What a page needs from the store: the records of the conferences its events carry (by
    key), and the calendar's attachments of its event ids (a tombstone carries nothing else)."""

    event_ids: frozenset[str]
    record_keys: frozenset[str]


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
    """A page folded into the records: the records that changed, the changes to the calendar's
    event attachments (event id -> record key, None: detached), the exceptions still waiting for
    their series, the series that newly attached to a record, the events newly counted as
    references (record key, event id), and which changed records to plan."""

    changed: Mapping[str, ConferenceRecord]
    attachments: Mapping[str, str | None] = field(default_factory=dict)
    orphans: Orphans = field(default_factory=dict)
    attached: tuple[SeriesAttachment, ...] = ()
    counted: tuple[tuple[str, str], ...] = ()
    acted: frozenset[str] = frozenset()
    """The changed records whose owner's references this page changed (or that it claimed):
    the only ones to plan. A record whose count alone changed owes nothing new, and planning
    it would send an operation still in its backoff, or postpone a queued delete's grace."""


def acting(record: ConferenceRecord, policy: OwnerlessPolicy) -> bool:
    """Whether anyone's events act for the record's conference: its owner is known, or it has
    none and was claimed under the ``first-claimant`` policy."""
    if not record.owner_known:
        return False
    if record.owner is not None:
        return True
    return policy == "first-claimant" and record.claimant is not None


def _owned(event: CalendarEvent, ctx: PlanContext) -> bool:
    if not ctx.owned_only:
        return True
    return event.organizer_self or event.organizer_email == ctx.calendar_id.lower()


def _our_conference(event: CalendarEvent, ctx: PlanContext) -> str | None:
    if event.cancelled or event.is_instance or not _owned(event, ctx):
        return None
    return ctx.matcher.conference_id(event.conference)


def lookup_for(events: Iterable[CalendarEvent], ctx: PlanContext) -> Lookup:
    """Which records and attachments a page of events may touch: every event id (and the series
    id of every exception) and the key of every conference of ours seen on the page."""
    event_ids: set[str] = set()
    keys: set[str] = set()
    for event in events:
        event_ids.add(event.recurring_event_id or event.id)
        conference_id = _our_conference(event, ctx)
        if conference_id is not None:
            keys.add(conference_key(conference_id))
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


def settled(record: ConferenceRecord, policy: OwnerlessPolicy) -> ConferenceRecord:
    """``record`` once its owner is known: the references of calendars that do not act for the
    conference are counted instead of kept (under ``first-claimant``, an ownerless conference
    kept by one subject only is claimed by it); a home whose references were counted moves to
    the deciding calendar (or, with none live, to a calendar still holding references)."""
    if not record.owner_known:
        return record
    actor = record.actor
    if actor is None and policy == "first-claimant" and record.references == 0:
        subjects = {refs.subject.casefold() for refs in record.calendars.values()}
        if len(subjects) == 1:
            actor = next(iter(record.calendars.values())).subject
            record = replace(record, claimant=actor)
    if actor is not None and record.owner is None and policy != "first-claimant":
        actor = None
    kept = {
        key: refs
        for key, refs in record.calendars.items()
        if actor is not None
        and role_of_any(actor, refs.subject, [s.organizer for s in refs.events.values()])
        == "acting"
    }
    if len(kept) == len(record.calendars):
        return record
    counted = {key: refs for key, refs in record.calendars.items() if key not in kept}
    own = {
        event_id: key
        for key, refs in counted.items()
        for event_id, snapshot in refs.events.items()
        if same_address(snapshot.organizer, refs.calendar_id)
    }
    total = sum(len(refs.events) for refs in counted.values())
    record = replace(record, calendars=kept, references=record.references + total)
    record = _named_elsewhere(record, own) if own else record
    if record.home_key in kept or not kept:
        return record
    # The home's references were counted: the home moves to a calendar that acts.
    return replace(record, home_key=record.deciding_key or max(kept))


class _Fold:
    """One page's fold (see the module docstring); ``take`` each event, then ``result``."""

    def __init__(
        self,
        records: Mapping[str, ConferenceRecord],
        attachments: Mapping[str, str],
        ctx: PlanContext,
        orphans: Orphans | None,
        moved: Mapping[str, str],
    ) -> None:
        self.ctx = ctx
        self.moved = moved
        self.records = records
        self.working = dict(records)
        self.pointers = dict(attachments)
        self.changes: dict[str, str | None] = {}
        self.waiting = {series: dict(found) for series, found in (orphans or {}).items()}
        self.touched: set[str] = set()
        self.acted: set[str] = set()
        self.attached: dict[str, SeriesAttachment] = {}
        self.counted: list[tuple[str, str]] = []

    def refs(self, key: str) -> CalendarRefs | None:
        return self.working[key].refs_of(self.ctx.calendar_key)

    def put(self, key: str, refs: CalendarRefs | None, **changes: object) -> None:
        """Replace this calendar's references in record ``key`` (and other fields)."""
        self.acted.add(key)
        record = self.working[key].with_refs(self.ctx.calendar_key, refs)
        self.working[key] = replace(record, **changes) if changes else record  # type: ignore[arg-type]
        self.touched.add(key)

    def take(self, event: CalendarEvent) -> None:
        if event.is_instance:
            self.take_exception(event)
            return
        old_key = self.pointers.get(event.id)
        if old_key is not None and old_key not in self.working:
            old_key = None  # a pointer to a record that is gone: nothing to detach from
        conference_id = _our_conference(event, self.ctx)
        new_key = None if conference_id is None else conference_key(conference_id)
        if old_key is not None and old_key != new_key:
            self.detach(old_key, event, gone=event.cancelled)
        if new_key is not None and conference_id is not None:
            self.attach(new_key, conference_id, event)
        elif old_key is None and event.cancelled:
            self.finish_move(event)
        if old_key != new_key:
            self.changes[event.id] = new_key
            if new_key is None:
                self.pointers.pop(event.id, None)
            else:
                self.pointers[event.id] = new_key

    def finish_move(self, event: CalendarEvent) -> None:
        """A tombstone this calendar never saw live may be the owner's event that moved here
        and was deleted before this calendar synced: its record, ``transferred`` by the move's
        grace check, owes a delete again, from this calendar (its grace asks this calendar)."""
        key = self.moved.get(event.id)
        record = self.working.get(key) if key is not None else None
        if key is None or record is None or record.status != "transferred":
            return
        if record.actor is None or role_for(record.actor, self.ctx.subject, None) != "acting":
            return  # only a calendar of the owner (the scope is the subject's; checked again)
        if event.organizer_email is not None and not event.organised_by(self.ctx.calendar_id):
            return  # a copy organised by someone else: an invitation removed, not a move here
        refs = record.refs_of(self.ctx.calendar_key) or CalendarRefs(
            subject=self.ctx.subject, calendar_id=self.ctx.calendar_id
        )
        departed = {**refs.departed, event.id: event.ical_uid}
        self.put(
            key,
            replace(refs, departed=dict(list(departed.items())[-DEPARTED_MAX:])),
            status="active",
            pending=None,
            hold=None,
            detached_ms=max(record.detached_ms, event.updated_ms),
        )

    def take_exception(self, event: CalendarEvent) -> None:
        assert event.recurring_event_id is not None
        occurrence = _occurrence(event)
        key = self.pointers.get(event.recurring_event_id)
        refs = self.refs(key) if key is not None and key in self.working else None
        if key is None or refs is None or event.recurring_event_id not in refs.events:
            # Its series carries none of our conferences here (yet), or only as a reference.
            self.waiting.setdefault(event.recurring_event_id, {})[event.id] = occurrence
            return
        self.merge_occurrences(key, refs, [occurrence])

    def merge_occurrences(
        self, key: str, refs: CalendarRefs, occurrences: Iterable[OccurrenceSnapshot]
    ) -> None:
        merged = {**refs.occurrences, **{o.instance_id: o for o in occurrences}}
        if merged != refs.occurrences:
            self.put(key, replace(refs, occurrences=merged))

    def detach(self, key: str, event: CalendarEvent, *, gone: bool) -> None:
        """The event leaves record ``key`` on this calendar: from its references (and its
        series' exceptions wait for it elsewhere), or from the count.

        Only an event that is ``gone`` (a tombstone: deleted, or moved away) is remembered in
        ``departed``: one that lives on with another conference, or none, did not take this one
        along. Its ``updated`` becomes a floor of the record's revisions: an update of ours may
        have been applied with the event's earlier time without us learning it; what follows
        must outrank it, or the system would refuse it as stale."""
        record = self.working[key]
        refs = self.refs(key)
        if refs is None or event.id not in refs.events:
            record = replace(record, references=max(0, record.references - 1))
            self.working[key] = _uncounted(record, event.id, self.ctx.calendar_key)
            self.touched.add(key)
            return
        events = {k: v for k, v in refs.events.items() if k != event.id}
        carried = {k: v for k, v in refs.occurrences.items() if v.series_id == event.id}
        departed = dict(refs.departed)
        if gone:  # so the delete's grace can ask about it
            departed.pop(event.id, None)
            departed[event.id] = refs.events[event.id].ical_uid
        detached = replace(
            refs,
            events=events,
            occurrences={k: v for k, v in refs.occurrences.items() if v.series_id != event.id},
            primary_event_id=_primary(events, refs.primary_event_id),
            departed=dict(list(departed.items())[-DEPARTED_MAX:]),
        )
        # A tombstone carries only its id (no ``updated``): the state held here is the latest
        # an update of ours may have carried, at a revision of its ``updated``; outrank it.
        floor = max(record.detached_ms, event.updated_ms, refs.events[event.id].updated_ms + 1)
        self.put(key, detached, detached_ms=floor)
        # What this run saw last wins over what the old record held.
        self.waiting[event.id] = {**carried, **self.waiting.get(event.id, {})}

    def attach(self, key: str, conference_id: str, event: CalendarEvent) -> None:
        """The event carries record ``key``'s conference: kept in this calendar's references
        when the calendar acts for it (or while its owner is unknown), else counted."""
        ctx = self.ctx
        record = self.working.get(key) or ConferenceRecord(
            key=key, conference_id=conference_id, home_key=ctx.calendar_key
        )
        self.working[key] = record = self.claimed(record)
        refs = record.refs_of(ctx.calendar_key)
        held = refs is not None and event.id in refs.events
        if not self.acts(record, event):
            if held:  # kept before, now someone else's: counted from now on
                self.detach(key, event, gone=False)
            record = self.working[key]
            newly = held or self.pointers.get(event.id) != key
            if newly:
                record = replace(record, references=record.references + 1)
                self.counted.append((key, event.id))
            record = _counted(record, event, ctx, newly=newly)
            if record != self.working[key]:
                self.working[key] = record
                self.touched.add(key)
            return
        if self.pointers.get(event.id) == key and not held:  # counted before, acts now
            record = replace(record, references=max(0, record.references - 1))
            self.working[key] = _uncounted(record, event.id, ctx.calendar_key)
            self.touched.add(key)
        snapshot = _snapshot(event)
        base = refs or CalendarRefs(subject=ctx.subject, calendar_id=ctx.calendar_id)
        if base.events.get(event.id) != snapshot or refs is None:
            self.put(key, _with_event(base, snapshot), **_revived(self.working[key]))
        refs = self.refs(key)
        assert refs is not None
        self.merge_occurrences(key, refs, self.waiting.pop(event.id, {}).values())
        before = self.records.get(key)
        before_refs = before.refs_of(ctx.calendar_key) if before is not None else None
        if event.recurrence and (before_refs is None or event.id not in before_refs.events):
            self.attached[event.id] = SeriesAttachment(event.id, event.ical_uid, key)

    def claimed(self, record: ConferenceRecord) -> ConferenceRecord:
        """An ownerless record nobody carries yet, claimed by this calendar's subject under
        ``first-claimant``."""
        if (
            self.ctx.ownerless_policy == "first-claimant"
            and record.owner_known
            and record.owner is None
            and record.claimant is None
            and record.references == 0
            and not any(refs.events for refs in record.calendars.values())
        ):
            self.touched.add(record.key)
            self.acted.add(record.key)
            return replace(record, claimant=self.ctx.subject)
        return record

    def acts(self, record: ConferenceRecord, event: CalendarEvent) -> bool:
        if not record.owner_known:
            return True  # undecided: kept until the owner is known (nothing is sent meanwhile)
        if not acting(record, self.ctx.ownerless_policy):
            return False
        actor = record.actor
        assert actor is not None
        return role_for(actor, self.ctx.subject, event.organizer_email) == "acting"

    def result(self) -> Folded:
        changed = {}
        for key in sorted(self.touched):
            record = _homed(self.working[key], self.ctx.calendar_key)
            if record != self.records.get(key) or key not in self.records:
                changed[key] = record
        attached = tuple(
            a for a in self.attached.values() if self.pointers.get(a.series_id) == a.record_key
        )
        return Folded(
            changed=changed,
            attachments=self.changes,
            orphans={series: found for series, found in self.waiting.items() if found},
            attached=attached,
            counted=tuple(self.counted),
            acted=frozenset(self.acted & changed.keys()),
        )


def _counted(
    record: ConferenceRecord, event: CalendarEvent, ctx: PlanContext, *, newly: bool
) -> ConferenceRecord:
    """``record`` once the counted ``event`` was seen: named in ``elsewhere`` while its own
    calendar organises it (what a move leaves there), else not. An event counted before is
    named only while there is room, so the latest :data:`~confsync.records.DEPARTED_MAX` are
    not pushed out by every edit of older ones."""
    if not event.organised_by(ctx.calendar_id):
        return _uncounted(record, event.id, ctx.calendar_key)
    if record.elsewhere.get(event.id) == ctx.calendar_key:
        return record
    if not newly and len(record.elsewhere) >= DEPARTED_MAX:
        return record
    return _named_elsewhere(record, {event.id: ctx.calendar_key})


def _named_elsewhere(record: ConferenceRecord, named: Mapping[str, str]) -> ConferenceRecord:
    """``record`` naming these counted events (event id -> calendar key) last in ``elsewhere``,
    which keeps the latest :data:`~confsync.records.DEPARTED_MAX`."""
    elsewhere = {k: v for k, v in record.elsewhere.items() if k not in named}
    elsewhere.update(named)
    return replace(record, elsewhere=dict(list(elsewhere.items())[-DEPARTED_MAX:]))


def _uncounted(record: ConferenceRecord, event_id: str, calendar_key: str) -> ConferenceRecord:
    """``record`` no longer naming the event of ``calendar_key`` in ``elsewhere``."""
    if record.elsewhere.get(event_id) != calendar_key:
        return record
    return replace(record, elsewhere={k: v for k, v in record.elsewhere.items() if k != event_id})


def _with_event(refs: CalendarRefs, snapshot: EventSnapshot) -> CalendarRefs:
    events = {**refs.events, snapshot.event_id: snapshot}
    return replace(
        refs,
        events=events,
        primary_event_id=_primary(events, refs.primary_event_id or snapshot.event_id),
    )


def _revived(record: ConferenceRecord) -> dict[str, object]:
    """What an event attaching changes on the record: new content earns a new retry budget, a
    transferred record acts again, and a held or released delete is re-planned like any pending
    one (the retry cancels it, or sends the update it became), never sent as a delete."""
    if record.status in ("failed", "transferred"):
        return {"status": "active", "pending": None, "hold": None}
    return {"hold": None} if record.hold is not None else {}


def _homed(record: ConferenceRecord, calendar_key: str) -> ConferenceRecord:
    """``record`` with its home calendar: the calendar whose references decide its state, or,
    with none live, ``calendar_key`` (whose events left last) when it holds references, else the
    home it had."""
    home = record.deciding_key
    if home is None:
        home = calendar_key if calendar_key in record.calendars else record.home_key
    return record if home == record.home_key else replace(record, home_key=home)


def fold_events(
    events: Iterable[CalendarEvent],
    records: Mapping[str, ConferenceRecord],
    attachments: Mapping[str, str],
    ctx: PlanContext,
    orphans: Orphans | None = None,
    *,
    moved: Mapping[str, str] | None = None,
) -> Folded:
    """Fold a page of the calendar's changed events into the records (see the module docstring).

    ``records`` must hold every record :func:`lookup_for` asked for that exists, with its owner
    looked up where possible, and every record ``attachments`` (the calendar's event pointers:
    event id -> record key) names; ``orphans`` are the exceptions earlier pages of the run left
    waiting (the result's ``orphans`` replace them); ``moved``: the moved-away attachments
    of the page's tombstones that have none on the calendar (:func:`~confsync.records.
    moved_scope`), with their records in ``records``. A later event of the page wins over an
    earlier one with the same id.
    """
    fold = _Fold(records, attachments, ctx, orphans, moved or {})
    for event in events:
        fold.take(event)
    return fold.result()
