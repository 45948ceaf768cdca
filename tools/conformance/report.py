"""What a run tells a maintainer: the UNCONFIRMED points of the reference that the target
confirmed or contradicted (a Markdown table for the emulator's README), the checks skipped and
what would enable them, and the Calendar calls the run made.

A check tied to an UNCONFIRMED point asserts what the emulator does. Against Google, a pass means
Google **confirmed** the emulator's choice, a failed assertion that Google **contradicted** it;
a check skipped, or stopped by anything other than its assertion, is **not run**.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

__all__ = ["Outcome", "PointResult", "calls_lines", "outcome_of", "unconfirmed_table"]

Outcome = Literal["confirmed", "contradicted", "not run"]


@dataclass(frozen=True, slots=True)
class PointResult:
    """One UNCONFIRMED point and what the target did."""

    section: str
    point: str
    emulator: str
    outcome: Outcome
    check: str
    detail: str = ""


def outcome_of(passed: bool, assertion_failed: bool) -> Outcome:
    if passed:
        return "confirmed"
    return "contradicted" if assertion_failed else "not run"


def _section_key(section: str) -> tuple[int, ...]:
    """``1.10`` after ``1.9``; a point the reference does not list (the emulator README's own
    choices, section ``-``) last."""
    parts = section.split(".")
    if not all(part.isdigit() for part in parts):
        return (10_000,)
    return tuple(int(part) for part in parts)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def unconfirmed_table(results: Iterable[PointResult], target: str) -> str:
    """The Markdown table, one row per point, in the reference's order."""
    rows = sorted(results, key=lambda r: (_section_key(r.section), r.point))
    lines = [
        f"| reference | point | what the emulator does | what {target} did | check |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        did = row.outcome + (f": {_cell(row.detail)}" if row.detail else "")
        lines.append(
            f"| {row.section} | {_cell(row.point)} | {_cell(row.emulator)} | {did} "
            f"| `{row.check}` |"
        )
    return "\n".join(lines)


def calls_lines(calls: Counter[str]) -> list[str]:
    """``N Calendar calls`` and one line per method, most used first."""
    lines = [f"{sum(calls.values())} Calendar calls"]
    lines.extend(f"  {method:<22} {count}" for method, count in calls.most_common())
    return lines
