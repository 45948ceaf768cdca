"""Validation and normalisation of event bodies sent to insert, update and patch.

Pure functions: they take the client's body (and the stored resource, if any) and either raise an
`ApiError` with Google's answer or return the resource to store, minus the server-set fields
(`etag`, `updated`, ...), which the store fills in.
"""

from __future__ import annotations

import copy
import datetime
import re
import secrets
from typing import Any

from .errors import invalid_parameter, required, time_range_empty
from .recurrence import RecurrenceError, build_series
from .timeutil import EventTime, parse_event_time

__all__ = [
    "READ_ONLY_FIELDS",
    "apply_conference_data",
    "check_event_id",
    "check_sequence",
    "check_times",
    "merge_patch",
    "parse_conference_version",
    "strip_read_only",
]

JSON = dict[str, Any]

# Fields the server owns; a client's values are ignored.
READ_ONLY_FIELDS = frozenset(
    {
        "kind",
        "etag",
        "created",
        "updated",
        "htmlLink",
        "creator",
        "organizer",
        "recurringEventId",
        "originalStartTime",
        "hangoutLink",
        "locked",
        "privateCopy",
    }
)

_EVENT_ID_RE = re.compile(r"^[a-v0-9]{5,1024}\Z")
_STATUSES = ("confirmed", "tentative", "cancelled")
_SEQUENCE_MESSAGE = (
    "Invalid sequence value. The specified sequence number is below the current sequence number "
    "of the resource. Re-fetch the resource and use its sequence number on the following request."
)


def check_event_id(event_id: Any) -> str:
    """A client-supplied id: base32hex (a-v, 0-9), 5 to 1024 characters."""
    if not isinstance(event_id, str) or not _EVENT_ID_RE.match(event_id):
        raise invalid_parameter("Invalid resource id value.")
    return event_id


def strip_read_only(body: JSON) -> JSON:
    return {key: value for key, value in body.items() if key not in READ_ONLY_FIELDS}


def _time(body: JSON, field: str) -> EventTime:
    value = body.get(field)
    if value is None or value == {}:
        raise required(f"Missing {field} time.")
    try:
        return parse_event_time(value)
    except ValueError as exc:
        zone = value.get("timeZone") if isinstance(value, dict) else None
        if zone and "time zone" in str(exc):
            raise invalid_parameter(f"Invalid time zone definition for {field} time.") from exc
        raise invalid_parameter(f"Invalid {field} time.") from exc


def check_times(body: JSON) -> tuple[EventTime, EventTime]:
    """Validate `start`, `end`, `status` and `recurrence`; return the parsed start and end."""
    end = _time(body, "end")
    start = _time(body, "start")
    if start.all_day != end.all_day:
        raise invalid_parameter("Start and end times must either both be date or both be dateTime.")
    if end.moment < start.moment:
        raise time_range_empty()
    status = body.get("status", "confirmed")
    if status not in _STATUSES:
        raise invalid_parameter("Invalid value for: status", None)
    recurrence = body.get("recurrence")
    if recurrence is not None:
        if not isinstance(recurrence, list) or not all(isinstance(x, str) for x in recurrence):
            raise invalid_parameter("Invalid recurrence rule.")
        if recurrence:
            if not start.all_day and not start.zone:
                raise required("Missing time zone definition for start time.")
            try:
                build_series(start, end, recurrence)
            except RecurrenceError as exc:
                raise invalid_parameter("Invalid recurrence rule.") from exc
    return start, end


def with_offsets(resource: JSON) -> None:
    """Write every ``dateTime`` given as a local time plus ``timeZone`` with its offset.

    Google answers every ``start`` / ``end`` date-time with an explicit offset (for example
    ``2026-12-02T09:00:00+01:00`` for 09:00 in ``Europe/Berlin``), however it was written.
    """
    for field in ("start", "end"):
        value = resource.get(field)
        if not isinstance(value, dict) or not isinstance(value.get("dateTime"), str):
            continue
        if datetime.datetime.fromisoformat(value["dateTime"].replace("Z", "+00:00")).tzinfo:
            continue
        value["dateTime"] = parse_event_time(value).moment.isoformat()


def check_sequence(body: JSON, previous: JSON | None, times_changed: bool) -> int:
    """The sequence to store: the client's (never lower than before) or the old one, bumped when
    the time or recurrence changed."""
    old = int(previous.get("sequence", 0)) if previous else 0
    given = body.get("sequence")
    if given is not None:
        if not isinstance(given, int) or isinstance(given, bool):
            raise invalid_parameter("Invalid value for: sequence")
        if given < old:
            raise invalid_parameter(_SEQUENCE_MESSAGE)
        if given > old:
            return given
    return old + 1 if previous is not None and times_changed else old


def merge_patch(target: JSON, patch: JSON) -> JSON:
    """Patch semantics: objects merge recursively, arrays and scalars replace, null removes."""
    merged = copy.deepcopy(target)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_patch(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def parse_conference_version(raw: str | None) -> int:
    if raw is None or raw == "":
        return 0
    try:
        value = int(raw)
    except ValueError as exc:
        raise invalid_parameter(
            f"Invalid value '{raw}'. Values must be within the range: [0, 1]",
            "conferenceDataVersion",
        ) from exc
    if value not in (0, 1):
        raise invalid_parameter(
            f"Invalid value '{raw}'. Values must be within the range: [0, 1]",
            "conferenceDataVersion",
        )
    return value


def _meet_conference(request: JSON) -> JSON:
    code = "-".join(
        "".join(secrets.choice("abcdefghijkmnopqrstuvwxyz") for _ in range(n)) for n in (3, 4, 3)
    )
    return {
        "createRequest": {**request, "status": {"statusCode": "success"}},
        "entryPoints": [
            {
                "entryPointType": "video",
                "uri": f"https://meet.google.com/{code}",
                "label": f"meet.google.com/{code}",
            }
        ],
        "conferenceSolution": {
            "key": {"type": "hangoutsMeet"},
            "name": "Google Meet",
            "iconUri": "https://fonts.gstatic.com/s/i/productlogos/meet_2020q4/v6/web-512dp/logo_meet_2020q4_color_2x_web_512dp.png",
        },
        "conferenceId": code,
    }


def _check_conference(data: Any, previous: JSON | None) -> JSON:
    if not isinstance(data, dict):
        raise invalid_parameter("Invalid conference data.")
    create = data.get("createRequest")
    if create is not None and "conferenceSolution" not in data and "entryPoints" not in data:
        if not isinstance(create, dict):
            raise invalid_parameter("Invalid conference data.")
        old_request = (previous or {}).get("createRequest")
        same_request = isinstance(old_request, dict) and old_request.get("requestId") == create.get(
            "requestId"
        )
        if previous is not None and same_request:
            return previous  # same requestId as before: ignored
        key = create.get("conferenceSolutionKey")
        kind = key.get("type") if isinstance(key, dict) else None
        if kind == "hangoutsMeet":
            return _meet_conference(create)
        return {"createRequest": {**create, "status": {"statusCode": "failure"}}}
    return copy.deepcopy(data)


def apply_conference_data(
    resource: JSON, body: JSON, previous: JSON | None, version: int, replace: bool
) -> None:
    """Set `resource["conferenceData"]` following `conferenceDataVersion`.

    With version 0 the body's conference data is ignored and the stored one kept. With version 1
    the body's conference data is stored; when it is absent, a full replacement (`replace`, PUT)
    removes the stored conference and a patch keeps it.
    """
    old = (previous or {}).get("conferenceData")
    resource.pop("conferenceData", None)
    if version == 0 or ("conferenceData" not in body and not replace):
        if old is not None:
            resource["conferenceData"] = old
        return
    if "conferenceData" not in body or body["conferenceData"] is None:
        return
    conference = _check_conference(body["conferenceData"], old)
    resource["conferenceData"] = conference
    solution = conference.get("conferenceSolution")
    key = solution.get("key") if isinstance(solution, dict) else None
    entry_points = conference.get("entryPoints")
    if (
        isinstance(key, dict)
        and key.get("type") == "hangoutsMeet"
        and isinstance(entry_points, list)
        and entry_points
        and isinstance(entry_points[0], dict)
    ):
        resource["hangoutLink"] = entry_points[0].get("uri")
