"""The delete grace: a conference whose last event left a calendar is deleted only after a grace
period, and only if the meeting did not go on elsewhere.

A tombstone says only that an event left a calendar: deleted, moved (``events.move``, which keeps
the event's id and ``iCalUID`` on the destination) or given to another organizer. So the page
never sends a delete (:mod:`confsync.sync.apply` queues it, pending, due ``delete_grace`` later:
the brake counts it from then on), and when it falls due, right before the pending retry sends
it (:mod:`confsync.sync.pending`), :meth:`DeleteGrace.check` looks at the conference's records
on the other calendars (``RecordStore.by_conference``):

- another **acting** record still holds live events (the event moved to another calendar of the
  owner; or a duplicate, a secondary or a delegate's calendar enrolled under the owner carries
  it): the delete is cancelled and this record dropped (nothing pending, no events). That record
  acts for the conference from now on, and the last copy's deletion deletes it;
- otherwise, a record of another user's calendar holds the **same event** (same id, or same
  ``iCalUID`` when both are known): the organizer changed. The conference is kept, and this
  record is marked ``transferred``; by the owner rule the new organizer's calendar is a
  reference, so its edits do not follow;
- otherwise the Calendar is asked (one ``events.get`` of the departed event on the record's own
  calendar): a cancelled event that no longer names the owner as organizer (a move leaves only
  ``id``; reference 1.5) was moved away, even where confsync does not see it yet or at all: the
  conference is kept and this record marked ``transferred``. A live event still carrying the
  conference came back (the planner re-attaches it at the next sync): the delete stays pending.
  A Calendar unavailable for now keeps it pending too;
- otherwise (a cancelled event the owner still organizes, a tombstone gone, a live event without
  the conference) the delete is sent, as before.

The rules are in docs/decisions/2026-12-03-delete-grace.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from confsync.errors import MalformedInputError, TransientError
from confsync.events import CalendarEvent, decode_event
from confsync.planner import DeleteConference
from confsync.ports import RecordStore
from confsync.records import ConferenceRecord
from confsync.sync.state import Run
from confsync.sync.summary import LOGGER, labels

__all__ = ["CANCELLED_MESSAGE", "DeleteGrace"]

CANCELLED_MESSAGE = "delete cancelled after its grace"
"""The start of the INFO line about a delete the grace check cancelled."""


class DeleteGrace:
    """Re-checks deletes as they fall due; stateless, so concurrent runs share one."""

    def __init__(self, records: RecordStore) -> None:
        self._records = records

    def check(
        self,
        run: Run,
        records: Mapping[str, ConferenceRecord],
        deletes: Sequence[DeleteConference],
    ) -> dict[str, ConferenceRecord]:
        """The records (by key, as they will be saved) whose delete in ``deletes`` is not sent
        now (cancelled, or still pending); the others' deletes are to be sent."""
        cancelled: dict[str, ConferenceRecord] = {}
        for op in deletes:
            record = records[op.record_key]
            decided = self._decided(record)
            if decided is None:
                decided = _probed(run, record)
            if decided is not None:
                cancelled[record.key] = decided
        return cancelled

    def _decided(self, record: ConferenceRecord) -> ConferenceRecord | None:
        others = [
            other
            for other in self._records.by_conference(record.conference_id)
            if other.key != record.key and other.status == "active" and other.events
        ]
        acting = [other for other in others if other.role == "acting"]
        if acting:
            moved = [other for other in acting if _holds_departed(other, record)]
            other = (moved or acting)[0]
            _log(
                record,
                "moved to" if moved else "still carried by",
                other.calendar_key,
                f"record {other.key}",
            )
            return replace(record, pending=None, hold=None, departed={})
        transferred = [other for other in others if _holds_departed(other, record)]
        if transferred:
            _log(
                record,
                "transferred to",
                transferred[0].calendar_key,
                f"record {transferred[0].key}",
            )
            return replace(record, status="transferred", pending=None, hold=None, departed={})
        return None


def _probed(run: Run, record: ConferenceRecord) -> ConferenceRecord | None:
    """What the Calendar says of the event that left last: the record not to send a delete
    for (transferred, or unchanged: still pending), or None to send it."""
    if not record.departed:
        return None
    event_id = list(record.departed)[-1]
    try:
        found = run.client.get_event(run.doc.calendar_id, event_id)
    except TransientError as err:
        LOGGER.warning(
            "delete of conference %s stays pending: events.get of %s failed: %s",
            record.conference_id,
            event_id,
            err,
            extra=labels(record.calendar_key),
        )
        return record
    event = _decoded(found)
    return None if event is None else _judged(run, record, event)


def _decoded(found: Mapping[str, Any] | None) -> CalendarEvent | None:
    """The event ``events.get`` answered; None when gone (404) or malformed."""
    if found is None:
        return None
    try:
        return decode_event(found)
    except MalformedInputError:
        return None


def _judged(run: Run, record: ConferenceRecord, event: CalendarEvent) -> ConferenceRecord | None:
    """The departed event as the Calendar has it: transferred, still pending, or None (send)."""
    if not event.cancelled:
        carried = event.conference is not None and (
            event.conference.conference_id == record.conference_id
        )
        return record if carried else None  # came back: the planner re-attaches it
    owners = {run.doc.subject.lower(), run.doc.calendar_id.lower()}
    if record.owner:
        owners.add(record.owner.lower())
    if event.organizer_email in owners:
        return None  # deleted by its organizer: the details stay on a real deletion
    _log(record, "moved away from", record.calendar_key, f"event {event.id}")
    return replace(record, status="transferred", pending=None, hold=None, departed={})


def _holds_departed(other: ConferenceRecord, record: ConferenceRecord) -> bool:
    """Whether ``other`` holds one of the events that left ``record`` (same id or iCalUID)."""
    if any(event_id in record.departed for event_id in other.events):
        return True
    uids = {uid for uid in record.departed.values() if uid}
    return any(s.ical_uid in uids for s in other.events.values() if s.ical_uid)


def _log(record: ConferenceRecord, how: str, calendar: str, which: str) -> None:
    """``which``: the other calendar's record, or (moved away) the event."""
    LOGGER.info(
        "%s: conference %s %s calendar %s (%s); calendar %s sends no delete",
        CANCELLED_MESSAGE,
        record.conference_id,
        how,
        calendar,
        which,
        record.calendar_key,
        extra=labels(record.calendar_key),
    )
