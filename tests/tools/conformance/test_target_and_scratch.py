"""The suite's HTTP client and scratch calendars against the Calendar emulator: every request is
counted, rate limits and 5xx are retried and other errors are not, and a scratch calendar that
cannot be deleted is reported as left behind."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from calendar_emulator.server import EmulatorServer
from conformance.scratch import SUMMARY_PREFIX, ScratchCalendars
from conformance.target import Answer, CalendarTarget, path

USER = "owner@conformance.test"


@pytest.fixture(scope="module", name="server")
def fixture_server() -> Iterator[EmulatorServer]:
    with EmulatorServer(host="127.0.0.1", port=0) as server:
        yield server


@pytest.fixture(name="target")
def fixture_target(server: EmulatorServer) -> CalendarTarget:
    requests.post(f"{server.base_url}/emulator/v1/reset", timeout=10).raise_for_status()
    return CalendarTarget(server.api_endpoint, lambda: f"user:{USER}", base_delay=0.01)


def _faults(server: EmulatorServer, *rules: dict[str, Any]) -> None:
    answer = requests.post(f"{server.base_url}/emulator/v1/faults", json=list(rules), timeout=10)
    answer.raise_for_status()


@pytest.mark.parametrize(
    "rule",
    [
        {"status": 429},
        {"status": 403, "reason": "userRateLimitExceeded"},
        {"status": 403, "reason": "rateLimitExceeded"},
        {"status": 503},
    ],
)
def test_rate_limits_and_5xx_are_retried_and_every_attempt_counted(
    server: EmulatorServer, target: CalendarTarget, rule: dict[str, Any]
) -> None:
    _faults(server, {"method": "calendar.events.list", "count": 2, **rule})

    answer = target.call("events.list", "GET", path("calendars", USER, "events"))

    assert answer.status == 200
    assert target.calls == {"events.list": 3}


def test_other_errors_are_answered_as_they_came(
    server: EmulatorServer, target: CalendarTarget
) -> None:
    _faults(server, {"method": "calendar.events.list", "status": 403, "reason": "forbidden"})

    answer = target.call("events.list", "GET", path("calendars", USER, "events"))

    assert (answer.status, answer.reason) == (403, "forbidden")
    assert target.total_calls == 1


def test_retries_stop_after_the_last_attempt(
    server: EmulatorServer, target: CalendarTarget
) -> None:
    _faults(server, {"method": "calendar.events.list", "status": 500})

    answer = target.call("events.list", "GET", path("calendars", USER, "events"))

    assert answer.status == 500
    assert target.calls["events.list"] == target.max_attempts


def test_scratch_calendars_are_named_for_the_run_and_all_deleted(target: CalendarTarget) -> None:
    scratch = ScratchCalendars(target)
    made = [scratch.make(), scratch.make("second")]

    summary = target.call("calendars.get", "GET", path("calendars", made[0]))["summary"]
    left = scratch.delete_all()

    assert summary == f"{SUMMARY_PREFIX} {scratch.run_id} main"
    assert left == []
    assert sorted(scratch.deleted) == sorted(made)
    assert [target.call("calendars.get", "GET", path("calendars", m)).status for m in made] == [
        404,
        404,
    ]
    assert scratch.delete_all() == []  # nothing is deleted twice
    assert target.calls["calendars.delete"] == 2


def test_a_calendar_that_cannot_be_deleted_is_reported_left_behind(
    server: EmulatorServer, target: CalendarTarget
) -> None:
    scratch = ScratchCalendars(target)
    made = scratch.make()
    _faults(server, {"method": "calendar.calendars.delete", "status": 403, "reason": "forbidden"})

    assert scratch.delete_all() == [made]
    assert scratch.deleted == []


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=10,
)


@settings(database=None, deadline=None)
@given(st.dictionaries(st.sampled_from(["error", "errors", "reason", "code"]), JSON_VALUES))
def test_the_reason_of_any_answer_body_is_a_string_or_none(body: dict[str, Any]) -> None:
    reason = Answer(400, body, {}).reason

    assert reason is None or isinstance(reason, str)
