"""Conference states and operations as the planner hands them to a provider.

One builder for every tier that talks to a ``ConferenceProvider`` (the contract suite, the HTTP
adapter's integration tests): :func:`conference_state` is a weekly series with a cancelled and a
moved occurrence, two attendees and an organizer, valid under ``docs/conferencing-api.yaml``;
keywords replace its fields. :func:`update` wraps it in an ``UpdateConference``. :data:`OWNER`
is the owner a conference is created for in these tests (its state's organizer).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from confsync.conference import ConferenceState, Occurrence
from confsync.planner import UpdateConference

__all__ = ["MOVED_OCCURRENCE_START", "OWNER", "conference_state", "update"]

OWNER = "ada@example.com"
"""The organizer of :func:`conference_state`: the owner its conference is created for."""

MOVED_OCCURRENCE_START = "2030-03-18T10:00:00+01:00"
"""Where :func:`conference_state`'s one moved occurrence now starts."""


def conference_state(**changes: Any) -> ConferenceState:
    """A valid weekly meeting; ``changes`` replace fields (by ``ConferenceState`` name)."""
    base = ConferenceState(
        title="Weekly sync",
        start="2030-03-04T09:00:00+01:00",
        end="2030-03-04T09:30:00+01:00",
        time_zone="Europe/Berlin",
        attendees=("ada@example.com", "grace@example.com"),
        recurrence=("RRULE:FREQ=WEEKLY;COUNT=5",),
        cancelled_occurrences=("2030-03-11T09:00:00+01:00",),
        modified_occurrences=(
            Occurrence(
                original_start="2030-03-18T09:00:00+01:00",
                start=MOVED_OCCURRENCE_START,
                end="2030-03-18T10:30:00+01:00",
                title=None,
            ),
        ),
        organizer=OWNER,
        calendar_id="primary",
        event_id="evt123",
    )
    return replace(base, **changes)


def update(
    conference_id: str,
    revision: int,
    *,
    changed_fields: Sequence[str] | None = None,
    **changes: Any,
) -> UpdateConference:
    """An update of ``conference_id`` to :func:`conference_state` with ``changes``.
    ``changed_fields`` defaults to the names of ``changes`` (``title`` when there are none)."""
    return UpdateConference(
        record_key=f"rec-{conference_id}",
        conference_id=conference_id,
        state=conference_state(**changes),
        revision=revision,
        changed_fields=tuple(changed_fields or sorted(changes) or ("title",)),
    )
