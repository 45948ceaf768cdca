"""conferencing_emulator.signing: the HMAC scheme shared with confsync's adapter."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from conferencing_emulator import signing

SECRET = b"s3cret"
BODY = b'{"revision": 1}'
NOW = 1_800_000_000


def test_sign_matches_the_documented_formula() -> None:
    expected = hmac.new(SECRET, b"1800000000." + BODY, hashlib.sha256).hexdigest()
    assert signing.sign(SECRET, NOW, BODY) == f"v1={expected}"
    assert signing.sign(SECRET, NOW, BODY) == signing.sign(SECRET, NOW, BODY).lower()


def test_known_vector() -> None:
    # HMAC-SHA256(key=b"key", b"0.") computed independently of the module under test.
    expected = hmac.new(b"key", b"0.", hashlib.sha256).hexdigest()
    assert signing.sign(b"key", 0, b"") == "v1=" + expected


def test_verify_accepts_a_fresh_signature() -> None:
    signature = signing.sign(SECRET, NOW, BODY)
    assert signing.verify(SECRET, str(NOW), signature, BODY, now=NOW)
    assert signing.verify(SECRET, NOW, signature, BODY, now=NOW + 300)
    assert signing.verify(SECRET, NOW, signature, BODY, now=NOW - 300)


@pytest.mark.parametrize(
    ("secret", "timestamp", "body", "now"),
    [
        (b"other", NOW, BODY, NOW),  # wrong secret
        (SECRET, NOW, BODY + b" ", NOW),  # tampered body
        (SECRET, NOW, BODY, NOW + 301),  # too old
        (SECRET, NOW, BODY, NOW - 301),  # from the future
        (SECRET, NOW + 1, BODY, NOW),  # timestamp changed after signing
    ],
)
def test_verify_refuses(secret: bytes, timestamp: int, body: bytes, now: int) -> None:
    signature = signing.sign(SECRET, NOW, BODY)
    assert not signing.verify(secret, timestamp, signature, body, now=now)


@pytest.mark.parametrize(
    ("timestamp", "signature"),
    [
        (None, "v1=00"),
        ("", "v1=00"),
        ("abc", "v1=00"),
        ("-5", "v1=00"),
        ("1e9", "v1=00"),
        (str(NOW), None),
        (str(NOW), ""),
        (str(NOW), "00"),
    ],
)
def test_verify_refuses_malformed_headers(timestamp: str | None, signature: str | None) -> None:
    assert not signing.verify(SECRET, timestamp, signature, BODY, now=NOW)


def test_wrong_scheme_is_refused() -> None:
    digest = signing.sign(SECRET, NOW, BODY).removeprefix("v1=")
    assert not signing.verify(SECRET, NOW, f"v0={digest}", BODY, now=NOW)


def test_one_of_several_signatures_suffices() -> None:
    good = signing.sign(SECRET, NOW, BODY)
    old = signing.sign(b"previous", NOW, BODY)
    assert signing.verify(SECRET, NOW, f"{old}, {good}", BODY, now=NOW)
    assert not signing.verify(SECRET, NOW, old, BODY, now=NOW)


def test_custom_tolerance() -> None:
    signature = signing.sign(SECRET, NOW, BODY)
    assert not signing.verify(SECRET, NOW, signature, BODY, now=NOW + 11, tolerance_seconds=10)


def test_signed_headers() -> None:
    headers = signing.signed_headers(SECRET, BODY, now=NOW + 0.9)
    assert headers == {
        "X-Confsync-Timestamp": str(NOW),
        "X-Confsync-Signature": signing.sign(SECRET, NOW, BODY),
    }
    assert signing.verify(
        SECRET,
        headers[signing.TIMESTAMP_HEADER],
        headers[signing.SIGNATURE_HEADER],
        BODY,
        now=NOW,
    )
