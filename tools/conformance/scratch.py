"""The run's scratch calendars: made with ``calendars.insert``, deleted with
``calendars.delete`` when the run ends, whatever happened in between.

The suite touches nothing but these calendars (and, for checks that need a second user, the
invitation copies Google itself puts on that user's calendar). Each is named
``confsync conformance <run id>`` so that one left behind by a killed run is easy to recognise.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime

from .target import CalendarTarget, path

__all__ = ["SUMMARY_PREFIX", "ScratchCalendars", "ScratchError"]

SUMMARY_PREFIX = "confsync conformance"


class ScratchError(RuntimeError):
    """A scratch calendar could not be made or deleted."""


@dataclass
class ScratchCalendars:
    """Scratch calendars of one run, made as the target's user."""

    target: CalendarTarget
    run_id: str = field(
        default_factory=lambda: datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ-") + secrets.token_hex(3)
    )
    made: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)

    def make(self, role: str = "main") -> str:
        """A new secondary calendar (its id); recorded for deletion before it is used."""
        answer = self.target.call(
            "calendars.insert",
            "POST",
            "calendars",
            body={"summary": f"{SUMMARY_PREFIX} {self.run_id} {role}", "timeZone": "UTC"},
        )
        if answer.status != 200 or not isinstance(answer.get("id"), str):
            raise ScratchError(f"calendars.insert answered {answer.status}: {answer.body}")
        calendar_id = str(answer["id"])
        self.made.append(calendar_id)
        return calendar_id

    def delete_all(self) -> list[str]:
        """Delete every calendar made (newest first); answers the ids that could not be
        deleted (also kept in ``left``). One already gone (404 or 410) counts as deleted."""
        for calendar_id in reversed(self.made):
            if calendar_id in self.deleted:
                continue
            try:
                answer = self.target.call(
                    "calendars.delete", "DELETE", path("calendars", calendar_id)
                )
                status = answer.status
            except OSError:
                status = 0
            if status in (200, 204, 404, 410):
                self.deleted.append(calendar_id)
            else:
                self.left.append(calendar_id)
        return list(self.left)
