"""Calendar clients that charge every call to the project's Calendar budget before sending it.

The composition root wraps the functions' Calendar client factories in these, so every caller
(a sync run, the tick, a fan-out batch, enrolment) is charged alike, with the priority of the
:func:`~confsync.calendar_budget.spending_as` block the client was handed out in. A refused call
raises :class:`~confsync.errors.CalendarBudgetSpentError` and sends nothing.

One method call is one charge. ``list_series`` reads every page of a series, and
``list_changed`` every page of a calendar's changes over a few minutes; either spans one page in
practice (2,500 items), so a rare second page goes uncharged.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from confsync.calendar_budget import CalendarAllowance, Priority, current_priority
from confsync.ports import (
    CalendarClient,
    CalendarClientFactory,
    ChannelClient,
    ChannelClientFactory,
    EventPage,
    WatchedChannel,
)

__all__ = ["BudgetedCalendarFactory", "BudgetedChannelFactory"]


class BudgetedCalendarFactory:
    """A CalendarClientFactory whose clients charge ``allowance`` for each call."""

    def __init__(self, inner: CalendarClientFactory, allowance: CalendarAllowance) -> None:
        self._inner = inner
        self._allowance = allowance

    @property
    def allowance(self) -> CalendarAllowance:
        """The instance's share of the project's budget (its ``claims`` count Firestore writes)."""
        return self._allowance

    def for_subject(self, subject: str) -> CalendarClient:
        return _BudgetedCalendar(
            self._inner.for_subject(subject), self._allowance, current_priority()
        )


class BudgetedChannelFactory:
    """A ChannelClientFactory whose clients charge ``allowance`` for each call."""

    def __init__(self, inner: ChannelClientFactory, allowance: CalendarAllowance) -> None:
        self._inner = inner
        self._allowance = allowance

    def for_subject(self, subject: str) -> ChannelClient:
        return _BudgetedChannels(
            self._inner.for_subject(subject), self._allowance, current_priority()
        )


class _BudgetedCalendar:
    def __init__(
        self, inner: CalendarClient, allowance: CalendarAllowance, priority: Priority
    ) -> None:
        self._inner = inner
        self._allowance = allowance
        self._priority = priority

    def list_page(
        self,
        calendar_id: str,
        *,
        sync_token: str | None,
        page_token: str | None,
        time_min: datetime | None,
    ) -> EventPage:
        self._allowance.spend(self._priority)
        return self._inner.list_page(
            calendar_id, sync_token=sync_token, page_token=page_token, time_min=time_min
        )

    def get_event(self, calendar_id: str, event_id: str) -> Mapping[str, Any] | None:
        self._allowance.spend(self._priority)
        return self._inner.get_event(calendar_id, event_id)

    def list_series(self, calendar_id: str, ical_uid: str) -> tuple[Mapping[str, Any], ...]:
        self._allowance.spend(self._priority)
        return self._inner.list_series(calendar_id, ical_uid)

    def list_changed(self, calendar_id: str, since: datetime) -> tuple[Mapping[str, Any], ...]:
        self._allowance.spend(self._priority)
        return self._inner.list_changed(calendar_id, since)

    def patch_conference_data(
        self, calendar_id: str, event_id: str, etag: str, conference_data: Mapping[str, Any]
    ) -> Mapping[str, Any]:
        self._allowance.spend(self._priority)
        return self._inner.patch_conference_data(calendar_id, event_id, etag, conference_data)


class _BudgetedChannels:
    def __init__(
        self, inner: ChannelClient, allowance: CalendarAllowance, priority: Priority
    ) -> None:
        self._inner = inner
        self._allowance = allowance
        self._priority = priority

    def watch(
        self, calendar_id: str, channel_id: str, address: str, token: str, ttl_seconds: int
    ) -> WatchedChannel:
        self._allowance.spend(self._priority)
        return self._inner.watch(calendar_id, channel_id, address, token, ttl_seconds)

    def stop_channel(self, channel_id: str, resource_id: str) -> None:
        self._allowance.spend(self._priority)
        self._inner.stop_channel(channel_id, resource_id)
