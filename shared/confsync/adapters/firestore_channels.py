"""Firestore implementation of :class:`~confsync.ports.ChannelStore` (``channels/{channelId}``),
and of :class:`~confsync.ports.RecordForgetter` (an unenrollment with ``forget``).

Documents have the shape of :func:`confsync.channel_docs.channel_to_document`; one that does not
decode raises :class:`~confsync.errors.MalformedInputError` from ``get`` and is logged and skipped
by the queries. Every Firestore client error becomes
:class:`~confsync.errors.StoreUnavailableError` in the Firestore adapters' one translation point,
:func:`confsync.adapters.firestore_store.translated`.
Every query is built from :data:`CHANNEL_QUERY_SHAPES` (the registry the Terraform index check
reads, as :data:`confsync.adapters.firestore_store.QUERY_SHAPES`); only ``expiring_before`` needs
a composite index (``state`` ==, ``expiration`` range and order); ``active_for_many`` is served by
``active_for``'s (``calendar_key`` ``in`` counts as an equality).

Channel records are written by one tick or command at a time per channel, and every write is a
plain set, update or delete: no read-then-write decision, so no precondition is needed.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable
from datetime import datetime
from typing import TypeVar

from confsync.adapters import firestore_http as firestore
from confsync.adapters.firestore_errors import NotFoundError
from confsync.adapters.firestore_http import DocumentSnapshot
from confsync.adapters.firestore_query import Query
from confsync.adapters.firestore_store import (
    FirestoreRecordStore,
    QueryShape,
    continued,
    translated,
)
from confsync.channel_docs import (
    ChannelDoc,
    ChannelState,
    channel_from_document,
    channel_to_document,
)
from confsync.errors import MalformedInputError
from confsync.ports import Page, PageCursor

__all__ = ["CHANNEL_QUERY_SHAPES", "FirestoreChannelStore", "FirestoreRecordForgetter"]

T = TypeVar("T")

_LOGGER = logging.getLogger(__name__)

_ACTIVE_FOR = QueryShape(
    "FirestoreChannelStore.active_for",
    "channels",
    (("calendar_key", "=="), ("state", "==")),
)
_ACTIVE_FOR_MANY = QueryShape(
    "FirestoreChannelStore.active_for_many",
    "channels",
    (("calendar_key", "in"), ("state", "==")),
)
_OF_CALENDAR = QueryShape(
    "FirestoreChannelStore.of_calendar", "channels", (("calendar_key", "=="),)
)
_EXPIRING = QueryShape(
    "FirestoreChannelStore.expiring_before",
    "channels",
    (("state", "=="), ("expiration", "<"), ("expiration", "order-asc")),
)
_TO_COLLECT = QueryShape(
    "FirestoreChannelStore.superseded_or_orphaned", "channels", (("state", "in"),)
)

CHANNEL_QUERY_SHAPES: tuple[QueryShape, ...] = (
    _ACTIVE_FOR,
    _ACTIVE_FOR_MANY,
    _OF_CALENDAR,
    _EXPIRING,
    _TO_COLLECT,
)
"""Every query shape this module issues (for the composite-index check against Terraform)."""


_Snapshot = DocumentSnapshot

IN_MAX = 30
"""Firestore's limit on the values of one ``in`` filter."""


def _channel(snapshot: _Snapshot) -> ChannelDoc | None:
    body = snapshot.to_dict() if snapshot.exists else None
    return None if body is None else channel_from_document(snapshot.id, body)


class FirestoreChannelStore:
    """Channel documents in ``collection``."""

    def __init__(self, client: firestore.Client, collection: str = "channels") -> None:
        self._client = client
        self._collection = client.collection(collection)

    def _stream(self, query: Query) -> list[ChannelDoc]:
        return self._decoded(query.stream())

    @staticmethod
    def _decoded(snapshots: Iterable[_Snapshot]) -> list[ChannelDoc]:
        """The channels of ``snapshots``; a document that does not decode is logged and skipped,
        so one bad record cannot block every tick (``get`` still raises for it)."""
        found: list[ChannelDoc] = []
        for snapshot in snapshots:
            try:
                doc = _channel(snapshot)
            except MalformedInputError as err:
                _LOGGER.error("skipping a malformed channel record: %s", err)
                continue
            if doc is not None:
                found.append(doc)
        return found

    def put(self, doc: ChannelDoc) -> None:
        with translated("channel put"):
            self._collection.document(doc.id).set(channel_to_document(doc))

    def get(self, channel_id: str) -> ChannelDoc | None:
        with translated("channel get"):
            return _channel(self._collection.document(channel_id).get())

    def active_for(self, calendar_key: str) -> list[ChannelDoc]:
        with translated("active channels query"):
            return self._stream(_ACTIVE_FOR.build(self._collection, calendar_key, "active"))

    def of_calendar(self, calendar_key: str) -> list[ChannelDoc]:
        with translated("channels of calendar query"):
            return self._stream(_OF_CALENDAR.build(self._collection, calendar_key))

    def active_for_many(self, calendar_keys: Iterable[str]) -> dict[str, list[ChannelDoc]]:
        keys = sorted(set(calendar_keys))
        found: dict[str, list[ChannelDoc]] = {}
        with translated("active channels query"):
            for start in range(0, len(keys), IN_MAX):
                chunk = keys[start : start + IN_MAX]
                query = _ACTIVE_FOR_MANY.build(self._collection, chunk, "active")
                for doc in self._stream(query):
                    found.setdefault(doc.calendar_key, []).append(doc)
        return found

    def expiring_before(
        self, when: datetime, limit: int, after: PageCursor | None = None
    ) -> Page[ChannelDoc]:
        if limit <= 0:
            return Page((), after)
        with translated("expiring channels query"):
            query = continued(_EXPIRING.build(self._collection, "active", when), after)
            snapshots = list(query.limit(limit).stream())
        found = self._decoded(snapshots)
        cursor = PageCursor(0, snapshots[-1]) if len(snapshots) == limit else None
        return Page(tuple(found), cursor)

    def superseded_or_orphaned(self, limit: int) -> list[ChannelDoc]:
        if limit <= 0:
            return []
        with translated("channels to collect query"):
            query = _TO_COLLECT.build(self._collection, ["superseded", "stopped"])
            return self._stream(query.limit(limit))

    def set_state(self, channel_id: str, state: ChannelState) -> None:
        with translated("channel state change"), contextlib.suppress(NotFoundError):
            self._collection.document(channel_id).update({"state": state})

    def delete(self, channel_id: str) -> None:
        with translated("channel delete"):
            self._collection.document(channel_id).delete()


class FirestoreRecordForgetter:
    """Forgets a calendar in the conference records (the collections of
    :class:`~confsync.adapters.firestore_store.FirestoreRecordStore`, whose
    ``forget_calendar`` does it: :mod:`confsync.forgetting`)."""

    def __init__(
        self,
        client: firestore.Client,
        collection: str = "conferences",
        pointers: str = "conference_events",
    ) -> None:
        self._records = FirestoreRecordStore(client, collection, pointers)

    def forget_calendar(self, calendar_key: str) -> int:
        return self._records.forget_calendar(calendar_key)
