"""The tick (Cloud Scheduler, every few minutes) and its ``renew`` / ``sweep`` fan-out batches.

Renewal and sweep page through their due queries (``query_page`` documents a query), however
many are due: the tick keeps the first ``tick_batch`` calendars of each for itself and publishes
the rest as ``renew`` / ``sweep`` commands of ``tick_batch`` keys as soon as it has read them
(before its own work, so the batches run in parallel with it). No cap leaves due work behind; a
page that cannot be read or published ends that step (logged and counted as failed), and the
next tick starts with what is left, because handled work leaves the queries (a renewed channel is
superseded, a swept calendar's run plans its next sweep when it commits) and the queries give
the most overdue first:

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

A fan-out batch reads what it needs for the whole batch at once: a ``renew`` batch its calendars'
active channels (one query per 30) and documents (one batched get), a ``sweep`` batch its
calendars' documents (one batched get), whose live windows tell whether a calendar needs a repair
(see :mod:`confsync.channels.watch`). See docs/decisions/2026-12-04-tick-paging.md.

Every Calendar call of a tick is charged to the calendar's subject: no subject gets more than
``subject_budget_per_minute`` calls from one tick (fan-out batches included, because the tick
plans them), the rest waits for the next tick. Failures of one calendar are logged and skipped:
the next tick finds the same work again, because all state is in the stores.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import datetime
from functools import partial

from confsync.calendars import CalendarDoc
from confsync.channels.collection import collect_channels
from confsync.channels.fanout import FanOut
from confsync.channels.logs import LOGGER, labels
from confsync.channels.offboarding import Offboarding, Unenroll
from confsync.channels.planning import RenewalPlan, jittered
from confsync.channels.report import ChannelReport, SubjectBudget, log_report
from confsync.channels.settings import ChannelSettings
from confsync.channels.watch import Watcher
from confsync.errors import CalendarBudgetSpentError, PermanentError, TransientError
from confsync.messages import RenewCommand, SweepCommand, SyncRequest
from confsync.ports import (
    CalendarStore,
    ChannelClientFactory,
    ChannelCommandPublisher,
    ChannelStore,
    PageCursor,
    SyncRequestPublisher,
)

__all__ = ["Tick"]


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
        # hand out everything due first, so the fan-out batches run while the tick works
        renewals = self._fan_out_renewals(now, budget, report)
        sweeps = self._fan_out_sweeps(now, report)
        self._renew_keys(renewals, now, SubjectBudget(None), report)  # charged while planning
        # read before those renewals: a calendar renewed just now is not repaired as well
        self._sweep_docs(sweeps, now, budget, report, renewed=set(renewals))
        if self._offboarding is not None:
            self._offboarding.retire(now, report, self._guarded)
        collect_channels(
            channels=self._channels,
            calendar_api=self._calendar_api,
            watcher=self._watcher,
            limit=self._settings.tick_batch,
            budget=budget,
            report=report,
        )
        if self._offboarding is not None:  # after collection: a failed stop waits a tick
            self._offboarding.stop_channels(now, budget, report, self._guarded)
        log_report("tick", report, budget)
        return report

    def renew(self, keys: Iterable[str]) -> ChannelReport:
        """A fan-out batch: renew the due channels of these calendars (own subject budget)."""
        now = self._now()
        report = ChannelReport()
        budget = SubjectBudget(self._settings.subject_budget_per_minute)
        self._renew_keys(list(dict.fromkeys(keys)), now, budget, report)
        log_report("renew", report, budget)
        return report

    def sweep(self, keys: Iterable[str]) -> ChannelReport:
        """A fan-out batch: request a sync of these calendars, repairing missing channels."""
        now = self._now()
        report = ChannelReport()
        budget = SubjectBudget(self._settings.subject_budget_per_minute)
        wanted = list(dict.fromkeys(keys))
        docs = self._calendar_store.get_many(wanted)
        for key in wanted:
            doc = docs.get(key)
            if doc is None or not doc.syncing:
                LOGGER.info("sweep skipped: calendar not syncing", extra=labels(key))
        self._sweep_docs([d for d in docs.values() if d.syncing], now, budget, report)
        log_report("sweep", report, budget)
        return report

    # --- planning: what this tick does inline, what it fans out -----------------------------

    def _fan_out_renewals(
        self, now: datetime, budget: SubjectBudget, report: ChannelReport
    ) -> list[str]:
        """Page through the channels due for renewal, plan their calendars within the budget
        and publish every ``renew`` command; the calendars left for the tick itself."""
        deadline = now + self._settings.renewal_window
        fan_out = FanOut(RenewCommand, self._commands, self._settings.tick_batch, report)
        plan = RenewalPlan(partial(self._watcher.due, now=now), budget, report)
        cursor: PageCursor | None = None
        try:
            while True:
                page = self._channels.expiring_before(deadline, self._settings.query_page, cursor)
                fan_out.add(plan.page(page.items))
                if page.cursor is None:
                    break
                cursor = page.cursor
            fan_out.flush()
        except TransientError as err:
            _stopped_early("renewal", err, report)
        fan_out.log("renewal")
        return fan_out.inline

    def _renew_keys(
        self, keys: Sequence[str], now: datetime, budget: SubjectBudget, report: ChannelReport
    ) -> None:
        """Renew these calendars' due channels, reading their channels and their documents in
        a few queries for all of them."""
        if not keys:
            return
        try:
            active = self._channels.active_for_many(keys)
            docs = self._calendar_store.get_many(keys)
        except TransientError as err:
            _stopped_early("renewal", err, report)
            return
        for key in keys:
            channels, doc = active.get(key, []), docs.get(key)
            work = partial(
                self._watcher.renew_known, key, channels, doc, now=now, budget=budget, report=report
            )
            self._guarded(key, report, work)

    def _fan_out_sweeps(self, now: datetime, report: ChannelReport) -> list[CalendarDoc]:
        """Page through the calendars due for a sweep and publish every ``sweep`` command (a
        sweep whose run does not commit stays due for the next tick: the run's commit plans the
        next one); the calendars left for the tick itself."""
        interval = self._settings.sweep_interval
        spread = interval * self._settings.sweep_jitter
        fan_out = FanOut(SweepCommand, self._commands, self._settings.tick_batch, report)
        mine: dict[str, CalendarDoc] = {}
        cursor: PageCursor | None = None
        try:
            while True:
                page = self._calendar_store.due_for_sweep(
                    now, self._settings.query_page, cursor, stale_before=now - interval
                )
                ordered = jittered(page.items, self._rng, spread)
                room = self._settings.tick_batch - len(mine)
                mine.update((d.key, d) for d in ordered[: max(room, 0)])
                fan_out.add([d.key for d in ordered])
                if page.cursor is None:
                    break
                cursor = page.cursor
            fan_out.flush()
        except TransientError as err:
            _stopped_early("sweep", err, report)
        fan_out.log("sweep")
        return [mine[k] for k in fan_out.inline]

    def _sweep_docs(
        self,
        docs: Sequence[CalendarDoc],
        now: datetime,
        budget: SubjectBudget,
        report: ChannelReport,
        *,
        renewed: Collection[str] = (),
    ) -> None:
        """Sweep these calendars: whether each has a live channel is on its document (the live
        windows); only documents stored before windows were need their channels queried. The
        ``renewed`` calendars count as live (renewed since their documents were read), as do
        the unrecorded ones when their channels cannot be read."""
        unrecorded = [d.key for d in docs if d.channels is None]
        try:
            active = self._channels.active_for_many(unrecorded) if unrecorded else {}
        except TransientError as err:  # their syncs still go out; their repair waits a tick
            _stopped_early("repair check", err, report)
            renewed = {*renewed, *unrecorded}
            active = {}
        for doc in docs:
            if doc.key in renewed:
                live = True
            elif doc.channels is None:
                live = any(c.live(now) for c in active.get(doc.key, []))
            else:
                live = any(w.covers(now) for w in doc.channels.values())
            work = partial(self._sweep_one, doc, live, now=now, budget=budget, report=report)
            self._guarded(doc.key, report, work)

    def _guarded(self, key: str, report: ChannelReport, work: Callable[[], None]) -> None:
        """Run one calendar's work; a failure is logged and left to the next tick, and so is a
        calendar the project's Calendar budget refused (counted as deferred)."""
        try:
            work()
        except CalendarBudgetSpentError:
            report.deferred += 1  # the project's Calendar budget: the next tick continues
            LOGGER.info("project's Calendar budget spent; deferred", extra=labels(key))
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
        self,
        doc: CalendarDoc,
        live: bool,
        *,
        now: datetime,
        budget: SubjectBudget,
        report: ChannelReport,
    ) -> None:
        """Request a sync of the calendar; repair it when it is ``active`` without a ``live``
        channel."""
        self._publisher.publish(SyncRequest(calendar_key=doc.key, reason="sweep", notified_at=now))
        report.swept += 1
        LOGGER.debug("sweep requested a sync", extra=labels(doc.key))
        if doc.state != "active":
            return  # poll-only: the sweep is its only source of syncs
        if live and not doc.channel_suspect:
            return
        suspects = [c for c in self._channels.active_for(doc.key) if c.live(now)] if live else []
        if not budget.spend(doc.subject, 1 + len(suspects)):  # a watch; a stop per suspect one
            report.deferred += 1
            LOGGER.info("subject's Calendar budget spent; repair deferred", extra=labels(doc.key))
            return
        why = "a suspect channel" if suspects else "no live channel"
        LOGGER.info("active calendar with %s; repairing", why, extra=labels(doc.key))
        client = self._calendar_api.for_subject(doc.subject)
        if self._watcher.open(client, doc, now, report) != "opened":
            return
        report.repaired += 1
        for channel in suspects:  # the new channel is persisted: retire the suspect ones
            self._watcher.supersede(channel, "suspect", now)
            self._watcher.stop(client, channel)


def _stopped_early(step: str, err: TransientError, report: ChannelReport) -> None:
    """What ``step`` still had to read or publish could not be: it waits for the next tick."""
    report.failed += 1
    LOGGER.warning(
        "%s stopped early; the next tick starts with what is left: %s: %s",
        step,
        type(err).__name__,
        err,
    )
