"""The benchmark's baseline (the seed's recipe) against the Calendar and conferencing emulators.

The baseline is what confsync's figures are compared with, so it must do what its docstring says:
one pull per run with the stored token, an update for every changed event carrying our conference
(whether anything relevant changed or not), a full sync when the token is refused, and nothing for
deleted events.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from bench.baseline import BaselineSync, MemoryTokens
from calendar_emulator.server import EmulatorServer
from conferencing_emulator.server import ConferencingServer
from tests.support.calendar_events import conference_data
from tests.support.calendar_events import event as calendar_event

CALENDAR = "baseline@example.com"
SOLUTION = "My Web Conference"
START = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)


@dataclass
class Setup:
    calendar: str
    conferencing: str
    http: requests.Session
    tokens: MemoryTokens
    baseline: BaselineSync

    def insert(self, n: int, *, solution: str | None = SOLUTION) -> tuple[str, str | None]:
        """Event ``n`` (with a new conference of ``solution``, or none); (event id, conf id)."""
        start = START + timedelta(hours=n)
        body = calendar_event(
            summary=f"meeting {n}",
            start=start.isoformat(),
            end=(start + timedelta(minutes=30)).isoformat(),
        )
        conference_id = None
        if solution is not None:
            conference = self.http.post(f"{self.conferencing}/emulator/v1/conferences", json={})
            conference_id = conference.json()["id"]
            body["conferenceData"] = conference_data(
                conference_id, solution=solution, join_url="https://conf.example/j"
            )
        event = self.http.post(
            f"{self.calendar}/calendar/v3/calendars/{CALENDAR}/events",
            params={"conferenceDataVersion": 1},
            json=body,
        )
        event.raise_for_status()
        return event.json()["id"], conference_id

    def event_url(self, event_id: str) -> str:
        return f"{self.calendar}/calendar/v3/calendars/{CALENDAR}/events/{event_id}"

    def titles(self) -> dict[str, str]:
        listed = self.http.get(f"{self.conferencing}/emulator/v1/conferences").json()
        return {c["id"]: c["title"] for c in listed["conferences"]}

    def provider_log(self) -> list[dict[str, Any]]:
        log: list[dict[str, Any]] = self.http.get(
            f"{self.conferencing}/emulator/v1/requests"
        ).json()["requests"]
        self.http.post(f"{self.conferencing}/emulator/v1/requests/reset")
        return log


@pytest.fixture(name="setup")
def setup_fixture() -> Iterator[Setup]:
    with EmulatorServer() as calendar, ConferencingServer() as conferencing:
        tokens = MemoryTokens()
        yield Setup(
            calendar=calendar.base_url,
            conferencing=conferencing.base_url,
            http=requests.Session(),
            tokens=tokens,
            baseline=BaselineSync(
                calendar_api=calendar.api_endpoint,
                conferencing=conferencing.base_url,
                tokens=tokens,
                solution_names=frozenset({SOLUTION}),
            ),
        )


def test_first_run_updates_every_conference_event_and_stores_a_token(setup: Setup) -> None:
    ours = [setup.insert(n)[1] for n in range(3)]
    setup.insert(3, solution=None)  # most events carry no conference: must not abort the run
    foreign = setup.insert(4, solution="Someone Else's Meeting")[1]

    run = setup.baseline.run("ck1", CALENDAR)

    assert (run.list_calls, run.events, run.updates, run.full_sync) == (1, 5, 3, False)
    titles = setup.titles()
    assert [titles[c] for c in ours if c] == ["meeting 0", "meeting 1", "meeting 2"]
    assert titles[str(foreign)] != "meeting 4"
    assert setup.tokens.get("ck1")


def test_every_changed_conference_event_is_updated_even_when_nothing_relevant_changed(
    setup: Setup,
) -> None:
    first, conference = setup.insert(0)
    setup.insert(1)
    setup.baseline.run("ck1", CALENDAR)
    setup.provider_log()

    setup.http.patch(setup.event_url(first), json={"description": "notes only"})
    quiet = setup.baseline.run("ck1", CALENDAR)
    assert [(r["method"], r["conferenceId"]) for r in setup.provider_log()] == [("PUT", conference)]

    setup.http.patch(setup.event_url(first), json={"summary": "renamed"})
    renamed = setup.baseline.run("ck1", CALENDAR)
    assert (quiet.list_calls, quiet.updates, renamed.updates) == (1, 1, 1)
    assert setup.titles()[str(conference)] == "renamed"


def test_a_refused_token_leads_to_a_full_sync_in_the_same_run(setup: Setup) -> None:
    for n in range(3):
        setup.insert(n)
    setup.baseline.run("ck1", CALENDAR)
    setup.http.post(f"{setup.calendar}/emulator/v1/calendars/{CALENDAR}/invalidate-sync-tokens")

    run = setup.baseline.run("ck1", CALENDAR)

    assert (run.full_sync, run.list_calls, run.updates) == (True, 2, 3)


def test_deleted_events_leave_their_conference_alone_as_in_the_seed(setup: Setup) -> None:
    event_id, conference = setup.insert(0)
    setup.baseline.run("ck1", CALENDAR)
    setup.provider_log()

    setup.http.delete(setup.event_url(event_id)).raise_for_status()
    run = setup.baseline.run("ck1", CALENDAR)

    assert (run.events, run.updates, setup.provider_log()) == (1, 0, [])
    assert setup.titles()[str(conference)] == "meeting 0"
