"""Channel lifecycle: enrol and unenrol calendars, and the periodic tick that keeps them watched.

Push notifications arrive through ``events.watch`` channels
(https://developers.google.com/workspace/calendar/api/guides/push), which expire, cannot be
renewed in place, and can die silently. :class:`ChannelService` owns their whole life:

* **enroll** (idempotent): create or reactivate the calendar record, make sure it has exactly one
  live channel, and request the first sync (which obtains the first sync token). A calendar that
  refuses watches is marked ``poll-only`` and left to the sweep.
* **unenroll**: mark the calendar ``unenrolled`` first (notifications still in flight are then
  acknowledged and ignored), then stop every channel; ``forget`` also deletes its conference
  records (never the conferences themselves).
* **tick** (Cloud Scheduler, every few minutes), each step bounded to ``tick_batch`` items done
  inline, the rest fanned out as ``renew`` / ``sweep`` commands of ``tick_batch`` keys:

  a. *renew*: a calendar whose channel expires within the renewal window (or within half its
     lifetime, when Google granted less than twice the window) gets a **new** channel
     (new id) that is **persisted before** the old one is superseded and stopped; the overlap only
     duplicates notifications, which syncs coalesce. A channel whose calendar is gone or no longer
     ``active`` is an orphan: it is superseded and stopped instead of renewed.
  b. *sweep*: calendars not attempted within the sweep interval, or holding pending conference
     operations (``CalendarStore.due_for_sweep``, least recently *attempted* first, with a little
     jitter), get a SyncRequest, because push is only a hint.
  c. *repair*: an ``active`` calendar met by the sweep with no live channel is watched again; a
     refusal marks it ``poll-only`` once, so it is not retried every tick.
  d. *garbage collection*: superseded channels are stopped (404: already gone) and forgotten;
     stopped ones are forgotten.

  Every Calendar call of a tick is charged to the calendar's subject: no subject gets more than
  ``subject_budget_per_minute`` calls from one tick (fan-out batches included, because the tick
  plans them), the rest waits for the next tick. Failures of one calendar are logged and skipped:
  the next tick finds the same work again, because all state is in the stores.

Only the ports are used for I/O; time, channel ids and jitter come from injected seams. Logs name
calendars by key and channels by id, never by e-mail address.
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, TypeVar

from confsync.calendars import CalendarDoc, calendar_key
from confsync.channel_docs import ChannelDoc
from confsync.channel_tokens import ChannelTokenKeys, mint_channel_token
from confsync.errors import (
    CalendarAccessError,
    PermanentError,
    TransientError,
    WatchRefusedError,
)
from confsync.messages import (
    ChannelCommand,
    EnrollCommand,
    RenewCommand,
    SweepCommand,
    SyncRequest,
    TickCommand,
    UnenrollCommand,
)
from confsync.ports import (
    CalendarStore,
    ChannelClient,
    ChannelClientFactory,
    ChannelCommandPublisher,
    ChannelStore,
    RecordForgetter,
    SyncRequestPublisher,
)

__all__ = ["ChannelReport", "ChannelService", "ChannelSettings", "SubjectBudget"]

_LOGGER = logging.getLogger(__name__)
_FLOOR = datetime.min.replace(tzinfo=UTC)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ChannelSettings:
    """How the service behaves; built from configuration by :mod:`confsync.bootstrap`."""

    intake_url: str
    token_keys: ChannelTokenKeys
    channel_ttl: timedelta = timedelta(days=2)
    renewal_window: timedelta = timedelta(days=1)
    sweep_interval: timedelta = timedelta(minutes=15)
    tick_batch: int = 200
    subject_budget_per_minute: int = 300
    max_fanout_batches: int = 25
    sweep_jitter: float = 0.2  # a fraction of the sweep interval

    @property
    def scan_limit(self) -> int:
        """Most channels or calendars one tick looks at (inline plus fan-out)."""
        return self.tick_batch * (1 + self.max_fanout_batches)


@dataclass(slots=True)
class ChannelReport:
    """What one command (enrol, unenrol, tick or fan-out batch) did; logged as its summary."""

    enrolled: int = 0
    unenrolled: int = 0
    renewed: int = 0
    orphaned: int = 0
    repaired: int = 0
    poll_only: int = 0
    disconnected: int = 0
    swept: int = 0
    collected: int = 0
    fanned_out: int = 0
    deferred: int = 0
    failed: int = 0

    def as_dict(self) -> dict[str, int]:
        """The counters by name."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


class SubjectBudget:
    """Calendar calls per subject within one tick (or one fan-out command).

    ``limit`` None means unlimited: work the tick already planned within the budget.
    """

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.used: dict[str, int] = {}

    def spend(self, subject: str, calls: int) -> bool:
        """Charge ``calls`` to ``subject`` if they fit; False (nothing charged) otherwise."""
        used = self.used.get(subject, 0)
        if self.limit is not None and used + calls > self.limit:
            return False
        self.used[subject] = used + calls
        return True


def _labels(calendar: str, channel: str | None = None) -> dict[str, Any]:
    labels = {"calendar_key": calendar}
    if channel is not None:
        labels["channel_id"] = channel
    return {"labels": labels}


def _chunks(items: Sequence[T], size: int) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class ChannelService:
    """Enrolment and channel maintenance over the ports it is given (see the module docstring)."""

    def __init__(
        self,
        *,
        calendar: ChannelClientFactory,
        calendars: CalendarStore,
        channels: ChannelStore,
        publisher: SyncRequestPublisher,
        commands: ChannelCommandPublisher,
        settings: ChannelSettings,
        records: RecordForgetter | None = None,
        now: Callable[[], datetime] = _utcnow,
        new_channel_id: Callable[[], str] = lambda: uuid.uuid4().hex,
        rng: random.Random | None = None,
    ) -> None:
        self._calendar = calendar
        self._calendars = calendars
        self._channels = channels
        self._publisher = publisher
        self._commands = commands
        self._settings = settings
        self._records = records
        self._now = now
        self._new_channel_id = new_channel_id
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not security

    # --- dispatch --------------------------------------------------------------------------

    def handle(self, command: ChannelCommand) -> ChannelReport:
        """Run one decoded channel command."""
        match command:
            case EnrollCommand(subject=subject, calendar_id=calendar_id):
                return self.enroll(subject, calendar_id)
            case UnenrollCommand(calendar_key=key, forget=forget):
                return self.unenroll(key, forget=forget)
            case TickCommand(issued_at=issued_at):
                return self.tick(issued_at=issued_at)
            case RenewCommand(calendar_keys=keys):
                return self.renew(keys)
            case SweepCommand(calendar_keys=keys):
                return self.sweep(keys)

    # --- enrolment -------------------------------------------------------------------------

    def enroll(self, subject: str, calendar_id: str) -> ChannelReport:
        """Start syncing a calendar; idempotent (a repeat creates nothing and publishes nothing).

        A redelivered enrolment that crashed after its channel but before its SyncRequest is
        covered by the sweep: the calendar has never been attempted, so the next tick syncs it.
        """
        report = ChannelReport()
        now = self._now()
        key = calendar_key(subject, calendar_id)
        doc = self._calendars.get(key)
        changed = False
        if doc is None:
            doc = CalendarDoc(
                key=key, subject=subject, calendar_id=calendar_id, last_outcome="enrolled"
            )
            self._calendars.put(doc)
            changed = True
            _LOGGER.info("calendar enrolled", extra=_labels(key))
        elif doc.state != "active":
            _LOGGER.info("calendar re-enrolled (was %s)", doc.state, extra=_labels(key))
            self._calendars.set_state(key, "active", now=now, outcome="enrolled")
            doc = replace(doc, state="active")
            changed = True
        live = sorted(
            (c for c in self._channels.active_for(key) if c.live(now)),
            key=lambda c: c.expiration,
        )
        if live:
            for extra in live[:-1]:  # exactly one live channel: the latest-expiring one
                self._supersede(extra, "a newer channel of the calendar exists")
        else:
            client = self._calendar.for_subject(doc.subject)
            outcome = self._open(client, doc, now, report)
            changed = True
            if outcome == "disconnected":
                return report
        report.enrolled = 1
        if changed:
            self._publisher.publish(SyncRequest(calendar_key=key, reason="enroll", notified_at=now))
            _LOGGER.info("first sync requested", extra=_labels(key))
        else:
            _LOGGER.info("calendar already enrolled and watched; nothing to do", extra=_labels(key))
        return report

    def unenroll(self, key: str, *, forget: bool = False) -> ChannelReport:
        """Stop syncing a calendar: state ``unenrolled``, every channel stopped; with ``forget``,
        its conference records deleted too. Idempotent."""
        report = ChannelReport(unenrolled=1)
        now = self._now()
        if self._calendars.get(key) is None:
            _LOGGER.info(
                "unenroll of an unknown calendar; channels checked only", extra=_labels(key)
            )
        else:
            self._calendars.set_state(key, "unenrolled", now=now, outcome="unenrolled")
        for channel in self._channels.of_calendar(key):
            if channel.state == "stopped":
                continue
            if channel.state == "active":
                self._channels.set_state(channel.id, "superseded")
            client = self._calendar.for_subject(channel.subject)
            if self._stop(client, channel, forget_record=False):
                self._channels.set_state(channel.id, "stopped")
                report.collected += 1
        if forget and self._records is not None:
            deleted = self._records.forget_calendar(key)
            _LOGGER.info("conference records forgotten: %d", deleted, extra=_labels(key))
        _LOGGER.info("calendar unenrolled", extra=_labels(key))
        return report

    # --- the tick --------------------------------------------------------------------------

    def tick(
        self, now: datetime | None = None, *, issued_at: datetime | None = None
    ) -> ChannelReport:
        """Renew, sweep (with repair) and collect, within the batch and the subject budget."""
        now = now or self._now()
        if issued_at is not None and now - issued_at > self._settings.sweep_interval:
            _LOGGER.warning("tick delivered %s late; running it anyway", now - issued_at)
        report = ChannelReport()
        budget = SubjectBudget(self._settings.subject_budget_per_minute)
        self._tick_renew(now, budget, report)
        self._tick_sweep(now, budget, report)
        self._collect(budget, report)
        _log_report("tick", report, budget)
        return report

    def renew(self, keys: Iterable[str]) -> ChannelReport:
        """A fan-out batch: renew the due channels of these calendars (own subject budget)."""
        now = self._now()
        report = ChannelReport()
        budget = SubjectBudget(self._settings.subject_budget_per_minute)
        for key in keys:
            self._guarded(key, report, partial(self._renew_calendar, key, now, budget, report))
        _log_report("renew", report, budget)
        return report

    def sweep(self, keys: Iterable[str]) -> ChannelReport:
        """A fan-out batch: request a sync of these calendars, repairing missing channels."""
        now = self._now()
        report = ChannelReport()
        budget = SubjectBudget(self._settings.subject_budget_per_minute)
        for key in keys:
            doc = self._calendars.get(key)
            if doc is None or not doc.syncing:
                _LOGGER.info("sweep skipped: calendar not syncing", extra=_labels(key))
                continue
            self._guarded(key, report, partial(self._sweep_one, doc, now, budget, report))
        _log_report("sweep", report, budget)
        return report

    def _tick_renew(self, now: datetime, budget: SubjectBudget, report: ChannelReport) -> None:
        deadline = now + self._settings.renewal_window
        due = self._channels.expiring_before(deadline, self._settings.scan_limit)
        by_calendar: dict[str, list[ChannelDoc]] = {}
        for channel in due:
            if self._due(channel, now):
                by_calendar.setdefault(channel.calendar_key, []).append(channel)
        planned: list[str] = []
        for key, channels in by_calendar.items():
            # a new watch plus one stop per due channel, charged to the channel's subject
            if budget.spend(channels[0].subject, 1 + len(channels)):
                planned.append(key)
            else:
                report.deferred += 1
                _LOGGER.info(
                    "subject's Calendar budget spent; renewal deferred to the next tick",
                    extra=_labels(key),
                )
        inline, rest = self._fan_out(planned, RenewCommand, report)
        unlimited = SubjectBudget(None)  # already charged while planning
        for key in inline:
            self._guarded(key, report, partial(self._renew_calendar, key, now, unlimited, report))
        if rest:
            _LOGGER.info("renewal fanned out: %d calendars in %d commands", *rest)

    def _tick_sweep(self, now: datetime, budget: SubjectBudget, report: ChannelReport) -> None:
        before = now - self._settings.sweep_interval
        due = self._calendars.due_for_sweep(before, self._settings.scan_limit)
        jitter = self._settings.sweep_interval.total_seconds() * self._settings.sweep_jitter
        ordered = sorted(
            due,
            key=lambda d: (d.last_attempt_at or _FLOOR).timestamp() + self._rng.uniform(0, jitter),
        )
        by_key = {doc.key: doc for doc in ordered}
        inline, rest = self._fan_out([d.key for d in ordered], SweepCommand, report)
        for key in inline:
            doc = by_key[key]
            self._guarded(key, report, partial(self._sweep_one, doc, now, budget, report))
        if rest:
            _LOGGER.info("sweep fanned out: %d calendars in %d commands", *rest)

    def _fan_out(
        self,
        keys: Sequence[str],
        command: type[RenewCommand] | type[SweepCommand],
        report: ChannelReport,
    ) -> tuple[Sequence[str], tuple[int, int] | None]:
        """Keep the first ``tick_batch`` keys for this invocation; publish the rest in batches
        (before the inline work, so the batches run in parallel with it)."""
        batch = self._settings.tick_batch
        inline, rest = keys[:batch], keys[batch:]
        if not rest:
            return inline, None
        commands = 0
        for chunk in _chunks(rest, batch):
            self._commands.publish(command(calendar_keys=tuple(chunk)))
            commands += 1
        report.fanned_out += commands
        return inline, (len(rest), commands)

    def _guarded(self, key: str, report: ChannelReport, work: Callable[[], None]) -> None:
        """Run one calendar's work; a failure is logged and left to the next tick."""
        try:
            work()
        except (TransientError, PermanentError) as err:
            report.failed += 1
            _LOGGER.warning(
                "channel maintenance failed; next tick retries: %s: %s",
                type(err).__name__,
                err,
                extra=_labels(key),
            )

    # --- renewal ---------------------------------------------------------------------------

    def _due(self, channel: ChannelDoc, now: datetime) -> bool:
        """Whether a channel must be renewed: less than the renewal window is left, or less than
        half its lifetime when Google granted a lifetime shorter than twice the window (its
        maximum is undocumented); otherwise such a channel would be renewed on every tick."""
        lifetime = channel.expiration - channel.created_at
        margin = min(self._settings.renewal_window, lifetime / 2)
        return channel.expiration < now + margin

    def _renew_calendar(
        self, key: str, now: datetime, budget: SubjectBudget, report: ChannelReport
    ) -> None:
        channels = self._channels.active_for(key)
        due = [c for c in channels if self._due(c, now)]
        if not due:
            _LOGGER.debug("channels fresh; no renewal", extra=_labels(key))
            return
        doc = self._calendars.get(key)
        if doc is None or doc.state != "active":
            reason = "calendar gone" if doc is None else f"calendar {doc.state}"
            subject = due[0].subject
            if not budget.spend(subject, len(due)):
                report.deferred += 1
                return
            for channel in due:
                _LOGGER.info("orphaned channel (%s); stopping it", reason, extra=_labels(key))
                self._supersede(channel, reason)
                if self._stop(self._calendar.for_subject(channel.subject), channel):
                    report.orphaned += 1
            return
        fresh = [c for c in channels if not self._due(c, now)]
        if not budget.spend(doc.subject, len(due) + (0 if fresh else 1)):
            report.deferred += 1
            _LOGGER.info("subject's Calendar budget spent; renewal deferred", extra=_labels(key))
            return
        client = self._calendar.for_subject(doc.subject)
        if not fresh:
            outcome = self._open(client, doc, now, report)
            if outcome == "opened":
                report.renewed += 1
        else:
            _LOGGER.info(
                "a fresh channel exists already; superseding the due one", extra=_labels(key)
            )
        for channel in due:  # only now that the new channel is persisted
            self._supersede(channel, "renewed")
            self._stop(client, channel)

    def _open(
        self, client: ChannelClient, doc: CalendarDoc, now: datetime, report: ChannelReport
    ) -> str:
        """Watch the calendar with a new channel and persist it: ``opened``, ``poll-only`` (the
        calendar refuses watches) or ``disconnected`` (its credentials are refused)."""
        channel_id = self._new_channel_id()
        token = mint_channel_token(self._settings.token_keys, channel_id, doc.key)
        ttl = int(self._settings.channel_ttl.total_seconds())
        try:
            watched = client.watch(
                doc.calendar_id, channel_id, self._settings.intake_url, token, ttl
            )
        except WatchRefusedError as err:
            report.poll_only += 1
            _LOGGER.warning(
                "calendar refuses push channels; marked poll-only (the sweep covers it): %s",
                err,
                extra=_labels(doc.key),
            )
            self._calendars.set_state(
                doc.key, "poll-only", now=now, outcome=f"watch refused: {err}"
            )
            return "poll-only"
        except CalendarAccessError as err:
            report.disconnected += 1
            _LOGGER.error(
                "calendar access refused on watch; calendar disconnected: %s",
                err,
                extra=_labels(doc.key),
            )
            self._calendars.set_state(doc.key, "disconnected", now=now, outcome=str(err))
            return "disconnected"
        channel = ChannelDoc(
            id=watched.id,
            calendar_key=doc.key,
            subject=doc.subject,
            resource_id=watched.resource_id,
            expiration=watched.expiration,
            created_at=now,
        )
        try:
            self._channels.put(channel)
        except TransientError:
            # Google has a channel we could not record: stop it rather than leak it.
            self._stop(client, channel, forget_record=False)
            raise
        _LOGGER.info(
            "channel opened, expires %s",
            watched.expiration.isoformat(timespec="seconds"),
            extra=_labels(doc.key, watched.id),
        )
        return "opened"

    def _supersede(self, channel: ChannelDoc, reason: str) -> None:
        self._channels.set_state(channel.id, "superseded")
        _LOGGER.info(
            "channel superseded (%s)", reason, extra=_labels(channel.calendar_key, channel.id)
        )

    def _stop(
        self, client: ChannelClient, channel: ChannelDoc, *, forget_record: bool = True
    ) -> bool:
        """``channels.stop``; True when the channel is stopped or can never be (it then expires
        by itself), False when the stop failed for now (garbage collection retries it)."""
        labels = _labels(channel.calendar_key, channel.id)
        try:
            client.stop_channel(channel.id, channel.resource_id)
        except TransientError as err:
            _LOGGER.warning("channel stop failed for now; collected later: %s", err, extra=labels)
            return False
        except PermanentError as err:
            _LOGGER.warning("channel cannot be stopped; it will expire: %s", err, extra=labels)
        else:
            _LOGGER.info("channel stopped", extra=labels)
        if forget_record:
            self._channels.delete(channel.id)
        return True

    # --- sweep and repair ------------------------------------------------------------------

    def _sweep_one(
        self, doc: CalendarDoc, now: datetime, budget: SubjectBudget, report: ChannelReport
    ) -> None:
        self._publisher.publish(SyncRequest(calendar_key=doc.key, reason="sweep", notified_at=now))
        report.swept += 1
        _LOGGER.debug("sweep requested a sync", extra=_labels(doc.key))
        if doc.state != "active":
            return  # poll-only: the sweep is its only source of syncs
        if any(c.live(now) for c in self._channels.active_for(doc.key)):
            return
        if not budget.spend(doc.subject, 1):
            report.deferred += 1
            _LOGGER.info("subject's Calendar budget spent; repair deferred", extra=_labels(doc.key))
            return
        _LOGGER.info("active calendar without a live channel; repairing", extra=_labels(doc.key))
        if self._open(self._calendar.for_subject(doc.subject), doc, now, report) == "opened":
            report.repaired += 1

    # --- garbage collection ----------------------------------------------------------------

    def _collect(self, budget: SubjectBudget, report: ChannelReport) -> None:
        for channel in self._channels.superseded_or_orphaned(self._settings.tick_batch):
            if channel.state == "stopped":
                self._channels.delete(channel.id)
                report.collected += 1
                continue
            if not budget.spend(channel.subject, 1):
                report.deferred += 1
                continue
            try:
                if self._stop(self._calendar.for_subject(channel.subject), channel):
                    report.collected += 1
            except TransientError as err:  # the store: next tick
                report.failed += 1
                _LOGGER.warning(
                    "garbage collection failed: %s",
                    err,
                    extra=_labels(channel.calendar_key, channel.id),
                )


def _log_report(what: str, report: ChannelReport, budget: SubjectBudget) -> None:
    busiest = max(budget.used.values(), default=0)
    _LOGGER.info(
        "%s done",
        what,
        extra={"channels": {"command": what, **report.as_dict(), "max_subject_calls": busiest}},
    )
