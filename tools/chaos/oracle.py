"""The oracle: what the conferencing system must hold, computed from the Calendar's final state.

It reads the raw event JSON the Calendar emulator answers (``events.list`` with
``showDeleted=true``: series masters, their exception objects and deleted events) and derives each
conference's expected fields itself, with no code from the product's planner, so a planner bug
cannot hide behind the same bug here. Only the notion of "ours" (solution key type and name, and
the owned-events rule) is shared, because it is configuration, not logic.

Rules (from the architecture's invariants 1 and 2, and the conference's owner):

* Only an event **organised by the conference's owner** counts: an owned event (its organizer is
  the calendar's user, ``self``) on a calendar of the owner (the calendar's id, or the subject it
  is enrolled under, equals the conference's ``owner``, ignoring case). An event of another
  organizer carrying the conference (a copy by another user, an event moved to another user)
  neither keeps it alive nor gives it a state; an attendee's copy never counts. A conference
  without an owner (created before contract 1.1.0) counts every owned event, as before.
* A conference referenced by a live event that counts must be ``active`` and hold that
  event's state: title, start, end, time zone, attendees, recurrence, cancelled and modified
  occurrences, organizer, calendar and event. When several live events of its owner share a
  conference (on one calendar or on several calendars of the owner), the state of any one of
  them is accepted (the product picks a primary one per calendar and keeps it).
* A conference confsync adopted (its revision moved past 0) that no live event counting for it
  references any more must be ``deleted``, whatever other users' events still carry it.
* A conference no live event references and that confsync never adopted may be deleted (an
  adoption that kept failing and then lost its event is deleted without ever being applied) or
  left untouched, but nothing in between.
* A conference **transferred** (its owner's event moved to another enrolled user: the same id
  live there, a tombstone on the owner's calendar) must stay ``active``, in any state (frozen,
  not followed); once the new organizer deleted that event too it may be either (see
  :func:`transfers`).
* Every other conference (never attached to an event of ours: decoys, other solutions) must be
  untouched: ``active`` at revision 0.

Times are compared as instants (the emulators may write the same instant with another offset).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = [
    "Expected",
    "Mismatch",
    "OracleInput",
    "compare",
    "counts",
    "expected_conferences",
    "ours",
    "transfers",
]

DEFAULT_SOLUTION_NAMES = frozenset({"My Web Conference", "My Recorded Web Conference"})


@dataclass(frozen=True)
class Mismatch:
    """One difference between the conferencing system and the oracle."""

    conference_id: str
    kind: str  # wrong-state | missing-deletion | extra-deletion | touched | missing
    detail: str

    def __str__(self) -> str:
        return f"{self.conference_id}: {self.kind}: {self.detail}"


@dataclass(frozen=True)
class Expected:
    """The acceptable states of one conference referenced by live events (one per event)."""

    conference_id: str
    states: tuple[dict[str, Any], ...]  # empty: any state (a transferred conference)


@dataclass(frozen=True)
class OracleInput:
    """The final state of the world: raw events by calendar id, and every conference."""

    events_by_calendar: Mapping[str, Sequence[Mapping[str, Any]]]
    conferences: Sequence[Mapping[str, Any]]
    solution_names: frozenset[str] = DEFAULT_SOLUTION_NAMES
    key_type: str = "addOn"
    attached: frozenset[str] = field(default_factory=frozenset)
    users: Mapping[str, str] = field(default_factory=dict)  # calendar id -> its subject

    def user_of(self, calendar_id: str) -> str:
        """The user a calendar is enrolled under (its own id unless told otherwise)."""
        return self.users.get(calendar_id, calendar_id)


def ours(event: Mapping[str, Any], solution_names: frozenset[str], key_type: str) -> str | None:
    """The conference id of ``event`` when it is one of ours, else None."""
    data = event.get("conferenceData")
    if not isinstance(data, Mapping):
        return None
    solution = data.get("conferenceSolution") or {}
    if (solution.get("key") or {}).get("type") != key_type:
        return None
    if solution_names and solution.get("name") not in solution_names:
        return None
    conference_id = data.get("conferenceId")
    return conference_id if isinstance(conference_id, str) and conference_id else None


def _boundary(value: Mapping[str, Any] | None) -> str:
    if not value:
        return ""
    return str(value.get("dateTime") or value.get("date") or "")


def _instant(value: Any) -> Any:
    """A date-time as an aware datetime (so offsets do not matter); anything else unchanged."""
    if isinstance(value, str) and "T" in value:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    return value


def _owned(event: Mapping[str, Any], calendar_id: str) -> bool:
    organizer = event.get("organizer") or {}
    email = str(organizer.get("email") or "").lower()
    return organizer.get("self") is True or email == calendar_id.lower()


def counts(event: Mapping[str, Any], calendar_id: str, user: str, owner: str | None) -> bool:
    """Whether ``event`` on ``calendar_id`` (of ``user``) speaks for a conference of ``owner``."""
    if not _owned(event, calendar_id):
        return False  # an attendee's copy
    if owner is None:
        return True  # ownerless: every owned event, as before owners
    organizer = str((event.get("organizer") or {}).get("email") or "")
    return owner.casefold() in {organizer.casefold(), user.casefold()}


def _owners(world: OracleInput) -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for conference in world.conferences:
        owner = conference.get("owner")
        found[str(conference["id"])] = owner if isinstance(owner, str) and owner else None
    return found


def _state(
    master: Mapping[str, Any], exceptions: Iterable[Mapping[str, Any]], calendar_id: str
) -> dict[str, Any]:
    """The conference state one live master event asks for, from its raw JSON."""
    cancelled: list[str] = []
    modified: list[dict[str, Any]] = []
    for item in exceptions:
        original = _boundary(item.get("originalStartTime")) or str(item.get("id"))
        if item.get("status") == "cancelled":
            cancelled.append(original)
        else:
            modified.append(
                {
                    "originalStart": original,
                    "start": _boundary(item.get("start")) or original,
                    "end": _boundary(item.get("end")),
                    "title": item.get("summary"),
                }
            )
    attendees = sorted(
        {
            str(a["email"]).lower()
            for a in master.get("attendees") or []
            if a.get("email") and not a.get("resource")
        }
    )
    organizer = str((master.get("organizer") or {}).get("email") or "").lower() or None
    return {
        "title": master.get("summary"),
        "start": _boundary(master.get("start")),
        "end": _boundary(master.get("end")),
        "timeZone": (master.get("start") or {}).get("timeZone"),
        "attendees": attendees,
        "recurrence": list(master.get("recurrence") or []),
        "cancelledOccurrences": cancelled,
        "modifiedOccurrences": modified,
        "organizer": organizer,
        "calendarId": calendar_id,
        "eventId": master.get("id"),
    }


def expected_conferences(world: OracleInput) -> dict[str, Expected]:
    """Every conference referenced by a live event of its owner, with its acceptable states."""
    owners = _owners(world)
    states: dict[str, list[dict[str, Any]]] = {}
    for calendar_id, events in world.events_by_calendar.items():
        exceptions: dict[str, list[Mapping[str, Any]]] = {}
        for item in events:
            series = item.get("recurringEventId")
            if isinstance(series, str):
                exceptions.setdefault(series, []).append(item)
        for item in events:
            if item.get("recurringEventId") or item.get("status") == "cancelled":
                continue
            conference_id = ours(item, world.solution_names, world.key_type)
            if conference_id is None:
                continue
            user = world.user_of(calendar_id)
            if not counts(item, calendar_id, user, owners.get(conference_id)):
                continue
            state = _state(item, exceptions.get(str(item["id"]), []), calendar_id)
            states.setdefault(conference_id, []).append(state)
    expected = {key: Expected(key, tuple(found)) for key, found in states.items()}
    kept, _ = transfers(world)
    for conference_id in kept - set(expected):
        expected[conference_id] = Expected(conference_id, ())
    return expected


def _owner_tombstones(world: OracleInput, owner: str) -> set[str]:
    """Ids of the cancelled events on the calendars of ``owner``."""
    return {
        str(item.get("id"))
        for calendar_id, events in world.events_by_calendar.items()
        if owner.casefold() in {calendar_id.casefold(), world.user_of(calendar_id).casefold()}
        for item in events
        if item.get("status") == "cancelled" and not item.get("recurringEventId")
    }


def transfers(world: OracleInput) -> tuple[set[str], set[str]]:
    """Conferences whose organizer changed: (kept, either kept or deleted).

    The product's delete grace (decision record "delete grace") keeps a conference whose
    owner's event left for another enrolled user's calendar (``events.move``: the same id, now
    organised there; the owner's calendar keeps a tombstone): it is **transferred**, kept at its
    last state and never followed. While the moved event is live the conference must be active
    (any state: it is frozen, and nothing may be sent for the new organizer's edits, which the
    ownership check sees). Once the new organizer deleted it too, it is kept or deleted depending
    on whether the grace ran before that deletion; a tombstone names no conference, so only the
    event the conference last followed (its ``eventId``) is recognised then. Either, too, for a
    conference the owner replaced on the event before moving it to another user
    (:func:`_left_behind`).
    """
    owners = _owners(world)
    last_event = {str(c["id"]): str(c.get("eventId")) for c in world.conferences}
    kept: set[str] = set()
    either: set[str] = set()
    for calendar_id, events in world.events_by_calendar.items():
        user = world.user_of(calendar_id)
        for item in events:
            if item.get("recurringEventId"):
                continue
            event_id = str(item.get("id"))
            if item.get("status") == "cancelled":
                for followed_by, followed in last_event.items():
                    was = owners.get(followed_by)
                    if followed != event_id or was is None or user.casefold() == was.casefold():
                        continue
                    if event_id in _owner_tombstones(world, was):
                        either.add(followed_by)
                either |= _deleted_after_move(world, owners, item, calendar_id, user)
                continue
            carried = ours(item, world.solution_names, world.key_type)
            either |= _left_behind(world, owners, last_event, item, user=user, carried=carried)
            owner = owners.get(carried or "")
            if carried is None or owner is None or not _owned(item, calendar_id):
                continue
            if not counts(item, calendar_id, user, owner) and event_id in _owner_tombstones(
                world, owner
            ):
                kept.add(carried)
    return kept, either - kept


def _deleted_after_move(
    world: OracleInput,
    owners: Mapping[str, str | None],
    item: Mapping[str, Any],
    calendar_id: str,
    user: str,
) -> set[str]:
    """The conference a cancelled event of another user still names, when that user's calendar
    organises it and its id is a tombstone on the owner's calendars: the owner's event moved
    there and deleted by its new organizer. A deletion keeps the details on the organizer's
    calendar (``showDeleted``, reference 1.5), so it is recognised whichever event the
    conference last followed (the owner may have had several carrying it)."""
    carried = ours(item, world.solution_names, world.key_type)
    was = owners.get(carried or "")
    if carried is None or was is None or user.casefold() == was.casefold():
        return set()
    if not _owned(item, calendar_id) or str(item.get("id")) not in _owner_tombstones(world, was):
        return set()
    return {carried}


def _left_behind(
    world: OracleInput,
    owners: Mapping[str, str | None],
    last_event: Mapping[str, str],
    item: Mapping[str, Any],
    *,
    user: str,
    carried: str | None,
) -> set[str]:
    """The conferences a live event of another user no longer carries although they last
    followed it while it was their owner's (its id a tombstone on the owner's calendars): the
    owner replaced the conference and moved the event to that user. When the owner's calendar
    synced in between, the product deletes the conference; when it saw only the move's stub it
    cannot tell this move from one that took the conference along, and keeps it (the delete
    grace's decision record): either is right here."""
    event_id = str(item.get("id"))
    found: set[str] = set()
    for followed_by, followed in last_event.items():
        was = owners.get(followed_by)
        if followed != event_id or followed_by == carried or was is None:
            continue
        if user.casefold() != was.casefold() and event_id in _owner_tombstones(world, was):
            found.add(followed_by)
    return found


def _normal(state: Mapping[str, Any]) -> dict[str, Any]:
    """A state in comparable form: instants for times, sets where order carries no meaning."""
    return {
        "title": state.get("title"),
        "start": _instant(state.get("start")),
        "end": _instant(state.get("end")),
        "timeZone": state.get("timeZone"),
        "attendees": sorted(state.get("attendees") or []),
        "recurrence": list(state.get("recurrence") or []),
        "cancelledOccurrences": sorted(
            str(_instant(value)) for value in state.get("cancelledOccurrences") or []
        ),
        "modifiedOccurrences": sorted(
            (
                str(_instant(o.get("originalStart"))),
                str(_instant(o.get("start"))),
                str(_instant(o.get("end"))),
                str(o.get("title")),
            )
            for o in state.get("modifiedOccurrences") or []
        ),
        "organizer": state.get("organizer"),
        "calendarId": state.get("calendarId"),
        "eventId": state.get("eventId"),
    }


def _differences(actual: Mapping[str, Any], wanted: Mapping[str, Any]) -> list[str]:
    mine, theirs = _normal(actual), _normal(wanted)
    return [
        f"{key}: has {mine[key]!r}, want {theirs[key]!r}"
        for key in theirs
        if mine[key] != theirs[key]
    ]


def compare(world: OracleInput) -> list[Mismatch]:
    """Every way the conferencing system differs from the oracle (empty: converged)."""
    expected = expected_conferences(world)
    by_id = {str(c["id"]): c for c in world.conferences}
    problems: list[Mismatch] = []
    for conference_id, wanted in sorted(expected.items()):
        actual = by_id.get(conference_id)
        if actual is None:
            problems.append(Mismatch(conference_id, "missing", "referenced but unknown"))
            continue
        if actual.get("status") != "active":
            problems.append(
                Mismatch(conference_id, "extra-deletion", "deleted while a live event uses it")
            )
            continue
        diffs = [_differences(actual, state) for state in wanted.states]
        if diffs and all(diffs):
            best = min(diffs, key=len)
            problems.append(Mismatch(conference_id, "wrong-state", "; ".join(best)))
    _, either = transfers(world)
    for conference_id, actual in sorted(by_id.items()):
        if conference_id in expected or conference_id in either:
            continue
        status, revision = actual.get("status"), int(actual.get("revision") or 0)
        if conference_id in world.attached:
            if status == "active" and revision > 0:
                problems.append(
                    Mismatch(
                        conference_id,
                        "missing-deletion",
                        f"no live event uses it, still active at revision {revision}",
                    )
                )
        elif status != "active" or revision != 0:
            problems.append(
                Mismatch(
                    conference_id,
                    "touched",
                    f"never ours, yet status {status} at revision {revision}",
                )
            )
    return problems
