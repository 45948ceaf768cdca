"""The ``quota`` scenario's simulated day: who changes their calendar when, which notifications
are lost and which channels die, drawn from one seed (:func:`draw`).

The day runs from 06:00 to 06:00 (so it begins after a quiet night); changes fall in working
hours, 08:00 to 18:00, in editing sessions of a few changes a minute or two apart (a meeting
moved, then its neighbours; invitations answered in a row). Users are of three kinds: idle ones
(no change all day), a few heavy ones (an assistant managing calendars) and the rest, whose daily
count varies around theirs (a gamma-Poisson mix), so that the mean over all users is
``changes_per_user_day``. Each notification is lost with probability ``lost_notification_rate``;
each channel stops delivering, silently, with probability ``dead_channel_rate`` a day, at a
uniform moment of the simulated span.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

__all__ = ["Day", "Workload", "draw"]

HOUR = 3600.0
WORK_START, WORK_END = 8 * HOUR, 18 * HOUR  # seconds after midnight of the first day


@dataclass(frozen=True, slots=True)
class Day:
    """The knobs of the simulated day (the issue's figures by default)."""

    users: int = 10_000
    changes_per_user_day: float = 10.0
    lost_notification_rate: float = 0.01
    dead_channel_rate: float = 0.001
    idle_share: float = 0.2
    heavy_share: float = 0.02
    heavy_changes: float = 80.0
    session_changes: float = 2.0
    """Mean changes per editing session (geometric; 1: every change on its own)."""
    seed: int = 14


@dataclass(slots=True)
class Workload:
    """What happens to each user (by index): change times, lost notifications, channel deaths,
    in seconds after midnight of the first day."""

    changes: list[list[tuple[float, bool]]] = field(default_factory=list)
    """Per user, (when, notification lost) for each change, in time order."""
    deaths: list[float | None] = field(default_factory=list)
    """Per user, when its channel stops delivering (None: it does not)."""

    @property
    def change_count(self) -> int:
        return sum(len(c) for c in self.changes)


def _daily_count(day: Day, rng: random.Random) -> int:
    kind = rng.random()
    if kind < day.idle_share:
        return 0
    if kind < day.idle_share + day.heavy_share:
        return _poisson(day.heavy_changes, rng)
    rest = 1.0 - day.idle_share - day.heavy_share
    mean = (day.changes_per_user_day - day.heavy_share * day.heavy_changes) / rest
    return _poisson(rng.gammavariate(2.0, mean / 2.0), rng)


def _poisson(mean: float, rng: random.Random) -> int:
    """A Poisson draw by counting exponential gaps (means here are small)."""
    count, total = 0, rng.expovariate(1.0)
    while total < mean:
        count += 1
        total += rng.expovariate(1.0)
    return count


def _times(count: int, day: Day, rng: random.Random) -> list[float]:
    """``count`` change times in sessions spread over working hours."""
    times: list[float] = []
    while len(times) < count:
        start = rng.uniform(WORK_START, WORK_END)
        at = start
        while len(times) < count:
            times.append(at)
            if rng.random() < 1.0 / day.session_changes:
                break
            at += rng.uniform(20.0, 120.0)
    return sorted(times)


def draw(day: Day, span_s: float) -> Workload:
    """The workload of ``day`` over ``span_s`` seconds, from ``day.seed`` alone."""
    rng = random.Random(day.seed)  # noqa: S311 - a simulation, not security
    work = Workload()
    death_chance = day.dead_channel_rate * span_s / (24 * HOUR)
    for _ in range(day.users):
        times = _times(_daily_count(day, rng), day, rng)
        work.changes.append([(t, rng.random() < day.lost_notification_rate) for t in times])
        work.deaths.append(rng.uniform(0.0, span_s) if rng.random() < death_chance else None)
    return work
