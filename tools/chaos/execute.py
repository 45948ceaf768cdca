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
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from chaos.execute_users import FOREIGN_SOLUTION, SOLUTION, OtherUsers
from chaos.execution import CreatedEvent, Execution, HarnessError, retrying
from chaos.faults import apply_fault
from chaos.stack import ChaosStack
from chaos.steps import Step
from chaos.workload import Workload

__all__ = ["FOREIGN_SOLUTION", "SOLUTION", "Execution", "HarnessError", "execute"]

_RACE_WAIT_S = 2.0


def _z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Executor(OtherUsers):
    def __init__(self, stack: ChaosStack, workload: Workload, *, say: Callable[[str], None]):
        self.stack = stack
        self.workload = workload
        self.say = say
        self.base = datetime.now(UTC).date() + timedelta(days=2)
        prefix = f"chaos-s{workload.seed}"
        self.run = Execution({c: f"{prefix}-{c}@example.com" for c in workload.calendars})
        ids = self.run.calendar_ids
        self.run.users = {ids[c]: ids[workload.subjects.get(c, c)] for c in workload.calendars}

    # --- helpers -----------------------------------------------------------------------------

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

    def _patch(self, event: CreatedEvent, body: dict[str, Any], what: str) -> None:
        answer = retrying(
            lambda: self.stack.patch(event.calendar_id, event.id, body, conference_data_version=1),
            what,
        )
        self.run.wrote(answer)
        event.body.update(body)

    # --- steps -------------------------------------------------------------------------------

    def create(self, args: dict[str, Any]) -> None:
        calendar_id = self.run.calendar_ids[args["calendar"]]
        minutes = int(args["minutes"])
        series = args.get("series")
        body: dict[str, Any] = {
            "summary": args["title"],
            "attendees": self.attendees(args["attendees"]),
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
                args["conference"], foreign=bool(args.get("foreign")), owner=self.user(calendar_id)
            )
        created = retrying(lambda: self.stack.insert(calendar_id, body), f"create {args['event']}")
        self.run.wrote(created)
        self.run.events[args["event"]] = CreatedEvent(
            str(created["id"]), calendar_id, body, series=series, local_start=local_start
        )

    def edit(self, args: dict[str, Any]) -> None:
        event = self.run.events[args["event"]]
        if "title" in args:
            self._patch(event, {"summary": args["title"]}, f"rename {args['event']}")
        elif "attendees" in args:
            body = {"attendees": self.attendees(args["attendees"])}
            self._patch(event, body, f"invite {args['event']}")
        else:
            start = event.body["start"]
            moved = {**args, "allDay": "date" in start, "zone": start.get("timeZone")}
            duration = self._minutes(event)
            begin, end = self._times(moved, duration)
            self._patch(event, {"start": begin, "end": end}, f"move {args['event']}")

    @staticmethod
    def _minutes(event: CreatedEvent) -> int:
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
            retrying(lambda: self.stack.delete_event(calendar_id, instance_id, gone_ok=True), what)
            return
        if args["action"] == "rename":
            body: dict[str, Any] = {"summary": args["title"]}
        else:
            start = original + timedelta(hours=int(args["hours"]))
            end = start + timedelta(minutes=self._minutes(event))
            body = {"start": {"dateTime": _z(start)}, "end": {"dateTime": _z(end)}}
        answer = retrying(
            lambda: self.stack.patch(calendar_id, instance_id, body, conference_data_version=1),
            what,
        )
        self.run.wrote(answer)

    def replace_conference(self, args: dict[str, Any]) -> None:
        event = self.run.events[args["event"]]
        conference = self._conference_data(args["conference"], owner=self.user(event.calendar_id))
        self._patch(
            event, {"conferenceData": conference}, f"replace the conference of {args['event']}"
        )

    add_conference = replace_conference

    def remove_conference(self, args: dict[str, Any]) -> None:
        event = self.run.events[args["event"]]
        self._patch(event, {"conferenceData": None}, f"remove the conference of {args['event']}")

    def delete(self, args: dict[str, Any]) -> None:
        event = self.run.events[args["event"]]
        retrying(
            lambda: self.stack.delete_event(event.calendar_id, event.id, gone_ok=True),
            f"delete {args['event']}",
        )

    def recreate(self, args: dict[str, Any]) -> None:
        old = self.run.events[args["event"]]
        self.delete(args)
        body = {k: v for k, v in old.body.items() if k != "conferenceData"}
        body["conferenceData"] = self._conference_data(
            args["new_conference"], owner=self.user(old.calendar_id)
        )
        created = retrying(
            lambda: self.stack.insert(old.calendar_id, body), f"re-create {args['event']}"
        )
        self.run.wrote(created)
        self.run.events[args["new_event"]] = CreatedEvent(str(created["id"]), old.calendar_id, body)

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
        subject = self.run.calendar_ids[args.get("subject", args["calendar"])]
        done = self.stack.confsync(
            "enroll", "--subject", subject, "--calendar", calendar_id, "--wait", "180"
        )
        if done.returncode != 0:
            raise HarnessError(f"enrollment of {calendar_id} failed: {done.stderr.strip()}")

    def step(self, step: Step) -> None:
        self.run.timeline.append((time.monotonic(), step))
        for name in step.args.get("detaches", ()):
            conference = self.run.conferences.get(name)
            if conference is not None:
                self.run.detached_at[str(conference["id"])] = datetime.now(UTC)
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
