"""The sweep policy (:func:`confsync.sweep_policy.next_sweep`): when a calendar is swept next."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from confsync.sweep_policy import RunEvidence, SweepTuning, next_sweep

NOW = datetime(2026, 12, 4, 9, tzinfo=UTC)
TUNING = SweepTuning(shortest=timedelta(minutes=15), longest=timedelta(seconds=13_500))

tunings = st.builds(
    lambda shortest, extra: SweepTuning(
        shortest=timedelta(seconds=shortest), longest=timedelta(seconds=shortest + extra)
    ),
    st.integers(1, 86_400),
    st.integers(0, 86_400),
)
evidence = st.builds(
    RunEvidence,
    now=st.just(NOW),
    swept=st.booleans(),
    changes=st.integers(0, 10_000),
    pending=st.booleans(),
    previous=st.none() | st.integers(1, 200_000).map(lambda s: timedelta(seconds=s)),
)


def _quiet(previous: timedelta | None, *, swept: bool = True) -> RunEvidence:
    return RunEvidence(now=NOW, swept=swept, changes=0, pending=False, previous=previous)


@given(evidence, tunings)
def test_the_next_sweep_is_never_later_than_the_longest_interval(
    run: RunEvidence, tuning: SweepTuning
) -> None:
    plan = next_sweep(run, tuning)

    assert run.now <= plan.due_at <= run.now + tuning.longest
    assert tuning.shortest <= plan.interval <= tuning.longest


@given(evidence, tunings)
def test_a_calendar_with_pending_operations_is_due_now(
    run: RunEvidence, tuning: SweepTuning
) -> None:
    pending = RunEvidence(
        now=run.now, swept=run.swept, changes=run.changes, pending=True, previous=run.previous
    )

    assert next_sweep(pending, tuning).due_at == run.now


@given(evidence, tunings)
def test_unannounced_changes_shorten_the_interval_and_make_the_channel_suspect(
    run: RunEvidence, tuning: SweepTuning
) -> None:
    found = RunEvidence(
        now=run.now, swept=True, changes=max(1, run.changes), pending=False, previous=run.previous
    )
    quiet = _quiet(run.previous)

    plan = next_sweep(found, tuning)

    assert plan.suspect
    assert plan.due_at == run.now + tuning.shortest
    assert plan.due_at <= next_sweep(quiet, tuning).due_at
    ladder = next_sweep(_quiet(plan.interval), tuning)  # the quiet ladder starts again
    assert ladder.due_at == run.now + min(tuning.longest, 2 * tuning.shortest)


@given(evidence, tunings)
def test_only_a_sweep_that_found_changes_makes_the_channel_suspect(
    run: RunEvidence, tuning: SweepTuning
) -> None:
    assert next_sweep(run, tuning).suspect == (run.swept and run.changes > 0)


def test_a_quiet_calendar_is_swept_ever_more_rarely_up_to_the_longest_interval() -> None:
    dues = []
    previous = None
    for _ in range(7):
        plan = next_sweep(_quiet(previous), TUNING)
        dues.append((plan.due_at - NOW).total_seconds())
        previous = plan.interval

    assert dues == [900, 1800, 3600, 7200, 13_500, 13_500, 13_500]


def test_announced_changes_take_one_look_soon_then_resume_the_quiet_interval() -> None:
    active = RunEvidence(
        now=NOW, swept=False, changes=3, pending=False, previous=timedelta(seconds=13_500)
    )

    look = next_sweep(active, TUNING)
    after = next_sweep(_quiet(look.interval), TUNING)

    assert look.due_at == NOW + timedelta(minutes=15)
    assert not look.suspect
    assert after.due_at == NOW + timedelta(seconds=13_500)


def test_a_first_plan_starts_from_the_shortest_interval() -> None:
    assert next_sweep(_quiet(None, swept=False), TUNING).due_at == NOW + timedelta(minutes=15)


@pytest.mark.parametrize(("shortest", "longest"), [(0, 10), (20, 10), (-5, 10)])
def test_tuning_refuses_intervals_out_of_order(shortest: int, longest: int) -> None:
    with pytest.raises(ValueError, match="shortest <= longest"):
        SweepTuning(shortest=timedelta(seconds=shortest), longest=timedelta(seconds=longest))
