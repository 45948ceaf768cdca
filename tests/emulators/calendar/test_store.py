"""The store without HTTP: etags, conditional writes, lists, sync tokens and their expiry."""

from __future__ import annotations

import datetime
import json
import re
from typing import Any

import pytest

from calendar_emulator.clock import ManualClock
from calendar_emulator.errors import ApiError
from calendar_emulator.listing import ListQuery, parse_list_query
from calendar_emulator.store import Store

CAL = "primary"


def _event(day: int, **extra) -> dict[str, Any]:
    return {
        "start": {"dateTime": f"2026-05-{day:02d}T10:00:00Z"},
        "end": {"dateTime": f"2026-05-{day:02d}T11:00:00Z"},
        **extra,
    }


def _series(**extra) -> dict[str, Any]:
    return {
        "start": {"dateTime": "2026-05-04T09:00:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": "2026-05-04T10:00:00", "timeZone": "Europe/Berlin"},
        "recurrence": ["RRULE:FREQ=DAILY;COUNT=5"],
        **extra,
    }


@pytest.fixture(name="clock")
def clock_fixture() -> ManualClock:
    return ManualClock(datetime.datetime(2026, 5, 1, tzinfo=datetime.UTC))


@pytest.fixture(name="store")
def store_fixture(clock: ManualClock) -> Store:
    return Store(clock, sync_token_ttl=3600)


def _all(store: Store, query: ListQuery) -> tuple[list[dict[str, Any]], str | None]:
    items: list[dict[str, Any]] = []
    page_token = None
    while True:
        page = store.list_events(CAL, ListQuery(**{**query.__dict__, "page_token": page_token}))
        items.extend(json.loads(text) for text in page.items)
        if page.next_page_token is None:
            return items, page.next_sync_token
        assert page.next_sync_token is None
        page_token = page.next_page_token


def _error(call, *args, **kwargs) -> ApiError:
    with pytest.raises(ApiError) as caught:
        call(*args, **kwargs)
    return caught.value


def test_etag_and_updated_change_on_every_write(store: Store, clock: ManualClock) -> None:
    created = store.insert(CAL, _event(2, summary="a"), 0)
    assert re.fullmatch(r'"\d+"', created["etag"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", created["updated"])
    assert created["sequence"] == 0
    clock.advance(0.0015)
    patched = store.patch(CAL, created["id"], {"summary": "b"}, 0, None)
    assert patched["etag"] != created["etag"]
    assert patched["updated"] > created["updated"]
    assert patched["created"] == created["created"]


def test_if_match_mismatch_is_412(store: Store) -> None:
    created = store.insert(CAL, _event(2), 0)
    store.patch(CAL, created["id"], {"summary": "b"}, 0, created["etag"])
    error = _error(store.patch, CAL, created["id"], {"summary": "c"}, 0, created["etag"])
    assert (error.status, error.reason, error.location) == (412, "conditionNotMet", "If-Match")
    assert _error(store.delete, CAL, created["id"], created["etag"]).status == 412


def test_delete_twice_is_410_and_get_still_returns(store: Store) -> None:
    created = store.insert(CAL, _event(2), 0)
    store.delete(CAL, created["id"], None)
    assert store.get(CAL, created["id"])["status"] == "cancelled"
    error = _error(store.delete, CAL, created["id"], None)
    assert (error.status, error.reason) == (410, "deleted")
    assert _error(store.get, CAL, "nosuchevent").status == 404


def test_pages_then_sync_token_only_on_last_page(store: Store) -> None:
    for day in range(1, 8):
        store.insert(CAL, _event(day), 0)
    pages = []
    token = None
    while True:
        page = store.list_events(CAL, ListQuery(max_results=3, page_token=token))
        pages.append(page)
        token = page.next_page_token
        if token is None:
            break
    assert [len(p.items) for p in pages] == [3, 3, 1]
    assert all(p.next_sync_token is None for p in pages[:-1])
    assert pages[-1].next_sync_token is not None


def test_incremental_has_changes_and_minimal_tombstones(store: Store) -> None:
    kept = store.insert(CAL, _event(2), 0)
    gone = store.insert(CAL, _event(3), 0)
    _, token = _all(store, ListQuery(time_min=datetime.datetime(2026, 5, 3, tzinfo=datetime.UTC)))
    assert token
    store.patch(CAL, kept["id"], {"summary": "outside the first window"}, 0, None)
    store.delete(CAL, gone["id"], None)
    items, token2 = _all(store, ListQuery(sync_token=token))
    assert [i["id"] for i in items] == [kept["id"], gone["id"]]
    assert set(items[1]) == {"kind", "etag", "id", "status"}
    assert items[1]["status"] == "cancelled"
    again, _ = _all(store, ListQuery(sync_token=token2))
    assert again == []


def test_full_list_hides_deleted_but_shows_cancelled_instances(store: Store) -> None:
    series = store.insert(CAL, _series(), 0)
    deleted = store.insert(CAL, _event(9), 0)
    store.delete(CAL, deleted["id"], None)
    store.delete(CAL, f"{series['id']}_20260505T070000Z", None)
    items, _ = _all(store, ListQuery())
    assert [i["id"] for i in items] == [series["id"], f"{series['id']}_20260505T070000Z"]
    assert set(items[1]) == {
        "kind",
        "etag",
        "id",
        "status",
        "recurringEventId",
        "originalStartTime",
    }
    expanded, _ = _all(store, ListQuery(single_events=True))
    assert len(expanded) == 4
    with_deleted, _ = _all(store, ListQuery(show_deleted=True))
    assert deleted["id"] in {i["id"] for i in with_deleted}


def test_modified_instance_is_an_exception_object(store: Store) -> None:
    series = store.insert(CAL, _series(), 0)
    instance_id = f"{series['id']}_20260506T070000Z"
    moved = store.patch(CAL, instance_id, {"summary": "moved"}, 0, None)
    assert moved["recurringEventId"] == series["id"]
    assert moved["originalStartTime"]["dateTime"] == "2026-05-06T09:00:00+02:00"
    assert "recurrence" not in moved
    expanded, _ = _all(store, ListQuery(single_events=True))
    assert [i.get("summary") for i in expanded].count("moved") == 1
    assert _error(store.get, CAL, f"{series['id']}_20260506T080000Z").status == 404


def test_deleting_a_series_deletes_its_exceptions(store: Store) -> None:
    series = store.insert(CAL, _series(), 0)
    _, token = _all(store, ListQuery())
    store.patch(CAL, f"{series['id']}_20260506T070000Z", {"summary": "x"}, 0, None)
    store.delete(CAL, series["id"], None)
    items, _ = _all(store, ListQuery(sync_token=token))
    assert {i["status"] for i in items} == {"cancelled"}
    assert len(items) == 2
    assert _all(store, ListQuery())[0] == []


def test_sync_token_expires(store: Store, clock: ManualClock) -> None:
    _, token = _all(store, ListQuery())
    assert token
    clock.advance(3599)
    _all(store, ListQuery(sync_token=token))
    clock.advance(2)
    error = _error(store.list_events, CAL, ListQuery(sync_token=token))
    assert (error.status, error.reason, error.location) == (410, "fullSyncRequired", "syncToken")


def test_invalidated_and_foreign_tokens_are_410(store: Store) -> None:
    _, token = _all(store, ListQuery())
    assert token
    assert _error(store.list_events, "other", ListQuery(sync_token=token)).status == 410
    store.invalidate_sync_tokens(CAL)
    assert _error(store.list_events, CAL, ListQuery(sync_token=token)).status == 410
    assert _error(store.list_events, CAL, ListQuery(sync_token="garbled")).status == 410


def test_order_by_start_time_gives_no_sync_token(store: Store) -> None:
    store.insert(CAL, _event(3), 0)
    page = store.list_events(CAL, ListQuery(single_events=True, order_by="startTime"))
    assert page.next_sync_token is None


@pytest.mark.parametrize(
    "name",
    [
        "iCalUID",
        "orderBy",
        "privateExtendedProperty",
        "q",
        "sharedExtendedProperty",
        "timeMin",
        "timeMax",
        "updatedMin",
    ],
)
def test_forbidden_with_sync_token(name: str) -> None:
    value = "2026-01-01T00:00:00Z" if name.startswith(("time", "updated")) else "updated"
    error = _error(parse_list_query, {"syncToken": ["t"], name: [value]})
    assert (error.status, error.reason) == (400, "syncTokenWithRequestRestrictions")


def test_query_checks() -> None:
    assert parse_list_query({"maxResults": ["9999"]}).max_results == 2500
    assert parse_list_query({}).max_results == 250
    assert _error(parse_list_query, {"maxResults": ["0"]}).status == 400
    assert _error(parse_list_query, {"orderBy": ["startTime"]}).reason == "invalid"
    assert _error(parse_list_query, {"timeMin": ["2026-01-01T00:00:00"]}).status == 400
    error = _error(
        parse_list_query,
        {"timeMin": ["2026-01-02T00:00:00Z"], "timeMax": ["2026-01-01T00:00:00Z"]},
    )
    assert error.reason == "timeRangeEmpty"


def test_unchanged_calendar_returns_the_same_token(store: Store) -> None:
    store.insert(CAL, _event(2), 0)
    _, token = _all(store, ListQuery())
    _, again = _all(store, ListQuery(sync_token=token))
    assert again == token
    store.insert(CAL, _event(3), 0)
    items, newer = _all(store, ListQuery(sync_token=token))
    assert len(items) == 1
    assert newer != token


def test_single_events_must_match_the_full_sync(store: Store) -> None:
    _, token = _all(store, ListQuery(single_events=True))
    error = _error(store.list_events, CAL, ListQuery(sync_token=token))
    assert error.reason == "fullSyncRequired"


def test_updated_min_includes_recent_deletions(store: Store, clock: ManualClock) -> None:
    old = store.insert(CAL, _event(2), 0)
    clock.advance(60)
    since = clock.now()
    recent = store.insert(CAL, _event(3), 0)
    store.delete(CAL, recent["id"], None)
    items, _ = _all(store, ListQuery(updated_min=since))
    assert [i["id"] for i in items] == [recent["id"]]
    assert set(items[0]) == {"kind", "etag", "id", "status"}
    assert old["id"] not in {i["id"] for i in items}


def test_time_window_is_exclusive(store: Store) -> None:
    event = store.insert(CAL, _event(2), 0)
    at_end = datetime.datetime(2026, 5, 2, 11, tzinfo=datetime.UTC)
    at_start = datetime.datetime(2026, 5, 2, 10, tzinfo=datetime.UTC)
    assert _all(store, ListQuery(time_min=at_end))[0] == []
    assert _all(store, ListQuery(time_max=at_start))[0] == []
    inside = _all(store, ListQuery(time_min=at_start, time_max=at_end))[0]
    assert [i["id"] for i in inside] == [event["id"]]
