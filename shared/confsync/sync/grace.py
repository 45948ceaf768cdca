"""The delete grace: a conference whose owner's last event left is deleted only after a grace
period, and only if the meeting did not go on.

A tombstone says only that an event left a calendar: deleted, moved (``events.move``, which keeps
the event's id and ``iCalUID`` on the destination) or given to another organizer. So the page
never sends a delete (:mod:`confsync.sync.apply` queues it, pending, due ``delete_grace`` later:
the brake counts it from then on). When it falls due, the pending retry re-plans the record as
stored then (:mod:`confsync.sync.pending`): if the event (or a duplicate) showed up meanwhile on
another enrolled calendar of the owner, the record holds it and no delete is planned at all. A
delete still planned is re-checked by :meth:`DeleteGrace.check` right before it would be sent,
by asking the Calendar (one ``events.get`` of each event that left the home calendar, the
latest :data:`~confsync.records.DEPARTED_MAX`; one in the common case):

- a cancelled event that no longer names the owner as organizer (a move leaves only ``id``;
  reference 1.5) was moved away, where confsync does not act for it or does not see it (yet, or
  at all): the conference is kept and the record marked ``transferred``. Unless it moved to
  another enrolled calendar of the same subject and was deleted there before that calendar's
  run saw it live: each of the subject's other calendars is asked for the event (one query of
  the calendars, one ``events.get`` each, only when a move is found), and a tombstone there
  organised by that calendar (what a move leaves) sends the delete, and so does the event live
  there without this conference (replaced before the move), the same iCalUID either way. A
  cancelled invitation's copy there, organised by the owner, is no such tombstone. If it is
  deleted there only later, that calendar's tombstone finds the record through the moved-away
  attachment (:mod:`confsync.folding`);
- a live event still carrying the conference came back (the planner re-attaches it at the next
  sync): the delete stays pending. A Calendar unavailable for now keeps it pending too;
- otherwise (a cancelled event the owner still organizes, a tombstone gone, a live event without
  the conference) the next question is an event of the owner's this calendar never saw live:
  created and moved to another user between two of its runs, it left here only a stub this
  calendar could not place, and the record knows it only as counted on the other user's
  calendar. So each counted event its own calendar organises (the record's ``elsewhere``: a
  copy, or such a moved event) is asked for here too, one ``events.get`` each: a move's stub
  (as above) keeps the conference and marks the record ``transferred``; a copy was never here
  (404) and keeps nothing;
- and last, the subject's other enrolled calendars (:meth:`DeleteGrace._waiting`): an event of
  the owner's moved or copied to one of them before either calendar saw it live left here only
  a stub, and only that calendar's pull attaches it. They are asked to pull (a SyncRequest with
  reason ``grace``) as soon as a run queues deletes (:meth:`DeleteGrace.ask_siblings`), so they
  normally have by the time the deletes fall due. While one of them has not pulled since the
  delete was queued, it is asked again and the delete waits, pending, for its next retry (the
  tick's sweep of pending work), at most :data:`SIBLING_WAIT_MAX` past its due time. Only then
  is the delete sent;
- and last of all, what the subject's calendars lost to a move lately
  (:class:`~confsync.sync.recent_moves.RecentMoves`): while one of them holds a stub the record
  does not know, younger than ``move_wait``, the delete waits (at most ``move_wait`` past its
  due time), so the calendar the event went to can count it first.

The rules are in docs/decisions/2026-12-03-delete-grace.md.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from confsync.calendars import CalendarDoc
from confsync.errors import MalformedInputError, TransientError
from confsync.events import CalendarEvent, decode_event
from confsync.messages import SyncRequest
from confsync.planner import DeleteConference
from confsync.ports import CalendarStore, SyncRequestPublisher
from confsync.records import ConferenceRecord
from confsync.sync.recent_moves import RecentMoves
from confsync.sync.state import Run
from confsync.sync.summary import LOGGER, labels

__all__ = ["CANCELLED_MESSAGE", "SIBLING_WAIT_MAX", "DeleteGrace", "GraceVerdict"]

SIBLING_WAIT_MAX = timedelta(minutes=30)
"""How long past its due time a delete waits for the subject's other calendars to pull."""

CANCELLED_MESSAGE = "delete cancelled after its grace"
"""The start of the INFO line about a delete the grace check cancelled."""


@dataclass(frozen=True, slots=True)
class GraceVerdict:
    """What the grace check decided for a batch of deletes."""

    kept: dict[str, ConferenceRecord]
    """The records (by key, as they will be saved) whose delete is not sent now: cancelled
    (``transferred``) or still pending. The others' deletes are to be sent."""
    moved: dict[str, str]
    """The events found moved away, by id, with the key of the record they made
    ``transferred``: where the owner's other calendars' runs look for them
    (:func:`~confsync.records.moved_scope`)."""


@dataclass(frozen=True, slots=True)
class _Kept:
    record: ConferenceRecord
    moved: str | None = None


class DeleteGrace:
    """Re-checks deletes as they fall due; stateless, so concurrent runs share one."""

    def __init__(
        self,
        calendars: CalendarStore,
        publisher: SyncRequestPublisher,
        *,
        grace: timedelta,
        move_wait: timedelta,
        now: Callable[[], datetime],
    ) -> None:
        self._calendars = calendars
        self._publisher = publisher
        self._grace = grace
        self._move_wait = move_wait
        self._now = now

    def check(
        self,
        run: Run,
        records: Mapping[str, ConferenceRecord],
        deletes: Sequence[DeleteConference],
    ) -> GraceVerdict:
        """Which deletes in ``deletes`` are not sent now, and why (:class:`GraceVerdict`)."""
        verdict = GraceVerdict(kept={}, moved={})
        siblings = _Siblings(run, self._calendars)
        now = self._now()
        recent: RecentMoves | None = None
        for op in deletes:
            record = records[op.record_key]
            decided = _probed(run, record, siblings)
            if decided is None:
                decided = self._waiting(run, record, siblings.docs())
            if decided is None:
                if recent is None:
                    calendars = [run.doc, *siblings.docs()]
                    recent = RecentMoves(run, calendars, now=now, move_wait=self._move_wait)
                if recent.hold(record):
                    decided = _Kept(record)
            if decided is None:
                continue
            verdict.kept[record.key] = decided.record
            if decided.moved is not None:
                verdict.moved[decided.moved] = record.key
        return verdict

    def ask_siblings(self, run: Run) -> None:
        """Ask the subject's other enrolled calendars to pull, once this run queued deletes it
        has not asked for yet: by the time the deletes fall due they have pulled, and a delete
        need not wait for them then (:meth:`_waiting`)."""
        if run.deletes_queued <= run.siblings_asked:
            return
        run.siblings_asked = run.deletes_queued
        self._request(_siblings(run, self._calendars))

    def _request(self, calendars: Sequence[CalendarDoc]) -> None:
        now = self._now()
        for doc in calendars:
            request = SyncRequest(calendar_key=doc.key, reason="grace", notified_at=now)
            self._publisher.publish(request)

    def _waiting(
        self, run: Run, record: ConferenceRecord, siblings: Sequence[CalendarDoc]
    ) -> _Kept | None:
        """The delete waits (still pending) while another enrolled calendar of the subject has
        not pulled since the delete was queued: an event of the owner's moved or copied there
        before this calendar saw it live left here only a stub this calendar could not place,
        and only that calendar's pull attaches it. A pull of each is requested now; the next
        retry of the delete decides again. Not past :data:`SIBLING_WAIT_MAX` after the delete
        fell due: a calendar whose pulls keep failing must not keep a meeting's end from its
        conference for ever (None: send)."""
        pending = record.pending
        if pending is None or not siblings:
            return None
        now = self._now()
        if now - pending.next_attempt_at > SIBLING_WAIT_MAX:
            return None
        since = pending.next_attempt_at - self._grace
        behind = [doc for doc in siblings if doc.pulled_from is None or doc.pulled_from < since]
        if not behind:
            return None
        self._request(behind)
        LOGGER.info(
            "delete of conference %s waits for the subject's other calendars to pull first "
            "(requested: %s)",
            record.conference_id,
            ", ".join(doc.key for doc in behind),
            extra=labels(run.doc.key),
        )
        return _Kept(record)


def _siblings(run: Run, calendars: CalendarStore) -> list[CalendarDoc]:
    """The subject's other enrolled calendars that sync."""
    return [
        doc
        for doc in calendars.of_subject(run.doc.subject)
        if doc.key != run.doc.key and doc.syncing
    ]


class _Siblings:
    """:func:`_siblings`, read once per grace check, and only if a check asks for them."""

    def __init__(self, run: Run, calendars: CalendarStore) -> None:
        self._run = run
        self._calendars = calendars
        self._docs: list[CalendarDoc] | None = None

    def docs(self) -> list[CalendarDoc]:
        if self._docs is None:
            self._docs = _siblings(self._run, self._calendars)
        return self._docs


def _probed(run: Run, record: ConferenceRecord, siblings: _Siblings) -> _Kept | None:
    """What the Calendar says of the events that left this calendar (the latest
    :data:`~confsync.records.DEPARTED_MAX`, newest first), then of those it never saw
    (:func:`_moved_unseen`): the record not to send a delete for (transferred when any of them
    moved away, or unchanged: still pending), or None to send it. Every one is asked, not only
    the last: with several events carrying one conference, an earlier one that moved away keeps
    the meeting going as much as the last one would, and the order in which a page lists them
    says nothing."""
    refs = record.refs_of(run.doc.key)
    departed = reversed(list(refs.departed.items())) if refs is not None else iter(())
    for event_id, ical_uid in departed:
        decided = _probed_one(run, record, event_id, ical_uid, siblings)
        if decided is not None:
            return decided
    return _moved_unseen(run, record, siblings)


def _asked(
    run: Run, record: ConferenceRecord, event_id: str, doc: CalendarDoc | None = None
) -> CalendarEvent | None:
    """The event of this calendar (or of the subject's calendar ``doc``) as ``events.get``
    answers (None: gone, or malformed); TransientError, logged, when the Calendar cannot say for
    now."""
    calendar_id = (doc or run.doc).calendar_id
    try:
        return _decoded(run.client.get_event(calendar_id, event_id))
    except TransientError as err:
        LOGGER.warning(
            "delete of conference %s stays pending: events.get of %s failed: %s",
            record.conference_id,
            event_id,
            err,
            extra=labels(run.doc.key),
        )
        raise


def _probed_one(
    run: Run,
    record: ConferenceRecord,
    event_id: str,
    ical_uid: str | None,
    siblings: _Siblings,
) -> _Kept | None:
    """One departed event as the Calendar has it: None when it was deleted (or is gone)."""
    try:
        event = _asked(run, record, event_id)
    except TransientError:
        return _Kept(record)
    if event is None:
        return None
    judged = _judged(run, record, event)
    if judged is None or judged.status != "transferred":
        return None if judged is None else _Kept(judged)
    where = _moved_within(run, record, event.id, ical_uid, siblings)
    if where == "deleted":
        return None  # moved, then deleted where it went, or moved without this conference
    if where == "unsure":
        return _Kept(record)
    LOGGER.info(
        "%s: conference %s moved away from calendar %s (event %s); no delete is sent",
        CANCELLED_MESSAGE,
        record.conference_id,
        run.doc.key,
        event.id,
        extra=labels(run.doc.key),
    )
    return _Kept(judged, event.id)


def _moved_unseen(run: Run, record: ConferenceRecord, siblings: _Siblings) -> _Kept | None:
    """An event of the owner's that her calendars never saw live, found among the counted
    events their own calendar organises (``elsewhere``, newest first): created on this calendar
    or on another of the subject's, and moved to another user between two runs of that
    calendar, it left only a stub there, which no attachment could place. A move's stub on any
    of them keeps the meeting going, as for an event seen leaving; a copy made elsewhere was
    never there (404), and one this calendar knew is asked about above. None: none of them
    moved from the subject's calendars. Asked only when a delete would otherwise be sent, one
    ``events.get`` per unplaced event and calendar."""
    known = record.event_ids
    unplaced = [(e, to) for e, to in reversed(list(record.elsewhere.items())) if e not in known]
    if not unplaced:
        return None
    for doc in [run.doc, *siblings.docs()]:
        for event_id, where in unplaced:
            try:
                event = _asked(run, record, event_id, doc)
            except TransientError:
                return _Kept(record)
            if event is None or not event.cancelled or event.organised_by(doc.calendar_id):
                continue
            LOGGER.info(
                "%s: conference %s: its event %s moved from calendar %s to calendar %s before "
                "that calendar saw it; no delete is sent",
                CANCELLED_MESSAGE,
                record.conference_id,
                event_id,
                doc.key,
                where,
                extra=labels(run.doc.key),
            )
            return _Kept(_transferred(record), event_id)
    return None


def _decoded(found: Mapping[str, Any] | None) -> CalendarEvent | None:
    """The event ``events.get`` answered; None when gone (404) or malformed."""
    if found is None:
        return None
    try:
        return decode_event(found)
    except MalformedInputError:
        return None


def _moved_within(
    run: Run,
    record: ConferenceRecord,
    event_id: str,
    ical_uid: str | None,
    siblings: _Siblings,
) -> Literal["deleted", "unsure", "elsewhere"]:
    """Where a moved event went, as far as the subject's other enrolled calendars tell (asked
    as the same user): ``deleted`` when one of them holds its tombstone organised by that
    calendar (moved there, then deleted before that calendar's run saw it live: that run saw
    only a tombstone it could not place), or holds it live without this conference (replaced
    before the move, both before this calendar's run: it saw only the stub), the same
    ``iCalUID`` either way (:func:`_ended_here`); ``unsure`` when one could not be asked for
    now, else ``elsewhere`` (live there with this conference, or out of confsync's sight)."""
    for doc in siblings.docs():
        try:
            found = _decoded(run.client.get_event(doc.calendar_id, event_id))
        except TransientError:
            return "unsure"
        if found is None:
            continue
        if (why := _ended_here(record, found, doc, ical_uid)) is not None:
            LOGGER.info(
                "conference %s: its event %s moved to calendar %s %s",
                record.conference_id,
                event_id,
                doc.key,
                why,
                extra=labels(run.doc.key),
            )
            return "deleted"
    return "elsewhere"


def _ended_here(
    record: ConferenceRecord, found: CalendarEvent, doc: CalendarDoc, ical_uid: str | None
) -> str | None:
    """How the departed event, found on the subject's calendar ``doc``, ended this conference
    (the end of the log line), or None when it did not. Only the moved event itself counts:
    the same ``iCalUID`` when it is known (a move keeps it; another event may reuse an id).
    Live there without this conference: replaced before the move. Cancelled there and
    organised by that calendar (a move leaves the event organised by the calendar it went to):
    deleted after the move. A copy cancelled there that someone else organises (an invitation
    the calendar was removed from) says nothing of where the event went."""
    if ical_uid is not None and found.ical_uid != ical_uid:
        return None
    if not found.cancelled:
        if ical_uid is None:
            return None
        carried = found.conference is not None and (
            found.conference.conference_id == record.conference_id
        )
        return None if carried else "without it"
    return "and was deleted there" if found.organised_by(doc.calendar_id) else None


def _judged(run: Run, record: ConferenceRecord, event: CalendarEvent) -> ConferenceRecord | None:
    """The departed event as the Calendar has it: transferred, still pending, or None (send)."""
    if not event.cancelled:
        carried = event.conference is not None and (
            event.conference.conference_id == record.conference_id
        )
        return record if carried else None  # came back: the planner re-attaches it
    if event.organised_by(run.doc.calendar_id):
        # Deleted by its organizer, this calendar (a move leaves the calendar it went to as
        # organizer): the details stay on a real deletion. A cancelled copy organised by
        # someone else, even the owner, is an invitation this calendar was removed from.
        return None
    return _transferred(record)


def _transferred(record: ConferenceRecord) -> ConferenceRecord:
    """``record`` kept, not followed: its delete cancelled because its event moved away."""
    calendars = {k: v for k, v in record.calendars.items() if v.events}
    return replace(record, status="transferred", pending=None, hold=None, calendars=calendars)
