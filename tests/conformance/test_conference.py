"""Conference data: conferenceDataVersion 0 and 1, creating and copying a conference
(reference 2.1, 2.2). The conference is a Google Meet one made through ``createRequest``, the
only kind any caller may create; copying it is what confsync does with its own."""

from __future__ import annotations

import secrets
import time
from typing import Any

import pytest

from conformance.calendar import Calendar, timed_event


def _meet(calendar: Calendar, day: int) -> dict[str, Any]:
    """An event with a Meet conference, once its creation is no longer pending."""
    request = {
        "createRequest": {
            "requestId": secrets.token_hex(8),
            "conferenceSolutionKey": {"type": "hangoutsMeet"},
        }
    }
    event = calendar.must_insert(
        timed_event("with a conference", day=day, conferenceData=request),
        conferenceDataVersion=1,
    )
    for _ in range(10):  # creation may be pending at first (2.1)
        status = event["conferenceData"]["createRequest"]["status"]["statusCode"]
        if status != "pending":
            break
        time.sleep(1)
        event = calendar.get(event["id"]).body
    if status != "success":
        pytest.skip(f"the calendar cannot create Meet conferences here (status {status})")
    return event


def test_conference_data_needs_version_1_to_be_written(calendar: Calendar) -> None:
    source = _meet(calendar, 500)
    copied = {"conferenceData": source["conferenceData"]}

    ignored = calendar.must_insert(timed_event("version 0", day=501, **copied))
    kept = calendar.must_insert(
        timed_event("version 1", day=501, **copied), conferenceDataVersion=1
    )

    assert "conferenceData" not in ignored  # 2.2: version 0 ignores it
    assert kept["conferenceData"]["conferenceId"] == source["conferenceData"]["conferenceId"]
    assert kept["conferenceData"]["entryPoints"] == source["conferenceData"]["entryPoints"]


def test_a_full_update_with_version_1_and_no_conference_removes_it(calendar: Calendar) -> None:
    event = _meet(calendar, 502)
    without = {k: v for k, v in event.items() if k != "conferenceData"}

    kept = calendar.update(event["id"], {**without, "summary": "v0"})
    removed = calendar.update(event["id"], {**without, "summary": "v1"}, conferenceDataVersion=1)

    assert kept.status == 200
    assert "conferenceData" in kept.body  # version 0: the conference stays
    assert removed.status == 200
    assert "conferenceData" not in removed.body  # the TRAP of 2.2
