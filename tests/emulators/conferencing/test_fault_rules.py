"""conferencing_emulator.faults: rule parsing and matching."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from conferencing_emulator.errors import ValidationError
from conferencing_emulator.faults import FaultBook, FaultHit, fault_error, parse_rules


def _book(body: Any) -> FaultBook:
    book = FaultBook(threading.RLock())
    book.add(*parse_rules(body))
    return book


def test_list_or_seeded_object() -> None:
    assert parse_rules([{"status": 503}])[0] is None
    seed, rules = parse_rules({"seed": 3, "rules": [{"status": 503}]})
    assert seed == 3
    assert len(rules) == 1


def test_scoping_and_count() -> None:
    book = _book([{"method": "PUT", "conferenceId": "c1", "status": 500, "count": 1}])
    assert book.match("DELETE", "c1") is None
    assert book.match("PUT", "c2") is None
    assert book.match("PUT", "c1") == FaultHit(500, None, 0)
    assert book.match("PUT", "c1") is None
    assert book.to_json()[0]["fired"] == 1


def test_first_live_rule_wins() -> None:
    book = _book([{"status": 503, "count": 1}, {"status": 500}])
    assert [book.match("GET", "c").status for _ in range(3)] == [503, 500, 500]  # type: ignore[union-attr]


def test_seeded_probability_is_reproducible() -> None:
    def pattern() -> list[bool]:
        book = _book({"seed": 7, "rules": [{"status": 500, "probability": 0.3}]})
        return [book.match("GET", None) is not None for _ in range(50)]

    first = pattern()
    assert first == pattern()
    assert 0 < sum(first) < 50


def test_probability_zero_never_fires() -> None:
    book = _book([{"status": 500, "probability": 0}])
    assert all(book.match("GET", None) is None for _ in range(20))


def test_fault_error_headers_and_codes() -> None:
    error = fault_error(FaultHit(429, 12, 0))
    assert (error.status, error.code, error.headers) == (429, "rate_limited", {"Retry-After": "12"})
    assert fault_error(FaultHit(418, None, 0)).code == "injected_fault"
    assert fault_error(FaultHit(503, None, 0)).headers == {}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("x", "rules"),
        ([1], "rules[0]"),
        ([{}], "rules[0]"),
        ([{"status": 200}], "rules[0].status"),
        ([{"status": 503, "retryAfter": -1}], "rules[0].retryAfter"),
        ([{"status": 503, "delayMs": -1}], "rules[0].delayMs"),
        ([{"status": 503, "probability": "1"}], "rules[0].probability"),
        ([{"status": 503, "conferenceId": 1}], "rules[0].conferenceId"),
        ({"seed": -1, "rules": []}, "seed"),
        ({"rules": [], "other": 1}, "other"),
    ],
)
def test_invalid_rules(body: Any, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_rules(body)
    assert caught.value.field_name == field
