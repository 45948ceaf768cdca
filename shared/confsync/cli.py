"""The ``confsync`` command line: operators' commands against production or the local stack.

Every command publishes what the functions already understand (a channel command, a SyncRequest)
or reads Firestore; the work itself is done by the functions. Configuration comes from the
environment (:func:`confsync.config.load_cli_config`); the Google clients use the caller's
credentials (``gcloud auth application-default login``) or the emulators named by
``FIRESTORE_EMULATOR_HOST`` / ``PUBSUB_EMULATOR_HOST``.

Exit codes: 0 done, 1 a failure (Firestore or Pub/Sub refused, calendar unknown, ``--wait``
timed out), 2 bad arguments or configuration. Google's libraries are imported only when a command
needs them, so ``confsync --help`` answers at once. :func:`main` takes the services as a seam
(``services``: configuration to services), which the unit tests fill with fakes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol

from confsync.calendars import calendar_key
from confsync.config import CliConfig, load_cli_config
from confsync.errors import ConfigurationError, ConfsyncError
from confsync.messages import EnrollCommand, SyncRequest, TickCommand, UnenrollCommand

if TYPE_CHECKING:
    from google.cloud import firestore

    from confsync.ports import CalendarStore, ChannelCommandPublisher, SyncRequestPublisher
    from confsync.status import CalendarStatus

__all__ = ["Services", "StatusReader", "main"]

WAIT_POLL_SECONDS = 2.0
"""How often ``enroll --wait`` reads the calendar's status."""


class StatusReader(Protocol):
    """The operators' read model (:class:`confsync.status.FirestoreStatusReader`)."""

    def calendars(self, key: str | None = None, *, now: datetime) -> list[CalendarStatus]: ...


class Services(Protocol):
    """What the commands use; built lazily, so a command builds only the clients it needs."""

    @property
    def commands(self) -> ChannelCommandPublisher: ...

    @property
    def sync_requests(self) -> SyncRequestPublisher: ...

    @property
    def calendars(self) -> CalendarStore: ...

    @property
    def status(self) -> StatusReader: ...


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
    def status(self) -> StatusReader:
        from confsync.status import FirestoreStatusReader  # noqa: PLC0415

        return FirestoreStatusReader(self._firestore)


class CommandError(Exception):
    """An expected failure of a command: one line on stderr, exit 1 (``payload``: its JSON)."""

    def __init__(self, message: str, payload: Any = None) -> None:
        super().__init__(message)
        self.payload = payload


@dataclass(frozen=True, slots=True)
class _Context:
    args: argparse.Namespace
    services: Services
    clock: Callable[[], datetime]
    sleep: Callable[[float], None]


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


def _emit(args: argparse.Namespace, payload: Any, text: str) -> None:
    print(json.dumps(payload) if args.json else text)


# --- commands --------------------------------------------------------------------------------


def _key_of(args: argparse.Namespace) -> str | None:
    if args.calendar_key:
        return str(args.calendar_key)
    if args.subject and args.calendar:
        return calendar_key(args.subject, args.calendar)
    return None


def _required_key(args: argparse.Namespace) -> str:
    key = _key_of(args)
    if key is None:  # _check_calendar_choice has refused this already
        raise CommandError("name the calendar: --subject and --calendar, or --calendar-key")
    return key


def _enroll(ctx: _Context) -> int:
    args = ctx.args
    key = calendar_key(args.subject, args.calendar)
    ctx.services.commands.publish(EnrollCommand(subject=args.subject, calendar_id=args.calendar))
    if args.wait is None:
        _emit(args, {"calendarKey": key, "published": True}, key)
        return 0
    row = _wait_until_ready(ctx, key, args.wait)
    payload = {"calendarKey": key, "published": True, "ready": True, "status": status_json(row)}
    _emit(args, payload, key)
    return 0


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
    ctx.services.commands.publish(UnenrollCommand(calendar_key=key, forget=args.forget))
    _emit(args, {"calendarKey": key, "forget": args.forget, "published": True}, key)
    return 0


def _status(ctx: _Context) -> int:
    args = ctx.args
    key = _key_of(args)
    rows = ctx.services.status.calendars(key, now=ctx.clock())
    if key is not None and not rows:
        raise CommandError(f"calendar {key} is not enrolled (no calendar record)", [])
    if args.json:
        print(json.dumps([status_json(row) for row in rows]))
    elif rows:
        print(status_table(rows))
    else:
        print("no calendars")
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


def _tick(ctx: _Context) -> int:
    now = ctx.clock()
    ctx.services.commands.publish(TickCommand(issued_at=now))
    issued = _stamp(now)
    _emit(ctx.args, {"command": "tick", "issuedAt": issued, "published": True}, str(issued))
    return 0


# --- arguments -------------------------------------------------------------------------------


def _text(value: str) -> str:
    if not value.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return value.strip()


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds") from None
    if not 0 < seconds <= 3600:
        raise argparse.ArgumentTypeError("must be more than 0 and at most 3600")
    return seconds


def _calendar_options(parser: argparse.ArgumentParser, *, required: bool) -> None:
    parser.add_argument("--subject", type=_text, metavar="EMAIL", help="the calendar's user")
    parser.add_argument("--calendar", type=_text, metavar="ID", help="the calendar id")
    parser.add_argument(
        "--calendar-key",
        type=_text,
        metavar="KEY",
        help="the calendar key instead of --subject and --calendar",
    )
    parser.set_defaults(calendar_required=required, parser=parser)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print JSON for scripts")
    parser = argparse.ArgumentParser(
        prog="confsync",
        description="Operate confsync: enrol calendars, inspect them, force syncs and ticks. "
        "Reads GOOGLE_CLOUD_PROJECT (required), CONFSYNC_FIRESTORE_DATABASE, "
        "CONFSYNC_SYNC_TOPIC and CONFSYNC_CHANNEL_COMMANDS_TOPIC.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    enroll = commands.add_parser(
        "enroll", parents=[common], help="start syncing a calendar (publishes an enroll command)"
    )
    enroll.add_argument("--subject", type=_text, required=True, metavar="EMAIL")
    enroll.add_argument("--calendar", type=_text, required=True, metavar="ID")
    enroll.add_argument(
        "--wait",
        type=_seconds,
        metavar="SECONDS",
        help="wait until the calendar is active with a live channel and a sync token",
    )
    enroll.set_defaults(handler=_enroll)

    unenroll = commands.add_parser(
        "unenroll", parents=[common], help="stop syncing a calendar (publishes an unenroll command)"
    )
    _calendar_options(unenroll, required=True)
    unenroll.add_argument(
        "--forget",
        action="store_true",
        help="also delete its conference records (never the conferences)",
    )
    unenroll.set_defaults(handler=_unenroll)

    status = commands.add_parser(
        "status", parents=[common], help="one line per calendar, read from Firestore"
    )
    _calendar_options(status, required=False)
    status.set_defaults(handler=_status)

    resync = commands.add_parser(
        "resync",
        parents=[common],
        help="force a full sync: clear the stored sync token, then request a sync",
    )
    _calendar_options(resync, required=True)
    resync.set_defaults(handler=_resync)

    tick = commands.add_parser(
        "tick", parents=[common], help="run the scheduler's job now (publishes a tick command)"
    )
    tick.set_defaults(handler=_tick)
    return parser


def _check_calendar_choice(args: argparse.Namespace) -> None:
    """Exactly one way of naming a calendar where one is needed (argparse exits 2 otherwise)."""
    if args.handler is _enroll or args.handler is _tick:
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
) -> int:
    """Run one command; return the exit code (the console script exits with it)."""
    args = build_parser().parse_args(argv)
    _check_calendar_choice(args)
    try:
        config = load_cli_config(os.environ if env is None else env)
    except ConfigurationError as err:
        print(f"confsync: {err}", file=sys.stderr)
        return 2
    factory: ServicesFactory = services or _GoogleServices
    ctx = _Context(
        args=args,
        services=factory(config),
        clock=clock or (lambda: datetime.now(UTC)),
        sleep=sleep,
    )
    handler: Callable[[_Context], int] = args.handler
    try:
        return handler(ctx)
    except CommandError as err:
        if args.json and err.payload is not None:
            print(json.dumps(err.payload))
        print(f"confsync: {_one_line(err)}", file=sys.stderr)
        return 1
    except ConfsyncError as err:
        print(f"confsync: {_one_line(err)}", file=sys.stderr)
        return 1
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
