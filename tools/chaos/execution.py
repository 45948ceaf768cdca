"""What a chaos run produced, for the oracle and the checks; and how the harness retries a call.

:class:`Execution` holds the real ids behind a workload's logical names, which conferences were
ever attached to an event of ours, and what the ownership check needs: the ``updated`` instant
(ms, the revision confsync would send) of every write to an event of a user who is not the
conference's owner, of every other write, and when each conference lost its owner's last event.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import requests

from chaos.steps import Step

__all__ = ["CreatedEvent", "Execution", "HarnessError", "retrying", "updated_ms"]

_T = TypeVar("_T")


class HarnessError(RuntimeError):
    """The suite itself could not do a step (not a finding about confsync)."""


@dataclass
class CreatedEvent:
    """What the executor knows about one event it created."""

    id: str
    calendar_id: str
    body: dict[str, Any]
    series: dict[str, Any] | None = None
    local_start: datetime | None = None  # series: naive local start in its zone


@dataclass
class Execution:
    """The real ids behind a workload's names, and what the oracle needs to know."""

    calendar_ids: dict[str, str]
    users: dict[str, str] = field(default_factory=dict)  # real calendar id -> real subject
    events: dict[str, CreatedEvent] = field(default_factory=dict)
    conferences: dict[str, dict[str, Any]] = field(default_factory=dict)
    attached: set[str] = field(default_factory=set)  # real ids ever on an event of ours
    rotated: dict[str, datetime] = field(default_factory=dict)  # conference id -> when
    races: int = 0  # write-back races where the second edit met a running sync
    timeline: list[tuple[float, Step]] = field(default_factory=list)
    faults_cleared_at: float = 0.0
    owner_writes: set[int] = field(default_factory=set)  # updated (ms) of owners' writes
    copy_writes: dict[str, dict[int, str]] = field(default_factory=dict)  # id -> ms -> what
    detached_at: dict[str, datetime] = field(default_factory=dict)  # id -> owner let go

    def real_conferences(self) -> set[str]:
        """Every conference this run created (ours, decoys and foreign ones)."""
        return {str(c["id"]) for c in self.conferences.values()}

    def wrote(self, event: dict[str, Any], *, copy: str | None = None) -> None:
        """Remember the ``updated`` of a write's answer: an owner's, or ``copy`` (a non-owner's
        event carrying a conference, described for the report)."""
        when = updated_ms(event)
        if when is None:
            return
        conference_id = (event.get("conferenceData") or {}).get("conferenceId")
        if copy is not None and isinstance(conference_id, str):
            self.copy_writes.setdefault(conference_id, {})[when] = copy
        else:
            self.owner_writes.add(when)


def updated_ms(event: dict[str, Any]) -> int | None:
    """An event's ``updated`` as epoch milliseconds (None when absent or unreadable)."""
    value = event.get("updated")
    if not isinstance(value, str):
        return None
    try:
        return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return None


def retrying(call: Callable[[], _T], what: str) -> _T:
    """``call``, retried over injected Calendar faults (429, rate-limit 403, 5xx, timeouts)."""
    for attempt in range(12):
        try:
            return call()
        except requests.HTTPError as err:
            status = err.response.status_code if err.response is not None else 0
            if status not in (403, 429) and status < 500:
                raise HarnessError(f"{what}: {err}") from err
        except requests.ConnectionError:
            pass
        except requests.Timeout:
            pass
        time.sleep(min(0.05 * 2**attempt, 1.0))
    raise HarnessError(f"{what}: still failing after retries")
