"""Paged list answers: snapshots behind page tokens, sync-token checks and issuing.

`EventLists` turns a calendar and a parsed query into one `ListPage` of events.list or
events.instances. The caller (the store) holds its lock around every call.
"""

from __future__ import annotations

import datetime
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from .clock import Clock
from .errors import ApiError, deleted, full_sync_required, not_found
from .listing import (
    ListQuery,
    check_original_start,
    full_results,
    incremental_results,
    instance_results,
)
from .model import Calendar
from .recurrence import split_instance_id
from .timeutil import format_ms
from .tokens import PageToken, SyncToken, TokenCodec, TokenError

__all__ = ["EventLists", "ListPage"]

_SNAPSHOT_LIMIT = 64
_SNAPSHOT_ITEMS_LIMIT = 1_000_000


@dataclass(frozen=True)
class ListPage:
    """One page of a list answer."""

    items: list[str]
    next_page_token: str | None
    next_sync_token: str | None
    etag: str
    updated: str


def _bad_page_token() -> ApiError:
    return ApiError(400, "invalid", "Invalid Value", "global", "pageToken", "parameter")


class EventLists:
    """Page and sync tokens of one emulator lifetime (a reset makes a new one: new signing key)."""

    def __init__(self, clock: Clock, sync_token_ttl: float) -> None:
        self.clock = clock
        self.sync_token_ttl = sync_token_ttl
        self._codec = TokenCodec()
        self._snapshots: OrderedDict[str, list[str]] = OrderedDict()
        self._snapshot_items = 0

    def _remember(self, items: list[str]) -> str:
        key = uuid.uuid4().hex[:16]
        self._snapshots[key] = items
        self._snapshot_items += len(items)
        while self._snapshots and (
            len(self._snapshots) > _SNAPSHOT_LIMIT or self._snapshot_items > _SNAPSHOT_ITEMS_LIMIT
        ):
            _, dropped = self._snapshots.popitem(last=False)
            self._snapshot_items -= len(dropped)
        return key

    def _check_sync_token(self, calendar: Calendar, text: str, query: ListQuery) -> SyncToken:
        try:
            token = self._codec.decode_sync(text)
        except TokenError as exc:
            raise full_sync_required() from exc
        age = self.clock.now().timestamp() * 1000 - token.issued_ms
        if (
            token.calendar_id != calendar.id
            or token.generation != calendar.generation
            or token.seq > calendar.seq
            or age > self.sync_token_ttl * 1000
            or token.fingerprint != query.sync_fingerprint()
        ):
            raise full_sync_required()
        return token

    def _page(
        self,
        calendar: Calendar,
        query: ListQuery,
        compute: Callable[[], list[str]],
        with_sync_token: bool,
        reuse_token: str | None = None,
    ) -> ListPage:
        fingerprint = query.fingerprint()
        if query.page_token is not None:
            try:
                page = self._codec.decode_page(query.page_token)
            except TokenError as exc:
                raise _bad_page_token() from exc
            if page.fingerprint != fingerprint:
                raise _bad_page_token()
            items = self._snapshots.get(page.snapshot)
            if items is None:
                items = compute()  # snapshot evicted: recompute, keep the old position
            else:
                self._snapshots.move_to_end(page.snapshot)
            snapshot, offset, seq = page.snapshot, page.offset, page.seq
        else:
            items = compute()
            snapshot, offset, seq = "", 0, calendar.seq
        end = offset + query.max_results
        next_page = next_sync = None
        if end < len(items):
            if not snapshot:
                snapshot = self._remember(items)
            next_page = self._codec.encode_page(PageToken(snapshot, end, seq, fingerprint))
        elif with_sync_token and reuse_token is not None and seq == calendar.seq:
            next_sync = reuse_token  # nothing changed: the same token comes back
        elif with_sync_token:
            issued = int(self.clock.now().timestamp() * 1000)
            next_sync = self._codec.encode_sync(
                SyncToken(calendar.id, seq, calendar.generation, issued, query.sync_fingerprint())
            )
        return ListPage(
            items=items[offset:end],
            next_page_token=next_page,
            next_sync_token=next_sync,
            etag=f'"p{calendar.seq}"',
            updated=format_ms(calendar.updated),
        )

    def list_events(self, calendar: Calendar, query: ListQuery) -> ListPage:
        now = self.clock.now()
        if query.sync_token is not None:
            token = self._check_sync_token(calendar, query.sync_token, query)
            return self._page(
                calendar,
                query,
                lambda: incremental_results(calendar, token.seq, query, now),
                with_sync_token=True,
                reuse_token=query.sync_token if token.seq == calendar.seq else None,
            )
        return self._page(
            calendar,
            query,
            lambda: full_results(calendar, query, now),
            with_sync_token=query.order_by != "startTime",
        )

    def instances(self, calendar: Calendar, event_id: str, query: ListQuery) -> ListPage:
        record = calendar.events.get(event_id)
        if record is None:
            raise not_found()
        if record.cancelled:
            raise deleted()
        now = self.clock.now()
        if not record.is_series:
            return self._page(calendar, query, list, with_sync_token=False)
        original = check_original_start(query.original_start)

        def wanted(item_id: str) -> bool:
            if original is None:
                return True
            split = split_instance_id(item_id)
            if split is None:
                return False
            value = split[1]
            if isinstance(value, datetime.datetime):
                return value == original
            return value == original.date()

        return self._page(
            calendar,
            query,
            lambda: instance_results(calendar, record, query, now, wanted),
            with_sync_token=False,
        )
