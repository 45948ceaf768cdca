"""The log-based metrics, alert policies and dashboard against the logs the code really writes.

The fields a metric reads are derived from the code, not listed here: a sync run and channel
commands are executed against the in-memory fakes, their summary records are rendered with the
functions' own :class:`~confsync.cloud_logging.CloudLoggingFormatter`, and the JSON keys of those
lines are the ``jsonPayload`` paths Cloud Logging will hold. A metric filtering on a renamed or
removed field fails here instead of silently counting nothing in production.
"""

from __future__ import annotations

import functools
import json
import logging
import random
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, get_args

import pytest

from confsync.calendars import CalendarDoc, calendar_key
from confsync.channel_tokens import ChannelTokenKeys
from confsync.channels import ChannelService
from confsync.cloud_logging import CloudLoggingFormatter
from confsync.messages import SyncReason, SyncRequest
from confsync.planner import ConferenceMatcher
from confsync.sync import Status, SyncRunner
from confsync.testing import (
    FakeCalendar,
    InMemoryCalendarStore,
    InMemoryChannelStore,
    InMemoryRecordStore,
    RecordingCommandPublisher,
    RecordingProvider,
    RecordingPublisher,
)
from confsync.testing.settings import channel_settings, sync_settings
from tests.support.calendar_events import conference_data, event

from .hcl import Body, expression, one, root, strings

SUBJECT = "alice@example.com"
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
USER_METRIC = re.compile(r"logging\.googleapis\.com/user/\$\{google_logging_metric\.(\w+)\.name\}")
METRIC_TYPE = re.compile(r'metric\.type=\\?"(?P<type>[^"\\]+(?:\$\{[^}]+\}[^"\\]*)?)\\?"')
BUILT_IN_METRICS = frozenset({"pubsub.googleapis.com/subscription/num_undelivered_messages"})
"""Google's own metrics the alerts and the dashboard may use besides the declared ones."""
FIELD = re.compile(r"jsonPayload\.([A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*)")
COMPARED = re.compile(r'jsonPayload\.([\w.]+)="([^"\\]*)\\?"')


# --- what the code logs ---------------------------------------------------------------------------


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[dict[str, Any]] = []
        self.formatter_ = CloudLoggingFormatter()

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.formatter_.format(record)))


def _captured(logger: str, work: Any) -> list[dict[str, Any]]:
    """The JSON lines ``logger`` writes while ``work()`` runs, as Cloud Logging ingests them."""
    handler = _Capture()
    target = logging.getLogger(logger)
    previous = target.level
    target.addHandler(handler)
    target.setLevel(logging.INFO)
    try:
        work()
    finally:
        target.removeHandler(handler)
        target.setLevel(previous)
    return handler.lines


def _paths(value: Mapping[str, Any], prefix: str = "") -> Iterator[str]:
    for key, item in value.items():
        path = f"{prefix}{key}"
        yield path
        if isinstance(item, Mapping):
            yield from _paths(item, f"{path}.")


@functools.cache
def sync_summary() -> dict[str, Any]:
    """The summary line of one notification-driven sync run."""
    key = calendar_key(SUBJECT, SUBJECT)
    calendars = InMemoryCalendarStore()
    calendars.put(CalendarDoc(key=key, subject=SUBJECT, calendar_id=SUBJECT))
    runner = SyncRunner(
        calendar_api=FakeCalendar(),
        calendar_store=calendars,
        records=InMemoryRecordStore(),
        provider=RecordingProvider(),
        publisher=RecordingPublisher(),
        settings=sync_settings(
            matcher=ConferenceMatcher(solution_names=frozenset({"My Web Conference"})),
            relevant_fields=frozenset({"title"}),
        ),
        now=lambda: NOW,
    )
    request = SyncRequest(
        calendar_key=key, reason="notification", notified_at=NOW - timedelta(seconds=2)
    )
    lines = _captured("confsync.sync", lambda: runner.run(request))
    summaries = [line for line in lines if "sync" in line]
    assert len(summaries) == 1, lines
    return summaries[0]


@functools.cache
def channel_reports() -> list[dict[str, Any]]:
    """The report lines of a tick and of a renewal batch."""
    service = ChannelService(
        calendar_api=FakeCalendar(),
        calendar_store=InMemoryCalendarStore(),
        channels=InMemoryChannelStore(),
        publisher=RecordingPublisher(),
        commands=RecordingCommandPublisher(),
        settings=channel_settings(
            intake_url="https://intake.example/notify",
            token_keys=ChannelTokenKeys.parse("k1:channel-secret-0123456789", "k1"),
        ),
        now=lambda: NOW,
        rng=random.Random(1),
    )
    lines = _captured("confsync.channels", lambda: (service.tick(), service.renew([])))
    reports = [line for line in lines if "channels" in line]
    assert [r["channels"]["command"] for r in reports] == ["tick", "renew"], lines
    return reports


@functools.cache
def emitted() -> dict[str, frozenset[str]]:
    """jsonPayload paths the code writes, by the function whose logs carry them."""
    return {
        "sync": frozenset(_paths(sync_summary())),
        "channels": frozenset(p for r in channel_reports() for p in _paths(r)),
    }


# --- what Terraform declares ----------------------------------------------------------------------


def metrics() -> dict[str, Body]:
    return root().resources("google_logging_metric")


def alerts() -> dict[str, Body]:
    return root().resources("google_monitoring_alert_policy")


def metric_text(body: Body) -> str:
    """Everything a metric reads: its filter, value extractor and label extractors."""
    parts = [body["filter"], body.get("value_extractor", "")]
    parts += list(body.get("label_extractors", {}).values())
    return " ".join(parts)


def functions_filtered(body: Body) -> set[str]:
    """The functions whose logs a metric's filter selects."""
    found = set(re.findall(r"local\.function_logs\.(\w+)", body["filter"]))
    found |= set(re.findall(r"module\.(\w+)\.name", body["filter"]))
    if "local.all_function_logs" in body["filter"]:
        found |= {"channels", "intake", "sync"}
    return found


def referenced_metric_types(texts: Iterator[str]) -> list[str]:
    return [m.group("type") for text in texts for m in METRIC_TYPE.finditer(text)]


# --- metrics --------------------------------------------------------------------------------------


def test_the_summary_lines_are_what_the_metrics_expect() -> None:
    summary = sync_summary()
    assert summary["severity"] == "INFO"
    assert summary["sync"]["reason"] == "notification"
    assert isinstance(summary["latency_s"], float)
    assert summary["latency_s"] == pytest.approx(2.0)
    assert all(isinstance(r["channels"]["failed"], int) for r in channel_reports())


@pytest.mark.parametrize("name", sorted(root().resources("google_logging_metric")))
def test_every_metric_reads_fields_the_code_writes(name: str) -> None:
    body = metrics()[name]
    fields = FIELD.findall(metric_text(body))
    selected = functions_filtered(body)
    assert selected, f"{name} selects no function's logs"
    available = frozenset().union(*(emitted().get(f, frozenset()) for f in selected))
    for field in fields:
        assert field in available, f"{name} reads jsonPayload.{field}, not written by {selected}"


@pytest.mark.parametrize("name", sorted(root().resources("google_logging_metric")))
def test_every_compared_value_is_one_the_code_writes(name: str) -> None:
    commands = {r["channels"]["command"] for r in channel_reports()} | {"sweep"}
    allowed = {
        "sync.reason": set(get_args(SyncReason)),
        "sync.status": set(get_args(Status)),
        "channels.command": commands,
    }
    for field, value in COMPARED.findall(metric_text(metrics()[name])):
        assert field in allowed, f"{name} compares jsonPayload.{field}, which has no known values"
        assert value in allowed[field], f"{name}: jsonPayload.{field} is never {value!r}"


@pytest.mark.parametrize("name", sorted(root().resources("google_logging_metric")))
def test_every_metric_is_a_delta_of_a_well_formed_kind(name: str) -> None:
    body = metrics()[name]
    descriptor = one(body, "metric_descriptor")
    assert descriptor["metric_kind"] == "DELTA"
    labels = {label["key"] for label in descriptor.get("labels", [])}
    assert labels == set(body.get("label_extractors", {})), f"{name}: labels and extractors"
    if descriptor["value_type"] == "DISTRIBUTION":
        assert re.fullmatch(r"EXTRACT\(jsonPayload\.[\w.]+\)", body["value_extractor"])
        assert one(body, "bucket_options")
    else:
        assert descriptor["value_type"] == "INT64"
        assert "value_extractor" not in body
    assert expression(body["name"]) is None
    assert body["name"].startswith("${var.prefix}-")


def test_latency_is_a_distribution_of_notification_driven_runs() -> None:
    latency = metrics()["sync_latency"]
    assert latency["value_extractor"] == "EXTRACT(jsonPayload.latency_s)"
    assert 'jsonPayload.sync.reason="notification"' in latency["filter"]
    assert one(latency, "metric_descriptor")["unit"] == "s"
    assert one(metrics()["pending_operations"], "metric_descriptor")["value_type"] == (
        "DISTRIBUTION"
    )
    assert metrics()["pending_operations"]["value_extractor"] == "EXTRACT(jsonPayload.sync.pending)"


@pytest.mark.parametrize("status", ["covered", "dropped"])
def test_runs_that_do_no_work_are_not_counted_as_leaving_nothing_pending(status: str) -> None:
    assert f'jsonPayload.sync.status!="{status}"' in metrics()["pending_operations"]["filter"]


def test_function_logs_select_each_function_by_its_service_name() -> None:
    logs = root().local("function_logs")
    assert "module.sync.name" in logs
    assert "module.channels.name" in logs
    assert 'resource.type=\\"cloud_run_revision\\"' in logs


# --- alerts ---------------------------------------------------------------------------------------


def _conditions(body: Body) -> list[Body]:
    return [one(condition, "condition_threshold") for condition in body["conditions"]]


@pytest.mark.parametrize("name", sorted(root().resources("google_monitoring_alert_policy")))
def test_every_alert_watches_a_declared_metric_and_notifies(name: str) -> None:
    body = alerts()[name]
    for condition in _conditions(body):
        types = referenced_metric_types(iter([condition["filter"]]))
        assert len(types) == 1, condition["filter"]
        user = USER_METRIC.fullmatch(types[0])
        assert (user and user.group(1) in metrics()) or types[0] in BUILT_IN_METRICS, types[0]
        assert condition["comparison"] == "COMPARISON_GT"
    assert body["notification_channels"] == "${var.alert_notification_channels}"
    assert "Operating confsync" in one(body, "documentation")["content"]


def test_the_issue_s_alerts_exist() -> None:
    watched = {
        match
        for body in alerts().values()
        for condition in _conditions(body)
        for match in USER_METRIC.findall(condition["filter"])
    }
    assert {"sync_failures", "calendars_disconnected", "channels_unrenewed"} <= watched
    assert "pending_operations" in watched
    dead_letters = _conditions(alerts()["dead_letters"])[0]["filter"]
    assert "google_pubsub_subscription.dead_letter_inspect.name" in dead_letters


# --- dashboard ------------------------------------------------------------------------------------


def test_the_dashboard_is_the_encoded_local() -> None:
    dashboard = root().resources("google_monitoring_dashboard")["main"]
    assert dashboard["dashboard_json"] == "${jsonencode(local.dashboard)}"


def test_the_dashboard_charts_only_declared_metrics() -> None:
    dashboard = root().local("dashboard")
    prefix = "${local.user_metric}/"
    assert root().local("user_metric") == "logging.googleapis.com/user"
    charted: set[str] = set()
    for metric_type in referenced_metric_types(strings(dashboard)):
        if metric_type.startswith(prefix):
            match = re.fullmatch(
                r"\$\{google_logging_metric\.(\w+)\.name\}", metric_type[len(prefix) :]
            )
            assert match, metric_type
            assert match.group(1) in metrics(), metric_type
            charted.add(match.group(1))
        else:
            assert metric_type in BUILT_IN_METRICS, metric_type
            charted.add(metric_type)
    assert {
        "sync_latency",
        "sync_runs",
        "pending_operations",
        "function_errors",
        "pubsub.googleapis.com/subscription/num_undelivered_messages",
    } <= charted
    text = " ".join(strings(dashboard))
    assert '"50", "95"' in text
    assert "REDUCE_PERCENTILE_${percentile}" in text


# --- the deletion brake ---------------------------------------------------------------------------

MESSAGE_HAS = re.compile(r'jsonPayload\.message:\\?"(?P<phrase>[^"\\]+)\\?"')


@functools.cache
def brake_run_lines() -> tuple[str, list[dict[str, Any]]]:
    """The calendar key and the sync lines of a run that holds 25 deletions (the brake is 20)."""
    key = calendar_key(SUBJECT, SUBJECT)
    calendars = InMemoryCalendarStore()
    calendars.put(CalendarDoc(key=key, subject=SUBJECT, calendar_id=SUBJECT))
    calendar, provider = FakeCalendar(), RecordingProvider()
    runner = SyncRunner(
        calendar_api=calendar,
        calendar_store=calendars,
        records=InMemoryRecordStore(),
        provider=provider,
        publisher=RecordingPublisher(),
        settings=sync_settings(
            matcher=ConferenceMatcher(solution_names=frozenset({"My Web Conference"})),
            relevant_fields=frozenset({"title"}),
        ),
        now=lambda: NOW,
    )
    request = SyncRequest(calendar_key=key, reason="notification", notified_at=NOW)
    for i in range(25):
        provider.create(f"c{i}")
        body = event(
            f"e{i}",
            start="2026-12-02T10:00:00Z",
            end="2026-12-02T11:00:00Z",
            organizer=SUBJECT,
            conference=conference_data(f"c{i}", join_url=f"https://conf.example/j/c{i}"),
        )
        calendar.put(SUBJECT, body)
    runner.run(request)
    for i in range(25):
        calendar.delete(SUBJECT, f"e{i}")
    lines = _captured("confsync.sync", lambda: runner.run(request))
    assert not [c for c in provider.calls if c.kind == "delete"], "the brake sent deletes"
    return key, lines


def _selected_by_deletions_held(line: Mapping[str, Any]) -> bool:
    """Whether the ``deletions_held`` metric's filter (beyond the sync function's logs) selects
    ``line``: its severity clause and the phrase its message must have."""
    text = metrics()["deletions_held"]["filter"]
    phrase = MESSAGE_HAS.search(text)
    assert phrase is not None, text
    severity = re.search(r"severity=(\w+)", text)
    assert severity is not None, text
    return line["severity"] == severity.group(1) and phrase["phrase"] in line["message"]


def test_the_brake_s_error_line_is_what_the_deletions_held_metric_selects() -> None:
    key, lines = brake_run_lines()
    body = metrics()["deletions_held"]

    selected = [line for line in lines if _selected_by_deletions_held(line)]

    assert functions_filtered(body) == {"sync"}
    [line] = selected  # one line per run that holds, never the summary or another line
    assert line["severity"] == "ERROR"
    assert body["label_extractors"] == {"calendar_key": "EXTRACT(labels.calendar_key)"}
    assert line["logging.googleapis.com/labels"]["calendar_key"] == key
    assert key in line["message"]
    [summary] = [line for line in lines if "sync" in line]
    assert summary["sync"]["held"] == 25


def test_a_run_within_the_brake_logs_no_line_the_metric_selects() -> None:
    assert not [line for line in [sync_summary()] if _selected_by_deletions_held(line)]


def test_the_deletions_held_alert_watches_its_metric_and_names_its_runbook_step() -> None:
    [condition] = _conditions(alerts()["deletions_held"])
    assert USER_METRIC.findall(condition["filter"]) == ["deletions_held"]
    content = one(alerts()["deletions_held"], "documentation")["content"]
    assert "Deletions held by the brake" in content
    assert "confsync release-deletes" in content
