"""``confsync release-deletes``: send, or drop, the deletes the deletion brake holds for a calendar.

When one sync run would delete more conferences of a calendar than ``CONFSYNC_DELETE_BRAKE``, it
holds all of them (:mod:`confsync.sync.brake`). An operator then decides:

- **release**: every held delete becomes ``released``, due now and exempt from the brake; the
  command then requests a sync (reason ``manual``), which sends them;
- **discard** (``--discard``): every held delete is dropped. The conferences stay; their records
  stay too, active, without events and with nothing pending, so an event that carries the
  conference again re-attaches to its record (and a later deletion of it is planned anew).

Either way the calendar's ``held_deletes`` becomes 0. The command takes the calendar's lease like
a sync run (waiting up to :data:`LEASE_WAIT_SECONDS` for a running sync), so it never writes a
record a run is writing; a request coalesced into that lease is answered by the sync requested
afterwards. Both are idempotent: a repeat finds nothing held and changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from confsync.conflicts import retried_on_conflict
from confsync.errors import ConfsyncError
from confsync.ports import CalendarStore, RecordStore
from confsync.records import ConferenceRecord, PendingOperation

__all__ = [
    "HELP",
    "LEASE_SECONDS",
    "LEASE_WAIT_SECONDS",
    "CalendarBusyError",
    "settle_held_deletes",
]

HELP = (
    "send the deletes the deletion brake holds for a calendar, then request a sync "
    "(--discard: drop them and keep the conferences)"
)
LEASE_SECONDS = 60
"""How long the command's lease lasts if it dies holding it."""
LEASE_WAIT_SECONDS = 60.0
"""How long the command waits for a running sync to release the calendar's lease."""
_POLL_SECONDS = 2.0
_RELEASED_NOTE = "released by an operator"


class CalendarBusyError(ConfsyncError):
    """A sync kept the calendar's lease for longer than the command waits."""


def settle_held_deletes(
    calendars: CalendarStore,
    records: RecordStore,
    key: str,
    *,
    discard: bool,
    clock: Callable[[], datetime],
    sleep: Callable[[float], None],
) -> int:
    """Release (or, with ``discard``, drop) every held delete of the calendar ``key``, under its
    lease; return how many. The calendar must exist."""
    owner = f"cli-{uuid.uuid4().hex}"
    _acquire(calendars, key, owner, clock, sleep)
    try:
        held = _settled(records, key, discard=discard, now=clock())
        calendars.set_held_deletes(key, 0)
    finally:
        outcome = "held deletes discarded" if discard else "held deletes released"
        calendars.release(key, owner, now=clock(), outcome=outcome)
    return len(held)


def _settled(
    records: RecordStore, key: str, *, discard: bool, now: datetime
) -> list[ConferenceRecord]:
    """Release or discard the held deletes whose home is ``key``; another calendar's run may
    write one of those records meanwhile (records are shared), so a conflict reads them again."""

    def settle() -> list[ConferenceRecord]:
        held = records.held(key)
        settled = [_discarded(r) if discard else _released(r, now) for r in held]
        if settled:
            records.save(settled)
        return held

    return retried_on_conflict(settle)


def _acquire(
    calendars: CalendarStore,
    key: str,
    owner: str,
    clock: Callable[[], datetime],
    sleep: Callable[[float], None],
) -> None:
    deadline = clock() + timedelta(seconds=LEASE_WAIT_SECONDS)
    while True:
        now = clock()
        if calendars.acquire_lease(
            key, owner, until=now + timedelta(seconds=LEASE_SECONDS), now=now
        ):
            return
        left = (deadline - clock()).total_seconds()
        if left <= 0:
            raise CalendarBusyError(
                f"a sync of calendar {key} kept its lease for {LEASE_WAIT_SECONDS:g} s; "
                "nothing changed, try again"
            )
        sleep(min(_POLL_SECONDS, left))


def _released(record: ConferenceRecord, now: datetime) -> ConferenceRecord:
    attempts = record.pending.attempts if record.pending is not None else 0
    pending = PendingOperation(attempts=attempts, next_attempt_at=now, last_error=_RELEASED_NOTE)
    return replace(record, hold="released", pending=pending)


def _discarded(record: ConferenceRecord) -> ConferenceRecord:
    return replace(record, hold=None, pending=None)
