"""Channel tokens: intake trusts exactly the tokens confsync minted for that channel."""

from __future__ import annotations

import pytest

from confsync.channel_tokens import (
    ChannelTokenKeys,
    InvalidChannelToken,
    mint_channel_token,
    verify_channel_token,
)
from confsync.errors import ConfigurationError

KEYS = ChannelTokenKeys.parse("k1:first-secret-0123456789,k2:second-secret-0123456789", "k2")


def test_minted_token_verifies_and_names_its_calendar() -> None:
    token = mint_channel_token(KEYS, "chan-1", "ck_abc")

    assert verify_channel_token(KEYS, "chan-1", token) == "ck_abc"
    assert len(token) <= 256
    assert token.startswith("v1.k2.ck_abc.")


def test_token_copied_onto_another_channel_is_refused() -> None:
    token = mint_channel_token(KEYS, "chan-1", "ck_abc")

    with pytest.raises(InvalidChannelToken, match="does not match its channel"):
        verify_channel_token(KEYS, "chan-2", token)


def test_token_claiming_another_calendar_is_refused() -> None:
    _, kid, _, signature = mint_channel_token(KEYS, "chan-1", "ck_abc").split(".")

    with pytest.raises(InvalidChannelToken):
        verify_channel_token(KEYS, "chan-1", f"v1.{kid}.ck_other.{signature}")


def test_tokens_of_a_retired_key_stop_verifying_after_rotation() -> None:
    old = mint_channel_token(ChannelTokenKeys.parse("k1:first-secret-0123456789", "k1"), "c", "ck")
    rotated = ChannelTokenKeys.parse("k1:first-secret-0123456789,k2:second-secret-0123456789", "k2")
    retired = ChannelTokenKeys.parse("k2:second-secret-0123456789", "k2")

    assert verify_channel_token(rotated, "c", old) == "ck"  # still valid during the rotation
    with pytest.raises(InvalidChannelToken, match="unknown key id"):
        verify_channel_token(retired, "c", old)


@pytest.mark.parametrize(
    "token",
    ["", "v1", "v2.k1.ck.sig", "v1.k1.ck", "v1.k1.c k.sig", "x" * 300, "v1.k1.ck.sig.extra"],
)
def test_malformed_tokens_are_refused(token: str) -> None:
    with pytest.raises(InvalidChannelToken):
        verify_channel_token(KEYS, "chan-1", token)


@pytest.mark.parametrize(
    ("spec", "active", "message"),
    [
        ("", "k1", "holds no key"),
        ("k1:short", "k1", "at least 16 characters"),
        ("k.1:long-enough-secret-0000", "k.1", "key id of letters"),
        ("k1:long-enough-secret-0000", "k9", "CONFSYNC_CHANNEL_TOKEN_ACTIVE_KEY='k9'"),
    ],
)
def test_bad_key_configuration_is_refused_by_name(spec: str, active: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        ChannelTokenKeys.parse(spec, active)


def test_configuration_errors_never_echo_a_secret() -> None:
    with pytest.raises(ConfigurationError) as caught:
        ChannelTokenKeys.parse("k1:topsecret-but-in-a.bad-id,k.2:another-secret-value", "k1")

    assert "topsecret" not in str(caught.value)
    assert "another-secret" not in str(caught.value)
