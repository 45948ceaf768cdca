"""The chaos suite's view of a running local stack: public APIs and emulator admin APIs only.

Wraps :class:`devstack.demo.StackClient` with what the suite needs beyond the demo: the Calendar
API with arbitrary bodies (conference data of other solutions, removals), full listings with
deleted events, both emulators' fault rules, the dead-letter subscription, ticks, the ``confsync``
command line for enrolment, and a crash-restart of the ``sync`` function's process.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from devstack.demo import StackClient
from devstack.process import is_answering, restart
from devstack.stack import CHANNEL_COMMANDS_TOPIC, DEAD_LETTER_INSPECT_SUBSCRIPTION

__all__ = ["ChaosStack"]

_TIMEOUT = 10


class ChaosStack:
    """One running stack (its ``stack.env`` and run directory)."""

    def __init__(self, client: StackClient, run_dir: Path) -> None:
        self.client = client
        self.env = client.env
        self.run_dir = run_dir
        self.http = requests.Session()
        self.calendar = client.calendar
        self.conferencing = client.conferencing
        host, project = self.env["PUBSUB_EMULATOR_HOST"], self.env["PROJECT"]
        self.pubsub = f"http://{host}/v1/projects/{project}"

    # --- Calendar API (as a user) ----------------------------------------------------------

    def _events(self, calendar_id: str) -> str:
        return f"{self.calendar}/calendar/v3/calendars/{calendar_id}/events"

    def insert(self, calendar_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """``events.insert`` with ``conferenceDataVersion=1``."""
        answer = self.http.post(
            self._events(calendar_id),
            params={"conferenceDataVersion": 1},
            json=body,
            timeout=_TIMEOUT,
        )
        answer.raise_for_status()
        event: dict[str, Any] = answer.json()
        return event

    def patch(self, calendar_id: str, event_id: str, body: dict[str, Any]) -> None:
        """``events.patch`` with ``conferenceDataVersion=1`` (so conference data can change)."""
        self.http.patch(
            f"{self._events(calendar_id)}/{event_id}",
            params={"conferenceDataVersion": 1},
            json=body,
            timeout=_TIMEOUT,
        ).raise_for_status()

    def delete(self, calendar_id: str, event_id: str) -> None:
        """``events.delete``; an already deleted event (410) counts as done."""
        answer = self.http.delete(f"{self._events(calendar_id)}/{event_id}", timeout=_TIMEOUT)
        if answer.status_code != 410:
            answer.raise_for_status()

    def list_all(self, calendar_id: str) -> list[dict[str, Any]]:
        """Every event of the calendar, deleted ones and exception objects included."""
        items: list[dict[str, Any]] = []
        params: dict[str, Any] = {"showDeleted": "true", "maxResults": 2500}
        while True:
            answer = self.http.get(self._events(calendar_id), params=params, timeout=_TIMEOUT)
            answer.raise_for_status()
            page = answer.json()
            items.extend(page.get("items", []))
            if not page.get("nextPageToken"):
                return items
            params["pageToken"] = page["nextPageToken"]

    def list_calls(self) -> int:
        """``events.list`` calls since the last counter reset."""
        return self.client.calendar_calls().get("calendar.events.list", 0)

    # --- the Calendar emulator's admin API ----------------------------------------------------

    def calendar_faults(self, body: Any) -> None:
        """Add Calendar fault rules (API or notification rules)."""
        self.http.post(
            f"{self.calendar}/emulator/v1/faults", json=body, timeout=_TIMEOUT
        ).raise_for_status()

    def invalidate_sync_tokens(self, calendar_id: str) -> None:
        """Every sync token issued so far for the calendar answers 410 from now on."""
        self.http.post(
            f"{self.calendar}/emulator/v1/calendars/{calendar_id}/invalidate-sync-tokens",
            timeout=_TIMEOUT,
        ).raise_for_status()

    # --- the conferencing system ------------------------------------------------------------

    def create_conference(self) -> dict[str, Any]:
        """What the add-on does when a user adds a conference: ``id`` and ``joinUrl``."""
        return self.client.create_conference()

    def conferences(self) -> list[dict[str, Any]]:
        """Every conference, deleted ones included."""
        answer = self.http.get(f"{self.conferencing}/emulator/v1/conferences", timeout=_TIMEOUT)
        answer.raise_for_status()
        found: list[dict[str, Any]] = answer.json()["conferences"]
        return found

    def rotate_join_url(self, conference_id: str, join_url: str) -> None:
        """The backend gives the conference a new join URL (later answers carry it)."""
        self.http.post(
            f"{self.conferencing}/emulator/v1/conferences/{conference_id}/join-url",
            json={"joinUrl": join_url},
            timeout=_TIMEOUT,
        ).raise_for_status()

    def provider_log(self) -> list[dict[str, Any]]:
        """The conferencing system's request log (every PUT and DELETE)."""
        return self.client.provider_requests()

    def conferencing_faults(self, body: Any) -> None:
        """Add conferencing fault rules."""
        self.http.post(
            f"{self.conferencing}/emulator/v1/faults", json=body, timeout=_TIMEOUT
        ).raise_for_status()

    def clear_faults(self) -> None:
        """Remove every fault rule of both emulators."""
        self.http.delete(f"{self.calendar}/emulator/v1/faults", timeout=_TIMEOUT).raise_for_status()
        self.http.delete(
            f"{self.conferencing}/emulator/v1/faults", timeout=_TIMEOUT
        ).raise_for_status()

    # --- Pub/Sub ----------------------------------------------------------------------------

    def tick(self) -> None:
        """What Cloud Scheduler does: publish a tick (renew, repair, sweep) to channel-commands."""
        command = {"v": 1, "command": "tick", "issuedAt": datetime.now(UTC).isoformat()}
        data = base64.b64encode(json.dumps(command).encode()).decode()
        self.http.post(
            f"{self.pubsub}/topics/{CHANNEL_COMMANDS_TOPIC}:publish",
            json={"messages": [{"data": data}]},
            timeout=_TIMEOUT,
        ).raise_for_status()

    def pull_dead_letters(self) -> list[dict[str, Any]]:
        """Drain the dead-letter inspection subscription: each message's data and attributes."""
        url = f"{self.pubsub}/subscriptions/{DEAD_LETTER_INSPECT_SUBSCRIPTION}"
        found: list[dict[str, Any]] = []
        while True:
            answer = self.http.post(
                f"{url}:pull",
                json={"maxMessages": 100, "returnImmediately": True},
                timeout=_TIMEOUT,
            )
            answer.raise_for_status()
            received = answer.json().get("receivedMessages", [])
            if not received:
                return found
            for item in received:
                message = item["message"]
                raw = base64.b64decode(message.get("data", "")).decode(errors="replace")
                found.append({"data": raw, "attributes": message.get("attributes", {})})
            self.http.post(
                f"{url}:acknowledge",
                json={"ackIds": [item["ackId"] for item in received]},
                timeout=_TIMEOUT,
            ).raise_for_status()

    # --- the confsync command line ------------------------------------------------------------

    def confsync(self, *args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
        """Run the ``confsync`` CLI against this stack."""
        return subprocess.run(  # noqa: S603 - our own CLI, argv built here
            [str(Path(sys.executable).with_name("confsync")), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env={**os.environ, **self.env},
        )

    # --- processes --------------------------------------------------------------------------

    def restart_sync(self, timeout: float = 30.0) -> float:
        """SIGKILL the sync function's process group, start it again; seconds until it answers."""
        started = time.monotonic()
        restart(self.run_dir, "sync")
        ready = f"{self.env['SYNC_URL']}/robots.txt"
        while not is_answering(ready):
            if time.monotonic() - started > timeout:
                raise RuntimeError(f"sync did not answer {timeout:g} s after its restart")
            time.sleep(0.05)
        return time.monotonic() - started
