"""One seed end to end: workload under faults, a quiet period with sweeps, then every check.

After the last step every fault rule is removed and the suite acts as Cloud Scheduler: a tick
every second (the stack's sweep interval is 2 s), until the conferencing system has equalled the
oracle on two reads in a row, or the quiet period runs out. Then the request log, the dead-letter
subscription and the Calendar itself are checked. A seed is clean when the oracle, the revision
check, the dead letters and the users' edits all hold; stale join URLs are reported as notes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from chaos.checks import (
    classify_dead_letters,
    intent_violations,
    outcome_counts,
    revision_violations,
    stale_join_urls,
)
from chaos.execute import Execution, execute
from chaos.nonowner import non_owner_requests
from chaos.oracle import (
    DEFAULT_SOLUTION_NAMES,
    Mismatch,
    OracleInput,
    compare,
    expected_conferences,
)
from chaos.stack import ChaosStack
from chaos.workload import Workload, generate

__all__ = ["SeedResult", "run_seed", "run_workload"]

_TICK_EVERY_S = 1.0


@dataclass
class SeedResult:
    """What one seed found."""

    seed: int
    workload: Workload
    wall_s: float = 0.0
    converge_s: float | None = None
    mismatches: list[Mismatch] = field(default_factory=list)
    revisions: list[str] = field(default_factory=list)
    dead_explained: list[str] = field(default_factory=list)
    dead_unexplained: list[str] = field(default_factory=list)
    intent: list[str] = field(default_factory=list)
    non_owner: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)
    provider_log: list[dict[str, Any]] = field(default_factory=list)
    execution: Execution | None = None
    error: str | None = None

    @property
    def clean(self) -> bool:
        """Converged, with every check holding."""
        return self.error is None and not (
            self.mismatches
            or self.revisions
            or self.dead_unexplained
            or self.intent
            or self.non_owner
        )


def _world(stack: ChaosStack, run: Execution) -> tuple[OracleInput, dict[str, list[Any]]]:
    listings: dict[str, list[Any]] = {
        cid: stack.list_events(cid, show_deleted=True) for cid in run.calendar_ids.values()
    }
    mine = run.real_conferences()
    conferences = [c for c in stack.conferences() if c["id"] in mine]
    world = OracleInput(
        events_by_calendar=listings,
        conferences=conferences,
        solution_names=DEFAULT_SOLUTION_NAMES,
        attached=frozenset(run.attached),
        users=run.users,
    )
    return world, listings


def _converge(stack: ChaosStack, run: Execution, timeout: float) -> tuple[float | None, list[Any]]:
    """Tick until the oracle holds twice in a row; (seconds it took or None, last mismatches)."""
    started = time.monotonic()
    agreed = 0
    mismatches: list[Any] = []
    while time.monotonic() - started < timeout:
        stack.tick()
        time.sleep(_TICK_EVERY_S)
        world, _ = _world(stack, run)
        mismatches = compare(world)
        agreed = 0 if mismatches else agreed + 1
        if agreed >= 2:
            return time.monotonic() - started, []
    return None, mismatches


def run_seed(
    stack: ChaosStack,
    seed: int,
    *,
    steps: int,
    calendars: int,
    quiet_timeout: float,
    say: Callable[[str], None],
    moves: bool = True,
) -> SeedResult:
    """Run one seed on ``stack`` (shared across seeds: every id is seed-specific)."""
    workload = generate(seed, steps=steps, calendars=calendars, moves=moves)
    return run_workload(stack, workload, quiet_timeout=quiet_timeout, say=say)


def run_workload(
    stack: ChaosStack, workload: Workload, *, quiet_timeout: float, say: Callable[[str], None]
) -> SeedResult:
    """Run ``workload`` (its calendar ids derive from its seed), then every check."""
    started = time.monotonic()
    result = SeedResult(workload.seed, workload)
    stack.clear_faults()
    stack.reset_provider_requests()
    stack.pull_dead_letters()  # leftovers of an earlier seed are not this seed's
    try:
        run = execute(stack, workload, say=say)
    finally:
        stack.clear_faults()
        cleared = datetime.now(UTC)
    result.execution = run
    result.converge_s, result.mismatches = _converge(stack, run, quiet_timeout)
    world, listings = _world(stack, run)
    if result.converge_s is not None:
        result.mismatches = compare(world)
    mine = run.real_conferences()
    log = [e for e in stack.provider_requests() if e["conferenceId"] in mine]
    result.provider_log = log
    result.revisions = revision_violations(log, world.conferences)
    result.non_owner = non_owner_requests(
        log, run.copy_writes, run.owner_writes, run.detached_at, set(expected_conferences(world))
    )
    dead = classify_dead_letters(stack.pull_dead_letters(), cleared)
    result.dead_explained, result.dead_unexplained = dead.explained, dead.unexplained
    event_ids = {name: event.id for name, event in run.events.items()}
    conference_ids = {name: str(c["id"]) for name, c in run.conferences.items()}
    result.intent = intent_violations(
        workload.events, event_ids, conference_ids, listings, run.calendar_ids
    )
    result.notes = stale_join_urls(run.rotated, world.conferences, listings, log, run.users)
    result.stats = {
        "steps": len(workload.steps),
        "faults": sum(1 for s in workload.steps if s.is_fault),
        "kills": sum(1 for s in workload.steps if s.kind == "kill-sync"),
        "races": run.races,
        "copies": sum(1 for s in workload.steps if s.kind in {"copy", "move"}),
        "conferences": len(mine),
        "provider": outcome_counts(log),
    }
    result.wall_s = time.monotonic() - started
    return result
