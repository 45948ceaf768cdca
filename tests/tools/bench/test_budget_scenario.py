"""The ``budget`` scenario end to end at a tiny size, on its own Firestore emulator: the steady
phase spends every call it asks for, in chunks; the drained phase never gets more than its window
allows. No timing is asserted: the scenario is a measurement (``python -m bench --only budget``)."""

from __future__ import annotations

import pytest

from bench import budget, report
from confsync.calendar_budget import chunk_for, per_window
from confsync.settings import variable
from devstack.sdk import MissingPrerequisiteError, find_jars

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

TINY = budget.BudgetSize(instances=3, calls_per_instance=60, drained_per_window=300)


def test_a_tiny_budget_run_claims_in_chunks_and_never_grants_beyond_the_budget() -> None:
    try:
        find_jars()
    except MissingPrerequisiteError as err:
        pytest.skip(f"gcloud emulators not installed: {err}")

    [row] = budget.run(TINY)

    assert row["name"] == "budget"
    assert row["steady_calendar_calls"] == 180
    default = per_window(int(str(variable("CONFSYNC_PROJECT_CALENDAR_PER_MINUTE").default)))
    assert row["steady_firestore_requests"] >= 3 * -(-60 // chunk_for(default))  # in chunks
    assert row["steady_firestore_requests"] < 60  # not one per call
    assert 0 < row["drained_granted_calls"] <= 300
    assert row["claim_p95_ms"] >= row["claim_p50_ms"] > 0
    assert report.problems([row], required=[]) == []
