"""The ``enroll`` and ``unenroll`` commands: start and stop syncing one calendar.

* **enroll** (idempotent): check the subject against the domain allow-list
  (``CONFSYNC_ALLOWED_DOMAINS``), resolve ``primary`` to the subject's own calendar (its e-mail
  address, so both names give one key and one record; a calendar enrolled as ``primary`` before
  ids were resolved keeps its older key and record), create or reactivate the calendar record
  (``calendars/{key}``), make sure it has exactly one live channel (``channels/{channelId}``), and
  request the first sync (which obtains the first sync token). A calendar that refuses watches is
  marked ``poll-only`` and left to the sweep; one whose credentials are refused is marked
  ``disconnected``. A repeat of an ``active`` calendar with a live channel makes no Calendar call
  and writes nothing.
* **unenroll**: mark the calendar ``unenrolled`` (``blocked`` with ``block``) and forget its live
  channel windows first (notifications still in flight are then acknowledged and ignored, also
  after a re-enrollment), then stop every channel; ``forget`` also deletes its conference
  records (never the conferences themselves).

Every enroll command is checked, whoever published it:

==========================================================  =======================================
enroll command                                              outcome
==========================================================  =======================================
subject not an e-mail address, or of a domain not allowed   ``refused``: ERROR line (the domain and
                                                            the calendar key, never the address);
                                                            nothing read, written or called
``source`` ``addon``, calendar ``blocked``                  ``ignored``: INFO line; nothing changes
``source`` ``operator``, calendar ``blocked``               ``active`` again (the block is lifted)
any source, calendar unknown, ``unenrolled``,               ``active``, watched, first sync
``disconnected`` or ``poll-only``                           requested
calendar ``active`` with a live channel                     nothing (no Calendar call, no write)
==========================================================  =======================================
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from confsync.calendars import (
    PRIMARY,
    CalendarDoc,
    CalendarState,
    calendar_key,
    resolve_calendar_id,
)
from confsync.channels.logs import LOGGER, labels
from confsync.channels.report import ChannelReport
from confsync.channels.watch import Watcher
from confsync.domains import DomainAllowList, domain_of
from confsync.messages import EnrollSource, SyncRequest
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
        allowed_domains: DomainAllowList,
        now: Callable[[], datetime],
    ) -> None:
        self._calendar_api = calendar_api
        self._allowed_domains = allowed_domains
        self._calendar_store = calendar_store
        self._channels = channels
        self._publisher = publisher
        self._records = records
        self._watcher = watcher
        self._now = now

    def enroll(
        self, subject: str, calendar_id: str, *, source: EnrollSource = "operator"
    ) -> ChannelReport:
        """Start syncing a calendar; idempotent (a repeat creates nothing and publishes nothing).
        A subject the allow-list refuses, and an add-on's enrolment of a ``blocked`` calendar,
        change nothing (see the module's table).

        A redelivered enrollment that crashed after its channel but before its SyncRequest is
        covered by the sweep: the calendar has never been attempted, so the next tick syncs it.
        """
        report = ChannelReport()
        calendar_id = resolve_calendar_id(subject, calendar_id)
        key = calendar_key(subject, calendar_id)
        refusal = self._allowed_domains.refusal(subject)
        if refusal is not None:
            report.refused = 1
            LOGGER.error(
                "enroll command refused (asked by %s, domain %s); nothing changed: %s",
                source,
                _shown_domain(subject),
                refusal,
                extra=labels(key),
            )
            return report
        now = self._now()
        current = self._stored(key, subject, calendar_id)
        if current is not None:
            key, calendar_id = current.key, current.calendar_id
        if current is not None and current.state == "blocked" and source == "addon":
            report.ignored = 1
            LOGGER.info(
                "calendar blocked by an operator; add-on enrolment ignored", extra=labels(key)
            )
            return report
        doc, changed = self._activate(current, key, subject, calendar_id, now)
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

    def _stored(self, key: str, subject: str, calendar_id: str) -> CalendarDoc | None:
        """The calendar's record: under ``key``, or for the subject's own calendar enrolled as
        ``primary`` before ids were resolved, under that older key (kept, with its channels,
        records and any block, so the calendar is never synced under two keys); None: none yet.
        See docs/decisions/2026-12-04-primary-before-resolution.md."""
        doc = self._calendar_store.get(key)
        if doc is not None or calendar_id != resolve_calendar_id(subject, PRIMARY):
            return doc
        legacy = self._calendar_store.get(calendar_key(subject, PRIMARY))
        if legacy is not None:
            LOGGER.info(
                "calendar enrolled as primary before ids were resolved; its record is kept",
                extra=labels(legacy.key),
            )
        return legacy

    def _activate(
        self, doc: CalendarDoc | None, key: str, subject: str, calendar_id: str, now: datetime
    ) -> tuple[CalendarDoc, bool]:
        """The calendar record ``doc`` (None: not stored yet), created or made ``active`` again;
        True if it changed."""
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

    def unenroll(self, key: str, *, forget: bool = False, block: bool = False) -> ChannelReport:
        """Stop syncing a calendar: state ``unenrolled`` (``blocked`` with ``block``), every
        channel stopped; with ``forget``, its conference records deleted too. Idempotent.

        A ``blocked`` calendar stays ``blocked`` through a plain unenroll: only an operator's
        enrolment lifts a block. An unknown calendar cannot be blocked ahead of its enrolment
        (the command names its key only, no subject): its channels are checked, nothing stored.
        """
        report = ChannelReport(unenrolled=1)
        now = self._now()
        doc = self._calendar_store.get(key)
        state: CalendarState = "unenrolled"
        if doc is None:
            LOGGER.info("unenroll of an unknown calendar; channels checked only", extra=labels(key))
        else:
            if block or doc.state == "blocked":
                state = "blocked"
            outcome = "blocked by an operator" if state == "blocked" else "unenrolled"
            self._calendar_store.set_state(key, state, now=now, outcome=outcome)
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
        LOGGER.info("calendar %s", state, extra=labels(key))
        return report


def _shown_domain(subject: str) -> str:
    """The domain of ``subject`` for a log line (never the address itself): ``-`` when it has
    no ``@``, shortened when long."""
    if "@" not in subject:
        return "-"
    domain = domain_of(subject)
    return repr(domain) if len(domain) <= 60 else f"{domain[:60]!r}..."
