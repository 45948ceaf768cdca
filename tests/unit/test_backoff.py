"""The adapters' backoff: full jitter under a capped exponential, or the server's Retry-After."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from confsync.adapters.backoff import Backoff

SECONDS = st.floats(min_value=0.0, max_value=1e6, allow_nan=False, allow_infinity=False)
ATTEMPTS = st.integers(min_value=1, max_value=200)


class Sleeps(list[float]):
    """A fake ``sleep``: records durations instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@settings(database=None, max_examples=300)
@given(base=SECONDS, cap=SECONDS, attempt=ATTEMPTS, seed=st.integers(0, 2**32 - 1))
def test_a_delay_is_always_within_zero_and_the_capped_exponential(
    base: float, cap: float, attempt: int, seed: int
) -> None:
    backoff = Backoff(base, cap, rng=random.Random(seed))
    ceiling = min(cap, base * 2 ** (attempt - 1))

    delay = backoff.delay(attempt)

    assert backoff.ceiling(attempt) == ceiling
    assert 0.0 <= delay <= ceiling


@settings(database=None)
@given(base=SECONDS, cap=SECONDS, attempt=ATTEMPTS, retry_after=SECONDS)
def test_a_retry_after_is_waited_for_as_given(
    base: float, cap: float, attempt: int, retry_after: float
) -> None:
    sleeps = Sleeps()
    backoff = Backoff(base, cap, sleep=sleeps)

    backoff.wait(attempt, retry_after)

    assert sleeps == [retry_after]


def test_an_attempt_past_any_float_waits_at_most_the_cap() -> None:
    backoff = Backoff(0.5, 16.0)

    assert backoff.ceiling(5_000) == 16.0
    assert 0.0 <= backoff.delay(5_000) <= 16.0


def test_a_negative_retry_after_waits_nothing() -> None:
    assert Backoff(0.5, 16.0).delay(3, retry_after=-2.0) == 0.0


def test_waits_draw_uniformly_from_the_injected_rng() -> None:
    sleeps = Sleeps()
    backoff = Backoff(0.5, 4.0, rng=random.Random(42), sleep=sleeps)
    expected = random.Random(42)

    for attempt in range(1, 9):
        backoff.wait(attempt)

    ceilings = [0.5, 1.0, 2.0, 4.0, 4.0, 4.0, 4.0, 4.0]
    assert [backoff.ceiling(attempt) for attempt in range(1, 9)] == ceilings
    assert sleeps == [expected.uniform(0.0, ceiling) for ceiling in ceilings]


def test_a_zero_base_never_waits() -> None:
    sleeps = Sleeps()
    backoff = Backoff(0.0, 16.0, sleep=sleeps)

    for attempt in range(1, 6):
        backoff.wait(attempt)

    assert sleeps == [0.0] * 5


@pytest.mark.parametrize(("base", "cap"), [(-0.1, 1.0), (0.1, -1.0)])
def test_negative_delays_are_refused(base: float, cap: float) -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        Backoff(base, cap)


def test_attempts_count_from_one() -> None:
    with pytest.raises(ValueError, match="1-based"):
        Backoff(0.5, 16.0).delay(0)
