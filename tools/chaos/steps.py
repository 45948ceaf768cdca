"""One step of a chaos run: a user action, an operator action or a fault, as plain data.

Steps name calendars, events and conferences by logical names (``cal0``, ``e3``, ``c5``) so a
seed's trace reads the same on every replay; the executor maps them to real ids at run time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Step"]


@dataclass(frozen=True)
class Step:
    """``kind`` says what happens; ``args`` carries its parameters (JSON-compatible)."""

    kind: str
    args: dict[str, Any] = field(default_factory=dict)

    @property
    def is_fault(self) -> bool:
        """Faults and operator crashes, as opposed to what users do."""
        return self.kind in {"calendar-fault", "conferencing-fault", "invalidate", "kill-sync"}

    def names(self) -> set[str]:
        """The logical event and conference names this step touches."""
        keys = ("event", "new_event", "conference", "new_conference")
        return {str(self.args[key]) for key in keys if self.args.get(key)}

    def __str__(self) -> str:
        shown = " ".join(f"{key}={value!r}" for key, value in self.args.items())
        return f"{self.kind} {shown}".rstrip()
