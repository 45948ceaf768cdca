"""Whose conference it is: the owner lookup and the role of a calendar's record.

The first time a run meets a conference (a record without a known owner), the owner is read
from the conferencing system with one ``GET`` (``ConferenceProvider.owner_of``, counted as
``owner_lookups``) and kept on the record; then the record's **role** is decided by
:mod:`confsync.ownership`: ``acting`` when the owner is the calendar's subject or organised its
events, ``reference`` otherwise. An ownerless conference follows the configured policy; under
``first-claimant`` the records of the conference on other calendars (``RecordStore.
by_conference``) and their calendars' subjects say whether someone else claimed it first.

Only ``acting`` records get operations (:mod:`confsync.sync.apply`, :mod:`confsync.sync.
pending`) or write-backs. When the owner cannot be learned:

- unavailable: nothing is sent; the record is pending (backoff) so a later run asks again;
- gone: the conference no longer exists; the record is marked deleted and never asked about;
- rejected: the record fails at once, as a rejected operation does; so does one unavailable
  past its retry budget (both with the ``conference_operation_failed`` alert).

A reference is logged once per record at INFO (calendar key, conference id, owner, organizer)
and counted as ``references`` whenever a page touches it; its pending operation, if it had one
from before its role was known, is dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime

from confsync.errors import ProviderGoneError, ProviderRejectedError, ProviderUnavailableError
from confsync.ownership import Role, ownerless_role, role_of_any
from confsync.planner import after_failure
from confsync.ports import CalendarStore, ConferenceProvider, RecordStore
from confsync.records import ConferenceRecord
from confsync.sync.settings import SyncSettings
from confsync.sync.state import Run
from confsync.sync.summary import LOGGER, labels

__all__ = ["REFERENCE_MESSAGE", "OwnerResolver"]

REFERENCE_MESSAGE = "conference carried as a reference"
"""The start of the INFO line about a calendar carrying a conference it may not change."""

_Lookup = str | None | ProviderGoneError | ProviderUnavailableError | ProviderRejectedError


class OwnerResolver:
    """Learns owners and decides roles; stateless, so concurrent runs share one."""

    def __init__(
        self,
        provider: ConferenceProvider,
        records: RecordStore,
        calendars: CalendarStore,
        settings: SyncSettings,
        *,
        now: Callable[[], datetime],
    ) -> None:
        self._provider = provider
        self._records = records
        self._calendars = calendars
        self._settings = settings
        self._now = now

    def resolve(
        self,
        run: Run,
        records: Mapping[str, ConferenceRecord],
        before: Mapping[str, ConferenceRecord],
    ) -> dict[str, ConferenceRecord]:
        """``records`` (by key, as they will be saved) with owners looked up where not known and
        roles decided. ``before``: the records as stored, whose events' organizers count too
        (a record whose last event just left keeps its calendar's part)."""
        unknown = [r for r in records.values() if r.status != "deleted" and not r.owner_known]
        looked = self._look_up(run, unknown)
        resolved: dict[str, ConferenceRecord] = {}
        for key, folded in records.items():
            record = folded
            if key in looked:
                learned = self._learned(folded, looked[key])
                if learned is None:  # not learned: pending, failed or deleted now
                    resolved[key] = self._unresolved(run, folded, looked[key])
                    continue
                record = learned
            if record.status != "deleted":
                record = self._decided(run, record, before.get(key))
            resolved[key] = record
        return resolved

    def _look_up(self, run: Run, records: Sequence[ConferenceRecord]) -> dict[str, _Lookup]:
        """One ``owner_of`` per record, with the provider's bounded concurrency."""
        if not records:
            return {}
        workers = max(1, min(self._settings.provider_concurrency, len(records)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="owner") as pool:
            results = list(pool.map(lambda r: self._owner_of(r.conference_id), records))
        run.stats.owner_lookups += len(records)
        return {r.key: result for r, result in zip(records, results, strict=True)}

    def _owner_of(self, conference_id: str) -> _Lookup:
        try:
            return self._provider.owner_of(conference_id)
        except (ProviderGoneError, ProviderUnavailableError, ProviderRejectedError) as err:
            return err

    @staticmethod
    def _learned(record: ConferenceRecord, found: _Lookup) -> ConferenceRecord | None:
        if isinstance(found, Exception):
            return None
        return replace(record, owner=found, owner_known=True)

    def _unresolved(self, run: Run, record: ConferenceRecord, err: _Lookup) -> ConferenceRecord:
        """The record when its owner could not be learned: deleted, pending or failed."""
        if isinstance(err, ProviderGoneError):
            run.stats.gone += 1
            return replace(record, status="deleted", pending=None, hold=None)
        permanent = isinstance(err, ProviderRejectedError)
        settings = self._settings
        failed = after_failure(
            record,
            f"owner {'rejected' if permanent else 'unavailable'}: {err}",
            self._now(),
            max_attempts=1 if permanent else settings.pending_max_attempts,
            base_delay=settings.pending_base_delay,
            max_delay=settings.pending_max_delay,
        )
        if failed.status != "failed":
            run.stats.pending += 1
            return failed
        run.stats.failed += 1
        LOGGER.error(
            "owner lookup of conference %s failed after %d attempts; nothing is sent for it "
            "until its events change: %s",
            record.conference_id,
            failed.pending.attempts if failed.pending is not None else 1,
            err,
            extra={
                "labels": {"calendar_key": record.calendar_key, "record": record.key},
                "alert": "conference_operation_failed",
            },
        )
        return failed

    def _decided(
        self, run: Run, record: ConferenceRecord, before: ConferenceRecord | None
    ) -> ConferenceRecord:
        """The record with its role decided (known owner: again each time; ownerless: once)."""
        role: Role = record.role
        if record.owner is not None:
            organizers = [s.organizer for s in record.events.values()]
            if before is not None:
                organizers += [s.organizer for s in before.events.values()]
            # Without events, the calendar's own events are organised by the calendar itself.
            role = role_of_any(record.owner, run.doc.subject, organizers or [run.doc.calendar_id])
        elif role == "unknown":
            role = ownerless_role(
                self._settings.ownerless_policy, run.doc.subject, self._claimants(record)
            )
        if role != "reference":
            return record if role == record.role else replace(record, role=role)
        record = replace(record, role=role, pending=None, hold=None)
        if record.events:
            run.stats.references += 1
            if not record.reference_logged:
                _log_reference(record)
                record = replace(record, reference_logged=True)
        return record

    def _claimants(self, record: ConferenceRecord) -> list[tuple[str | None, Role]]:
        """The other calendars holding a record of the conference: their subject (None when a
        calendar is no longer known) and role."""
        others = sorted(
            (r.calendar_key, r.role)
            for r in self._records.by_conference(record.conference_id)
            if r.calendar_key != record.calendar_key
        )
        subjects: dict[str, str | None] = {}
        for key, _ in others:
            if key not in subjects:
                doc = self._calendars.get(key)
                subjects[key] = doc.subject if doc is not None else None
        return [(subjects[key], role) for key, role in others]


def _log_reference(record: ConferenceRecord) -> None:
    primary = record.events.get(record.primary_event_id or "") or next(iter(record.events.values()))
    LOGGER.info(
        "%s: calendar %s carries conference %s, owned by %s, in an event organised by %s; "
        "confsync never changes or deletes it from this calendar",
        REFERENCE_MESSAGE,
        record.calendar_key,
        record.conference_id,
        record.owner if record.owner is not None else "nobody (ownerless, claimed elsewhere)",
        primary.organizer,
        extra=labels(record.calendar_key),
    )
