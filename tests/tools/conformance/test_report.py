"""The live run's table of UNCONFIRMED points and its call count (conformance.report)."""

from __future__ import annotations

from collections import Counter

from conformance.report import PointResult, calls_lines, outcome_of, unconfirmed_table


def _point(section: str, outcome: str = "confirmed", detail: str = "") -> PointResult:
    return PointResult(
        section=section,
        point=f"point of {section} | with a pipe",
        emulator="does a thing",
        outcome=outcome,  # type: ignore[arg-type]
        check=f"test_{section}",
        detail=detail,
    )


def test_the_table_is_markdown_in_the_references_order_with_pipes_escaped() -> None:
    table = unconfirmed_table(
        [
            _point("4.3"),
            _point("-"),
            _point("1.10", "contradicted", "assert 1 == 2"),
            _point("1.2"),
        ],
        "Google",
    )

    lines = table.splitlines()
    assert lines[0] == "| reference | point | what the emulator does | what Google did | check |"
    assert lines[1] == "|---|---|---|---|---|"
    assert [line.split(" | ")[0] for line in lines[2:]] == ["| 1.2", "| 1.10", "| 4.3", "| -"]
    assert "point of 1.2 \\| with a pipe" in lines[2]
    assert "| contradicted: assert 1 == 2 |" in lines[3]


def test_outcomes_follow_how_the_check_ended() -> None:
    assert outcome_of(passed=True, assertion_failed=False) == "confirmed"
    assert outcome_of(passed=False, assertion_failed=True) == "contradicted"
    assert outcome_of(passed=False, assertion_failed=False) == "not run"


def test_the_calls_are_totalled_and_listed_by_method() -> None:
    lines = calls_lines(Counter({"events.list": 5, "calendars.insert": 1}))

    assert lines[0] == "6 Calendar calls"
    assert lines[1].split() == ["events.list", "5"]
