"""The ``enroll`` and ``unenroll`` commands: start and stop syncing one calendar.

* **enroll** (idempotent): create or reactivate the calendar record (``calendars/{key}``), make
  sure it has exactly one live channel (``channels/{channelId}``), and request the first sync
  (which obtains the first sync token). A calendar that refuses watches is marked ``poll-only`` and
  left to the sweep; one whose credentials are refused is marked ``disconnected``.
* **unenroll**: mark the calendar ``unenrolled`` and forget its live channel windows first
  (notifications still in flight are then acknowledged and ignored, also after a re-enrollment),
  then stop every channel; ``forget`` also deletes its conference
  records (never the conferences themselves).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from confsync.calendars import CalendarDoc, calendar_key
from confsync.channels.logs import LOGGER, labels
from confsync.channels.report import ChannelReport
from confsync.channels.watch import Watcher
from confsync.messages import SyncRequest
from confsync.ports import (
    CalendarStore,
    ChannelClientFactory,
    ChannelStore,
    RecordForgetter,
    SyncRequestPublisher,
)

__all__ = ["Enrollment"]


class Enrollment:
    """Enrolls and unenrolls calendars."""

    def __init__(
        self,
        *,
        calendar_api: ChannelClientFactory,
        calendar_store: CalendarStore,
        channels: ChannelStore,
        publisher: SyncRequestPublisher,
        records: RecordForgetter | None,
        watcher: Watcher,
        now: Callable[[], datetime],
    ) -> None:
        self._calendar_api = calendar_api
        self._calendar_store = calendar_store
        self._channels = channels
        self._publisher = publisher
        self._records = records
        self._watcher = watcher
        self._now = now

    def enroll(self, subject: str, calendar_id: str) -> ChannelReport:
        """Start syncing a calendar; idempotent (a repeat creates nothing and publishes nothing).

        A redelivered enrollment that crashed after its channel but before its SyncRequest is
        covered by the sweep: the calendar has never been attempted, so the next tick syncs it.
        """
        report = ChannelReport()
        now = self._now()
        key = calendar_key(subject, calendar_id)
        doc, changed = self._activate(key, subject, calendar_id, now)
        live = sorted(
            (c for c in self._channels.active_for(key) if c.live(now)),
            key=lambda c: c.expiration,
        )
        if live:
            self._watcher.record_windows(doc, live)
            for extra in live[:-1]:  # exactly one live channel: the latest-expiring one
                self._watcher.supersede(extra, "a newer channel of the calendar exists", now)
        else:
            client = self._calendar_api.for_subject(doc.subject)
            outcome = self._watcher.open(client, doc, now, report)
            changed = True
            if outcome == "disconnected":
                return report
        report.enrolled = 1
        if changed:
            self._publisher.publish(SyncRequest(calendar_key=key, reason="enroll", notified_at=now))
            LOGGER.info("first sync requested", extra=labels(key))
        else:
            LOGGER.info("calendar already enrolled and watched; nothing to do", extra=labels(key))
        return report

    def _activate(
        self, key: str, subject: str, calendar_id: str, now: datetime
    ) -> tuple[CalendarDoc, bool]:
        """The calendar record, created or made ``active`` again; True if it changed."""
        doc = self._calendar_store.get(key)
        if doc is None:
            doc = CalendarDoc(
                key=key, subject=subject, calendar_id=calendar_id, last_outcome="enrolled"
            )
            self._calendar_store.put(doc)
            LOGGER.info("calendar enrolled", extra=labels(key))
            return doc, True
        if doc.state != "active":
            LOGGER.info("calendar re-enrolled (was %s)", doc.state, extra=labels(key))
            self._calendar_store.set_state(key, "active", now=now, outcome="enrolled")
            return replace(doc, state="active"), True
        return doc, False

    def unenroll(self, key: str, *, forget: bool = False) -> ChannelReport:
        """Stop syncing a calendar: state ``unenrolled``, every channel stopped; with ``forget``,
        its conference records deleted too. Idempotent."""
        report = ChannelReport(unenrolled=1)
        now = self._now()
        if self._calendar_store.get(key) is None:
            LOGGER.info("unenroll of an unknown calendar; channels checked only", extra=labels(key))
        else:
            self._calendar_store.set_state(key, "unenrolled", now=now, outcome="unenrolled")
            self._calendar_store.clear_channels(key)  # none is live any more, even if re-enrolled
        for channel in self._channels.of_calendar(key):
            if channel.state == "stopped":
                continue
            if channel.state == "active":
                self._channels.set_state(channel.id, "superseded")
            client = self._calendar_api.for_subject(channel.subject)
            if self._watcher.stop(client, channel, forget_record=False):
                self._channels.set_state(channel.id, "stopped")
                report.collected += 1
        if forget and self._records is not None:
            deleted = self._records.forget_calendar(key)
            LOGGER.info("conference records forgotten: %d", deleted, extra=labels(key))
        LOGGER.info("calendar unenrolled", extra=labels(key))
        return report
