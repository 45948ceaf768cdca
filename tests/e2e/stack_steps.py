"""Steps the e2e modules share, all through public interfaces: enroll
a user's calendar, adopt events with conferences of their own, know that a calendar has synced
(a marker event's renames reaching the conferencing system) and read the provider's request log
and ``confsync status``."""

from __future__ import annotations

import time
import uuid
from typing import Any

from devstack.stack import LOCAL_DELETE_GRACE_SECONDS
from tests.e2e.test_whole_stack import Stack, wait_for

Adopted = tuple[str, str]
"""An adopted event of a calendar's own: its event id and its conference id."""


def new_user(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:10]}@example.com"


def calendar_key_of(calendar_id: str) -> str:
    """The key the stack gives a user's own calendar (enrolled under that user)."""
    from confsync.calendars import calendar_key  # noqa: PLC0415 - the stack's own key scheme

    return calendar_key(calendar_id, calendar_id)


def status(stack: Stack, calendar_id: str, subject: str | None = None) -> dict[str, Any]:
    """The calendar's row of ``confsync status --json``; ``subject``: the user it is enrolled
    under, when not its own (a secondary calendar)."""
    answer = stack.confsync_json(
        "status", "--subject", subject or calendar_id, "--calendar", calendar_id, "--json"
    )
    [row] = answer["calendars"]
    assert isinstance(row, dict)
    return row


def enrolled(stack: Stack, name: str) -> str:
    """A new user's calendar, enrolled: its channel watched and its first sync token stored."""
    calendar_id = new_user(name)
    stack.enroll(calendar_id)
    wait_for(lambda: len(stack.channels(calendar_id)) == 1, f"{name}'s channel")
    wait_for(lambda: status(stack, calendar_id)["syncToken"] is True, f"{name}'s first sync")
    return calendar_id


def adopted(
    stack: Stack, calendar_id: str, title: str, *, owner: str | None = None, **fields: Any
) -> Adopted:
    """A new event of the calendar's user carrying a new conference of theirs (created with the
    user as owner, as the add-on does; ``owner``: the user a secondary calendar is enrolled
    under), once the sync has adopted it (the conference shows the title)."""
    conference = stack.create_conference(owner=owner or calendar_id)
    event = stack.insert_event(calendar_id, conference, summary=title, **fields)
    wait_for(lambda: stack.conference(conference["id"])["title"] == title, f"{title!r} adopted")
    return event["id"], conference["id"]


def rename(stack: Stack, calendar_id: str, marker: Adopted, title: str) -> None:
    """Rename the marker event and wait until its conference shows the new title."""
    event_id, conference_id = marker
    stack.patch_event(calendar_id, event_id, summary=title)
    wait_for(lambda: stack.conference(conference_id)["title"] == title, f"the rename {title!r}", 30)


def settle(stack: Stack, calendar_id: str, marker: Adopted) -> None:
    """Return once every change made to the calendar before the call has been synced, and
    whatever those syncs sent has reached the conferencing system.

    ``marker`` is an adopted event of the calendar's own. Its first rename comes after every
    earlier change in the calendar's change order, so the pull that brings it brought them too;
    the second rename is made after the first reached the conferencing system, so the pull that
    brings it starts after that page's sends are done (pulls of one calendar never overlap)."""
    for step in ("first", "second"):
        rename(stack, calendar_id, marker, f"Marker, {step} rename {uuid.uuid4().hex[:6]}")


def sent_since(stack: Stack, mark: int, conference_ids: set[str]) -> list[dict[str, Any]]:
    """The provider's PUTs and DELETEs for ``conference_ids`` after the first ``mark`` entries
    of its request log (the log is never reset in these modules)."""
    return [r for r in stack.provider_requests()[mark:] if r["conferenceId"] in conference_ids]


def notifications(stack: Stack, calendar_id: str, outcome: str) -> int:
    """How many push notifications for the calendar the Calendar emulator logged with
    ``outcome`` (``delivered``, ``dropped``, ...)."""
    answer = stack.http.get(f"{stack.calendar}/emulator/v1/notifications", timeout=stack.timeout)
    answer.raise_for_status()
    logged: list[dict[str, Any]] = answer.json()["notifications"]
    return sum(1 for n in logged if n["calendarId"] == calendar_id and n["outcome"] == outcome)


def secondary(stack: Stack, user: str, name: str = "team") -> str:
    """A second calendar of ``user`` (a group calendar they own: its ACL names them owner, so
    their ``calendarList`` shows it), enrolled under them with ``confsync enroll --subject
    --calendar`` and ready (active, watched, its first sync token stored)."""
    calendar_id = f"{name}-{uuid.uuid4().hex[:10]}@group.calendar.google.com"
    stack.set_calendar_role(calendar_id, user, "owner")
    listed = {entry["id"]: entry["accessRole"] for entry in stack.calendar_list(user)}
    assert listed.get(calendar_id) == "owner", listed
    answer = stack.confsync_json(
        "enroll", "--subject", user, "--calendar", calendar_id, "--wait", "30", "--json"
    )
    assert answer["ready"] is True, answer
    return calendar_id


def move_as(
    stack: Stack, user: str, calendar_id: str, event_id: str, destination: str
) -> dict[str, Any]:
    """``events.move`` made by ``user`` (who needs writer access to both calendars); the event
    as the destination holds it."""
    answer = stack.http.post(
        f"{stack.calendar}/calendar/v3/calendars/{calendar_id}/events/{event_id}/move",
        params={"destination": destination},
        headers={"Authorization": f"Bearer user:{user}"},
        timeout=stack.timeout,
    )
    answer.raise_for_status()
    moved: dict[str, Any] = answer.json()
    return moved


def conference_data_of(stack: Stack, calendar_id: str, event_id: str) -> dict[str, Any]:
    """The ``conferenceData`` of an event as the Calendar lists it (to copy it elsewhere)."""
    [event] = [e for e in stack.list_events(calendar_id) if e["id"] == event_id]
    data: dict[str, Any] = event["conferenceData"]
    return data


def wait_past_grace(since: float) -> None:
    """Sleep until the stack's delete grace (and a second more) has passed since ``since``
    (a ``time.monotonic()`` reading taken when an event left a calendar)."""
    left = since + float(LOCAL_DELETE_GRACE_SECONDS) + 1.0 - time.monotonic()
    if left > 0:
        time.sleep(left)
