"""calendarList.list: the calendars the calling user sees, with their role on each."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from .access import ROLES, AccessControl, Caller, at_least, login_required
from .errors import invalid_parameter
from .model import JSON

__all__ = ["calendar_list"]


def _etag(payload: object) -> str:
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
    return f'"{int(digest[:13], 16)}"'


def _entry(calendar_id: str, role: str, primary: bool) -> JSON:
    entry: JSON = {
        "kind": "calendar#calendarListEntry",
        "id": calendar_id,
        "summary": calendar_id,
        "timeZone": "UTC",
        "accessRole": role,
        "defaultReminders": [],
    }
    if primary:
        entry["primary"] = True
    entry["etag"] = _etag(entry)
    return entry


def calendar_list(
    access: AccessControl,
    caller: Caller,
    min_access_role: str | None,
    *,
    hidden: Callable[[str], bool] = lambda calendar_id: False,
) -> JSON:
    """The answer of ``GET users/me/calendarList`` (one page, no sync token), without the
    calendars ``hidden`` says are gone (those of deleted or suspended users)."""
    if caller.user is None:
        raise login_required()
    if min_access_role and (min_access_role not in ROLES or min_access_role == "none"):
        raise invalid_parameter(f"Invalid value for: {min_access_role}", "minAccessRole")
    items = [
        _entry(calendar_id, role, primary=calendar_id == caller.user)
        for calendar_id, role in access.visible_calendars(caller.user)
        if (not min_access_role or at_least(role, min_access_role)) and not hidden(calendar_id)
    ]
    return {"kind": "calendar#calendarList", "etag": _etag(items), "items": items}
