"""LogBudget: a flood of one kind of line costs a few lines and one summary per interval."""

from __future__ import annotations

import pytest

from confsync.log_budget import Admission, LogBudget


class Clock:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


def test_a_kind_gets_its_lines_then_only_counts_until_the_interval_ends() -> None:
    clock = Clock()
    budget = LogBudget(per_interval=2, interval=60, clock=clock)

    first = [budget.admit("403 token") for _ in range(5)]
    clock.now += 59.9
    late = budget.admit("403 token")
    clock.now += 0.1
    next_window = budget.admit("403 token")

    assert [a.log for a in first] == [True, True, False, False, False]
    assert late == Admission(log=False)
    assert next_window == Admission(log=True, suppressed=(("403 token", 4),))
    assert budget.admit("403 token") == Admission(log=True)  # each count is reported once


def test_kinds_have_separate_budgets_and_any_line_reports_ended_windows() -> None:
    clock = Clock()
    budget = LogBudget(per_interval=1, interval=10, clock=clock)
    budget.admit("a")
    budget.admit("a")
    budget.admit("a")

    assert budget.admit("b") == Admission(log=True)
    clock.now += 10
    assert budget.admit("b") == Admission(log=True, suppressed=(("a", 2),))


def test_a_window_without_suppressed_lines_reports_nothing() -> None:
    clock = Clock()
    budget = LogBudget(per_interval=3, interval=10, clock=clock)
    budget.admit("a")
    clock.now += 11

    assert budget.admit("a") == Admission(log=True)


@pytest.mark.parametrize(("lines", "interval"), [(0, 10), (1, 0)])
def test_an_empty_budget_is_refused(lines: int, interval: float) -> None:
    with pytest.raises(ValueError, match="at least one line"):
        LogBudget(per_interval=lines, interval=interval)
