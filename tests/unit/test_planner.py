"""The planner, on plain data: the architecture's table, revisions, ownership and retries."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from confsync.events import decode_event
from confsync.planner import (
    ConferenceMatcher,
    DeleteConference,
    PagePlan,
    PlanContext,
    UpdateConference,
    after_applied,
    after_failure,
    after_gone,
    lookup_for,
    plan_operation,
    plan_page,
)
from confsync.records import ConferenceRecord, record_key
from tests.support.calendar_events import conference_data
from tests.support.calendar_events import event as calendar_event

CALENDAR = "alice@example.com"
CTX = PlanContext(
    calendar_key="ck_test",
    calendar_id=CALENDAR,
    matcher=ConferenceMatcher(solution_names=frozenset({"My Web Conference"})),
    relevant_fields=frozenset(
        {"title", "start", "end", "timeZone", "recurrence", "attendees", "organizer"}
    ),
)
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _conference(conference_id: str, *, name: str = "My Web Conference", uri: str = "") -> Any:
    return conference_data(
        conference_id, solution=name, join_url=uri or f"https://meet.example/{conference_id}"
    )


def event(
    event_id: str,
    *,
    conference: str | None = "conf-1",
    summary: str = "Planning",
    start: str = "2026-12-02T10:00:00Z",
    end: str = "2026-12-02T11:00:00Z",
    updated: datetime = T0,
    organizer: str = CALENDAR,
    organizer_self: bool | None = None,
    **extra: Any,
) -> Any:
    raw = calendar_event(
        event_id,
        summary=summary,
        start=start,
        end=end,
        time_zone="Europe/Paris",
        organizer=organizer,
        organizer_self=organizer == CALENDAR if organizer_self is None else organizer_self,
        attendees=["bob@example.com", organizer],
        conference=None if conference is None else _conference(conference),
        etag=f'"{int(updated.timestamp() * 1000)}"',
        updated=updated.isoformat().replace("+00:00", "Z"),
    )
    raw.update(extra)
    return decode_event(raw)


def tombstone(event_id: str, **extra: Any) -> Any:
    raw = {"kind": "calendar#event", "id": event_id, "etag": '"9"', "status": "cancelled"}
    return decode_event({**raw, **extra})


def plan(events: list[Any], records: Mapping[str, ConferenceRecord]) -> PagePlan:
    return plan_page(events, records, CTX)


def applied(
    plan_result: PagePlan, records: Mapping[str, ConferenceRecord] | None = None
) -> dict[str, ConferenceRecord]:
    """The stored records after every operation of ``plan_result`` was accepted."""
    stored = dict(records or {})
    stored.update(plan_result.changed)
    for op in plan_result.operations:
        stored[op.record_key] = after_applied(stored[op.record_key], op)
    return stored


def key(conference_id: str) -> str:
    return record_key(CTX.calendar_key, conference_id)


def test_event_with_our_conference_and_no_record_is_adopted() -> None:
    result = plan([event("e1")], {})

    [op] = result.operations
    assert isinstance(op, UpdateConference)
    assert op.conference_id == "conf-1"
    assert op.state.title == "Planning"
    assert op.state.start == "2026-12-02T10:00:00Z"
    assert op.state.time_zone == "Europe/Paris"
    assert op.state.attendees == ("alice@example.com", "bob@example.com")
    assert op.state.organizer == CALENDAR
    assert op.revision == int(T0.timestamp() * 1000)
    assert set(result.changed) == {key("conf-1")}


def test_irrelevant_edit_changes_nothing_and_writes_nothing() -> None:
    stored = applied(plan([event("e1")], {}))
    recoloured = event("e1", updated=T0 + timedelta(minutes=5), colorId="7")

    result = plan([recoloured], stored)

    assert result.operations == ()
    assert result.changed == {}


def test_echo_of_our_own_write_back_is_a_no_op() -> None:
    stored = applied(plan([event("e1")], {}))
    echo = decode_event(
        calendar_event(
            "e1",
            start="2026-12-02T10:00:00Z",
            end="2026-12-02T11:00:00Z",
            time_zone="Europe/Paris",
            updated="2026-12-01T09:10:00.000Z",
            organizer=CALENDAR,
            attendees=["bob@example.com", CALENDAR],
            conference=_conference("conf-1", uri="https://meet.example/new-join-url"),
        )
    )

    result = plan([echo], stored)

    assert result.operations == ()
    assert result.changed == {}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"summary": "Planning (moved)"}, "title"),
        ({"start": "2026-12-02T12:00:00Z", "end": "2026-12-02T13:00:00Z"}, "start"),
    ],
)
def test_relevant_edit_sends_an_update_with_the_changed_fields(
    change: dict[str, Any], field: str
) -> None:
    stored = applied(plan([event("e1")], {}))
    later = T0 + timedelta(hours=1)

    result = plan([event("e1", updated=later, **change)], stored)

    [op] = result.operations
    assert isinstance(op, UpdateConference)
    assert field in op.changed_fields
    assert "attendees" not in op.changed_fields
    assert op.revision == int(later.timestamp() * 1000)


def test_added_guest_is_an_attendees_change() -> None:
    stored = applied(plan([event("e1")], {}))
    guests = [{"email": "bob@example.com"}, {"email": CALENDAR}, {"email": "Carol@Example.com"}]

    result = plan([event("e1", updated=T0 + timedelta(hours=1), attendees=guests)], stored)

    [op] = result.operations
    assert isinstance(op, UpdateConference)
    assert op.changed_fields == ("attendees",)
    assert "carol@example.com" in op.state.attendees


def test_change_to_a_field_not_configured_as_relevant_sends_nothing() -> None:
    ctx = replace(CTX, relevant_fields=CTX.relevant_fields - {"attendees"})
    stored = applied(plan_page([event("e1")], {}, ctx))
    guests = [{"email": "dave@example.com"}]

    result = plan_page(
        [event("e1", updated=T0 + timedelta(hours=1), attendees=guests)], stored, ctx
    )

    assert result.operations == ()
    assert key("conf-1") in result.changed  # remembered, and sent with the next relevant change


def test_conference_removed_from_the_event_deletes_it() -> None:
    stored = applied(plan([event("e1")], {}))

    result = plan([event("e1", conference=None, updated=T0 + timedelta(hours=1))], stored)

    [op] = result.operations
    assert isinstance(op, DeleteConference)
    assert op.conference_id == "conf-1"
    sent = stored[key("conf-1")].sent
    assert sent is not None
    assert op.revision > sent.revision


def test_conference_replaced_deletes_the_old_and_adopts_the_new() -> None:
    stored = applied(plan([event("e1")], {}))

    result = plan([event("e1", conference="conf-2", updated=T0 + timedelta(hours=1))], stored)

    ops = {type(op).__name__: op for op in result.operations}
    assert ops["DeleteConference"].conference_id == "conf-1"
    assert ops["UpdateConference"].conference_id == "conf-2"


def test_deleted_event_deletes_its_conference() -> None:
    stored = applied(plan([event("e1")], {}))

    result = plan([tombstone("e1")], stored)

    [op] = result.operations
    assert isinstance(op, DeleteConference)
    assert op.conference_id == "conf-1"


def test_shared_conference_is_deleted_only_after_the_last_event_goes() -> None:
    stored = applied(plan([event("e1"), event("e2", start="2026-12-03T10:00:00Z")], {}))

    first = plan([tombstone("e1")], stored)
    assert not any(isinstance(op, DeleteConference) for op in first.operations)
    stored = applied(first, stored)

    second = plan([tombstone("e2")], stored)
    [op] = second.operations
    assert isinstance(op, DeleteConference)


def test_cancelled_instance_updates_the_series_and_never_deletes_it() -> None:
    series = event("s1", recurrence=["RRULE:FREQ=WEEKLY;COUNT=5"])
    stored = applied(plan([series], {}))
    cancelled = tombstone(
        "s1_20261209T100000Z",
        recurringEventId="s1",
        originalStartTime={"dateTime": "2026-12-09T10:00:00Z"},
    )

    result = plan([cancelled], stored)

    [op] = result.operations
    assert isinstance(op, UpdateConference)
    assert op.state.cancelled_occurrences == ("2026-12-09T10:00:00Z",)
    assert op.changed_fields == ("cancelledOccurrences",)


def test_moved_instance_is_an_instance_level_update() -> None:
    series = event("s1", recurrence=["RRULE:FREQ=WEEKLY;COUNT=5"])
    stored = applied(plan([series], {}))
    moved = event(
        "s1_20261209T100000Z",
        start="2026-12-09T15:00:00Z",
        end="2026-12-09T16:00:00Z",
        updated=T0 + timedelta(hours=2),
        recurringEventId="s1",
        originalStartTime={"dateTime": "2026-12-09T10:00:00Z"},
    )

    result = plan([moved], stored)

    [op] = result.operations
    assert isinstance(op, UpdateConference)
    [occurrence] = op.state.modified_occurrences
    assert occurrence.original_start == "2026-12-09T10:00:00Z"
    assert occurrence.start == "2026-12-09T15:00:00Z"
    assert op.state.start == "2026-12-02T10:00:00Z"  # the series itself did not move


def test_deleted_series_deletes_its_conference_and_forgets_its_instances() -> None:
    series = event("s1", recurrence=["RRULE:FREQ=DAILY;COUNT=3"])
    cancelled = tombstone(
        "s1_20261203T100000Z",
        recurringEventId="s1",
        originalStartTime={"dateTime": "2026-12-03T10:00:00Z"},
    )
    stored = applied(plan([series, cancelled], {}))

    result = plan([tombstone("s1")], stored)

    [op] = result.operations
    assert isinstance(op, DeleteConference)
    assert result.changed[key("conf-1")].occurrences == {}


@pytest.mark.parametrize(
    "foreign",
    [
        pytest.param({"conference": None}, id="no-conference"),
        pytest.param({"organizer": "bob@example.com"}, id="attendee-copy"),
    ],
)
def test_events_that_are_not_ours_are_ignored(foreign: dict[str, Any]) -> None:
    result = plan([event("e1", **foreign)], {})

    assert result == PagePlan(changed={}, operations=())


def test_conference_of_another_solution_is_ignored() -> None:
    raw_meet = calendar_event(
        "e1",
        summary="Standup",
        start="2026-12-02T10:00:00Z",
        end="2026-12-02T10:15:00Z",
        organizer=CALENDAR,
        conference=conference_data(
            "aaa-bbbb-ccc", solution="Google Meet", solution_type="hangoutsMeet"
        ),
    )

    assert plan([decode_event(raw_meet)], {}).operations == ()


def test_tombstone_of_an_unknown_event_is_ignored() -> None:
    result = plan([tombstone("never-seen")], {})

    assert result == PagePlan(changed={}, operations=())


def test_attendee_removing_their_copy_does_not_delete_the_conference() -> None:
    ctx = replace(CTX, calendar_id="bob@example.com", calendar_key="ck_bob")
    copy = event("e1", organizer_self=False)  # organised by alice, seen in bob's calendar

    assert plan_page([copy], {}, ctx).changed == {}
    assert plan_page([tombstone("e1")], {}, ctx).operations == ()


def test_revisions_increase_even_for_changes_without_a_timestamp() -> None:
    series = event("s1", recurrence=["RRULE:FREQ=WEEKLY;COUNT=5"])
    stored = applied(plan([series], {}))
    first = stored[key("conf-1")].sent
    assert first is not None
    revisions = [first.revision]
    for day in ("09", "16"):
        cancelled = tombstone(
            f"s1_202612{day}T100000Z",
            recurringEventId="s1",
            originalStartTime={"dateTime": f"2026-12-{day}T10:00:00Z"},
        )
        result = plan([cancelled], stored)
        stored = applied(result, stored)
        revisions.append(result.operations[0].revision)

    assert revisions == sorted(set(revisions))


def test_replanning_the_same_page_gives_the_same_operations() -> None:
    """A redelivered sync repeats exactly what it sent, so the provider sees a repeat."""
    stored = applied(plan([event("e1")], {}))
    page = [event("e1", summary="Renamed", updated=T0 + timedelta(hours=1)), tombstone("zz")]

    assert plan(page, stored) == plan(page, stored)


def test_lookup_asks_for_tombstone_ids_series_ids_and_conference_keys() -> None:
    page = [
        event("e1"),
        tombstone("e2"),
        tombstone(
            "s1_x", recurringEventId="s1", originalStartTime={"dateTime": "2026-12-09T10:00:00Z"}
        ),
    ]

    lookup = lookup_for(page, CTX)

    assert lookup.event_ids == {"e1", "e2", "s1"}
    assert lookup.record_keys == {key("conf-1")}


def test_failed_operation_becomes_pending_with_backoff_then_failed() -> None:
    record = plan([event("e1")], {}).changed[key("conf-1")]

    def fail(r: ConferenceRecord) -> ConferenceRecord:
        return after_failure(
            r,
            "503 from provider",
            T0,
            max_attempts=3,
            base_delay=timedelta(minutes=1),
            max_delay=timedelta(hours=1),
        )

    once = fail(record)
    twice = fail(once)
    thrice = fail(twice)

    assert once.pending is not None
    assert once.pending.next_attempt_at == T0 + timedelta(minutes=1)
    assert twice.pending is not None
    assert twice.pending.next_attempt_at == T0 + timedelta(minutes=2)
    assert (once.status, twice.status, thrice.status) == ("active", "active", "failed")
    assert plan_operation(twice, CTX) is not None  # still owed to the provider


def test_gone_conference_is_never_operated_on_again() -> None:
    result = plan([event("e1")], {})
    [op] = result.operations
    gone = after_gone(result.changed[op.record_key], op)

    later = plan(
        [event("e1", summary="Renamed", updated=T0 + timedelta(hours=1))], {gone.key: gone}
    )

    assert later.operations == ()


def _join_url(record: ConferenceRecord) -> str | None:
    assert record.sent is not None
    return record.sent.join_url


def test_applied_update_remembers_the_answered_join_url_until_another_is_answered() -> None:
    first = plan([event("e1")], {})
    [op] = first.operations
    adopted = after_applied(first.changed[op.record_key], op, "https://meet.example/j/1")
    renamed = plan(
        [event("e1", summary="Renamed", updated=T0 + timedelta(hours=1))], {adopted.key: adopted}
    )
    [rename] = renamed.operations

    superseded = after_applied(renamed.changed[rename.record_key], rename)  # no answer
    rotated = after_applied(renamed.changed[rename.record_key], rename, "https://meet.example/j/2")

    assert _join_url(adopted) == "https://meet.example/j/1"
    assert _join_url(superseded) == "https://meet.example/j/1"
    assert _join_url(rotated) == "https://meet.example/j/2"


def test_deleted_conference_forgets_its_join_url() -> None:
    first = plan([event("e1")], {})
    [op] = first.operations
    adopted = after_applied(first.changed[op.record_key], op, "https://meet.example/j/1")
    removed = plan([tombstone("e1")], {adopted.key: adopted})
    [delete] = removed.operations

    deleted = after_applied(removed.changed[delete.record_key], delete)

    assert isinstance(delete, DeleteConference)
    assert _join_url(deleted) is None


# --- series exceptions outliving their record ---------------------------------------------------

WEEKLY = ["RRULE:FREQ=WEEKLY;COUNT=5"]


def _moved(series_id: str = "s1", *, updated: datetime = T0 + timedelta(hours=1)) -> Any:
    return event(
        f"{series_id}_20261209T100000Z",
        conference=None,
        start="2026-12-09T15:00:00Z",
        end="2026-12-09T16:00:00Z",
        updated=updated,
        recurringEventId=series_id,
        originalStartTime={"dateTime": "2026-12-09T10:00:00Z"},
    )


def _cancelled(series_id: str = "s1") -> Any:
    return tombstone(
        f"{series_id}_20261216T100000Z",
        recurringEventId=series_id,
        originalStartTime={"dateTime": "2026-12-16T10:00:00Z"},
    )


def _occurrences_of(op: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(original starts of the modified occurrences, cancelled original starts) of an update."""
    assert isinstance(op, UpdateConference)
    modified = tuple(o.original_start for o in op.state.modified_occurrences)
    return modified, op.state.cancelled_occurrences


def test_exceptions_on_a_page_before_their_master_wait_for_it_and_are_folded_in() -> None:
    first = plan_page([_moved(), _cancelled()], {}, CTX)
    assert first.changed == {}
    assert first.operations == ()
    assert set(first.orphans["s1"]) == {"s1_20261209T100000Z", "s1_20261216T100000Z"}

    series = event("s1", conference="conf-2", recurrence=WEEKLY, iCalUID="s1@google.com")
    second = plan_page([series], {}, CTX, first.orphans)

    [op] = second.operations
    assert _occurrences_of(op) == (("2026-12-09T10:00:00Z",), ("2026-12-16T10:00:00Z",))
    assert op.revision == int((T0 + timedelta(hours=1)).timestamp() * 1000)
    assert second.orphans == {}


def test_exceptions_before_their_master_on_the_same_page_are_folded_in() -> None:
    series = event("s1", conference="conf-2", recurrence=WEEKLY)

    [op] = plan([_moved(), _cancelled(), series], {}).operations

    assert _occurrences_of(op) == (("2026-12-09T10:00:00Z",), ("2026-12-16T10:00:00Z",))


def test_exceptions_of_a_series_that_never_attaches_change_nothing() -> None:
    result = plan_page([_moved(), event("s1", conference=None, recurrence=WEEKLY)], {}, CTX)

    assert result.changed == {}
    assert result.operations == ()


def test_replacing_a_series_conference_carries_its_exceptions_to_the_new_one() -> None:
    series = event("s1", conference="conf-1", recurrence=WEEKLY)
    stored = applied(plan([series, _moved(), _cancelled()], {}))
    replaced = event("s1", conference="conf-2", recurrence=WEEKLY, updated=T0 + timedelta(hours=3))

    result = plan([replaced], stored)

    by_conference = {op.conference_id: op for op in result.operations}
    assert isinstance(by_conference["conf-1"], DeleteConference)
    assert _occurrences_of(by_conference["conf-2"]) == (
        ("2026-12-09T10:00:00Z",),
        ("2026-12-16T10:00:00Z",),
    )
    assert result.changed[key("conf-1")].occurrences == {}


def test_exceptions_seen_later_in_the_run_win_over_the_ones_the_old_record_held() -> None:
    series = event("s1", conference="conf-1", recurrence=WEEKLY)
    stored = applied(plan([series, _moved()], {}))
    renamed = event(
        "s1_20261209T100000Z",
        conference=None,
        summary="Moved and renamed",
        updated=T0 + timedelta(hours=2),
        recurringEventId="s1",
        originalStartTime={"dateTime": "2026-12-09T10:00:00Z"},
    )
    gone = plan([tombstone("s1")], stored)  # the series leaves conf-1 on one page ...
    stored = applied(gone, stored)
    later = plan_page([renamed], stored, CTX, gone.orphans)  # ... an exception changes ...
    attached = plan_page(  # ... and the series comes back with another conference
        [event("s1", conference="conf-2", recurrence=WEEKLY)], stored, CTX, later.orphans
    )

    [op] = attached.operations
    assert isinstance(op, UpdateConference)
    assert [o.title for o in op.state.modified_occurrences] == ["Moved and renamed"]


def test_a_series_that_newly_attaches_is_reported_for_a_lookup_and_an_edit_is_not() -> None:
    series = event("s1", conference="conf-1", recurrence=WEEKLY, iCalUID="s1@google.com")
    adopted = plan([series, event("e1", conference="conf-1")], {})

    [attachment] = adopted.attached
    assert (attachment.series_id, attachment.ical_uid) == ("s1", "s1@google.com")
    assert attachment.record_key == key("conf-1")

    stored = applied(adopted)
    renamed = event(
        "s1", conference="conf-1", recurrence=WEEKLY, summary="Renamed", iCalUID="s1@google.com"
    )
    assert plan([renamed], stored).attached == ()
    replaced = event("s1", conference="conf-2", recurrence=WEEKLY, iCalUID="s1@google.com")
    assert [a.record_key for a in plan([replaced], stored).attached] == [key("conf-2")]


def test_exceptions_from_a_series_lookup_fold_into_the_record_it_newly_joined() -> None:
    # What the runner does with a lookup: the page again, the series' exceptions after it.
    stored = applied(plan([event("s1", conference=None, recurrence=WEEKLY)], {}))
    added = event("s1", conference="conf-2", recurrence=WEEKLY, iCalUID="s1@google.com")
    assert plan([added], stored).attached

    result = plan([added, _moved(), _cancelled()], stored)

    [op] = result.operations
    assert _occurrences_of(op) == (("2026-12-09T10:00:00Z",), ("2026-12-16T10:00:00Z",))


def test_a_delete_outranks_an_update_whose_answer_was_lost() -> None:
    """The system applied our update (revision = the event's time) but the answer was lost, so
    the record still holds the older revision; when the event then moves to another conference,
    the DELETE must carry a revision above that update's, or it is refused as stale (409, taken
    as done) and the conference stays active (found by the chaos suite, seed 17)."""
    stored = applied(plan([event("e1")], {}))
    edited = event("e1", summary="Moved", updated=T0 + timedelta(minutes=5))
    lost = plan([edited], stored)  # planned and sent; the answer never came back
    [update] = lost.operations
    assert isinstance(update, UpdateConference)
    stored = {**stored, **lost.changed}  # the record saw the edit, not the answer

    moved = event("e1", conference="conf-2", updated=T0 + timedelta(minutes=9))
    result = plan([moved], stored)

    delete = next(op for op in result.operations if isinstance(op, DeleteConference))
    assert delete.conference_id == "conf-1"
    assert delete.revision > update.revision
    assert delete.revision >= int((T0 + timedelta(minutes=9)).timestamp() * 1000)


def test_a_deleted_event_raises_the_floor_from_its_tombstone() -> None:
    stored = applied(plan([event("e1")], {}))
    gone_at = T0 + timedelta(hours=2)

    result = plan([tombstone("e1", updated=gone_at.isoformat().replace("+00:00", "Z"))], stored)

    [delete] = result.operations
    assert isinstance(delete, DeleteConference)
    assert delete.revision >= int(gone_at.timestamp() * 1000)
