"""Applying one page of calendar events: plan, send, write back, persist.

:meth:`PageApplier.apply` loads the records the page's events belong to, plans the page (pure,
:mod:`confsync.planner`), learns the owners of conferences met for the first time and keeps the
operations of records whose calendar acts for their conference (:mod:`confsync.sync.owners`),
sends the updates (:mod:`confsync.sync.send`), writes join URLs
back (:mod:`confsync.sync.write_back`) and only then saves the touched records, so a write-back
that fails for now fails the run before its records say "done". Deletes are not sent here: they
are saved as pending operations due after the delete grace (:mod:`confsync.sync.grace`), for the
deletion brake (:mod:`confsync.sync.brake`) to
decide on once the pull has seen every page.

Series exceptions: an exception whose series is not attached yet waits for it in the run's
``orphans`` for the rest of the run. In an incremental pull, a series that newly attaches to a
record (its conference added or replaced) is looked up once by ``iCalUID``, because its earlier
exceptions never come back as changes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from confsync.errors import MalformedInputError
from confsync.events import CalendarEvent, decode_event
from confsync.planner import DeleteConference, SeriesAttachment, lookup_for, plan_page
from confsync.ports import RecordStore
from confsync.sync.brake import queued
from confsync.sync.owners import OwnerResolver
from confsync.sync.send import ProviderSender
from confsync.sync.settings import SyncSettings
from confsync.sync.state import Run
from confsync.sync.summary import LOGGER, labels
from confsync.sync.write_back import write_back

__all__ = ["PageApplier"]


class PageApplier:
    """Applies pages of events to the records in ``records``; stateless between calls."""

    def __init__(
        self,
        records: RecordStore,
        sender: ProviderSender,
        owners: OwnerResolver,
        settings: SyncSettings,
        *,
        now: Callable[[], datetime],
    ) -> None:
        self._records = records
        self._sender = sender
        self._owners = owners
        self._settings = settings
        self._now = now

    def apply(
        self,
        run: Run,
        events: Sequence[CalendarEvent],
        raw: Mapping[str, Mapping[str, Any]],
        *,
        look_up_series: bool,
    ) -> None:
        """Plan a page, send its operations, write join details back, persist its records.

        ``raw`` holds the page's events as the API returned them, by id. ``look_up_series``: an
        incremental pull, where a series that newly attaches to a record brings exceptions the
        pull will never list; a full sync lists them all anyway."""
        if not events:
            return
        ctx = self._settings.plan_context(run.doc)
        lookup = lookup_for(events, ctx)
        # Events carrying our conference find their record by its key; only the others
        # (tombstones, instances, events that left their conference) need an event lookup.
        records = {r.key: r for r in self._records.by_keys(lookup.record_keys)}
        known = {event_id for record in records.values() for event_id in record.events}
        if unknown := lookup.event_ids - known:
            found = self._records.by_event_ids(run.doc.key, unknown)
            records.update({r.key: r for r in found})
        plan = plan_page(events, records, ctx, run.orphans)
        exceptions = self._series_exceptions(run, plan.attached) if look_up_series else []
        if exceptions:
            # After the page's own events, so the series is attached when they are folded.
            plan = plan_page([*events, *exceptions], records, ctx, run.orphans)
        run.orphans = plan.orphans
        # Owners first: only records whose calendar acts for their conference keep operations.
        final = self._owners.resolve(run, plan.changed, records)
        operations = [op for op in plan.operations if final[op.record_key].role == "acting"]
        # Deletes are never sent from a page: each is queued (pending, due after the grace) for
        # the deletion brake, which decides on them all once the pull has seen every page.
        now = self._now()
        deletes = [op for op in operations if isinstance(op, DeleteConference)]
        due = now + self._settings.delete_grace  # the delete grace (:mod:`confsync.sync.grace`)
        final.update({op.record_key: queued(final[op.record_key], due) for op in deletes})
        updates = [op for op in operations if not isinstance(op, DeleteConference)]
        sent = self._sender.send(updates, final, run.stats)
        final.update({key: result.record for key, result in sent.items()})
        if self._settings.write_back:
            # Before saving: if writing back fails for now, the run raises and nothing records
            # the operation (nor its join URL) as done, so the redelivery writes back again.
            write_back(run, {**records, **final}, sent, raw)
        if final:
            self._records.save(final.values(), before=records)
            run.stats.records_written += len(final)

    def _series_exceptions(
        self, run: Run, attached: Sequence[SeriesAttachment]
    ) -> list[CalendarEvent]:
        """The current exceptions of series that newly attached to a record, one lookup each."""
        found: list[CalendarEvent] = []
        for series in attached:
            if not series.ical_uid:
                LOGGER.warning(
                    "series %s has no iCalUID; exceptions made before it got its conference "
                    "are not looked up",
                    series.series_id,
                    extra=labels(run.doc.key),
                )
                continue
            items = run.client.list_series(run.doc.calendar_id, series.ical_uid)
            run.stats.series_lookups += 1
            for item in items:
                try:
                    event = decode_event(item)
                except MalformedInputError as err:
                    run.stats.malformed += 1
                    LOGGER.error("skipping malformed event from a series lookup: %s", err)
                    continue
                if event.recurring_event_id == series.series_id:
                    found.append(event)
        return found
