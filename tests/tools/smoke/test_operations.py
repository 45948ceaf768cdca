"""The readings from Cloud Monitoring and Cloud Scheduler, decoded from answers shaped as Google's
(no stand-in of those APIs runs here: the requests are answered by a fake ``get``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import requests
from hypothesis import given
from hypothesis import strategies as st

from smoke.operations import GoogleOperations, read_all

JOB = "projects/p-1/locations/europe-west1/jobs/confsync-tick"


def _operations(answers: dict[str, dict[str, Any]], seen: list[tuple[str, dict[str, str]]]) -> Any:
    def get(url: str, params: dict[str, str]) -> dict[str, Any]:
        seen.append((url, params))
        for suffix, answer in answers.items():
            if url.endswith(suffix):
                return answer
        raise AssertionError(f"unexpected GET {url}")

    return GoogleOperations(
        project="p-1",
        dead_letter_subscription="confsync-dead-letter-inspect",
        scheduler_job=JOB,
        get=get,
        now=lambda: datetime(2026, 12, 4, 12, 0, tzinfo=UTC),
    )


def _series(*values: tuple[str, int]) -> dict[str, Any]:
    points = [{"interval": {"endTime": t}, "value": {"int64Value": str(v)}} for t, v in values]
    return {"timeSeries": [{"points": points}]}


def test_the_backlog_is_the_latest_point_of_the_dead_letter_subscription() -> None:
    seen: list[tuple[str, dict[str, str]]] = []
    answer = _series(("2026-12-04T11:58:00Z", 0), ("2026-12-04T11:59:00Z", 3))
    reading = _operations({"/timeSeries": answer}, seen).dead_letter_backlog()

    assert (reading.state, reading.detail) == (
        "attention",
        "confsync-dead-letter-inspect: 3 messages",
    )
    url, params = seen[0]
    assert url == "https://monitoring.googleapis.com/v3/projects/p-1/timeSeries"
    assert 'subscription_id="confsync-dead-letter-inspect"' in params["filter"]
    assert params["interval.startTime"] == "2026-12-04T11:50:00Z"


def test_no_points_means_an_empty_backlog() -> None:
    reading = _operations({"/timeSeries": {}}, []).dead_letter_backlog()

    assert reading.state == "ok"
    assert reading.detail.endswith(": 0 messages")


def test_alert_policies_name_the_open_alerts_and_the_disabled_policies() -> None:
    policies = {"alertPolicies": [{"displayName": "a"}, {"displayName": "b", "enabled": False}]}
    opened = {"alerts": [{"policy": {"displayName": "confsync sync errors"}}]}
    reading = _operations({"/alertPolicies": policies, "/alerts": opened}, []).alert_policies()

    assert reading.state == "attention"
    assert (
        reading.detail == "2 policies (1 enabled, 1 disabled), 1 open alerts: confsync sync errors"
    )


def test_quiet_enabled_policies_are_ok() -> None:
    policies = {"alertPolicies": [{"displayName": "a", "enabled": True}]}
    reading = _operations({"/alertPolicies": policies, "/alerts": {}}, []).alert_policies()

    assert (reading.state, reading.detail) == (
        "ok",
        "1 policies (1 enabled, 0 disabled), 0 open alerts",
    )


def test_the_scheduler_job_shows_its_last_run_and_whether_it_succeeded() -> None:
    job = {"state": "ENABLED", "schedule": "*/5 * * * *", "lastAttemptTime": "2026-12-04T11:55:00Z"}
    seen: list[tuple[str, dict[str, str]]] = []
    ok = _operations({JOB: job}, seen).scheduler_last_run()
    failed = _operations({JOB: {**job, "status": {"code": 7}}}, []).scheduler_last_run()
    never = _operations({JOB: {"state": "ENABLED"}}, []).scheduler_last_run()

    assert seen[0][0] == f"https://cloudscheduler.googleapis.com/v1/{JOB}"
    assert ok.state == "ok"
    assert "last run 2026-12-04T11:55:00Z succeeded" in ok.detail
    assert failed.state == "attention"
    assert "failed (status code 7)" in failed.detail
    assert (never.state, never.detail) == ("attention", "ENABLED: never run yet")


def test_open_alerts_that_cannot_be_read_still_report_the_policies() -> None:
    policies = {"alertPolicies": [{"displayName": "a", "enabled": True}]}
    reading = _operations({"/alertPolicies": policies}, []).alert_policies()

    assert reading.state == "unknown"
    assert reading.detail.startswith("1 policies (1 enabled, 0 disabled), open alerts unknown: ")


ANSWERS = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "timeSeries",
                    "points",
                    "value",
                    "int64Value",
                    "interval",
                    "endTime",
                    "alerts",
                    "alertPolicies",
                    "enabled",
                    "policy",
                    "displayName",
                    "state",
                    "status",
                    "code",
                    "lastAttemptTime",
                    "schedule",
                ]
            ),
            inner,
            max_size=4,
        )
    ),
    max_leaves=15,
)


@given(st.dictionaries(st.sampled_from(["/timeSeries", "/alertPolicies", "/alerts", JOB]), ANSWERS))
def test_any_answer_gives_three_readings_never_an_exception(answers: dict[str, Any]) -> None:
    def get(url: str, params: dict[str, str]) -> dict[str, Any]:
        for suffix, answer in answers.items():
            if url.endswith(suffix):
                if not isinstance(answer, dict):
                    raise ValueError("not a JSON object")
                return answer
        raise requests.HTTPError("404")

    operations = GoogleOperations(
        project="p-1", dead_letter_subscription="dl", scheduler_job=JOB, get=get
    )

    readings = read_all(operations)

    assert [r.what for r in readings] == ["dead-letter backlog", "alert policies", "scheduler job"]
    assert {r.state for r in readings} <= {"ok", "attention", "unknown"}
