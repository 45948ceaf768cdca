"""The ``renewal`` scenario at a tiny scale on the emulators: it ends once no channel is due, and
renews every seeded channel (it once looped until its 20-tick guard: the channel store's query
answers a page, which is truthy even when empty)."""

from __future__ import annotations

import pytest

from bench import channels, report
from devstack.sdk import MissingPrerequisiteError, find_jars


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_a_tiny_renewal_renews_every_channel_and_stops(monkeypatch: pytest.MonkeyPatch) -> None:
    try:
        find_jars()
    except MissingPrerequisiteError as err:
        pytest.skip(f"gcloud emulators not installed: {err}")
    monkeypatch.setenv("BENCH_SCALE", "0.02")  # 100 calendars, 10 of them the busy subject's

    [row] = channels.run()

    assert row["channels"] == 100
    assert 1 <= row["ticks"] <= 3
    assert row["calendar_calls"] == 2 * 100  # a watch and a stop each
    assert row["max_subject_rpm"] <= 300
    assert report.problems([row], required=[]) == []
