"""What the smoke reports besides its steps: the dead-letter backlog, the alert policies' state and
the Scheduler job's last run, behind one small port (:class:`Operations`).

:class:`GoogleOperations` reads them from Google's APIs with the caller's Application Default
Credentials: Cloud Monitoring (``pubsub.googleapis.com/subscription/num_undelivered_messages``
of the dead-letter subscription, the project's alert policies and its open alerts) and Cloud
Scheduler (the job's ``lastAttemptTime`` and ``status``). No stand-in of those APIs runs here, so
the runner's use of the port is tested with a fake (tests/tools/smoke). :class:`LocalOperations`
is the local stack's equivalent: the dead-letter subscription of the Pub/Sub emulator, read
without acknowledging; alerts and Scheduler are not applicable there and say so.

A reading is never a step: it does not change the exit status, it tells the operator where to
look (``attention``), and a reading that fails says why instead of failing the smoke.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol
from urllib.parse import quote

import requests

__all__ = [
    "GoogleOperations",
    "LocalOperations",
    "Operations",
    "Reading",
    "read_all",
]

State = Literal["ok", "attention", "not applicable", "unknown"]


@dataclass(frozen=True, slots=True)
class Reading:
    """One thing reported: what, its state and a line saying what was seen."""

    what: str
    state: State
    detail: str


class Operations(Protocol):
    """The three readings."""

    def dead_letter_backlog(self) -> Reading: ...

    def alert_policies(self) -> Reading: ...

    def scheduler_last_run(self) -> Reading: ...


def read_all(operations: Operations) -> list[Reading]:
    """Every reading; one that raises is ``unknown`` with the error, the others still read."""
    readings: list[Reading] = []
    for what, read in (
        ("dead-letter backlog", operations.dead_letter_backlog),
        ("alert policies", operations.alert_policies),
        ("scheduler job", operations.scheduler_last_run),
    ):
        try:
            readings.append(read())
        except Exception as err:  # a reading that fails is reported, not fatal
            readings.append(Reading(what, "unknown", f"could not be read: {err}"[:300]))
    return readings


MONITORING = "https://monitoring.googleapis.com/v3"
SCHEDULER = "https://cloudscheduler.googleapis.com/v1"


class GoogleOperations:
    """The readings from Cloud Monitoring and Cloud Scheduler (``get``: an authorized GET)."""

    def __init__(
        self,
        *,
        project: str,
        dead_letter_subscription: str,
        scheduler_job: str,
        get: Callable[[str, dict[str, str]], dict[str, Any]],
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._project = project
        self._subscription = dead_letter_subscription
        self._job = scheduler_job
        self._get = get
        self._now = now

    @classmethod
    def with_default_credentials(cls, **kw: Any) -> GoogleOperations:
        """Reading with the caller's Application Default Credentials."""
        import google.auth  # noqa: PLC0415 - only the deployed target needs it
        from google.auth.transport.requests import AuthorizedSession  # noqa: PLC0415

        credentials, _ = google.auth.default(
            scopes=["https://www.googleapis.com/auth/cloud-platform"]
        )
        session = AuthorizedSession(credentials)  # type: ignore[no-untyped-call]

        def get(url: str, params: dict[str, str]) -> dict[str, Any]:
            answer = session.get(url, params=params, timeout=20)
            answer.raise_for_status()
            body: dict[str, Any] = answer.json()
            return body

        return cls(get=get, **kw)

    def dead_letter_backlog(self) -> Reading:
        now = self._now()
        body = self._get(
            f"{MONITORING}/projects/{self._project}/timeSeries",
            {
                "filter": (
                    'metric.type="pubsub.googleapis.com/subscription/num_undelivered_messages" '
                    f'AND resource.labels.subscription_id="{self._subscription}"'
                ),
                "interval.startTime": _rfc3339(now - timedelta(minutes=10)),
                "interval.endTime": _rfc3339(now),
            },
        )
        points = [p for series in body.get("timeSeries", []) for p in series.get("points", [])]
        if not points:
            return Reading("dead-letter backlog", "ok", f"{self._subscription}: 0 messages")
        latest = max(points, key=lambda p: str(p.get("interval", {}).get("endTime", "")))
        count = int(latest.get("value", {}).get("int64Value", 0))
        state: State = "ok" if count == 0 else "attention"
        return Reading("dead-letter backlog", state, f"{self._subscription}: {count} messages")

    def alert_policies(self) -> Reading:
        base = f"{MONITORING}/projects/{self._project}"
        policies = self._get(f"{base}/alertPolicies", {}).get("alertPolicies", [])
        enabled = sum(1 for p in policies if p.get("enabled", True))
        disabled = len(policies) - enabled
        detail = f"{len(policies)} policies ({enabled} enabled, {disabled} disabled), "
        try:
            opened = self._get(f"{base}/alerts", {"filter": 'state="OPEN"'}).get("alerts", [])
        except Exception as err:  # the policies are still worth reporting
            return Reading("alert policies", "unknown", detail + f"open alerts unknown: {err}")
        names = sorted({str(a.get("policy", {}).get("displayName", "?")) for a in opened})
        detail += f"{len(opened)} open alerts" + (f": {', '.join(names)}" if names else "")
        state: State = "ok" if not opened and not disabled and policies else "attention"
        return Reading("alert policies", state, detail)

    def scheduler_last_run(self) -> Reading:
        job = self._get(f"{SCHEDULER}/{quote(self._job, safe='/')}", {})
        last = job.get("lastAttemptTime")
        code = int(job.get("status", {}).get("code", 0))
        schedule = job.get("schedule", "?")
        if not last:
            return Reading("scheduler job", "attention", f"{job.get('state')}: never run yet")
        state: State = "ok" if code == 0 and job.get("state") == "ENABLED" else "attention"
        outcome = "succeeded" if code == 0 else f"failed (status code {code})"
        return Reading(
            "scheduler job",
            state,
            f"{job.get('state')}, schedule {schedule}, last run {last} {outcome}",
        )


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class LocalOperations:
    """The local stack's equivalents (``pubsub``: the emulator's ``.../v1/projects/P`` URL)."""

    def __init__(self, *, pubsub: str, dead_letter_subscription: str) -> None:
        self._url = f"{pubsub}/subscriptions/{dead_letter_subscription}"
        self._subscription = dead_letter_subscription

    def dead_letter_backlog(self) -> Reading:
        """Pull without acknowledging, then hand every message back at once (deadline 0)."""
        answer = requests.post(
            f"{self._url}:pull", json={"maxMessages": 100, "returnImmediately": True}, timeout=10
        )
        answer.raise_for_status()
        received = answer.json().get("receivedMessages", [])
        if received:
            requests.post(
                f"{self._url}:modifyAckDeadline",
                json={"ackIds": [r["ackId"] for r in received], "ackDeadlineSeconds": 0},
                timeout=10,
            ).raise_for_status()
        count = f"{len(received)}{'+' if len(received) == 100 else ''}"
        state: State = "ok" if not received else "attention"
        return Reading("dead-letter backlog", state, f"{self._subscription}: {count} messages")

    def alert_policies(self) -> Reading:
        return Reading("alert policies", "not applicable", "no Cloud Monitoring on the local stack")

    def scheduler_last_run(self) -> Reading:
        return Reading(
            "scheduler job",
            "not applicable",
            "no Cloud Scheduler locally: the stand-in publishes a tick every TICK_INTERVAL "
            "seconds and keeps no run history",
        )
