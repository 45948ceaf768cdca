"""Sending planned operations to the conferencing system, and what each answer means for its
record.

:meth:`ProviderSender.send` calls the provider with bounded concurrency (``provider_concurrency``
threads) and turns each outcome into the record after it: applied (a newer revision already
there counts as applied), gone (the conference was deleted on the provider's side), or failed
and pending a retry with backoff (a rejection is permanent at once, so its record is "failed").
A refused credential or signature (:class:`~confsync.errors.ProviderAuthError`, 401/403) is
pending with backoff like an outage, never failed at once: a rotation done on one side first or
clock skew heals by itself, and a failed record would stop following its event. Each one logs an
ERROR line with ``alert`` = :data:`AUTH_REFUSED_ALERT`, so it is alerted on at once, long before
the retry budget runs out.
A delete refused as stale (a newer revision is there) is never taken for done: the conference
still exists. The system is asked what it holds (:meth:`~confsync.ports.ConferenceProvider.held`):
deleted already, the record is settled; the state of an event the sending run's own calendar saw
leave (a run that died after sending an edit of it, before saving, and the event deleted before
the redelivery), the delete is sent once more just above that revision; anything else (another
calendar may carry the conference now, its run not saved yet) stays pending, planned again from
the record later.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime

from confsync.errors import (
    ProviderAuthError,
    ProviderGoneError,
    ProviderRejectedError,
    ProviderStaleRevisionError,
    ProviderUnavailableError,
)
from confsync.planner import (
    DeleteConference,
    Operation,
    UpdateConference,
    after_applied,
    after_failure,
    after_gone,
)
from confsync.ports import ConferenceProvider, HeldConference, ProviderAnswer
from confsync.records import ConferenceRecord
from confsync.sync.settings import SyncSettings
from confsync.sync.summary import LOGGER, SyncStats

__all__ = ["AUTH_REFUSED_ALERT", "ProviderSender", "Sent", "held_state_ended", "log_auth_refused"]

AUTH_REFUSED_ALERT = "conference_provider_auth_refused"
"""``jsonPayload.alert`` of the ERROR line for an operation the system refused to authenticate."""


@dataclass(frozen=True, slots=True)
class Sent:
    """The outcome of one operation: the record after it, the provider's answer if any, and
    whether that answer carried a join URL the record did not know (``new_join_url``)."""

    record: ConferenceRecord
    answer: ProviderAnswer | None = None
    new_join_url: bool = False


class ProviderSender:
    """Sends operations to ``provider``; stateless, so concurrent runs share one."""

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

    def send(
        self,
        operations: Sequence[Operation],
        records: Mapping[str, ConferenceRecord],
        stats: SyncStats,
        *,
        calendar_key: str,
    ) -> dict[str, Sent]:
        """Send ``operations`` (each to the record of its ``record_key`` in ``records``) for the
        run of ``calendar_key`` (which holds its lease); the outcome of each by record key.
        Counts them in ``stats``; alerts on one that failed."""
        if not operations:
            return {}
        workers = max(1, min(self._settings.provider_concurrency, len(operations)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="provider") as pool:
            results = list(
                pool.map(
                    lambda op: self._send_one(op, records[op.record_key], calendar_key), operations
                )
            )
        sent: dict[str, Sent] = {}
        for op, result in zip(operations, results, strict=True):
            sent[op.record_key] = result
            _count(stats, op, result)
            record = result.record
            if record.status == "failed" and record.pending is not None:
                LOGGER.error(
                    "conference operation failed after %d attempts; giving up until the event "
                    "changes: %s",
                    record.pending.attempts,
                    record.pending.last_error,
                    extra={
                        "labels": {"calendar_key": record.home_key, "record": record.key},
                        "alert": "conference_operation_failed",
                    },
                )
        return sent

    def _send_one(
        self, op: Operation, record: ConferenceRecord, calendar_key: str, *, first: bool = True
    ) -> Sent:
        try:
            if isinstance(op, UpdateConference):
                answer = self._provider.update(op)
                known = record.sent.join_url if record.sent is not None else None
                new = bool(answer.join_url) and answer.join_url != known
                return Sent(after_applied(record, op, answer.join_url), answer, new)
            self._provider.delete(op)
            return Sent(after_applied(record, op))
        except ProviderStaleRevisionError:
            return self._stale(record, op, calendar_key, first=first)
        except ProviderGoneError:
            return Sent(after_gone(record, op))
        except ProviderUnavailableError as err:
            return Sent(self._unavailable(record, err))
        except ProviderRejectedError as err:
            LOGGER.error("provider rejected %s: %s", op.record_key, err)
            return Sent(self._failed(record, f"rejected: {err}", permanent=True))

    def _stale(
        self, record: ConferenceRecord, op: Operation, calendar_key: str, *, first: bool
    ) -> Sent:
        """The outcome of ``op`` refused as stale: a delete's first refusal asks what the system
        holds (:meth:`_stale_delete`), a second stays pending; an update was superseded by a
        newer state, which counts as applied."""
        if isinstance(op, DeleteConference) and first:
            return self._stale_delete(record, op, calendar_key)
        if isinstance(op, DeleteConference):
            return Sent(self._stale_pending(record, op))
        LOGGER.warning("provider holds a newer revision of %s", op.record_key)
        return Sent(after_applied(record, op))

    def _stale_delete(
        self, record: ConferenceRecord, op: DeleteConference, calendar_key: str
    ) -> Sent:
        """A delete refused as stale: what the system holds decides (see the module's text)."""
        try:
            held = self._provider.held(op.conference_id)
        except (ProviderGoneError, ProviderUnavailableError, ProviderRejectedError) as err:
            LOGGER.warning("could not read %s after its stale delete: %s", op.record_key, err)
            return Sent(self._stale_pending(record, op))
        if held.deleted:
            LOGGER.info("%s was deleted at a newer revision already", op.record_key)
            return Sent(after_gone(record, op))
        if not held_state_ended(record, held, calendar_key):
            return Sent(self._stale_pending(record, op))
        LOGGER.info(
            "the newer state of %s came from an event that has left it; deleted above it",
            op.record_key,
        )
        again = replace(op, revision=held.revision + 1)
        return self._send_one(again, record, calendar_key, first=False)

    def _unavailable(
        self, record: ConferenceRecord, err: ProviderUnavailableError
    ) -> ConferenceRecord:
        """The record when the system could not take the operation for now: pending with backoff,
        failed only once the budget is spent. A refused credential or signature is one such
        case, with its ERROR alert line."""
        if isinstance(err, ProviderAuthError):
            log_auth_refused(record, err)
            return self._failed(record, f"auth refused: {err}", permanent=False)
        return self._failed(record, f"unavailable: {err}", permanent=False)

    def _stale_pending(self, record: ConferenceRecord, op: DeleteConference) -> ConferenceRecord:
        """A delete refused as stale that cannot be sent above: someone may have sent a newer
        state meanwhile (another calendar of the owner carries it now), so the conference is not
        deleted and must not be taken for deleted. Pending: the next retry plans it again from
        the record as stored then."""
        LOGGER.warning(
            "provider holds a newer revision of %s than its delete; planned again", op.record_key
        )
        return self._failed(record, "stale delete: a newer revision is there", permanent=False)

    def _failed(self, record: ConferenceRecord, error: str, *, permanent: bool) -> ConferenceRecord:
        settings = self._settings
        return after_failure(
            record,
            error,
            self._now(),
            max_attempts=1 if permanent else settings.pending_max_attempts,
            base_delay=settings.pending_base_delay,
            max_delay=settings.pending_max_delay,
        )


def held_state_ended(record: ConferenceRecord, held: HeldConference, calendar_key: str) -> bool:
    """Whether the state the system holds is that of an event which left the conference on the
    calendar whose run is sending (``calendar_key``): the record has no live event, the state
    names that calendar and an event its references list as departed. Only that calendar's runs,
    one at a time under its lease, change its references, so the run's copy of them is current;
    another calendar's may be stale (its event back with the conference, its run not saved yet),
    and a delete above its state could override a meeting that goes on there."""
    refs = record.refs_of(calendar_key)
    if refs is None or held.event_id is None or record.live_calendars:
        return False
    return refs.calendar_id == held.calendar_id and held.event_id in refs.departed


def log_auth_refused(record: ConferenceRecord, err: ProviderAuthError) -> None:
    """The ERROR line (``alert`` :data:`AUTH_REFUSED_ALERT`) for a request about ``record`` that
    the conferencing system refused to authenticate; the operation stays pending."""
    LOGGER.error(
        "conferencing system refused confsync's credential or signature (check "
        "CONFERENCING_CREDENTIAL, CONFERENCING_SIGNING_SECRET and the clock); the operation "
        "stays pending and is retried: %s",
        err,
        extra={
            "labels": {"calendar_key": record.home_key, "record": record.key},
            "alert": AUTH_REFUSED_ALERT,
        },
    )


def _count(stats: SyncStats, op: Operation, result: Sent) -> None:
    record = result.record
    if record.pending is not None or record.status == "failed":
        if record.status == "failed":
            stats.failed += 1
        else:
            stats.pending += 1
    elif isinstance(op, DeleteConference):
        stats.deletes += 1
    elif record.status == "deleted":
        stats.gone += 1
    else:
        stats.updates += 1
