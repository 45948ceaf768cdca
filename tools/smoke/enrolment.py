"""Enrolling and unenrolling the scratch calendar, as an operator or as the add-on does.

:class:`CliEnrolment` runs ``confsync enroll --subject U --calendar C --wait`` (which returns once
the calendar is active with a live channel and its first sync token) and, for the cleanup,
``confsync unenroll --forget`` (its conference records go; conferences are never deleted by it).
With an add-on ID token of the test user, :meth:`enroll` posts it to intake's ``/v1/enroll`` with
``{"calendarId": C}`` instead and waits with ``confsync status`` until the calendar is active and
synced. The command line runs with the given environment (Terraform's outputs as its variables,
or the local stack's).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import requests

__all__ = ["CliEnrolment", "EnrolmentError"]


class EnrolmentError(RuntimeError):
    """Enrolling or unenrolling failed (the command's or intake's own words)."""


def _confsync() -> str:
    return str(Path(sys.executable).with_name("confsync"))


class CliEnrolment:
    """Enrolment through ``confsync`` (``env``: its environment), or intake with ``id_token``."""

    def __init__(
        self,
        env: Mapping[str, str],
        *,
        enroll_url: str = "",
        id_token: Callable[[], str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._env = dict(env)
        self._enroll_url = enroll_url
        self._id_token = id_token
        self._sleep = sleep
        self.how = "the add-on's ID token at /v1/enroll" if id_token else "confsync enroll"

    def _run(self, *args: str, timeout: float) -> str:
        try:
            done = subprocess.run(  # noqa: S603 - our own CLI, argv built here
                [_confsync(), *args],
                capture_output=True,
                text=True,
                timeout=timeout,
                env=self._env,
                check=False,
            )
        except subprocess.TimeoutExpired as err:
            raise EnrolmentError(f"confsync {args[0]} did not finish in {timeout:g} s") from err
        if done.returncode != 0:
            said = (done.stderr or done.stdout).strip().splitlines()
            raise EnrolmentError(
                f"confsync {args[0]} exited {done.returncode}: {said[-1] if said else ''}"[:300]
            )
        return done.stdout

    def enroll(self, subject: str, calendar_id: str, timeout: float) -> None:
        """Enrol the calendar; return once it is active and synced, else EnrolmentError."""
        if self._id_token is None:
            wait = str(max(1, round(timeout)))
            self._run(
                "enroll",
                "--subject",
                subject,
                "--calendar",
                calendar_id,
                "--wait",
                wait,
                timeout=timeout + 30,
            )
            return
        answer = requests.post(
            self._enroll_url,
            json={"calendarId": calendar_id},
            headers={"Authorization": f"Bearer {self._id_token()}"},
            timeout=20,
        )
        if answer.status_code != 202:
            raise EnrolmentError(f"/v1/enroll answered {answer.status_code}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._synced(subject, calendar_id):
                return
            self._sleep(0.5)
        raise EnrolmentError(f"not active and synced after {timeout:g} s")

    def _synced(self, subject: str, calendar_id: str) -> bool:
        out = self._run(
            "status", "--subject", subject, "--calendar", calendar_id, "--json", timeout=60
        )
        rows = json.loads(out).get("calendars", [])
        return any(r.get("state") == "active" and r.get("syncToken") is True for r in rows)

    def unenroll(self, subject: str, calendar_id: str) -> None:
        """Unenrol the calendar and forget its conference records."""
        self._run(
            "unenroll", "--subject", subject, "--calendar", calendar_id, "--forget", timeout=60
        )

    def enrolled(self, subject: str, calendar_id: str) -> bool:
        """Whether the calendar is still enrolled (state ``active`` or ``poll-only``)."""
        out = self._run(
            "status", "--subject", subject, "--calendar", calendar_id, "--json", timeout=60
        )
        rows = json.loads(out).get("calendars", [])
        return any(r.get("state") in ("active", "poll-only") for r in rows)
