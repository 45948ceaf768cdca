"""The sync summary line as Cloud Logging receives it: the contract with the Terraform metric.

The notification-to-applied latency metric is a log-based distribution metric that filters on
``jsonPayload.sync.reason="notification"`` and extracts ``jsonPayload.latency_s``. Cloud Logging
turns the top-level keys of a JSON line into ``jsonPayload``, so these tests render the summary
record with the formatter the functions use and read the keys where the metric reads them.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import hcl2
import pytest
from hcl2 import SerializationOptions

from confsync.calendars import CalendarDoc, calendar_key
from confsync.cloud_logging import CloudLoggingFormatter
from confsync.errors import CalendarAccessError
from confsync.messages import SyncReason, SyncRequest
from confsync.planner import ConferenceMatcher
from confsync.sync import SyncRunner
from confsync.testing import (
    FakeCalendar,
    InMemoryCalendarStore,
    InMemoryRecordStore,
    RecordingProvider,
    RecordingPublisher,
)
from confsync.testing.settings import sync_settings

SUBJECT = "alice@example.com"
KEY = calendar_key(SUBJECT, SUBJECT)
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
TERRAFORM = Path(__file__).resolve().parents[2] / "terraform"
FIELD = re.compile(r"jsonPayload\.(?P<path>[A-Za-z_][\w.]*)")
EQUALS = re.compile(r'jsonPayload\.(?P<path>[\w.]+)="(?P<value>[^"]*)"')
CALENDAR_CALL = timedelta(milliseconds=750)
"""How far the test clock moves on each Calendar list call, standing for the call's duration."""


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now


class SlowCalendar(FakeCalendar):
    """The fake Calendar, whose every list call takes :data:`CALENDAR_CALL` of the test clock."""

    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self.clock = self.test_clock = clock

    def list_page(self, *args: Any, **kwargs: Any) -> Any:
        self.test_clock.now += CALENDAR_CALL
        return super().list_page(*args, **kwargs)


@functools.cache
def _log_metrics() -> tuple[tuple[str, str, str], ...]:
    """(name, filter, value extractor) of every log-based metric in the Terraform module."""
    options = SerializationOptions(strip_string_quotes=True)
    found = []
    for path in sorted(TERRAFORM.glob("*.tf")):
        with path.open(encoding="utf-8") as handle:
            parsed = hcl2.load(handle, serialization_options=options)
        for block in parsed.get("resource", []):
            for name, body in block.get("google_logging_metric", {}).items():
                found.append(
                    (name, str(body.get("filter", "")), str(body.get("value_extractor", "")))
                )
    return tuple(found)


def _field(entry: Mapping[str, Any], path: str) -> Any:
    """The value at ``jsonPayload.<path>`` of ``entry`` (KeyError when it is not there)."""
    value: Any = entry
    for part in path.split("."):
        value = value[part]
    return value


def _summary_entry(caplog: pytest.LogCaptureFixture) -> dict[str, Any]:
    """The summary record, rendered as the JSON line Cloud Logging ingests."""
    [record] = [r for r in caplog.records if r.name == "confsync.sync" and "sync" in r.__dict__]
    entry: dict[str, Any] = json.loads(CloudLoggingFormatter().format(record))
    return entry


def _run(
    caplog: pytest.LogCaptureFixture, reason: SyncReason, notified_at: datetime, **faults: Any
) -> tuple[Mapping[str, Any], Clock]:
    clock = Clock()
    calendar = SlowCalendar(clock)
    for name, value in faults.items():
        setattr(calendar, name, value)
    calendars = InMemoryCalendarStore()
    calendars.put(CalendarDoc(key=KEY, subject=SUBJECT, calendar_id=SUBJECT))
    runner = SyncRunner(
        calendar_api=calendar,
        calendar_store=calendars,
        records=InMemoryRecordStore(),
        provider=RecordingProvider(),
        publisher=RecordingPublisher(),
        settings=sync_settings(
            matcher=ConferenceMatcher(solution_names=frozenset()),
            relevant_fields=frozenset({"title"}),
        ),
        now=clock,
    )
    caplog.set_level(logging.INFO, logger="confsync.sync")
    runner.run(SyncRequest(calendar_key=KEY, reason=reason, notified_at=notified_at))
    return _summary_entry(caplog), clock


def test_summary_has_the_fields_the_terraform_latency_metric_reads(
    caplog: pytest.LogCaptureFixture,
) -> None:
    notified = T0 - timedelta(seconds=1.5)

    entry, clock = _run(caplog, "notification", notified)

    assert clock.now > T0  # the run took time on the clock: latency is taken at its end
    assert entry["sync"]["reason"] == "notification"  # jsonPayload.sync.reason
    assert entry["sync"]["status"] == "synced"
    latency = entry["latency_s"]  # jsonPayload.latency_s, a number the metric can extract
    assert isinstance(latency, float)
    assert latency == round((clock.now - notified).total_seconds(), 3)
    assert "latency_s" not in entry["sync"]


@pytest.mark.parametrize("reason", ["sweep", "manual", "enroll"])
def test_every_summary_line_carries_latency_whatever_the_reason(
    caplog: pytest.LogCaptureFixture, reason: SyncReason
) -> None:
    notified = T0 - timedelta(minutes=2)

    entry, clock = _run(caplog, reason, notified)

    assert entry["sync"]["reason"] == reason
    assert entry["latency_s"] == round((clock.now - notified).total_seconds(), 3)


def test_a_disconnected_run_still_reports_latency(caplog: pytest.LogCaptureFixture) -> None:
    entry, clock = _run(
        caplog,
        "notification",
        T0,
        fail_lists=[CalendarAccessError("401 invalid_grant")],
    )

    assert entry["sync"]["status"] == "disconnected"
    assert entry["latency_s"] == round((clock.now - T0).total_seconds(), 3)


def test_latency_is_rounded_to_the_millisecond(caplog: pytest.LogCaptureFixture) -> None:
    entry, clock = _run(caplog, "notification", T0 - timedelta(microseconds=123_456))

    assert entry["latency_s"] == round((clock.now - T0).total_seconds() + 0.123456, 3)
    assert len(str(entry["latency_s"]).split(".")[1]) <= 3


def test_the_terraform_latency_metric_reads_fields_the_summary_has(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Both sides of the contract: the metric extracting ``latency_s`` selects a notification
    run's summary line, and extracts a number from it."""
    [(name, selector, extractor)] = [m for m in _log_metrics() if "latency_s" in m[2]]
    entry, _ = _run(caplog, "notification", T0 - timedelta(seconds=3))

    assert extractor == "EXTRACT(jsonPayload.latency_s)", name
    assert isinstance(_field(entry, "latency_s"), float)
    equalities = EQUALS.findall(selector)
    assert ("sync.reason", "notification") in equalities, selector
    for path, value in equalities:
        assert str(_field(entry, path)) == value, (name, path)


def test_every_sync_field_a_terraform_metric_reads_is_on_the_summary(
    caplog: pytest.LogCaptureFixture,
) -> None:
    entry, _ = _run(caplog, "notification", T0)
    read = {
        (name, match["path"])
        for name, selector, extractor in _log_metrics()
        for match in FIELD.finditer(f"{selector} {extractor}")
        if not match["path"].startswith("channels.")  # the channels function's report
    }

    assert read, "no log-based metric reads the sync summary"
    missing = sorted((name, path) for name, path in read if not _has(entry, path))
    assert missing == []


def _has(entry: Mapping[str, Any], path: str) -> bool:
    try:
        _field(entry, path)
    except (KeyError, TypeError):
        return False
    return True
