"""Calendar API event resources, built the way the API spells them (calendar-api.md section 2).

One builder for every tier: unit tests decode its output, fakes store it, and the Calendar
emulator (or a real calendar) accepts it as an insert, update or bulk-load body.

``event(...)`` gives ``kind``, ``id`` (when given), ``status`` and what the arguments name. The
fields the server stamps (``etag``, ``updated``, ``created``, ``iCalUID``, ``sequence``,
``htmlLink``, ``creator``) are left to whatever stores the event -- the emulator or
``confsync.testing.FakeCalendar`` -- unless a test passes them as keywords, which become fields
of the event as they are. ``conference_data(...)`` gives an add-on conference: ``conferenceId``,
``conferenceSolution`` (``key.type``, ``name``, optional ``iconUri``) and, when there is a join
URL, one ``video`` entry point.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

__all__ = ["DEFAULT_START", "SOLUTION", "conference_data", "event", "event_time"]

SOLUTION = "My Web Conference"
"""The conference solution confsync is configured to own by default (add-on conferences)."""

DEFAULT_START = "2027-03-01T10:00:00Z"

JSON = dict[str, Any]
Time = str | Mapping[str, Any]


def conference_data(
    conference_id: str,
    *,
    solution: str = SOLUTION,
    join_url: str | None = None,
    solution_type: str = "addOn",
    icon_uri: str | None = None,
    label: str | None = None,
    entry_points: Sequence[Mapping[str, Any]] | None = None,
    **fields: Any,
) -> JSON:
    """An event's ``conferenceData``: ``conferenceId``, ``conferenceSolution`` and entry points.

    ``join_url`` becomes the one ``video`` entry point (with ``label``, when given); without it
    the conference has no ``entryPoints`` unless ``entry_points`` lists them (then exactly those,
    in that order). Further keywords (``parameters``, ``createRequest``, ...) are added as given.
    """
    solution_field: JSON = {"key": {"type": solution_type}, "name": solution}
    if icon_uri is not None:
        solution_field["iconUri"] = icon_uri
    data: JSON = {"conferenceId": conference_id, "conferenceSolution": solution_field}
    if entry_points is not None:
        data["entryPoints"] = [dict(point) for point in entry_points]
    elif join_url is not None:
        video: JSON = {"entryPointType": "video", "uri": join_url}
        if label is not None:
            video["label"] = label
        data["entryPoints"] = [video]
    data.update(fields)
    return data


def event_time(value: Time, time_zone: str | None = None) -> JSON:
    """A ``start``/``end`` object: ``{"date": ...}`` for ``YYYY-MM-DD``, else ``{"dateTime": ...}``
    (plus ``timeZone`` when given); a mapping is taken as it is."""
    if not isinstance(value, str):
        return dict(value)
    moment: JSON = {"date": value} if _is_date(value) else {"dateTime": value}
    if time_zone is not None:
        moment["timeZone"] = time_zone
    return moment


def event(
    event_id: str | None = None,
    *,
    summary: str | None = "Planning",
    start: Time = DEFAULT_START,
    end: Time | None = None,
    time_zone: str | None = None,
    conference: Mapping[str, Any] | None = None,
    organizer: str | Mapping[str, Any] | None = None,
    organizer_self: bool = True,
    attendees: Sequence[str | Mapping[str, Any]] | None = None,
    recurrence: Sequence[str] | None = None,
    status: str = "confirmed",
    **fields: Any,
) -> JSON:
    """One event resource.

    ``start``/``end``: an RFC 3339 date-time or a ``YYYY-MM-DD`` date (see :func:`event_time`);
    ``end`` defaults to one hour (one day for a date) after ``start``. ``organizer``: an email
    (``self: true`` unless ``organizer_self`` is false, as the API answers on the organizer's own
    calendar) or the whole object. ``attendees``: emails or attendee objects. ``conference``: see
    :func:`conference_data`. Further keywords are fields of the event, added last as given.
    """
    resource: JSON = {"kind": "calendar#event"}
    if event_id is not None:
        resource["id"] = event_id
    resource["status"] = status
    if summary is not None:
        resource["summary"] = summary
    resource["start"] = event_time(start, time_zone)
    resource["end"] = event_time(_default_end(start) if end is None else end, time_zone)
    if recurrence is not None:
        resource["recurrence"] = list(recurrence)
    if organizer is not None:
        resource["organizer"] = _person(organizer, organizer_self)
    if attendees is not None:
        resource["attendees"] = [
            {"email": who} if isinstance(who, str) else dict(who) for who in attendees
        ]
    if conference is not None:
        resource["conferenceData"] = dict(conference)
    resource.update(fields)
    return resource


def _person(who: str | Mapping[str, Any], is_self: bool) -> JSON:
    if not isinstance(who, str):
        return dict(who)
    return {"email": who, "self": True} if is_self else {"email": who}


def _is_date(value: str) -> bool:
    return len(value) == 10 and value[4] == "-" and value[7] == "-"


def _default_end(start: Time) -> Time:
    if not isinstance(start, str):
        moment = start.get("dateTime") or start.get("date")
        if not isinstance(moment, str):
            raise ValueError(f"no end given and no time in start {start!r}")
        return {**start, ("dateTime" if "dateTime" in start else "date"): _default_end(moment)}
    if _is_date(start):
        return (date.fromisoformat(start) + timedelta(days=1)).isoformat()
    later = datetime.fromisoformat(start.replace("Z", "+00:00")) + timedelta(hours=1)
    text = later.isoformat()
    return text.replace("+00:00", "Z") if start.endswith("Z") else text
