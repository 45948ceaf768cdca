"""Capped exponential backoff with full jitter, the adapters' one wait between retries.

Retry number ``n`` (1-based: the wait after the ``n``-th failed attempt) waits
``uniform(0, min(cap, base * 2 ** (n - 1)))`` seconds ("full jitter": retries of many callers
spread out instead of arriving together). A ``Retry-After`` the server gave is waited for
instead, as given (never less than zero); whether it is too long to wait for at all is the
caller's decision. The random source and the sleep are injectable, so tests neither wait nor
depend on chance. Reference: https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable

__all__ = ["Backoff"]


class Backoff:
    """Full-jitter waits under ``min(cap, base * 2 ** (attempt - 1))``; see the module docstring."""

    def __init__(
        self,
        base: float,
        cap: float,
        *,
        rng: random.Random | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if base < 0 or cap < 0:
            raise ValueError("base and cap must not be negative")
        self.base = base
        self.cap = cap
        self.sleep = sleep
        # Jitter only spreads retries out; it needs no cryptographic strength.
        self._rng = rng if rng is not None else random.Random()  # noqa: S311

    def ceiling(self, attempt: int) -> float:
        """The longest wait before retry number ``attempt`` (1-based)."""
        if attempt < 1:
            raise ValueError("attempt is 1-based")
        try:
            grown = math.ldexp(self.base, attempt - 1)  # base * 2 ** (attempt - 1), exactly
        except OverflowError:  # beyond any float: far past the cap
            return self.cap
        return min(self.cap, grown)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``attempt``: ``retry_after`` when the server gave
        one, else a uniform draw under :meth:`ceiling`."""
        if retry_after is not None:
            return max(0.0, retry_after)
        return self._rng.uniform(0.0, self.ceiling(attempt))

    def wait(self, attempt: int, retry_after: float | None = None) -> None:
        """Sleep for :meth:`delay`."""
        self.sleep(self.delay(attempt, retry_after))
