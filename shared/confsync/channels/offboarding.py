"""Offboarding: what the tick does for calendars whose access is gone (``disconnected``).

A calendar becomes ``disconnected`` when a sync run or a watch finds its access gone (its user
deleted or suspended, its grant revoked, the calendar not found: see
:class:`~confsync.errors.CalendarAccessError`); ``disconnected_at`` records when, and its live
channel windows are forgotten at once. Each tick then:

a. *stops its channels*: the active channels of calendars disconnected within the last channel
   lifetime (older ones' channels have expired) are superseded and stopped, charged to the
   subject's budget. A stop refused because the user is gone counts as done (the channel expires
   by itself): each channel gets one attempt, never more; a stop that failed for now is left to
   garbage collection. The ``tick_batch`` most recently disconnected calendars are looked at per
   tick; channels beyond them are stopped when their renewal comes due (as orphans).
b. *retires it after the retention*: a calendar ``disconnected`` for longer than
   ``disconnected_retention`` is unenrolled with its conference records forgotten
   (:meth:`~confsync.channels.enrollment.Enrollment.unenroll` with ``forget``); its outcome
   becomes ``unenrolled after <duration> disconnected``. The calendar is first moved from
   ``disconnected`` to ``unenrolled`` in one conditional write, so a calendar re-enrolled since
   the query is left alone. At most ``tick_batch`` calendars per tick; the rest wait for the next.
   A calendar whose reason points at the deployment's configuration rather than at its user
   (:func:`~confsync.errors.deployment_wide`: a broken delegation grant, a refused ``signJwt``,
   the Calendar API disabled) is never retired: such a fault disconnects every calendar at
   once, and retiring them would forget the records of a whole fleet over a misconfiguration.
   It stays ``disconnected`` (counted as ``kept_disconnected``, one ERROR line per tick) until
   an operator fixes the configuration and enrols it again, or unenrols it.

Conferences are never deleted by offboarding: forgetting records deletes only confsync's
records, never a conference in the conferencing system (a user who left may still have meetings
others rely on). A later enrolment makes the calendar ``active`` again (``disconnected_at``
cleared).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial

from confsync.calendars import CalendarDoc
from confsync.channel_tokens import EXPIRY_SLACK
from confsync.channels.logs import LOGGER, labels
from confsync.channels.report import ChannelReport, SubjectBudget
from confsync.channels.settings import ChannelSettings
from confsync.channels.watch import Watcher
from confsync.errors import deployment_wide
from confsync.ports import CalendarStore, ChannelClientFactory, ChannelStore

__all__ = ["Offboarding", "Unenroll", "duration_text"]

Unenroll = Callable[..., ChannelReport]
"""``unenroll(key, forget=True)``: :meth:`~confsync.channels.enrollment.Enrollment.unenroll`."""

Guard = Callable[[str, ChannelReport, Callable[[], None]], None]
"""Runs one calendar's work, logging and counting a failure (the tick's ``_guarded``)."""


def duration_text(span: timedelta) -> str:
    """``span`` in the largest whole unit that fits: ``30 days``, ``1 day``, ``5 hours``,
    ``2 minutes``, ``59 seconds``."""
    seconds = max(int(span.total_seconds()), 0)
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return f"{seconds} second{'' if seconds == 1 else 's'}"


class Offboarding:
    """The tick's two passes over disconnected calendars: stop their channels, retire them."""

    def __init__(
        self,
        *,
        calendar_api: ChannelClientFactory,
        calendar_store: CalendarStore,
        channels: ChannelStore,
        settings: ChannelSettings,
        watcher: Watcher,
        unenroll: Unenroll,
    ) -> None:
        self._calendar_api = calendar_api
        self._calendar_store = calendar_store
        self._channels = channels
        self._settings = settings
        self._watcher = watcher
        self._unenroll = unenroll

    def stop_channels(
        self, now: datetime, budget: SubjectBudget, report: ChannelReport, guard: Guard
    ) -> None:
        """Pass a: stop the active channels of recently disconnected calendars, once each."""
        since = now - self._settings.channel_ttl - EXPIRY_SLACK
        for doc in self._calendar_store.disconnected_since(since, self._settings.tick_batch):
            guard(doc.key, report, partial(self._stop_of, doc, budget, report))

    def _stop_of(self, doc: CalendarDoc, budget: SubjectBudget, report: ChannelReport) -> None:
        active = self._channels.active_for(doc.key)
        if not active:
            return
        if not budget.spend(doc.subject, len(active)):
            report.deferred += 1
            LOGGER.info(
                "subject's Calendar budget spent; stopping channels deferred", extra=labels(doc.key)
            )
            return
        client = self._calendar_api.for_subject(doc.subject)
        for channel in active:
            LOGGER.info(
                "channel of a disconnected calendar; stopping it",
                extra=labels(doc.key, channel.id),
            )
            self._channels.set_state(channel.id, "superseded")  # no longer renewed or repaired
            if self._watcher.stop(client, channel, forget_record=False):
                self._channels.set_state(channel.id, "stopped")  # collected by the next tick
                report.orphaned += 1

    def retire(self, now: datetime, report: ChannelReport, guard: Guard) -> None:
        """Pass b: unenroll (records forgotten) calendars disconnected past the retention."""
        cutoff = now - self._settings.disconnected_retention
        kept: list[CalendarDoc] = []
        for doc in self._calendar_store.disconnected_before(cutoff, self._settings.tick_batch):
            if deployment_wide(doc.last_outcome):
                kept.append(doc)
                continue
            guard(doc.key, report, partial(self._retire, doc, now, cutoff, report))
        if kept:
            report.kept_disconnected += len(kept)
            LOGGER.error(
                "%d calendars disconnected past the retention are kept, not retired: their "
                "reason points at the deployment's configuration (e.g. %r); fix it, then enrol "
                "them again (`confsync status --state disconnected` lists them) or unenrol them",
                len(kept),
                kept[0].last_outcome,
                extra=labels(kept[0].key),
            )

    def _retire(
        self, doc: CalendarDoc, now: datetime, cutoff: datetime, report: ChannelReport
    ) -> None:
        since = doc.disconnected_at or cutoff
        outcome = f"unenrolled after {duration_text(now - since)} disconnected"
        store = self._calendar_store
        claimed = store.set_state_if(
            doc.key,
            "disconnected",
            "unenrolled",
            now=now,
            outcome=outcome,
            disconnected_before=cutoff,
        )
        if not claimed:
            LOGGER.info("calendar no longer disconnected; not retired", extra=labels(doc.key))
            return
        try:
            done = self._unenroll(doc.key, forget=True)
        except Exception:
            LOGGER.error(
                "calendar retired after its retention but its unenrolment failed midway; "
                "finish it with `confsync unenroll --calendar-key %s --forget`",
                doc.key,
                extra=labels(doc.key),
            )
            raise
        report.unenrolled += done.unenrolled
        report.collected += done.collected
        store.set_state_if(doc.key, "unenrolled", "unenrolled", now=now, outcome=outcome)
        LOGGER.warning(
            "calendar %s; conference records forgotten, conferences kept",
            outcome,
            extra=labels(doc.key),
        )
