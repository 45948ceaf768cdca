"""``python -m devstack.demo``: the seed's story, told against a private local stack.

The demo brings up its own stack (every part on a free port, in a temporary run directory, so a
developer's ``make up`` stack is never touched), then acts as a user would, only through public
interfaces: the add-on creates a conference and enrols its user with the user's Google ID token
(minted by the Google auth stand-in), events are edited through the Calendar API. After each step it
prints what reached the conferencing system (the conference's state and the provider's request log)
and how long it took from the Calendar change to the conferencing system showing it, and it ends
with a summary table. The stack is stopped in every case (success, failure, Ctrl-C, SIGTERM). Exit
status: 0 on success, 1 when a step times out or the stack cannot start, 130 when interrupted.

:func:`private_stack` is reused by the chaos suite.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

import requests

from devstack.client import StackClient, StepTimeoutError, wait_until
from devstack.lifecycle import StackError, down, read_env_file, up
from devstack.process import running
from devstack.sdk import MissingPrerequisiteError, find_jars
from devstack.stack import (
    DEFAULT_SOLUTION_NAMES,
    Ports,
    StackSettings,
    load_or_create_token_keys,
    plan_stack,
)

__all__ = ["StepResult", "main", "private_stack", "run"]

USER = "alice@example.com"
GUEST = "bob@example.com"
DEMO_PROJECT = "confsync-demo"
ZONE = "Europe/Berlin"
_PORT_ATTEMPTS = 3
_SETTLE_SECONDS = 0.4  # after a change shows, let the stack go quiet before reading counters


def _enrol_with_id_token(stack: StackClient, user: str) -> None:
    """What the add-on does after creating the user's first conference: get the user's ID token
    (here from the Google auth stand-in, in Apps Script from ``ScriptApp.getIdentityToken()``)
    and send it to intake's ``/v1/enroll``, which answers 202 once the enroll command is out."""
    minted = stack.http.post(
        f"{stack.env['GOOGLE_AUTH_EMULATOR_URL']}/emulator/v1/id-tokens",
        json={"email": user, "audience": stack.env["ENROLL_AUDIENCE"], "emailVerified": True},
        timeout=stack.timeout,
    )
    minted.raise_for_status()
    answer = stack.http.post(
        stack.env["ENROLL_URL"],
        json={"calendarId": "primary"},
        headers={"Authorization": f"Bearer {minted.json()['idToken']}"},
        timeout=stack.timeout,
    )
    if answer.status_code != 202:
        refused = f"{answer.status_code} {answer.text.strip()}"
        raise StepTimeoutError(f"step 2: intake refused the enrolment: {refused}")


def _repo_root() -> Path:
    """The checkout this package lives in (editable install), else the current directory."""
    checkout = Path(__file__).resolve().parents[2]
    return checkout if (checkout / "functions").is_dir() else Path.cwd()


def _start(
    run_dir: Path,
    project: str,
    say: Callable[[str], None],
    overrides: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """``devstack up`` on free ports (retried when a port is taken meanwhile); the stack.env."""
    for attempt in range(_PORT_ATTEMPTS):
        settings = StackSettings(
            project=project,
            ports=Ports.free(),
            tick_interval=3600.0,  # no scheduler tick in the middle of the story
            solution_names=DEFAULT_SOLUTION_NAMES,
            overrides=dict(overrides or {}),
        )
        plan = plan_stack(
            settings,
            repo_root=_repo_root(),
            jars=find_jars(),
            python=sys.executable,
            token_keys=load_or_create_token_keys(run_dir),
        )
        try:
            result = up(plan, run_dir, say=say)
        except StackError as err:
            if "in use" in str(err) and attempt < _PORT_ATTEMPTS - 1:
                continue
            raise
        return read_env_file(result.env_path)
    raise AssertionError("unreachable")  # pragma: no cover


@contextmanager
def _signals_ignored() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


@contextmanager
def private_stack(
    run_dir: Path | None = None,
    *,
    project: str = DEMO_PROJECT,
    say: Callable[[str], None] = print,
    overrides: Mapping[str, str] | None = None,
) -> Iterator[StackClient]:
    """The whole local stack on free ports under ``run_dir`` (a new temporary one when None).

    ``overrides`` sets function variables (as ``devstack up --set``), e.g. a short sweep interval.

    Everything recorded in the run directory is stopped on the way out, whatever happened. A
    temporary run directory is removed after a clean run and kept (its logs) after a failure.
    """
    temporary = run_dir is None
    directory = Path(tempfile.mkdtemp(prefix="confsync-demo-")) if run_dir is None else run_dir
    directory.mkdir(parents=True, exist_ok=True)
    clean = False
    try:
        client = StackClient(_start(directory, project, say, overrides))
        yield client
        clean = True
    finally:
        with _signals_ignored():  # a second Ctrl-C must not cut `down` short
            stopped = down(directory)
        survivors = running(directory)
        say(f"stopped {len(stopped)} processes ({', '.join(stopped) or 'none'})")
        if survivors:
            say(f"WARNING: still running: {', '.join(survivors)}")
        if temporary and clean and not survivors:
            shutil.rmtree(directory, ignore_errors=True)
        elif not clean:
            say(f"logs kept in {directory / 'logs'}")


# --- the story ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class StepResult:
    """One step of the story, for the summary table."""

    label: str
    what: str
    latency_ms: float | None
    list_calls: int


def _instant(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _same_instant(value: Any, expected: str) -> bool:
    return isinstance(value, str) and "T" in value and _instant(value) == _instant(expected)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _describe(conference: dict[str, Any]) -> list[str]:
    lines = [
        f'title "{conference.get("title")}"   status {conference.get("status")}   '
        f"revision {conference.get('revision')}",
        f"start {conference.get('start') or '-'}   end {conference.get('end') or '-'}   "
        f"timeZone {conference.get('timeZone') or '-'}",
        f"attendees {', '.join(conference.get('attendees') or []) or '-'}",
    ]
    if conference.get("recurrence"):
        lines.append(f"recurrence {'; '.join(conference['recurrence'])}")
    if conference.get("cancelledOccurrences"):
        lines.append(f"cancelled occurrences {', '.join(conference['cancelledOccurrences'])}")
    for moved in conference.get("modifiedOccurrences") or []:
        lines.append(
            f"modified occurrence {moved.get('originalStart')} -> "
            f"{moved.get('start')} .. {moved.get('end')}"
        )
    return lines


def _request_line(entry: dict[str, Any]) -> str:
    changed = entry.get("changedFields")
    fields = ", ".join(changed) if changed else "-"
    return (
        f"{entry['method']:<6} revision {entry.get('revision')}   outcome {entry.get('outcome')}   "
        f"changedFields {fields}"
    )


class Story:
    """The demo's steps against one stack; each prints what it did and what happened."""

    def __init__(self, stack: StackClient, *, timeout: float, out: Callable[[str], None]) -> None:
        self.stack = stack
        self.timeout = timeout
        self.out = out
        self.results: list[StepResult] = []
        self.first = datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0)
        self.first += timedelta(days=7)

    def _step(
        self,
        *,
        label: str,
        title: str,
        short: str,
        did: str,
        act: Callable[[], None],
        conference_id: str,
        shows: Callable[[dict[str, Any]], bool] | None,
        what: str,
        since: str = "the Calendar change",
    ) -> None:
        self.out("")
        self.out(f"Step {label}: {title}")
        self.out(f"  action:       {did}")
        self.stack.reset_calendar_calls()
        self.stack.reset_provider_requests()
        act()
        latency: float | None = None
        if shows is not None:
            seconds = wait_until(
                lambda: shows(self.stack.conference(conference_id)),
                f"step {label} ({what})",
                timeout=self.timeout,
            )
            latency = seconds * 1000
        time.sleep(_SETTLE_SECONDS)
        conference = self.stack.conference(conference_id)
        prefix = "  conference:   "
        for line in _describe(conference):
            self.out(prefix + line)
            prefix = " " * len(prefix)
        log = self.stack.provider_requests(conference_id)
        prefix = "  provider log: "
        for entry in log:
            self.out(prefix + _request_line(entry))
            prefix = " " * len(prefix)
        if not log:
            self.out(prefix + "no request (nothing reached the conferencing system)")
        lists = self.stack.calendar_calls().get("calendar.events.list", 0)
        shown = f"{latency:.0f} ms from {since}" if latency is not None else "-"
        self.out(f"  latency:      {shown}   (events.list calls: {lists})")
        self.results.append(StepResult(label, short, latency, lists))

    def tell(self) -> list[StepResult]:
        """Run every step; raise StepTimeoutError when one does not show in time."""
        stack, first = self.stack, self.first
        conference = stack.create_conference(owner=USER)
        event: dict[str, Any] = {}

        def attach() -> None:
            event.update(
                stack.insert_event(
                    USER,
                    conference,
                    summary="Planning",
                    start={"dateTime": _iso(first)},
                    end={"dateTime": _iso(first + timedelta(hours=1))},
                )
            )

        self._step(
            label="1",
            title="a user creates a conference and attaches it to an event",
            short="conference attached to an event",
            did=(
                f"the add-on creates conference {conference['id']}; {USER} attaches it to "
                f'"Planning" ({_iso(first)}, 1 h)'
            ),
            act=attach,
            conference_id=conference["id"],
            shows=None,
            what="",
        )
        self._step(
            label="2",
            title="the add-on enrols the user; the first sync adopts the conference",
            short="user enrolled by the add-on; conference adopted",
            did=f"the add-on sends {USER}'s Google ID token to intake's /v1/enroll",
            act=lambda: _enrol_with_id_token(stack, USER),
            conference_id=conference["id"],
            shows=lambda c: c["title"] == "Planning" and c["revision"] > 0,
            what="the adoption",
            since="the enrolment request",
        )
        moved = first + timedelta(hours=2)
        self._step(
            label="3",
            title="the user moves the meeting",
            short="meeting moved",
            did=f"moves Planning to {_iso(moved)}",
            act=lambda: stack.patch_event(
                USER,
                event["id"],
                start={"dateTime": _iso(moved)},
                end={"dateTime": _iso(moved + timedelta(hours=1))},
            ),
            conference_id=conference["id"],
            shows=lambda c: _same_instant(c["start"], _iso(moved)),
            what="the new start",
        )
        self._step(
            label="4",
            title="the user renames it",
            short="meeting renamed",
            did='renames it "Planning (Q3 budget)"',
            act=lambda: stack.patch_event(USER, event["id"], summary="Planning (Q3 budget)"),
            conference_id=conference["id"],
            shows=lambda c: c["title"] == "Planning (Q3 budget)",
            what="the new title",
        )
        self._step(
            label="5",
            title="the user adds a guest",
            short="guest added",
            did=f"invites {GUEST}",
            act=lambda: stack.patch_event(USER, event["id"], attendees=[{"email": GUEST}]),
            conference_id=conference["id"],
            shows=lambda c: GUEST in (c.get("attendees") or []),
            what="the guest",
        )
        self._series()
        self._step(
            label="7",
            title="the user deletes an event; its conference is deleted",
            short="event deleted; conference deleted",
            did='deletes "Planning (Q3 budget)"',
            act=lambda: stack.delete_event(USER, event["id"]),
            conference_id=conference["id"],
            shows=lambda c: c["status"] == "deleted",
            what="the deletion",
        )
        return self.results

    def _series(self) -> None:
        stack = self.stack
        weekly = stack.create_conference(owner=USER)
        series: dict[str, Any] = {}
        local = (self.first + timedelta(days=1)).replace(hour=9)

        def create() -> None:
            series.update(
                stack.insert_event(
                    USER,
                    weekly,
                    summary="Weekly sync",
                    start={"dateTime": _iso(local), "timeZone": ZONE},
                    end={"dateTime": _iso(local + timedelta(minutes=30)), "timeZone": ZONE},
                    recurrence=["RRULE:FREQ=WEEKLY;COUNT=6"],
                )
            )

        self._step(
            label="6a",
            title="a weekly recurring meeting with its own conference",
            short="weekly series created; adopted",
            did=(
                f"the add-on creates conference {weekly['id']}; "
                f'"Weekly sync" every week, 6 times, from {_iso(local)} ({ZONE})'
            ),
            act=create,
            conference_id=weekly["id"],
            shows=lambda c: c["title"] == "Weekly sync" and bool(c.get("recurrence")),
            what="the series' adoption",
        )
        occurrences = stack.instances(USER, series["id"])
        second, third = occurrences[1], occurrences[2]
        new_start = _instant(second["start"]["dateTime"]) + timedelta(hours=3)
        self._step(
            label="6b",
            title="the user moves one occurrence",
            short="one occurrence moved",
            did=f"moves the occurrence {second['id']} by 3 h, to {_iso(new_start)}",
            act=lambda: stack.patch_event(
                USER,
                second["id"],
                start={"dateTime": _iso(new_start), "timeZone": ZONE},
                end={"dateTime": _iso(new_start + timedelta(minutes=30)), "timeZone": ZONE},
            ),
            conference_id=weekly["id"],
            shows=lambda c: len(c.get("modifiedOccurrences") or []) == 1,
            what="the modified occurrence",
        )
        self._step(
            label="6c",
            title="the user cancels another occurrence",
            short="one occurrence cancelled",
            did=f"deletes the occurrence {third['id']}",
            act=lambda: stack.delete_event(USER, third["id"]),
            conference_id=weekly["id"],
            shows=lambda c: len(c.get("cancelledOccurrences") or []) == 1,
            what="the cancelled occurrence",
        )


def _summary(results: Sequence[StepResult]) -> list[str]:
    width = max(len(r.what) for r in results)
    lines = [
        f"{'step':<5} {'what':<{width}}  {'latency ms':>10}  {'events.list':>11}",
        f"{'-' * 5} {'-' * width}  {'-' * 10}  {'-' * 11}",
    ]
    for r in results:
        latency = f"{r.latency_ms:.0f}" if r.latency_ms is not None else "-"
        lines.append(f"{r.label:<5} {r.what:<{width}}  {latency:>10}  {r.list_calls:>11}")
    return lines


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="devstack demo", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--run-dir",
        type=Path,
        default=None,
        help="run directory of the demo's stack (default: a new temporary one, removed after)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=20.0,
        help="seconds each step may take to reach the conferencing system (%(default)s)",
    )
    return parser


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    del signum, frame
    raise KeyboardInterrupt


def run(run_dir: Path | None, timeout: float) -> int:
    """The demo; the exit status. Ctrl-C and SIGTERM stop the stack and answer 130."""
    signal.signal(signal.SIGTERM, _raise_interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started ignoring it

    def say(line: str) -> None:
        print(line, flush=True)

    directory = run_dir or Path(tempfile.mkdtemp(prefix="confsync-demo-"))
    started = time.monotonic()
    say("confsync demo: a private local stack on free ports")
    say(f"run directory: {directory}")
    try:
        with private_stack(directory, say=say) as stack:
            say(f"stack up in {time.monotonic() - started:.1f} s")
            say(
                "each step: what was done, what the conferencing system then holds, the "
                "provider's request log, and the time until the change showed there"
            )
            results = Story(stack, timeout=timeout, out=say).tell()
            say("")
            say("summary")
            for line in _summary(results):
                say(line)
            say("")
    except StepTimeoutError as err:
        print(f"demo failed: {err}", file=sys.stderr, flush=True)
        return 1
    except (StackError, MissingPrerequisiteError) as err:
        print(f"demo failed: the stack did not start: {err}", file=sys.stderr, flush=True)
        return 1
    except requests.RequestException as err:
        print(f"demo failed: a request to the stack failed: {err}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        print("demo interrupted; the stack is stopped", file=sys.stderr, flush=True)
        return 130
    if run_dir is None:
        shutil.rmtree(directory, ignore_errors=True)
    say(f"demo done in {time.monotonic() - started:.1f} s")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m devstack.demo`` and ``devstack demo``."""
    args = _parser().parse_args(argv)
    return run(args.run_dir, args.timeout)


if __name__ == "__main__":
    sys.exit(main())
