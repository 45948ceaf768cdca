"""The smoke's steps, exit status, cleanup and report, against in-memory fakes of its ports."""

from __future__ import annotations

import pytest

from smoke.report import summary
from smoke.runner import Smoke, SmokeOutcome, Timeouts
from tests.tools.smoke.fakes import (
    Clock,
    FakeCalendar,
    FakeConferencing,
    FakeEnrolment,
    FakeOperations,
)

USER = "smoke@example.com"


class Run:
    """A smoke over fakes; ``lines`` is what it printed."""

    def __init__(
        self,
        *,
        stuck: frozenset[str] = frozenset(),
        calendar_fails: frozenset[str] = frozenset(),
        enrolment_fails: frozenset[str] = frozenset(),
        operations: FakeOperations | None = None,
    ) -> None:
        self.clock = Clock()
        self.conferencing = FakeConferencing(stuck=stuck)
        self.calendar = FakeCalendar(self.conferencing, fail=calendar_fails)
        self.enrolment = FakeEnrolment(fail=enrolment_fails)
        self.lines: list[str] = []
        self.smoke = Smoke(
            user=USER,
            calendar=self.calendar,
            conferencing=self.conferencing,
            enrolment=self.enrolment,
            operations=operations or FakeOperations(),
            solution_name="My Web Conference",
            timeouts=Timeouts(enroll=5, change=3, delete=6),
            say=self.lines.append,
            poll_seconds=0.5,
            clock=self.clock,
            sleep=self.clock.sleep,
        )

    def run(self) -> SmokeOutcome:
        outcome = self.smoke.run()
        self.lines.extend(summary(outcome, self.calendar.calls))
        return outcome

    def text(self) -> str:
        return "\n".join(self.lines)


def test_a_run_where_every_change_arrives_exits_0_and_leaves_nothing() -> None:
    run = Run()

    outcome = run.run()

    assert outcome.exit_status == 0
    assert [s.arrived for s in outcome.steps] == [True] * 5
    # the fake confsync shows a change on the third read, two polls of 0.5 s after it was made
    assert [s.latency_ms for s in outcome.steps[2:]] == [1000, 1000, 1000]
    assert run.calendar.calendars == {}
    assert run.enrolment.enrolled == set()
    assert run.conferencing.deleted_by_smoke == []  # confsync deleted it, not the cleanup
    assert "smoke passed: every step arrived, nothing left behind" in run.text()
    assert "Calendar calls made by the smoke: 5" in run.text()


@pytest.mark.parametrize(("stuck", "failed"), [("attach", "3"), ("move", "4"), ("delete", "5")])
def test_a_change_that_never_arrives_fails_its_step_and_everything_is_cleaned_up(
    stuck: str, failed: str
) -> None:
    run = Run(stuck=frozenset({stuck}))

    outcome = run.run()

    assert outcome.exit_status == 1
    assert outcome.steps[-1].label == failed
    assert not outcome.steps[-1].arrived
    assert "not shown after" in outcome.steps[-1].detail
    assert run.calendar.calendars == {}  # no scratch calendar left, no event on it
    assert run.enrolment.enrolled == set()
    [conference] = run.conferencing.conferences.values()
    assert conference["status"] == "deleted"
    assert run.conferencing.deleted_by_smoke == [conference["id"]]
    assert f"smoke FAILED: step {failed} did not arrive" in run.text()


def test_the_steps_after_a_failed_one_are_reported_as_not_run() -> None:
    run = Run(stuck=frozenset({"attach"}))

    run.run()

    assert any(line.strip().startswith("4  (not run)") for line in run.lines)
    assert any(line.strip().startswith("5  (not run)") for line in run.lines)


def test_a_refused_enrolment_still_unenrols_and_deletes_the_scratch_calendar() -> None:
    run = Run(enrolment_fails=frozenset({"enroll"}))

    outcome = run.run()

    assert outcome.exit_status == 1
    assert [s.arrived for s in outcome.steps] == [True, False]
    assert "confsync enroll exited 1: refused" in outcome.steps[1].detail
    assert [what for what, _ in outcome.cleanup] == ["unenrol", "delete the scratch calendar"]
    assert run.calendar.calendars == {}
    assert run.conferencing.conferences == {}


def test_a_cleanup_that_fails_is_named_as_left_behind_and_fails_the_run() -> None:
    run = Run(calendar_fails=frozenset({"calendars.delete"}))

    outcome = run.run()

    assert all(s.arrived for s in outcome.steps)
    assert outcome.exit_status == 1
    assert outcome.left_behind == ["delete the scratch calendar"]
    assert "left behind: delete the scratch calendar" in run.text()


def test_every_part_of_the_cleanup_is_tried_when_one_fails() -> None:
    run = Run(stuck=frozenset({"move"}), enrolment_fails=frozenset({"unenroll"}))

    outcome = run.run()

    assert outcome.left_behind == ["unenrol"]
    assert run.calendar.calendars == {}
    assert all(c["status"] == "deleted" for c in run.conferencing.conferences.values())


def test_an_interrupt_during_a_step_still_cleans_up() -> None:
    run = Run()

    def interrupted(subject: str, calendar_id: str, timeout: float) -> None:
        run.enrolment.enrolled.add(calendar_id)
        raise KeyboardInterrupt

    run.enrolment.enroll = interrupted  # type: ignore[method-assign]

    with pytest.raises(KeyboardInterrupt):
        run.smoke.run()

    assert run.enrolment.enrolled == set()
    assert run.calendar.calendars == {}


def test_readings_that_fail_are_reported_unknown_and_do_not_change_the_exit_status() -> None:
    run = Run(operations=FakeOperations(error=RuntimeError("403 monitoring.viewer missing")))

    outcome = run.run()

    assert outcome.exit_status == 0
    assert [r.state for r in outcome.readings] == ["unknown"] * 3
    assert "403 monitoring.viewer missing" in run.text()


def test_a_read_that_fails_for_a_moment_does_not_fail_the_step() -> None:
    run = Run()
    real_get = run.conferencing.get
    failures = iter([True, False])

    def flaky(conference_id: str) -> dict[str, object]:
        if next(failures, False):
            raise RuntimeError("GET /v1/conferences/x: 503 unavailable")
        return real_get(conference_id)

    run.conferencing.get = flaky  # type: ignore[method-assign]

    assert run.run().exit_status == 0


def test_a_read_that_keeps_failing_is_named_when_the_step_times_out() -> None:
    run = Run()
    created = run.conferencing.create

    def create_then_break(owner: str) -> dict[str, object]:
        conference = created(owner)

        def broken(conference_id: str) -> dict[str, object]:
            raise RuntimeError("GET /v1/conferences/x: 401 unauthenticated")

        run.conferencing.get = broken  # type: ignore[method-assign]
        return conference

    run.conferencing.create = create_then_break  # type: ignore[method-assign]

    outcome = run.run()

    assert outcome.exit_status == 1
    assert outcome.steps[2].detail.endswith(
        "(last read failed: RuntimeError: GET /v1/conferences/x: 401 unauthenticated)"
    )
    assert outcome.left_behind == ["delete the conference"]  # it could not be read either
