"""The ``quota`` scenario: its workload and its simulated day, reproducible from a seed."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bench import report
from bench.quota import Policy, simulate
from bench.quota_workload import WORK_END, WORK_START, Day, draw

SMALL = Day(users=120, seed=3)


def test_the_workload_is_drawn_from_its_seed_alone() -> None:
    assert draw(SMALL, 86_400.0) == draw(SMALL, 86_400.0)
    assert draw(SMALL, 86_400.0) != draw(replace(SMALL, seed=4), 86_400.0)


def test_changes_average_the_asked_rate_in_working_hours_with_idle_and_heavy_users() -> None:
    day = Day(users=4_000, seed=5)
    work = draw(day, 86_400.0)
    counts = [len(c) for c in work.changes]
    times = [at for changes in work.changes for at, _ in changes]
    lost = sum(lost for changes in work.changes for _, lost in changes)

    assert work.change_count / day.users == pytest.approx(day.changes_per_user_day, rel=0.1)
    assert counts.count(0) >= day.idle_share * day.users
    assert max(counts) > 5 * day.changes_per_user_day
    assert all(WORK_START <= at < WORK_END + 3_600 for at in times)
    assert lost / work.change_count == pytest.approx(day.lost_notification_rate, abs=0.005)


def test_a_simulated_day_gives_the_same_figures_for_the_same_seed() -> None:
    first = simulate(SMALL, Policy()).row()
    again = simulate(SMALL, Policy()).row()

    del first["sim_wall_s"], again["sim_wall_s"]
    assert first == again
    assert report.problems([{"name": "quota", **first}], required=()) == []


def test_sweeps_by_need_cost_less_than_one_every_900_s_and_every_change_is_recovered() -> None:
    by_need = simulate(SMALL, Policy())
    fixed = simulate(SMALL, Policy(shortest_s=900, longest_s=900))

    assert by_need.calendar_calls < fixed.calendar_calls / 2
    assert by_need.unrecovered == fixed.unrecovered == 0
    assert by_need.waits
    assert fixed.waits
    assert max(fixed.waits) <= 900 + 300  # the interval and one tick
    assert max(by_need.waits) <= Policy().longest_s + 300
