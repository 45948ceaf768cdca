"""Whose conference it is: the owner lookup.

The first time a run meets a conference (no record yet, or a record whose owner is not known),
the owner is read from the conferencing system and kept on the record, before the page is folded
(:mod:`confsync.folding` then keeps only the events of calendars that act for it and counts the
others). The owners a page needs are read together (``ConferenceProvider.owners_of``: one batch
read of up to 100 conferences, or one ``GET`` each on a system without batch reads), in chunks
of at most 100 spread over ``provider_concurrency`` threads: ``n`` conferences make
``ceil(n / chunk)`` reads with ``chunk = min(100, ceil(n / provider_concurrency))``, so a few
conferences are read as concurrently as one ``GET`` each was. Every conference read counts in
``owner_lookups``, whatever the number of requests. When the owner cannot be learned (a failed
batch read fails every conference it carried):

- unavailable: the record stays undecided (its events are kept, nothing is sent) and pending
  (a refused credential or signature, 401/403, is unavailable too, with the
  ``conference_provider_auth_refused`` alert line)
  with backoff, so the home calendar's next runs ask again;
- gone: the conference no longer exists; the record is marked deleted and never asked about;
- rejected: the record fails at once, as a rejected operation does; so does one unavailable past
  its retry budget (both with the ``conference_operation_failed`` alert).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime

from confsync.errors import (
    ProviderAuthError,
    ProviderGoneError,
    ProviderRejectedError,
)
from confsync.planner import after_failure, settled
from confsync.ports import MAX_OWNER_BATCH, ConferenceProvider, OwnerLookup
from confsync.records import ConferenceRecord
from confsync.sync.send import log_auth_refused
from confsync.sync.settings import SyncSettings
from confsync.sync.state import Run
from confsync.sync.summary import LOGGER, labels

__all__ = ["REFERENCE_MESSAGE", "OwnerResolver", "log_reference"]

REFERENCE_MESSAGE = "conference carried as a reference"
"""The start of the INFO line about an event carrying a conference its calendar may not change."""


class OwnerResolver:
    """Learns owners; stateless, so concurrent runs share one."""

    def __init__(
        self,
        provider: ConferenceProvider,
        settings: SyncSettings,
        *,
        now: Callable[[], datetime],
    ) -> None:
        self._provider = provider
        self._settings = settings
        self._now = now

    def resolve(
        self, run: Run, records: Mapping[str, ConferenceRecord]
    ) -> dict[str, ConferenceRecord]:
        """The records among ``records`` whose owner was not known and not deleted, by key,
        after one lookup each: owner known (and settled), or pending, failed or deleted."""
        unknown = [r for r in records.values() if r.status != "deleted" and not r.owner_known]
        looked = self._look_up(run, unknown)
        resolved: dict[str, ConferenceRecord] = {}
        for record in unknown:
            found = looked[record.key]
            if isinstance(found, Exception):
                resolved[record.key] = self._unresolved(run, record, found)
            else:
                learned = replace(record, owner=found, owner_known=True)
                if record.pending is not None and record.pending.last_error.startswith("owner "):
                    learned = replace(learned, pending=None)
                resolved[record.key] = settled(learned, self._settings.ownerless_policy)
        return resolved

    def _look_up(self, run: Run, records: Sequence[ConferenceRecord]) -> dict[str, OwnerLookup]:
        """The owners of the records' conferences by record key: batch reads of at most
        MAX_OWNER_BATCH conferences, concurrently within the provider's bounded concurrency."""
        if not records:
            return {}
        ids = list(dict.fromkeys(r.conference_id for r in records))
        workers = max(1, min(self._settings.provider_concurrency, len(ids)))
        size = min(MAX_OWNER_BATCH, -(-len(ids) // workers))
        chunks = [ids[first : first + size] for first in range(0, len(ids), size)]
        if len(chunks) == 1:
            answers = [self._provider.owners_of(chunks[0])]
        else:
            with ThreadPoolExecutor(
                max_workers=min(workers, len(chunks)), thread_name_prefix="owner"
            ) as pool:
                answers = list(pool.map(self._provider.owners_of, chunks))
        found = {name: outcome for answer in answers for name, outcome in answer.items()}
        run.stats.owner_lookups += len(records)
        return {
            r.key: found[r.conference_id]
            if r.conference_id in found
            else ProviderRejectedError(f"the provider answered no owner for {r.conference_id}")
            for r in records
        }

    def _unresolved(self, run: Run, record: ConferenceRecord, err: Exception) -> ConferenceRecord:
        """The record when its owner could not be learned: deleted, pending or failed."""
        if isinstance(err, ProviderGoneError):
            run.stats.gone += 1
            return replace(record, status="deleted", pending=None, hold=None)
        permanent = isinstance(err, ProviderRejectedError)
        if isinstance(err, ProviderAuthError):
            log_auth_refused(record, err)
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
                "labels": {"calendar_key": run.doc.key, "record": record.key},
                "alert": "conference_operation_failed",
            },
        )
        return failed


def log_reference(run: Run, record: ConferenceRecord, event_id: str, organizer_self: bool) -> None:
    """The one INFO line about an event newly counted as a reference to ``record``. Users are
    named by role and calendars by their opaque key, never by e-mail address."""
    owner = (
        "nobody (ownerless, claimed elsewhere)"
        if record.owner is None
        else f"its owner (home calendar {record.home_key})"
    )
    LOGGER.info(
        "%s: calendar %s carries conference %s, owned by %s, in event %s organised by %s; "
        "confsync never changes or deletes it from this event",
        REFERENCE_MESSAGE,
        run.doc.key,
        record.conference_id,
        owner,
        event_id,
        "this calendar's user" if organizer_self else "another user",
        extra=labels(run.doc.key),
    )
