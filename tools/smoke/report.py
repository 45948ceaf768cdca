"""The smoke's summary: each step's latency, the readings, the Calendar calls and the cleanup."""

from __future__ import annotations

from collections.abc import Mapping

from smoke.runner import SmokeOutcome

__all__ = ["summary"]


def summary(
    outcome: SmokeOutcome,
    calendar_calls: Mapping[str, int],
    stack_calls: Mapping[str, int] | None = None,
) -> list[str]:
    """The lines printed at the end of a run (``calendar_calls``: the smoke's own, by method;
    ``stack_calls``: locally, every call the Calendar emulator served meanwhile, confsync's too)."""
    lines = ["", "steps (latency: from the Calendar change until the conference showed it)"]
    width = max([len(s.what) for s in outcome.steps] + [4])
    for step in outcome.steps:
        latency = f"{step.latency_ms:.0f} ms" if step.latency_ms is not None else "-"
        verdict = "arrived" if step.arrived else "FAILED"
        lines.append(f"  {step.label}  {step.what:<{width}}  {latency:>10}  {verdict}")
    for label in range(len(outcome.steps) + 1, outcome.planned + 1):
        lines.append(f"  {label}  {'(not run)':<{width}}  {'-':>10}  not run")
    lines.append("")
    lines.append("readings")
    for reading in outcome.readings or []:
        lines.append(f"  {reading.what:<20} {reading.state:<15} {reading.detail}")
    if not outcome.readings:
        lines.append("  (not read: a step failed)")
    total = sum(calendar_calls.values())
    lines.append("")
    lines.append(f"Calendar calls made by the smoke: {total}")
    for method, count in sorted(calendar_calls.items()):
        lines.append(f"  {method:<28} {count}")
    if stack_calls is not None:
        lines.append(
            f"Calendar calls the emulator served meanwhile (confsync's and the smoke's): "
            f"{sum(stack_calls.values())}"
        )
        for method, count in sorted(stack_calls.items()):
            lines.append(f"  {method:<28} {count}")
    lines.append("")
    lines.append("cleanup")
    for what, result in outcome.cleanup:
        lines.append(f"  {what:<28} {result}")
    left = outcome.left_behind
    lines.append("")
    if outcome.exit_status == 0:
        lines.append("smoke passed: every step arrived, nothing left behind")
    else:
        failed = [s.label for s in outcome.steps if not s.arrived]
        why = []
        if not outcome.all_arrived:
            why.append(f"step {', '.join(failed) or 'missing'} did not arrive")
        if left:
            why.append(f"left behind: {'; '.join(left)}")
        lines.append(f"smoke FAILED: {'; '.join(why)}")
    return lines
