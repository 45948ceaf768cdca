"""Fault rules: parsing, matching by method and calendar, counts, probabilities."""

from __future__ import annotations

import pytest

from calendar_emulator.faults import FaultRegistry


def test_rule_matches_method_and_calendar_only() -> None:
    faults = FaultRegistry()
    faults.add([{"method": "calendar.events.list", "calendarId": "a", "status": 503}])
    assert faults.for_request("calendar.events.get", "a").error is None
    assert faults.for_request("calendar.events.list", "b").error is None
    error = faults.for_request("calendar.events.list", "a").error
    assert error is not None
    assert error.status == 503
    assert error.reason == "backendError"


def test_reason_follows_catalogue() -> None:
    faults = FaultRegistry()
    faults.add([{"status": 403, "reason": "rateLimitExceeded"}])
    error = faults.for_request("calendar.events.insert", "x").error
    assert error is not None
    assert error.body()["error"]["errors"][0] == {
        "domain": "usageLimits",
        "reason": "rateLimitExceeded",
        "message": "Rate Limit Exceeded",
    }
    assert error.status == 403


def test_count_retires_rule() -> None:
    faults = FaultRegistry()
    faults.add([{"status": 500, "count": 2}])
    hits = [faults.for_request("calendar.events.list", None).error for _ in range(4)]
    assert [e is not None for e in hits] == [True, True, False, False]
    (described,) = faults.describe()
    assert described["fired"] == 2
    assert described["retired"] is True


def test_delay_only_rule() -> None:
    faults = FaultRegistry()
    faults.add([{"delayMs": 150}])
    decision = faults.for_request("calendar.events.get", "c")
    assert decision.error is None
    assert decision.delay_ms == 150


def test_seeded_probability_is_reproducible() -> None:
    def run() -> list[bool]:
        faults = FaultRegistry()
        faults.add({"seed": 7, "rules": [{"status": 500, "probability": 0.5}]})
        return [faults.for_request("m", None).error is not None for _ in range(40)]

    first = run()
    assert first == run()
    assert 5 < sum(first) < 35


def test_notification_rules_drop_and_duplicate() -> None:
    faults = FaultRegistry()
    faults.add([{"target": "notifications", "calendarId": "a", "dropProbability": 1}])
    assert faults.for_notification("a").drop
    assert not faults.for_notification("b").drop
    faults.clear()
    faults.add([{"target": "notifications", "duplicateProbability": 1, "delayMs": 20, "count": 1}])
    first = faults.for_notification("a")
    assert first.duplicate
    assert first.delay_ms == 20
    assert not faults.for_notification("a").duplicate


@pytest.mark.parametrize(
    "payload",
    [{"rules": "x"}, [{"probability": 2}], [{"status": "500"}], [{"target": "nowhere"}], [3]],
)
def test_bad_rules_are_rejected(payload) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        FaultRegistry().add(payload)
