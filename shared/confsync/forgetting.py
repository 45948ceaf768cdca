"""Forgetting a calendar's part in the conference records (unenrollment with ``forget``).

Records are shared by every calendar carrying a conference, so forgetting a calendar does not
delete them: it removes the calendar's references from each record (and its counted ones from
the count and from ``elsewhere``) and drops the calendar's event attachments. A record whose
home was the calendar moves home to another calendar that holds references, or, with none,
drops its pending operation or held delete (nobody would ever retry or release them). The
conference itself is never touched, and what the records keep for other calendars (the owner,
the last state sent) stays. A record another run wrote meanwhile is read again and forgotten
again.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from confsync.conflicts import retried_on_conflict
from confsync.ports import RecordStore
from confsync.records import ConferenceRecord

__all__ = ["forget_calendar"]


def forget_calendar(store: RecordStore, calendar_key: str) -> int:
    """Forget the calendar in every record that knows it; how many records changed."""
    attached = store.attached_to(calendar_key)
    return retried_on_conflict(lambda: _forget(store, calendar_key, attached))


def _forget(store: RecordStore, calendar_key: str, attached: dict[str, str]) -> int:
    holding = {r.key: r for r in store.of_calendar(calendar_key)}
    counted_keys = set(attached.values()) - set(holding)
    records = {**holding, **{r.key: r for r in store.by_keys(sorted(counted_keys))}}
    counted = Counter(
        key
        for event_id, key in attached.items()
        if key in records and event_id not in _held_events(records[key], calendar_key)
    )
    changed = [
        _rehomed(
            replace(
                record.with_refs(calendar_key, None),
                references=max(0, record.references - counted[key]),
                elsewhere={e: k for e, k in record.elsewhere.items() if k != calendar_key},
            ),
            calendar_key,
        )
        for key, record in records.items()
        if key in holding or counted[key]
    ]
    store.save(
        changed,
        calendar_key=calendar_key,
        attachments=dict.fromkeys(attached),
    )
    return len(changed)


def _rehomed(record: ConferenceRecord, forgotten: str) -> ConferenceRecord:
    """A record whose home was the forgotten calendar moves home to the calendar that decides
    its state now (or another that holds references); with none left, nothing will retry its
    pending operation or release its held delete, so they are dropped (the conference stays)."""
    if record.home_key != forgotten:
        return record
    home = record.deciding_key or min(record.calendars, default=None)
    if home is not None:
        return replace(record, home_key=home)
    return replace(record, pending=None, hold=None)


def _held_events(record: ConferenceRecord, calendar_key: str) -> set[str]:
    refs = record.refs_of(calendar_key)
    return set(refs.events) if refs is not None else set()
