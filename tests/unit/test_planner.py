"""The planner, on plain data: the architecture's table, revisions, ownership and retries.

Records are one per conference (:mod:`confsync.records`). The helpers below stand in for what the
sync does around the pure functions: the store (records and each calendar's event pointers), the
owner lookup before the fold (:func:`plan`'s ``owner``), and saving what a page changed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from confsync.events import CalendarEvent, decode_event
from confsync.planner import (
    ConferenceMatcher,
    DeleteConference,
    Operation,
    Orphans,
    PagePlan,
    PlanContext,
    SeriesAttachment,
    UpdateConference,
    after_applied,
    after_failure,
    after_gone,
    fold_events,
    lookup_for,
    plan_operation,
    plan_page,
    settled,
)
from confsync.records import CalendarRefs, ConferenceRecord, conference_key
from tests.support.calendar_events import conference_data
from tests.support.calendar_events import event as calendar_event

CALENDAR = "alice@example.com"
OWNER = CALENDAR
CTX = PlanContext(
    calendar_key="ck_test",
    calendar_id=CALENDAR,
    matcher=ConferenceMatcher(solution_names=frozenset({"My Web Conference"})),
    relevant_fields=frozenset(
        {"title", "start", "end", "timeZone", "recurrence", "attendees", "organizer"}
    ),
    subject=OWNER,
)
TEAM = "team-planning@group.calendar.google.com"
"""A secondary calendar of the owner's: its events have the calendar as organizer."""
TEAM_CTX = replace(CTX, calendar_key="ck_team", calendar_id=TEAM)
BOB = "bob@example.com"
BOB_CTX = replace(CTX, calendar_key="ck_bob", calendar_id=BOB, subject=BOB)
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
UNKNOWN = "<not known>"
"""As ``owner`` of :func:`plan`: the owner lookup failed for now."""


def _conference(conference_id: str, *, name: str = "My Web Conference", uri: str = "") -> Any:
    return conference_data(
        conference_id, solution=name, join_url=uri or f"https://meet.example/{conference_id}"
    )


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


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
) -> CalendarEvent:
    """An event as seen on CTX's calendar (``organizer_self`` when its organizer is CALENDAR)."""
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
        etag=f'"{ms(updated)}"',
        updated=updated.isoformat().replace("+00:00", "Z"),
    )
    raw.update(extra)
    return decode_event(raw)


def own_event(ctx: PlanContext, event_id: str, **changes: Any) -> CalendarEvent:
    """An event organised by ``ctx``'s calendar itself, as that calendar lists it."""
    return event(event_id, organizer=ctx.calendar_id, organizer_self=True, **changes)


def tombstone(event_id: str, **extra: Any) -> CalendarEvent:
    raw = {"kind": "calendar#event", "id": event_id, "etag": '"9"', "status": "cancelled"}
    return decode_event({**raw, **extra})


@dataclass(frozen=True)
class Stored:
    """What the store holds: the records by key, and each calendar's event pointers
    (calendar key -> event id -> record key)."""

    records: Mapping[str, ConferenceRecord] = field(default_factory=dict)
    pointers: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def __getitem__(self, record_key: str) -> ConferenceRecord:
        return self.records[record_key]


NOTHING = Stored()


@dataclass(frozen=True)
class Planned:
    """One page planned on ``ctx``'s calendar, and the records the owner lookup settled."""

    ctx: PlanContext
    page: PagePlan
    resolved: Mapping[str, ConferenceRecord]

    @property
    def operations(self) -> tuple[Operation, ...]:
        return self.page.operations

    @property
    def changed(self) -> dict[str, ConferenceRecord]:
        return self.page.changed

    @property
    def orphans(self) -> Orphans:
        return self.page.folded.orphans

    @property
    def attached(self) -> tuple[SeriesAttachment, ...]:
        return self.page.folded.attached


def plan(
    events: Sequence[CalendarEvent],
    stored: Stored = NOTHING,
    ctx: PlanContext = CTX,
    orphans: Orphans | None = None,
    *,
    owner: str | None = OWNER,
) -> Planned:
    """Plan a page as the sync does: the records it names (new ones created), owners looked up
    where unknown (``owner``: what the lookup answers; :data:`UNKNOWN`: it fails), then fold."""
    lookup = lookup_for(events, ctx)
    records = dict(stored.records)
    for record_key in lookup.record_keys - records.keys():
        conference_id = record_key.removeprefix("conf_")
        records[record_key] = ConferenceRecord(
            key=record_key, conference_id=conference_id, home_key=ctx.calendar_key
        )
    resolved = {}
    if owner != UNKNOWN:
        resolved = {
            k: settled(replace(r, owner=owner, owner_known=True), ctx.ownerless_policy)
            for k, r in records.items()
            if not r.owner_known and r.status != "deleted"
        }
    attachments = stored.pointers.get(ctx.calendar_key, {})
    folded = fold_events(events, {**records, **resolved}, attachments, ctx, orphans)
    return Planned(ctx=ctx, page=plan_page(folded, ctx), resolved=resolved)


def saved(planned: Planned, stored: Stored = NOTHING) -> Stored:
    """The store once the page's records and pointers are saved (its operations not answered)."""
    records = {**stored.records, **planned.resolved, **planned.changed}
    mine = dict(stored.pointers.get(planned.ctx.calendar_key, {}))
    for event_id, record_key in planned.page.folded.attachments.items():
        if record_key is None:
            mine.pop(event_id, None)
        else:
            mine[event_id] = record_key
    return Stored(records, {**stored.pointers, planned.ctx.calendar_key: mine})


def applied(planned: Planned, stored: Stored = NOTHING) -> Stored:
    """The store after the page was saved and every operation of it accepted."""
    after = saved(planned, stored)
    records = dict(after.records)
    for op in planned.operations:
        records[op.record_key] = after_applied(records[op.record_key], op)
    return replace(after, records=records)


def key(conference_id: str) -> str:
    return conference_key(conference_id)


def refs(record: ConferenceRecord, ctx: PlanContext = CTX) -> CalendarRefs:
    found = record.refs_of(ctx.calendar_key)
    assert found is not None
    return found


def test_event_with_our_conference_and_no_record_is_adopted() -> None:
    result = plan([event("e1")])

    [op] = result.operations
    assert isinstance(op, UpdateConference)
    assert op.conference_id == "conf-1"
    assert op.state.title == "Planning"
    assert op.state.start == "2026-12-02T10:00:00Z"
    assert op.state.time_zone == "Europe/Paris"
    assert op.state.attendees == ("alice@example.com", "bob@example.com")
    assert op.state.organizer == CALENDAR
    assert op.revision == ms(T0)
    assert set(result.changed) == {key("conf-1")}


def test_irrelevant_edit_changes_nothing_and_writes_nothing() -> None:
    stored = applied(plan([event("e1")]))
    recoloured = event("e1", updated=T0 + timedelta(minutes=5), colorId="7")

    result = plan([recoloured], stored)

    assert result.operations == ()
    assert result.changed == {}


def test_echo_of_our_own_write_back_is_a_no_op() -> None:
    stored = applied(plan([event("e1")]))
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
    stored = applied(plan([event("e1")]))
    later = T0 + timedelta(hours=1)

    result = plan([event("e1", updated=later, **change)], stored)

    [op] = result.operations
    assert isinstance(op, UpdateConference)
    assert field in op.changed_fields
    assert "attendees" not in op.changed_fields
    assert op.revision == ms(later)


def test_added_guest_is_an_attendees_change() -> None:
    stored = applied(plan([event("e1")]))
    guests = [{"email": "bob@example.com"}, {"email": CALENDAR}, {"email": "Carol@Example.com"}]

    result = plan([event("e1", updated=T0 + timedelta(hours=1), attendees=guests)], stored)

    [op] = result.operations
    assert isinstance(op, UpdateConference)
    assert op.changed_fields == ("attendees",)
    assert "carol@example.com" in op.state.attendees


def test_change_to_a_field_not_configured_as_relevant_sends_nothing() -> None:
    ctx = replace(CTX, relevant_fields=CTX.relevant_fields - {"attendees"})
    stored = applied(plan([event("e1")], ctx=ctx))
    guests = [{"email": "dave@example.com"}]

    result = plan([event("e1", updated=T0 + timedelta(hours=1), attendees=guests)], stored, ctx)

    assert result.operations == ()
    assert key("conf-1") in result.changed  # remembered, and sent with the next relevant change


def test_conference_removed_from_the_event_deletes_it() -> None:
    stored = applied(plan([event("e1")]))

    result = plan([event("e1", conference=None, updated=T0 + timedelta(hours=1))], stored)

    [op] = result.operations
    assert isinstance(op, DeleteConference)
    assert op.conference_id == "conf-1"
    sent = stored[key("conf-1")].sent
    assert sent is not None
    assert op.revision > sent.revision


def test_conference_replaced_deletes_the_old_and_adopts_the_new() -> None:
    stored = applied(plan([event("e1")]))

    result = plan([event("e1", conference="conf-2", updated=T0 + timedelta(hours=1))], stored)

    ops = {type(op).__name__: op for op in result.operations}
    assert ops["DeleteConference"].conference_id == "conf-1"
    assert ops["UpdateConference"].conference_id == "conf-2"


def test_deleted_event_deletes_its_conference() -> None:
    stored = applied(plan([event("e1")]))

    result = plan([tombstone("e1")], stored)

    [op] = result.operations
    assert isinstance(op, DeleteConference)
    assert op.conference_id == "conf-1"


def test_shared_conference_is_deleted_only_after_the_last_event_goes() -> None:
    stored = applied(plan([event("e1"), event("e2", start="2026-12-03T10:00:00Z")]))

    first = plan([tombstone("e1")], stored)
    assert not any(isinstance(op, DeleteConference) for op in first.operations)
    stored = applied(first, stored)

    second = plan([tombstone("e2")], stored)
    [op] = second.operations
    assert isinstance(op, DeleteConference)


def test_cancelled_instance_updates_the_series_and_never_deletes_it() -> None:
    series = event("s1", recurrence=["RRULE:FREQ=WEEKLY;COUNT=5"])
    stored = applied(plan([series]))
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
    stored = applied(plan([series]))
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
    stored = applied(plan([series, cancelled]))

    result = plan([tombstone("s1")], stored)

    [op] = result.operations
    assert isinstance(op, DeleteConference)
    assert refs(result.changed[key("conf-1")]).occurrences == {}


@pytest.mark.parametrize(
    "foreign",
    [
        pytest.param({"conference": None}, id="no-conference"),
        pytest.param({"organizer": "bob@example.com"}, id="attendee-copy"),
    ],
)
def test_events_that_are_not_ours_are_ignored(foreign: dict[str, Any]) -> None:
    result = plan([event("e1", **foreign)])

    assert (result.changed, result.operations) == ({}, ())
    assert result.page.folded.attachments == {}


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

    result = plan([decode_event(raw_meet)])

    assert (result.changed, result.operations) == ({}, ())


def test_tombstone_of_an_unknown_event_is_ignored() -> None:
    result = plan([tombstone("never-seen")])

    assert (result.changed, result.operations) == ({}, ())


def test_attendee_removing_their_copy_does_not_delete_the_conference() -> None:
    stored = applied(plan([event("e1")]))
    copy = event("e1", organizer_self=False)  # organised by alice, seen in bob's calendar

    assert plan([copy], stored, BOB_CTX).changed == {}
    assert plan([tombstone("e1")], stored, BOB_CTX).operations == ()


def test_revisions_increase_even_for_changes_without_a_timestamp() -> None:
    series = event("s1", recurrence=["RRULE:FREQ=WEEKLY;COUNT=5"])
    stored = applied(plan([series]))
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
    stored = applied(plan([event("e1")]))
    page = [event("e1", summary="Renamed", updated=T0 + timedelta(hours=1)), tombstone("zz")]

    assert plan(page, stored) == plan(page, stored)
    assert plan(page, stored).operations


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
    record = plan([event("e1")]).changed[key("conf-1")]

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
    result = plan([event("e1")])
    [op] = result.operations
    gone = replace(
        saved(result), records={op.record_key: after_gone(result.changed[op.record_key], op)}
    )

    later = plan([event("e1", summary="Renamed", updated=T0 + timedelta(hours=1))], gone)

    assert later.operations == ()


def _join_url(record: ConferenceRecord) -> str | None:
    assert record.sent is not None
    return record.sent.join_url


def test_applied_update_remembers_the_answered_join_url_until_another_is_answered() -> None:
    first = plan([event("e1")])
    [op] = first.operations
    adopted = after_applied(first.changed[op.record_key], op, "https://meet.example/j/1")
    stored = replace(saved(first), records={adopted.key: adopted})
    renamed = plan([event("e1", summary="Renamed", updated=T0 + timedelta(hours=1))], stored)
    [rename] = renamed.operations

    superseded = after_applied(renamed.changed[rename.record_key], rename)  # no answer
    rotated = after_applied(renamed.changed[rename.record_key], rename, "https://meet.example/j/2")

    assert _join_url(adopted) == "https://meet.example/j/1"
    assert _join_url(superseded) == "https://meet.example/j/1"
    assert _join_url(rotated) == "https://meet.example/j/2"


def test_deleted_conference_forgets_its_join_url() -> None:
    first = plan([event("e1")])
    [op] = first.operations
    adopted = after_applied(first.changed[op.record_key], op, "https://meet.example/j/1")
    removed = plan([tombstone("e1")], replace(saved(first), records={adopted.key: adopted}))
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
    first = plan([_moved(), _cancelled()])
    assert first.changed == {}
    assert first.operations == ()
    assert set(first.orphans["s1"]) == {"s1_20261209T100000Z", "s1_20261216T100000Z"}

    series = event("s1", conference="conf-2", recurrence=WEEKLY, iCalUID="s1@google.com")
    second = plan([series], saved(first), CTX, first.orphans)

    [op] = second.operations
    assert _occurrences_of(op) == (("2026-12-09T10:00:00Z",), ("2026-12-16T10:00:00Z",))
    assert op.revision == ms(T0 + timedelta(hours=1))
    assert second.orphans == {}


def test_exceptions_before_their_master_on_the_same_page_are_folded_in() -> None:
    series = event("s1", conference="conf-2", recurrence=WEEKLY)

    [op] = plan([_moved(), _cancelled(), series]).operations

    assert _occurrences_of(op) == (("2026-12-09T10:00:00Z",), ("2026-12-16T10:00:00Z",))


def test_exceptions_of_a_series_that_never_attaches_change_nothing() -> None:
    result = plan([_moved(), event("s1", conference=None, recurrence=WEEKLY)])

    assert result.changed == {}
    assert result.operations == ()


def test_replacing_a_series_conference_carries_its_exceptions_to_the_new_one() -> None:
    series = event("s1", conference="conf-1", recurrence=WEEKLY)
    stored = applied(plan([series, _moved(), _cancelled()]))
    replaced = event("s1", conference="conf-2", recurrence=WEEKLY, updated=T0 + timedelta(hours=3))

    result = plan([replaced], stored)

    by_conference = {op.conference_id: op for op in result.operations}
    assert isinstance(by_conference["conf-1"], DeleteConference)
    assert _occurrences_of(by_conference["conf-2"]) == (
        ("2026-12-09T10:00:00Z",),
        ("2026-12-16T10:00:00Z",),
    )
    assert refs(result.changed[key("conf-1")]).occurrences == {}


def test_exceptions_seen_later_in_the_run_win_over_the_ones_the_old_record_held() -> None:
    series = event("s1", conference="conf-1", recurrence=WEEKLY)
    stored = applied(plan([series, _moved()]))
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
    later = plan([renamed], stored, CTX, gone.orphans)  # ... an exception changes ...
    attached = plan(  # ... and the series comes back with another conference
        [event("s1", conference="conf-2", recurrence=WEEKLY)], stored, CTX, later.orphans
    )

    [op] = attached.operations
    assert isinstance(op, UpdateConference)
    assert [o.title for o in op.state.modified_occurrences] == ["Moved and renamed"]


def test_a_series_that_newly_attaches_is_reported_for_a_lookup_and_an_edit_is_not() -> None:
    series = event("s1", conference="conf-1", recurrence=WEEKLY, iCalUID="s1@google.com")
    adopted = plan([series, event("e1", conference="conf-1")])

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
    stored = applied(plan([event("s1", conference=None, recurrence=WEEKLY)]))
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
    stored = applied(plan([event("e1")]))
    edited = event("e1", summary="Moved", updated=T0 + timedelta(minutes=5))
    lost = plan([edited], stored)  # planned and sent; the answer never came back
    [update] = lost.operations
    assert isinstance(update, UpdateConference)
    stored = saved(lost, stored)  # the record saw the edit, not the answer

    moved = event("e1", conference="conf-2", updated=T0 + timedelta(minutes=9))
    result = plan([moved], stored)

    delete = next(op for op in result.operations if isinstance(op, DeleteConference))
    assert delete.conference_id == "conf-1"
    assert delete.revision > update.revision
    assert delete.revision >= ms(T0 + timedelta(minutes=9))


def test_a_deleted_event_raises_the_floor_from_its_tombstone() -> None:
    stored = applied(plan([event("e1")]))
    gone_at = T0 + timedelta(hours=2)

    result = plan([tombstone("e1", updated=gone_at.isoformat().replace("+00:00", "Z"))], stored)

    [delete] = result.operations
    assert isinstance(delete, DeleteConference)
    assert delete.revision >= ms(gone_at)


# --- one record per conference: several calendars of the owner ---------------------------------


def _on_both_calendars() -> Stored:
    """conf-1 carried by e1 on the owner's primary calendar and t1 on her team calendar, the
    team copy edited last."""
    stored = applied(plan([event("e1")]))
    team = own_event(TEAM_CTX, "t1", summary="Team planning", updated=T0 + timedelta(hours=1))
    return applied(plan([team], stored, TEAM_CTX), stored)


def test_the_calendar_updated_last_decides_the_conference_state() -> None:
    stored = applied(plan([event("e1")]))
    team = own_event(TEAM_CTX, "t1", summary="Team planning", updated=T0 + timedelta(hours=1))

    on_team = plan([team], stored, TEAM_CTX)
    stored = applied(on_team, stored)
    back = plan([event("e1", summary="Planning again", updated=T0 + timedelta(hours=2))], stored)

    [op] = on_team.operations
    assert isinstance(op, UpdateConference)
    assert (op.state.title, op.state.calendar_id, op.state.event_id) == (
        "Team planning",
        TEAM,
        "t1",
    )
    [again] = back.operations
    assert isinstance(again, UpdateConference)
    assert (again.state.title, again.state.calendar_id) == ("Planning again", CALENDAR)


def test_both_calendars_keep_their_references_in_the_one_record() -> None:
    record = _on_both_calendars()[key("conf-1")]

    assert record.live_calendars == ("ck_team", "ck_test")
    assert set(refs(record).events) == {"e1"}
    assert set(refs(record, TEAM_CTX).events) == {"t1"}
    assert refs(record, TEAM_CTX).subject == OWNER
    assert record.references == 0


def test_an_edit_on_the_calendar_that_does_not_decide_cannot_win_with_an_older_time() -> None:
    stored = _on_both_calendars()
    stale = event("e1", summary="Old edit", updated=T0 + timedelta(minutes=30))

    result = plan([stale], stored)

    assert result.operations == ()  # the team copy, updated after it, still decides
    assert refs(result.changed[key("conf-1")]).events["e1"].title == "Old edit"


def test_deleting_the_events_on_one_calendar_deletes_nothing_while_another_carries_it() -> None:
    stored = _on_both_calendars()

    result = plan([tombstone("t1")], stored, TEAM_CTX)

    assert not any(isinstance(op, DeleteConference) for op in result.operations)
    [op] = result.operations  # the primary calendar's event decides again
    assert isinstance(op, UpdateConference)
    assert (op.state.title, op.state.calendar_id) == ("Planning", CALENDAR)


def test_the_last_calendar_leaving_deletes_the_conference() -> None:
    stored = _on_both_calendars()
    stored = applied(plan([tombstone("e1")], stored), stored)

    result = plan([tombstone("t1")], stored, TEAM_CTX)

    [op] = result.operations
    assert isinstance(op, DeleteConference)
    assert op.conference_id == "conf-1"


def test_the_home_calendar_follows_the_calendar_that_decides() -> None:
    alone = applied(plan([event("e1")]))
    both = _on_both_calendars()
    team_left = applied(plan([tombstone("t1")], both, TEAM_CTX), both)

    assert alone[key("conf-1")].home_key == "ck_test"
    assert both[key("conf-1")].home_key == "ck_team"
    assert team_left[key("conf-1")].home_key == "ck_test"


def test_with_no_live_event_the_home_stays_with_the_calendar_whose_events_left_last() -> None:
    stored = _on_both_calendars()
    stored = applied(plan([tombstone("e1")], stored), stored)  # the team copy still decides
    last = plan([tombstone("t1")], stored, TEAM_CTX)
    stored = saved(last, stored)  # the delete is owed, not sent yet
    copy = own_event(BOB_CTX, "b1", updated=T0 + timedelta(hours=2))

    counted = plan([copy], stored, BOB_CTX)  # a page of a calendar that does not act

    assert last.changed[key("conf-1")].home_key == "ck_team"
    assert counted.changed[key("conf-1")].references == 1
    assert counted.changed[key("conf-1")].home_key == "ck_team"


def test_the_home_leaves_a_calendar_whose_events_turn_out_to_be_references() -> None:
    stored = applied(plan([event("e1")], owner=UNKNOWN))
    bobs = own_event(BOB_CTX, "b1", updated=T0 + timedelta(hours=1))
    stored = applied(plan([bobs], stored, BOB_CTX, owner=UNKNOWN), stored)
    assert stored[key("conf-1")].home_key == "ck_bob"  # undecided: bob's copy decided

    known = settled(replace(stored[key("conf-1")], owner=OWNER, owner_known=True), "first-claimant")

    assert known.home_key == "ck_test"


# --- references: events of anyone else carrying the conference ---------------------------------


def test_someone_elses_event_is_counted_and_never_operated_on() -> None:
    stored = applied(plan([event("e1")]))
    copy = own_event(BOB_CTX, "b1", summary="Bob's copy", updated=T0 + timedelta(hours=1))

    result = plan([copy], stored, BOB_CTX)

    record = result.changed[key("conf-1")]
    assert record.references == 1
    assert "ck_bob" not in record.calendars
    assert result.operations == ()
    assert result.page.folded.counted == ((key("conf-1"), "b1"),)


def test_someone_elses_edits_are_counted_once() -> None:
    stored = applied(plan([event("e1")]))
    stored = applied(plan([own_event(BOB_CTX, "b1")], stored, BOB_CTX), stored)
    renamed = own_event(BOB_CTX, "b1", summary="Renamed", updated=T0 + timedelta(hours=1))

    result = plan([renamed], stored, BOB_CTX)

    assert result.changed == {}
    assert result.operations == ()
    assert stored[key("conf-1")].references == 1


def test_the_tombstone_of_a_counted_reference_decrements_the_count_and_deletes_nothing() -> None:
    stored = applied(plan([event("e1")]))
    stored = applied(plan([own_event(BOB_CTX, "b1")], stored, BOB_CTX), stored)

    result = plan([tombstone("b1")], stored, BOB_CTX)

    record = result.changed[key("conf-1")]
    assert record.references == 0
    assert record.live_calendars == ("ck_test",)
    assert result.operations == ()


def test_a_conference_carried_only_by_references_is_never_deleted() -> None:
    copied = plan([own_event(BOB_CTX, "b1")], NOTHING, BOB_CTX)
    stored = applied(copied)

    left = plan([tombstone("b1")], stored, BOB_CTX)

    assert copied.operations == ()
    assert copied.changed[key("conf-1")].references == 1
    assert copied.changed[key("conf-1")].calendars == {}
    assert left.changed[key("conf-1")].references == 0
    assert left.operations == ()


def test_a_reference_that_drops_the_conference_leaves_the_count() -> None:
    stored = applied(plan([own_event(BOB_CTX, "b1")], NOTHING, BOB_CTX))
    dropped = own_event(BOB_CTX, "b1", conference=None, updated=T0 + timedelta(hours=1))

    result = plan([dropped], stored, BOB_CTX)

    assert result.changed[key("conf-1")].references == 0
    assert result.page.folded.attachments == {"b1": None}
    assert result.operations == ()


# --- conferences without an owner ---------------------------------------------------------------


def test_first_claimant_the_first_subject_claims_an_ownerless_conference() -> None:
    result = plan([own_event(BOB_CTX, "b1")], NOTHING, BOB_CTX, owner=None)

    record = result.changed[key("conf-1")]
    assert (record.owner, record.owner_known, record.claimant) == (None, True, BOB)
    assert set(refs(record, BOB_CTX).events) == {"b1"}
    [op] = result.operations
    assert isinstance(op, UpdateConference)
    assert op.state.calendar_id == BOB


def test_first_claimant_another_subjects_event_is_counted() -> None:
    stored = applied(plan([own_event(BOB_CTX, "b1")], NOTHING, BOB_CTX, owner=None))

    result = plan([event("e1", updated=T0 + timedelta(hours=1))], stored, owner=None)

    record = result.changed[key("conf-1")]
    assert record.claimant == BOB
    assert record.references == 1
    assert CTX.calendar_key not in record.calendars
    assert result.operations == ()


def test_first_claimant_the_claimants_other_calendars_act_too() -> None:
    stored = applied(plan([event("e1")], owner=None))
    team = own_event(TEAM_CTX, "t1", summary="Team planning", updated=T0 + timedelta(hours=1))

    result = plan([team], stored, TEAM_CTX, owner=None)

    assert result.changed[key("conf-1")].live_calendars == ("ck_team", "ck_test")
    [op] = result.operations
    assert isinstance(op, UpdateConference)
    assert op.state.title == "Team planning"


def test_hands_off_nothing_acts_for_an_ownerless_conference() -> None:
    hands_off = replace(CTX, ownerless_policy="hands-off")
    adopted = plan([event("e1")], NOTHING, hands_off, owner=None)
    stored = applied(adopted)

    removed = plan([tombstone("e1")], stored, hands_off, owner=None)

    record = adopted.changed[key("conf-1")]
    assert (record.claimant, record.references, record.calendars) == (None, 1, {})
    assert adopted.operations == ()
    assert removed.operations == ()
    assert removed.changed[key("conf-1")].references == 0


# --- owner not known yet ------------------------------------------------------------------------


def test_while_the_owner_is_unknown_events_are_kept_and_nothing_is_planned() -> None:
    result = plan([event("e1")], owner=UNKNOWN)
    stored = applied(result)
    renamed = plan(
        [event("e1", summary="Renamed", updated=T0 + timedelta(hours=1))], stored, owner=UNKNOWN
    )

    record = result.changed[key("conf-1")]
    assert not record.owner_known
    assert set(refs(record).events) == {"e1"}
    assert result.operations == ()
    assert renamed.operations == ()
    assert refs(renamed.changed[key("conf-1")]).events["e1"].title == "Renamed"


def test_a_tombstone_while_the_owner_is_unknown_plans_no_delete() -> None:
    stored = applied(plan([event("e1")], owner=UNKNOWN))

    result = plan([tombstone("e1")], stored, owner=UNKNOWN)

    assert result.operations == ()
    assert refs(result.changed[key("conf-1")]).events == {}


def test_once_the_owner_is_known_other_calendars_events_move_into_the_count() -> None:
    stored = applied(plan([event("e1")], owner=UNKNOWN))
    stored = applied(plan([own_event(BOB_CTX, "b1")], stored, BOB_CTX, owner=UNKNOWN), stored)
    undecided = stored[key("conf-1")]
    assert undecided.live_calendars == ("ck_bob", "ck_test")

    known = settled(replace(undecided, owner=OWNER, owner_known=True), "first-claimant")

    assert known.live_calendars == ("ck_test",)
    assert known.references == 1
    op = plan_operation(known, CTX)
    assert isinstance(op, UpdateConference)
    assert op.state.calendar_id == CALENDAR


def test_once_the_owner_is_known_the_next_page_plans_from_the_owners_events() -> None:
    stored = applied(plan([event("e1")], owner=UNKNOWN))
    stored = applied(plan([own_event(BOB_CTX, "b1")], stored, BOB_CTX, owner=UNKNOWN), stored)

    result = plan([event("e1", summary="Renamed", updated=T0 + timedelta(hours=1))], stored)

    [op] = result.operations
    assert isinstance(op, UpdateConference)
    assert op.state.title == "Renamed"
    assert result.changed[key("conf-1")].references == 1
