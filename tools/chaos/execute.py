"""Runs a workload's steps against a stack, as the user, the add-on and the operator would.

User actions go through the Calendar API; the add-on creates conferences through the
conferencing system; enrollment goes through the ``confsync`` command line; faults go through the
emulators' admin APIs (:func:`chaos.faults.apply_fault`). A user's request that meets an injected
Calendar fault is retried, as a user's client would, so the user's intent always lands.

What the run produced (the real ids behind the logical names, which conferences were ever attached
to an event of ours) is returned as an :class:`Execution` for the oracle and the checks.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import requests

from chaos.faults import apply_fault
from chaos.stack import ChaosStack
from chaos.steps import Step
from chaos.workload import Workload

__all__ = ["FOREIGN_SOLUTION", "SOLUTION", "Execution", "HarnessError", "execute"]

SOLUTION = "My Web Conference"
FOREIGN_SOLUTION = "Other Video"  # an add-on conference that is not ours: never touched
_RACE_WAIT_S = 2.0
_T = TypeVar("_T")


class HarnessError(RuntimeError):
    """The suite itself could not do a step (not a finding about confsync)."""


@dataclass
class _Event:
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
    events: dict[str, _Event] = field(default_factory=dict)
    conferences: dict[str, dict[str, Any]] = field(default_factory=dict)
    attached: set[str] = field(default_factory=set)  # real ids ever on an event of ours
    rotated: dict[str, datetime] = field(default_factory=dict)  # conference id -> when
    races: int = 0  # write-back races where the second edit met a running sync
    timeline: list[tuple[float, Step]] = field(default_factory=list)
    faults_cleared_at: float = 0.0

    def real_conferences(self) -> set[str]:
        """Every conference this run created (ours, decoys and foreign ones)."""
        return {str(c["id"]) for c in self.conferences.values()}


def _retrying(call: Callable[[], _T], what: str) -> _T:
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


def _z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Executor:
    def __init__(self, stack: ChaosStack, workload: Workload, *, say: Callable[[str], None]):
        self.stack = stack
        self.workload = workload
        self.say = say
        self.base = datetime.now(UTC).date() + timedelta(days=2)
        prefix = f"chaos-s{workload.seed}"
        self.run = Execution({c: f"{prefix}-{c}@example.com" for c in workload.calendars})

    # --- helpers -----------------------------------------------------------------------------

    def conference(self, name: str, owner: str | None = None) -> dict[str, Any]:
        """The conference ``name``, created the first time for ``owner`` (the organizer of the
        event it is first attached to: that calendar's user)."""
        if name not in self.run.conferences:
            self.run.conferences[name] = self.stack.create_conference(owner=owner)
        return self.run.conferences[name]

    def _conference_data(
        self, name: str, *, foreign: bool = False, owner: str | None = None
    ) -> dict[str, Any]:
        conference = self.conference(name, owner)
        if not foreign:
            self.run.attached.add(str(conference["id"]))
        return {
            "conferenceId": conference["id"],
            "conferenceSolution": {
                "key": {"type": "addOn"},
                "name": FOREIGN_SOLUTION if foreign else SOLUTION,
            },
            "entryPoints": [{"entryPointType": "video", "uri": conference["joinUrl"]}],
        }

    def _times(self, args: dict[str, Any], minutes: int) -> tuple[dict[str, Any], dict[str, Any]]:
        day: date = self.base + timedelta(days=int(args["day"]))
        if args.get("allDay"):
            return {"date": day.isoformat()}, {"date": (day + timedelta(days=1)).isoformat()}
        zone = args.get("zone")
        local = datetime(day.year, day.month, day.day, int(args["hour"]))
        if zone:
            end = local + timedelta(minutes=minutes)
            return (
                {"dateTime": local.isoformat(), "timeZone": zone},
                {"dateTime": end.isoformat(), "timeZone": zone},
            )
        start = local.replace(tzinfo=UTC)
        return {"dateTime": _z(start)}, {"dateTime": _z(start + timedelta(minutes=minutes))}

    def _patch(self, event: _Event, body: dict[str, Any], what: str) -> None:
        _retrying(
            lambda: self.stack.patch(event.calendar_id, event.id, body, conference_data_version=1),
            what,
        )
        event.body.update(body)

    # --- steps -------------------------------------------------------------------------------

    def create(self, args: dict[str, Any]) -> None:
        calendar_id = self.run.calendar_ids[args["calendar"]]
        minutes = int(args["minutes"])
        series = args.get("series")
        body: dict[str, Any] = {
            "summary": args["title"],
            "attendees": [{"email": email} for email in args["attendees"]],
        }
        local_start = None
        if series:
            day = self.base + timedelta(days=int(args["day"]))
            local_start = datetime(day.year, day.month, day.day, int(args["hour"]))
            zone = series["zone"]
            body["start"] = {"dateTime": local_start.isoformat(), "timeZone": zone}
            end = local_start + timedelta(minutes=minutes)
            body["end"] = {"dateTime": end.isoformat(), "timeZone": zone}
            body["recurrence"] = [f"RRULE:FREQ={series['freq']};COUNT={series['count']}"]
        else:
            body["start"], body["end"] = self._times(args, minutes)
        if args.get("conference"):
            body["conferenceData"] = self._conference_data(
                args["conference"], foreign=bool(args.get("foreign")), owner=calendar_id
            )
        created = _retrying(lambda: self.stack.insert(calendar_id, body), f"create {args['event']}")
        self.run.events[args["event"]] = _Event(
            str(created["id"]), calendar_id, body, series=series, local_start=local_start
        )

    def edit(self, args: dict[str, Any]) -> None:
        event = self.run.events[args["event"]]
        if "title" in args:
            self._patch(event, {"summary": args["title"]}, f"rename {args['event']}")
        elif "attendees" in args:
            body = {"attendees": [{"email": email} for email in args["attendees"]]}
            self._patch(event, body, f"invite {args['event']}")
        else:
            start = event.body["start"]
            moved = {**args, "allDay": "date" in start, "zone": start.get("timeZone")}
            duration = self._minutes(event)
            begin, end = self._times(moved, duration)
            self._patch(event, {"start": begin, "end": end}, f"move {args['event']}")

    @staticmethod
    def _minutes(event: _Event) -> int:
        start, end = event.body["start"], event.body["end"]
        if "date" in start:
            return 0
        first = datetime.fromisoformat(start["dateTime"].replace("Z", "+00:00"))
        last = datetime.fromisoformat(end["dateTime"].replace("Z", "+00:00"))
        return int((last - first).total_seconds() // 60)

    def instance(self, args: dict[str, Any]) -> None:
        event = self.run.events[args["event"]]
        assert event.series is not None
        assert event.local_start is not None
        index = int(args["index"])
        step = timedelta(days=1 if event.series["freq"] == "DAILY" else 7)
        local = event.local_start + index * step
        original = local.replace(tzinfo=ZoneInfo(event.series["zone"])).astimezone(UTC)
        instance_id = f"{event.id}_{original:%Y%m%dT%H%M%SZ}"
        calendar_id = event.calendar_id
        what = f"{args['action']} occurrence {index} of {args['event']}"
        if args["action"] == "cancel":
            _retrying(lambda: self.stack.delete_event(calendar_id, instance_id, gone_ok=True), what)
            return
        if args["action"] == "rename":
            body: dict[str, Any] = {"summary": args["title"]}
        else:
            start = original + timedelta(hours=int(args["hours"]))
            end = start + timedelta(minutes=self._minutes(event))
            body = {"start": {"dateTime": _z(start)}, "end": {"dateTime": _z(end)}}
        _retrying(
            lambda: self.stack.patch(calendar_id, instance_id, body, conference_data_version=1),
            what,
        )

    def replace_conference(self, args: dict[str, Any]) -> None:
        event = self.run.events[args["event"]]
        conference = self._conference_data(args["conference"], owner=event.calendar_id)
        self._patch(
            event, {"conferenceData": conference}, f"replace the conference of {args['event']}"
        )

    add_conference = replace_conference

    def remove_conference(self, args: dict[str, Any]) -> None:
        event = self.run.events[args["event"]]
        self._patch(event, {"conferenceData": None}, f"remove the conference of {args['event']}")

    def delete(self, args: dict[str, Any]) -> None:
        event = self.run.events[args["event"]]
        _retrying(
            lambda: self.stack.delete_event(event.calendar_id, event.id, gone_ok=True),
            f"delete {args['event']}",
        )

    def recreate(self, args: dict[str, Any]) -> None:
        old = self.run.events[args["event"]]
        self.delete(args)
        body = {k: v for k, v in old.body.items() if k != "conferenceData"}
        body["conferenceData"] = self._conference_data(
            args["new_conference"], owner=old.calendar_id
        )
        created = _retrying(
            lambda: self.stack.insert(old.calendar_id, body), f"re-create {args['event']}"
        )
        self.run.events[args["new_event"]] = _Event(str(created["id"]), old.calendar_id, body)

    def write_back_race(self, args: dict[str, Any]) -> None:
        """The backend rotates the join URL; the user edits (confsync writes the new URL back)
        and edits again the moment a sync starts, so the write-back meets a concurrent edit."""
        event = self.run.events[args["event"]]
        conference = self.conference(args["conference"])
        self.stack.rotate_join_url(
            str(conference["id"]), f"{conference['joinUrl']}-{args['title']}"
        )
        self.run.rotated[str(conference["id"])] = datetime.now(UTC)
        before = self.stack.list_calls()
        self._patch(event, {"summary": args["title"]}, f"rename {args['event']}")
        deadline = time.monotonic() + _RACE_WAIT_S
        while time.monotonic() < deadline:
            if self.stack.list_calls() > before:
                self.run.races += 1
                break
            time.sleep(0.005)
        self._patch(event, {"summary": args["then"]}, f"rename {args['event']} again")

    def enroll(self, args: dict[str, Any]) -> None:
        calendar_id = self.run.calendar_ids[args["calendar"]]
        done = self.stack.confsync(
            "enroll", "--subject", calendar_id, "--calendar", calendar_id, "--wait", "60"
        )
        if done.returncode != 0:
            raise HarnessError(f"enrollment of {calendar_id} failed: {done.stderr.strip()}")

    def step(self, step: Step) -> None:
        self.run.timeline.append((time.monotonic(), step))
        if step.is_fault:
            apply_fault(step, self.run.calendar_ids, self.stack)
        elif step.kind == "pause":
            time.sleep(int(step.args["ms"]) / 1000)
        elif step.kind == "tick":
            self.stack.tick()
        else:
            getattr(self, step.kind.replace("-", "_"))(step.args)


def execute(stack: ChaosStack, workload: Workload, *, say: Callable[[str], None]) -> Execution:
    """Create the decoy conferences (never attached, so never to be touched), run every step."""
    executor = _Executor(stack, workload, say=say)
    for decoy in workload.decoys:
        executor.conference(decoy)
    for step in workload.steps:
        executor.step(step)
    return executor.run
