"""Migrating schema-1 records (one per calendar and conference) into one record per conference.

A deployment before one record per conference stored a record per (calendar, conference)
(:mod:`confsync.legacy_records`) and an event pointer per (calendar, event) naming it. The
migration is lazy and per calendar: the first run of a calendar whose document does not say its
records were migrated (``records_schema`` below :data:`~confsync.records.SCHEMA_VERSION`)
migrates them before it pulls, under the calendar's lease, so no other run writes them:

1. each schema-1 record of the calendar is merged (:func:`merged`) into the record of its
   conference, which other calendars' migrations may have created already: its events become the
   calendar's references when the calendar acted for the conference (or its role was not known
   yet), or are counted when it was a reference; the owner, the last state sent (the higher
   revision wins), a pending operation and a held delete carry over, the latter two making the
   calendar the record's home;
2. the calendar's event attachments are rewritten to name the conference's record, in the same
   conditional save (a record another calendar's run wrote meanwhile is read and merged again);
3. the schema-1 records are deleted and the calendar marked migrated.

A crash in between is repeated by the next run: merging a calendar again replaces its references
rather than adding to them (only a schema-1 ``reference`` record's count would be added twice;
counts are informational, see the decision record). The
rules are in docs/decisions/2026-12-03-one-record-per-conference.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from confsync.conflicts import retried_on_conflict
from confsync.folding import settled
from confsync.legacy_records import LegacyRecord
from confsync.ownership import OwnerlessPolicy
from confsync.ports import LegacyRecords, RecordStore
from confsync.records import CalendarRefs, ConferenceRecord, conference_key

__all__ = ["merged", "migrate_calendar"]


def merged(
    record: ConferenceRecord | None,
    legacy: LegacyRecord,
    *,
    subject: str,
    calendar_id: str,
    policy: OwnerlessPolicy,
) -> ConferenceRecord:
    """``record`` (None: not created yet) with the schema-1 ``legacy`` record of a calendar
    enrolled under ``subject`` folded in (see the module docstring)."""
    key = conference_key(legacy.conference_id)
    base = record or ConferenceRecord(
        key=key, conference_id=legacy.conference_id, home_key=legacy.calendar_key
    )
    if not base.owner_known and legacy.owner_known:
        base = replace(base, owner=legacy.owner, owner_known=True)
    if legacy.role == "reference":
        base = replace(
            base.with_refs(legacy.calendar_key, None),
            references=base.references + len(legacy.events),
        )
    else:
        refs = CalendarRefs(
            subject=subject,
            calendar_id=calendar_id,
            events=dict(legacy.events),
            occurrences=dict(legacy.occurrences),
            primary_event_id=legacy.primary_event_id,
            departed=dict(legacy.departed),
        )
        base = base.with_refs(legacy.calendar_key, refs)
        if base.owner_known and base.owner is None and legacy.role == "acting":
            base = replace(base, claimant=base.claimant or subject)
    base = _with_sent(base, legacy, fresh=record is None)
    if legacy.pending is not None and legacy.status == "active" and base.pending is None:
        base = replace(base, pending=legacy.pending, hold=legacy.hold, home_key=legacy.calendar_key)
    base = replace(base, detached_ms=max(base.detached_ms, legacy.detached_ms))
    return settled(base, policy)


def _with_sent(record: ConferenceRecord, legacy: LegacyRecord, *, fresh: bool) -> ConferenceRecord:
    """The conferencing system's side: the later of the two sent states, with its status (a
    record created by this merge takes the schema-1 record's status as it is)."""
    mine = record.sent.revision if record.sent is not None else -1
    theirs = legacy.sent.revision if legacy.sent is not None else -1
    if fresh or theirs > mine:
        return replace(record, sent=legacy.sent, status=legacy.status)
    return record


def migrate_calendar(
    records: RecordStore,
    legacy_records: LegacyRecords,
    *,
    calendar_key: str,
    subject: str,
    calendar_id: str,
    policy: OwnerlessPolicy,
) -> int:
    """Migrate the calendar's schema-1 records; how many there were."""
    legacy = legacy_records.legacy_of_calendar(calendar_key)
    if not legacy:
        return 0
    retried_on_conflict(
        lambda: _merge_all(
            records,
            legacy,
            calendar_key=calendar_key,
            subject=subject,
            calendar_id=calendar_id,
            policy=policy,
        )
    )
    legacy_records.drop_legacy(r.key for r in legacy)
    return len(legacy)


def _merge_all(
    records: RecordStore,
    legacy: Iterable[LegacyRecord],
    *,
    calendar_key: str,
    subject: str,
    calendar_id: str,
    policy: OwnerlessPolicy,
) -> None:
    legacy = list(legacy)
    keys = sorted({conference_key(r.conference_id) for r in legacy})
    current: dict[str, ConferenceRecord] = {r.key: r for r in records.by_keys(keys)}
    attachments: dict[str, str | None] = {}
    for old in legacy:
        key = conference_key(old.conference_id)
        current[key] = merged(
            current.get(key), old, subject=subject, calendar_id=calendar_id, policy=policy
        )
        attachments.update(dict.fromkeys(old.events, key))
    records.save(current.values(), calendar_key=calendar_key, attachments=attachments)
