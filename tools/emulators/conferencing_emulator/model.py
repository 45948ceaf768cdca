"""The conference state and the validation of request bodies.

Pure functions and data: no HTTP, no locking. Validation raises
:class:`~conferencing_emulator.errors.ValidationError` naming the offending field.
"""

from __future__ import annotations

import copy
import datetime
import re
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from .errors import ValidationError

__all__ = [
    "OWNER_FIELD",
    "READ_ONLY_FIELDS",
    "STATE_FIELDS",
    "Conference",
    "CreateRequest",
    "PutRequest",
    "parse_create",
    "parse_date_or_datetime",
    "parse_put",
    "parse_revision_param",
    "utc_now_text",
]

#: The desired-state fields a client sends (POST and PUT).
STATE_FIELDS: Final = (
    "title",
    "start",
    "end",
    "timeZone",
    "attendees",
    "recurrence",
    "cancelledOccurrences",
    "modifiedOccurrences",
    "organizer",
    "calendarId",
    "eventId",
)
#: Fields set by the system: accepted in a body (so a fetched Conference can be sent back) and
#: ignored, except ``status`` which must then be ``"active"``.
READ_ONLY_FIELDS: Final = ("id", "joinUrl", "status", "createdAt", "updatedAt")
#: The e-mail of the organizer the conference was created for: optional on POST (validated as an
#: e-mail when given, stored as given), read-only afterwards (a PUT may send it; it is ignored).
OWNER_FIELD: Final = "owner"
#: Fields PUT requires besides ``revision``.
PUT_REQUIRED: Final = ("title", "start", "end")

_DATE_RE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME_RE: Final = re.compile(
    r"(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})"
)
_EMAIL_RE: Final = re.compile(r"[^@\s]+@[^@\s]+")
_RECURRENCE_RE: Final = re.compile(r"(RRULE|EXRULE|RDATE|EXDATE)[;:]\S.*")
_MODIFIED_KEYS: Final = ("originalStart", "start", "end", "title")

Instant = datetime.date | datetime.datetime


def parse_date_or_datetime(value: str) -> Instant | None:
    """A ``YYYY-MM-DD`` date or an RFC3339 date-time with offset; None when neither."""
    if _DATE_RE.fullmatch(value):
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            return None
    match = _DATETIME_RE.fullmatch(value)
    if match is None:
        return None
    day, clock, fraction, offset = match.groups()
    micro = (fraction or "")[:7]  # the dot and at most six digits
    zone = "+00:00" if offset in ("Z", "z") else offset
    try:
        return datetime.datetime.fromisoformat(f"{day}T{clock}{micro}{zone}")
    except ValueError:
        return None


def utc_now_text(now: datetime.datetime) -> str:
    """RFC3339 in UTC with milliseconds and ``Z``."""
    return now.astimezone(datetime.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Conference:
    """One conference as the system stores it."""

    id: str
    join_url: str
    created_at: str
    updated_at: str
    title: str = ""
    start: str | None = None
    end: str | None = None
    time_zone: str | None = None
    attendees: list[str] = field(default_factory=list)
    recurrence: list[str] = field(default_factory=list)
    cancelled_occurrences: list[str] = field(default_factory=list)
    modified_occurrences: list[dict[str, Any]] = field(default_factory=list)
    organizer: str | None = None
    calendar_id: str | None = None
    event_id: str | None = None
    owner: str | None = None
    status: str = "active"
    revision: int = 0

    def apply(self, state: dict[str, Any]) -> None:
        """Overwrite the state fields present in ``state`` (validated JSON names)."""
        for name, value in state.items():
            setattr(self, _ATTRIBUTE[name], copy.deepcopy(value))

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "joinUrl": self.join_url,
            "title": self.title,
            "start": self.start,
            "end": self.end,
            "timeZone": self.time_zone,
            "attendees": list(self.attendees),
            "recurrence": list(self.recurrence),
            "cancelledOccurrences": list(self.cancelled_occurrences),
            "modifiedOccurrences": copy.deepcopy(self.modified_occurrences),
            "organizer": self.organizer,
            "calendarId": self.calendar_id,
            "eventId": self.event_id,
            "owner": self.owner,
            "status": self.status,
            "revision": self.revision,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
        }


_ATTRIBUTE: Final = {
    "title": "title",
    "start": "start",
    "end": "end",
    "timeZone": "time_zone",
    "attendees": "attendees",
    "recurrence": "recurrence",
    "cancelledOccurrences": "cancelled_occurrences",
    "modifiedOccurrences": "modified_occurrences",
    "organizer": "organizer",
    "calendarId": "calendar_id",
    "eventId": "event_id",
}

#: Defaults a PUT gives to the optional state fields it leaves out (PUT replaces the state).
_DEFAULTS: Final[dict[str, Any]] = {
    "timeZone": None,
    "attendees": [],
    "recurrence": [],
    "cancelledOccurrences": [],
    "modifiedOccurrences": [],
    "organizer": None,
    "calendarId": None,
    "eventId": None,
}


@dataclass(frozen=True)
class CreateRequest:
    """A validated ``POST /v1/conferences`` body: the state fields it sets and the owner (None:
    the conference has no owner)."""

    state: dict[str, Any]
    owner: str | None = None


@dataclass(frozen=True)
class PutRequest:
    """A validated ``PUT /v1/conferences/{id}`` body."""

    state: dict[str, Any]
    revision: int
    changed_fields: list[str] | None


# --- field validators -------------------------------------------------------------------------


def _string(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ValidationError(name, "must be a string")
    return value


def _optional_string(name: str, value: Any) -> str | None:
    return None if value is None else _string(name, value)


def _instant_text(name: str, value: Any) -> str:
    text = _string(name, value)
    if parse_date_or_datetime(text) is None:
        raise ValidationError(
            name, f"{text!r} is neither an RFC3339 date-time with offset nor YYYY-MM-DD"
        )
    return text


def _optional_instant_text(name: str, value: Any) -> str | None:
    return None if value is None else _instant_text(name, value)


def _email(name: str, value: Any) -> str:
    text = _string(name, value)
    if not _EMAIL_RE.fullmatch(text):
        raise ValidationError(name, f"{text!r} is not an e-mail address")
    return text


def _optional_email(name: str, value: Any) -> str | None:
    return None if value is None else _email(name, value)


def _time_zone(name: str, value: Any) -> str | None:
    if value is None:
        return None
    text = _string(name, value)
    try:
        zoneinfo.ZoneInfo(text)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(name, f"{text!r} is not an IANA time zone name") from None
    return text


def _list(name: str, value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise ValidationError(name, "must be a list")
    return value


def _recurrence(name: str, value: Any) -> list[str]:
    lines = []
    for index, item in enumerate(_list(name, value)):
        line = _string(f"{name}[{index}]", item)
        if not _RECURRENCE_RE.fullmatch(line):
            raise ValidationError(
                f"{name}[{index}]", f"{line!r} is not an RRULE, EXRULE, RDATE or EXDATE line"
            )
        lines.append(line)
    return lines


def _check_order(name: str, start: str | None, end: str | None) -> None:
    """Same kind (both dates or both date-times) and end not before start."""
    if start is None or end is None:
        return
    first, last = parse_date_or_datetime(start), parse_date_or_datetime(end)
    if isinstance(first, datetime.datetime) != isinstance(last, datetime.datetime):
        raise ValidationError(name, "start and end must both be dates or both be date-times")
    if first is not None and last is not None and last < first:
        raise ValidationError(name, f"{end!r} is before start {start!r}")


def _modified(name: str, value: Any) -> list[dict[str, Any]]:
    result = []
    for index, item in enumerate(_list(name, value)):
        where = f"{name}[{index}]"
        if not isinstance(item, dict):
            raise ValidationError(where, "must be an object")
        for key in item:
            if key not in _MODIFIED_KEYS:
                raise ValidationError(f"{where}.{key}", "unknown field")
        for key in ("originalStart", "start", "end"):
            if key not in item:
                raise ValidationError(f"{where}.{key}", "is required")
        entry = {
            "originalStart": _instant_text(f"{where}.originalStart", item["originalStart"]),
            "start": _instant_text(f"{where}.start", item["start"]),
            "end": _instant_text(f"{where}.end", item["end"]),
            "title": _optional_string(f"{where}.title", item.get("title")),
        }
        _check_order(f"{where}.end", entry["start"], entry["end"])
        result.append(entry)
    return result


_VALIDATORS: Final[dict[str, Callable[[str, Any], Any]]] = {
    "title": _string,
    "start": _optional_instant_text,
    "end": _optional_instant_text,
    "timeZone": _time_zone,
    "attendees": lambda n, v: [_email(f"{n}[{i}]", x) for i, x in enumerate(_list(n, v))],
    "recurrence": _recurrence,
    "cancelledOccurrences": lambda n, v: [
        _instant_text(f"{n}[{i}]", x) for i, x in enumerate(_list(n, v))
    ],
    "modifiedOccurrences": _modified,
    "organizer": _optional_email,
    "calendarId": _optional_string,
    "eventId": _optional_string,
}


def _revision(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(name, "must be an integer")
    if value < 0:
        raise ValidationError(name, f"must be >= 0, got {value}")
    return value


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ValidationError("body", "must be a JSON object")
    return body


def _state(body: dict[str, Any], extra: tuple[str, ...]) -> dict[str, Any]:
    """The validated state fields of ``body``; refuses unknown fields."""
    for name in body:
        if name not in STATE_FIELDS and name not in READ_ONLY_FIELDS and name not in extra:
            raise ValidationError(name, "unknown field")
    if "status" in body and body["status"] != "active":
        raise ValidationError(
            "status", 'is set by the system; only "active" may be sent (delete with DELETE)'
        )
    state: dict[str, Any] = {
        name: _VALIDATORS[name](name, body[name]) for name in STATE_FIELDS if name in body
    }
    _check_order("end", state.get("start"), state.get("end"))
    return state


def parse_create(body: Any) -> CreateRequest:
    """Validate a create body: every state field optional, ``revision`` ignored (starts at 0),
    ``owner`` optional (an e-mail address or null, kept as given)."""
    obj = _object(body)
    state = _state(obj, extra=("revision", "changedFields", OWNER_FIELD))
    return CreateRequest(state, owner=_optional_email(OWNER_FIELD, obj.get(OWNER_FIELD)))


def parse_put(body: Any) -> PutRequest:
    """Validate a PUT body: ``revision``, ``title``, ``start`` and ``end`` required.

    The state fields left out take their defaults (empty lists, null): PUT replaces the state.
    ``owner`` is read-only: it may be sent (any value) and is ignored.
    """
    obj = _object(body)
    if "revision" not in obj:
        raise ValidationError("revision", "is required")
    revision = _revision("revision", obj["revision"])
    for name in PUT_REQUIRED:
        if name not in obj:
            raise ValidationError(name, "is required")
        if obj[name] is None:
            raise ValidationError(name, "must not be null")
    changed: list[str] | None = None
    if obj.get("changedFields") is not None:
        changed = [
            _string(f"changedFields[{i}]", x)
            for i, x in enumerate(_list("changedFields", obj["changedFields"]))
        ]
    state = {**_DEFAULTS, **_state(obj, extra=("revision", "changedFields", OWNER_FIELD))}
    return PutRequest(state=state, revision=revision, changed_fields=changed)


def parse_revision_param(value: str | None) -> int:
    """The ``revision`` query parameter of DELETE: required, a non-negative decimal integer."""
    if value is None or value == "":
        raise ValidationError("revision", "query parameter is required")
    if not (value.isascii() and value.isdigit()):
        raise ValidationError("revision", f"must be a non-negative integer, got {value!r}")
    return int(value)
