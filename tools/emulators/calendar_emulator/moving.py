"""events.move: an event changes calendar, and so organizer, keeping its id and iCalUID.

The destination calendar's user becomes the organizer. The source keeps a cancelled event that
carries only its id (calendar-api.md 1.5), unless the old organizer is an attendee, who then holds
an invitation copy like every other attendee. A series moves with its exception objects.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import ApiError, duplicate, not_found
from .model import JSON, Calendar
from .recurrence import split_instance_id
from .sharing import forbidden_for_non_organizer, propagate, without_self

if TYPE_CHECKING:
    from .store import Store

__all__ = ["move_event"]

_SERVER_FIELDS = ("kind", "etag", "htmlLink", "updated")


def _cannot_move_instance() -> ApiError:
    return ApiError(
        400, "cannotChangeOrganizerOfInstance", "Cannot change the organizer of an instance."
    )


def _check_movable(source: Calendar, destination: Calendar, event_id: str) -> None:
    record = source.events.get(event_id)
    if record is None:
        split = split_instance_id(event_id)
        if split is not None and split[0] in source.events:
            raise _cannot_move_instance()
        raise not_found()
    if record.series_id is not None:
        raise _cannot_move_instance()
    if record.cancelled:
        raise not_found()
    if event_id in source.origin:
        raise forbidden_for_non_organizer()
    held = destination.events.get(event_id)
    if held is not None and destination.origin.get(event_id) != source.id:
        raise duplicate()


def _as_organized_by(resource: JSON, destination: str) -> JSON:
    moved = {key: value for key, value in resource.items() if key not in _SERVER_FIELDS}
    moved["organizer"] = {"email": destination, "self": True}
    if "creator" in moved:
        creator = without_self(moved["creator"])
        if isinstance(creator, dict) and creator.get("email") == destination:
            creator = {**creator, "self": True}
        moved["creator"] = creator
    return moved


def _relink(source: Calendar, destination: Calendar, event_id: str, store: Store) -> None:
    """The copies of the event now come from the destination; the source may hold one too."""
    linked = source.copies.pop(event_id, set())
    linked.discard(destination.id)
    linked.add(source.id)
    destination.copies[event_id] = linked
    destination.origin.pop(event_id, None)
    destination.dismissed.discard(event_id)
    for calendar_id in linked:
        store.calendar(calendar_id).origin[event_id] = destination.id


def move_event(store: Store, source_id: str, event_id: str, destination_id: str) -> JSON:
    """Move the event; answers it as the destination now holds it."""
    with store.lock:
        if not store.known(destination_id):
            raise not_found()
        source = store.calendar(source_id)
        destination = store.calendar(destination_id)
        _check_movable(source, destination, event_id)
        if source.id == destination.id:
            return source.events[event_id].resource()
        ids = [event_id, *sorted(source.exceptions.get(event_id, set()))]
        saved: JSON = {}
        for moved_id in ids:
            record = source.events[moved_id]
            resource = _as_organized_by(record.resource(), destination.id)
            series_id = None if moved_id == event_id else event_id
            answer = store.save(destination, moved_id, resource, created=False, series_id=series_id)
            saved = saved or answer
            _relink(source, destination, moved_id, store)
            store.bury(source, moved_id)
        touched = {source.id, destination.id}
        for moved_id in ids:
            touched |= propagate(store, destination, moved_id)
    store.notify(touched)
    return saved
