"""How the executor acts for users other than a conference's owner: copies, invitations, moves.

A mixin of the executor (:mod:`chaos.execute`): it also holds the helpers every step uses to
attach a conference (created the first time for the calendar's user, its owner). Every write to
an event of a user who is not the conference's owner is remembered with its ``updated`` instant
(:meth:`chaos.execution.Execution.wrote`), so the ownership check can tell a PUT sent for it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from chaos.execution import CreatedEvent, Execution, HarnessError, retrying
from chaos.stack import ChaosStack

__all__ = ["FOREIGN_SOLUTION", "SOLUTION", "OtherUsers"]

SOLUTION = "My Web Conference"
FOREIGN_SOLUTION = "Other Video"  # an add-on conference that is not ours: never touched


class OtherUsers:
    """Conference helpers, and the steps of users who do not own the conference at hand."""

    stack: ChaosStack
    run: Execution

    # --- helpers -----------------------------------------------------------------------------

    def user(self, calendar_id: str) -> str:
        """The user a calendar is enrolled under (the owner of conferences made there)."""
        return self.run.users.get(calendar_id, calendar_id)

    def attendees(self, names: Iterable[str]) -> list[dict[str, Any]]:
        """Attendee entries; a calendar's logical name becomes its id (so it gets a copy)."""
        return [{"email": self.run.calendar_ids.get(name, name)} for name in names]

    def conference(self, name: str, owner: str | None = None) -> dict[str, Any]:
        """The conference ``name``, created the first time for ``owner`` (the user of the
        calendar whose event it is first attached to)."""
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

    # --- copies by other users ---------------------------------------------------------------

    def copy(self, args: dict[str, Any]) -> None:
        """Another user's own event carrying the conference (conferenceData copied)."""
        calendar_id = self.run.calendar_ids[args["calendar"]]
        body: dict[str, Any] = {
            "summary": args["title"],
            "conferenceData": self._conference_data(args["conference"]),
        }
        body["start"], body["end"] = self._times(args, int(args["minutes"]))
        created = retrying(lambda: self.stack.insert(calendar_id, body), f"copy {args['event']}")
        self.run.wrote(created, copy=f"{args['event']} by {args['calendar']}")
        self.run.events[args["event"]] = CreatedEvent(str(created["id"]), calendar_id, body)

    def _times(self, args: dict[str, Any], minutes: int) -> tuple[dict[str, Any], dict[str, Any]]:
        raise NotImplementedError  # the executor's: times from its base day

    def copy_edit(self, args: dict[str, Any]) -> None:
        event = self.run.events[args["event"]]
        answer = retrying(
            lambda: self.stack.patch(event.calendar_id, event.id, {"summary": args["title"]}),
            f"rename the copy {args['event']}",
        )
        self.run.wrote(answer, copy=f"{args['event']} by {args['calendar']}")
        event.body["summary"] = args["title"]

    def copy_delete(self, args: dict[str, Any]) -> None:
        event = self.run.events[args["event"]]
        retrying(
            lambda: self.stack.delete_event(event.calendar_id, event.id, gone_ok=True),
            f"delete the copy {args['event']}",
        )

    # --- invitations -------------------------------------------------------------------------

    def answer(self, args: dict[str, Any]) -> None:
        """The attendee answers on their copy (only their own entry's responseStatus)."""
        attendee = self.run.calendar_ids[args["calendar"]]
        event_id = self.run.events[args["event"]].id
        url = f"{self.stack.calendar}/calendar/v3/calendars/{attendee}/events/{event_id}"

        def get() -> dict[str, Any]:
            answer = self.stack.http.get(url, timeout=self.stack.timeout)
            answer.raise_for_status()
            copy: dict[str, Any] = answer.json()
            return copy

        what = f"answer {args['event']} as {args['calendar']}"
        entries = retrying(get, what).get("attendees") or []
        if not any(str(e.get("email")).lower() == attendee.lower() for e in entries):
            raise HarnessError(f"{what}: no attendee entry of {attendee} on the copy")
        body = {
            "attendees": [
                {**e, "responseStatus": args["response"]}
                if str(e.get("email")).lower() == attendee.lower()
                else e
                for e in entries
            ]
        }
        retrying(lambda: self.stack.patch(attendee, event_id, body), what)

    def delete_copy(self, args: dict[str, Any]) -> None:
        attendee = self.run.calendar_ids[args["calendar"]]
        event_id = self.run.events[args["event"]].id
        retrying(
            lambda: self.stack.delete_event(attendee, event_id, gone_ok=True),
            f"delete the copy of {args['event']} on {args['calendar']}",
        )

    # --- moves -------------------------------------------------------------------------------

    def move(self, args: dict[str, Any]) -> None:
        """``events.move``: to another calendar of the same user, or to another user."""
        event = self.run.events[args["event"]]
        destination = self.run.calendar_ids[args["destination"]]
        source = event.calendar_id
        moved = retrying(
            lambda: self.stack.move_event(source, event.id, destination),
            f"move {args['event']} to {args['destination']}",
        )
        other_user = self.user(source).casefold() != self.user(destination).casefold()
        copy = f"{args['event']} moved to {args['destination']}" if other_user else None
        self.run.wrote(moved, copy=copy)
        event.calendar_id = destination
