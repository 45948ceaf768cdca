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
- otherwise the delete is sent, as before.

A move to a calendar confsync does not see looks exactly like a deletion and is deleted after the
grace. The rules are in docs/decisions/2026-12-03-delete-grace.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from confsync.planner import DeleteConference
from confsync.ports import RecordStore
from confsync.records import ConferenceRecord
from confsync.sync.summary import LOGGER, labels

__all__ = ["CANCELLED_MESSAGE", "DeleteGrace"]

CANCELLED_MESSAGE = "delete cancelled after its grace"
"""The start of the INFO line about a delete the grace check cancelled."""


class DeleteGrace:
    """Re-checks deletes as they fall due; stateless, so concurrent runs share one."""

    def __init__(self, records: RecordStore) -> None:
        self._records = records

    def check(
        self, records: Mapping[str, ConferenceRecord], deletes: Sequence[DeleteConference]
    ) -> dict[str, ConferenceRecord]:
        """The records (by key, as they will be saved) whose delete in ``deletes`` is cancelled;
        the others' deletes are to be sent."""
        cancelled: dict[str, ConferenceRecord] = {}
        for op in deletes:
            record = records[op.record_key]
            decided = self._decided(record)
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
            _log(record, "moved to" if moved else "still carried by", (moved or acting)[0])
            return replace(record, pending=None, hold=None, departed={})
        transferred = [other for other in others if _holds_departed(other, record)]
        if transferred:
            _log(record, "transferred to", transferred[0])
            return replace(record, status="transferred", pending=None, hold=None, departed={})
        return None


def _holds_departed(other: ConferenceRecord, record: ConferenceRecord) -> bool:
    """Whether ``other`` holds one of the events that left ``record`` (same id or iCalUID)."""
    if any(event_id in record.departed for event_id in other.events):
        return True
    uids = {uid for uid in record.departed.values() if uid}
    return any(s.ical_uid in uids for s in other.events.values() if s.ical_uid)


def _log(record: ConferenceRecord, how: str, other: ConferenceRecord) -> None:
    LOGGER.info(
        "%s: conference %s %s calendar %s (record %s); calendar %s sends no delete",
        CANCELLED_MESSAGE,
        record.conference_id,
        how,
        other.calendar_key,
        other.key,
        record.calendar_key,
        extra=labels(record.calendar_key),
    )
