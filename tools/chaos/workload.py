"""The seeded random workload: what users, the add-on and an operator do to a few calendars.

:func:`generate` is pure: ``random.Random(seed)`` is its only source of choices (no wall clock, no
ids from the servers), so a seed always yields the same steps. It keeps a small model of the
calendars while it draws, so that every step is valid when it runs (an event is edited only while
it exists) and so that the run's outcome is decided by confsync, not by timing:

* a conference is attached to a new event only while a live event of the model still uses it
  (sharing); replacing or re-creating always takes a fresh conference, because a conference whose
  events are all gone may already be deleted, and deletion is final;
* a series is never moved as a whole: its occurrences are moved, renamed and cancelled;
* times lie in the future (within the full-sync window), in whole hours from a base day chosen at
  run time, so the trace stays the same while the dates move on.
* what other users do (copies of a conference, invitations answered or deleted, moves) is drawn
  by :mod:`chaos.multiuser`; a step that lets go of a conference's last event of its owner says
  so (``detaches``), for the ownership check and for the deletion brake's bound.

Faults are drawn by :mod:`chaos.faults` from a generator of their own and merged in at random
positions, so changing the fault mix does not change the user actions of a seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from chaos.faults import draw_faults
from chaos.model import EventModel
from chaos.multiuser import MultiUserSteps
from chaos.steps import Step

__all__ = ["ZONES", "EventModel", "Workload", "generate"]

ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata")
SECONDARY = "{}-team"  # with moves: a second calendar of the first user, enrolled under them


@dataclass
class Workload:
    """A seed's calendars, steps (faults merged in) and the final model of every event.

    ``subjects``: the user each calendar is enrolled under (absent: its own).
    """

    seed: int
    calendars: list[str]
    steps: list[Step]
    events: dict[str, EventModel]
    decoys: list[str]
    subjects: dict[str, str] = field(default_factory=dict)


class _Drawer(MultiUserSteps):
    """Draws user steps from ``rng`` while keeping the model consistent."""

    # --- steps ------------------------------------------------------------------------------

    def create(self, calendar: str | None = None, *, conference: str | None = None) -> None:
        rng = self.rng
        name = self._event_name()
        calendar = calendar or rng.choice(self.calendars)
        roll = rng.random()
        foreign = conference is None and roll < 0.1
        plain = conference is None and 0.1 <= roll < 0.25
        if conference is None and not plain:
            conference = self.conference_name()
        series = rng.random() < 0.3
        title = self._title()
        attendees = self._attendees(calendar)
        args: dict[str, object] = {
            "calendar": calendar,
            "event": name,
            "conference": conference,
            "foreign": foreign,
            "title": title,
            "day": rng.randint(1, 20),
            "hour": rng.randint(6, 18),
            "minutes": rng.choice((30, 45, 60, 90)),
            "attendees": attendees,
        }
        model = EventModel(name, calendar, conference, foreign=foreign, title=title)
        self._invite(model, attendees)
        if series:
            count = rng.randint(3, 8)
            args["series"] = {
                "freq": rng.choice(("DAILY", "WEEKLY")),
                "count": count,
                "zone": rng.choice(ZONES),
            }
            model.series, model.count = True, count
        elif rng.random() < 0.2:
            args["allDay"] = True
        elif rng.random() < 0.5:
            args["zone"] = rng.choice(ZONES)
        self.events[name] = model
        if conference is not None and not foreign:
            self._use(conference, name)
        self.steps.append(Step("create", args))

    def edit(self) -> None:
        live = self._live()
        if not live:
            return self.create()
        event = self.rng.choice(live)
        fields: dict[str, object] = {}
        what = self.rng.choice(("title", "title", "time", "attendees"))
        if what == "time" and not event.series:
            fields = {"day": self.rng.randint(1, 20), "hour": self.rng.randint(6, 18)}
        elif what == "attendees":
            attendees = self._attendees(event.calendar)
            self._invite(event, attendees)
            fields = {"attendees": attendees}
        else:
            event.title = self._title()
            fields = {"title": event.title}
        self.steps.append(Step("edit", {"calendar": event.calendar, "event": event.name, **fields}))
        return None

    def instance(self) -> None:
        series = self._live(series=True)
        if not series:
            return self.create()
        event = self.rng.choice(series)
        candidates = [k for k in range(event.count) if event.instances.get(k) != "cancelled"]
        if not candidates:
            return self.edit()
        index = self.rng.choice(candidates)
        action = self.rng.choice(("move", "rename", "cancel"))
        args: dict[str, object] = {
            "calendar": event.calendar,
            "event": event.name,
            "index": index,
            "action": action,
        }
        if action == "move":
            args["hours"] = self.rng.choice((-3, -1, 1, 2, 5))
        elif action == "rename":
            args["title"] = self._title()
        event.instances[index] = {"move": "moved", "rename": "renamed"}.get(action, "cancelled")
        self.steps.append(Step("instance", args))
        return None

    def replace_conference(self) -> None:
        live = self._live(ours=True)
        if not live:
            return self.create()
        event = self.rng.choice(live)
        self._drop(event)
        event.conference = self.conference_name()
        self._use(event.conference, event.name)
        args = {"calendar": event.calendar, "event": event.name, "conference": event.conference}
        self.steps.append(Step("replace-conference", args))
        return None

    def remove_conference(self) -> None:
        live = self._live(ours=True)
        if not live:
            return self.create()
        event = self.rng.choice(live)
        self._drop(event)
        event.conference = None
        self.steps.append(
            Step("remove-conference", {"calendar": event.calendar, "event": event.name})
        )
        return None

    def add_conference(self) -> None:
        plain = [e for e in self._live(ours=False) if e.conference is None]
        if not plain:
            return self.create()
        event = self.rng.choice(plain)
        event.conference = self.conference_name()
        self._use(event.conference, event.name)
        args = {"calendar": event.calendar, "event": event.name, "conference": event.conference}
        self.steps.append(Step("add-conference", args))
        return None

    def share(self) -> None:
        shared = [c for c, users in sorted(self.users.items()) if users]
        if not shared:
            return self.create()
        conference = self.rng.choice(shared)
        calendar = self.events[sorted(self.users[conference])[0]].calendar
        return self.create(calendar, conference=conference)

    def delete(self) -> None:
        live = self._live()
        if not live:
            return self.create()
        event = self.rng.choice(live)
        self._drop(event)
        event.live = False
        self.steps.append(Step("delete", {"calendar": event.calendar, "event": event.name}))
        return None

    def recreate(self) -> None:
        live = [e for e in self._live(ours=True) if not e.series]
        if not live:
            return self.create()
        old = self.rng.choice(live)
        self._drop(old)
        old.live = False
        name, conference = self._event_name(), self.conference_name()
        self.events[name] = EventModel(name, old.calendar, conference, title=old.title)
        self._use(conference, name)
        args = {
            "calendar": old.calendar,
            "event": old.name,
            "new_event": name,
            "new_conference": conference,
        }
        self.steps.append(Step("recreate", args))
        return None

    def write_back_race(self) -> None:
        live = [e for e in self._live(ours=True) if e.conference is not None]
        if not live:
            return self.create()
        event = self.rng.choice(live)
        first, second = self._title(), self._title()
        event.title = second
        args = {
            "calendar": event.calendar,
            "event": event.name,
            "conference": event.conference,
            "title": first,
            "then": second,
        }
        self.steps.append(Step("write-back-race", args))
        return None


_ACTIONS = (
    ("create", 18),
    ("edit", 26),
    ("instance", 14),
    ("replace_conference", 6),
    ("remove_conference", 5),
    ("add_conference", 4),
    ("share", 5),
    ("delete", 8),
    ("recreate", 5),
    ("write_back_race", 5),
    ("copy", 5),
    ("copy_edit", 3),
    ("copy_delete", 2),
    ("answer", 3),
    ("delete_copy", 2),
)
_MOVES = (("move", 5),)


def generate(
    seed: int, *, steps: int = 40, calendars: int = 3, faults: bool = True, moves: bool = True
) -> Workload:
    """The workload of ``seed``: ``steps`` user actions over ``calendars`` calendars.

    With ``moves`` (the default), the first user has a second calendar and events are moved
    (``events.move``) between their calendars and to other users'.
    """
    rng = random.Random(seed)  # noqa: S311 - reproducible choices, not secrets
    names = [f"cal{n}" for n in range(calendars)]
    subjects = {name: name for name in names}
    if moves:
        subjects[SECONDARY.format(names[0])] = names[0]
    drawer = _Drawer(rng, names, subjects)
    for calendar in names:  # a few events exist before enrollment: the first sync adopts them
        for _ in range(rng.randint(1, 3)):
            drawer.create(calendar)
    prelude = list(drawer.steps)
    drawer.steps.clear()
    drawer.invite_calendars = True  # every calendar is known to the Calendar from here on
    decoys = [drawer.conference_name() for _ in range(rng.randint(1, 2))]
    actions, weights = zip(*(_ACTIONS + (_MOVES if moves else ())), strict=True)
    for _ in range(steps):
        carried = drawer.carried()
        getattr(drawer, rng.choice(list(_weighted(actions, weights))))()
        _mark_detached(drawer.steps, carried - drawer.carried())
        if rng.random() < 0.35:
            drawer.steps.append(Step("pause", {"ms": rng.choice((50, 150, 400, 800))}))
        if rng.random() < 0.08:
            drawer.steps.append(Step("tick"))
    body = drawer.steps
    everything = list(subjects)
    if faults:
        own = random.Random(seed * 7919 + 1)  # noqa: S311 - the faults' own generator
        body = _merge(body, draw_faults(own, everything), rng)
    enroll = [
        Step("enroll", {"calendar": calendar} | _subject(calendar, subjects))
        for calendar in everything
    ]
    return Workload(seed, everything, prelude + enroll + body, drawer.events, decoys, subjects)


def _subject(calendar: str, subjects: dict[str, str]) -> dict[str, str]:
    return {} if subjects[calendar] == calendar else {"subject": subjects[calendar]}


def _mark_detached(steps: list[Step], detached: set[str]) -> None:
    """The last step let go of ``detached`` (their owner's last event): say so in its args."""
    if detached and steps:
        last = steps[-1]
        steps[-1] = Step(last.kind, {**last.args, "detaches": sorted(detached)})


def _weighted(actions: tuple[str, ...], weights: tuple[int, ...]) -> list[str]:
    return [action for action, weight in zip(actions, weights, strict=True) for _ in range(weight)]


def _merge(body: list[Step], faults: list[Step], rng: random.Random) -> list[Step]:
    """``faults`` inserted into ``body`` at random positions, in their own order."""
    positions = sorted(rng.randint(0, len(body)) for _ in faults)
    merged: list[Step] = []
    cursor = 0
    for position, fault in zip(positions, faults, strict=True):
        merged.extend(body[cursor:position])
        merged.append(fault)
        cursor = position
    merged.extend(body[cursor:])
    return merged
