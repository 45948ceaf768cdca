"""The ``fleet`` scenario: its read counter, the tick interval it reports, and the scenario end to
end at a tiny size on the emulators. No timing is asserted: the scenario is a measurement."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore
from google.cloud.firestore_v1.types import BatchGetDocumentsResponse, Document, RunQueryResponse

from bench import fleet, report
from bench.firestore_reads import count_reads
from devstack.sdk import MissingPrerequisiteError, find_jars


class FakeApi:
    """API stubs answering each query and batched get with the responses given."""

    def __init__(self, answers: list[list[Any]]) -> None:
        self._answers = iter(answers)
        self.closed = False

    def run_query(self, **_: Any) -> Iterator[RunQueryResponse]:
        return iter(next(self._answers))

    def batch_get_documents(self, **_: Any) -> Iterator[BatchGetDocumentsResponse]:
        return iter(next(self._answers))

    def close(self) -> None:
        self.closed = True


def _found(name: str) -> Document:
    return Document(name=f"projects/p/databases/(default)/documents/calendars/{name}")


def test_reads_are_counted_per_document_and_per_empty_query() -> None:
    client = firestore.Client(project="confsync-offline", credentials=AnonymousCredentials())
    counter = count_reads(client)
    api = FakeApi(
        [
            [RunQueryResponse(document=_found("a")), RunQueryResponse(document=_found("b"))],
            [RunQueryResponse()],  # a query that found nothing: only its read time
            [
                BatchGetDocumentsResponse(found=_found("a")),
                BatchGetDocumentsResponse(missing="projects/p/databases/(default)/documents/x"),
            ],
        ]
    )
    stubs: Any = client._firestore_api  # the counting stubs count_reads put in
    stubs._inner = api

    assert len(list(stubs.run_query(request={}))) == 2
    assert counter.reads == 2
    list(stubs.run_query(request={}))
    assert counter.reads == 3
    list(stubs.batch_get_documents(request={}))
    assert counter.reset() == 5
    assert counter.reads == 0
    stubs.close()  # everything else passes through
    assert api.closed


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
