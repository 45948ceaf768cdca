"""Channel tokens: intake trusts exactly the unexpired tokens confsync minted for that channel."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from confsync.channel_tokens import (
    ChannelTokenKeys,
    InvalidChannelToken,
    mint_channel_token,
    verify_channel_token,
)
from confsync.errors import ConfigurationError

KEYS = ChannelTokenKeys.parse("k1:first-secret-0123456789,k2:second-secret-0123456789", "k2")
NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
EXPIRES = NOW + timedelta(days=2, hours=1)


def _mint(keys: ChannelTokenKeys, channel_id: str, calendar_key: str) -> str:
    return mint_channel_token(keys, channel_id, calendar_key, expires=EXPIRES)


def _v1_token(channel_id: str, calendar_key: str, kid: str = "k2") -> str:
    """A token as releases before expiring tokens minted it."""
    message = f"v1\n{kid}\n{channel_id}\n{calendar_key}".encode()
    digest = hmac.new(KEYS.keys[kid], message, hashlib.sha256).digest()
    return f"v1.{kid}.{calendar_key}.{base64.urlsafe_b64encode(digest).rstrip(b'=').decode()}"


def test_minted_token_verifies_and_names_its_calendar() -> None:
    token = _mint(KEYS, "chan-1", "ck_abc")

    assert verify_channel_token(KEYS, "chan-1", token, now=NOW) == "ck_abc"
    assert token.startswith(f"v2.k2.ck_abc.{int(EXPIRES.timestamp())}.")


def test_the_longest_token_fits_googles_limit() -> None:
    keys = ChannelTokenKeys.parse(f"{'k' * 32}:a-secret-of-sixteen-chars", "k" * 32)
    far = datetime(9999, 12, 31, tzinfo=UTC)

    token = mint_channel_token(keys, "c" * 64, "k" * 64, expires=far)

    assert len(token) <= 256
    assert verify_channel_token(keys, "c" * 64, token, now=NOW) == "k" * 64


def test_token_is_refused_from_its_expiry_on() -> None:
    token = _mint(KEYS, "chan-1", "ck_abc")

    assert verify_channel_token(KEYS, "chan-1", token, now=EXPIRES - timedelta(seconds=1))
    with pytest.raises(InvalidChannelToken, match="expired"):
        verify_channel_token(KEYS, "chan-1", token, now=EXPIRES)


@pytest.mark.parametrize("stamp", ["9999999999", "0", "1x", "", "1" * 13])
def test_token_with_a_tampered_expiry_is_refused(stamp: str) -> None:
    version, kid, key, _, signature = _mint(KEYS, "chan-1", "ck_abc").split(".")

    with pytest.raises(InvalidChannelToken):
        verify_channel_token(KEYS, "chan-1", f"{version}.{kid}.{key}.{stamp}.{signature}", now=NOW)


def test_token_copied_onto_another_channel_is_refused() -> None:
    token = _mint(KEYS, "chan-1", "ck_abc")

    with pytest.raises(InvalidChannelToken, match="does not match its channel"):
        verify_channel_token(KEYS, "chan-2", token, now=NOW)


def test_token_claiming_another_calendar_is_refused() -> None:
    _, kid, _, stamp, signature = _mint(KEYS, "chan-1", "ck_abc").split(".")

    with pytest.raises(InvalidChannelToken):
        verify_channel_token(KEYS, "chan-1", f"v2.{kid}.ck_other.{stamp}.{signature}", now=NOW)


def test_tokens_of_a_retired_key_stop_verifying_after_rotation() -> None:
    old = _mint(ChannelTokenKeys.parse("k1:first-secret-0123456789", "k1"), "c", "ck")
    rotated = ChannelTokenKeys.parse("k1:first-secret-0123456789,k2:second-secret-0123456789", "k2")
    retired = ChannelTokenKeys.parse("k2:second-secret-0123456789", "k2")

    assert verify_channel_token(rotated, "c", old, now=NOW) == "ck"  # valid during the rotation
    with pytest.raises(InvalidChannelToken, match="unknown key id"):
        verify_channel_token(retired, "c", old, now=NOW)


def test_v1_tokens_verify_only_before_the_configured_cutoff() -> None:
    cutoff = NOW + timedelta(days=30)
    keys = ChannelTokenKeys.parse(
        "k1:first-secret-0123456789,k2:second-secret-0123456789", "k2", v1_until=cutoff
    )
    token = _v1_token("chan-1", "ck_abc")

    assert verify_channel_token(keys, "chan-1", token, now=cutoff - timedelta(seconds=1)) == (
        "ck_abc"
    )
    with pytest.raises(InvalidChannelToken, match="v1 tokens are no longer accepted"):
        verify_channel_token(keys, "chan-1", token, now=cutoff)
    never = ChannelTokenKeys(keys=KEYS.keys, active=KEYS.active, v1_until=None)
    with pytest.raises(InvalidChannelToken, match="v1 tokens are no longer accepted"):
        verify_channel_token(never, "chan-1", token, now=NOW)
    with pytest.raises(InvalidChannelToken, match="does not match"):
        verify_channel_token(keys, "chan-2", token, now=NOW)  # still bound to its channel


GENUINE = {
    mint_channel_token(KEYS, "chan-1", "ck_abc", expires=EXPIRES): "ck_abc",
    _v1_token("chan-1", "ck_v1"): "ck_v1",
}


@given(
    token=st.one_of(st.text(max_size=300), st.sampled_from(sorted(GENUINE))),
    channel_id=st.one_of(st.just("chan-1"), st.text(max_size=70)),
)
def test_the_decoder_verifies_or_refuses_any_text(token: str, channel_id: str) -> None:
    """Outside input: the calendar key of a genuine token, or InvalidChannelToken, nothing else."""
    with contextlib.suppress(InvalidChannelToken):
        key = verify_channel_token(KEYS, channel_id, token, now=NOW)
        assert channel_id == "chan-1"
        assert key == GENUINE[token]


@given(
    parts=st.lists(
        st.one_of(
            st.sampled_from(["v1", "v2", "k1", "k2", "ck_abc", "1764900000", "99999999999"]),
            st.text(alphabet="ABCDEFabcdef0123456789-_\n ", max_size=50),
        ),
        max_size=7,
    )
)
def test_the_decoder_refuses_dotted_guesses_with_invalid_channel_token_only(
    parts: list[str],
) -> None:
    try:
        verify_channel_token(KEYS, "chan-1", ".".join(parts), now=NOW)
    except InvalidChannelToken:
        return
    raise AssertionError("a guessed token verified")


@pytest.mark.parametrize(
    "token",
    [
        "",
        "v1",
        "v2.k1.ck.sig",
        "v1.k1.ck",
        "v1.k1.c k.sig",
        "x" * 300,
        "v1.k1.ck.sig.extra",
        "v2.k1.ck.1.sig.extra",
        "v3.k1.ck.1.sig",
    ],
)
def test_malformed_tokens_are_refused(token: str) -> None:
    with pytest.raises(InvalidChannelToken):
        verify_channel_token(KEYS, "chan-1", token, now=NOW)


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


def test_v1_tokens_are_accepted_by_default_for_one_longest_channel_lifetime_after_release() -> None:
    """Channels opened before this release keep working until renewed; after the cutoff their
    tokens are refused (issue #13, M1: no live channel goes deaf, the hole closes)."""
    token = _v1_token("chan-1", "ck_abc")
    cutoff = datetime(2027, 1, 4, tzinfo=UTC)

    assert KEYS.v1_until == cutoff
    assert cutoff - NOW >= timedelta(seconds=2_592_000)  # the longest CONFSYNC_CHANNEL_TTL_SECONDS
    assert verify_channel_token(KEYS, "chan-1", token, now=cutoff - timedelta(seconds=1))
    with pytest.raises(InvalidChannelToken):
        verify_channel_token(KEYS, "chan-1", token, now=cutoff)
