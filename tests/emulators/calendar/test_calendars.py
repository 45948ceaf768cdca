"""Secondary calendars and their ACL (calendars.insert/get/delete, acl.insert/delete) through an
unmodified google-api-python-client: what the conformance suite's scratch calendar relies on,
and what the emulator answers where the suite does not look (bad bodies, other users)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests
from googleapiclient.errors import HttpError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calendar_emulator.server import EmulatorServer

from .support import assert_error_reason, event_body

ADA, BOB = "ada@example.com", "bob@example.com"


@pytest.fixture(name="ada")
def fixture_ada(service: Any, service_as: Callable[[str], Any]) -> Any:
    return service_as(ADA)


def _make(client: Any, summary: str = "Scratch", **fields: Any) -> dict[str, Any]:
    made = client.calendars().insert(body={"summary": summary, **fields}).execute()
    assert isinstance(made, dict)
    return made


def test_a_new_calendar_is_secondary_owned_by_its_creator_and_listed(ada: Any) -> None:
    made = _make(ada, "Team", timeZone="Europe/Berlin")

    assert made["kind"] == "calendar#calendar"
    assert made["id"].endswith("@group.calendar.google.com")
    assert (made["summary"], made["timeZone"]) == ("Team", "Europe/Berlin")
    assert ada.calendars().get(calendarId=made["id"]).execute() == made
    assert ada.events().list(calendarId=made["id"]).execute()["accessRole"] == "owner"
    listed = ada.calendarList().list().execute()["items"]
    assert {(entry["id"], entry["accessRole"]) for entry in listed} >= {(made["id"], "owner")}


def test_a_deleted_calendar_answers_404_everywhere_and_leaves_the_list(ada: Any) -> None:
    made = _make(ada)
    ada.events().insert(calendarId=made["id"], body=event_body()).execute()

    ada.calendars().delete(calendarId=made["id"]).execute()

    for request in (
        ada.calendars().get(calendarId=made["id"]),
        ada.events().list(calendarId=made["id"]),
        ada.events().insert(calendarId=made["id"], body=event_body()),
        ada.calendars().delete(calendarId=made["id"]),
    ):
        with pytest.raises(HttpError) as caught:
            request.execute()
        assert_error_reason(caught.value, 404, "notFound")
    listed = ada.calendarList().list().execute()["items"]
    assert made["id"] not in {entry["id"] for entry in listed}


def test_acl_insert_gives_a_role_and_acl_delete_takes_it_back(
    ada: Any, service_as: Callable[[str], Any]
) -> None:
    made = _make(ada)
    bob = service_as(BOB)

    rule = (
        ada.acl()
        .insert(
            calendarId=made["id"],
            body={"role": "reader", "scope": {"type": "user", "value": BOB}},
        )
        .execute()
    )
    seen = bob.events().list(calendarId=made["id"]).execute()["accessRole"]
    ada.acl().delete(calendarId=made["id"], ruleId=rule["id"]).execute()

    assert rule["id"] == f"user:{BOB}"
    assert rule["role"] == "reader"
    assert seen == "reader"
    with pytest.raises(HttpError) as caught:
        bob.events().list(calendarId=made["id"]).execute()
    assert_error_reason(caught.value, 404, "notFound")


def test_only_an_owner_may_change_the_acl_or_delete_the_calendar(
    ada: Any, service_as: Callable[[str], Any]
) -> None:
    made = _make(ada)
    ada.acl().insert(
        calendarId=made["id"], body={"role": "writer", "scope": {"type": "user", "value": BOB}}
    ).execute()
    bob = service_as(BOB)

    for request in (
        bob.calendars().delete(calendarId=made["id"]),
        bob.acl().insert(
            calendarId=made["id"], body={"role": "owner", "scope": {"type": "user", "value": BOB}}
        ),
    ):
        with pytest.raises(HttpError) as caught:
            request.execute()
        assert_error_reason(caught.value, 403, "forbidden")
    assert ada.calendars().get(calendarId=made["id"]).execute()["id"] == made["id"]


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        ({}, 400, "required"),
        ({"summary": "  "}, 400, "required"),
        ({"summary": "Zoned", "timeZone": "Mars/Olympus"}, 400, "invalid"),
        ({"summary": "Zoned", "timeZone": "America"}, 400, "invalid"),  # a folder of zones
    ],
)
def test_a_bad_calendar_body_is_refused_and_makes_nothing(
    ada: Any, body: dict[str, Any], status: int, reason: str
) -> None:
    before = ada.calendarList().list().execute()["items"]

    with pytest.raises(HttpError) as caught:
        ada.calendars().insert(body=body).execute()

    assert_error_reason(caught.value, status, reason)
    assert ada.calendarList().list().execute()["items"] == before


@pytest.mark.parametrize(
    "body",
    [
        {"role": "reader"},
        {"role": "reader", "scope": {"type": "domain", "value": "example.com"}},
        {"role": "admin", "scope": {"type": "user", "value": BOB}},
    ],
)
def test_a_bad_acl_rule_is_refused(ada: Any, body: dict[str, Any]) -> None:
    made = _make(ada)

    with pytest.raises(HttpError) as caught:
        ada.acl().insert(calendarId=made["id"], body=body).execute()

    assert caught.value.resp.status == 400


def test_a_primary_calendar_cannot_be_deleted(ada: Any) -> None:
    with pytest.raises(HttpError) as caught:
        ada.calendars().delete(calendarId="primary").execute()

    assert_error_reason(caught.value, 400, "invalid")


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
BODIES = (
    st.dictionaries(
        st.sampled_from(["summary", "timeZone", "role", "scope", "type", "value", "id"]),
        JSON_VALUES | st.fixed_dictionaries({"type": JSON_VALUES, "value": JSON_VALUES}),
    )
    | JSON_VALUES
)


@settings(
    database=None, max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(body=BODIES)
def test_any_body_is_answered_200_or_a_clear_4xx_never_a_500(
    emulator: EmulatorServer, body: Any
) -> None:
    owner = {"Authorization": f"Bearer user:{ADA}"}
    base = emulator.api_endpoint
    made = requests.post(f"{base}calendars", json={"summary": "fuzz"}, headers=owner, timeout=10)
    calendar_id = made.json()["id"]

    for url in (f"{base}calendars", f"{base}calendars/{calendar_id}/acl"):
        answer = requests.post(url, json=body, headers=owner, timeout=10)
        assert answer.status_code in (200, 400), answer.text
        if answer.status_code == 400:
            error = answer.json()["error"]
            assert error["code"] == 400
            assert error["errors"][0]["reason"] in ("required", "invalid", "parseError")
