"""A running local stack, seen from outside: what the demo, chaos, bench and e2e tests act through.

Built from a stack's endpoints (the keys of ``stack.env``: :func:`StackClient.from_run_dir`,
:func:`StackClient.from_plan`, or a mapping), it talks only to public interfaces and the
emulators' admin APIs: the Calendar API as a user, the Calendar emulator's admin API (call
counters, fault rules, channels, sync tokens, users who leave), the conferencing emulator's admin
API (conferences, request log, fault rules, join URLs), the Google auth stand-in (a user's ID
token) and intake's enrolment endpoint, Pub/Sub (channel commands, ticks, pull subscriptions) and
the ``confsync`` command line with the stack's environment.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

import requests

from devstack.lifecycle import read_env_file
from devstack.stack import (
    CHANNEL_COMMANDS_TOPIC,
    DEAD_LETTER_INSPECT_SUBSCRIPTION,
    StackPlan,
)

__all__ = ["SOLUTION", "StackClient", "StepTimeoutError", "conference_data", "wait_until"]

SOLUTION = "My Web Conference"


class StepTimeoutError(RuntimeError):
    """A change did not show in time."""


def wait_until(
    check: Callable[[], bool], what: str, *, timeout: float = 20.0, interval: float = 0.005
) -> float:
    """Poll ``check`` every ``interval`` seconds until it holds; seconds it took."""
    started = time.monotonic()
    while True:
        if check():
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise StepTimeoutError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def conference_data(conference: Mapping[str, Any]) -> dict[str, Any]:
    """The conferenceData the add-on puts on an event for ``conference`` (``id``, ``joinUrl``)."""
    return {
        "conferenceId": conference["id"],
        "conferenceSolution": {"key": {"type": "addOn"}, "name": SOLUTION},
        "entryPoints": [{"entryPointType": "video", "uri": conference["joinUrl"]}],
    }


class StackClient:
    """One running stack, by its ``stack.env`` values; ``timeout`` bounds every HTTP request."""

    def __init__(self, env: Mapping[str, str], *, timeout: float = 10.0) -> None:
        self.env = dict(env)
        self.timeout = timeout
        self.http = requests.Session()
        self.calendar = self.env["CALENDAR_EMULATOR_URL"].rstrip("/")
        self.conferencing = self.env["CONFERENCING_URL"].rstrip("/")
        self.google_auth = self.env.get("GOOGLE_AUTH_EMULATOR_URL", "").rstrip("/")
        self.pubsub = f"http://{self.env['PUBSUB_EMULATOR_HOST']}/v1/projects/{self.env['PROJECT']}"

    @classmethod
    def from_run_dir(cls, run_dir: Path, *, timeout: float = 10.0) -> Self:
        """The stack ``devstack up`` runs in ``run_dir`` (its ``stack.env``)."""
        return cls(read_env_file(run_dir / "stack.env"), timeout=timeout)

    @classmethod
    def from_plan(cls, plan: StackPlan, *, timeout: float = 10.0) -> Self:
        """The stack ``plan`` describes (once it is up)."""
        return cls(plan.stack_env, timeout=timeout)

    # --- the Calendar API, as a user ----------------------------------------------------------

    def _events(self, calendar_id: str) -> str:
        return f"{self.calendar}/calendar/v3/calendars/{calendar_id}/events"

    def insert(self, calendar_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """``events.insert`` of ``body`` with ``conferenceDataVersion=1``; the new event."""
        answer = self.http.post(
            self._events(calendar_id),
            params={"conferenceDataVersion": 1},
            json=dict(body),
            timeout=self.timeout,
        )
        answer.raise_for_status()
        event: dict[str, Any] = answer.json()
        return event

    def insert_event(
        self, calendar_id: str, conference: Mapping[str, Any], **fields: Any
    ) -> dict[str, Any]:
        """``events.insert`` of an event carrying ``conference`` (as the add-on attaches it)."""
        return self.insert(calendar_id, {"conferenceData": conference_data(conference), **fields})

    def patch(
        self,
        calendar_id: str,
        event_id: str,
        body: Mapping[str, Any],
        *,
        conference_data_version: int | None = None,
    ) -> dict[str, Any]:
        """``events.patch``; with ``conference_data_version=1`` conference data can change. The
        event as patched."""
        params = {}
        if conference_data_version is not None:
            params["conferenceDataVersion"] = conference_data_version
        answer = self.http.patch(
            f"{self._events(calendar_id)}/{event_id}",
            params=params,
            json=dict(body),
            timeout=self.timeout,
        )
        answer.raise_for_status()
        event: dict[str, Any] = answer.json()
        return event

    def patch_event(self, calendar_id: str, event_id: str, **fields: Any) -> None:
        """``events.patch`` of ``fields`` (a move, a rename, a guest, ...)."""
        self.patch(calendar_id, event_id, fields)

    def delete_event(self, calendar_id: str, event_id: str, *, gone_ok: bool = False) -> None:
        """``events.delete``; with ``gone_ok`` an already deleted event (410) counts as done."""
        answer = self.http.delete(f"{self._events(calendar_id)}/{event_id}", timeout=self.timeout)
        if not (gone_ok and answer.status_code == 410):
            answer.raise_for_status()

    def move_event(self, calendar_id: str, event_id: str, destination: str) -> dict[str, Any]:
        """``events.move``: the event (same id) now on ``destination``, its user the organizer."""
        answer = self.http.post(
            f"{self._events(calendar_id)}/{event_id}/move",
            params={"destination": destination},
            timeout=self.timeout,
        )
        answer.raise_for_status()
        moved: dict[str, Any] = answer.json()
        return moved

    def calendar_list(self, user: str) -> list[dict[str, Any]]:
        """``calendarList.list`` as ``user``: the calendars they see, with ``accessRole``."""
        answer = self.http.get(
            f"{self.calendar}/calendar/v3/users/me/calendarList",
            headers={"Authorization": f"Bearer user:{user}"},
            timeout=self.timeout,
        )
        answer.raise_for_status()
        items: list[dict[str, Any]] = answer.json()["items"]
        return items

    def instances(self, calendar_id: str, event_id: str) -> list[dict[str, Any]]:
        """``events.instances`` of a series."""
        answer = self.http.get(
            f"{self._events(calendar_id)}/{event_id}/instances", timeout=self.timeout
        )
        answer.raise_for_status()
        items: list[dict[str, Any]] = answer.json()["items"]
        return items

    def list_events(self, calendar_id: str, *, show_deleted: bool = False) -> list[dict[str, Any]]:
        """Every event of the calendar (every page of 2500); deleted ones with ``show_deleted``."""
        items: list[dict[str, Any]] = []
        params: dict[str, Any] = {"maxResults": 2500}
        if show_deleted:
            params["showDeleted"] = "true"
        while True:
            answer = self.http.get(self._events(calendar_id), params=params, timeout=self.timeout)
            answer.raise_for_status()
            page = answer.json()
            items.extend(page.get("items", []))
            if not page.get("nextPageToken"):
                return items
            params["pageToken"] = page["nextPageToken"]

    # --- the Calendar emulator's admin API ----------------------------------------------------

    def calendar_calls(self) -> dict[str, int]:
        """Calendar API calls by method since the last reset."""
        answer = self.http.get(f"{self.calendar}/emulator/v1/requests", timeout=self.timeout)
        answer.raise_for_status()
        counts: dict[str, int] = answer.json()["counts"]
        return counts

    def list_calls(self) -> int:
        """``events.list`` calls since the last reset."""
        return self.calendar_calls().get("calendar.events.list", 0)

    def reset_calendar_calls(self) -> None:
        """Zero the Calendar API call counters."""
        self.http.post(
            f"{self.calendar}/emulator/v1/requests/reset", timeout=self.timeout
        ).raise_for_status()

    def load_events(self, calendar_id: str, events: list[dict[str, Any]]) -> None:
        """Bulk-load ``events`` into the calendar (the admin API; same path as events.insert)."""
        self.http.post(
            f"{self.calendar}/emulator/v1/calendars/{calendar_id}/events",
            json={"events": events},
            timeout=self.timeout,
        ).raise_for_status()

    def channels(self, calendar_id: str | None = None) -> list[dict[str, Any]]:
        """The live notification channels (of one calendar, or all)."""
        answer = self.http.get(f"{self.calendar}/emulator/v1/channels", timeout=self.timeout)
        answer.raise_for_status()
        found: list[dict[str, Any]] = answer.json()["channels"]
        return [c for c in found if calendar_id in (None, c["calendarId"])]

    def calendar_faults(self, body: Any) -> None:
        """Add Calendar fault rules (API or notification rules)."""
        self.http.post(
            f"{self.calendar}/emulator/v1/faults", json=body, timeout=self.timeout
        ).raise_for_status()

    def set_calendar_role(self, calendar_id: str, user: str, role: str) -> None:
        """Give ``user`` a role on the calendar (``owner``, ``writer``, ``reader``,
        ``freeBusyReader`` or ``none``); the calendar's own user also stands for requests that
        name no user, as the stack's do."""
        self.http.put(
            f"{self.calendar}/emulator/v1/calendars/{calendar_id}/acl/{user}",
            json={"role": role},
            timeout=self.timeout,
        ).raise_for_status()

    def invalidate_sync_tokens(self, calendar_id: str) -> None:
        """Every sync token issued so far for the calendar answers 410 from now on."""
        self.http.post(
            f"{self.calendar}/emulator/v1/calendars/{calendar_id}/invalidate-sync-tokens",
            timeout=self.timeout,
        ).raise_for_status()

    def remove_user(self, user: str, action: str = "delete") -> dict[str, Any]:
        """The Workspace user leaves: ``delete`` (default) or ``suspend``; ``undelete`` and
        ``unsuspend`` bring them back. Their requests then answer 401, their calendar 404 to
        others, and their channels stop (the Calendar emulator's README, "Users who leave")."""
        url = f"{self.calendar}/emulator/v1/users/{user}"
        if action == "delete":
            answer = self.http.delete(url, timeout=self.timeout)
        else:
            answer = self.http.post(f"{url}:{action}", timeout=self.timeout)
        answer.raise_for_status()
        result: dict[str, Any] = answer.json()
        return result

    # --- enrolment by the add-on --------------------------------------------------------------

    def id_token(self, email: str, audience: str | None = None, **fields: Any) -> str:
        """The ID token Google would give the add-on for ``email``: minted by the Google auth
        stand-in for ``audience`` (default: the stack's ``ENROLL_AUDIENCE``); ``fields`` are the
        stand-in's other fields (``emailVerified``, ``hd``, ``expiresInSeconds``, ``issuer``)."""
        if not self.google_auth:
            raise RuntimeError("this stack has no Google auth stand-in (GOOGLE_AUTH_EMULATOR_URL)")
        body = {"email": email, "audience": audience or self.env["ENROLL_AUDIENCE"], **fields}
        answer = self.http.post(
            f"{self.google_auth}/emulator/v1/id-tokens", json=body, timeout=self.timeout
        )
        answer.raise_for_status()
        token: str = answer.json()["idToken"]
        return token

    def enroll_with_token(
        self, token: str, body: Mapping[str, Any] | None = None
    ) -> requests.Response:
        """``POST ENROLL_URL`` as the add-on does, with ``token`` as its bearer credential and
        ``body`` (default none); the answer as given, whatever its status."""
        return self.http.post(
            self.env["ENROLL_URL"],
            headers={"Authorization": f"Bearer {token}"},
            json=body,
            timeout=self.timeout,
        )

    # --- the conferencing emulator ------------------------------------------------------------

    def create_conference(self, owner: str | None = None) -> dict[str, Any]:
        """What the add-on does when a user adds a conference: ``id`` and ``joinUrl``. ``owner``:
        the organizer of the event it is for (the calendar's user); None creates it ownerless."""
        body = {} if owner is None else {"owner": owner}
        answer = self.http.post(
            f"{self.conferencing}/emulator/v1/conferences", json=body, timeout=self.timeout
        )
        answer.raise_for_status()
        created: dict[str, Any] = answer.json()
        return created

    def conferences(self) -> list[dict[str, Any]]:
        """Every conference, deleted ones included."""
        answer = self.http.get(f"{self.conferencing}/emulator/v1/conferences", timeout=self.timeout)
        answer.raise_for_status()
        found: list[dict[str, Any]] = answer.json()["conferences"]
        return found

    def conference(self, conference_id: str) -> dict[str, Any]:
        """The conference as the conferencing system holds it now."""
        return {c["id"]: c for c in self.conferences()}[conference_id]

    def provider_requests(self, conference_id: str | None = None) -> list[dict[str, Any]]:
        """The provider's request log (PUT and DELETE), optionally for one conference."""
        answer = self.http.get(f"{self.conferencing}/emulator/v1/requests", timeout=self.timeout)
        answer.raise_for_status()
        log: list[dict[str, Any]] = answer.json()["requests"]
        return [r for r in log if conference_id in (None, r["conferenceId"])]

    def reset_provider_requests(self) -> None:
        """Clear the provider's request log."""
        self.http.post(
            f"{self.conferencing}/emulator/v1/requests/reset", timeout=self.timeout
        ).raise_for_status()

    def rotate_join_url(self, conference_id: str, join_url: str) -> None:
        """The backend gives the conference a new join URL (later answers carry it)."""
        self.http.post(
            f"{self.conferencing}/emulator/v1/conferences/{conference_id}/join-url",
            json={"joinUrl": join_url},
            timeout=self.timeout,
        ).raise_for_status()

    def conferencing_faults(self, body: Any) -> None:
        """Add conferencing fault rules."""
        self.http.post(
            f"{self.conferencing}/emulator/v1/faults", json=body, timeout=self.timeout
        ).raise_for_status()

    def clear_faults(self) -> None:
        """Remove every fault rule of both emulators."""
        for base in (self.calendar, self.conferencing):
            self.http.delete(f"{base}/emulator/v1/faults", timeout=self.timeout).raise_for_status()

    # --- Pub/Sub ------------------------------------------------------------------------------

    def publish(self, topic: str, body: Mapping[str, Any]) -> None:
        """Publish ``body`` (as JSON) to ``topic``."""
        data = base64.b64encode(json.dumps(body).encode()).decode()
        self.http.post(
            f"{self.pubsub}/topics/{topic}:publish",
            json={"messages": [{"data": data}]},
            timeout=self.timeout,
        ).raise_for_status()

    def enroll(self, calendar_id: str) -> None:
        """Publish the channel command that enrolls ``calendar_id`` (what the CLI would do)."""
        command = {"v": 1, "command": "enroll", "subject": calendar_id, "calendarId": calendar_id}
        self.publish(CHANNEL_COMMANDS_TOPIC, command)

    def unenroll(self, calendar_key: str) -> None:
        """Publish the channel command that stops every channel of ``calendar_key``."""
        command = {"v": 1, "command": "unenroll", "calendarKey": calendar_key}
        self.publish(CHANNEL_COMMANDS_TOPIC, command)

    def tick(self) -> None:
        """What Cloud Scheduler does: publish a tick (renew, repair, sweep) to channel-commands."""
        command = {"v": 1, "command": "tick", "issuedAt": datetime.now(UTC).isoformat()}
        self.publish(CHANNEL_COMMANDS_TOPIC, command)

    def subscribe(self, topic: str) -> str:
        """A new pull subscription on ``topic`` (it sees what is published from now on)."""
        url = f"{self.pubsub}/subscriptions/client-{uuid.uuid4().hex[:8]}"
        self.http.put(
            url,
            json={"topic": f"projects/{self.env['PROJECT']}/topics/{topic}"},
            timeout=self.timeout,
        ).raise_for_status()
        return url

    def _pull_once(self, subscription: str) -> list[dict[str, Any]]:
        answer = self.http.post(
            f"{subscription}:pull",
            json={"maxMessages": 100, "returnImmediately": True},
            timeout=self.timeout,
        )
        answer.raise_for_status()
        received: list[dict[str, Any]] = answer.json().get("receivedMessages", [])
        return received

    def pull(self, subscription: str, wait: float) -> list[dict[str, Any]]:
        """Every message a :meth:`subscribe` subscription received within ``wait`` s, decoded."""
        messages: list[dict[str, Any]] = []
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            for received in self._pull_once(subscription):
                messages.append(json.loads(base64.b64decode(received["message"]["data"])))
            time.sleep(0.1)
        return messages

    def pull_dead_letters(self) -> list[dict[str, Any]]:
        """Drain the dead-letter inspection subscription: each message's data and attributes."""
        url = f"{self.pubsub}/subscriptions/{DEAD_LETTER_INSPECT_SUBSCRIPTION}"
        found: list[dict[str, Any]] = []
        while received := self._pull_once(url):
            for item in received:
                message = item["message"]
                raw = base64.b64decode(message.get("data", "")).decode(errors="replace")
                found.append({"data": raw, "attributes": message.get("attributes", {})})
            self.http.post(
                f"{url}:acknowledge",
                json={"ackIds": [item["ackId"] for item in received]},
                timeout=self.timeout,
            ).raise_for_status()
        return found

    # --- the confsync command line ------------------------------------------------------------

    def confsync(
        self, *args: str, timeout: float = 90, check: bool = False
    ) -> subprocess.CompletedProcess[str]:
        """Run the ``confsync`` CLI with the stack's environment."""
        return subprocess.run(  # noqa: S603 - our own CLI, argv built here
            [str(Path(sys.executable).with_name("confsync")), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=check,
            env={**os.environ, **self.env},
        )

    def confsync_json(self, *args: str, timeout: float = 60) -> Any:
        """Run the ``confsync`` CLI (it must succeed) and decode what it printed (``--json``)."""
        return json.loads(self.confsync(*args, timeout=timeout, check=True).stdout)
