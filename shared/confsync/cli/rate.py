"""A token bucket: at most ``rate`` actions per second, with a small burst, without drift.

Tokens accrue continuously at ``rate`` per second up to ``burst``; each action takes one, waiting
until one is there. Because the waiting is computed from the bucket's state rather than as a fixed
sleep after each action, the time an action itself takes (a publish's round trip) and a sleep that
overshoots are absorbed instead of slowing the pace: N actions take about ``(N - burst) / rate``
seconds however long each one is (as long as one takes less than ``1 / rate``).

The clock and the sleep are given, so tests drive the bucket with a fake clock and no real waits.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["TokenBucket", "default_burst"]


def default_burst(rate: float) -> float:
    """The burst used by ``confsync enroll``: a tenth of a second's worth, at least one action
    (enough to absorb a late wake-up without letting a quota-sized spike out)."""
    return max(1.0, rate / 10)


class TokenBucket:
    """``rate`` actions per second, at most ``burst`` at once; starts full."""

    def __init__(
        self,
        rate: float,
        *,
        burst: float = 1.0,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._tokens = burst
        self._at = clock()

    def _refill(self) -> None:
        now = self._clock()
        elapsed = max(0.0, now - self._at)  # a clock that steps back adds nothing
        self._tokens = min(self.burst, self._tokens + elapsed * self.rate)
        self._at = now

    def delay(self) -> float:
        """Seconds until a token is there (0: one is there now)."""
        self._refill()
        return max(0.0, (1 - self._tokens) / self.rate)

    def take(self) -> float:
        """Wait until a token is there, then take it; the seconds waited.

        It sleeps once for the computed wait and then takes the token even if the clock shows a
        hair less (a clock of microseconds, a sleep that returns early): the shortfall stays in
        the bucket as a debt the next action waits out, so nothing drifts and nothing spins."""
        wait = self.delay()
        if wait > 0:
            self._sleep(wait)
            self._refill()
        self._tokens -= 1
        return wait
