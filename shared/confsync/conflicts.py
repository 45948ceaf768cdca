"""Doing again what a conflicting save refused.

Conference records are shared by every calendar of a conference, so a save is conditional on the
version read and raises :class:`~confsync.errors.RecordConflictError` when another run wrote a
record meanwhile (:mod:`confsync.records`). Every writer then does the same: read again, decide
again, save again, a bounded number of times. :func:`retried_on_conflict` is that loop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from confsync.errors import RecordConflictError

__all__ = ["CONFLICT_ATTEMPTS", "retried_on_conflict"]

T = TypeVar("T")

CONFLICT_ATTEMPTS = 5
"""How many times a read-decide-save is done before its last conflict is raised."""


def _ignore(err: RecordConflictError) -> None:
    del err


def retried_on_conflict(
    attempt: Callable[[], T],
    *,
    on_conflict: Callable[[RecordConflictError], None] = _ignore,
) -> T:
    """``attempt()``, which must read what it decides on; after a conflict ``on_conflict`` is
    told, then, unless that was the last of :data:`CONFLICT_ATTEMPTS`, it is called again."""
    for number in range(CONFLICT_ATTEMPTS):
        try:
            return attempt()
        except RecordConflictError as err:
            on_conflict(err)
            if number == CONFLICT_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")
