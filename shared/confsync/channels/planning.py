"""What a tick hands out from each page of its due queries: the calendars to renew (charged to
their subjects' budget, each once however its channels fall on pages) and the order of a page of
calendars to sweep (least recently attempted first, with a little jitter)."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from datetime import timedelta

from confsync.calendars import CalendarDoc
from confsync.channel_docs import ChannelDoc
from confsync.channels.logs import LOGGER, labels
from confsync.channels.report import ChannelReport, SubjectBudget

__all__ = ["RenewalPlan", "jittered"]


class RenewalPlan:
    """The calendars one tick renews, planned a page of expiring channels at a time."""

    def __init__(
        self,
        due: Callable[[ChannelDoc], bool],
        budget: SubjectBudget,
        report: ChannelReport,
    ) -> None:
        self._due = due
        self._budget = budget
        self._report = report
        self._planned: set[str] = set()

    def page(self, channels: Sequence[ChannelDoc]) -> list[str]:
        """The calendars of this page to renew now, charged to their subjects (a new watch plus
        one stop per due channel); those over budget are deferred to the next tick. A calendar
        planned on an earlier page is charged its further stops and not planned again."""
        by_calendar: dict[str, list[ChannelDoc]] = {}
        for channel in channels:
            if self._due(channel):
                by_calendar.setdefault(channel.calendar_key, []).append(channel)
        keys: list[str] = []
        for key, due in by_calendar.items():
            subject = due[0].subject
            if key in self._planned:
                self._budget.spend(subject, len(due))
            elif self._budget.spend(subject, 1 + len(due)):
                self._planned.add(key)
                keys.append(key)
            else:
                self._report.deferred += 1
                LOGGER.info(
                    "subject's Calendar budget spent; renewal deferred to the next tick",
                    extra=labels(key),
                )
        return keys


def jittered(
    due: Sequence[CalendarDoc], rng: random.Random, spread: timedelta
) -> list[CalendarDoc]:
    """A page of due calendars, the earliest due first, each moved by up to ``spread``."""
    jitter = spread.total_seconds()
    return sorted(due, key=lambda d: d.sweep_due.timestamp() + rng.uniform(0, jitter))
