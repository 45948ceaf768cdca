"""Workload steps of a multi-user calendar: copies by other users, invitations, moves.

* ``copy``: an enrolled user makes an event of their own carrying another user's conference
  (``conferenceData`` copied, ``conferenceDataVersion=1``); ``copy-edit`` renames it and
  ``copy-delete`` deletes it. Such events never count for the conference: confsync must send
  nothing for them.
* Invitations: events invite other enrolled users (their calendars' ids among the attendees,
  drawn by :meth:`DrawerBase._attendees`), so the Calendar copies them onto those calendars;
  ``answer`` sets the attendee's response on their copy and ``delete-copy`` deletes the copy.
* ``move`` (unless ``moves=False``): ``events.move`` of a single event to another calendar of
  the same user (the conference stays the owner's) or to another user's calendar (the event no
  longer counts for its conference, like a copy).
"""

from __future__ import annotations

from chaos.model import DrawerBase, EventModel
from chaos.steps import Step

__all__ = ["MultiUserSteps"]

RESPONSES = ("accepted", "declined", "tentative")


class MultiUserSteps(DrawerBase):
    """The steps other users take on what one user shares with them."""

    def _copies(self) -> list[EventModel]:
        return [e for e in self.events.values() if e.live and e.copied and not e.series]

    def copy(self) -> None:
        carried = sorted(self.carried())
        if not carried:
            return self.create()
        conference = self.rng.choice(carried)
        owner = self.owners[conference]
        others = [c for c in self.calendars if self.subjects[c] != owner]
        if not others:
            return self.create()
        calendar = self.rng.choice(others)
        name, title = self._event_name(), self._title()
        self.events[name] = EventModel(name, calendar, conference, title=title, copied=True)
        args = {
            "calendar": calendar,
            "event": name,
            "conference": conference,
            "title": title,
            "day": self.rng.randint(1, 20),
            "hour": self.rng.randint(6, 18),
            "minutes": self.rng.choice((30, 60)),
        }
        self.steps.append(Step("copy", args))
        return None

    def copy_edit(self) -> None:
        copies = self._copies()
        if not copies:
            return self.copy()
        event = self.rng.choice(copies)
        event.title = self._title()
        args = {"calendar": event.calendar, "event": event.name, "title": event.title}
        self.steps.append(Step("copy-edit", args))
        return None

    def copy_delete(self) -> None:
        copies = self._copies()
        if not copies:
            return self.copy()
        event = self.rng.choice(copies)
        event.live = False
        self.steps.append(Step("copy-delete", {"calendar": event.calendar, "event": event.name}))
        return None

    def _invitations(self) -> list[tuple[EventModel, str]]:
        return [
            (event, attendee)
            for event in self._live()
            for attendee in sorted(event.invited - event.declined)
        ]

    def answer(self) -> None:
        invitations = self._invitations()
        if not invitations:
            return self.create()
        event, attendee = self.rng.choice(invitations)
        args = {
            "calendar": attendee,
            "event": event.name,
            "organizer": event.calendar,
            "response": self.rng.choice(RESPONSES),
        }
        self.steps.append(Step("answer", args))
        return None

    def delete_copy(self) -> None:
        invitations = self._invitations()
        if not invitations:
            return self.create()
        event, attendee = self.rng.choice(invitations)
        event.declined.add(attendee)
        args = {"calendar": attendee, "event": event.name, "organizer": event.calendar}
        self.steps.append(Step("delete-copy", args))
        return None

    def move(self) -> None:
        movable = [e for e in self._live(ours=True, series=False) if not e.invited]
        if not movable:
            return self.create()
        event = self.rng.choice(movable)
        user = self.subjects[event.calendar]
        mine = [c for c in self.subjects if self.subjects[c] == user and c != event.calendar]
        theirs = [c for c in self.calendars if self.subjects[c] != user]
        same_owner = bool(mine) and (not theirs or self.rng.random() < 0.6)
        destination = self.rng.choice(mine if same_owner else theirs)
        source = event.calendar
        if event.conference is not None and self.owners.get(event.conference) != user:
            same_owner = False  # carried, not owned: still not the owner's after the move
        if not same_owner:
            self._drop(event)
            event.copied = True
        event.calendar = destination
        args = {"calendar": source, "event": event.name, "destination": destination}
        self.steps.append(Step("move", args))
        return None
