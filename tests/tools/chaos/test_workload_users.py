"""The workload's other users: copies, invitations and moves are valid when they run, and a
seed never asks for more deletes of one calendar than the deletion brake lets through."""

from __future__ import annotations

from collections import Counter

import pytest

from chaos.workload import generate

DELETE_BRAKE = 20  # CONFSYNC_DELETE_BRAKE's default: deletes per run per calendar
SEEDS = range(1, 41)


def test_moves_are_on_unless_turned_off() -> None:
    plain = [generate(seed, moves=False) for seed in SEEDS]
    moving = [generate(seed) for seed in SEEDS]

    assert not any(step.kind == "move" for w in plain for step in w.steps)
    assert all(w.subjects == {c: c for c in w.calendars} for w in plain)
    assert any(step.kind == "move" for w in moving for step in w.steps)
    assert {"cal0-team": "cal0"}.items() <= moving[0].subjects.items()
    assert any(s.args == {"calendar": "cal0-team", "subject": "cal0"} for s in moving[0].steps)


def test_the_new_steps_are_drawn() -> None:
    kinds = Counter(step.kind for seed in SEEDS for step in generate(seed).steps)

    for kind in ("copy", "copy-edit", "copy-delete", "answer", "delete-copy", "move"):
        assert kinds[kind] > 0, kind


@pytest.mark.parametrize("moves", [False, True], ids=["plain", "moves"])
@pytest.mark.parametrize("seed", SEEDS)
def test_other_users_act_on_what_exists(seed: int, moves: bool) -> None:
    """A copy is of a conference its owner still uses, by another user; copies are edited and
    deleted while they exist; only invited calendars answer or delete their copy."""
    workload = generate(seed, moves=moves)
    subjects = workload.subjects
    owner: dict[str, str] = {}  # conference -> the user it was created for
    users: dict[str, set[str]] = {}  # conference -> live events of its owner
    where: dict[str, str] = {}  # event -> calendar
    invited: dict[str, set[str]] = {}
    copies: set[str] = set()
    for step in workload.steps:
        args = step.args
        event = str(args.get("event"))
        if step.kind == "create" and args["conference"] and not args["foreign"]:
            owner.setdefault(args["conference"], subjects[args["calendar"]])
            users.setdefault(args["conference"], set()).add(event)
        if step.kind in {"create", "copy"}:
            where[event] = args["calendar"]
        if "attendees" in args:
            invited[event] = {a for a in args["attendees"] if a in subjects}
        if step.kind in {"replace-conference", "add-conference"}:
            owner.setdefault(args["conference"], subjects[where[event]])
            users[args["conference"]] = {event}
        if step.kind == "recreate":
            where[args["new_event"]] = where[event]
            owner.setdefault(args["new_conference"], subjects[where[event]])
            users[args["new_conference"]] = {args["new_event"]}
            invited[args["new_event"]] = invited[event]
        if step.kind == "copy":
            assert users.get(args["conference"]), f"{step}: a conference no owner's event uses"
            assert subjects[args["calendar"]] != owner[args["conference"]], f"{step}: the owner"
            copies.add(event)
        elif step.kind in {"copy-edit", "copy-delete"}:
            assert event in copies, f"{step}: not a live copy"
        elif step.kind in {"answer", "delete-copy"}:
            assert args["calendar"] in invited[event], f"{step}: not invited"
            assert args["calendar"] != where[event], f"{step}: the organizer's own calendar"
        elif step.kind == "move":
            assert args["calendar"] == where[event] != args["destination"]
            if subjects[args["destination"]] != subjects[args["calendar"]]:
                copies.add(event)  # now another user's event: edited and deleted as a copy
            where[event] = args["destination"]
        if step.kind == "copy-delete":
            copies.discard(event)
        for name in args.get("detaches", ()):
            users[name] = set()


@pytest.mark.parametrize("moves", [False, True], ids=["plain", "moves"])
def test_no_calendar_can_lose_more_conferences_than_the_brake_lets_through(moves: bool) -> None:
    """Every step that lets go of a conference names it (``detaches``); over a whole seed, far
    fewer than the brake per calendar, so no delete is ever held and the oracle needs no notion
    of held deletes."""
    for seed in range(1, 101):
        lost: Counter[str] = Counter()
        for step in generate(seed, moves=moves).steps:
            lost[step.args.get("calendar", "")] += len(step.args.get("detaches", ()))
        assert max(lost.values()) < DELETE_BRAKE, f"seed {seed}: {lost}"
