"""In-memory fakes of the smoke's ports: a Calendar whose changes a fake confsync carries to a fake
conferencing system after a few polls, an enrolment, and readings."""

from __future__ import annotations

from collections import Counter
from typing import Any

from smoke.operations import Reading

__all__ = ["Clock", "FakeCalendar", "FakeConferencing", "FakeEnrolment", "FakeOperations"]


class Clock:
    """Monotonic seconds that move only when the runner sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class FakeConferencing:
    """Conferences by id; ``synced`` copies the pending state in after ``lag`` reads, unless the
    kind of change is in ``stuck`` (``attach``, ``move``, ``delete``)."""

    def __init__(self, *, lag: int = 2, stuck: frozenset[str] = frozenset()) -> None:
        self.conferences: dict[str, dict[str, Any]] = {}
        self.pending: dict[str, tuple[str, dict[str, Any], int]] = {}
        self.lag = lag
        self.stuck = stuck
        self.deleted_by_smoke: list[str] = []

    def create(self, owner: str) -> dict[str, Any]:
        conference_id = f"conf_{len(self.conferences) + 1}"
        self.conferences[conference_id] = {
            "id": conference_id,
            "joinUrl": f"https://meet.example/{conference_id}",
            "owner": owner,
            "revision": 0,
            "status": "active",
            "title": "",
            "start": None,
        }
        return dict(self.conferences[conference_id])

    def change(self, conference_id: str, kind: str, fields: dict[str, Any]) -> None:
        if kind not in self.stuck:
            self.pending[conference_id] = (kind, fields, self.lag)

    def get(self, conference_id: str) -> dict[str, Any]:
        if conference_id in self.pending:
            kind, fields, left = self.pending[conference_id]
            if left <= 0:
                conference = self.conferences[conference_id]
                conference.update(fields)
                conference["revision"] += 1
                del self.pending[conference_id]
            else:
                self.pending[conference_id] = (kind, fields, left - 1)
        return dict(self.conferences[conference_id])

    def delete(self, conference_id: str, revision: int) -> None:
        assert revision > self.conferences[conference_id]["revision"]
        self.conferences[conference_id]["status"] = "deleted"
        self.deleted_by_smoke.append(conference_id)


class FakeCalendar:
    """The test user's calendars; each event change is handed to ``conferencing`` as confsync
    would carry it. ``fail``: method names that raise."""

    def __init__(self, conferencing: FakeConferencing, fail: frozenset[str] = frozenset()) -> None:
        self.conferencing = conferencing
        self.fail = fail
        self.calendars: dict[str, dict[str, dict[str, Any]]] = {}
        self.calls: Counter[str] = Counter()

    def _call(self, name: str) -> None:
        self.calls[name] += 1
        if name in self.fail:
            raise RuntimeError(f"{name} refused")

    def create_scratch_calendar(self, summary: str) -> str:
        self._call("calendars.insert")
        calendar_id = f"scratch-{len(self.calendars) + 1}@group.calendar.example"
        self.calendars[calendar_id] = {}
        return calendar_id

    def delete_scratch_calendar(self, calendar_id: str) -> None:
        self._call("calendars.delete")
        del self.calendars[calendar_id]

    def insert_event(self, calendar_id: str, body: dict[str, Any]) -> dict[str, Any]:
        self._call("events.insert")
        event = {"id": f"event{len(self.calendars[calendar_id]) + 1}", **body}
        self.calendars[calendar_id][event["id"]] = event
        conference_id = body["conferenceData"]["conferenceId"]
        self.conferencing.change(
            conference_id, "attach", {"title": body["summary"], "start": body["start"]["dateTime"]}
        )
        return event

    def patch_event(self, calendar_id: str, event_id: str, body: dict[str, Any]) -> None:
        self._call("events.patch")
        event = self.calendars[calendar_id][event_id]
        event.update(body)
        conference_id = event["conferenceData"]["conferenceId"]
        self.conferencing.change(conference_id, "move", {"start": body["start"]["dateTime"]})

    def delete_event(self, calendar_id: str, event_id: str) -> None:
        self._call("events.delete")
        event = self.calendars[calendar_id].pop(event_id, None)
        if event is not None:
            conference_id = event["conferenceData"]["conferenceId"]
            self.conferencing.change(conference_id, "delete", {"status": "deleted"})


class FakeEnrolment:
    """Enrolled calendars; ``fail``: ``enroll`` or ``unenroll`` raises."""

    how = "fake"

    def __init__(self, fail: frozenset[str] = frozenset()) -> None:
        self.enrolled: set[str] = set()
        self.fail = fail

    def enroll(self, subject: str, calendar_id: str, timeout: float) -> None:
        if "enroll" in self.fail:
            raise RuntimeError("confsync enroll exited 1: refused")
        self.enrolled.add(calendar_id)

    def unenroll(self, subject: str, calendar_id: str) -> None:
        if "unenroll" in self.fail:
            raise RuntimeError("confsync unenroll exited 1: Pub/Sub refused")
        self.enrolled.discard(calendar_id)


class FakeOperations:
    """Fixed readings, or an error from each."""

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error

    def _reading(self, what: str) -> Reading:
        if self.error is not None:
            raise self.error
        return Reading(what, "ok", f"{what} fine")

    def dead_letter_backlog(self) -> Reading:
        return self._reading("dead-letter backlog")

    def alert_policies(self) -> Reading:
        return self._reading("alert policies")

    def scheduler_last_run(self) -> Reading:
        return self._reading("scheduler job")
