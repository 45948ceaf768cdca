"""Sync and page tokens: round trip, tamper evidence, key separation."""

from __future__ import annotations

import pytest

from calendar_emulator.tokens import PageToken, SyncToken, TokenCodec, TokenError


def test_sync_token_round_trip() -> None:
    codec = TokenCodec(b"k" * 32)
    token = SyncToken("primary", 42, 3, 1_700_000_000_000, "n")
    assert codec.decode_sync(codec.encode_sync(token)) == token


def test_page_token_round_trip() -> None:
    codec = TokenCodec()
    token = PageToken("snap", 250, 7, "abcd")
    assert codec.decode_page(codec.encode_page(token)) == token


@pytest.mark.parametrize(
    "mutate", [lambda t: "1" + t, lambda t: t[:-2], lambda t: t[:5] + "A" + t[6:]]
)
def test_tampered_token_fails(mutate) -> None:
    codec = TokenCodec()
    text = codec.encode_sync(SyncToken("primary", 1, 0, 0, "n"))
    changed = mutate(text)
    assert changed != text
    with pytest.raises(TokenError):
        codec.decode_sync(changed)


def test_token_from_another_key_fails() -> None:
    text = TokenCodec().encode_sync(SyncToken("primary", 1, 0, 0, "n"))
    with pytest.raises(TokenError):
        TokenCodec().decode_sync(text)


def test_page_token_is_not_a_sync_token() -> None:
    codec = TokenCodec()
    text = codec.encode_page(PageToken("s", 1, 1, "f"))
    with pytest.raises(TokenError):
        codec.decode_sync(text)


@pytest.mark.parametrize("garbage", ["", "!!!", "abc", "x" * 200])
def test_garbage_fails(garbage: str) -> None:
    with pytest.raises(TokenError):
        TokenCodec().decode_sync(garbage)
