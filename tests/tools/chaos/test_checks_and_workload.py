"""The checks besides the oracle, and the workload's promises (reproducible, always valid)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from chaos.checks import classify_dead_letters, intent_violations, revision_violations
from chaos.workload import EventModel, generate


def _entry(
    method: str, conference_id: str, revision: int, outcome: str = "applied"
) -> dict[str, object]:
    return {
        "method": method,
        "conferenceId": conference_id,
        "revision": revision,
        "outcome": outcome,
    }


def test_revisions_in_order_pass_and_a_stale_answer_is_not_a_violation() -> None:
    log = [
        _entry("PUT", "c1", 10),
        _entry("PUT", "c1", 5, outcome="stale"),
        _entry("PUT", "c1", 12),
        _entry("DELETE", "c1", 13),
    ]

    assert revision_violations(log, [{"id": "c1", "revision": 13}]) == []


def test_an_older_revision_applied_later_is_reported() -> None:
    log = [_entry("PUT", "c1", 12), _entry("PUT", "c1", 10)]

    problems = revision_violations(log, [{"id": "c1", "revision": 10}])

    assert "c1: PUT r10 applied after r12 (stale)" in problems


def test_an_update_applied_after_the_delete_is_reported() -> None:
    log = [_entry("DELETE", "c1", 12), _entry("PUT", "c1", 14)]

    assert any("after the delete" in p for p in revision_violations(log, []))


def test_a_conference_that_does_not_end_at_its_last_applied_revision_is_reported() -> None:
    problems = revision_violations([_entry("PUT", "c1", 12)], [{"id": "c1", "revision": 11}])

    assert problems == ["c1: ends at r11, last applied r12"]


def test_dead_letters_published_after_the_storm_are_unexplained() -> None:
    cleared = datetime(2027, 1, 1, 12, 0, tzinfo=UTC)
    during = {"data": json.dumps({"calendarKey": "k", "notifiedAt": "2027-01-01T11:59:00+00:00"})}
    after = {"data": json.dumps({"calendarKey": "k", "notifiedAt": "2027-01-01T12:00:05+00:00"})}

    found = classify_dead_letters([during, after, {"data": "garbage"}], cleared)

    assert len(found.explained) == 1
    assert len(found.unexplained) == 2


def test_an_overwritten_user_edit_is_reported() -> None:
    models = {"e1": EventModel("e1", "cal0", "c1", title="mine")}
    listing = {
        "x@example.com": [
            {"id": "id1", "status": "confirmed", "summary": "older", "conferenceData": {}}
        ]
    }

    problems = intent_violations(
        models, {"e1": "id1"}, {"c1": "conf_1"}, listing, {"cal0": "x@example.com"}
    )

    assert problems == [
        "e1: title 'older', its user wrote 'mine'",
        "e1: conference None, expected conf_1",
    ]


def test_the_same_seed_gives_the_same_steps_and_another_seed_others() -> None:
    first, again, other = generate(7), generate(7), generate(8)

    assert [str(s) for s in first.steps] == [str(s) for s in again.steps]
    assert [str(s) for s in first.steps] != [str(s) for s in other.steps]


@pytest.mark.parametrize("seed", range(1, 31))
def test_every_step_refers_to_something_that_exists(seed: int) -> None:
    """Edits follow creation and precede deletion; a shared conference still has a live user."""
    workload = generate(seed)
    live: set[str] = set()
    users: dict[str, set[str]] = {}
    enrolled: set[str] = set()
    for step in workload.steps:
        args = step.args
        if step.kind == "enroll":
            enrolled.add(args["calendar"])
        elif step.kind == "create":
            conference = args.get("conference")
            if conference in users and not args.get("foreign"):
                assert users[conference], f"seed {seed}: {step} reuses a conference with no user"
            live.add(args["event"])
            if conference and not args.get("foreign"):
                users.setdefault(conference, set()).add(args["event"])
        elif step.kind in {"edit", "instance", "delete", "recreate", "write-back-race"}:
            assert args["event"] in live, f"seed {seed}: {step} on an event that is gone"
        if step.kind in {"delete", "recreate", "replace-conference", "remove-conference"}:
            for events in users.values():
                events.discard(args["event"])
        if step.kind in {"delete", "recreate"}:
            live.discard(args["event"])
        if step.kind == "recreate":
            live.add(args["new_event"])
            users.setdefault(args["new_conference"], set()).add(args["new_event"])
        if step.kind in {"replace-conference", "add-conference"}:
            assert args["conference"] not in users, f"seed {seed}: {step} reuses a conference"
            users[args["conference"]] = {args["event"]}
        if step.is_fault:
            assert enrolled == set(workload.calendars), f"seed {seed}: fault before enrollment"
