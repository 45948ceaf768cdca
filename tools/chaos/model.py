"""The workload's model of the calendars while it draws: events, who uses which conference.

:class:`DrawerBase` holds what every kind of step needs (the random generator, the calendars and
whose they are, the events, the live users of each conference) and the small helpers over it; the
steps themselves live in :mod:`chaos.workload` (one user's calendar) and :mod:`chaos.multiuser`
(what other users do: copies, invitations, moves).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from chaos.steps import Step

__all__ = ["GUESTS", "DrawerBase", "EventModel"]

GUESTS = tuple(f"guest{n}@example.com" for n in range(6))


@dataclass
class EventModel:
    """What the user last wrote to one event (the model's view, checked against Calendar).

    ``copied``: an event of a user who is not the owner of the conference it carries (a copy by
    another user, or an event moved to another user): it never counts for that conference.
    ``invited``: the enrolled calendars among its attendees; ``declined``: those of them that
    deleted their copy (it is not delivered again while they stay invited).
    """

    name: str
    calendar: str
    conference: str | None
    foreign: bool = False
    series: bool = False
    live: bool = True
    title: str = ""
    instances: dict[int, str] = field(default_factory=dict)  # index -> moved | renamed | cancelled
    count: int = 0
    copied: bool = False
    invited: set[str] = field(default_factory=set)
    declined: set[str] = field(default_factory=set)


class DrawerBase:
    """The model a workload is drawn against, and the helpers its steps share."""

    def __init__(
        self, rng: random.Random, calendars: list[str], subjects: dict[str, str] | None = None
    ) -> None:
        self.rng = rng
        self.calendars = calendars  # the users' own calendars: new events are made there
        self.subjects = subjects or {c: c for c in calendars}  # every calendar -> its user
        self.events: dict[str, EventModel] = {}
        self.users: dict[str, set[str]] = {}  # conference -> live events of its owner using it
        self.owners: dict[str, str] = {}  # conference -> the user it was created for
        self.steps: list[Step] = []
        self.invite_calendars = False  # set once every calendar is known to the emulator
        self._next_event = 0
        self._next_conference = 0
        self._next_title = 0

    def create(self, calendar: str | None = None, *, conference: str | None = None) -> None:
        raise NotImplementedError

    def _event_name(self) -> str:
        self._next_event += 1
        return f"e{self._next_event}"

    def conference_name(self) -> str:
        self._next_conference += 1
        return f"c{self._next_conference}"

    def _title(self) -> str:
        self._next_title += 1
        return f"t{self._next_title}"

    def _attendees(self, calendar: str) -> list[str]:
        """Guests, and (after enrollment, at times) other users' calendars by logical name."""
        guests = self.rng.sample(GUESTS, self.rng.randint(0, 3))
        user = self.subjects[calendar]
        others = [c for c in self.calendars if self.subjects[c] != user]
        if self.invite_calendars and others and self.rng.random() < 0.3:
            guests += self.rng.sample(others, self.rng.randint(1, len(others)))
        return sorted(guests)

    def _invite(self, event: EventModel, attendees: list[str]) -> None:
        invited = {a for a in attendees if a in self.subjects}
        event.declined &= invited  # removed and re-added: the copy is delivered again
        event.invited = invited

    def _live(self, *, ours: bool | None = None, series: bool | None = None) -> list[EventModel]:
        found = []
        for event in self.events.values():
            if not event.live or event.copied:
                continue
            if series is not None and event.series != series:
                continue
            has_ours = event.conference is not None and not event.foreign
            if ours is not None and has_ours != ours:
                continue
            found.append(event)
        return found

    def _use(self, conference: str, event: str) -> None:
        self.users.setdefault(conference, set()).add(event)
        self.owners.setdefault(conference, self.subjects[self.events[event].calendar])

    def _drop(self, event: EventModel) -> None:
        if event.conference is not None and not event.foreign and not event.copied:
            self.users.get(event.conference, set()).discard(event.name)

    def carried(self) -> set[str]:
        """Conferences some live event of their owner still uses."""
        return {conference for conference, users in self.users.items() if users}
