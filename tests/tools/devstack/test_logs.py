"""Log lines made readable: JSON entries of the functions, Java records, plain lines."""

from __future__ import annotations

import json
from datetime import UTC
from pathlib import Path

from devstack.logs import LogFollower, format_java_record, format_line


def _entry(**fields: object) -> str:
    base: dict[str, object] = {
        "severity": "INFO",
        "message": "calendar not syncing; request acknowledged",
        "time": "2026-11-24T05:17:04.337+00:00",
        "logger": "confsync.sync",
    }
    base.update(fields)
    return json.dumps(base)


def test_a_json_entry_becomes_time_part_severity_message_labels() -> None:
    line = _entry(**{"logging.googleapis.com/labels": {"calendar_key": "k1", "op": "put"}})

    assert format_line("sync", line, width=8, tz=UTC) == (
        "05:17:04  sync      INFO     calendar not syncing; request acknowledged "
        "[calendar_key=k1 op=put]"
    )


def test_empty_labels_are_left_out_and_severity_is_padded() -> None:
    line = _entry(severity="ERROR", message="boom", **{"logging.googleapis.com/labels": {}})

    assert format_line("channels", line, width=8, tz=UTC) == "05:17:04  channels  ERROR    boom"


def test_a_multi_line_message_continues_indented() -> None:
    line = _entry(severity="ERROR", message="failed\nTraceback (most recent call last):\n  x")

    formatted = format_line("sync", line, width=4, tz=UTC).splitlines()

    assert formatted[0] == "05:17:04  sync  ERROR    failed"
    prefix = " " * len("05:17:04  sync  ERROR    ")
    assert formatted[1:] == [prefix + "Traceback (most recent call last):", prefix + "  x"]


def test_a_zulu_time_and_a_missing_time_are_handled() -> None:
    zulu = format_line("sync", _entry(time="2026-11-24T23:59:58Z"), width=4, tz=UTC)
    missing = format_line("sync", json.dumps({"severity": "INFO", "message": "m"}), width=4)

    assert zulu.startswith("23:59:58  sync  INFO")
    assert missing == "          sync  INFO     m"


def test_plain_lines_are_kept_as_they_are() -> None:
    assert format_line("calendar", "calendar-emulator listening on http://x\n", width=10) == (
        "          calendar    calendar-emulator listening on http://x"
    )
    assert format_line("sync", "{not json", width=4) == "          sync  {not json"
    assert format_line("sync", '{"no": "message"}', width=4) == '          sync  {"no": "message"}'


def test_java_records_are_merged_and_noise_is_dropped() -> None:
    header = "Nov 24, 2026 5:16:10 AM io.gapi.emulators.grpc.GrpcServer$3 operationComplete"

    assert format_java_record(
        "pubsub", header, "INFO: Server started, listening on 8682", width=6
    ) == ("05:16:10  pubsub  INFO     Server started, listening on 8682")
    assert format_java_record("pubsub", header, "SEVERE: bad", width=6) == (
        "05:16:10  pubsub  ERROR    bad"
    )
    assert format_java_record("pubsub", header, "INFO: Forwarding key: Host", width=6) is None


def test_the_follower_prints_complete_new_lines_only(tmp_path: Path) -> None:
    log = tmp_path / "sync.log"
    log.write_text("old line\n")
    follower = LogFollower.from_end(tmp_path, ["sync", "pubsub"])

    with log.open("a") as handle:
        handle.write(_entry(message="first") + "\n" + '{"severity":"INFO","mess')
    first = follower.poll(tz=UTC)
    with log.open("a") as handle:
        handle.write('age":"second"}\n')
    (tmp_path / "pubsub.log").write_text(
        "Nov 24, 2026 5:16:10 AM a.B c\nINFO: Forwarding key: Host\n"
        "Nov 24, 2026 5:16:11 AM a.B c\nINFO: Server started\nplain\n"
    )
    second = follower.poll(tz=UTC)

    assert first == ["05:17:04  sync    INFO     first"]
    assert second == [
        "          sync    INFO     second",
        "05:16:11  pubsub  INFO     Server started",
        "          pubsub  plain",
    ]
    assert follower.poll() == []


def test_the_follower_starts_again_when_a_log_is_truncated(tmp_path: Path) -> None:
    log = tmp_path / "calendar.log"
    log.write_text("a long first line that will be gone\n")
    follower = LogFollower.from_end(tmp_path, ["calendar"])
    log.write_text("new\n")

    assert follower.poll() == ["          calendar  new"]
