"""Channel commands: one codec, the scheduler's exact tick payload, bad input refused by name."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from confsync.errors import MalformedInputError
from confsync.messages import (
    MAX_FANOUT_KEYS,
    ChannelCommand,
    EnrollCommand,
    RenewCommand,
    SweepCommand,
    TickCommand,
    UnenrollCommand,
    decode_channel_command,
    encode_channel_command,
)

ISSUED = datetime(2026, 11, 24, 6, 0, 0, 250000, tzinfo=UTC)


@pytest.mark.parametrize(
    "command",
    [
        EnrollCommand(subject="alice@example.com", calendar_id="primary"),
        UnenrollCommand(calendar_key="ck_1"),
        UnenrollCommand(calendar_key="ck_1", forget=True),
        UnenrollCommand(calendar_key="ck_1", block=True),
        UnenrollCommand(calendar_key="ck_1", forget=True, block=True),
        TickCommand(issued_at=ISSUED),
        RenewCommand(calendar_keys=("ck_1", "ck_2")),
        SweepCommand(calendar_keys=("ck_3",)),
    ],
    ids=[
        "enroll",
        "unenroll",
        "unenroll-forget",
        "unenroll-block",
        "unenroll-forget-block",
        "tick",
        "renew",
        "sweep",
    ],
)
def test_channel_command_round_trips(command: ChannelCommand) -> None:
    assert decode_channel_command(encode_channel_command(command)) == command


def test_a_timed_tick_payload_decodes() -> None:
    payload = b'{"v":1,"command":"tick","issuedAt":"2026-11-24T06:00:00Z"}'

    assert decode_channel_command(payload) == TickCommand(
        issued_at=datetime(2026, 11, 24, 6, tzinfo=UTC)
    )


def test_cloud_schedulers_fixed_tick_payload_decodes() -> None:
    """Cloud Scheduler publishes a fixed body: it cannot carry the time."""
    assert decode_channel_command(b'{"v":1,"command":"tick"}') == TickCommand()
    assert json.loads(encode_channel_command(TickCommand())) == {"v": 1, "command": "tick"}


def test_tick_encodes_exactly_as_the_scheduler_publishes() -> None:
    body = json.loads(encode_channel_command(TickCommand(issued_at=ISSUED)))

    assert body == {"v": 1, "command": "tick", "issuedAt": "2026-11-24T06:00:00.250Z"}


def test_enroll_uses_camel_case_fields() -> None:
    body = json.loads(encode_channel_command(EnrollCommand("bob@example.com", "team@example.com")))

    assert body == {
        "v": 1,
        "command": "enroll",
        "subject": "bob@example.com",
        "calendarId": "team@example.com",
        "source": "operator",
    }


def test_an_enroll_command_says_who_asked_and_an_old_one_was_an_operator() -> None:
    addon = EnrollCommand("bob@example.com", "bob@example.com", source="addon")
    old = b'{"v":1,"command":"enroll","subject":"bob@example.com","calendarId":"primary"}'

    assert decode_channel_command(encode_channel_command(addon)) == addon
    assert decode_channel_command(old) == EnrollCommand("bob@example.com", "primary", "operator")
    for source in (b'"admin"', b"[]", b"1"):
        with pytest.raises(MalformedInputError, match=r"enroll\.source"):
            decode_channel_command(old[:-1] + b',"source":' + source + b"}")


def test_unenroll_writes_its_flags_only_when_set() -> None:
    plain = json.loads(encode_channel_command(UnenrollCommand(calendar_key="ck_1")))
    blocking = json.loads(encode_channel_command(UnenrollCommand(calendar_key="ck_1", block=True)))

    assert plain == {"v": 1, "command": "unenroll", "calendarKey": "ck_1"}
    assert blocking == {"v": 1, "command": "unenroll", "calendarKey": "ck_1", "block": True}
    old = b'{"v":1,"command":"unenroll","calendarKey":"ck_1","forget":true}'
    assert decode_channel_command(old) == UnenrollCommand(calendar_key="ck_1", forget=True)


@pytest.mark.parametrize(
    ("payload", "named"),
    [
        (b"not json", "not JSON"),
        (b"[]", "not a JSON object"),
        (b'{"v": 2, "command": "tick"}', "version"),
        (b'{"v": 1, "command": "reboot"}', "command"),
        (b'{"v": 1}', "command"),
        (b'{"v": 1, "command": "tick", "issuedAt": "yesterday"}', "issuedAt"),
        (b'{"v": 1, "command": "tick", "issuedAt": "2026-11-24T06:00:00"}', "issuedAt"),
        (b'{"v": 1, "command": "enroll", "calendarId": "primary"}', "subject"),
        (b'{"v": 1, "command": "enroll", "subject": "a@b.c", "calendarId": ""}', "calendarId"),
        (b'{"v": 1, "command": "unenroll"}', "calendarKey"),
        (b'{"v": 1, "command": "unenroll", "calendarKey": "ck", "forget": "yes"}', "forget"),
        (b'{"v": 1, "command": "unenroll", "calendarKey": "ck", "block": 1}', "block"),
        (b'{"v": 1, "command": "unenroll", "calendarKey": "ck", "block": "true"}', "block"),
        (b'{"v": 1, "command": "unenroll", "calendarKey": "ck", "block": null}', "block"),
        (b'{"v": 1, "command": "renew", "calendarKeys": "ck_1"}', "calendarKeys"),
        (b'{"v": 1, "command": "sweep", "calendarKeys": [1]}', "calendarKeys"),
        (b'{"v": 1, "command": "sweep"}', "calendarKeys"),
    ],
)
def test_malformed_commands_are_refused_by_name(payload: bytes, named: str) -> None:
    with pytest.raises(MalformedInputError, match=named):
        decode_channel_command(payload)


def test_fan_out_batches_are_bounded() -> None:
    keys = [f"ck_{n}" for n in range(MAX_FANOUT_KEYS + 1)]
    payload = json.dumps({"v": 1, "command": "renew", "calendarKeys": keys}).encode()

    with pytest.raises(MalformedInputError, match="more than"):
        decode_channel_command(payload)
