"""The Calendar conformance suite's target: the Calendar emulator (default, part of ``make test``)
or Google's Calendar API as the test user (``CONFSYNC_CONFORMANCE_TARGET=live``, set by
``make conformance-live``; see tools/conformance).

Every check works inside the run's scratch calendar (made with ``calendars.insert`` when the
session starts, deleted when it ends, even after failures or Ctrl-C). Markers:

``unconfirmed(section, point, emulator)``
    the check asserts what the emulator does where the reference marks Google's behaviour
    UNCONFIRMED (``section`` of the reference); a live run reports confirmed / contradicted.
``second_user``
    needs a second user (on Google: ``CONFSYNC_TEST_SECOND_USER``), skipped otherwise.
``push``
    needs a reachable push address (on Google: ``CONFSYNC_TEST_PUSH_URL``), skipped otherwise.
``emulator_only``
    needs the emulator's admin API; skipped on Google.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from calendar_emulator.server import EmulatorServer
from conformance.calendar import Calendar
from conformance.push import PushListener
from conformance.report import PointResult, calls_lines, outcome_of, unconfirmed_table
from conformance.scratch import ScratchCalendars
from conformance.target import CalendarTarget
from conformance.testuser import OPTIONAL_VARIABLES, PUSH_URL, SECOND_USER, load_test_user
from conformance.tokens import token_sources

TARGET_VARIABLE = "CONFSYNC_CONFORMANCE_TARGET"
REPORT_VARIABLE = "CONFSYNC_CONFORMANCE_REPORT"
EMULATOR_USER = "owner@conformance.test"
EMULATOR_SECOND_USER = "second@conformance.test"

_RESULTS: list[PointResult] = []


@dataclass
class Target:
    """What the checks talk to."""

    live: bool
    main: CalendarTarget
    scratch: ScratchCalendars
    calendar: Calendar
    user: str
    second: CalendarTarget | None = None
    second_user: str | None = None
    push: PushListener | None = None
    push_url: str | None = None
    emulator: EmulatorServer | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return "Google" if self.live else "the emulator"


_CURRENT: list[Target] = []


def pytest_configure(config: pytest.Config) -> None:
    for line in (
        "unconfirmed(section, point, emulator): asserts the emulator's choice on an UNCONFIRMED"
        " point of the Calendar reference",
        "second_user: needs a second Calendar user",
        "push: needs a push address the target can reach",
        "emulator_only: needs the Calendar emulator's admin API",
    ):
        config.addinivalue_line("markers", line)


def _live() -> bool:
    return os.environ.get(TARGET_VARIABLE, "emulator") == "live"


def _emulator_target(stack: list[Any]) -> Target:
    server = EmulatorServer(host="127.0.0.1", port=0)
    server.__enter__()
    stack.append(server)
    main = CalendarTarget(server.api_endpoint, lambda: f"user:{EMULATOR_USER}", base_delay=0.05)
    listener = PushListener().__enter__()
    stack.append(listener)
    scratch = ScratchCalendars(main)
    return Target(
        live=False,
        main=main,
        scratch=scratch,
        calendar=Calendar(main, scratch.make()),
        user=EMULATOR_USER,
        second=main.as_user(lambda: f"user:{EMULATOR_SECOND_USER}"),
        second_user=EMULATOR_SECOND_USER,
        push=listener,
        push_url=listener.local_url,
        emulator=server,
    )


def _live_target(stack: list[Any]) -> Target:
    user = load_test_user(os.environ)
    first, second = token_sources(user)
    main = CalendarTarget(user.calendar_api_url, first, name="Google")
    listener = None
    if user.push_url and user.push_port:
        listener = PushListener(user.push_port).__enter__()
        stack.append(listener)
    scratch = ScratchCalendars(main)
    target = Target(
        live=True,
        main=main,
        scratch=scratch,
        calendar=Calendar(main, ""),
        user=user.email,
        second=main.as_user(second) if second else None,
        second_user=user.second_user if second else None,
        push=listener,
        push_url=user.push_url,
    )
    _CURRENT.append(target)  # so the scratch calendar is reported even if making it fails
    target.calendar = Calendar(main, scratch.make())
    return target


@pytest.fixture(scope="session", name="target")
def fixture_target() -> Iterator[Target]:
    """The session's target and its scratch calendar, deleted at the end whatever happened."""
    stack: list[Any] = []
    target: Target | None = None
    try:
        target = _live_target(stack) if _live() else _emulator_target(stack)
        if target not in _CURRENT:
            _CURRENT.append(target)
        yield target
    finally:
        if _CURRENT:
            _CURRENT[-1].scratch.delete_all()
        for part in reversed(stack):
            part.__exit__(None, None, None)


@pytest.fixture(name="calendar")
def fixture_calendar(target: Target) -> Calendar:
    return target.calendar


@pytest.fixture(autouse=True)
def _requirements(request: pytest.FixtureRequest) -> None:
    """Skip a check whose needs the target does not meet, naming what would enable it."""
    markers = {m.name for m in request.node.iter_markers()}
    if not markers & {"second_user", "push", "emulator_only"}:
        return
    target: Target = request.getfixturevalue("target")
    if "emulator_only" in markers and target.live:
        pytest.skip("emulator only: needs the Calendar emulator's admin API")
    if "second_user" in markers and target.second is None:
        pytest.skip(f"needs {SECOND_USER}: {OPTIONAL_VARIABLES[SECOND_USER]}")
    if "push" in markers and target.push is None:
        pytest.skip(f"needs {PUSH_URL}: {OPTIONAL_VARIABLES[PUSH_URL]}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()  # type: ignore[attr-defined]
    marker = item.get_closest_marker("unconfirmed")
    if marker is None or report.when == "teardown":
        return
    if report.when == "setup" and report.passed:
        return
    failed_assertion = report.failed and call.excinfo is not None
    failed_assertion = failed_assertion and call.excinfo.errisinstance(AssertionError)  # type: ignore[union-attr]
    detail = ""
    if report.skipped and isinstance(report.longrepr, tuple):
        detail = str(report.longrepr[2]).removeprefix("Skipped: ")
    elif report.failed and call.excinfo is not None:
        detail = str(call.excinfo.value).splitlines()[0][:160] if str(call.excinfo.value) else ""
    _RESULTS.append(
        PointResult(
            section=str(marker.kwargs["section"]),
            point=str(marker.kwargs["point"]),
            emulator=str(marker.kwargs["emulator"]),
            outcome=outcome_of(report.passed, bool(failed_assertion)),
            check=item.name,
            detail=detail,
        )
    )


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """On a live run: the calls made, the scratch calendars and the UNCONFIRMED table."""
    if not _live() or not _CURRENT:
        return
    target = _CURRENT[-1]
    write = terminalreporter.write_line
    terminalreporter.section("Calendar conformance against Google")
    for line in calls_lines(target.main.calls):
        write(line)
    for calendar_id in target.scratch.deleted:
        write(f"scratch calendar deleted: {calendar_id}")
    for calendar_id in target.scratch.left:
        write(f"SCRATCH CALENDAR LEFT BEHIND (delete it by hand): {calendar_id}")
    table = unconfirmed_table(_RESULTS, target.name)
    write("")
    write("UNCONFIRMED points of the reference (paste into the emulator's README):")
    write("")
    for line in table.splitlines():
        write(line)
    report = os.environ.get(REPORT_VARIABLE)
    if report:
        Path(report).parent.mkdir(parents=True, exist_ok=True)
        Path(report).write_text(table + "\n", encoding="utf-8")
        write(f"\ntable written to {report}")
