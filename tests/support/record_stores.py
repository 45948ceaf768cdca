"""A record store that passes every call to another: subclass it and override the one method a
test needs to fail, delay or interleave (a crash before the pending retry, another calendar's
run writing between a read and a save)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime

from confsync.ports import RecordStore, StagedSave
from confsync.records import ConferenceRecord


class PassThroughRecords:
    """Every :class:`~confsync.ports.RecordStore` method, handed to ``store``."""

    def __init__(self, store: RecordStore) -> None:
        self.store = store

    def attachments(self, calendar_key: str, event_ids: Iterable[str]) -> dict[str, str]:
        return self.store.attachments(calendar_key, event_ids)

    def attached_to(self, calendar_key: str) -> dict[str, str]:
        return self.store.attached_to(calendar_key)

    def by_keys(self, keys: Iterable[str]) -> list[ConferenceRecord]:
        return self.store.by_keys(keys)

    def save(
        self,
        records: Iterable[ConferenceRecord],
        *,
        calendar_key: str | None = None,
        attachments: Mapping[str, str | None] | None = None,
    ) -> dict[str, str]:
        return self.store.save(records, calendar_key=calendar_key, attachments=attachments)

    def stage(
        self,
        records: Iterable[ConferenceRecord],
        *,
        calendar_key: str,
        attachments: Mapping[str, str | None],
    ) -> StagedSave | None:
        return self.store.stage(records, calendar_key=calendar_key, attachments=attachments)

    def pending(self, calendar_key: str, due: datetime, limit: int) -> list[ConferenceRecord]:
        return self.store.pending(calendar_key, due, limit)

    def of_calendar(self, calendar_key: str) -> Iterator[ConferenceRecord]:
        return self.store.of_calendar(calendar_key)

    def held(self, calendar_key: str) -> list[ConferenceRecord]:
        return self.store.held(calendar_key)
