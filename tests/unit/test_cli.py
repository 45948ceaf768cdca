"""The ``confsync`` command line with fake services: arguments, output, exit codes."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import pytest

from confsync.calendars import CalendarDoc, calendar_key
from confsync.cli import main
from confsync.cli.commands import (
    SUBCOMMANDS,
    Services,
    Subcommand,
    _key_of,
    build_parser,
    status_table,
)
from confsync.cli.status import CalendarStatus, SchedulerError, SchedulerJobStatus, calendar_status
from confsync.config import CliConfig, load_cli_config
from confsync.errors import (
    ConfigurationError,
    PublishError,
    StoreUnavailableError,
    UntrustedViewError,
)
from confsync.messages import (
    EnrollCommand,
    SyncRequest,
    TickCommand,
    UnenrollCommand,
    decode_channel_command,
    encode_channel_command,
)
from confsync.testing import (
    InMemoryCalendarStore,
    InMemoryRecordStore,
    RecordingCommandPublisher,
    RecordingPublisher,
)

ENV = {"GOOGLE_CLOUD_PROJECT": "my-project"}
JOB = "projects/my-project/locations/europe-west1/jobs/confsync-tick"
PRODUCTION = {**ENV, "CONFSYNC_SCHEDULER_JOB": JOB}
T0 = datetime(2026, 11, 24, 6, 0, 0, tzinfo=UTC)
KEY = calendar_key("alice@example.com", "alice@example.com")
"""What every command keys alice's primary calendar by: ``primary`` resolves to her address."""
ALICE = ["--subject", "alice@example.com", "--calendar", "primary"]
ENROLL_ENV = {**ENV, "CONFSYNC_ALLOWED_DOMAINS": "example.com"}
ENROLL_KEY = KEY


@dataclass
class FakeStatus:
    rows: list[CalendarStatus] = field(default_factory=list)
    answers: list[list[CalendarStatus]] = field(default_factory=list)
    asked: list[str | None] = field(default_factory=list)
    states: list[str | None] = field(default_factory=list)
    error: Exception | None = None

    def calendars(
        self, key: str | None = None, *, now: datetime, state: str | None = None
    ) -> list[CalendarStatus]:
        self.asked.append(key)
        self.states.append(state)
        if self.error is not None:
            raise self.error
        if self.answers:
            return self.answers.pop(0)
        return [
            row
            for row in self.rows
            if key in (None, row.calendar_key) and state in (None, row.state)
        ]


@dataclass
class FakeScheduler:
    """The SchedulerJobs port in memory: jobs by name; an unknown job is not found."""

    jobs: dict[str, SchedulerJobStatus] = field(default_factory=dict)
    runs: list[str] = field(default_factory=list)
    error: SchedulerError | None = None

    def _job(self, name: str) -> SchedulerJobStatus:
        if self.error is not None:
            raise self.error
        if name not in self.jobs:
            raise SchedulerError(f"Cloud Scheduler job {name} not found")
        return self.jobs[name]

    def get(self, name: str) -> SchedulerJobStatus:
        return self._job(name)

    def run(self, name: str) -> SchedulerJobStatus:
        job = self._job(name)
        self.runs.append(name)
        return job


def _job(**fields: object) -> SchedulerJobStatus:
    job = SchedulerJobStatus(
        name=JOB,
        state="ENABLED",
        schedule="*/5 * * * *",
        time_zone="Etc/UTC",
        last_attempt_at=T0 - timedelta(minutes=4),
        last_attempt_status="OK",
    )
    return replace(job, **fields)  # type: ignore[arg-type]


@dataclass
class Fakes:
    commands: RecordingCommandPublisher = field(default_factory=RecordingCommandPublisher)
    sync_requests: RecordingPublisher = field(default_factory=RecordingPublisher)
    calendars: InMemoryCalendarStore = field(default_factory=InMemoryCalendarStore)
    records: InMemoryRecordStore = field(default_factory=InMemoryRecordStore)
    status: FakeStatus = field(default_factory=FakeStatus)
    scheduler: FakeScheduler = field(default_factory=FakeScheduler)
    configs: list[CliConfig] = field(default_factory=list)

    def factory(self, config: CliConfig) -> Services:
        self.configs.append(config)
        return self


class FailingPublisher:
    def publish(self, _message: object) -> None:
        raise PublishError("publishing to projects/p/topics/channel-commands failed: 404\nNotFound")


class Clock:
    def __init__(self) -> None:
        self.now = T0
        self.slept: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += timedelta(seconds=seconds)


def _run(fakes: Fakes, *argv: str, env: dict[str, str] | None = None) -> int:
    clock = Clock()
    return main(
        list(argv), ENV if env is None else env, fakes.factory, clock=clock, sleep=clock.sleep
    )


def _row(key: str = KEY, **fields: object) -> CalendarStatus:
    doc = CalendarDoc(key=key, subject="alice@example.com", calendar_id="primary", sync_token="t")
    row = calendar_status(doc, [T0 + timedelta(days=2)], 0)
    return replace(row, **fields)  # type: ignore[arg-type]


# --- configuration -------------------------------------------------------------------------------


def test_cli_config_defaults_and_overrides() -> None:
    config = load_cli_config(ENV)
    assert config == CliConfig("my-project", "(default)", "sync-requests", "channel-commands")

    custom = load_cli_config(
        {
            **ENV,
            "CONFSYNC_FIRESTORE_DATABASE": "db2",
            "CONFSYNC_SYNC_TOPIC": "s",
            "CONFSYNC_CHANNEL_COMMANDS_TOPIC": "c",
        }
    )
    assert custom == CliConfig("my-project", "db2", "s", "c")
    with pytest.raises(ConfigurationError, match="GOOGLE_CLOUD_PROJECT is required"):
        load_cli_config({})


def test_missing_project_exits_2_naming_the_variable(capsys: pytest.CaptureFixture[str]) -> None:
    fakes = Fakes()

    assert _run(fakes, "tick", env={}) == 2

    assert "GOOGLE_CLOUD_PROJECT is required" in capsys.readouterr().err
    assert fakes.configs == []
    assert fakes.commands.published == []


# --- arguments -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["frobnicate"],
        ["enroll", "--subject", "alice@example.com"],
        ["enroll", *ALICE, "--wait", "0"],
        ["enroll", *ALICE, "--wait", "soon"],
        ["enroll", "--subject", " ", "--calendar", "primary"],
        ["unenroll"],
        ["unenroll", "--subject", "alice@example.com"],
        ["unenroll", *ALICE, "--calendar-key", KEY],
        ["resync", "--calendar", "primary"],
        ["status", "--subject", "alice@example.com"],
        ["tick", "--forget"],
    ],
)
def test_bad_arguments_exit_2_without_touching_anything(argv: list[str]) -> None:
    fakes = Fakes()

    with pytest.raises(SystemExit) as exited:
        _run(fakes, *argv)

    assert exited.value.code == 2
    assert fakes.configs == []


# --- enroll / unenroll / tick --------------------------------------------------------------------


def test_enroll_publishes_the_command_and_prints_the_key(
    capsys: pytest.CaptureFixture[str],
) -> None:
    fakes = Fakes()

    assert _run(fakes, "enroll", *ALICE, env=ENROLL_ENV) == 0

    assert fakes.commands.published == [EnrollCommand("alice@example.com", "alice@example.com")]
    assert capsys.readouterr().out == f"{ENROLL_KEY}\n"
    assert fakes.configs[0].commands_topic == "channel-commands"


def test_enroll_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(Fakes(), "enroll", *ALICE, "--json", env=ENROLL_ENV) == 0

    assert json.loads(capsys.readouterr().out) == {"calendarKey": ENROLL_KEY, "published": True}


def test_enroll_wait_polls_until_the_calendar_is_ready(capsys: pytest.CaptureFixture[str]) -> None:
    fakes = Fakes()
    fakes.status.answers = [
        [],
        [_row(ENROLL_KEY, channel_expires_at=None, has_sync_token=False)],
        [_row(ENROLL_KEY)],
    ]

    assert _run(fakes, "enroll", *ALICE, "--wait", "30", "--json", env=ENROLL_ENV) == 0

    body = json.loads(capsys.readouterr().out)
    assert body["ready"] is True
    assert body["status"]["calendarKey"] == ENROLL_KEY
    assert fakes.status.asked == [ENROLL_KEY, ENROLL_KEY, ENROLL_KEY]


def test_enroll_wait_times_out_with_what_is_missing(capsys: pytest.CaptureFixture[str]) -> None:
    fakes = Fakes()
    fakes.status.rows = [_row(ENROLL_KEY, state="poll-only", channel_expires_at=None)]

    assert _run(fakes, "enroll", *ALICE, "--wait", "5", env=ENROLL_ENV) == 1

    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert f"calendar {ENROLL_KEY} is not ready after 5 s" in captured.err
    assert "state poll-only, no live channel" in captured.err
    assert fakes.commands.published  # the command went out anyway


def test_enroll_wait_timeout_json_says_not_ready(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(Fakes(), "enroll", *ALICE, "--wait", "1", "--json", env=ENROLL_ENV) == 1

    body = json.loads(capsys.readouterr().out)
    assert body == {"calendarKey": ENROLL_KEY, "published": True, "ready": False, "status": None}


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        (["unenroll", *ALICE], UnenrollCommand(KEY)),
        (["unenroll", *ALICE, "--forget"], UnenrollCommand(KEY, forget=True)),
        (["unenroll", "--calendar-key", "ck_given"], UnenrollCommand("ck_given")),
        (
            ["unenroll", "--calendar-key", "ck_given", "--block"],
            UnenrollCommand("ck_given", block=True),
        ),
        (
            ["unenroll", *ALICE, "--block", "--forget"],
            UnenrollCommand(KEY, forget=True, block=True),
        ),
    ],
)
def test_unenroll_publishes_by_key(
    argv: list[str], command: UnenrollCommand, capsys: pytest.CaptureFixture[str]
) -> None:
    fakes = Fakes()

    assert _run(fakes, *argv, "--json") == 0

    assert fakes.commands.published == [command]
    assert json.loads(capsys.readouterr().out) == {
        "calendarKey": command.calendar_key,
        "forget": command.forget,
        "block": command.block,
        "published": True,
    }


def test_unenroll_block_publishes_the_block_and_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    fakes = Fakes()

    assert _run(fakes, "unenroll", "--calendar-key", "ck_given", "--block") == 0

    [command] = fakes.commands.published
    assert json.loads(encode_channel_command(command)) == {
        "v": 1,
        "command": "unenroll",
        "calendarKey": "ck_given",
        "block": True,
    }
    assert capsys.readouterr().out == "ck_given blocked (only confsync enroll lifts the block)\n"


def test_unenroll_without_block_prints_only_the_key(capsys: pytest.CaptureFixture[str]) -> None:
    fakes = Fakes()

    assert _run(fakes, "unenroll", "--calendar-key", "ck_given") == 0

    assert fakes.commands.published == [UnenrollCommand("ck_given")]
    assert capsys.readouterr().out == "ck_given\n"


def test_tick_publishes_a_tick_of_now(capsys: pytest.CaptureFixture[str]) -> None:
    fakes = Fakes()

    assert _run(fakes, "tick", "--json") == 0

    assert fakes.commands.published == [TickCommand(issued_at=T0)]
    assert json.loads(encode_channel_command(fakes.commands.published[0])) == {
        "v": 1,
        "command": "tick",
        "issuedAt": "2026-11-24T06:00:00.000Z",
    }
    assert decode_channel_command(encode_channel_command(TickCommand(T0))) == TickCommand(T0)
    assert json.loads(capsys.readouterr().out) == {
        "command": "tick",
        "issuedAt": "2026-11-24T06:00:00Z",
        "published": True,
    }


def test_a_publish_failure_is_one_line_and_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    fakes = Fakes()
    fakes.commands = FailingPublisher()  # type: ignore[assignment]

    assert _run(fakes, "tick") == 1

    err = capsys.readouterr().err
    assert err.startswith("confsync: publishing to projects/p/topics/channel-commands failed")
    assert err.count("\n") == 1
    assert "Traceback" not in err


# --- status --------------------------------------------------------------------------------------


def test_status_table_has_a_header_and_one_aligned_row_per_calendar(
    capsys: pytest.CaptureFixture[str],
) -> None:
    fakes = Fakes()
    fakes.status.rows = [
        _row(
            last_success_at=T0,
            last_outcome="synced",
            pending_count=2,
            failed_records=1,
            held_deletes=25,
        ),
        _row("ck_other", state="unenrolled", channel_expires_at=None, has_sync_token=False),
    ]

    assert _run(fakes, "status") == 0

    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [
        "CALENDAR", "KEY", "CALENDAR", "ID", "STATE", "TOKEN", "CHANNEL", "EXPIRES",
        "LAST", "SUCCESS", "LAST", "OUTCOME", "PENDING", "FAILED", "HELD", "DISCONNECTED",
        "SINCE",
    ]  # fmt: skip
    assert lines[1].split() == [
        KEY, "primary", "active", "yes", "2026-11-26T06:00:00Z", "2026-11-24T06:00:00Z",
        "synced", "2", "1", "25", "-",
    ]  # fmt: skip
    assert lines[2].split() == [
        "ck_other", "primary", "unenrolled", "no", "-", "-", "-", "0", "0", "0", "-",
    ]  # fmt: skip
    assert lines[1].index("active") == lines[2].index("unenrolled") == lines[0].index("STATE")


def test_status_json_holds_the_same_rows(capsys: pytest.CaptureFixture[str]) -> None:
    fakes = Fakes()
    fakes.status.rows = [
        _row(last_outcome="synced", pending_count=2, failed_records=1, held_deletes=25)
    ]

    assert _run(fakes, "status", "--json") == 0

    assert json.loads(capsys.readouterr().out) == {
        "calendars": [
            {
                "calendarKey": KEY,
                "calendarId": "primary",
                "state": "active",
                "syncToken": True,
                "channelExpiresAt": "2026-11-26T06:00:00Z",
                "lastSuccessAt": None,
                "lastOutcome": "synced",
                "pendingCount": 2,
                "failedRecords": 1,
                "heldDeletes": 25,
                "disconnectedAt": None,
            }
        ],
        "schedulerJob": None,
    }


def test_status_shows_a_calendar_disconnected_for_its_access_role_and_the_role(
    capsys: pytest.CaptureFixture[str],
) -> None:
    outcome = str(UntrustedViewError("freeBusyReader"))  # what the sync records as last outcome
    fakes = Fakes()
    fakes.status.rows = [_row(state="disconnected", last_outcome=outcome)]

    assert _run(fakes, "status") == 0
    row = capsys.readouterr().out.splitlines()[1]
    assert _run(fakes, "status", "--json") == 0
    [shown] = json.loads(capsys.readouterr().out)["calendars"]

    assert "disconnected" in row.split()
    assert "access_role: events.list answered accessRole 'freeBusyReader'" in row
    assert shown["state"] == "disconnected"
    assert shown["lastOutcome"].startswith("access_role:")
    assert "freeBusyReader" in shown["lastOutcome"]


def _gone(key: str, days: int) -> CalendarStatus:
    return _row(
        key,
        state="disconnected",
        channel_expires_at=None,
        last_outcome="events.list: HTTP 404 notFound",
        disconnected_at=T0 - timedelta(days=days),
    )


def test_status_state_disconnected_lists_them_with_why_and_since_when(
    capsys: pytest.CaptureFixture[str],
) -> None:
    fakes = Fakes()
    fakes.status.rows = [_row(), _gone("ck_gone", 3), _row("ck_off", state="unenrolled")]

    assert _run(fakes, "status", "--state", "disconnected") == 0
    lines = capsys.readouterr().out.splitlines()
    assert _run(fakes, "status", "--state", "disconnected", "--json") == 0
    [shown] = json.loads(capsys.readouterr().out)["calendars"]

    assert fakes.status.states == ["disconnected", "disconnected"]  # asked, not filtered here
    assert len(lines) == 2
    assert lines[1].split()[:3] == ["ck_gone", "primary", "disconnected"]
    assert "events.list: HTTP 404 notFound" in lines[1]
    assert lines[1].split()[-1] == "2026-11-21T06:00:00Z"
    assert shown["calendarKey"] == "ck_gone"
    assert shown["lastOutcome"] == "events.list: HTTP 404 notFound"
    assert shown["disconnectedAt"] == "2026-11-21T06:00:00Z"


@pytest.mark.parametrize("state", ["active", "poll-only", "disconnected", "unenrolled", "blocked"])
def test_status_state_accepts_every_calendar_state(state: str) -> None:
    fakes = Fakes()

    assert _run(fakes, "status", "--state", state) == 0
    assert fakes.status.states == [state]


def test_status_state_refuses_an_unknown_state(capsys: pytest.CaptureFixture[str]) -> None:
    fakes = Fakes()

    with pytest.raises(SystemExit) as caught:
        _run(fakes, "status", "--state", "gone")

    assert caught.value.code == 2
    assert "invalid choice: 'gone'" in capsys.readouterr().err
    assert fakes.status.asked == []


def test_status_state_of_one_calendar_in_another_state_shows_none(
    capsys: pytest.CaptureFixture[str],
) -> None:
    fakes = Fakes()
    fakes.status.rows = [_row()]

    assert _run(fakes, "status", "--calendar-key", KEY, "--state", "disconnected") == 0

    assert capsys.readouterr().out.splitlines() == ["no calendars"]


def test_status_of_one_calendar_by_subject_or_key(capsys: pytest.CaptureFixture[str]) -> None:
    fakes = Fakes()
    fakes.status.rows = [_row(), _row("ck_other")]

    assert _run(fakes, "status", *ALICE, "--json") == 0
    assert _run(fakes, "status", "--calendar-key", "ck_other", "--json") == 0

    out = capsys.readouterr().out.splitlines()
    assert [row["calendarKey"] for row in json.loads(out[0])["calendars"]] == [KEY]
    assert [row["calendarKey"] for row in json.loads(out[1])["calendars"]] == ["ck_other"]


def test_status_of_an_unknown_calendar_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(Fakes(), "status", "--calendar-key", "ck_nope") == 1

    assert "calendar ck_nope is not enrolled" in capsys.readouterr().err


def test_status_with_no_calendars(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(Fakes(), "status") == 0
    assert _run(Fakes(), "status", "--json") == 0

    out = capsys.readouterr().out.splitlines()
    assert out[0] == "no calendars"
    assert json.loads(out[1]) == {"calendars": [], "schedulerJob": None}


def test_a_store_failure_is_one_line_and_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    fakes = Fakes()
    fakes.status.error = StoreUnavailableError("Firestore status read failed: ServiceUnavailable")

    assert _run(fakes, "status", "--json") == 1

    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "confsync: Firestore status read failed: ServiceUnavailable\n"


def test_status_table_formats_malformed_rows() -> None:
    row = CalendarStatus("ck_bad", "", "malformed", False, None, None, None, 0, 0)

    assert status_table([row]).splitlines()[1].split() == [
        "ck_bad", "malformed", "no", "-", "-", "-", "0", "0", "0", "-",
    ]  # fmt: skip


# --- resync --------------------------------------------------------------------------------------


def test_resync_clears_the_token_then_requests_a_manual_sync(
    capsys: pytest.CaptureFixture[str],
) -> None:
    fakes = Fakes()
    doc = CalendarDoc(key=KEY, subject="alice@example.com", calendar_id="primary", sync_token="t")
    fakes.calendars.put(doc)

    assert _run(fakes, "resync", *ALICE, "--json") == 0

    assert fakes.calendars.get(KEY) == replace(doc, sync_token=None)
    assert fakes.sync_requests.published == [SyncRequest(KEY, "manual", T0)]
    assert json.loads(capsys.readouterr().out) == {
        "calendarKey": KEY,
        "tokenCleared": True,
        "published": True,
    }


def test_resync_of_an_unknown_calendar_publishes_nothing_and_exits_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    fakes = Fakes()

    assert _run(fakes, "resync", "--calendar-key", "ck_nope") == 1

    assert fakes.sync_requests.published == []
    assert "calendar ck_nope is not enrolled" in capsys.readouterr().err


# --- against a deployed stack: the Cloud Scheduler job ------------------------------------------


def test_tick_runs_the_scheduler_job_instead_of_publishing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    fakes = Fakes()
    fakes.scheduler.jobs[JOB] = _job()

    assert _run(fakes, "tick", "--json", env=PRODUCTION) == 0
    assert _run(fakes, "tick", env=PRODUCTION) == 0

    assert fakes.scheduler.runs == [JOB, JOB]
    assert fakes.commands.published == []
    out = capsys.readouterr().out.splitlines()
    assert json.loads(out[0]) == {
        "command": "tick",
        "job": JOB,
        "state": "ENABLED",
        "requestedAt": "2026-11-24T06:00:00Z",
        "ran": True,
    }
    assert out[1] == f"{JOB}: run requested (ENABLED)"


def test_tick_of_a_missing_job_is_one_line_and_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    fakes = Fakes()

    assert _run(fakes, "tick", env=PRODUCTION) == 1

    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"confsync: Cloud Scheduler job {JOB} not found\n"
    assert fakes.commands.published == []  # no silent fallback to publishing a tick


def test_a_malformed_job_name_exits_2_naming_the_variable(
    capsys: pytest.CaptureFixture[str],
) -> None:
    fakes = Fakes()

    assert _run(fakes, "tick", env={**ENV, "CONFSYNC_SCHEDULER_JOB": "confsync-tick"}) == 2

    assert "CONFSYNC_SCHEDULER_JOB" in capsys.readouterr().err
    assert fakes.configs == []


def test_tick_without_the_cli_extra_names_the_install_command(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real services, with google-cloud-scheduler made unimportable."""
    monkeypatch.setitem(sys.modules, "google.cloud.scheduler_v1", None)
    monkeypatch.delitem(sys.modules, "confsync.cli.scheduler", raising=False)

    assert main(["tick"], PRODUCTION) == 2

    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "google-cloud-scheduler is not installed: pip install 'confsync[cli]'" in err


def test_status_shows_the_scheduler_job_under_the_calendars(
    capsys: pytest.CaptureFixture[str],
) -> None:
    fakes = Fakes()
    fakes.status.rows = [_row()]
    fakes.scheduler.jobs[JOB] = _job(state="PAUSED", last_attempt_status="UNAVAILABLE: no topic")

    assert _run(fakes, "status", env=PRODUCTION) == 0

    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("CALENDAR KEY")
    assert lines[1].split()[0] == KEY
    assert lines[2:] == [
        "",
        f"scheduler job {JOB}: PAUSED, schedule */5 * * * * (Etc/UTC), "
        "last attempt 2026-11-24T05:56:00Z UNAVAILABLE: no topic",
    ]
    assert fakes.scheduler.runs == []  # status never runs the job


def test_status_json_includes_the_scheduler_job(capsys: pytest.CaptureFixture[str]) -> None:
    fakes = Fakes()
    fakes.status.rows = [_row()]
    fakes.scheduler.jobs[JOB] = _job(last_attempt_at=None, last_attempt_status=None)

    assert _run(fakes, "status", "--json", env=PRODUCTION) == 0

    body = json.loads(capsys.readouterr().out)
    assert [row["calendarKey"] for row in body["calendars"]] == [KEY]
    assert body["schedulerJob"] == {
        "name": JOB,
        "state": "ENABLED",
        "schedule": "*/5 * * * *",
        "timeZone": "Etc/UTC",
        "lastAttemptAt": None,
        "lastAttemptStatus": None,
        "error": None,
    }


def test_a_never_attempted_job_says_never(capsys: pytest.CaptureFixture[str]) -> None:
    fakes = Fakes()
    fakes.scheduler.jobs[JOB] = _job(time_zone="", last_attempt_at=None, last_attempt_status=None)

    assert _run(fakes, "status", env=PRODUCTION) == 0

    assert capsys.readouterr().out.splitlines()[-1] == (
        f"scheduler job {JOB}: ENABLED, schedule */5 * * * * (UTC), last attempt never"
    )


def test_status_shows_the_calendars_when_the_job_cannot_be_read(
    capsys: pytest.CaptureFixture[str],
) -> None:
    fakes = Fakes()
    fakes.status.rows = [_row()]
    reason = f"permission denied to read Cloud Scheduler job {JOB}: grant roles/x to the caller"
    fakes.scheduler.error = SchedulerError(reason)

    assert _run(fakes, "status", env=PRODUCTION) == 0
    assert _run(fakes, "status", "--json", env=PRODUCTION) == 0

    captured = capsys.readouterr()
    assert captured.err == ""
    lines = captured.out.splitlines()
    assert lines[1].split()[0] == KEY
    assert lines[3] == f"scheduler job {JOB}: not shown ({reason})"
    body = json.loads(lines[4])
    assert [row["calendarKey"] for row in body["calendars"]] == [KEY]
    assert body["schedulerJob"]["error"] == reason
    assert body["schedulerJob"]["state"] is None


def test_status_without_the_cli_extra_still_shows_the_calendars(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real services' scheduler, unimportable, behind fake Firestore reads."""
    from confsync.cli import commands  # noqa: PLC0415

    monkeypatch.setitem(sys.modules, "google.cloud.scheduler_v1", None)
    monkeypatch.delitem(sys.modules, "confsync.cli.scheduler", raising=False)
    fake_status = FakeStatus(rows=[_row()])

    class Partly(commands._GoogleServices):  # real scheduler wiring, fake Firestore
        status = fake_status

    assert main(["status", "--json"], PRODUCTION, Partly) == 0

    body = json.loads(capsys.readouterr().out)
    assert [row["calendarKey"] for row in body["calendars"]] == [KEY]
    assert "pip install 'confsync[cli]'" in body["schedulerJob"]["error"]


def test_a_firestore_failure_in_status_is_still_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    fakes = Fakes()
    fakes.status.error = StoreUnavailableError("Firestore status read failed: ServiceUnavailable")
    fakes.scheduler.jobs[JOB] = _job()

    assert _run(fakes, "status", env=PRODUCTION) == 1

    assert capsys.readouterr().err == (
        "confsync: Firestore status read failed: ServiceUnavailable\n"
    )


def test_local_status_and_tick_never_touch_the_scheduler() -> None:
    fakes = Fakes()
    fakes.scheduler.error = SchedulerError("must not be called")

    assert _run(fakes, "status") == 0
    assert _run(fakes, "tick") == 0

    assert fakes.commands.published == [TickCommand(issued_at=T0)]


# --- subcommands ---------------------------------------------------------------------------------


def test_a_new_subcommand_is_one_entry_in_the_list(capsys: pytest.CaptureFixture[str]) -> None:
    def hello(ctx: object) -> int:
        print("hello")
        return 0

    extra = Subcommand("hello", "say hello", hello)
    parser = build_parser([*SUBCOMMANDS, extra])

    args = parser.parse_args(["hello", "--json"])

    assert args.handler is hello
    assert args.json is True


def test_primary_names_the_users_own_calendar_in_every_command() -> None:
    args = build_parser().parse_args(
        ["status", "--subject", "Alice@example.com", "--calendar", "primary"]
    )

    assert _key_of(args) == calendar_key("alice@example.com", "alice@example.com")
