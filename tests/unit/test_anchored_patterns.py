"""A pattern that checks outside input matches all of it: ``$`` also matches before a trailing
newline, so ``re.match(r"^...$")`` accepts ``"value\\n"`` (issue 13, L9). Such checks use
``fullmatch`` or end in ``\\Z``."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import confsync.channel_tokens as tokens
from calendar_emulator.recurrence import split_instance_id
from calendar_emulator.validation import check_event_id
from confsync.channel_tokens import (
    ChannelTokenKeys,
    InvalidChannelToken,
    mint_channel_token,
    verify_channel_token,
)
from confsync.cloud_logging import trace_of
from confsync.errors import ConfigurationError

ROOT = Path(__file__).resolve().parents[2]
CHECKED = (ROOT / "shared" / "confsync", ROOT / "tools" / "emulators")
_DOLLAR_END = re.compile(r"""re\.compile\(\s*r?["'][^"']*\$["']""")

KEYS = ChannelTokenKeys.parse("k1:0123456789abcdef0123", "k1")
NOW = datetime(2026, 12, 4, tzinfo=UTC)
EXPIRES = NOW + timedelta(days=1)


def test_no_pattern_in_the_product_or_the_emulators_ends_in_dollar() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for folder in CHECKED
        for path in sorted(folder.rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if _DOLLAR_END.search(line)
    ]
    assert offenders == [], "use fullmatch or end the pattern in \\Z"


def test_a_key_id_with_a_trailing_newline_is_refused() -> None:
    with pytest.raises(ConfigurationError):
        ChannelTokenKeys.parse("k1\n:0123456789abcdef0123", "k1\n")


def test_a_calendar_key_with_a_trailing_newline_is_not_minted() -> None:
    with pytest.raises(ValueError, match="calendar key"):
        mint_channel_token(KEYS, "channel-1", "abc\n", expires=EXPIRES)


def test_a_token_naming_a_calendar_key_with_a_trailing_newline_is_refused() -> None:
    genuine = mint_channel_token(KEYS, "channel-1", "abc", expires=EXPIRES)
    version, kid, _, stamp, _ = genuine.split(".")
    # signed as the intake would check it, so only the calendar key's form can refuse it
    signature = tokens._signature(KEYS.keys[kid], version, kid, "channel-1", "abc\n", stamp)
    forged = f"{version}.{kid}.abc\n.{stamp}.{signature}"
    with pytest.raises(InvalidChannelToken):
        verify_channel_token(KEYS, "channel-1", forged, now=NOW)


def test_a_trace_header_with_a_newline_inside_is_ignored() -> None:
    trace = "0123456789abcdef0123456789abcdef"
    assert trace_of("p", {"X-Cloud-Trace-Context": trace}) == f"projects/p/traces/{trace}"
    assert trace_of("p", {"X-Cloud-Trace-Context": f"{trace}\nx"}) is None


def test_the_calendar_emulator_refuses_an_event_id_with_a_trailing_newline() -> None:
    assert check_event_id("abcde") == "abcde"
    with pytest.raises(Exception, match="Invalid resource id"):
        check_event_id("abcde\n")


def test_the_calendar_emulator_takes_no_instance_id_with_a_trailing_newline() -> None:
    assert split_instance_id("series1_20261203") is not None
    assert split_instance_id("series1_20261203\n") is None
