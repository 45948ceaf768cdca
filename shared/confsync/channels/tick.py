"""The tick (Cloud Scheduler, every few minutes) and its ``renew`` / ``sweep`` fan-out batches.

Each step is bounded to ``tick_batch`` items done inline, the rest fanned out as ``renew`` /
``sweep`` commands of ``tick_batch`` keys:

a. *renew*: channels expiring within the renewal window (or within half their lifetime) are
   renewed per calendar by :meth:`~confsync.channels.watch.Watcher.renew_calendar`.
b. *sweep*: calendars whose next sweep is due (``CalendarStore.due_for_sweep``: ``sweep_due_at``,
   planned by each sync run's commit from what it found, :mod:`confsync.sweep_policy`; the
   earliest due first, with a little jitter) get a SyncRequest, because push is only a hint. A
   sweep whose run does not commit leaves ``sweep_due_at`` as it was: the next tick hands it out
   again.
c. *repair*: an ``active`` calendar met by the sweep with no live channel, or with a suspect one
   (its last sweep found changes no notification announced), is watched again; a refusal marks
   it ``poll-only`` once, so it is not retried every tick. ``poll-only`` calendars get their
   syncs from the sweep alone.
d. *retirement* (:mod:`confsync.channels.offboarding`): calendars ``disconnected`` for longer
   than the retention are unenrolled with their conference records forgotten (never their
   conferences).
e. *garbage collection*: superseded channels are stopped (404: already gone) and forgotten;
   stopped ones are forgotten.
f. *offboarding's stops*: the active channels of calendars recently ``disconnected`` are stopped
   (one attempt each; one that failed for now is left superseded, for the next collection).

Every Calendar call of a tick is charged to the calendar's subject: no subject gets more than
``subject_budget_per_minute`` calls from one tick (fan-out batches included, because the tick
plans them), the rest waits for the next tick. Failures of one calendar are logged and skipped:
the next tick finds the same work again, because all state is in the stores.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import TypeVar

from confsync.calendars import CalendarDoc
from confsync.channel_docs import ChannelDoc
from confsync.channels.logs import LOGGER, labels
from confsync.channels.offboarding import Offboarding, Unenroll
from confsync.channels.report import ChannelReport, SubjectBudget, log_report
from confsync.channels.settings import ChannelSettings
from confsync.channels.watch import Watcher
from confsync.errors import PermanentError, TransientError
from confsync.messages import RenewCommand, SweepCommand, SyncRequest
from confsync.ports import (
    CalendarStore,
    ChannelClientFactory,
    ChannelCommandPublisher,
    ChannelStore,
    SyncRequestPublisher,
)

__all__ = ["Tick"]

_FLOOR = datetime.min.replace(tzinfo=UTC)

T = TypeVar("T")


def _chunks(items: Sequence[T], size: int) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _due_at(doc: CalendarDoc) -> datetime:
    """When the calendar's sweep fell due (a calendar stored before sweeps by need: its last
    attempt)."""
    return doc.sweep_due_at or doc.last_attempt_at or _FLOOR


class Tick:
    """The periodic maintenance: renew, sweep (with repair), offboard and collect, batched and
    budgeted. Offboarding runs only when ``unenroll`` (the enrolment's) is given."""

    def __init__(
        self,
        *,
        calendar_api: ChannelClientFactory,
        calendar_store: CalendarStore,
        channels: ChannelStore,
        publisher: SyncRequestPublisher,
        commands: ChannelCommandPublisher,
        settings: ChannelSettings,
        watcher: Watcher,
        now: Callable[[], datetime],
        rng: random.Random,
        unenroll: Unenroll | None = None,
    ) -> None:
        self._calendar_api = calendar_api
        self._calendar_store = calendar_store
        self._channels = channels
        self._publisher = publisher
        self._commands = commands
        self._settings = settings
        self._watcher = watcher
        self._now = now
        self._rng = rng
        self._offboarding: Offboarding | None = None
        if unenroll is not None:
            self._offboarding = Offboarding(
                calendar_api=calendar_api,
                calendar_store=calendar_store,
                channels=channels,
                settings=settings,
                watcher=watcher,
                unenroll=unenroll,
            )

    # --- the commands ----------------------------------------------------------------------

    def tick(
        self, now: datetime | None = None, *, issued_at: datetime | None = None
    ) -> ChannelReport:
        """Renew, sweep (with repair), retire, collect and stop the channels of disconnected
        calendars, within the batch and the subject budget."""
        now = now or self._now()
        if issued_at is not None and now - issued_at > self._settings.sweep_interval:
            LOGGER.warning("tick delivered %s late; running it anyway", now - issued_at)
        report = ChannelReport()
        budget = SubjectBudget(self._settings.subject_budget_per_minute)
        self._tick_renew(now, budget, report)
        self._tick_sweep(now, budget, report)
        if self._offboarding is not None:
            self._offboarding.retire(now, report, self._guarded)
        self._collect(budget, report)
        if self._offboarding is not None:  # after collection: a failed stop waits a tick
            self._offboarding.stop_channels(now, budget, report, self._guarded)
        log_report("tick", report, budget)
        return report

    def renew(self, keys: Iterable[str]) -> ChannelReport:
        """A fan-out batch: renew the due channels of these calendars (own subject budget)."""
        now = self._now()
        report = ChannelReport()
        budget = SubjectBudget(self._settings.subject_budget_per_minute)
        for key in keys:
            work = partial(self._watcher.renew_calendar, key, now, budget, report)
            self._guarded(key, report, work)
        log_report("renew", report, budget)
        return report

    def sweep(self, keys: Iterable[str]) -> ChannelReport:
        """A fan-out batch: request a sync of these calendars, repairing missing channels."""
        now = self._now()
        report = ChannelReport()
        budget = SubjectBudget(self._settings.subject_budget_per_minute)
        for key in keys:
            doc = self._calendar_store.get(key)
            if doc is None or not doc.syncing:
                LOGGER.info("sweep skipped: calendar not syncing", extra=labels(key))
                continue
            self._guarded(key, report, partial(self._sweep_one, doc, now, budget, report))
        log_report("sweep", report, budget)
        return report

    # --- planning: what this tick does inline, what it fans out -----------------------------

    def _tick_renew(self, now: datetime, budget: SubjectBudget, report: ChannelReport) -> None:
        deadline = now + self._settings.renewal_window
        due = self._channels.expiring_before(deadline, self._settings.scan_limit)
        by_calendar: dict[str, list[ChannelDoc]] = {}
        for channel in due:
            if self._watcher.due(channel, now):
                by_calendar.setdefault(channel.calendar_key, []).append(channel)
        planned: list[str] = []
        for key, channels in by_calendar.items():
            # a new watch plus one stop per due channel, charged to the channel's subject
            if budget.spend(channels[0].subject, 1 + len(channels)):
                planned.append(key)
            else:
                report.deferred += 1
                LOGGER.info(
                    "subject's Calendar budget spent; renewal deferred to the next tick",
                    extra=labels(key),
                )
        inline, rest = self._fan_out(planned, RenewCommand, report)
        unlimited = SubjectBudget(None)  # already charged while planning
        for key in inline:
            work = partial(self._watcher.renew_calendar, key, now, unlimited, report)
            self._guarded(key, report, work)
        if rest:
            LOGGER.info("renewal fanned out: %d calendars in %d commands", *rest)

    def _tick_sweep(self, now: datetime, budget: SubjectBudget, report: ChannelReport) -> None:
        interval = self._settings.sweep_interval
        due = self._calendar_store.due_for_sweep(
            now, self._settings.scan_limit, stale_before=now - interval
        )
        jitter = interval.total_seconds() * self._settings.sweep_jitter
        ordered = sorted(
            due,
            key=lambda d: _due_at(d).timestamp() + self._rng.uniform(0, jitter),
        )
        by_key = {doc.key: doc for doc in ordered}
        inline, rest = self._fan_out([d.key for d in ordered], SweepCommand, report)
        for key in inline:
            doc = by_key[key]
            self._guarded(key, report, partial(self._sweep_one, doc, now, budget, report))
        if rest:
            LOGGER.info("sweep fanned out: %d calendars in %d commands", *rest)

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
            LOGGER.warning(
                "channel maintenance failed; next tick retries: %s: %s",
                type(err).__name__,
                err,
                extra=labels(key),
            )

    # --- one calendar's sweep and repair; garbage collection --------------------------------

    def _sweep_one(
        self, doc: CalendarDoc, now: datetime, budget: SubjectBudget, report: ChannelReport
    ) -> None:
        self._publisher.publish(SyncRequest(calendar_key=doc.key, reason="sweep", notified_at=now))
        report.swept += 1
        LOGGER.debug("sweep requested a sync", extra=labels(doc.key))
        if doc.state != "active":
            return  # poll-only: the sweep is its only source of syncs
        active = self._channels.active_for(doc.key)
        live = [c for c in active if c.live(now)]
        if live and not doc.channel_suspect:
            return
        if not budget.spend(doc.subject, 1 + len(live)):  # a watch, and a stop per suspect
            report.deferred += 1
            LOGGER.info("subject's Calendar budget spent; repair deferred", extra=labels(doc.key))
            return
        why = "a suspect channel" if live else "no live channel"
        LOGGER.info("active calendar with %s; repairing", why, extra=labels(doc.key))
        client = self._calendar_api.for_subject(doc.subject)
        if self._watcher.open(client, doc, now, report) != "opened":
            return
        report.repaired += 1
        for channel in live:  # the new channel is persisted: retire the suspect ones
            self._watcher.supersede(channel, "suspect", now)
            self._watcher.stop(client, channel)

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
                if self._watcher.stop(self._calendar_api.for_subject(channel.subject), channel):
                    report.collected += 1
            except TransientError as err:  # the store: next tick
                report.failed += 1
                LOGGER.warning(
                    "garbage collection failed: %s",
                    err,
                    extra=labels(channel.calendar_key, channel.id),
                )
