"""A calendar's state changed after a slow Calendar call: only while the calendar still syncs.

A sync run or a watch that loses the calendar's access learns it seconds after it read the
calendar; an operator or the channels function may have unenrolled (or blocked) it meanwhile.
:func:`set_while_syncing` writes the new state only if the calendar is still in the state it
was read in, checked and written atomically (``CalendarStore.set_state_if``); when it moved
between the syncing states meanwhile (``active`` and ``poll-only``) it reads it again and tries
once more, so a real loss of access is still recorded. Any other state stands.
"""

from __future__ import annotations

from datetime import datetime

from confsync.ports import CalendarStore

__all__ = ["set_while_syncing"]

_ATTEMPTS = 3
"""How often the state is tried while the calendar keeps swapping between syncing states."""


def set_while_syncing(
    store: CalendarStore, key: str, read_state: str, state: str, *, now: datetime, outcome: str
) -> str | None:
    """Set ``state`` on the calendar ``key``, read in ``read_state``, if it is still syncing;
    None when written, else the state it is in now (``gone`` when it is no longer stored, and
    the last state seen when it kept changing)."""
    expected = read_state
    for _ in range(_ATTEMPTS):
        if store.set_state_if(key, expected, state, now=now, outcome=outcome):
            return None
        current = store.get(key)
        if current is None:
            return "gone"
        expected = current.state
        if not current.syncing:
            break
    return expected
