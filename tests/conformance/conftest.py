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
from collections.abc import Generator, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from calendar_emulator.server import EmulatorServer
from conformance.calendar import Calendar
from conformance.push import PushListener
from conformance.report import PointResult, calls_lines, outcome_of, unconfirmed_table
from conformance.scratch import ScratchCalendars
from conformance.target import CalendarTarget
from testuser.tokens import token_sources
from testuser.variables import OPTIONAL_VARIABLES, PUSH_URL, SECOND_USER, load_test_user

TARGET_VARIABLE = "CONFSYNC_CONFORMANCE_TARGET"
REPORT_VARIABLE = "CONFSYNC_CONFORMANCE_REPORT"
EMULATOR_USER = "owner@conformance.test"
EMULATOR_SECOND_USER = "second@conformance.test"

_RESULTS: list[PointResult] = []


@dataclass
class Target:
    """What the checks talk to, as which users, and the run's scratch calendars."""

    live: bool
    main: CalendarTarget
    scratch: ScratchCalendars
    user: str
    second: CalendarTarget | None = None
    second_user: str | None = None
    push: PushListener | None = None
    push_url: str | None = None
    emulator: EmulatorServer | None = None
    calendar_id: str = ""  # the scratch calendar every check works in

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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """An ``unconfirmed`` marker must say which point, of which section, and what the emulator
    does: the live run's table is made of them."""
    for item in items:
        for marker in item.iter_markers("unconfirmed"):
            missing = {"section", "point", "emulator"} - set(marker.kwargs)
            if missing or marker.args:
                raise pytest.UsageError(
                    f"{item.nodeid}: @pytest.mark.unconfirmed needs section=, point= and "
                    f"emulator= (missing: {', '.join(sorted(missing)) or 'none'})"
                )


def _live() -> bool:
    return os.environ.get(TARGET_VARIABLE, "emulator") == "live"


def _emulator_target(stack: ExitStack) -> Target:
    server = stack.enter_context(EmulatorServer(host="127.0.0.1", port=0))
    main = CalendarTarget(server.api_endpoint, lambda: f"user:{EMULATOR_USER}", base_delay=0.05)
    listener = stack.enter_context(PushListener())
    return Target(
        live=False,
        main=main,
        scratch=ScratchCalendars(main),
        user=EMULATOR_USER,
        second=main.as_user(lambda: f"user:{EMULATOR_SECOND_USER}"),
        second_user=EMULATOR_SECOND_USER,
        push=listener,
        push_url=listener.local_url,
        emulator=server,
    )


def _live_target(stack: ExitStack) -> Target:
    user = load_test_user(os.environ)
    first, second = token_sources(user)
    main = CalendarTarget(user.calendar_api_url, first, name="Google")
    listener = None
    if user.push_url and user.push_port:
        listener = stack.enter_context(PushListener(user.push_port))
    return Target(
        live=True,
        main=main,
        scratch=ScratchCalendars(main),
        user=user.email,
        second=main.as_user(second) if second else None,
        second_user=user.second_user if second else None,
        push=listener,
        push_url=user.push_url,
    )


@pytest.fixture(scope="session", name="target")
def fixture_target() -> Iterator[Target]:
    """The session's target and its scratch calendar, deleted at the end whatever happened
    (a failing check, Ctrl-C, or SIGTERM through the live runner)."""
    with ExitStack() as stack:
        target = _live_target(stack) if _live() else _emulator_target(stack)
        _CURRENT.append(target)
        try:
            target.calendar_id = target.scratch.make()
            yield target
        finally:
            target.scratch.delete_all()


@pytest.fixture(name="calendar")
def fixture_calendar(target: Target) -> Calendar:
    return Calendar(target.main, target.calendar_id)


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


def _detail(report: pytest.TestReport, call: pytest.CallInfo[None]) -> str:
    """Why a check did not pass: the skip reason, or the first line of its exception."""
    if report.skipped and isinstance(report.longrepr, tuple):
        return str(report.longrepr[2]).removeprefix("Skipped: ")
    if call.excinfo is not None:
        lines = str(call.excinfo.value).splitlines()
        return lines[0][:160] if lines else call.excinfo.typename
    return ""


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Record what became of each check on an UNCONFIRMED point (once: its call, or the setup
    that skipped or broke it)."""
    report = yield
    marker = item.get_closest_marker("unconfirmed")
    if marker is None or report.when == "teardown" or (report.when == "setup" and report.passed):
        return report
    assertion = call.excinfo is not None and call.excinfo.errisinstance(AssertionError)
    _RESULTS.append(
        PointResult(
            section=str(marker.kwargs["section"]),
            point=str(marker.kwargs["point"]),
            emulator=str(marker.kwargs["emulator"]),
            outcome=outcome_of(report.passed, report.failed and assertion),
            check=item.name,
            detail="" if report.passed else _detail(report, call),
        )
    )
    return report


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
