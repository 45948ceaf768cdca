"""The ``flood`` scenario end to end at a tiny size, on its own private local stack: forged
notifications and enrolment requests are all refused while three genuine edits reach the
conferencing system. No timing is asserted: the scenario is a measurement (``make bench-flood``)."""

from __future__ import annotations

import pytest

from bench import flood, report
from devstack.sdk import MissingPrerequisiteError, find_jars

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

TINY = flood.FloodSize(forged_notifications=50, forged_enrolments=10, edits=3, calendars=2)


def test_a_tiny_flood_is_refused_and_every_genuine_edit_arrives() -> None:
    try:
        find_jars()
    except MissingPrerequisiteError as err:
        pytest.skip(f"gcloud emulators not installed: {err}")

    [row] = flood.run(TINY)

    assert row["name"] == "flood"
    # every forged request at least once, and again until the last genuine edit was made
    assert row["forged_requests"] >= 60
    assert row["refused_requests"] == row["forged_requests"]
    assert row["accepted_forged_requests"] == 0
    assert row["unsent_requests"] == 0
    assert row["refused_by_kind_requests"]["enrolment"] >= 10
    assert (row["edits"], row["missed_edits"], row["quiet_missed_edits"]) == (3, 0, 0)
    assert row["flood_overlapped_edits"] == 3  # every genuine edit made under the flood
    assert row["notes"].startswith("missed: 0 of 3")
    assert row["cpu_per_refusal_ms"] > 0
    assert report.problems([row], required=[]) == []
