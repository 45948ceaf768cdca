"""The chaos suite on a real local stack: a fixed seed converges; a series keeps its exceptions.

The whole stack (emulators, the three functions, Pub/Sub wiring) runs on free ports in a temporary
directory. One seed of the random workload, faults included (Calendar errors and latency, sync
tokens invalidated, notifications dropped, duplicated and delayed, conferencing errors and
timeouts, the sync process killed), must converge to the oracle with every check holding.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chaos.faults import CHAOS_SETTINGS
from chaos.report import trace_lines
from chaos.run import run_seed, run_workload
from chaos.stack import ChaosStack
from chaos.steps import Step
from chaos.workload import EventModel, Workload
from devstack.demo import private_stack
from devstack.sdk import MissingPrerequisiteError, find_jars

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

SEED = 1
STEPS = 20


@pytest.fixture(scope="module", name="stack")
def stack_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChaosStack]:
    try:
        find_jars()
    except MissingPrerequisiteError as err:
        pytest.skip(f"gcloud emulators not installed: {err}")
    run_dir: Path = tmp_path_factory.mktemp("chaos-stack")
    with private_stack(
        run_dir, project="confsync-chaos-test", say=lambda _line: None, overrides=CHAOS_SETTINGS
    ) as client:
        yield ChaosStack(client.env, run_dir)


def test_a_fixed_seed_converges_under_faults(stack: ChaosStack) -> None:
    result = run_seed(stack, SEED, steps=STEPS, calendars=2, quiet_timeout=60, say=print)

    assert result.stats["faults"] > 0
    assert result.clean, "\n".join(trace_lines(result, full=True))


def _series_then_conference(replace: bool) -> Workload:
    """A weekly series whose occurrence is renamed, and only then gets (another) conference."""
    seed = 9002 if replace else 9001
    series = {"freq": "WEEKLY", "count": 4, "zone": "Europe/Berlin"}
    create: dict[str, Any] = {
        "calendar": "cal0",
        "event": "e1",
        "conference": "c1" if replace else None,
        "foreign": False,
        "title": "t1",
        "day": 5,
        "hour": 9,
        "minutes": 30,
        "attendees": [],
        "series": series,
    }
    steps = [
        Step("enroll", {"calendar": "cal0"}),
        Step("create", create),
        Step(
            "instance",
            {"calendar": "cal0", "event": "e1", "index": 1, "action": "rename", "title": "t2"},
        ),
        Step("pause", {"ms": 2000}),  # the sync sees the renamed occurrence first
        Step(
            "replace-conference" if replace else "add-conference",
            {"calendar": "cal0", "event": "e1", "conference": "c2"},
        ),
    ]
    model = EventModel("e1", "cal0", "c2", series=True, title="t1", count=4)
    return Workload(seed, ["cal0"], steps, {"e1": model}, decoys=[])


@pytest.mark.parametrize("replace", [False, True], ids=["conference-added", "conference-replaced"])
def test_a_series_keeps_its_changed_occurrences_when_its_conference_changes(
    stack: ChaosStack, replace: bool
) -> None:
    result = run_workload(stack, _series_then_conference(replace), quiet_timeout=12, say=print)

    assert result.clean, "\n".join(trace_lines(result, full=True))


def _copied_by_another_user() -> Workload:
    """Alice's meeting invites Bob and is copied by Carol, who renames and deletes her copy; Bob
    answers and then deletes his invitation; Alice renames her meeting."""
    create: dict[str, Any] = {
        "calendar": "cal0",
        "event": "e1",
        "conference": "c1",
        "foreign": False,
        "title": "t1",
        "day": 3,
        "hour": 10,
        "minutes": 30,
        "attendees": ["cal1", "guest0@example.com"],
    }
    copy = {"calendar": "cal2", "event": "e2", "conference": "c1", "title": "t2"}
    invitation = {"calendar": "cal1", "event": "e1", "organizer": "cal0"}
    steps = [
        *(Step("enroll", {"calendar": c}) for c in ("cal0", "cal1", "cal2")),
        Step("create", create),
        Step("pause", {"ms": 1500}),
        Step("copy", {**copy, "day": 4, "hour": 9, "minutes": 60}),
        Step("pause", {"ms": 1500}),
        Step("copy-edit", {"calendar": "cal2", "event": "e2", "title": "t3"}),
        Step("answer", {**invitation, "response": "accepted"}),
        Step("edit", {"calendar": "cal0", "event": "e1", "title": "t4"}),
        Step("pause", {"ms": 1500}),
        Step("copy-delete", {"calendar": "cal2", "event": "e2"}),
        Step("delete-copy", invitation),
    ]
    models = {
        "e1": EventModel("e1", "cal0", "c1", title="t4"),
        "e2": EventModel("e2", "cal2", "c1", title="t3", live=False, copied=True),
    }
    return Workload(9003, ["cal0", "cal1", "cal2"], steps, models, decoys=[])


def test_copies_and_invitations_send_nothing_and_revisions_are_the_owners_writes(
    stack: ChaosStack,
) -> None:
    result = run_workload(stack, _copied_by_another_user(), quiet_timeout=20, say=print)

    assert result.clean, "\n".join(trace_lines(result, full=True))
    run = result.execution
    assert run is not None
    conference_id = str(run.conferences["c1"]["id"])
    assert len(run.copy_writes[conference_id]) == 2  # the copy's insert and its rename
    applied = [
        e["revision"]
        for e in stack.provider_requests(conference_id)
        if e["method"] == "PUT" and e["outcome"] == "applied"
    ]
    assert applied, "the owner's meeting was never adopted"
    assert set(applied) <= run.owner_writes  # a PUT's revision is the updated of a write
