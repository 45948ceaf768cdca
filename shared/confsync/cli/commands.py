"""The ``confsync`` command line: operators' commands against production or the local stack.

Every command publishes what the functions already understand (a channel command, a SyncRequest)
or reads Firestore; the work itself is done by the functions. Configuration comes from the
environment (:func:`confsync.config.load_cli_config`); the Google clients use the caller's
credentials (``gcloud auth application-default login``) or the emulators named by
``FIRESTORE_EMULATOR_HOST`` / ``PUBSUB_EMULATOR_HOST``.

Against a deployed stack, ``CONFSYNC_SCHEDULER_JOB`` names the Cloud Scheduler job that sends
the ticks: ``tick`` then runs that job (so the tick takes the scheduled ticks' path and Scheduler
records the attempt) instead of publishing one, and ``status`` shows the job beside the
calendars. The job is reached through the :class:`SchedulerJobs` port; google-cloud-scheduler is
the optional ``cli`` extra, imported only when the job is configured.

``enroll`` names one calendar (``--subject --calendar``) or many (``--from-file``,
``--all-owned``, ``--domain``: :mod:`confsync.cli.enroll_bulk_command`); either way it checks the
subject against ``CONFSYNC_ALLOWED_DOMAINS`` (required by ``enroll`` alone) before publishing, and
``primary`` is keyed as the subject's own address.

Exit codes: 0 done, 1 a failure (Firestore, Pub/Sub or Scheduler refused, calendar unknown,
``--wait`` timed out, an enrolment refused or failed), 2 bad arguments or configuration.
Google's libraries are imported only when a command needs them, so ``confsync --help`` answers
at once. :func:`main` takes the services as a seam (``services``: configuration to services),
which the unit tests fill with fakes, and likewise ``directory`` (what ``enroll --all-owned`` /
``--domain`` list with). Commands are declared in :data:`SUBCOMMANDS`; adding one is adding an
entry there.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol

from confsync.calendars import CALENDAR_STATES, calendar_key, resolve_calendar_id
from confsync.cli.deletes import HELP as RELEASE_DELETES_HELP
from confsync.cli.deletes import settle_held_deletes
from confsync.cli.enroll_bulk_command import (
    RATE_HELP,
    BulkRequest,
    SourceRefusedError,
    plan_of,
    run_bulk,
)
from confsync.cli.enroll_plan import Refusal, check_entry
from confsync.cli.grants import HELP as GRANT_HELP
from confsync.cli.grants import add_grant_arguments, grant
from confsync.cli.reencrypt import HELP as REENCRYPT_HELP
from confsync.cli.reencrypt import run_reencrypt
from confsync.config import CliConfig, load_cli_config
from confsync.domains import DomainAllowList, email_problem
from confsync.errors import ConfigurationError, ConfsyncError
from confsync.messages import EnrollCommand, SyncRequest, TickCommand, UnenrollCommand

if TYPE_CHECKING:
    from confsync.adapters import firestore_http as firestore
    from confsync.cli.directory import CalendarDirectory
    from confsync.cli.status import CalendarStatus, SchedulerJobStatus
    from confsync.ports import (
        CalendarStore,
        ChannelCommandPublisher,
        RecordStore,
        SyncRequestPublisher,
    )

__all__ = ["SUBCOMMANDS", "SchedulerJobs", "Services", "StatusReader", "Subcommand", "main"]

WAIT_POLL_SECONDS = 2.0
"""How often ``enroll --wait`` reads the calendar's status."""

SCHEDULER_EXTRA_MISSING = (
    "CONFSYNC_SCHEDULER_JOB is set but google-cloud-scheduler is not installed: "
    "pip install 'confsync[cli]'"
)


class StatusReader(Protocol):
    """The operators' read model (:class:`confsync.cli.status.FirestoreStatusReader`)."""

    def calendars(
        self, key: str | None = None, *, now: datetime, state: str | None = None
    ) -> list[CalendarStatus]: ...


class SchedulerJobs(Protocol):
    """Cloud Scheduler's jobs (:class:`confsync.cli.scheduler.CloudSchedulerJobs`). Both
    methods raise :class:`~confsync.errors.ConfsyncError` (a ``SchedulerError`` naming the job and
    the missing role) rather than the client's exceptions."""

    def get(self, name: str) -> SchedulerJobStatus: ...

    def run(self, name: str) -> SchedulerJobStatus: ...


class Services(Protocol):
    """What the commands use; built lazily, so a command builds only the clients it needs."""

    @property
    def commands(self) -> ChannelCommandPublisher: ...

    @property
    def sync_requests(self) -> SyncRequestPublisher: ...

    @property
    def calendars(self) -> CalendarStore: ...

    @property
    def records(self) -> RecordStore: ...

    @property
    def status(self) -> StatusReader: ...

    @property
    def scheduler(self) -> SchedulerJobs: ...


ServicesFactory = Callable[[CliConfig], Services]


class _GoogleServices:
    """The real services: Firestore and Pub/Sub clients, made on first use."""

    def __init__(self, config: CliConfig) -> None:
        self._config = config

    @cached_property
    def _firestore(self) -> firestore.Client:
        from confsync.bootstrap import build_cli_firestore_client  # noqa: PLC0415

        return build_cli_firestore_client(self._config)

    @cached_property
    def _publishers(self) -> tuple[ChannelCommandPublisher, SyncRequestPublisher]:
        from confsync.bootstrap import build_cli_publishers  # noqa: PLC0415

        return build_cli_publishers(self._config)

    @property
    def commands(self) -> ChannelCommandPublisher:
        return self._publishers[0]

    @property
    def sync_requests(self) -> SyncRequestPublisher:
        return self._publishers[1]

    @cached_property
    def calendars(self) -> CalendarStore:
        from confsync.adapters.firestore_store import FirestoreCalendarStore  # noqa: PLC0415

        return FirestoreCalendarStore(self._firestore)

    @cached_property
    def records(self) -> RecordStore:
        from confsync.adapters.firestore_store import FirestoreRecordStore  # noqa: PLC0415

        return FirestoreRecordStore(self._firestore)

    @cached_property
    def status(self) -> StatusReader:
        from confsync.cli.status import FirestoreStatusReader  # noqa: PLC0415

        return FirestoreStatusReader(self._firestore)

    @cached_property
    def scheduler(self) -> SchedulerJobs:
        try:
            from confsync.cli.scheduler import CloudSchedulerJobs  # noqa: PLC0415
        except ImportError as err:
            if not (err.name or "").startswith("google.cloud.scheduler"):
                raise
            raise ConfigurationError(SCHEDULER_EXTRA_MISSING) from err
        return CloudSchedulerJobs()


def _build_directory(config: CliConfig) -> CalendarDirectory:
    """The listing of ``enroll --all-owned`` / ``--domain`` (imports Google's HTTP clients)."""
    from confsync.cli.directory import build_directory  # noqa: PLC0415

    return build_directory(config)


class CommandError(Exception):
    """An expected failure of a command: one line on stderr, exit 1 (``payload``: its JSON)."""

    def __init__(self, message: str, payload: Any = None) -> None:
        super().__init__(message)
        self.payload = payload


@dataclass(frozen=True, slots=True)
class _Context:
    args: argparse.Namespace
    config: CliConfig
    services: Services
    clock: Callable[[], datetime]
    sleep: Callable[[float], None]
    directory: Callable[[CliConfig], CalendarDirectory] = _build_directory


# --- output ----------------------------------------------------------------------------------


def _stamp(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def status_json(row: CalendarStatus) -> dict[str, Any]:
    """One row of ``status --json``."""
    return {
        "calendarKey": row.calendar_key,
        "calendarId": row.calendar_id,
        "state": row.state,
        "syncToken": row.has_sync_token,
        "channelExpiresAt": _stamp(row.channel_expires_at),
        "lastSuccessAt": _stamp(row.last_success_at),
        "lastOutcome": row.last_outcome,
        "pendingCount": row.pending_count,
        "failedRecords": row.failed_records,
        "heldDeletes": row.held_deletes,
        "disconnectedAt": _stamp(row.disconnected_at),
    }


_COLUMNS = (
    ("CALENDAR KEY", "calendarKey"),
    ("CALENDAR ID", "calendarId"),
    ("STATE", "state"),
    ("TOKEN", "syncToken"),
    ("CHANNEL EXPIRES", "channelExpiresAt"),
    ("LAST SUCCESS", "lastSuccessAt"),
    ("LAST OUTCOME", "lastOutcome"),
    ("PENDING", "pendingCount"),
    ("FAILED", "failedRecords"),
    ("HELD", "heldDeletes"),
    ("DISCONNECTED SINCE", "disconnectedAt"),
)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def status_table(rows: Sequence[CalendarStatus]) -> str:
    """The rows as an aligned text table with a header line."""
    cells = [[title for title, _ in _COLUMNS]]
    for row in rows:
        body = status_json(row)
        cells.append([_cell(body[name]) for _, name in _COLUMNS])
    widths = [max(len(line[i]) for line in cells) for i in range(len(_COLUMNS))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in cells
    )


def job_json(name: str, job: SchedulerJobStatus | None, error: str | None) -> dict[str, Any]:
    """The Scheduler job of ``status --json``: its fields, or None and the reason (``error``)."""
    return {
        "name": job.name if job is not None else name,
        "state": None if job is None else job.state,
        "schedule": None if job is None else job.schedule,
        "timeZone": None if job is None else job.time_zone,
        "lastAttemptAt": None if job is None else _stamp(job.last_attempt_at),
        "lastAttemptStatus": None if job is None else job.last_attempt_status,
        "error": error,
    }


def job_line(body: Mapping[str, Any]) -> str:
    """The Scheduler job as the one line printed under the calendars."""
    head = f"scheduler job {body['name']}:"
    if body["error"] is not None:
        return f"{head} not shown ({body['error']})"
    zone = body["timeZone"] or "UTC"
    attempt = body["lastAttemptAt"] or "never"
    if body["lastAttemptStatus"] is not None:
        attempt += f" {body['lastAttemptStatus']}"
    return f"{head} {body['state']}, schedule {body['schedule']} ({zone}), last attempt {attempt}"


def _emit(args: argparse.Namespace, payload: Any, text: str) -> None:
    print(json.dumps(payload) if args.json else text)


# --- commands --------------------------------------------------------------------------------


def _key_of(args: argparse.Namespace) -> str | None:
    if args.calendar_key:
        return str(args.calendar_key)
    if args.subject and args.calendar:  # `primary` is the user's own calendar, keyed by address
        return calendar_key(args.subject, resolve_calendar_id(args.subject, args.calendar))
    return None


def _required_key(args: argparse.Namespace) -> str:
    key = _key_of(args)
    if key is None:  # _check_calendar_choice has refused this already
        raise CommandError("name the calendar: --subject and --calendar, or --calendar-key")
    return key


ALLOWED_DOMAINS_MISSING = "CONFSYNC_ALLOWED_DOMAINS is required by confsync enroll"


def _enroll(ctx: _Context) -> int:
    args = ctx.args
    allowed = ctx.config.allowed_domains
    if allowed is None:
        raise ConfigurationError(ALLOWED_DOMAINS_MISSING)
    if args.calendar is None:
        return _enroll_many(ctx, allowed)
    target = check_entry(args.subject, args.calendar, allowed, "--subject")
    if isinstance(target, Refusal):
        raise CommandError(f"{args.subject} refused: {target.reason}; nothing published")
    key = target.key
    ctx.services.commands.publish(
        EnrollCommand(subject=target.subject, calendar_id=target.calendar_id, source="operator")
    )
    if args.wait is None:
        _emit(args, {"calendarKey": key, "published": True}, key)
        return 0
    row = _wait_until_ready(ctx, key, args.wait)
    payload = {"calendarKey": key, "published": True, "ready": True, "status": status_json(row)}
    _emit(args, payload, key)
    return 0


def _enroll_many(ctx: _Context, allowed: DomainAllowList) -> int:
    args = ctx.args
    request = BulkRequest(
        from_file=args.from_file,
        subject=args.subject,
        all_owned=args.all_owned,
        domain=args.domain,
        admin=args.admin,
        rate=args.rate,
        wait_s=args.wait,
        as_json=args.json,
    )
    try:
        plan = plan_of(request, allowed, lambda: ctx.directory(ctx.config))
    except SourceRefusedError as err:
        raise CommandError(f"{err}; nothing published") from err
    finally:
        if args.from_file is not None and args.from_file is not sys.stdin:
            args.from_file.close()

    def seconds() -> float:
        return ctx.clock().timestamp()

    return run_bulk(
        request,
        plan,
        store=ctx.services.calendars,
        publisher=ctx.services.commands,
        clock=seconds,
        sleep=ctx.sleep,
    )


def _missing(row: CalendarStatus | None) -> str:
    if row is None:
        return "no calendar record yet"
    gaps = [f"state {row.state}"] if row.state != "active" else []
    if row.channel_expires_at is None:
        gaps.append("no live channel")
    if not row.has_sync_token:
        gaps.append("no sync token")
    return ", ".join(gaps)


def _wait_until_ready(ctx: _Context, key: str, seconds: float) -> CalendarStatus:
    deadline = ctx.clock() + timedelta(seconds=seconds)
    while True:
        rows = ctx.services.status.calendars(key, now=ctx.clock())
        row = rows[0] if rows else None
        if row is not None and row.ready:
            return row
        left = (deadline - ctx.clock()).total_seconds()
        if left <= 0:
            payload = {
                "calendarKey": key,
                "published": True,
                "ready": False,
                "status": None if row is None else status_json(row),
            }
            raise CommandError(
                f"calendar {key} is not ready after {seconds:g} s ({_missing(row)}); the enroll "
                "command was published: see the channels function's log",
                payload,
            )
        ctx.sleep(min(WAIT_POLL_SECONDS, left))


def _unenroll(ctx: _Context) -> int:
    args = ctx.args
    key = _required_key(args)
    command = UnenrollCommand(calendar_key=key, forget=args.forget, block=args.block)
    ctx.services.commands.publish(command)
    payload = {"calendarKey": key, "forget": args.forget, "block": args.block, "published": True}
    text = f"{key} blocked (only confsync enroll lifts the block)" if args.block else key
    _emit(args, payload, text)
    return 0


def _scheduler_job(ctx: _Context) -> dict[str, Any] | None:
    """The configured Scheduler job for ``status``, or why it cannot be shown; never raises a
    ConfsyncError, so a Scheduler problem never hides the calendars."""
    name = ctx.config.scheduler_job
    if name is None:
        return None
    try:
        job = ctx.services.scheduler.get(name)
    except ConfsyncError as err:
        return job_json(name, None, _one_line(err))
    return job_json(name, job, None)


def _status(ctx: _Context) -> int:
    args = ctx.args
    key = _key_of(args)
    rows = ctx.services.status.calendars(key, now=ctx.clock(), state=args.state)
    job = _scheduler_job(ctx)
    payload = {"calendars": [status_json(row) for row in rows], "schedulerJob": job}
    if key is not None and not rows and args.state is None:
        raise CommandError(f"calendar {key} is not enrolled (no calendar record)", payload)
    if args.json:
        print(json.dumps(payload))
        return 0
    print(status_table(rows) if rows else "no calendars")
    if job is not None:
        print()
        print(job_line(job))
    return 0


def _resync(ctx: _Context) -> int:
    args = ctx.args
    key = _required_key(args)
    if not ctx.services.calendars.clear_sync_token(key):
        raise CommandError(f"calendar {key} is not enrolled (no calendar record); nothing done")
    now = ctx.clock()
    ctx.services.sync_requests.publish(
        SyncRequest(calendar_key=key, reason="manual", notified_at=now)
    )
    payload = {"calendarKey": key, "tokenCleared": True, "published": True}
    _emit(args, payload, key)
    return 0


def _release_deletes(ctx: _Context) -> int:
    args = ctx.args
    key = _required_key(args)
    services = ctx.services
    if services.calendars.get(key) is None:
        raise CommandError(f"calendar {key} is not enrolled (no calendar record); nothing done")
    count = settle_held_deletes(
        services.calendars,
        services.records,
        key,
        discard=args.discard,
        clock=ctx.clock,
        sleep=ctx.sleep,
    )
    # Also when nothing was held: a request that coalesced into the command's lease is answered.
    services.sync_requests.publish(
        SyncRequest(calendar_key=key, reason="manual", notified_at=ctx.clock())
    )
    verb = "discarded" if args.discard else "released"
    payload = {"calendarKey": key, verb: count, "published": True}
    after = "the conferences stay" if args.discard else "a sync was requested to send them"
    _emit(args, payload, f"{count} held deletes of calendar {key} {verb}; {after}")
    return 0


def _tick(ctx: _Context) -> int:
    now = ctx.clock()
    name = ctx.config.scheduler_job
    if name is None:  # the local stack: publish what its scheduler stand-in would
        ctx.services.commands.publish(TickCommand(issued_at=now))
        issued = _stamp(now)
        _emit(ctx.args, {"command": "tick", "issuedAt": issued, "published": True}, str(issued))
        return 0
    job = ctx.services.scheduler.run(name)
    payload = {
        "command": "tick",
        "job": job.name or name,
        "state": job.state,
        "requestedAt": _stamp(now),
        "ran": True,
    }
    _emit(ctx.args, payload, f"{payload['job']}: run requested ({job.state})")
    return 0


# --- arguments -------------------------------------------------------------------------------


def _text(value: str) -> str:
    if not value.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return value.strip()


_EMAIL = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)
"""A user's e-mail address as Google Workspace has it: an unquoted ASCII local part and a host
name with a dot (no display name, no list, no whitespace)."""


def _email(value: str) -> str:
    """``value`` stripped when it is one e-mail address (at most 254 characters)."""
    address = value.strip()
    if len(address) > 254 or not _EMAIL.fullmatch(address):
        raise argparse.ArgumentTypeError(f"{value[:80]!r} is not an e-mail address")
    return address


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds") from None
    if not 0 < seconds <= 3600:
        raise argparse.ArgumentTypeError("must be more than 0 and at most 3600")
    return seconds


def _calendar_options(parser: argparse.ArgumentParser, *, required: bool) -> None:
    parser.add_argument("--subject", type=_email, metavar="EMAIL", help="the calendar's user")
    parser.add_argument("--calendar", type=_text, metavar="ID", help="the calendar id")
    parser.add_argument(
        "--calendar-key",
        type=_text,
        metavar="KEY",
        help="the calendar key instead of --subject and --calendar",
    )
    parser.set_defaults(calendar_required=required, parser=parser)


def _rate(value: str) -> float:
    try:
        rate = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number per second") from None
    if not 0 < rate <= 10_000:
        raise argparse.ArgumentTypeError("must be more than 0 and at most 10000")
    return rate


def _domain(value: str) -> str:
    domain = value.strip().lower().rstrip(".")
    if email_problem(f"user@{domain}") is not None:
        raise argparse.ArgumentTypeError(f"{value[:80]!r} is not a domain name")
    return domain


WAIT_DEFAULT_S = 600.0
"""``--wait`` without a number waits this long."""


def _enroll_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--subject", type=_email, metavar="EMAIL", help="the calendar's user")
    parser.add_argument(
        "--calendar", type=_text, metavar="ID", help="the calendar id (primary: the user's own)"
    )
    parser.add_argument(
        "--from-file",
        type=argparse.FileType("r", encoding="utf-8-sig", errors="replace"),  # a BOM is dropped
        metavar="FILE",
        help="enroll every subject[,calendarId] line of FILE (- for stdin; # comments, blank "
        "lines skipped; calendarId defaults to primary); calendars already active or poll-only "
        "are reported, not published again, so a re-run is safe",
    )
    parser.add_argument(
        "--all-owned",
        action="store_true",
        help="with --subject: enroll every calendar in the user's calendar list they own. Reads "
        "the list with the calendarlist.readonly scope as CONFSYNC_ADMIN_DELEGATION_SERVICE_"
        "ACCOUNT (the Calendar emulator as the user locally), never as the functions: their "
        "delegation is authorized for calendar.events only, and a token request for any other "
        "scope fails with unauthorized_client, which would disconnect every calendar",
    )
    parser.add_argument(
        "--domain",
        type=_domain,
        metavar="DOMAIN",
        help="enroll the primary calendar of every user of DOMAIN that is not suspended, listed "
        "through the Admin SDK Directory API (admin.directory.user.readonly, same identity as "
        "--all-owned) as the administrator --admin",
    )
    parser.add_argument(
        "--admin", type=_email, metavar="EMAIL", help="with --domain: a Workspace administrator"
    )
    parser.add_argument("--rate", type=_rate, metavar="PER_SECOND", help=RATE_HELP)
    parser.add_argument(
        "--wait",
        type=_seconds,
        nargs="?",
        const=WAIT_DEFAULT_S,
        metavar="SECONDS",
        help="wait until the calendar is active with a live channel and a sync token (in bulk: "
        "each published calendar active or poll-only with a sync token; a disconnected one is "
        f"a failure with its reason); without SECONDS, {WAIT_DEFAULT_S:g}",
    )
    parser.set_defaults(check_arguments=_check_enroll_choice, parser=parser)


def _check_enroll_choice(args: argparse.Namespace) -> None:
    """Exactly one source of calendars (argparse exits 2 otherwise)."""
    parser: argparse.ArgumentParser = args.parser
    sources = [
        args.calendar is not None,
        args.from_file is not None,
        args.all_owned,
        args.domain is not None,
    ]
    if sum(sources) != 1:
        parser.error(
            "name what to enroll, one way: --subject EMAIL --calendar ID, --from-file FILE, "
            "--subject EMAIL --all-owned, or --domain DOMAIN --admin EMAIL"
        )
    if (args.calendar is not None or args.all_owned) and args.subject is None:
        parser.error("--calendar and --all-owned need --subject")
    if (args.from_file is not None or args.domain is not None) and args.subject is not None:
        parser.error("--subject goes with --calendar or --all-owned")
    if (args.domain is None) != (args.admin is None):
        parser.error("--domain and --admin go together")
    if args.calendar is not None and args.rate is not None:
        parser.error("--rate is for bulk enrolment")


def _unenroll_arguments(parser: argparse.ArgumentParser) -> None:
    _calendar_options(parser, required=True)
    parser.add_argument(
        "--forget",
        action="store_true",
        help="also delete its conference records (never the conferences)",
    )
    parser.add_argument(
        "--block",
        action="store_true",
        help="leave it blocked: the add-on's enrolment is ignored until confsync enroll",
    )


def _status_arguments(parser: argparse.ArgumentParser) -> None:
    _calendar_options(parser, required=False)
    parser.add_argument(
        "--state",
        choices=sorted(CALENDAR_STATES),
        help="only the calendars in this state (e.g. disconnected: with why and since when)",
    )


def _release_deletes_arguments(parser: argparse.ArgumentParser) -> None:
    _calendar_options(parser, required=True)
    parser.add_argument(
        "--discard",
        action="store_true",
        help="drop the held deletes instead: the conferences stay, nothing is sent",
    )


def _no_arguments(_parser: argparse.ArgumentParser) -> None:
    return None


@dataclass(frozen=True, slots=True)
class Subcommand:
    """One ``confsync`` command: its name, help line, handler and arguments (``arguments`` adds
    them to the command's parser; :func:`_calendar_options` also checks how a calendar is named)."""

    name: str
    help: str
    handler: Callable[[_Context], int]
    arguments: Callable[[argparse.ArgumentParser], None] = _no_arguments


SUBCOMMANDS: tuple[Subcommand, ...] = (
    Subcommand(
        "enroll",
        "start syncing a calendar, or many (--from-file, --all-owned, --domain): publishes "
        "enroll commands",
        _enroll,
        _enroll_arguments,
    ),
    Subcommand(
        "unenroll",
        "stop syncing a calendar (publishes an unenroll command)",
        _unenroll,
        _unenroll_arguments,
    ),
    Subcommand(
        "status",
        "one line per calendar, read from Firestore, and the Scheduler job if configured",
        _status,
        _status_arguments,
    ),
    Subcommand(
        "resync",
        "force a full sync: clear the stored sync token, then request a sync",
        _resync,
        lambda parser: _calendar_options(parser, required=True),
    ),
    Subcommand(
        "release-deletes", RELEASE_DELETES_HELP, _release_deletes, _release_deletes_arguments
    ),
    Subcommand(
        "tick",
        "run the scheduler's job now (Cloud Scheduler's job if CONFSYNC_SCHEDULER_JOB is set, "
        "else publishes a tick command)",
        _tick,
    ),
    Subcommand("grant", GRANT_HELP, lambda ctx: grant(ctx.args, ctx.config), add_grant_arguments),
    Subcommand(
        "re-encrypt-grants",
        REENCRYPT_HELP,
        lambda ctx: run_reencrypt(ctx.config, as_json=ctx.args.json, out=sys.stdout),
    ),
)
"""Every command, in the order ``confsync --help`` lists them."""


def build_parser(subcommands: Sequence[Subcommand] = SUBCOMMANDS) -> argparse.ArgumentParser:
    """The argument parser of every command."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print JSON for scripts")
    parser = argparse.ArgumentParser(
        prog="confsync",
        description="Operate confsync: enroll calendars, inspect them, force syncs and ticks. "
        "Reads GOOGLE_CLOUD_PROJECT (required), CONFSYNC_FIRESTORE_DATABASE, "
        "CONFSYNC_SYNC_TOPIC, CONFSYNC_CHANNEL_COMMANDS_TOPIC, CONFSYNC_SCHEDULER_JOB and, for "
        "enroll, CONFSYNC_ALLOWED_DOMAINS.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for subcommand in subcommands:
        sub = commands.add_parser(subcommand.name, parents=[common], help=subcommand.help)
        subcommand.arguments(sub)
        sub.set_defaults(handler=subcommand.handler)
    return parser


def _check_calendar_choice(args: argparse.Namespace) -> None:
    """Exactly one way of naming a calendar where one is needed (argparse exits 2 otherwise)."""
    if not hasattr(args, "calendar_required"):  # the command has no _calendar_options
        return
    parser: argparse.ArgumentParser = args.parser
    pair = (args.subject, args.calendar)
    if args.calendar_key and any(pair):
        parser.error("give either --calendar-key or --subject and --calendar, not both")
    if any(pair) and not all(pair):
        parser.error("--subject and --calendar go together")
    if args.calendar_required and not args.calendar_key and not all(pair):
        parser.error("name the calendar: --subject EMAIL --calendar ID, or --calendar-key KEY")


# --- entry point -----------------------------------------------------------------------------


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__


def _is_google_auth_error(err: Exception) -> bool:
    auth = sys.modules.get("google.auth.exceptions")
    return auth is not None and isinstance(err, auth.GoogleAuthError)


def main(
    argv: Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
    services: ServicesFactory | None = None,
    *,
    clock: Callable[[], datetime] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    directory: Callable[[CliConfig], CalendarDirectory] = _build_directory,
) -> int:
    """Run one command; return the exit code (the console script exits with it). ``directory``
    builds the listing of ``enroll --all-owned`` / ``--domain`` (a seam for tests)."""
    args = build_parser().parse_args(argv)
    _check_calendar_choice(args)
    check: Callable[[argparse.Namespace], None] | None = getattr(args, "check_arguments", None)
    if check is not None:
        check(args)
    try:
        config = load_cli_config(os.environ if env is None else env)
    except ConfigurationError as err:
        print(f"confsync: {err}", file=sys.stderr)
        return 2
    factory: ServicesFactory = services or _GoogleServices
    ctx = _Context(
        args=args,
        config=config,
        services=factory(config),
        clock=clock or (lambda: datetime.now(UTC)),
        sleep=sleep,
        directory=directory,
    )
    handler: Callable[[_Context], int] = args.handler
    try:
        return handler(ctx)
    except CommandError as err:
        if args.json and err.payload is not None:
            print(json.dumps(err.payload))
        print(f"confsync: {_one_line(err)}", file=sys.stderr)
        return 1
    except ConfsyncError as err:  # a ConfigurationError here: the Scheduler extra is missing
        print(f"confsync: {_one_line(err)}", file=sys.stderr)
        return 2 if isinstance(err, ConfigurationError) else 1
    except KeyboardInterrupt:
        return 130
    except Exception as err:
        if not _is_google_auth_error(err):
            raise
        print(
            f"confsync: Google credentials: {_one_line(err)} "
            "(gcloud auth application-default login, or point at the emulators)",
            file=sys.stderr,
        )
        return 1
