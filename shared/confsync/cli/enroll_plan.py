"""What ``confsync enroll`` is asked to enrol: lines of a file, or listed calendars, checked.

Pure: no I/O. A file holds one ``subject[,calendarId]`` per line; blank lines and lines whose
first non-blank character is ``#`` are skipped; the calendar id defaults to ``primary``, which
resolves to the subject's e-mail (:func:`confsync.calendars.resolve_calendar_id`), so one calendar
never gets two keys. Every entry is checked before anything is published:

=====================================  ==========================================================
entry                                  outcome
=====================================  ==========================================================
``alice@example.com``                  target: alice's primary calendar (id ``alice@example.com``)
``alice@example.com,team@group...``    target: that calendar, as alice
``alice@example.com,``                 refused: the calendar id is blank
``alice@other.org``                    refused: the allow-list's reason (domain not allowed)
``not an address``                     refused: the e-mail syntax problem
``a,b,c``                              refused: more than one comma
the same calendar key again            a duplicate: said, counted once, enrolled once
=====================================  ==========================================================

Subjects are lower-cased (Google's addresses are case-insensitive). :func:`plan_lines` never
raises, whatever the text.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from confsync.calendars import PRIMARY, calendar_key, resolve_calendar_id
from confsync.domains import DomainAllowList

__all__ = [
    "MAX_CALENDAR_ID",
    "Duplicate",
    "EnrollPlan",
    "Refusal",
    "Target",
    "check_entry",
    "parse_line",
    "plan_entries",
    "plan_lines",
]

MAX_CALENDAR_ID = 1024
"""A longer calendar id is refused (Google's ids are far shorter)."""
_SHOWN = 80
"""At most this many characters of a refused line are echoed back."""


@dataclass(frozen=True, slots=True)
class Target:
    """One calendar to enrol: its subject, resolved calendar id, key and where it came from."""

    subject: str
    calendar_id: str
    key: str
    origin: str
    """``line 4``, or what listed it (``calendar list of alice@example.com``)."""


@dataclass(frozen=True, slots=True)
class Refusal:
    """An entry that is not enrolled, and why."""

    origin: str
    text: str
    reason: str


@dataclass(frozen=True, slots=True)
class Duplicate:
    """An entry naming a calendar an earlier entry already names (enrolled once)."""

    origin: str
    first: str
    key: str


@dataclass(slots=True)
class EnrollPlan:
    """The checked entries: the targets (each key once, in order), refusals and duplicates."""

    targets: list[Target] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)
    duplicates: list[Duplicate] = field(default_factory=list)
    _seen: dict[str, str] = field(default_factory=dict)

    def add(self, outcome: Target | Refusal) -> None:
        """Record one checked entry; a second target with a known key is a duplicate."""
        if isinstance(outcome, Refusal):
            self.refusals.append(outcome)
            return
        first = self._seen.get(outcome.key)
        if first is not None:
            self.duplicates.append(Duplicate(outcome.origin, first, outcome.key))
            return
        self._seen[outcome.key] = outcome.origin
        self.targets.append(outcome)


def _shown(text: str) -> str:
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def check_entry(
    subject: str, calendar_id: str, allowed: DomainAllowList, origin: str, text: str = ""
) -> Target | Refusal:
    """``subject`` and ``calendar_id`` (``primary`` allowed) checked: a target or a refusal."""
    shown = _shown(text or f"{subject},{calendar_id}")
    subject = subject.strip()
    calendar_id = calendar_id.strip()
    if not subject:
        return Refusal(origin, shown, "the subject (an e-mail address) is blank")
    problem = allowed.refusal(subject)
    if problem is not None:
        return Refusal(origin, shown, problem)
    if not calendar_id:
        return Refusal(origin, shown, "the calendar id is blank (leave out the comma for primary)")
    if len(calendar_id) > MAX_CALENDAR_ID or not calendar_id.isprintable():
        return Refusal(origin, shown, "the calendar id is not a calendar id")
    subject = subject.lower()
    resolved = resolve_calendar_id(subject, calendar_id)
    return Target(subject, resolved, calendar_key(subject, resolved), origin)


def parse_line(text: str, number: int, allowed: DomainAllowList) -> Target | Refusal | None:
    """Line ``number`` of a file: None when it is blank or a comment, else a target or refusal."""
    stripped = text.strip()
    if not stripped or stripped.startswith("#"):
        return None
    origin = f"line {number}"
    parts = stripped.split(",")
    if len(parts) > 2:
        return Refusal(origin, _shown(stripped), "more than one comma (subject[,calendarId])")
    calendar_id = parts[1] if len(parts) == 2 else PRIMARY
    return check_entry(parts[0], calendar_id, allowed, origin, stripped)


def plan_lines(lines: Iterable[str], allowed: DomainAllowList) -> EnrollPlan:
    """Every line checked, numbered from 1."""
    plan = EnrollPlan()
    for number, text in enumerate(lines, start=1):
        outcome = parse_line(text, number, allowed)
        if outcome is not None:
            plan.add(outcome)
    return plan


def plan_entries(
    entries: Iterable[tuple[str, str]], allowed: DomainAllowList, origin: str
) -> EnrollPlan:
    """Listed (subject, calendar id) pairs checked, each said to come from ``origin``."""
    plan = EnrollPlan()
    for subject, calendar_id in entries:
        plan.add(check_entry(subject, calendar_id, allowed, f"{origin}: {subject},{calendar_id}"))
    return plan
