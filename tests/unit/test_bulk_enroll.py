"""``confsync enroll`` in bulk with in-memory fakes: files, re-runs, blocks, pacing, waiting,
listings, and the summary an operator reads."""

from __future__ import annotations

import io
import json
import sys
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from confsync.calendars import CalendarDoc, CalendarState, calendar_key
from confsync.cli import main
from confsync.cli.commands import Services
from confsync.cli.directory import CalendarDirectory
from confsync.cli.enroll_plan import Refusal, Target, parse_line, plan_lines
from confsync.cli.progress import Progress
from confsync.cli.rate import TokenBucket
from confsync.config import CliConfig
from confsync.domains import parse_allowed_domains
from confsync.errors import PublishError
from confsync.messages import ChannelCommand, EnrollCommand
from confsync.testing import InMemoryCalendarStore, RecordingCommandPublisher

ENV = {"GOOGLE_CLOUD_PROJECT": "my-project", "CONFSYNC_ALLOWED_DOMAINS": "example.com"}
T0 = datetime(2026, 12, 4, 9, 0, 0, tzinfo=UTC)
ALLOWED = parse_allowed_domains("example.com")


def _key(subject: str, calendar_id: str | None = None) -> str:
    return calendar_key(subject, calendar_id or subject)


def _enroll(subject: str, calendar_id: str | None = None) -> EnrollCommand:
    return EnrollCommand(subject, calendar_id or subject, source="operator")


class Clock:
    """Wall time that moves only when the command sleeps (or a publish takes ``publish_s``)."""

    def __init__(self) -> None:
        self.now = T0
        self.slept: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    def seconds(self) -> float:
        return self.now.timestamp()

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += timedelta(seconds=seconds)


@dataclass
class TimedPublisher:
    """Records each command with the clock's time when it was published."""

    clock: Clock
    publish_s: float = 0.0
    at: list[float] = field(default_factory=list)
    published: list[ChannelCommand] = field(default_factory=list)
    failing: set[str] = field(default_factory=set)

    def publish(self, command: ChannelCommand) -> None:
        self.clock.now += timedelta(seconds=self.publish_s)
        if isinstance(command, EnrollCommand) and command.subject in self.failing:
            raise PublishError("publishing to projects/p/topics/channel-commands failed: 503")
        self.at.append(self.clock.seconds() - T0.timestamp())
        self.published.append(command)


@dataclass
class FakeDirectory:
    owned: dict[str, list[str]] = field(default_factory=dict)
    users: dict[str, list[str]] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)

    def owned_calendars(self, subject: str) -> list[str]:
        self.asked.append(f"owned {subject}")
        return self.owned.get(subject, [])

    def domain_users(self, domain: str, admin: str) -> list[str]:
        self.asked.append(f"users {domain} as {admin}")
        return self.users.get(domain, [])


@dataclass
class Fakes:
    clock: Clock = field(default_factory=Clock)
    commands: RecordingCommandPublisher | TimedPublisher = field(
        default_factory=RecordingCommandPublisher
    )
    calendars: InMemoryCalendarStore = field(default_factory=InMemoryCalendarStore)
    directory: FakeDirectory = field(default_factory=FakeDirectory)
    configs: list[CliConfig] = field(default_factory=list)

    def factory(self, config: CliConfig) -> Services:
        self.configs.append(config)
        return cast(Services, self)

    def run(self, *argv: str, env: dict[str, str] | None = None) -> int:
        return main(
            list(argv),
            ENV if env is None else env,
            self.factory,
            clock=self.clock,
            sleep=self.clock.sleep,
            directory=lambda _config: cast(CalendarDirectory, self.directory),
        )

    def put(self, subject: str, state: CalendarState, calendar_id: str | None = None) -> None:
        calendar = calendar_id or subject
        doc = CalendarDoc(_key(subject, calendar), subject, calendar, state=state)
        self.calendars.put(doc)


def _file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "subjects.txt"
    path.write_text(text, encoding="utf-8")
    return str(path)


MIXED = """\
# who to enrol first
alice@example.com
bob@example.com,team@group.calendar.google.com

carol at example.com
dave@other.org
erin@example.com,
alice@example.com,primary
ALICE@example.com
frank@example.com, primary
"""


def test_a_file_enrols_the_good_lines_and_names_each_bad_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fakes = Fakes()

    assert fakes.run("enroll", "--from-file", _file(tmp_path, MIXED)) == 1

    assert fakes.commands.published == [
        _enroll("alice@example.com"),
        _enroll("bob@example.com", "team@group.calendar.google.com"),
        _enroll("frank@example.com"),
    ]
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(
        "enrolled 3 (0 unblocked), already enrolled 0, refused 3, failed 0, duplicates 2"
    )
    assert "line 5: refused: not an e-mail address (local@domain) (carol at example.com)" in out
    assert any(line.startswith("line 6: refused: domain other.org is not in") for line in out)
    assert any(line.startswith("line 7: refused: the calendar id is blank") for line in out)
    assert "line 8: duplicate of line 2 (enrolled once)" in out
    assert "line 9: duplicate of line 2 (enrolled once)" in out


def test_a_second_run_reports_everything_already_enrolled_and_publishes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fakes = Fakes()
    path = _file(tmp_path, "alice@example.com\nbob@example.com\n")
    assert fakes.run("enroll", "--from-file", path) == 0
    fakes.put("alice@example.com", "active")  # what the channels function did meanwhile
    fakes.put("bob@example.com", "poll-only")
    capsys.readouterr()

    assert fakes.run("enroll", "--from-file", path, "--json") == 0

    assert len(fakes.commands.published) == 2  # the first run's only
    summary = json.loads(capsys.readouterr().out)
    assert summary["enrolled"] == 0
    assert summary["alreadyEnrolled"] == 2


def test_blocked_calendars_are_published_and_said_unblocked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fakes = Fakes()
    fakes.put("alice@example.com", "blocked")
    fakes.put("bob@example.com", "disconnected")
    fakes.put("carol@example.com", "active")
    path = _file(tmp_path, "alice@example.com\nbob@example.com\ncarol@example.com\n")

    assert fakes.run("enroll", "--from-file", path, "--json") == 0

    assert fakes.commands.published == [_enroll("alice@example.com"), _enroll("bob@example.com")]
    summary = json.loads(capsys.readouterr().out)
    assert (summary["enrolled"], summary["unblocked"], summary["alreadyEnrolled"]) == (2, 1, 1)


def test_a_file_saved_with_a_byte_order_mark_reads_its_first_line(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes("alice@example.com\r\nbob@example.com\r\n".encode("utf-8-sig"))
    fakes = Fakes()

    assert fakes.run("enroll", "--from-file", str(path)) == 0

    assert fakes.commands.published == [_enroll("alice@example.com"), _enroll("bob@example.com")]


def test_stdin_is_read_with_a_dash(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("alice@example.com\n"))
    fakes = Fakes()

    assert fakes.run("enroll", "--from-file", "-") == 0

    assert fakes.commands.published == [_enroll("alice@example.com")]


def test_publishes_are_spaced_by_the_rate_whatever_a_publish_takes(tmp_path: Path) -> None:
    fakes = Fakes()
    publisher = TimedPublisher(fakes.clock, publish_s=0.03)
    fakes.commands = publisher
    lines = "".join(f"user{i}@example.com\n" for i in range(40))

    assert fakes.run("enroll", "--from-file", _file(tmp_path, lines), "--rate", "10") == 0

    gaps = [later - earlier for earlier, later in zip(publisher.at, publisher.at[1:], strict=False)]
    assert len(publisher.at) == 40
    assert all(gap == pytest.approx(0.1, abs=1e-5) for gap in gaps)  # 10 per second
    assert publisher.at[-1] - publisher.at[0] == pytest.approx(3.9, abs=1e-5)  # no drift


def test_the_bucket_lets_a_burst_through_then_paces() -> None:
    clock = Clock()
    bucket = TokenBucket(100, burst=10, clock=clock.seconds, sleep=clock.sleep)
    at = []
    for _ in range(30):
        bucket.take()
        at.append(clock.seconds() - T0.timestamp())

    assert at[:10] == [0.0] * 10
    assert at[29] == pytest.approx(0.2)  # 20 more at 100 per second


def test_publish_failures_are_named_and_a_run_of_them_stops_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fakes = Fakes()
    publisher = TimedPublisher(fakes.clock)
    publisher.failing = {f"user{i}@example.com" for i in range(1, 7)}
    fakes.commands = publisher
    lines = "".join(f"user{i}@example.com\n" for i in range(10))

    assert fakes.run("enroll", "--from-file", _file(tmp_path, lines), "--json") == 1

    summary = json.loads(capsys.readouterr().out)
    assert summary["enrolled"] == 1  # user0; user1-5 fail, then the rest is not tried
    assert [f["origin"] for f in summary["failed"]] == [f"line {i}" for i in range(2, 11)]
    assert "503" in summary["failed"][0]["reason"]
    assert "stopped after 5 publish failures" in summary["failed"][-1]["reason"]


def test_wait_reports_ready_and_disconnected_calendars(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fakes = Fakes()
    sleep = fakes.clock.sleep

    def channels_work(seconds: float) -> None:  # the channels function, between two polls
        sleep(seconds)
        alice = CalendarDoc(_key("alice@example.com"), "alice@example.com", "alice@example.com")
        fakes.calendars.put(replace(alice, sync_token="t1"))
        bob = CalendarDoc(_key("bob@example.com"), "bob@example.com", "bob@example.com")
        fakes.calendars.put(replace(bob, state="disconnected", last_outcome="calendar 404"))

    fakes.clock.sleep = channels_work  # type: ignore[method-assign]
    path = _file(tmp_path, "alice@example.com\nbob@example.com\n")

    assert fakes.run("enroll", "--from-file", path, "--wait", "60", "--json") == 1

    summary = json.loads(capsys.readouterr().out)
    assert summary["ready"] == 1
    [failed] = summary["failed"]
    assert failed["origin"] == "line 2"
    assert failed["reason"] == "disconnected: calendar 404"


def test_wait_times_out_naming_what_is_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fakes = Fakes()
    path = _file(tmp_path, "alice@example.com\n")

    assert fakes.run("enroll", "--from-file", path, "--wait", "10") == 1

    out = capsys.readouterr().out
    assert "line 1: failed: not ready after 10 s (no calendar record yet)" in out
    assert sum(fakes.clock.slept) >= 10


def test_missing_allow_list_is_refused_naming_the_variable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fakes = Fakes()
    env = {"GOOGLE_CLOUD_PROJECT": "my-project"}

    assert fakes.run("enroll", "--from-file", _file(tmp_path, "a@example.com\n"), env=env) == 2
    assert fakes.run("enroll", "--subject", "a@example.com", "--calendar", "primary", env=env) == 2

    assert capsys.readouterr().err.count("CONFSYNC_ALLOWED_DOMAINS is required by confsync") == 2
    assert fakes.commands.published == []


def test_a_single_enrolment_of_another_domain_is_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    fakes = Fakes()

    assert fakes.run("enroll", "--subject", "dave@other.org", "--calendar", "primary") == 1

    assert "domain other.org is not in CONFSYNC_ALLOWED_DOMAINS" in capsys.readouterr().err
    assert fakes.commands.published == []


def test_all_owned_enrols_the_listed_calendars(capsys: pytest.CaptureFixture[str]) -> None:
    fakes = Fakes()
    fakes.directory.owned["alice@example.com"] = ["alice@example.com", "team@group.example.com"]

    assert fakes.run("enroll", "--subject", "alice@example.com", "--all-owned") == 0

    assert fakes.commands.published == [
        _enroll("alice@example.com"),
        _enroll("alice@example.com", "team@group.example.com"),
    ]


def test_all_owned_of_a_refused_subject_lists_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    fakes = Fakes()

    assert fakes.run("enroll", "--subject", "dave@other.org", "--all-owned") == 1

    assert fakes.directory.asked == []
    assert "nothing published" in capsys.readouterr().err


def test_domain_enrols_each_listed_user(capsys: pytest.CaptureFixture[str]) -> None:
    fakes = Fakes()
    fakes.directory.users["example.com"] = ["alice@example.com", "bob@example.com"]

    argv = ["enroll", "--domain", "example.com", "--admin", "root@example.com"]
    assert fakes.run(*argv) == 0

    assert fakes.directory.asked == ["users example.com as root@example.com"]
    assert fakes.commands.published == [_enroll("alice@example.com"), _enroll("bob@example.com")]


def test_a_domain_outside_the_allow_list_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    fakes = Fakes()

    assert fakes.run("enroll", "--domain", "other.org", "--admin", "root@other.org") == 1

    assert fakes.directory.asked == []


@pytest.mark.parametrize(
    "argv",
    [
        ["enroll", "--from-file", "-", "--subject", "a@example.com"],
        ["enroll", "--subject", "a@example.com"],
        ["enroll", "--all-owned"],
        ["enroll", "--domain", "example.com"],
        ["enroll", "--from-file", "-", "--domain", "example.com", "--admin", "a@example.com"],
        ["enroll", "--from-file", "-", "--rate", "0"],
        ["enroll", "--subject", "a@example.com", "--calendar", "primary", "--rate", "5"],
        ["enroll", "--domain", "not a domain", "--admin", "a@example.com"],
    ],
)
def test_bad_enroll_arguments_exit_2_without_touching_anything(argv: list[str]) -> None:
    fakes = Fakes()

    with pytest.raises(SystemExit) as exited:
        fakes.run(*argv)

    assert exited.value.code == 2
    assert fakes.configs == []


# --- the line parser -----------------------------------------------------------------------------


@given(st.text(max_size=300))
def test_any_line_is_parsed_or_refused_with_a_reason(text: str) -> None:
    outcome = parse_line(text, 7, ALLOWED)

    if outcome is None:
        assert not text.strip() or text.strip().startswith("#")
    elif isinstance(outcome, Refusal):
        assert outcome.origin == "line 7"
        assert outcome.reason
        assert len(outcome.text) <= 80
    else:
        assert isinstance(outcome, Target)
        assert outcome.subject.endswith("@example.com")
        assert outcome.key == calendar_key(outcome.subject, outcome.calendar_id)


@given(st.lists(st.sampled_from(["a@example.com", "A@example.com,primary", "# c", "", "x"])))
def test_each_calendar_is_planned_once(lines: list[str]) -> None:
    plan = plan_lines(lines, ALLOWED)

    keys = [target.key for target in plan.targets]
    assert len(keys) == len(set(keys))
    assert len(plan.targets) + len(plan.duplicates) + len(plan.refusals) == sum(
        1 for line in lines if line and not line.startswith("#")
    )


# --- progress ------------------------------------------------------------------------------------


def test_progress_in_a_log_is_a_line_per_tenth() -> None:
    clock = Clock()
    stream = io.StringIO()
    progress = Progress("enroll", 200, stream, tty=False, clock=clock.seconds)
    for done in range(1, 201):
        clock.now += timedelta(seconds=0.01)
        progress.update(done)
    progress.finish()

    lines = stream.getvalue().splitlines()
    assert len(lines) == 11  # 0%, 10%, ... 100%
    assert lines[-1].startswith("enroll: 200/200  100%")


def test_progress_on_a_terminal_redraws_one_line() -> None:
    clock = Clock()
    stream = io.StringIO()
    progress = Progress("enroll", 10, stream, tty=True, clock=clock.seconds)
    for done in range(1, 11):
        clock.now += timedelta(seconds=0.2)
        progress.update(done)
    progress.finish()

    text = stream.getvalue()
    assert text.count("\n") == 1
    assert text.count("\r") == 11
    assert text.rstrip().endswith("10/10  100%  5.0/s")
