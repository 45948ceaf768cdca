"""Who is calling, and what they may do on a calendar: roles, the ACL, the free/busy view.

The caller is named by ``Authorization: Bearer user:<email>`` (for instance
``google.oauth2.credentials.Credentials(token="user:ada@example.com")``). Any other request is
anonymous and acts, on each calendar it addresses, as that calendar's own user, whose role is
``owner`` unless the ACL says otherwise: so requests without that token behave as before roles
existed.

A named user's role on a calendar is the ACL entry for (calendar, user) if there is one, else
``owner`` on the calendar whose id is their email (their primary calendar), else ``none``.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass

from .errors import ApiError, not_found

__all__ = [
    "ROLES",
    "AccessControl",
    "Caller",
    "at_least",
    "caller_of",
    "free_busy_view",
    "login_required",
    "require_visible",
    "require_writer",
]

# Weakest first; a role grants everything the roles before it grant.
ROLES = ("none", "freeBusyReader", "reader", "writer", "owner")
_RANK = {role: rank for rank, role in enumerate(ROLES)}
_USER_PREFIX = "user:"
_FREE_BUSY_FIELDS = (
    "kind",
    "etag",
    "id",
    "status",
    "start",
    "end",
    "transparency",
    "recurrence",
    "recurringEventId",
    "originalStartTime",
)


@dataclass(frozen=True)
class Caller:
    """The calling user (None: anonymous)."""

    user: str | None

    def calendar_id(self, calendar_id: str) -> str:
        """``primary`` is a named caller's own calendar; for anonymous callers an ordinary id."""
        if calendar_id == "primary" and self.user is not None:
            return self.user
        return calendar_id


def caller_of(authorization: str | None) -> Caller:
    """The caller an ``Authorization`` header names; any other value is anonymous."""
    if authorization is None:
        return Caller(None)
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token.startswith(_USER_PREFIX):
        return Caller(None)
    user = token[len(_USER_PREFIX) :].strip()
    return Caller(user or None)


class AccessControl:
    """The ACL: a role per (calendar, user), set through the admin API."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: dict[str, dict[str, str]] = {}  # calendar id -> user -> role
        self._deleted: set[str] = set()  # secondary calendars deleted through calendars.delete

    def reset(self) -> None:
        with self._lock:
            self._rules.clear()
            self._deleted.clear()

    def delete_calendar(self, calendar_id: str) -> None:
        """The calendar is gone: its entries are forgotten and every user's role is ``none``."""
        with self._lock:
            self._rules.pop(calendar_id, None)
            self._deleted.add(calendar_id)

    def rule(self, calendar_id: str, user: str) -> str | None:
        """The explicit entry for ``user`` on the calendar, if any."""
        with self._lock:
            return self._rules.get(calendar_id, {}).get(user)

    def set_role(self, calendar_id: str, user: str, role: str) -> None:
        if role not in _RANK:
            raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        with self._lock:
            self._rules.setdefault(calendar_id, {})[user] = role

    def remove(self, calendar_id: str, user: str) -> bool:
        with self._lock:
            return self._rules.get(calendar_id, {}).pop(user, None) is not None

    def rules(self, calendar_id: str) -> list[dict[str, object]]:
        """The calendar's entries: explicit ones, plus its own user's default ``owner``."""
        with self._lock:
            explicit = dict(self._rules.get(calendar_id, {}))
        found: list[dict[str, object]] = [
            {"user": user, "role": role, "default": False} for user, role in explicit.items()
        ]
        if calendar_id not in explicit:
            found.insert(0, {"user": calendar_id, "role": "owner", "default": True})
        return found

    def role(self, caller: Caller, calendar_id: str) -> str:
        user = calendar_id if caller.user is None else caller.user
        with self._lock:
            if calendar_id in self._deleted:
                return "none"
            explicit = self._rules.get(calendar_id, {}).get(user)
        if explicit is not None:
            return explicit
        return "owner" if user == calendar_id else "none"

    def visible_calendars(self, user: str) -> list[tuple[str, str]]:
        """(calendar id, role) of every calendar ``user`` sees: their own first, then by id."""
        with self._lock:
            granted = {
                calendar_id: rules[user]
                for calendar_id, rules in self._rules.items()
                if user in rules and calendar_id != user
            }
        found = [(user, self.role(Caller(user), user))]
        found.extend(sorted(granted.items()))
        return [(calendar_id, role) for calendar_id, role in found if role != "none"]


def at_least(role: str, wanted: str) -> bool:
    return _RANK[role] >= _RANK[wanted]


def require_visible(role: str) -> None:
    """A calendar the caller has no access to answers 404, as Google hides it."""
    if role == "none":
        raise not_found()


def require_writer(role: str) -> None:
    require_visible(role)
    if not at_least(role, "writer"):
        raise ApiError(
            403,
            "requiredAccessLevel",
            "You need to have writer access to this calendar.",
            "calendar",
        )


def login_required() -> ApiError:
    return ApiError(401, "required", "Login Required.", "global", "Authorization", "header")


def free_busy_view(item: str) -> str:
    """An event (JSON text) as a free/busy reader sees it: its times and status only."""
    resource = json.loads(item)
    return json.dumps({key: resource[key] for key in _FREE_BUSY_FIELDS if key in resource})
