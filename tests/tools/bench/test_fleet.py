"""The ``fleet`` scenario: its read counter, the tick interval it reports, and the scenario end to
end at a tiny size on the emulators. No timing is asserted: the scenario is a measurement."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from bench import fleet, report
from bench.firestore_reads import count_reads
from confsync.adapters import firestore_http as firestore
from devstack.sdk import MissingPrerequisiteError, find_jars


class FakeHttp:
    """Answers each request with the JSON given, in turn."""

    def __init__(self, answers: list[Any]) -> None:
        self._answers = iter(answers)

    def request(self, *_: Any, **__: Any) -> Any:
        return SimpleNamespace(status=200, data=json.dumps(next(self._answers)).encode())


_DOCS = "projects/p/databases/(default)/documents"


def _found(name: str) -> dict[str, Any]:
    return {"name": f"{_DOCS}/calendars/{name}", "updateTime": "2026-12-04T09:00:00Z"}


def test_reads_are_counted_per_document_and_per_empty_query() -> None:
    http = FakeHttp(
        [
            [{"document": _found("a")}, {"document": _found("b")}],
            [{"readTime": "2026-12-04T09:00:00Z"}],  # a query that found nothing
            [{"found": _found("a")}, {"missing": f"{_DOCS}/calendars/x"}],
        ]
    )
    client = firestore.Client("p", http=http)
    counter = count_reads(client)
    calendars = client.collection("calendars")

    assert len(list(calendars.stream())) == 2
    assert counter.reads == 2
    list(calendars.stream())
    assert counter.reads == 3
    client.get_all([calendars.document("a"), calendars.document("x")])
    assert counter.reset() == 5
    assert counter.reads == 0


def test_the_tick_interval_is_the_default_schedules() -> None:
    assert fleet.tick_interval_s() == 300


@pytest.mark.parametrize(("schedule", "seconds"), [("*/10 * * * *", 600), (" */1 * * * * ", 60)])
def test_the_tick_interval_is_read_from_an_every_n_minutes_schedule(
    tmp_path: Path, schedule: str, seconds: int
) -> None:
    variables = tmp_path / "variables.tf"
    variables.write_text(f'variable "tick_schedule" {{\n  default = "{schedule}"\n}}\n')

    assert fleet.tick_interval_s(variables) == seconds


def test_a_schedule_that_is_not_every_n_minutes_is_refused(tmp_path: Path) -> None:
    variables = tmp_path / "variables.tf"
    variables.write_text('variable "tick_schedule" {\n  default = "0 9 * * 1"\n}\n')

    with pytest.raises(ValueError, match="tick_schedule"):
        fleet.tick_interval_s(variables)


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_a_tiny_fleet_tick_hands_out_every_due_calendar_once() -> None:
    try:
        find_jars()
    except MissingPrerequisiteError as err:
        pytest.skip(f"gcloud emulators not installed: {err}")
    size = fleet.FleetSize(calendars=600, due_sweep=450, due_renewal=30)  # > one tick_batch

    [row] = fleet.run(size)

    assert (row["calendars"], row["due"]) == (600, 480)
    assert row["swept_calendars"] == 450
    assert row["swept_twice_calendars"] == 0
    assert row["renewed"] == 30
    assert row["failed_calendars"] == row["deferred_calendars"] == 0
    assert row["commands_published"] >= 2  # fanned out
    assert row["tick_firestore_reads"] <= 3 * row["due"] + 50
    assert report.problems([row], required=[]) == []
