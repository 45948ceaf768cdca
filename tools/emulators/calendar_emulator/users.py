"""Users who left: deleted and suspended Workspace users, and what requests about them get.

Every user is ``active`` until the admin API says otherwise (users spring into existence like
calendars). A **deleted** or **suspended** user is *gone*: their credentials no longer work and
their calendar can no longer be reached. For each Calendar API request, in this order:

============================================================  ===================================
the request                                                   answer
============================================================  ===================================
made as a gone user: ``Authorization: Bearer user:<them>``,   401 ``authError`` "Invalid
or anonymous on their own calendar (an anonymous request      Credentials" (location
acts as the calendar's own user, see :mod:`.access`)          ``Authorization``, header)
made as anyone else, for a gone user's calendar               404 ``notFound``
============================================================  ===================================

Deleting or suspending a user also stops every channel on their calendar and every channel they
opened elsewhere: nothing is delivered any more, and such channels no longer appear in the admin
channel list. ``undelete`` and ``unsuspend`` make the user active again with their calendar and
events as they were; channels stay stopped (watch again). A user's calendar is the one whose id
is their address (the emulator knows no owner of any other). E-mail addresses are compared
without regard to case.
"""

from __future__ import annotations

import threading
from typing import Literal

from .errors import ApiError, not_found

__all__ = [
    "UserAccounts",
    "UserStatus",
    "check_caller",
    "check_user_access",
    "invalid_credentials",
    "user_address_problem",
]

UserStatus = Literal["active", "suspended", "deleted"]


def invalid_credentials() -> ApiError:
    """Google's answer to a request whose credentials no longer work."""
    return ApiError(401, "authError", "Invalid Credentials", "global", "Authorization", "header")


def user_address_problem(email: str) -> str | None:
    """Why ``email`` cannot name a user (None when it can)."""
    local, at, domain = email.rpartition("@")
    if not at or not local or not domain or any(c.isspace() or c in ":/" for c in email):
        return f"a user is named by an e-mail address such as ada@example.com, not {email!r}"
    return None


class UserAccounts:
    """The users who are not active, by lower-case e-mail (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._gone: dict[str, UserStatus] = {}

    def reset(self) -> None:
        with self._lock:
            self._gone.clear()

    def status(self, email: str) -> UserStatus:
        with self._lock:
            return self._gone.get(email.lower(), "active")

    def is_gone(self, email: str) -> bool:
        return self.status(email) != "active"

    def delete(self, email: str) -> UserStatus:
        """The user is deleted (a suspended one too)."""
        with self._lock:
            self._gone[email.lower()] = "deleted"
            return "deleted"

    def suspend(self, email: str) -> UserStatus | None:
        """The user is suspended; None (nothing changed) if they are deleted."""
        with self._lock:
            if self._gone.get(email.lower()) == "deleted":
                return None
            self._gone[email.lower()] = "suspended"
            return "suspended"

    def restore(self, email: str, was: UserStatus) -> bool:
        """``undelete`` (``was="deleted"``) or ``unsuspend`` (``was="suspended"``): whether the
        user was in that state (and is now active)."""
        with self._lock:
            if self._gone.get(email.lower()) != was:
                return False
            del self._gone[email.lower()]
            return True


def check_user_access(users: UserAccounts, caller: str | None, calendar_id: str) -> None:
    """Refuse a request made as ``caller`` (None: anonymous) on ``calendar_id`` if either is a
    gone user's: 401 ``authError`` for a request made as them, 404 ``notFound`` for their
    calendar."""
    acting_as = calendar_id if caller is None else caller
    if users.is_gone(acting_as):
        raise invalid_credentials()
    if users.is_gone(calendar_id):
        raise not_found()


def check_caller(users: UserAccounts, caller: str | None) -> None:
    """Refuse a request that addresses no calendar (``calendarList``, ``channels.stop``) made as
    a gone user."""
    if caller is not None and users.is_gone(caller):
        raise invalid_credentials()
