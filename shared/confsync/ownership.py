"""Who may change a conference: the ownership decision, pure.

The conferencing system keeps each conference's **owner**, the e-mail address of the organizer
it was created for (``ConferenceProvider.owner_of``; ``None`` for conferences created before the
contract had owners). Anyone who can see a conference can copy its ``conferenceData`` into an
event of their own, so carrying a conference proves nothing: confsync acts on a conference only
from events organised by its owner. Every other event that carries it is a **reference**, which
never changes or deletes it.

An event's calendar **acts** for a conference when the owner equals, ignoring case
(``str.casefold``), either the event's organizer or the subject the calendar is enrolled under:
events on a secondary calendar have that calendar as organizer, so the subject is what ties them
to their user. A conference without an owner follows the :data:`OwnerlessPolicy` of
``docs/decisions/2026-12-03-ownerless-conferences.md``:

* ``first-claimant`` (the default): the calendars of the first subject whose calendar claimed it
  act; once any other subject holds a record of it, a newcomer's events are references;
* ``hands-off``: nobody acts; such conferences are never changed or deleted.

Nothing here depends on how records are stored or keyed, so one record per conference (the later
model) reuses it as it is.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

__all__ = [
    "OWNERLESS_POLICIES",
    "OwnerlessPolicy",
    "Role",
    "ownerless_policy",
    "ownerless_role",
    "role_for",
    "role_of_any",
    "same_address",
]

Role = Literal["unknown", "acting", "reference"]
"""A calendar's part in a conference: ``unknown`` until its owner is known, then ``acting``
(its events change and delete the conference) or ``reference`` (they never do)."""

OwnerlessPolicy = Literal["first-claimant", "hands-off"]
OWNERLESS_POLICIES: tuple[OwnerlessPolicy, ...] = ("first-claimant", "hands-off")


def ownerless_policy(value: str) -> OwnerlessPolicy:
    """The policy named ``value`` (ValueError for another name)."""
    for policy in OWNERLESS_POLICIES:
        if value == policy:
            return policy
    raise ValueError(f"unknown ownerless policy {value!r}")


def same_address(a: str | None, b: str | None) -> bool:
    """Whether two e-mail addresses are the same, ignoring case; None matches nothing."""
    if not a or not b:
        return False
    return a.strip().casefold() == b.strip().casefold()


def role_for(owner: str, subject: str, organizer: str | None) -> Literal["acting", "reference"]:
    """The role of an event organised by ``organizer`` on a calendar enrolled under ``subject``,
    for a conference owned by ``owner``: acting iff the owner is the organizer or the subject."""
    if same_address(owner, organizer) or same_address(owner, subject):
        return "acting"
    return "reference"


def role_of_any(
    owner: str, subject: str, organizers: Iterable[str | None]
) -> Literal["acting", "reference"]:
    """The role of a calendar whose events (organised by ``organizers``) carry the conference:
    acting when the owner is its subject or organised any of them."""
    if any(role_for(owner, subject, organizer) == "acting" for organizer in organizers):
        return "acting"
    return role_for(owner, subject, None)


def ownerless_role(
    policy: OwnerlessPolicy, subject: str, claimants: Iterable[tuple[str | None, Role]]
) -> Literal["acting", "reference"]:
    """The role of a calendar enrolled under ``subject`` that meets a conference without an owner.

    ``claimants``: the other calendars that already hold a record of it, as (subject, role);
    a subject None (a calendar that cannot be told) counts as someone else. ``hands-off``: always
    a reference. ``first-claimant``: acting when another calendar of the same subject acts for it
    already (the user claimed it first), else when no other subject holds a record of it at all,
    whatever that record's role: two users whose records both predate owners both get a
    reference, since nothing tells which of them was first.
    """
    if policy == "hands-off":
        return "reference"
    others = list(claimants)
    if any(role == "acting" and same_address(subject, other) for other, role in others):
        return "acting"
    if all(same_address(subject, other) for other, _ in others):
        return "acting"
    return "reference"
