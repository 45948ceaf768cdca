"""The last check of the delete grace: a move the owner's calendars could not place, lately.

An event of the owner's that carries her conference can leave her calendar by a move before
any run of that calendar saw it live: created and moved to another user between two runs
(notifications late or lost). Her calendar then lists only the move's stub, an id no
attachment places. The meeting goes on at the other user's, and the record learns of it only
when that user's calendar counts the event (``elsewhere``, which the grace asks about:
:func:`confsync.sync.grace._moved_unseen`). If that calendar pulls late (its notification lost,
its pulls slowed), the grace would find nothing and send the delete of a live meeting (chaos
seed 246).

So before a delete is sent, the subject's calendars that sync are asked what changed on them in
the last ``move_wait`` (one ``events.list`` with ``updatedMin`` and ``showDeleted`` each, read
once per grace check, only when every other check said "send"). A cancelled event there that the
calendar does not organise, and that the record does not know, is a move's stub (on its
organizer's calendar a deletion keeps its details, organizer included; a move leaves only
``id``, reference 1.5), or an invitation cancelled by someone else, which it cannot be told
from. While there is one, the delete waits, still pending, for its next retry, and the calendar
the event went to has the time to count it: the retry then finds it named and keeps the
conference (``transferred``). The wait ends ``move_wait`` after the stub, and never lasts more
than ``move_wait`` past the delete's due time: a busy calendar must not hold a meeting's end
from its conference for ever. A Calendar that cannot answer keeps the delete pending (within
the same bound). Only deletes are delayed, the lesser harm; nothing is ever deleted by it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from confsync.calendars import CalendarDoc
from confsync.errors import ConfsyncError, MalformedInputError
from confsync.events import decode_event
from confsync.records import ConferenceRecord
from confsync.sync.state import Run
from confsync.sync.summary import LOGGER, labels

__all__ = ["WAIT_MESSAGE", "RecentMoves"]

WAIT_MESSAGE = "waits for a calendar to count an event moved away lately"
"""Part of the INFO line about a delete held by :meth:`RecentMoves.hold`."""


class RecentMoves:
    """The stubs the subject's calendars were left in the ``move_wait`` before ``now``, listed
    at most once per grace check (several deletes of one run share the listing, or its
    failure)."""

    def __init__(
        self,
        run: Run,
        calendars: Sequence[CalendarDoc],
        *,
        now: datetime,
        move_wait: timedelta,
    ) -> None:
        self._run = run
        self._calendars = calendars
        self._now = now
        self._move_wait = move_wait
        self._stubs: dict[str, str] | ConfsyncError | None = None

    def hold(self, record: ConferenceRecord) -> bool:
        """Whether ``record``'s delete, about to be sent now, waits for a stub it does not know
        (logged at INFO), or for a Calendar that cannot answer (WARNING)."""
        pending = record.pending
        move_wait = self._move_wait
        if move_wait <= timedelta(0) or pending is None:
            return False
        if self._now - pending.next_attempt_at > move_wait:
            return False
        stubs = self._listed()
        if isinstance(stubs, ConfsyncError):
            LOGGER.warning(
                "delete of conference %s stays pending: the events its owner's calendars "
                "changed lately could not be listed: %s",
                record.conference_id,
                stubs,
                extra=labels(self._run.doc.key),
            )
            return True
        known = record.event_ids | set(record.elsewhere)  # those the grace asked about
        unplaced = {e: where for e, where in stubs.items() if e not in known}
        if not unplaced:
            return False
        LOGGER.info(
            "delete of conference %s %s (%s), at most %d s past its due time",
            record.conference_id,
            WAIT_MESSAGE,
            ", ".join(f"{e} from {where}" for e, where in sorted(unplaced.items())),
            int(move_wait.total_seconds()),
            extra=labels(self._run.doc.key),
        )
        return True

    def _listed(self) -> dict[str, str] | ConfsyncError:
        """The stubs, by event id, with the key of the calendar that holds each; or why the
        Calendar could not list them."""
        if self._stubs is None:
            since = self._now - self._move_wait
            stubs: dict[str, str] = {}
            try:
                for doc in self._calendars:
                    listed = self._run.client.list_changed(doc.calendar_id, since)
                    stubs.update((e, doc.key) for e in _stubs(listed, doc.calendar_id))
            except ConfsyncError as err:
                self._stubs = err
            else:
                self._stubs = stubs
        return self._stubs


def _stubs(items: Sequence[Mapping[str, Any]], calendar_id: str) -> list[str]:
    """The ids of the cancelled events among ``items`` that the calendar does not organise and
    that are no cancelled instance of a series (a hole in a live series, not a departure)."""
    ids = []
    for item in items:
        try:
            event = decode_event(item)
        except MalformedInputError:
            continue
        if event.cancelled and not event.is_instance and not event.organised_by(calendar_id):
            ids.append(event.id)
    return ids
