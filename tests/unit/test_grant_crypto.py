"""Sealed OAuth grants: only the right key and the right user open them, and any change to a
stored blob is refused with a clear error instead of a wrong token."""

from __future__ import annotations

import os

import pytest

from confsync.grant_crypto import GrantCryptoError, key_id, open_grant, seal_grant

TOKEN = "1//refresh-token-of-alice-0123456789"
SUBJECT = "alice@example.com"
KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))


def test_a_sealed_grant_opens_to_the_token_and_does_not_contain_it() -> None:
    sealed = seal_grant(TOKEN, SUBJECT, KEY)

    assert TOKEN.encode() not in sealed
    assert open_grant(sealed, SUBJECT, [KEY]) == TOKEN


def test_two_seals_of_one_token_differ_because_each_has_its_own_nonce() -> None:
    assert seal_grant(TOKEN, SUBJECT, KEY) != seal_grant(TOKEN, SUBJECT, KEY)


def test_the_subject_is_matched_case_blind() -> None:
    sealed = seal_grant(TOKEN, "Alice@Example.com", KEY)

    assert open_grant(sealed, "alice@example.com", [KEY]) == TOKEN


def test_a_wrong_key_is_named_as_such() -> None:
    sealed = seal_grant(TOKEN, SUBJECT, KEY)

    with pytest.raises(GrantCryptoError, match="another key") as caught:
        open_grant(sealed, SUBJECT, [OTHER_KEY])

    assert TOKEN not in str(caught.value)
    assert SUBJECT not in str(caught.value)


def test_during_a_rotation_the_old_key_still_opens_old_grants() -> None:
    sealed_with_old = seal_grant(TOKEN, SUBJECT, KEY)

    assert open_grant(sealed_with_old, SUBJECT, [OTHER_KEY, KEY]) == TOKEN


def test_a_grant_copied_onto_another_user_does_not_open() -> None:
    sealed = seal_grant(TOKEN, SUBJECT, KEY)

    with pytest.raises(GrantCryptoError, match="altered or belongs to another user"):
        open_grant(sealed, "mallory@example.com", [KEY])


@pytest.mark.parametrize(
    ("offset", "part"),
    [(0, "version"), (1, "key id"), (5, "nonce"), (17, "ciphertext"), (-1, "tag")],
)
def test_any_flipped_bit_is_refused(offset: int, part: str) -> None:
    sealed = bytearray(seal_grant(TOKEN, SUBJECT, KEY))
    sealed[offset] ^= 0x01

    with pytest.raises(GrantCryptoError) as caught:
        open_grant(bytes(sealed), SUBJECT, [KEY])

    assert TOKEN not in str(caught.value), part


def test_a_truncated_blob_is_refused() -> None:
    sealed = seal_grant(TOKEN, SUBJECT, KEY)

    with pytest.raises(GrantCryptoError, match="truncated"):
        open_grant(sealed[:20], SUBJECT, [KEY])


def test_the_key_id_identifies_the_key_without_revealing_it() -> None:
    assert key_id(KEY) != key_id(OTHER_KEY)
    assert key_id(KEY) not in KEY
    assert len(key_id(os.urandom(32))) == 4


@pytest.mark.parametrize("bad_key", [b"", bytes(16), bytes(33)])
def test_only_256_bit_keys_are_accepted(bad_key: bytes) -> None:
    with pytest.raises(GrantCryptoError, match="32 bytes"):
        seal_grant(TOKEN, SUBJECT, bad_key)


def test_an_empty_token_is_not_sealed() -> None:
    with pytest.raises(GrantCryptoError, match="empty"):
        seal_grant("", SUBJECT, KEY)
