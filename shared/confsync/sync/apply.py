"""Applying one page of calendar events: look up, fold, plan, send, write back, persist.

:meth:`PageApplier.apply` loads the records of the conferences the page's events carry (by key)
and those its other events were attached to (tombstones, exceptions, events that left their
conference: through the calendar's attachments), learns the owners of conferences met for the
first time (:mod:`confsync.sync.owners`), folds the page (:mod:`confsync.folding`), plans
(:mod:`confsync.planner`), sends the updates (:mod:`confsync.sync.send`), writes join URLs back
(:mod:`confsync.sync.write_back`) and only then saves the touched records, so a write-back that
fails for now fails the run before its records say "done". Deletes are not sent here: they are
saved as pending operations due after the delete grace (:mod:`confsync.sync.grace`), for the
deletion brake (:mod:`confsync.sync.brake`) to decide on once the pull has seen every page.

Records are shared by every calendar of a conference, so the save is conditional: when another
calendar's run wrote one of them meanwhile, the page is planned again from what is stored now
(an update already sent is sent again with the same revision, which the conferencing system
recognises as applied).

Series exceptions: an exception whose series is not attached yet waits for it in the run's
``orphans`` for the rest of the run. In an incremental pull, a series that newly attaches to a
record (its conference added or replaced) is looked up once by ``iCalUID``, because its earlier
exceptions never come back as changes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from confsync.conflicts import retried_on_conflict
from confsync.errors import MalformedInputError, RecordConflictError
from confsync.events import CalendarEvent, decode_event
from confsync.planner import (
    DeleteConference,
    Folded,
    Operation,
    PlanContext,
    SeriesAttachment,
    fold_events,
    lookup_for,
    plan_page,
)
from confsync.ports import RecordStore
from confsync.records import KEY_PREFIX, ConferenceRecord, PendingOperation, moved_scope
from confsync.sync.brake import queued
from confsync.sync.owners import OwnerResolver, log_reference
from confsync.sync.send import ProviderSender
from confsync.sync.settings import SyncSettings
from confsync.sync.state import Run, Unsaved
from confsync.sync.summary import LOGGER, labels
from confsync.sync.write_back import write_back

__all__ = ["Attached", "PageApplier"]


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
        attached: Attached | None = None,
        last: bool = False,
    ) -> None:
        """Plan a page, send its operations, write join details back, persist its records.

        ``raw`` holds the page's events as the API returned them, by id. ``look_up_series``: an
        incremental pull, where a series that newly attaches to a record brings exceptions the
        pull will never list; a full sync lists them all anyway. ``attached``: every attachment
        of the calendar, read once by the pull (a full sync lists every event, so reading each
        one's pointer would cost a read per event), kept up to date here; None: the page's
        attachments are read by event id. ``last``: the last page of an incremental pull, whose
        records are staged in ``run.unsaved`` for the round's commit instead of saved here."""
        if not events:
            return

        def conflicted(err: RecordConflictError) -> None:
            run.stats.conflicts += 1
            LOGGER.info("%s; the page is read and planned again", err, extra=labels(run.doc.key))
            if attached is not None:
                # Part of the refused save may be stored: the page reads its pointers again.
                attached.stale = True

        retried_on_conflict(
            lambda: self._apply_once(
                run, events, raw, look_up_series=look_up_series, attached=attached, last=last
            ),
            on_conflict=conflicted,
        )

    def _loaded(
        self, events: Sequence[CalendarEvent], ctx: PlanContext, attached: Attached | None
    ) -> tuple[dict[str, ConferenceRecord], dict[str, str], dict[str, str]]:
        """The records the page may touch (new ones created), the calendar's attachments of its
        events, and the moved-away attachments of its tombstones that have none here."""
        lookup = lookup_for(events, ctx)
        records = {r.key: r for r in self._records.by_keys(sorted(lookup.record_keys))}
        # Events held in a loaded record need no attachment read; only the others do
        # (tombstones, exceptions, counted references, events that left their conference).
        attachments = {
            event_id: key
            for key, record in records.items()
            if (refs := record.refs_of(ctx.calendar_key)) is not None
            for event_id in refs.events
        }
        if unknown := lookup.event_ids - attachments.keys():
            if attached is not None and not attached.stale:
                known = attached.by_event
                attachments.update({e: known[e] for e in unknown if e in known})
            else:
                attachments.update(self._records.attachments(ctx.calendar_key, sorted(unknown)))
        moved: dict[str, str] = {}
        tombstones = {
            e.id for e in events if e.cancelled and not e.is_instance
        } - attachments.keys()
        if tombstones:
            scope = moved_scope(ctx.subject)
            moved = self._records.attachments(scope, sorted(tombstones))
        if missing := (set(attachments.values()) | set(moved.values())) - records.keys():
            records.update({r.key: r for r in self._records.by_keys(sorted(missing))})
        for key in lookup.record_keys - records.keys():
            records[key] = ConferenceRecord(
                key=key, conference_id=key.removeprefix(KEY_PREFIX), home_key=ctx.calendar_key
            )
        return records, attachments, moved

    def _apply_once(
        self,
        run: Run,
        events: Sequence[CalendarEvent],
        raw: Mapping[str, Mapping[str, Any]],
        *,
        look_up_series: bool,
        attached: Attached | None,
        last: bool,
    ) -> None:
        ctx = self._settings.plan_context(run.doc)
        records, attachments, moved = self._loaded(events, ctx, attached)
        # Owners first: the fold keeps only the events of calendars that act for a conference.
        resolved = self._owners.resolve(run, records)
        working = {**records, **resolved}
        folded = fold_events(events, working, attachments, ctx, run.orphans, moved=moved)
        exceptions = self._series_exceptions(run, folded.attached) if look_up_series else []
        if exceptions:
            # After the page's own events, so the series is attached when they are folded.
            everything = [*events, *exceptions]
            folded = fold_events(everything, working, attachments, ctx, run.orphans, moved=moved)
        plan = plan_page(folded, ctx, also=resolved)
        final = {**resolved, **folded.changed}
        # Deletes are never sent from a page: each is queued (pending, due after the grace) for
        # the deletion brake, which decides on them all once the pull has seen every page.
        due = self._now() + self._settings.delete_grace
        deletes = [op for op in plan.operations if isinstance(op, DeleteConference)]
        final.update({op.record_key: queued(final[op.record_key], due) for op in deletes})
        run.deletes_queued += len(deletes)
        updates = [op for op in plan.operations if not isinstance(op, DeleteConference)]
        ahead = self._written_ahead(run, updates, folded, final)
        sent = self._sender.send(updates, final, run.stats, calendar_key=run.doc.key)
        done = {key: result.record for key, result in sent.items()}
        final.update(done)
        if self._settings.write_back:
            # Before saving: if writing back fails for now, the run raises and nothing records
            # the operation (nor its join URL) as done, so the redelivery writes back again.
            write_back(run, {**working, **final}, sent, raw)
        # Written ahead: the rest of the page, and its attachments, are stored already.
        stored = done if ahead else final
        pointers: Mapping[str, str | None] = {} if ahead else folded.attachments
        if stored or pointers:
            self._save(
                run,
                stored,
                pointers,
                last=last,
                again=lambda: self.apply(
                    run, events, raw, look_up_series=look_up_series, attached=attached
                ),
            )
        if attached is not None:
            attached.note(folded.attachments)
        run.orphans = folded.orphans
        self._counted(run, folded, final, raw)

    def _save(
        self,
        run: Run,
        stored: Mapping[str, ConferenceRecord],
        pointers: Mapping[str, str | None],
        *,
        last: bool,
        again: Callable[[], None],
    ) -> None:
        """Save the page's records and attachments; the last page's are staged for the round's
        commit instead (written with the token, or not at all: a run that dies before it is like
        one that died before this save, and the next pull sends the same revisions again), with
        ``again``, which applies the page anew when a staged record changed meanwhile."""
        run.stats.records_written += len(stored)
        key = run.doc.key
        if last and (
            staged := self._records.stage(stored.values(), calendar_key=key, attachments=pointers)
        ):
            run.unsaved = Unsaved(staged, again)
            return
        self._records.save(stored.values(), calendar_key=key, attachments=pointers)

    def _written_ahead(
        self,
        run: Run,
        updates: Sequence[Operation],
        folded: Folded,
        final: dict[str, ConferenceRecord],
    ) -> bool:
        """Save the page before sending when an update goes to a conference this calendar's
        events were not attached to yet (a new record, or an event that took the conference):
        the records, each update marked in flight, and the attachments, all at once. A process
        that dies after the conferencing system answered would otherwise leave a conference
        adopted that no record or attachment knows, and a bare tombstone of its event (what an
        incremental pull returns once the event is deleted meanwhile) could never find it.
        ``final`` is updated with the stored versions; whether it saved."""
        newly = set(folded.attachments.values())
        keys = [op.record_key for op in updates]
        if not any(final[key].version is None or key in newly for key in keys):
            return False
        now = self._now()
        final.update({key: in_flight(final[key], now) for key in keys})
        versions = self._records.save(
            final.values(), calendar_key=run.doc.key, attachments=folded.attachments
        )
        run.stats.records_written += len(final)
        final.update({k: replace(r, version=versions.get(k, r.version)) for k, r in final.items()})
        return True

    @staticmethod
    def _counted(
        run: Run,
        folded: Folded,
        final: Mapping[str, ConferenceRecord],
        raw: Mapping[str, Mapping[str, Any]],
    ) -> None:
        """Log each event newly counted as a reference, once."""
        run.stats.references += len(folded.counted)
        for key, event_id in folded.counted:
            organizer = (raw.get(event_id) or {}).get("organizer") or {}
            organizer_self = isinstance(organizer, Mapping) and organizer.get("self") is True
            log_reference(run, final[key], event_id, organizer_self)

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


@dataclass(slots=True)
class Attached:
    """Every attachment of the calendar (event id -> record key), read once for a whole pull.

    ``stale`` once a save of the pull was refused part way (some of its pointers may be stored,
    some not): from then on the pages read their attachments from the store again."""

    by_event: dict[str, str]
    stale: bool = False

    def note(self, changes: Mapping[str, str | None]) -> None:
        """Take the attachments a page stored (None: detached)."""
        for event_id, key in changes.items():
            if key is None:
                self.by_event.pop(event_id, None)
            else:
                self.by_event[event_id] = key


IN_FLIGHT_NOTE = "in flight: being sent by a run (retried if that run died)"
"""The ``last_error`` of an update saved before it is sent (see ``PageApplier._written_ahead``)."""


def in_flight(record: ConferenceRecord, now: datetime) -> ConferenceRecord:
    """``record`` with its update marked as being sent: pending, due at once, so when the run
    that sends it dies, the next run of its home calendar sends it again (the same revision:
    the conferencing system answers it as a repeat). Its attempts are kept."""
    attempts = record.pending.attempts if record.pending is not None else 0
    pending = PendingOperation(attempts=attempts, next_attempt_at=now, last_error=IN_FLIGHT_NOTE)
    return replace(record, pending=pending)
