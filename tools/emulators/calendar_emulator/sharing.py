"""Invitations: copies of an organizer's event on the calendars of its attendees.

An attendee whose email is a calendar the emulator knows holds a copy of the event with the same
id and iCalUID. The organizer's calendar is the one whose id is the event's organizer; every
write there is propagated (`propagate`). A copy may only change what is the attendee's own
(`check_attendee_write`); their response goes back to the organizer's event
(`after_attendee_write`). The caller (the store) holds its lock.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from .errors import ApiError
from .model import JSON, Calendar
from .validation import READ_ONLY_FIELDS

if TYPE_CHECKING:
    from .store import Store

__all__ = [
    "after_attendee_write",
    "check_attendee_write",
    "is_copy",
    "propagate",
    "without_self",
]

# What each calendar keeps for itself: never copied from the organizer, never compared.
_OWN_FIELDS = ("reminders", "colorId", "transparency")
# An attendee's own entry: the fields they may change on their copy.
_OWN_RESPONSE_FIELDS = ("responseStatus", "comment", "additionalGuests")
_SERVER_FIELDS = ("kind", "etag", "htmlLink", "updated", "sequence", "status", "id")


def forbidden_for_non_organizer() -> ApiError:
    return ApiError(
        403,
        "forbiddenForNonOrganizer",
        "Shared properties can only be changed by the organizer of the event.",
        "calendar",
    )


def without_self(person: Any) -> Any:
    if isinstance(person, dict):
        return {key: value for key, value in person.items() if key != "self"}
    return person


def is_copy(calendar: Calendar, event_id: str, series_id: str | None) -> bool:
    """Whether the event (or the series of the instance) on this calendar is an invitation."""
    return event_id in calendar.origin or (series_id is not None and series_id in calendar.origin)


def _emails(resource: JSON) -> set[str]:
    attendees = resource.get("attendees")
    if not isinstance(attendees, list):
        return set()
    return {
        a["email"] for a in attendees if isinstance(a, dict) and isinstance(a.get("email"), str)
    }


def _copy_of(organizer: JSON, attendee: str, previous: JSON | None) -> JSON:
    """The attendee's copy: the organizer's event with their own fields and `self` moved."""
    found = {
        key: copy.deepcopy(value)
        for key, value in organizer.items()
        if key not in _OWN_FIELDS and key not in _SERVER_FIELDS
    }
    found["status"] = organizer.get("status", "confirmed")
    found["sequence"] = organizer.get("sequence", 0)
    found["organizer"] = without_self(organizer.get("organizer"))
    if "creator" in organizer:
        found["creator"] = without_self(organizer["creator"])
    attendees = found.get("attendees")
    if isinstance(attendees, list):
        found["attendees"] = [
            {**without_self(a), "self": True} if a.get("email") == attendee else without_self(a)
            for a in attendees
            if isinstance(a, dict)
        ]
    previous = previous or {}
    for key in _OWN_FIELDS:
        if key in previous:
            found[key] = previous[key]
    found.setdefault("reminders", {"useDefault": True})
    extended = copy.deepcopy(found.get("extendedProperties") or {})
    extended.pop("private", None)
    own_private = (previous.get("extendedProperties") or {}).get("private")
    if own_private:
        extended["private"] = own_private
    if extended:
        found["extendedProperties"] = extended
    else:
        found.pop("extendedProperties", None)
    return found


def _deliverable(store: Store, organizer: Calendar, attendee: str, event_id: str) -> bool:
    calendar = store.calendar(attendee)
    held = calendar.events.get(event_id)
    if held is not None and calendar.origin.get(event_id) != organizer.id:
        return False  # an event of the attendee's own with that id: left alone
    record = organizer.events[event_id]
    return event_id not in calendar.dismissed and (
        record.series_id is None or record.series_id not in calendar.dismissed
    )


def _cancel_copy(store: Store, calendar: Calendar, event_id: str) -> bool:
    record = calendar.events.get(event_id)
    if record is None or record.cancelled:
        return False
    resource = record.resource()
    resource["status"] = "cancelled"
    store.save(calendar, event_id, resource, created=False, series_id=record.series_id)
    return True


def propagate(
    store: Store, organizer: Calendar, event_id: str, skip: frozenset[str] = frozenset()
) -> set[str]:
    """Bring every attendee's copy of an organizer's event up to date; the calendars touched."""
    record = organizer.events[event_id]
    if event_id not in organizer.copies and '"attendees"' not in record.data:
        return set()  # the common case, kept cheap: nobody invited, nobody ever was
    resource = record.resource()
    invited: set[str] = set()
    if not record.cancelled:
        invited = {e for e in _emails(resource) if e != organizer.id and store.known(e)}
    if not invited and event_id not in organizer.copies:
        return set()
    linked = organizer.copies.setdefault(event_id, set())
    touched: set[str] = set()
    for attendee in sorted(invited - skip):
        if not _deliverable(store, organizer, attendee, event_id):
            continue
        calendar = store.calendar(attendee)
        held = calendar.events.get(event_id)
        previous = held.resource() if held is not None else None
        store.save(
            calendar,
            event_id,
            _copy_of(resource, attendee, previous),
            created=False,
            series_id=record.series_id,
        )
        calendar.origin[event_id] = organizer.id
        linked.add(attendee)
        touched.add(attendee)
    for attendee in sorted(linked - invited):
        calendar = store.calendar(attendee)
        calendar.dismissed.discard(event_id)
        if calendar.origin.get(event_id) == organizer.id and _cancel_copy(
            store, calendar, event_id
        ):
            touched.add(attendee)
    return touched


def _shared_view(resource: JSON, attendee: str) -> JSON:
    """What the organizer owns in an event: everything but the attendee's own fields."""
    view = {
        key: value
        for key, value in resource.items()
        if key not in _OWN_FIELDS and key not in _SERVER_FIELDS and key not in READ_ONLY_FIELDS
    }
    extended = view.get("extendedProperties")
    if isinstance(extended, dict):
        view["extendedProperties"] = {"shared": extended.get("shared") or {}}
    attendees = view.get("attendees")
    if isinstance(attendees, list):
        view["attendees"] = [
            {
                key: value
                for key, value in without_self(a).items()
                if a.get("email") != attendee or key not in _OWN_RESPONSE_FIELDS
            }
            for a in attendees
            if isinstance(a, dict)
        ]
    return {key: value for key, value in view.items() if value not in (None, {}, [])}


def check_attendee_write(current: JSON, resource: JSON, attendee: str) -> None:
    """403 `forbiddenForNonOrganizer` unless only the attendee's own fields change; marks the
    attendee's own entry of ``resource`` `self` again."""
    if _shared_view(current, attendee) != _shared_view(resource, attendee):
        raise forbidden_for_non_organizer()
    attendees = resource.get("attendees")
    if isinstance(attendees, list):
        resource["attendees"] = [
            {**without_self(a), "self": True} if a.get("email") == attendee else without_self(a)
            for a in attendees
            if isinstance(a, dict)
        ]


def _own_entry(resource: JSON, attendee: str) -> JSON:
    for entry in resource.get("attendees") or []:
        if isinstance(entry, dict) and entry.get("email") == attendee:
            return {key: entry[key] for key in _OWN_RESPONSE_FIELDS if key in entry}
    return {}


def after_attendee_write(
    store: Store, calendar: Calendar, event_id: str, before: JSON, after: JSON
) -> set[str]:
    """Take an attendee's changed response to the organizer's event (and its other copies)."""
    answer = _own_entry(after, calendar.id)
    if answer == _own_entry(before, calendar.id):
        return set()
    organizer = store.calendar(calendar.origin.get(event_id, ""))
    record = organizer.events.get(event_id)
    if record is None or record.cancelled:
        return set()  # an instance of a series, or an event the organizer deleted: stays local
    resource = record.resource()
    entries = resource.get("attendees") or []
    for entry in entries:
        if isinstance(entry, dict) and entry.get("email") == calendar.id:
            for key in _OWN_RESPONSE_FIELDS:
                entry.pop(key, None)
            entry.update(answer)
    store.save(organizer, event_id, resource, created=False, series_id=record.series_id)
    return {organizer.id} | propagate(store, organizer, event_id, skip=frozenset({calendar.id}))
