"""How a seed's result is printed: one line per seed, and on failure a trace to replay it.

The trace is minimal but sufficient: every fault step, and the user steps that touched the
events and conferences involved in a failure (all of them with ``--trace``); plus the diff. The
seed alone replays it: ``python -m chaos --seed N --trace``.
"""

from __future__ import annotations

from chaos.checks import provider_history
from chaos.run import SeedResult
from chaos.steps import Step

__all__ = ["seed_line", "trace_lines"]


def seed_line(result: SeedResult) -> str:
    """``seed 3: clean (41 steps, 8 faults, converged 4.1 s after the storm, 52.3 s)``."""
    stats = result.stats
    shape = (
        f"{stats.get('steps', 0)} steps, {stats.get('faults', 0)} faults, "
        f"{stats.get('kills', 0)} sync kills, {stats.get('races', 0)} write-back races, "
        f"{stats.get('copies', 0)} copies and moves"
    )
    if result.error is not None:
        return f"seed {result.seed}: ERROR (harness) {result.error}"
    converged = (
        f"converged {result.converge_s:.1f} s after the storm"
        if result.converge_s is not None
        else "did NOT converge"
    )
    verdict = "clean" if result.clean else "FAILED"
    notes = f", {len(result.notes)} notes" if result.notes else ""
    return f"seed {result.seed}: {verdict} ({shape}; {converged}; {result.wall_s:.1f} s{notes})"


def _involved(result: SeedResult) -> set[str]:
    """Logical names of the conferences and events behind the failures."""
    run = result.execution
    if run is None:
        return set()
    by_real = {str(c["id"]): name for name, c in run.conferences.items()}
    names = {by_real[m.conference_id] for m in result.mismatches if m.conference_id in by_real}
    for line in result.revisions + result.non_owner:
        conference_id = line.split(":", 1)[0]
        if conference_id in by_real:
            names.add(by_real[conference_id])
    names |= {line.split(":", 1)[0] for line in result.intent}
    for step in result.workload.steps:  # events that ever carried an involved conference
        if names & step.names():
            names |= step.names()
    return names


def trace_lines(result: SeedResult, *, full: bool) -> list[str]:
    """The steps (all, or the faults and the involved ones) and every finding."""
    run = result.execution
    involved = _involved(result)
    lines = [f"replay: python -m chaos --seed {result.seed} --trace"]
    if run is not None:
        calendars = ", ".join(f"{name}={real}" for name, real in run.calendar_ids.items())
        lines.append(f"calendars: {calendars}")
        conferences = ", ".join(
            f"{name}={c['id']}" for name, c in sorted(run.conferences.items()) if name in involved
        )
        if conferences:
            lines.append(f"conferences: {conferences}")
    skipped = 0
    for number, step in enumerate(result.workload.steps, 1):
        mark = "*" if involved & step.names() else " "
        if full or step.is_fault or mark == "*" or step.kind == "enroll":
            lines.append(f"  {mark}{number:>4} {_show(step)}")
        else:
            skipped += 1
    if skipped:
        lines.append(f"  ({skipped} other steps not shown; --trace shows every step)")
    for mismatch in result.mismatches:
        lines.append(f"  oracle: {mismatch}")
        history = provider_history(result.provider_log, mismatch.conference_id)
        lines += [f"    provider: {line}" for line in history]
    lines += [f"  revision: {line}" for line in result.revisions]
    lines += [f"  dead letter (unexplained): {line}" for line in result.dead_unexplained]
    lines += [f"  user edit lost: {line}" for line in result.intent]
    lines += [f"  non-owner request: {line}" for line in result.non_owner]
    lines += [f"  note: {line}" for line in result.notes]
    if result.dead_explained:
        lines.append(f"  dead letters explained by the storm: {len(result.dead_explained)}")
    if result.stats.get("provider"):
        shown = ", ".join(f"{k} {v}" for k, v in sorted(result.stats["provider"].items()))
        lines.append(f"  provider log: {shown}")
    return lines


def _show(step: Step) -> str:
    return str(step)
