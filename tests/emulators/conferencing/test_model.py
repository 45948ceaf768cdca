"""conferencing_emulator.model: date strings, body validation and the Conference state."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from conferencing_emulator.errors import ValidationError
from conferencing_emulator.model import (
    Conference,
    parse_create,
    parse_date_or_datetime,
    parse_put,
    parse_revision_param,
)


@pytest.mark.parametrize(
    "text",
    [
        "2026-03-02",
        "2026-03-02T09:00:00Z",
        "2026-03-02t09:00:00z",
        "2026-03-02T09:00:00+01:00",
        "2026-03-02T09:00:00.123-05:30",
        "2026-03-02T09:00:00.123456789Z",
        "2024-02-29",
    ],
)
def test_valid_date_strings(text: str) -> None:
    assert parse_date_or_datetime(text) is not None


@pytest.mark.parametrize(
    "text",
    [
        "",
        "2026-3-2",
        "2026-02-29",
        "2026-03-02T09:00:00",
        "2026-03-02 09:00:00Z",
        "2026-03-02T25:00:00Z",
        "2026-03-02T09:00Z",
        "20260302",
        "2026-03-02T09:00:00+0100",
    ],
)
def test_invalid_date_strings(text: str) -> None:
    assert parse_date_or_datetime(text) is None


def test_date_and_datetime_kinds() -> None:
    assert type(parse_date_or_datetime("2026-03-02")) is datetime.date
    parsed = parse_date_or_datetime("2026-03-02T09:00:00Z")
    assert isinstance(parsed, datetime.datetime)
    assert parsed.utcoffset() == datetime.timedelta(0)


def _put(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "T",
        "start": "2026-03-02T09:00:00Z",
        "end": "2026-03-02T10:00:00Z",
        "revision": 1,
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not ...}


def _field_of(body: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        parse_put(body)
    assert caught.value.status == 400
    assert caught.value.code == "invalid_request"
    assert caught.value.field_name is not None
    return caught.value.field_name


def test_minimal_put_gets_defaults() -> None:
    request = parse_put(_put())
    assert request.revision == 1
    assert request.changed_fields is None
    assert request.state["attendees"] == []
    assert request.state["timeZone"] is None
    assert request.state["title"] == "T"


def test_put_keeps_changed_fields() -> None:
    assert parse_put(_put(changedFields=["title"])).changed_fields == ["title"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"revision": ...}, "revision"),
        ({"revision": -1}, "revision"),
        ({"revision": 1.0}, "revision"),
        ({"revision": None}, "revision"),
        ({"title": ...}, "title"),
        ({"title": None}, "title"),
        ({"start": ...}, "start"),
        ({"end": None}, "end"),
        ({"end": "2026-03-02T08:00:00Z"}, "end"),
        ({"start": "2026-03-02", "end": "2026-03-01"}, "end"),
        ({"timeZone": "Not/AZone"}, "timeZone"),
        ({"timeZone": 3}, "timeZone"),
        ({"attendees": [3]}, "attendees[0]"),
        ({"recurrence": "RRULE:FREQ=DAILY"}, "recurrence"),
        ({"recurrence": ["RRULE:"]}, "recurrence[0]"),
        ({"cancelledOccurrences": ["2026-13-01"]}, "cancelledOccurrences[0]"),
        (
            {"modifiedOccurrences": [{"originalStart": "2026-03-02"}]},
            "modifiedOccurrences[0].start",
        ),
        (
            {
                "modifiedOccurrences": [
                    {
                        "originalStart": "2026-03-02",
                        "start": "2026-03-03",
                        "end": "2026-03-04",
                        "x": 1,
                    }
                ]
            },
            "modifiedOccurrences[0].x",
        ),
        (
            {
                "modifiedOccurrences": [
                    {
                        "originalStart": "2026-03-02",
                        "start": "2026-03-03",
                        "end": "2026-03-04",
                        "title": 1,
                    }
                ]
            },
            "modifiedOccurrences[0].title",
        ),
        (
            {
                "modifiedOccurrences": [
                    {"originalStart": "2026-03-02", "start": "2026-03-05", "end": "2026-03-04"}
                ]
            },
            "modifiedOccurrences[0].end",
        ),
        ({"organizer": "no-at-sign"}, "organizer"),
        ({"eventId": 5}, "eventId"),
        ({"status": "deleted"}, "status"),
        ({"surprise": 1}, "surprise"),
        ({"changedFields": [1]}, "changedFields[0]"),
    ],
)
def test_put_validation_names_the_field(overrides: dict[str, Any], field: str) -> None:
    assert _field_of(_put(**overrides)) == field


@pytest.mark.parametrize("body", [None, [], "x", 3])
def test_body_must_be_an_object(body: Any) -> None:
    assert _field_of(body) == "body"


def test_create_fields_are_optional_and_read_only_ignored() -> None:
    assert parse_create({}).state == {}
    request = parse_create({"title": "x", "id": "mine", "revision": 9, "status": "active"})
    assert request.state == {"title": "x"}


def test_create_validates_present_fields() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_create({"attendees": ["a@b", "oops"]})
    assert caught.value.field_name == "attendees[1]"


@pytest.mark.parametrize(("value", "expected"), [("0", 0), ("17", 17)])
def test_revision_param(value: str, expected: int) -> None:
    assert parse_revision_param(value) == expected


@pytest.mark.parametrize("value", [None, "", "-1", "+1", "1.0", "x", "\u0661"])
def test_revision_param_refused(value: str | None) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_revision_param(value)
    assert caught.value.field_name == "revision"


def test_conference_apply_copies_and_serialises() -> None:
    conference = Conference(id="c1", join_url="u", created_at="t0", updated_at="t0")
    attendees = ["a@example.com"]
    conference.apply({"attendees": attendees, "timeZone": "UTC"})
    attendees.append("b@example.com")
    body = conference.to_json()
    assert body["attendees"] == ["a@example.com"]
    assert body["timeZone"] == "UTC"
    assert list(body) == [
        "id",
        "joinUrl",
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
        "owner",
        "status",
        "revision",
        "createdAt",
        "updatedAt",
    ]
    assert body["owner"] is None
