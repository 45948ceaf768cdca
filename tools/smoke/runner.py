"""The smoke's steps, their latencies, and the cleanup that runs whatever happened.

Steps, in order, each waiting (bounded) until the conferencing system shows the change:

1. a scratch secondary calendar of the test user is created;
2. it is enrolled (until active with a live channel and its first sync token);
3. a conference of the test user is created through the conferencing API and attached to a new
   event on the scratch calendar, until the first sync adopts it (the event's title on it);
4. the event is moved, until the conference shows the new start;
5. the event is deleted, until the conference is deleted (in production: the delete grace plus up
   to a tick interval).

A step that fails or times out ends the steps. Then, always (also after Ctrl-C), the cleanup:
unenrol (forgetting the records), delete the event, delete the conference unless confsync did,
delete the scratch calendar. Each part of the cleanup runs even when another failed, and any
part that failed is reported as left behind. The outcome is :attr:`SmokeOutcome.exit_status`:
0 when every step arrived and nothing was left behind, else 1.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from smoke.operations import Operations, Reading, read_all

__all__ = ["Calendar", "Conferencing", "Enrolment", "Smoke", "SmokeOutcome", "StepResult"]


class Calendar(Protocol):
    """What the smoke does in Calendar (:class:`smoke.calendar.CalendarApi`)."""

    def create_scratch_calendar(self, summary: str) -> str: ...
    def delete_scratch_calendar(self, calendar_id: str) -> None: ...
    def insert_event(self, calendar_id: str, body: dict[str, Any]) -> dict[str, Any]: ...
    def patch_event(self, calendar_id: str, event_id: str, body: dict[str, Any]) -> None: ...
    def delete_event(self, calendar_id: str, event_id: str) -> None: ...


class Conferencing(Protocol):
    """What the smoke does in the conferencing system (``smoke.conferencing.ConferencingApi``)."""

    def create(self, owner: str) -> dict[str, Any]: ...
    def get(self, conference_id: str) -> dict[str, Any]: ...
    def delete(self, conference_id: str, revision: int) -> None: ...


class Enrolment(Protocol):
    """Enrolling the scratch calendar (:class:`smoke.enrolment.CliEnrolment`)."""

    how: str

    def enroll(self, subject: str, calendar_id: str, timeout: float) -> None: ...
    def unenroll(self, subject: str, calendar_id: str) -> None: ...


class StepTimeoutError(RuntimeError):
    """The change did not reach the conferencing system in time."""


@dataclass(frozen=True, slots=True)
class StepResult:
    """One step: whether it arrived, in how long, and what happened."""

    label: str
    what: str
    arrived: bool
    latency_ms: float | None
    detail: str = ""


@dataclass(slots=True)
class SmokeOutcome:
    """Everything the report shows."""

    steps: list[StepResult] = field(default_factory=list)
    readings: list[Reading] = field(default_factory=list)
    cleanup: list[tuple[str, str]] = field(default_factory=list)  # (what, "done" or why not)
    planned: int = 5
    calendar_id: str | None = None  # the scratch calendar, once created
    conference_id: str | None = None  # the smoke's conference, once created

    @property
    def all_arrived(self) -> bool:
        return len(self.steps) == self.planned and all(s.arrived for s in self.steps)

    @property
    def left_behind(self) -> list[str]:
        return [what for what, result in self.cleanup if result != "done"]

    @property
    def exit_status(self) -> int:
        return 0 if self.all_arrived and not self.left_behind else 1


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds a step may take: enrolment, an edit, and the deletion (which waits out the delete
    grace and, in production, the next tick)."""

    enroll: float = 120.0
    change: float = 60.0
    delete: float = 600.0


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _same_instant(value: Any, expected: datetime) -> bool:
    if not isinstance(value, str) or "T" not in value:
        return False
    return datetime.fromisoformat(value.replace("Z", "+00:00")) == expected


class Smoke:
    """One smoke run for ``user`` (see the module docstring); ``say`` prints a line."""

    def __init__(
        self,
        *,
        user: str,
        calendar: Calendar,
        conferencing: Conferencing,
        enrolment: Enrolment,
        operations: Operations,
        solution_name: str,
        timeouts: Timeouts,
        say: Callable[[str], None],
        poll_seconds: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.user = user
        self.calendar = calendar
        self.conferencing = conferencing
        self.enrolment = enrolment
        self.operations = operations
        self.solution_name = solution_name
        self.timeouts = timeouts
        self.say = say
        self._poll = poll_seconds
        self._clock = clock
        self._sleep = sleep
        self.outcome = SmokeOutcome()
        self._calendar_id: str | None = None
        self._enrolled = False
        self._event_id: str | None = None
        self._conference_id: str | None = None
        self._conference_deleted = False

    # --- steps ------------------------------------------------------------------------------

    def run(self) -> SmokeOutcome:
        """Every step, the readings, then the cleanup (always)."""
        try:
            self._steps()
            self.outcome.readings = read_all(self.operations)
        finally:
            self._clean_up()
        return self.outcome

    def _record(self, label: str, what: str, act: Callable[[], float | None]) -> bool:
        started = self._clock()
        try:
            waited = act()
        except Exception as err:  # any failure of a step is its result
            result = StepResult(label, what, False, None, f"{type(err).__name__}: {err}"[:300])
        else:
            took = (self._clock() - started) if waited is None else waited
            result = StepResult(label, what, True, took * 1000)
        self.outcome.steps.append(result)
        shown = f"{result.latency_ms:.0f} ms" if result.latency_ms is not None else "FAILED"
        self.say(f"step {label}: {what}: {shown}{'  ' + result.detail if result.detail else ''}")
        return result.arrived

    def _wait(self, shows: Callable[[dict[str, Any]], bool], what: str, timeout: float) -> float:
        """Seconds until the conference ``shows`` the change; StepTimeoutError after ``timeout``.

        A read that fails (the system briefly unavailable) is tried again until the timeout, and
        the last failure is named when the change never showed."""
        assert self._conference_id is not None
        started = self._clock()
        failure = ""
        while True:
            try:
                if shows(self.conferencing.get(self._conference_id)):
                    return self._clock() - started
            except Exception as err:  # reported if the change never shows
                failure = f" (last read failed: {type(err).__name__}: {err})"
            if self._clock() - started > timeout:
                raise StepTimeoutError(f"{what} not shown after {timeout:g} s{failure}")
            self._sleep(self._poll)

    def _steps(self) -> None:
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=2)
        moved = start + timedelta(hours=2)
        title = f"confsync smoke {stamp}"
        if not self._record("1", "scratch calendar created", lambda: self._create_calendar(stamp)):
            return
        if not self._record("2", f"enrolled ({self.enrolment.how})", self._enroll):
            return
        if not self._record(
            "3", "conference attached to a new event; adopted", lambda: self._attach(title, start)
        ):
            return
        if not self._record("4", "event moved; conference moved", lambda: self._move(moved)):
            return
        self._record("5", "event deleted; conference deleted", self._delete)

    def _create_calendar(self, stamp: str) -> None:
        self._calendar_id = self.calendar.create_scratch_calendar(f"confsync smoke {stamp}")
        self.outcome.calendar_id = self._calendar_id
        self.say(f"scratch calendar {self._calendar_id}")

    def _enroll(self) -> None:
        assert self._calendar_id is not None
        self._enrolled = True  # from the first attempt on, the cleanup unenrols
        self.enrolment.enroll(self.user, self._calendar_id, self.timeouts.enroll)

    def _attach(self, title: str, start: datetime) -> float:
        assert self._calendar_id is not None
        conference = self.conferencing.create(self.user)
        self._conference_id = str(conference["id"])
        self.outcome.conference_id = self._conference_id
        self.say(f"conference {self._conference_id}")
        event = self.calendar.insert_event(
            self._calendar_id,
            {
                "summary": title,
                "start": {"dateTime": _iso(start)},
                "end": {"dateTime": _iso(start + timedelta(minutes=30))},
                "conferenceData": {
                    "conferenceId": self._conference_id,
                    "conferenceSolution": {"key": {"type": "addOn"}, "name": self.solution_name},
                    "entryPoints": [{"entryPointType": "video", "uri": conference["joinUrl"]}],
                },
            },
        )
        self._event_id = str(event["id"])
        return self._wait(
            lambda c: c.get("title") == title and int(c.get("revision", 0)) > 0,
            "the adoption",
            self.timeouts.change,
        )

    def _move(self, moved: datetime) -> float:
        assert self._calendar_id is not None
        assert self._event_id is not None
        self.calendar.patch_event(
            self._calendar_id,
            self._event_id,
            {
                "start": {"dateTime": _iso(moved)},
                "end": {"dateTime": _iso(moved + timedelta(minutes=30))},
            },
        )
        return self._wait(
            lambda c: _same_instant(c.get("start"), moved), "the new start", self.timeouts.change
        )

    def _delete(self) -> float:
        assert self._calendar_id is not None
        assert self._event_id is not None
        self.calendar.delete_event(self._calendar_id, self._event_id)
        self._event_id = None
        waited = self._wait(
            lambda c: c.get("status") == "deleted", "the deletion", self.timeouts.delete
        )
        self._conference_deleted = True
        return waited

    # --- cleanup ----------------------------------------------------------------------------

    def _clean_up(self) -> None:
        calendar_id = self._calendar_id
        if calendar_id is not None and self._enrolled:
            self._undo("unenrol", lambda: self.enrolment.unenroll(self.user, calendar_id))
        event_id = self._event_id
        if calendar_id is not None and event_id is not None:
            self._undo(
                "delete the event", lambda: self.calendar.delete_event(calendar_id, event_id)
            )
        if self._conference_id is not None and not self._conference_deleted:
            self._undo("delete the conference", self._delete_conference)
        if calendar_id is not None:
            self._undo(
                "delete the scratch calendar",
                lambda: self.calendar.delete_scratch_calendar(calendar_id),
            )

    def _delete_conference(self) -> None:
        assert self._conference_id is not None
        current = self.conferencing.get(self._conference_id)
        if current.get("status") != "deleted":
            self.conferencing.delete(self._conference_id, int(current.get("revision", 0)) + 1)

    def _undo(self, what: str, act: Callable[[], None]) -> None:
        try:
            act()
        except Exception as err:  # every part of the cleanup is attempted
            result = f"FAILED: {type(err).__name__}: {err}"[:300]
        else:
            result = "done"
        self.outcome.cleanup.append((what, result))
        self.say(f"cleanup: {what}: {result}")
