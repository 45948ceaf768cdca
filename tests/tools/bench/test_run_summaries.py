"""Round trips per run, read from the sync function's summary lines."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

from bench.run_summaries import SyncLog, round_trips_per_run
from confsync.cloud_logging import CloudLoggingFormatter
from confsync.messages import SyncRequest
from confsync.sync.summary import LOGGER, SyncOutcome, SyncStats, log_summary

NOW = datetime(2026, 12, 4, 9, tzinfo=UTC)


def _summary(status: str, round_trips: int) -> str:
    run = {"status": status, "firestore_round_trips": round_trips}
    return json.dumps({"logger": "confsync.sync", "sync": run})


def test_the_mean_is_over_synced_runs_only() -> None:
    lines = [
        _summary("synced", 5),
        _summary("synced", 8),
        _summary("covered", 1),  # answered without a pull: not a run's cost
        _summary("coalesced", 3),
        json.dumps({"logger": "confsync.intake", "sync": {"status": "synced"}}),
        "[INFO] gunicorn booted",
    ]

    assert round_trips_per_run(lines) == 6.5


def test_no_synced_run_gives_no_figure() -> None:
    assert round_trips_per_run(["not json", _summary("covered", 1)]) is None


def test_the_real_summary_line_is_read(tmp_path: Path) -> None:
    """The line the runner logs, formatted as the functions log it, carries the figure."""
    path = tmp_path / "sync.log"
    handler = logging.FileHandler(path)
    handler.setFormatter(CloudLoggingFormatter())
    LOGGER.addHandler(handler)
    level = LOGGER.level
    LOGGER.setLevel(logging.INFO)
    try:
        request = SyncRequest(calendar_key="ck_1", reason="notification", notified_at=NOW)
        log = SyncLog(path)
        mark = log.mark()
        for count in (4, 6):
            outcome = SyncOutcome(status="synced", stats=SyncStats(firestore_round_trips=count))
            log_summary("ck_1", request, outcome, now=None)
        handler.flush()
    finally:
        LOGGER.setLevel(level)
        LOGGER.removeHandler(handler)
        handler.close()

    assert log.round_trips_since(mark) == 5.0
    assert log.round_trips_since(log.mark()) is None
