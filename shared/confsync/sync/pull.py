"""Pulling a calendar's changes: Google's incremental-sync recipe, tokens and pages.

:meth:`Puller.pull` lists events with the stored sync token, every page to the end, applying
each page as it arrives (:mod:`confsync.sync.apply`; the next page is listed meanwhile) and
keeping the lease on a long pull. No
token, or a 410 (the token expired): one windowed full sync (``full_sync_window`` back from now);
a second 410 is a transient error, never a loop. After a full sync, **reconcile**: every stored
record's event that the full sync did not return is confirmed with ``events.get``, because
deletions made while no token was valid never come back as tombstones.

**Untrusted views.** Every page's ``accessRole`` is checked before the page is applied: below
``writer`` (``freeBusyReader``, ``reader``, or a value we do not know) the answer may hide
``conferenceData`` or whole events (a calendar downgraded to free/busy lists every meeting
without its conference), and planning from it would delete or overwrite live conferences. The
pull raises :class:`~confsync.errors.UntrustedViewError` (a ``CalendarAccessError``), so nothing
of that page or any later one is planned or sent, no token is stored, and the runner disconnects
the calendar with the reason ``access_role``. A page **without** ``accessRole`` (an older
emulator, a fake that sets none) is trusted, to stay compatible with them: Google always sends
the field, so only a test double omits it.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from typing import Any

from confsync.errors import (
    CalendarUnavailableError,
    MalformedInputError,
    SyncTokenInvalidError,
    UntrustedViewError,
)
from confsync.events import CalendarEvent, decode_event
from confsync.ports import EventPage, RecordStore
from confsync.records import ConferenceRecord
from confsync.sync.apply import Attached, PageApplier
from confsync.sync.lease import CalendarLease
from confsync.sync.settings import SyncSettings
from confsync.sync.state import Pulled, Run
from confsync.sync.summary import LOGGER, SyncStats, labels

__all__ = ["TRUSTED_ACCESS_ROLES", "Puller"]

TRUSTED_ACCESS_ROLES = frozenset({"writer", "owner"})
"""The ``accessRole`` values whose view of a calendar is complete enough to plan from."""


class Puller:
    """Pulls one round of changes of a run's calendar; stateless between calls."""

    def __init__(
        self,
        records: RecordStore,
        applier: PageApplier,
        lease: CalendarLease,
        settings: SyncSettings,
        *,
        now: Callable[[], datetime],
    ) -> None:
        self._records = records
        self._applier = applier
        self._lease = lease
        self._settings = settings
        self._now = now

    def pull(self, run: Run) -> Pulled:
        """Every change since the stored sync token, or, without a valid one, a full sync and
        reconciliation; the new token and when its pull began."""
        if run.doc.sync_token is not None:
            started = self._now()
            try:
                token = self._pages(run, sync_token=run.doc.sync_token, seen=None)
                return Pulled(token, started, full=False)
            except SyncTokenInvalidError:
                LOGGER.info("sync token invalid (410); full sync", extra=labels(run.doc.key))
        run.stats.full_sync = True
        seen: set[str] = set()
        started = self._now()
        # A full sync lists every event: the calendar's attachments are read once, whole.
        attached = Attached(self._records.attached_to(run.doc.key))
        try:
            token = self._pages(run, sync_token=None, seen=seen, attached=attached)
        except SyncTokenInvalidError as err:  # loop guard: a full sync has no token to refuse
            raise CalendarUnavailableError(f"410 during a full sync: {err}") from err
        self._reconcile(run, seen, attached)
        return Pulled(token, started, full=True)

    def _pages(
        self,
        run: Run,
        *,
        sync_token: str | None,
        seen: set[str] | None,
        attached: Attached | None = None,
    ) -> str:
        """List every page (incremental from ``sync_token``, else windowed), applying each; the
        next sync token. ``seen`` collects the ids of the events listed; ``attached``, the
        calendar's attachments when read whole (see :meth:`PageApplier.apply`)."""
        time_min = None if sync_token else self._now() - self._settings.full_sync_window

        def listed(page_token: str | None) -> EventPage:
            return run.client.list_page(
                run.doc.calendar_id,
                sync_token=sync_token,
                page_token=page_token,
                time_min=time_min,
            )

        incremental = sync_token is not None
        page = listed(None)
        with _NextPages(listed) as ahead:
            while True:
                _check_access(page.access_role)  # before anything of the page is planned
                if page.next_page_token:
                    ahead.request(page.next_page_token)
                last = incremental and not page.next_page_token
                self._take_page(
                    run, page.items, seen, incremental=incremental, attached=attached, last=last
                )
                if page.next_page_token:
                    page = ahead.take()
                    continue
                if not page.next_sync_token:
                    raise CalendarUnavailableError("last page of events.list had no nextSyncToken")
                return page.next_sync_token

    def _take_page(
        self,
        run: Run,
        items: Iterable[Mapping[str, Any]],
        seen: set[str] | None,
        *,
        incremental: bool,
        attached: Attached | None,
        last: bool,
    ) -> None:
        run.stats.pages += 1
        events, raw = _decode(items, run.stats)
        if seen is not None:
            seen.update(event.id for event in events)
        self._applier.apply(
            run, events, raw, look_up_series=incremental, attached=attached, last=last
        )
        self._lease.keep(run)

    def _reconcile(self, run: Run, seen: set[str], attached: Attached) -> None:
        """Confirm every stored event the full sync did not return (deleted while untracked?).

        The candidates are the calendar's attached events the sync did not list (every event a
        record holds for the calendar has its pointer, written with it); only their records are
        read, not every record of the calendar."""
        if attached.stale:  # a save was refused part way: the store knows better
            attached = Attached(self._records.attached_to(run.doc.key))
        unseen = {e: key for e, key in attached.by_event.items() if e not in seen}
        records = self._records.by_keys(sorted(set(unseen.values()))) if unseen else []
        missing = sorted(
            {
                event_id
                for record in records
                if record.status in ("active", "failed")
                for event_id in _events_of(record, run.doc.key)
                if event_id not in seen
            }
        )
        if not missing:
            return
        events: list[CalendarEvent] = []
        raw: dict[str, Mapping[str, Any]] = {}
        for event_id in missing:
            found = run.client.get_event(run.doc.calendar_id, event_id)
            item: Mapping[str, Any] = found or {"id": event_id, "status": "cancelled"}
            events.append(decode_event(item))
            raw[event_id] = item
        run.stats.reconciled += len(missing)
        self._applier.apply(run, events, raw, look_up_series=False, attached=attached)


class _NextPages:
    """The next page of a listing, requested while the current one is applied (one worker
    thread, started only for a listing of more than one page, in a copy of the run's context):
    a long pull waits for the Calendar's answer once instead of once per page. Pages are still
    applied one by one, in order; a page that fails is raised by :meth:`take`, and one not taken
    (the run failed meanwhile) is waited for and dropped when the block ends."""

    def __init__(self, listed: Callable[[str | None], EventPage]) -> None:
        self._listed = listed
        self._pool: ThreadPoolExecutor | None = None
        self._next: Future[EventPage] | None = None

    def __enter__(self) -> _NextPages:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def request(self, page_token: str) -> None:
        """List the page of ``page_token`` now, in the background."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="calendar-next-page")
        context = contextvars.copy_context()
        self._next = self._pool.submit(context.run, self._listed, page_token)

    def take(self) -> EventPage:
        """The page requested last, once listed (its error, if listing it failed)."""
        assert self._next is not None, "take() without request()"
        page, self._next = self._next, None
        return page.result()


def _events_of(record: ConferenceRecord, calendar_key: str) -> tuple[str, ...]:
    refs = record.refs_of(calendar_key)
    return tuple(refs.events) if refs is not None else ()


def _check_access(role: str | None) -> None:
    """Raise UntrustedViewError for a page seen through a role below ``writer``; a page without
    a role (None) is trusted (see the module docstring)."""
    if role is not None and role not in TRUSTED_ACCESS_ROLES:
        raise UntrustedViewError(role)


def _decode(
    items: Iterable[Mapping[str, Any]], stats: SyncStats
) -> tuple[list[CalendarEvent], dict[str, Mapping[str, Any]]]:
    """The page's well-formed events, and each one's item as listed by id; counts the others."""
    events: list[CalendarEvent] = []
    raw: dict[str, Mapping[str, Any]] = {}
    for item in items:
        try:
            event = decode_event(item)
        except MalformedInputError as err:
            stats.malformed += 1
            LOGGER.error("skipping malformed event from the Calendar API: %s", err)
            continue
        events.append(event)
        raw[event.id] = item
    stats.events += len(events)
    return events, raw
